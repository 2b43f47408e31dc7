// Browser tests of Starling's web client and widget: the real server binary, headless
// Chromium (Debian's `chromium`) driven by playwright-core, two people in two browser
// contexts and a widget on a page of another origin.
//
//   cd tests/browser && npm ci && node run.mjs
//
// Environment: STARLING_BIN (default: `cargo build` first, then the debug binary in cargo's
// target directory), CHROMIUM (default /usr/bin/chromium). Screenshots go to screenshots/.
// The steps run in order, each with a timeout; the run ends with "N passed, M failed".

import { chromium } from "playwright-core";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
let BIN = process.env.STARLING_BIN ? path.resolve(process.env.STARLING_BIN) : null;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = path.join(HERE, "screenshots");
/** The whole run after the build, server start-ups and browser included, ends within this. */
const RUN_TIMEOUT_MS = 240_000;
/** Access token lifetime: the clients renew a quarter of it before expiry. */
const ACCESS_TTL_SECS = 20;
/** Default wait for anything to show on a page. */
const UI_TIMEOUT_MS = 10_000;

/** Ends the run, whatever hangs, RUN_TIMEOUT_MS after the build. */
function startWatchdog() {
  setTimeout(() => {
    console.error(`the browser tests did not finish within ${RUN_TIMEOUT_MS / 1000} s`);
    for (const p of children) p.kill("SIGKILL");
    console.log("0 passed, 1 failed");
    process.exit(2);
  }, RUN_TIMEOUT_MS).unref();
}

const children = new Set();
const steps = [];
const step = (name, fn, timeoutMs = 30_000) => steps.push({ name, fn, timeoutMs });

// ---------- helpers ----------

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]);
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

async function eventually(check, what, timeoutMs = UI_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${timeoutMs} ms${last ? ` (${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port free right now on 127.0.0.1 (the server must be started on a known port so it can
 *  be restarted on the same one). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A plain HTTP request, with any headers (Origin included). */
function httpRequest(method, url, { headers = {}, body } = {}) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      });
      req.on("error", reject);
      if (body !== undefined) req.write(body);
      req.end();
    }),
    10_000,
    `${method} ${url}`,
  );
}

/** A small PNG (RGB, no filter), made here so the test needs no image file. */
function makePng(width, height, pixel) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const o = y * (width * 3 + 1) + 1 + x * 3;
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// ---------- the Starling server ----------

class Server {
  constructor({ port, data, corsOrigins, log }) {
    Object.assign(this, { port, data, corsOrigins, log });
    this.base = `http://127.0.0.1:${port}`;
    this.proc = null;
  }

  async start() {
    const out = fs.openSync(this.log, "a");
    const proc = spawn(
      BIN,
      ["serve", "--listen", `127.0.0.1:${this.port}`, "--data", this.data, "--no-rate-limits", "--cors-origins", this.corsOrigins,
        // Short-lived access tokens, so the run sees them renewed on open sockets.
        "--access-ttl-secs", String(ACCESS_TTL_SECS)],
      {
        stdio: ["ignore", out, out],
        env: {
          ...process.env,
          STARLING_ARGON2_MEMORY_KIB: "1024",
          STARLING_ARGON2_ITERATIONS: "1",
          STARLING_LOG: process.env.STARLING_LOG || "info",
          NO_COLOR: "1",
        },
      },
    );
    fs.closeSync(out);
    children.add(proc);
    this.proc = proc;
    this.exited = new Promise((resolve) =>
      proc.on("exit", (code, signal) => {
        children.delete(proc);
        resolve({ code, signal });
      }),
    );
    let exited = null;
    this.exited.then((e) => (exited = e));
    await eventually(
      async () => {
        if (exited) throw new Error(`the server exited (${JSON.stringify(exited)}); see ${this.log}`);
        const r = await httpRequest("GET", `${this.base}/health`).catch(() => null);
        return r && r.status === 200;
      },
      "the server answers /health",
      20_000,
    );
  }

  /** SIGTERM, as a service manager stops it: a graceful shutdown. */
  async stop() {
    if (!this.proc) return;
    const proc = this.proc;
    this.proc = null;
    proc.kill("SIGTERM");
    try {
      return await withTimeout(this.exited, 15_000, "the server stops on SIGTERM");
    } catch (e) {
      proc.kill("SIGKILL");
      throw e;
    }
  }
}

