// Starling's reference browser client: one WebSocket, requests with ids answered by
// promises, pushed events, automatic reconnect that resubscribes with `since`, and access
// tokens renewed before they expire. It speaks only the public protocol
// (protocol/README.md) and has no dependencies; the web client (app.js) and the widget
// (widget.js) are both built on it.
//
//   import { Connection, Session, api } from "https://HOST/client.js";
//   const session = new Session("https://HOST", { storage: sessionStorage });
//   await session.login({ login: "alice", password: "correct horse" });
//   const conn = new Connection({ origin: "https://HOST", tokens: session });
//   conn.addEventListener("event", (e) => console.log(e.detail)); // pushed events
//   conn.start();
//   await conn.subscribe("home");
//   const { tweet } = await conn.request("post", { text: "Hello #rust" });

/** The subprotocol this client asks for: JSON text frames. */
export const SUBPROTOCOL = "starling.v1.json";

/** An error reply (`code`, `message`, maybe `retryAfterMs`), or a local failure:
 *  `network`, `timeout`, `disconnected`, `stopped`. */
export class StarlingError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = "StarlingError";
    this.code = code;
    Object.assign(this, extra);
  }
}

/** Calls the HTTP API: JSON `body` (or a Blob as `raw`), an optional bearer `token`.
 *  Resolves to the parsed reply (null for 204); rejects with a StarlingError. */
export async function api(origin, path, { body, raw, token, method = "POST" } = {}) {
  const headers = {};
  let payload;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (raw !== undefined) {
    payload = raw;
    if (raw.type) headers["Content-Type"] = raw.type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(new URL(path, origin), {
      method,
      headers,
      body: payload,
      mode: "cors",
      credentials: "omit",
    });
  } catch (e) {
    throw new StarlingError("network", `cannot reach the server (${e.message})`);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    // A body that is not JSON: the status says enough.
  }
  if (!response.ok) {
    const err = data && data.error;
    throw new StarlingError(
      (err && err.code) || "internal",
      (err && err.message) || `the server answered ${response.status}`,
      { status: response.status, retryAfterMs: err && err.retry_after_ms },
    );
  }
  return data;
}

/** How many characters (extended grapheme clusters) the server counts in a tweet text. */
export function graphemeCount(text) {
  const trimmed = text.trim();
  if (typeof Intl !== "undefined" && Intl.Segmenter) {
    let n = 0;
    for (const _ of graphemeSegmenter().segment(trimmed)) n++;
    return n;
  }
  return [...trimmed].length;
}

let segmenter = null;
function graphemeSegmenter() {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  return segmenter;
}

/** A signed-in user's tokens: signup, login, refresh (rotating, one at a time), logout.
 *  With a `storage` (e.g. sessionStorage) they survive a reload of the tab. */
export class Session extends EventTarget {
  constructor(origin, { storage = null, key = "starling.session" } = {}) {
    super();
    this.origin = origin;
    this.storage = storage;
    this.key = key;
    this.data = null; // {user, access_token, refresh_token, expires_at}
    this.refreshing = null;
    if (storage) {
      try {
        this.data = JSON.parse(storage.getItem(key) || "null");
      } catch {
        this.data = null;
      }
    }
  }

  get signedIn() {
    return !!(this.data && this.data.refresh_token);
  }
  get user() {
    return this.data ? this.data.user : null;
  }
  get expiresAt() {
    return this.data ? this.data.expires_at : 0;
  }

  async signup(fields) {
    this.save(await api(this.origin, "/api/signup", { body: fields }));
    return this.data;
  }

  async login(fields) {
    this.save(await api(this.origin, "/api/login", { body: fields }));
    return this.data;
  }

  /** A valid access token, refreshed first when it expires within 30 s (within a
   *  quarter of its lifetime, for short-lived tokens). */
  async token() {
    if (!this.signedIn) throw new StarlingError("unauthenticated", "not signed in");
    const { expires_at, obtained_at } = this.data;
    const lifetime = obtained_at ? expires_at - obtained_at : 120_000;
    if (expires_at - Date.now() < Math.min(30_000, lifetime / 4)) return this.refresh();
    return this.data.access_token;
  }