// ---------- a page of another origin that embeds the widget ----------

function hostPages(starlingBase, state) {
  return http.createServer((req, res) => {
    const url = new URL(req.url, "http://host");
    const token = url.pathname === "/compose" ? state.token : null;
    if (url.pathname !== "/" && url.pathname !== "/compose") {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A blog about Rust</title>
<style>body{font-family:Georgia,serif;max-width:40rem;margin:2rem auto;color:#333} p{color:#800}</style></head>
<body>
  <h1>A blog that is not Starling</h1>
  <p>This page lives on another origin and embeds the Starling widget below.</p>
  <script src="${starlingBase}/widget.js" data-stream="hashtag:${state.tag}" data-height="360px"${token ? ` data-token="${token}"` : ""}></script>
  <p>Text after the widget.</p>
</body></html>`);
  });
}

// ---------- the scenario ----------

const run = Date.now().toString(36).slice(-5);
const alice = `alice_${run}`;
const bob = `bob_${run}`;
const password = "correct horse battery";
const tag = `starling${run}`;
const png = makePng(24, 16, (x, y) => ((x >> 2) + (y >> 2)) % 2 ? [29, 155, 240] : [255, 200, 40]);

const ctx = {}; // shared between steps: browser, pages, server, ...
const pageErrors = [];
/** Every WebSocket each page opened: {sent, closed}, by page name. */
const sockets = {};

async function newPage(context, name) {
  const page = await context.newPage();
  sockets[name] = [];
  page.on("websocket", (ws) => {
    const rec = { sent: [], closed: false };
    sockets[name].push(rec);
    ws.on("framesent", (f) => rec.sent.push(String(f.payload)));
    ws.on("close", () => (rec.closed = true));
  });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && process.env.VERBOSE) console.log(`  [${name} console] ${m.text()}`);
  });
  ctx.pages[name] = page;
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

function card(page, text) {
  return page.locator("article.tweet", { hasText: text });
}

async function signUp(page, username) {
  await page.goto(ctx.server.base);
  await page.getByRole("heading", { name: "Welcome to Starling" }).waitFor();
  if (username === alice) await shot(page, "00-sign-up-or-log-in");
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Email", { exact: true }).fill(`${username}@example.com`);
  await page.locator("#signup-password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Home" }).waitFor();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

async function post(page, text, { files } = {}) {
  await page.goto(`${ctx.server.base}/#/`);
  const box = page.getByRole("textbox", { name: "What's happening?" });
  await box.fill(text);
  if (files) {
    await page.locator(".composer input[type=file]").setInputFiles(files);
    await page.locator(".previews li.ready").first().waitFor();
  }
  await page.getByRole("button", { name: "Post", exact: true }).click();
  await card(page, text).first().waitFor();
}

step("the server serves the web client, the widget and the client module", async () => {
  const { base } = ctx.server;
  const index = await httpRequest("GET", `${base}/`);
  assert(index.status === 200, `GET / is ${index.status}`);
  assert(index.headers["content-type"].startsWith("text/html"), "GET / is HTML");
  assert(index.headers["content-security-policy"], "the page has a CSP");
  for (const file of ["/app.js", "/client.js", "/widget.js", "/style.css"]) {
    const r = await httpRequest("GET", `${base}${file}`);
    assert(r.status === 200, `GET ${file} is ${r.status}`);
    const again = await httpRequest("GET", `${base}${file}`, { headers: { "If-None-Match": r.headers.etag } });
    assert(again.status === 304, `GET ${file} revalidates to 304 (got ${again.status})`);
  }
  assert((await httpRequest("GET", `${base}/nope.js`)).status === 404, "unknown files are 404");
});

step("CORS: the listed origin may call the API, another may not", async () => {
  const { base } = ctx.server;
  const allowed = ctx.hostOrigin;
  const pre = await httpRequest("OPTIONS", `${base}/api/media`, {
    headers: { Origin: allowed, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization" },
  });
  assert(pre.status === 204, `preflight is ${pre.status}`);
  assert(pre.headers["access-control-allow-origin"] === allowed, "preflight allows the origin");
  assert(/authorization/i.test(pre.headers["access-control-allow-headers"]), "preflight allows Authorization");
  assert(/POST/.test(pre.headers["access-control-allow-methods"]), "preflight allows POST");
  const refused = await httpRequest("OPTIONS", `${base}/api/media`, { headers: { Origin: "http://evil.example" } });
  assert(refused.status === 403, `a preflight of another origin is ${refused.status}`);
  assert(!refused.headers["access-control-allow-origin"], "no allow-origin for another origin");
  const guest = await httpRequest("POST", `${base}/api/guest`, { headers: { Origin: allowed } });
  assert(guest.status === 200, `guest is ${guest.status}`);
  assert(guest.headers["access-control-allow-origin"] === allowed, "the API answer allows the origin");
  assert(/Origin/.test(guest.headers.vary || ""), "Vary: Origin");
  const other = await httpRequest("POST", `${base}/api/guest`, { headers: { Origin: "http://evil.example" } });
  assert(!other.headers["access-control-allow-origin"], "another origin gets no allow-origin");
});

step("two people sign up, each in their own browser", async () => {
  const a = await newPage(ctx.contextA, "alice");
  const b = await newPage(ctx.contextB, "bob");
  await Promise.all([signUp(a, alice), signUp(b, bob)]);
  await shot(a, "01-signed-up-home");
});

step("bob follows alice from her profile, and alice is notified", async () => {
  const b = ctx.pages.bob;
  await b.goto(`${ctx.server.base}/#/u/${alice}`);
  await b.getByRole("heading", { name: alice }).waitFor();
  const follow = b.getByRole("button", { name: "Follow", exact: true });
  await follow.click();
  await b.getByRole("button", { name: "Unfollow" }).waitFor();
  await eventually(async () => (await b.locator("[data-count=followers]").textContent()) === "1", "the follower count is 1");
  await shot(b, "02-bob-follows-alice");
  const a = ctx.pages.alice;
  await eventually(async () => (await a.locator("#badge").textContent()).startsWith("1"), "alice's unread badge shows 1");
});

step("alice posts an image; it slides into bob's home live", async () => {
  const a = ctx.pages.alice;
  const b = ctx.pages.bob;
  await b.goto(`${ctx.server.base}/#/`);
  await b.getByRole("heading", { name: "Home" }).waitFor();
  await b.evaluate(() => (window.__notReloaded = true));
  const text = `Hello from the browser #${tag} 👩‍👩‍👧‍👦`;
  await a.getByRole("textbox", { name: "What's happening?" }).fill(text);
  const expected = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)].length;
  await eventually(async () => (await a.locator(".composer .counter").textContent()) === `${expected}/250`, `the counter shows ${expected}/250`);
  await a.locator(".composer input[type=file]").setInputFiles({ name: "checks.png", mimeType: "image/png", buffer: png });
  await a.getByRole("img", { name: "Preview of checks.png" }).waitFor();
  await a.locator(".previews li.ready").waitFor();
  await shot(a, "03-compose-with-preview");
  await a.getByRole("button", { name: "Post", exact: true }).click();
  const live = card(b, "Hello from the browser");
  await live.waitFor();
  assert(await b.evaluate(() => window.__notReloaded === true), "bob's page was not reloaded");
  await eventually(
    () => live.locator("img").evaluate((img) => img.complete && img.naturalWidth === 24),
    "the image in bob's timeline loads",
  );
  ctx.firstTweetId = Number(await live.getAttribute("data-tweet-id"));
  await shot(b, "04-bob-sees-it-live");
});

step("a like updates the count live for both", async () => {
  const a = ctx.pages.alice;
  const b = ctx.pages.bob;
  await card(a, "Hello from the browser").waitFor();
  await card(b, "Hello from the browser").getByRole("button", { name: /^Like/ }).click();
  for (const [page, who] of [[b, "bob"], [a, "alice"]]) {
    await eventually(
      async () => (await card(page, "Hello from the browser").locator("button.like .n").textContent()) === "1",
      `${who} sees 1 like`,
    );
  }
  assert(
    (await card(b, "Hello from the browser").getByRole("button", { name: /^Unlike/ }).getAttribute("aria-pressed")) === "true",
    "bob's like button is pressed",
  );
  await shot(a, "05-alice-sees-the-like");
});

step("hashtag search finds it, and shows new posts live", async () => {
  const b = ctx.pages.bob;
  await b.getByRole("searchbox", { name: "Search hashtags" }).fill(`#${tag}`);
  await b.getByRole("searchbox", { name: "Search hashtags" }).press("Enter");
  await b.getByRole("heading", { name: `#${tag}` }).waitFor();
  await card(b, "Hello from the browser").waitFor();
  await post(ctx.pages.alice, `Second post #${tag}`);
  await card(b, "Second post").waitFor();
  await shot(b, "06-search");
});

step("the widget on a page of another origin shows the tag live", async () => {
  const w = await newPage(ctx.contextW, "widget");
  await w.goto(`${ctx.hostOrigin}/`);
  const item = (text) => w.locator(".starling-widget li", { hasText: text });
  await item("Hello from the browser").waitFor();
  await item("Second post").waitFor();
  await eventually(() => w.locator(".starling-widget .status").evaluate((e) => e.textContent === "live"), "the widget is live");
  await post(ctx.pages.alice, `Live in the widget #${tag}`);
  await item("Live in the widget").waitFor();
  assert((await w.locator(".starling-widget li").count()) === 3, "the widget shows each post once");
  await shot(w, "07-widget-other-origin");
});

step("the widget with a token posts as that user", async () => {
  const login = await httpRequest("POST", `${ctx.server.base}/api/login`, {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login: bob, password }),
  });
  assert(login.status === 200, `login is ${login.status}`);
  ctx.hostState.token = JSON.parse(login.body).access_token;
  const w = await newPage(ctx.contextW, "widget-compose");
  await w.goto(`${ctx.hostOrigin}/compose`);
  const box = w.getByRole("textbox", { name: `Message as @${bob}` });
  await box.fill("Hi from the widget");
  await box.press("Enter");
  await w.locator(".starling-widget li", { hasText: "Hi from the widget" }).waitFor();
  // The widget added the tag, so the post reached everyone watching it.
  await ctx.pages.widget.locator(".starling-widget li", { hasText: "Hi from the widget" }).waitFor();
  await card(ctx.pages.bob, "Hi from the widget").waitFor();
  // The host page hands over a renewed token: the widget sends it on its open socket.
  await new Promise((r) => setTimeout(r, 1_100)); // a token of another second differs
  const again = await httpRequest("POST", `${ctx.server.base}/api/login`, {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login: bob, password }),
  });
  const fresh = JSON.parse(again.body).access_token;
  assert(fresh !== ctx.hostState.token, "the new token differs");
  await w.evaluate((t) => document.querySelector("script[data-stream]").setAttribute("data-token", t), fresh);
  await eventually(() => {
    const last = sockets["widget-compose"].at(-1);
    return sockets["widget-compose"].length === 1 && !last.closed && last.sent.some((f) => f.includes(fresh));
  }, "the widget re-authenticates with the new token on its open socket");
  await box.fill("Still here with a new token");
  await box.press("Enter");
  await w.locator(".starling-widget li", { hasText: "Still here with a new token" }).waitFor();
  await shot(w, "08-widget-compose");
});

step("a dropped connection resumes from its cursor: the missed post is replayed", async () => {
  const a = ctx.pages.alice;
  const b = ctx.pages.bob;
  await b.goto(`${ctx.server.base}/#/`);
  await card(b, "Hello from the browser").waitFor();
  const received = [];
  const sent = [];
  const onSocket = (ws) => {
    ws.on("framereceived", (f) => received.push(String(f.payload)));
    ws.on("framesent", (f) => sent.push(String(f.payload)));
  };
  b.on("websocket", onSocket);
  await b.evaluate(() => window.starling.conn.stop());
  await post(a, "While bob was away");
  await b.evaluate(() => window.starling.conn.start());
  await card(b, "While bob was away").waitFor();
  b.off("websocket", onSocket);
  assert(sent.some((f) => /"type":"subscribe"/.test(f) && /"stream":"home"/.test(f) && /"since":\d+/.test(f)), "bob resubscribed to home with since");
  assert(received.some((f) => /"stream":"home"/.test(f) && /"recovered":true/.test(f)), "the server replayed home");
});

step("after the server restarts, both reconnect and a new post arrives live, nothing lost", async () => {
  const a = ctx.pages.alice;
  const b = ctx.pages.bob;
  const w = ctx.pages.widget;
  const sent = [];
  b.on("websocket", (ws) => ws.on("framesent", (f) => sent.push(String(f.payload))));
  const before = await b.locator("article.tweet").count();
  const stopped = await ctx.server.stop();
  assert(stopped.code === 0, `the server exits cleanly on SIGTERM (${JSON.stringify(stopped)})`);
  await b.getByRole("status").filter({ hasText: /Reconnecting|Connection lost/ }).waitFor();
  await shot(b, "09-reconnecting");
  await ctx.server.start();
  await eventually(() => b.evaluate(() => window.starling.conn.state === "open"), "bob reconnects", 20_000);
  await eventually(() => a.evaluate(() => window.starling.conn.state === "open"), "alice reconnects", 20_000);
  await post(a, `After the restart #${tag}`);
  await card(b, "After the restart").waitFor();
  await w.locator(".starling-widget li", { hasText: "After the restart" }).waitFor({ timeout: 20_000 });
  assert(sent.some((f) => /"type":"subscribe"/.test(f) && /"stream":"home"/.test(f) && /"since":\d+/.test(f)), "bob resubscribed to home with since");
  // Everything shown before is still there, once.
  const ids = await b.locator("article.tweet").evaluateAll((els) => els.map((e) => e.dataset.itemId));
  assert(new Set(ids).size === ids.length, `no post is shown twice (${ids})`);
  assert(ids.length === before + 1, `bob sees ${before} + 1 posts (got ${ids.length})`);
  for (const text of ["Hello from the browser", "Second post", "While bob was away", "Hi from the widget"]) {
    assert((await card(b, text).count()) === 1, `"${text}" is still shown`);
  }
  await eventually(async () => (await card(b, "Hello from the browser").locator("button.like .n").textContent()) === "1", "the like count survived");
  await b.getByRole("status").filter({ hasText: /Reconnecting|Connection lost/ }).waitFor({ state: "hidden" });
  await shot(b, "10-after-restart");
  await shot(w, "11-widget-after-restart");
});