  /** Spends the refresh token for a new pair. Concurrent calls share one request, since
   *  sending a spent refresh token again would revoke the whole family. */
  refresh() {
    if (!this.signedIn) return Promise.reject(new StarlingError("unauthenticated", "not signed in"));
    this.refreshing ??= (async () => {
      try {
        const pair = await api(this.origin, "/api/refresh", {
          body: { refresh_token: this.data.refresh_token },
        });
        this.save({ ...pair, user: pair.user || this.data.user, obtained_at: Date.now() });
        return this.data.access_token;
      } catch (e) {
        if (e.status === 401) this.clear();
        throw e;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  async logout() {
    const refresh = this.data && this.data.refresh_token;
    this.clear();
    if (refresh) {
      try {
        await api(this.origin, "/api/logout", { body: { refresh_token: refresh } });
      } catch {
        // The tokens are forgotten here either way; the server forgets them on expiry.
      }
    }
  }

  /** Keeps the user's profile up to date (e.g. after `update_profile`). */
  setUser(user) {
    if (this.data && user) this.save({ ...this.data, user });
  }

  save(data) {
    this.data = { ...data, obtained_at: data.obtained_at || Date.now() };
    if (this.storage) this.storage.setItem(this.key, JSON.stringify(data));
    this.dispatchEvent(new CustomEvent("change", { detail: data }));
  }

  clear() {
    this.data = null;
    if (this.storage) this.storage.removeItem(this.key);
    this.dispatchEvent(new CustomEvent("change", { detail: null }));
  }
}

/** Read-only guest tokens (`POST /api/guest`), renewed the same way as a user's. */
export class GuestSession {
  constructor(origin) {
    this.origin = origin;
    this.data = null;
    this.fetching = null;
  }
  get expiresAt() {
    return this.data ? this.data.expires_at : 0;
  }
  async token() {
    if (this.data) {
      const lifetime = this.data.expires_at - this.data.obtained_at;
      if (this.data.expires_at - Date.now() > Math.min(30_000, lifetime / 4)) return this.data.access_token;
    }
    return this.refresh();
  }
  refresh() {
    this.fetching ??= api(this.origin, "/api/guest")
      .then((data) => {
        this.data = { ...data, obtained_at: Date.now() };
        return data.access_token;
      })
      .finally(() => {
        this.fetching = null;
      });
    return this.fetching;
  }
}

/** A token handed over by someone else (e.g. a host page); `read()` is asked again for a
 *  newer one when it must be renewed. */
export class GivenToken {
  constructor(read) {
    this.read = read;
    this.last = null;
  }
  async token() {
    this.last = this.read();
    if (!this.last) throw new StarlingError("unauthenticated", "no token was given");
    return this.last;
  }
  /** The token given now: a new one, or the same while it has more than 5 s left. */
  async refresh() {
    const next = this.read();
    if (!next || (next === this.last && jwtExpiry(next) < Date.now() + 5_000)) {
      throw new StarlingError("unauthenticated", "the given token expired and was not renewed");
    }
    this.last = next;
    return next;
  }
}

/** A JWT's `exp` in milliseconds (0 when it cannot be read). */
function jwtExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="))).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

/** Close codes after which reconnecting as is makes no sense (protocol/README.md). */
const CLOSE = { tooBig: 1009, unauthenticated: 4001, expired: 4003, authTimeout: 4008, rateLimited: 4029 };

/**
 * One live connection to a Starling server, kept open until `stop()`.
 *
 * Events (CustomEvent, data in `detail`):
 * - `state`  {state: "connecting" | "open" | "waiting" | "stopped", delayMs?, code?}
 * - `ready`  {user, limits, resumed}: authenticated and every stream resubscribed
 * - `event`  a pushed event frame {stream, event, cursor, data}, duplicates dropped
 * - `gap`    {stream}: events were missed and cannot be replayed; reload that feed
 * - `lost`   {stream, error}: a stream could not be resubscribed after a reconnect
 * - `fatal`  StarlingError: authentication failed for good (log in again)
 */
export class Connection extends EventTarget {
  constructor({
    origin,
    tokens,
    requestTimeoutMs = 20_000,
    pingIntervalMs = 25_000,
    minBackoffMs = 500,
    maxBackoffMs = 8_000,
  }) {
    super();
    this.origin = origin;
    this.tokens = tokens;
    this.requestTimeoutMs = requestTimeoutMs;
    this.pingIntervalMs = pingIntervalMs;
    this.minBackoffMs = minBackoffMs;
    this.maxBackoffMs = maxBackoffMs;
    this.state = "stopped";
    this.user = null;
    this.limits = null;
    this.expiresAt = 0;
    this.ws = null;
    this.token = null;
    this.ready = false;
    this.everReady = false;
    this.nextId = 1;
    this.attempt = 0;
    this.authFailures = 0;
    this.pending = new Map(); // id -> {frame, resolve, reject, timer, retry, sent, internal}
    this.streams = new Map(); // canonical stream name -> {cursor}
    this.aliases = new Map(); // name as asked -> canonical name
    this.timers = { reconnect: null, refresh: null, ping: null };
    this.onOnline = () => this.state === "waiting" && this.reconnectNow();
    if (typeof window !== "undefined") window.addEventListener("online", this.onOnline);
  }

  /** Opens the socket (again); harmless when already started. */
  start() {
    if (this.state !== "stopped") return;
    this.open();
  }

  /** Closes the socket and stays closed: pending requests fail with `stopped`. Streams and
   *  their cursors are kept, so a later `start()` resumes where this left off. */
  stop() {
    this.setState("stopped");
    this.teardown();
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new StarlingError("stopped", "the connection was stopped"));
    }
  }

  /** Reconnects at once instead of waiting for the backoff. */
  reconnectNow() {
    if (this.state !== "waiting") return;
    clearTimeout(this.timers.reconnect);
    this.open();
  }

  /**
   * Sends a request and resolves to its reply's `data` (rejects with a StarlingError).
   * Requests made while disconnected wait for the next connection. With `retry` (the
   * default), a request whose reply was lost with the socket is sent again after the
   * reconnect: every Starling request is safe to repeat (`post` gets a `client_key` here
   * when it has none). `timeoutMs` bounds the whole wait.
   */
  request(type, fields = {}, { timeoutMs = this.requestTimeoutMs, retry = true } = {}) {
    const frame = { ...fields, type };
    if (type === "post" && frame.client_key === undefined) frame.client_key = randomKey();
    return this.enqueue(frame, { timeoutMs, retry, internal: false });
  }

  /** Subscribes to a stream (once; later calls answer at once) and keeps it across
   *  reconnects, resuming from the last event seen. Resolves to the subscribe reply. */
  async subscribe(stream) {
    const known = this.aliases.get(stream);
    if (known && this.streams.has(known)) return { stream: known, cached: true };
    const reply = await this.request("subscribe", { stream });
    this.aliases.set(stream, reply.stream);
    this.noteSubscribed(reply);
    return reply;
  }

  /** Stops a stream's events. */
  async unsubscribe(stream) {
    const name = this.aliases.get(stream) || stream;
    this.streams.delete(name);
    for (const [asked, canonical] of this.aliases) if (canonical === name) this.aliases.delete(asked);
    try {
      await this.request("unsubscribe", { stream: name });
    } catch {
      // Not subscribed after a reconnect either way: nothing to undo.
    }
  }

  /** Whether `stream` is held (as asked or canonical). */
  isSubscribed(stream) {
    return this.streams.has(this.aliases.get(stream) || stream);
  }

  /** The last cursor seen on a stream, or null. */
  cursor(stream) {
    const s = this.streams.get(this.aliases.get(stream) || stream);
    return s ? s.cursor : null;
  }

  // --- internals ---

  setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...extra } }));
  }

  open() {
    this.teardown();
    this.setState("connecting");
    const url = new URL("/ws", this.origin);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(url, SUBPROTOCOL);
    } catch (e) {
      this.scheduleReconnect(0);
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.handshake(ws);
    ws.onmessage = (m) => this.receive(m.data);
    ws.onclose = (e) => this.closed(ws, e.code, e.reason);
    ws.onerror = () => {
      // A `close` event always follows.
    };
  }

  /** Detaches the current socket (its late events are ignored) and closes it. */
  teardown() {
    this.ready = false;
    clearTimeout(this.timers.ping);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, "bye");
      } catch {
        // Already closing.
      }
    }
  }

  async handshake(ws) {
    try {
      const token = await this.tokens.token();
      if (ws !== this.ws) return;
      const session = await this.call(ws, { type: "auth", token });
      this.token = token;
      this.adopt(session);
      // Resubscribe every stream, resuming after the last cursor seen (pipelined).
      const resubscribed = [...this.streams].map(async ([name, s]) => {
        const frame = { type: "subscribe", stream: name };
        if (s.cursor !== null) frame.since = s.cursor;
        try {
          this.noteSubscribed(await this.call(ws, frame));
        } catch (error) {
          if (error.code === "disconnected") throw error;
          this.streams.delete(name);
          this.dispatchEvent(new CustomEvent("lost", { detail: { stream: name, error } }));
        }
      });
      await Promise.all(resubscribed);
      if (ws !== this.ws) return;
      this.ready = true;
      this.attempt = 0;
      this.authFailures = 0;
      this.setState("open");
      const resumed = this.everReady;
      this.everReady = true;
      this.flush();
      this.schedulePing();
      this.dispatchEvent(
        new CustomEvent("ready", { detail: { user: this.user, limits: this.limits, resumed } }),
      );
    } catch (error) {
      if (ws !== this.ws) return;
      if (error.code === "disconnected") return; // `closed` handles it.
      if (error.code === "network" || error.code === "timeout" || error.status >= 500) {
        this.teardown();
        this.scheduleReconnect();
        return;
      }
      // The token was refused, or cannot be had: the server closes (4001/4003) or did.
      this.authRefused(error);
    }
  }

  adopt(session) {
    this.user = session.user;
    this.limits = session.limits || this.limits;
    this.expiresAt = session.expires_at;
    this.scheduleRefresh();
  }

  noteSubscribed(reply) {
    let s = this.streams.get(reply.stream);
    if (!s) {
      s = { cursor: null };
      this.streams.set(reply.stream, s);
    }
    if (s.cursor === null || !reply.recovered) s.cursor = Math.max(s.cursor ?? 0, reply.cursor);
  }

  /** Renews the token a minute before it expires (sooner for short-lived tokens), then
   *  sends it on the open socket. */
  scheduleRefresh() {
    clearTimeout(this.timers.refresh);
    const left = this.expiresAt - Date.now();
    const lead = Math.min(60_000, left / 4);
    this.timers.refresh = setTimeout(() => this.renew(), Math.max(1_000, left - lead));
  }

  /** Gets a new token and sends it on the open socket (a closed one uses it when it
   *  reconnects). Also called by a page that was handed a new token. */
  async renew() {
    clearTimeout(this.timers.refresh);
    try {
      const token = await this.tokens.refresh();
      const ws = this.ws;
      if (token === this.token) {
        // Nothing newer yet (a token handed over that was not renewed): ask again soon.
        this.renewSoon();
        return;
      }
      if (ws && this.ready) {
        const session = await this.call(ws, { type: "auth", token });
        this.token = token;
        this.adopt(session);
      }
    } catch (error) {
      if (error.code === "unauthenticated" || error.code === "invalid_credentials") {
        this.fail(error);
        return;
      }
      // Network trouble or a lost socket: try again soon; a reconnect also fetches a token.
      this.renewSoon();
    }
  }

  renewSoon() {
    clearTimeout(this.timers.refresh);
    const left = this.expiresAt - Date.now();
    this.timers.refresh = setTimeout(() => this.renew(), Math.max(1_000, Math.min(5_000, left / 2)));
  }

  async authRefused(error) {
    this.teardown();
    this.authFailures++;
    if (this.authFailures > 2) {
      this.fail(error);
      return;
    }
    try {
      await this.tokens.refresh();
      this.scheduleReconnect(0);
    } catch (e) {
      if (e.code === "network" || e.status >= 500) this.scheduleReconnect();
      else this.fail(e);
    }
  }

  fail(error) {
    this.stop();
    this.dispatchEvent(new CustomEvent("fatal", { detail: error }));
  }

  schedulePing() {
    clearTimeout(this.timers.ping);
    this.timers.ping = setTimeout(async () => {
      const ws = this.ws;
      if (!ws || !this.ready) return;
      try {
        await this.call(ws, { type: "ping" }, 10_000);
        this.schedulePing();
      } catch (error) {
        // No answer: the connection is dead even if the browser has not noticed.
        if (ws === this.ws && error.code === "timeout") this.closed(ws, 4000, "ping timeout");
      }
    }, this.pingIntervalMs);
  }

  closed(ws, code, reason) {
    if (ws !== this.ws || this.state === "stopped") return;
    this.teardown();
    for (const [id, p] of this.pending) {
      if (p.internal || !p.retry || code === CLOSE.tooBig) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new StarlingError("disconnected", `the connection closed (${code} ${reason || ""})`));
      } else {
        p.sent = false;
      }
    }
    if (code === CLOSE.expired || code === CLOSE.unauthenticated) {
      this.authRefused(new StarlingError(code === CLOSE.expired ? "token_expired" : "unauthenticated", reason));
      return;
    }
    this.scheduleReconnect(code === CLOSE.rateLimited ? 5_000 : undefined, code);
  }

  scheduleReconnect(delayMs, code) {
    clearTimeout(this.timers.reconnect);
    if (delayMs === undefined) {
      const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** this.attempt);
      delayMs = base / 2 + (Math.random() * base) / 2;
    }
    this.attempt++;
    this.setState("waiting", { delayMs, code });
    this.timers.reconnect = setTimeout(() => this.open(), delayMs);
  }

  enqueue(frame, { timeoutMs, retry, internal }) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const p = { frame: { ...frame, id }, resolve, reject, retry, internal, sent: false };
      p.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StarlingError("timeout", `no reply to ${frame.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, p);
      if (!internal && this.ready) this.send(p);
    });
  }

  /** A request of the handshake on a given socket, sent at once. */
  call(ws, frame, timeoutMs = this.requestTimeoutMs) {
    const promise = this.enqueue(frame, { timeoutMs, retry: false, internal: true });
    const id = this.nextId - 1;
    const p = this.pending.get(id);
    if (p) {
      try {
        ws.send(JSON.stringify(p.frame));
        p.sent = true;
      } catch {
        // The close event settles it.
      }
    }
    return promise;
  }

  send(p) {
    try {
      this.ws.send(JSON.stringify(p.frame));
      p.sent = true;
    } catch {
      // Sent again after the reconnect.
    }
  }

  /** Sends every request that waited for the connection, in the order made. */
  flush() {
    for (const p of this.pending.values()) if (!p.sent && !p.internal) this.send(p);
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === "event") {
      this.deliver(frame);
      return;
    }
    const p = frame.id !== undefined && this.pending.get(frame.id);
    if (!p) return;
    this.pending.delete(frame.id);
    clearTimeout(p.timer);
    if (frame.type === "result") p.resolve(frame.data);
    else
      p.reject(
        new StarlingError(frame.code, frame.message, { retryAfterMs: frame.retry_after_ms }),
      );
  }

  deliver(frame) {
    const s = this.streams.get(frame.stream);
    if (!s) return; // Unsubscribed meanwhile.
    if (frame.event === "gap") {
      s.cursor = Math.max(s.cursor ?? 0, frame.cursor);
      this.dispatchEvent(new CustomEvent("gap", { detail: { stream: frame.stream } }));
      return;
    }
    if (s.cursor !== null && frame.cursor <= s.cursor) return; // Seen already.
    s.cursor = frame.cursor;
    this.dispatchEvent(new CustomEvent("event", { detail: frame }));
  }
}

function randomKey() {
  if (typeof crypto !== "undefined" && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