step("a post made while bob was offline across a restart is not lost (gap, then reload)", async () => {
  const a = ctx.pages.alice;
  const b = ctx.pages.bob;
  await b.evaluate(() => window.starling.conn.stop());
  await ctx.server.stop();
  await ctx.server.start();
  await eventually(() => a.evaluate(() => window.starling.conn.state === "open"), "alice reconnects", 20_000);
  await post(a, `Posted while bob was offline #${tag}`);
  const received = [];
  const sent = [];
  const onSocket = (ws) => {
    ws.on("framereceived", (f) => received.push(String(f.payload)));
    ws.on("framesent", (f) => sent.push(String(f.payload)));
  };
  b.on("websocket", onSocket);
  await b.evaluate(() => window.starling.conn.start());
  await card(b, "Posted while bob was offline").waitFor();
  b.off("websocket", onSocket);
  assert(sent.some((f) => /"type":"subscribe"/.test(f) && /"stream":"home"/.test(f) && /"since":\d+/.test(f)), "bob resubscribed to home with since");
  assert(received.some((f) => /"recovered":false/.test(f)) && received.some((f) => /"event":"gap"/.test(f)), "the server could not replay across the restart and said so");
  const ids = await b.locator("article.tweet").evaluateAll((els) => els.map((e) => e.dataset.itemId));
  assert(new Set(ids).size === ids.length, `no post is shown twice (${ids})`);
  assert((await card(b, "After the restart").count()) === 1, "what bob saw before is still shown");
});

step("the tweet page shows replies live; notifications clear the badge", async () => {
  const a = ctx.pages.alice;
  const b = ctx.pages.bob;
  await a.goto(`${ctx.server.base}/#/t/${ctx.firstTweetId}`);
  await a.getByRole("heading", { name: "Post" }).waitFor();
  await b.goto(`${ctx.server.base}/#/t/${ctx.firstTweetId}`);
  const reply = b.getByRole("textbox", { name: `Reply to @${alice}` });
  await reply.fill(`Nice picture @${alice}`);
  await b.getByRole("button", { name: "Reply", exact: true }).click();
  await card(a, "Nice picture").waitFor();
  await eventually(
    async () => (await a.locator("article.tweet.focus a.reply .n").textContent()) === "1",
    "the reply count of the post is 1 for alice",
  );
  await eventually(async () => !(await a.locator("#badge").isHidden()), "alice has unread notifications");
  await a.getByRole("link", { name: /^Notifications/ }).click();
  await a.getByRole("heading", { name: "Notifications" }).waitFor();
  await a.locator("li.notification", { hasText: "replied to your post" }).waitFor();
  await a.locator("li.notification", { hasText: "followed you" }).waitFor();
  await eventually(() => a.locator("#badge").isHidden(), "the badge clears");
  await shot(a, "12-notifications");
});

step("alice edits her profile from the profile page", async () => {
  const a = ctx.pages.alice;
  await a.getByRole("link", { name: "Profile" }).click();
  await a.getByRole("heading", { name: alice }).waitFor();
  await a.getByText("Edit profile").click();
  await a.getByLabel("Display name").fill("Alice Liddell");
  await a.getByLabel("Bio").fill("Down the rabbit hole, live.");
  await a.getByRole("button", { name: "Save profile" }).click();
  await a.getByRole("heading", { name: "Alice Liddell" }).waitFor();
  await a.getByText("Down the rabbit hole, live.").waitFor();
  await shot(a, "13-own-profile");
});

step("trending lists the tag", async () => {
  const a = ctx.pages.alice;
  await eventually(async () => {
    await a.reload();
    return a.locator("#trending a", { hasText: `#${tag}` }).isVisible();
  }, "the tag trends", 15_000);
});

step("phone width: one column, no sideways scrolling, labelled controls", async () => {
  const b = ctx.pages.bob;
  await b.setViewportSize({ width: 390, height: 844 });
  await b.goto(`${ctx.server.base}/#/`);
  await card(b, "After the restart").waitFor();
  const overflow = await b.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  const unlabelled = await b.evaluate(() =>
    [...document.querySelectorAll("input:not([type=hidden]), textarea, button")]
      .filter((el) => el.getClientRects().length || el.type === "file")
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.textContent.trim())
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert(unlabelled.length === 0, `unlabelled controls: ${unlabelled.join(", ")}`);
  // Keyboard: the like button is reachable and works with Enter.
  const like = card(b, "After the restart").locator("button.like");
  assert(/^Like/.test(await like.getAttribute("aria-label")), "the like button is labelled Like");
  await like.focus();
  await b.keyboard.press("Enter");
  await eventually(async () => (await like.getAttribute("aria-pressed")) === "true", "Enter likes");
  await shot(b, "14-phone-width");
});

step(
  "access tokens are renewed on the open socket before they expire",
  async () => {
    const auths = (rec) => rec.sent.filter((f) => /"type":"auth"/.test(f)).length;
    for (const name of ["bob", "alice", "widget"]) {
      const before = sockets[name].length;
      await eventually(
        () => {
          // The page's current socket (one left behind by a reload may not report its close).
          const last = sockets[name].at(-1);
          return last && !last.closed && auths(last) >= 2;
        },
        `${name}'s socket re-authenticates`,
        ACCESS_TTL_SECS * 1000 + 5_000,
      );
      assert(sockets[name].length === before, `${name} did not reconnect to renew the token`);
      assert(await ctx.pages[name].evaluate(() => !window.starling || window.starling.conn.state === "open"), `${name} is connected`);
    }
    // The renewed session still works.
    await post(ctx.pages.alice, "Posted with a renewed token");
    await card(ctx.pages.bob, "Posted with a renewed token").waitFor();
  },
  ACCESS_TTL_SECS * 3000 + 20_000,
);

step("deleting a post removes it live everywhere", async () => {
  const a = ctx.pages.alice;
  const b = ctx.pages.bob;
  const w = ctx.pages.widget;
  await a.goto(`${ctx.server.base}/#/`);
  await b.goto(`${ctx.server.base}/#/`);
  await card(b, "Second post").waitFor();
  await w.locator(".starling-widget li", { hasText: "Second post" }).waitFor();
  a.once("dialog", (d) => d.accept());
  await card(a, "Second post").getByRole("button", { name: "Delete" }).click();
  await card(a, "Second post").waitFor({ state: "detached" });
  await card(b, "Second post").waitFor({ state: "detached" });
  await w.locator(".starling-widget li", { hasText: "Second post" }).waitFor({ state: "detached" });
});

step("no script errors in any page", async () => {
  assert(pageErrors.length === 0, `uncaught errors: ${pageErrors.join(" | ")}`);
});

// ---------- running ----------

async function main() {
  if (!BIN) {
    console.log("building the server (cargo build)…");
    const build = spawnSync("cargo", ["build", "--bin", "starling"], { cwd: ROOT, stdio: "inherit", timeout: 600_000 });
    if (build.status !== 0) throw new Error("cargo build failed");
    const meta = spawnSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (meta.status !== 0) throw new Error("cargo metadata failed");
    BIN = path.join(JSON.parse(meta.stdout).target_directory, "debug", "starling");
  }
  assert(fs.existsSync(BIN), `no server binary at ${BIN}`);
  startWatchdog();
  fs.mkdirSync(SHOTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "starling-browser-"));
  const [port, hostPort] = await Promise.all([freePort(), freePort()]);
  ctx.hostOrigin = `http://127.0.0.1:${hostPort}`;
  ctx.server = new Server({
    port,
    data: path.join(tmp, "data"),
    corsOrigins: ctx.hostOrigin,
    log: path.join(tmp, "server.log"),
  });
  ctx.hostState = { tag, token: null };
  ctx.pages = {};
  const host = hostPages(ctx.server.base, ctx.hostState);
  await new Promise((resolve) => host.listen(hostPort, "127.0.0.1", resolve));
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  try {
    await ctx.server.start();
    ctx.browser = await withTimeout(
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
        timeout: 30_000,
      }),
      40_000,
      "chromium starts",
    );
    const viewport = { width: 1100, height: 820 };
    ctx.contextA = await ctx.browser.newContext({ viewport });
    ctx.contextB = await ctx.browser.newContext({ viewport });
    ctx.contextW = await ctx.browser.newContext({ viewport: { width: 760, height: 700 } });
    for (const s of steps) {
      if (failed) {
        skipped++;
        console.log(`- skipped: ${s.name}`);
        continue;
      }
      const started = Date.now();
      try {
        await withTimeout(s.fn(), s.timeoutMs, s.name);
        passed++;
        console.log(`ok - ${s.name} (${Date.now() - started} ms)`);
      } catch (e) {
        failed++;
        console.log(`FAILED - ${s.name}\n  ${String(e.stack || e).split("\n").slice(0, 6).join("\n  ")}`);
        for (const [name, page] of Object.entries(ctx.pages)) {
          await withTimeout(shot(page, `FAILED-${name}`), 5_000, "screenshot").catch(() => {});
        }
      }
    }
  } finally {
    if (ctx.browser) await withTimeout(ctx.browser.close(), 10_000, "chromium closes").catch(() => {});
    await ctx.server.stop().catch(() => {});
    host.close();
    host.closeAllConnections();
    if (failed) {
      const log = path.join(tmp, "server.log");
      if (fs.existsSync(log)) {
        console.log("--- last lines of the server log ---");
        console.log(fs.readFileSync(log, "utf8").split("\n").slice(-30).join("\n"));
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`screenshots: ${path.relative(process.cwd(), SHOTS) || "."}`);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  return failed === 0;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error(e);
    for (const p of children) p.kill("SIGKILL");
    console.log("0 passed, 1 failed");
    process.exit(1);
  },
);
