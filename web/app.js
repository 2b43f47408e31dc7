// Starling's web client: a single page on the public protocol (protocol/README.md), built
// on the reference client in client.js. No build step: plain ES modules.
//
// Routes (in the URL fragment): #/ home, #/t/<id> a tweet and its replies, #/u/<username> a
// profile, #/tag/<tag>[+<tag>...] hashtag search, #/notifications.

import { Connection, Session, StarlingError, api, graphemeCount } from "./client.js";

const origin = location.origin;
const session = new Session(origin, { storage: sessionStorage });

/** Tweets whose counts are watched live (`tweet:<id>`), at most: the socket holds 64
 *  streams and home, notifications and the view's own stream need a few. */
const MAX_WATCHED = 40;
const PAGE = 20;

const app = {
  conn: null,
  me: null,
  limits: { text_graphemes: 250, media_per_tweet: 4, media_bytes: 5 * 1024 * 1024 },
  tweets: new Map(), // original tweet id -> {likes, retweets, replies}
  liked: new Set(),
  retweeted: new Set(),
  view: null,
  watched: new Set(),
  unread: 0,
  seenNotification: 0,
  timers: [],
};
// A handle for debugging in the console (and for the browser tests).
window.starling = app;

const $ = (sel, el = document) => el.querySelector(sel);
const main = $("#main");

// ---------- small DOM helpers ----------

/** h("tag.class", {attrs}, ...children): an element; strings become text nodes. */
function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag);
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const srOnly = (text) => h("span.sr-only", {}, text);

/** Line icons (24×24, stroked with the text colour), hidden from screen readers. */
const ICONS = {
  reply: [["path", { d: "M21 11.5a8.4 8.4 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.4 8.4 0 0 1-3.8-.9L3 21l1.9-5.7a8.4 8.4 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.4 8.4 0 0 1 3.8-.9h.5a8.5 8.5 0 0 1 8 8v.5z" }]],
  retweet: [
    ["path", { d: "M17 1l4 4-4 4" }],
    ["path", { d: "M3 11V9a4 4 0 0 1 4-4h14" }],
    ["path", { d: "M7 23l-4-4 4-4" }],
    ["path", { d: "M21 13v2a4 4 0 0 1-4 4H3" }],
  ],
  like: [["path", { d: "M20.8 4.6a5.5 5.5 0 0 0-7.7 0L12 5.7l-1.1-1.1a5.5 5.5 0 0 0-7.7 7.8l1 1L12 21.2l7.8-7.8 1-1a5.5 5.5 0 0 0 0-7.8z" }]],
  image: [
    ["rect", { x: 3, y: 3, width: 18, height: 18, rx: 2 }],
    ["circle", { cx: 8.5, cy: 8.5, r: 1.5 }],
    ["path", { d: "M21 15l-5-5L5 21" }],
  ],
  user: [["path", { d: "M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2" }], ["circle", { cx: 12, cy: 7, r: 4 }]],
  at: [["circle", { cx: 12, cy: 12, r: 4 }], ["path", { d: "M16 8v5a3 3 0 0 0 6 0v-1a10 10 0 1 0-3.9 7.9" }]],
  quote: [["path", { d: "M3 21c3 0 7-1 7-8V5H3v7h4c0 4-1 6-4 6zm11 0c3 0 7-1 7-8V5h-7v7h4c0 4-1 6-4 6z" }]],
};
function icon(name) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: 18, height: 18, fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", class: `icon icon-${name}` })) {
    svg.setAttribute(k, v);
  }
  for (const [tag, attrs] of ICONS[name]) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}

function relativeTime(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 10) return "now";
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return new Date(ms).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

function timeEl(ms) {
  const d = new Date(ms);
  return h("time", { datetime: d.toISOString(), title: d.toLocaleString(), dataset: { ts: ms } }, relativeTime(ms));
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Text with links for hashtags and mentions the server recognised, and for URLs. */
function richText(tweet) {
  const frag = document.createDocumentFragment();
  const text = tweet.text;
  const tags = new Set(tweet.hashtags || []);
  const mentions = new Set((tweet.mentions || []).map((m) => m.toLowerCase()));
  const re = /(https?:\/\/[^\s<>"]+)|([#@])([\p{L}\p{N}_]+)/gu;
  let last = 0;
  for (const m of text.matchAll(re)) {
    const before = text[m.index - 1];
    let link = null;
    if (m[1]) {
      link = h("a", { href: m[1], rel: "noopener noreferrer nofollow", target: "_blank" }, m[1]);
    } else if (!(before && /[\p{L}\p{N}_]/u.test(before))) {
      const word = m[3];
      if (m[2] === "#" && tags.has(word.toLowerCase())) {
        link = h("a.tag", { href: `#/tag/${encodeURIComponent(word.toLowerCase())}` }, `#${word}`);
      } else if (m[2] === "@" && mentions.has(word.toLowerCase())) {
        link = h("a.mention", { href: `#/u/${encodeURIComponent(word)}` }, `@${word}`);
      }
    }
    if (!link) continue;
    frag.append(text.slice(last, m.index), link);
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

// ---------- status, toasts ----------

let statusHide = null;
function showStatus(text, { retry = false, autoHideMs = 0 } = {}) {
  const el = $("#status");
  clearTimeout(statusHide);
  el.hidden = false;
  el.replaceChildren(text);
  if (retry) {
    el.append(" ", h("button.link", { type: "button", onclick: () => app.conn && app.conn.reconnectNow() }, "Retry now"));
  }
  if (autoHideMs) statusHide = setTimeout(() => (el.hidden = true), autoHideMs);
}

function hideStatus() {
  clearTimeout(statusHide);
  $("#status").hidden = true;
}

function toast(message) {
  showStatus(message, { autoHideMs: 5000 });
}

// ---------- auth screen ----------

function showAuth(message = "") {
  document.title = "Starling";
  $("#auth").hidden = false;
  $("#app").hidden = true;
  $("#nav").hidden = true;
  $("#search").hidden = true;
  $("#auth-error").textContent = message;
  $("#login-login").focus();
}

async function submitAuth(form, action) {
  const button = form.querySelector("button[type=submit]");
  const fields = Object.fromEntries(new FormData(form));
  button.disabled = true;
  $("#auth-error").textContent = "";
  try {
    await action(fields);
    form.reset();
    startSession();
  } catch (e) {
    $("#auth-error").textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

$("#login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submitAuth(e.currentTarget, (f) => session.login({ login: f.login.trim(), password: f.password }));
});
$("#signup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submitAuth(e.currentTarget, (f) =>
    session.signup({ username: f.username.trim(), email: f.email.trim(), password: f.password }),
  );
});
$("#logout").addEventListener("click", async () => {
  const conn = app.conn;
  endSession("You are logged out.");
  if (conn) conn.stop();
  await session.logout();
});
$("#search").addEventListener("submit", (e) => {
  e.preventDefault();
  const tags = parseTags($("#search-input").value);
  if (!tags.length) {
    toast("Type a hashtag to search, like #rust");
    return;
  }
  location.hash = `#/tag/${tags.map(encodeURIComponent).join("+")}`;
});

function parseTags(text) {
  return text
    .split(/[\s,+]+/)
    .map((t) => t.replace(/^#+/, "").toLowerCase())
    .filter((t) => /^[\p{L}\p{N}_]{1,100}$/u.test(t) && !/^\p{N}+$/u.test(t));
}

// ---------- the session ----------

function startSession() {
  app.me = session.user;
  $("#auth").hidden = true;
  $("#app").hidden = false;
  $("#nav").hidden = false;
  $("#search").hidden = false;
  updateProfileLink();
  app.seenNotification = Number(localStorage.getItem(seenKey()) || 0);

  const conn = new Connection({ origin, tokens: session });
  app.conn = conn;
  conn.addEventListener("state", (e) => {
    if (conn !== app.conn) return;
    const { state } = e.detail;
    if (state === "waiting") showStatus("Connection lost. Reconnecting…", { retry: true });
    else if (state === "connecting" && conn.everReady) showStatus("Reconnecting…");
    else if (state === "open" && conn.everReady && !$("#status").hidden) {
      showStatus("Back online.", { autoHideMs: 2000 });
    }
  });
  conn.addEventListener("ready", (e) => {
    app.me = e.detail.user;
    app.limits = { ...app.limits, ...e.detail.limits };
    session.setUser(app.me);
    updateProfileLink();
    if (e.detail.resumed) loadTrending();
  });
  conn.addEventListener("event", (e) => onEvent(e.detail));
  conn.addEventListener("gap", (e) => onGap(e.detail.stream));
  conn.addEventListener("lost", (e) => app.watched.delete(Number(e.detail.stream.split(":")[1])));
  conn.addEventListener("fatal", (e) => {
    endSession(`Your session has ended (${e.detail.message}). Please log in again.`);
    session.clear();
  });
  conn.start();
  conn.subscribe("home").catch((e) => toast(e.message));
  conn.subscribe("notifications").catch((e) => toast(e.message));
  route();
  loadUnread();
  loadTrending();
  app.timers.push(setInterval(loadTrending, 30_000));
  app.timers.push(setInterval(refreshTimes, 30_000));
}

function endSession(message) {
  const conn = app.conn;
  app.conn = null;
  if (conn) conn.stop();
  for (const t of app.timers) clearInterval(t);
  app.timers = [];
  app.view = null;
  app.watched.clear();
  app.tweets.clear();
  app.liked.clear();
  app.retweeted.clear();
  main.replaceChildren();
  hideStatus();
  showAuth(message);
}

function updateProfileLink() {
  if (app.me) $("#nav-profile").href = `#/u/${encodeURIComponent(app.me.username)}`;
}

function request(type, fields) {
  if (!app.conn) return Promise.reject(new StarlingError("stopped", "not signed in"));
  return app.conn.request(type, fields);
}

// ---------- events ----------

function onEvent(frame) {
  const { event, data, stream } = frame;
  if (event === "tweet") {
    remember(data);
    if (data.hashtags && data.hashtags.length) trendingSoon();
    const view = app.view;
    if (view && view.live && view.canonical === stream && view.accepts(data)) view.add(data, { live: true });
  } else if (event === "deleted") {
    removeTweet(data.tweet_id);
  } else if (event === "counts") {
    setCounts(data.tweet_id, data);
  } else if (event === "notification") {
    onNotification(data);
  }
}

function onGap(stream) {
  const view = app.view;
  if (stream === "notifications") {
    loadUnread();
    if (view && view.name === "notifications") view.reload();
  } else if (view && view.canonical === stream) {
    view.reload();
  }
}

/** Records what a tweet (and the tweet it retweets) shows: counts and, when the server
 *  says, whether I liked or retweeted it. */
function remember(t) {
  if (t.retweet_of) remember(t.retweet_of);
  if (t.retweet_of && t.author && app.me && t.author.id === app.me.id) app.retweeted.add(t.retweet_of.id);
  if (t.liked_by_me === true) app.liked.add(t.id);
  if (t.liked_by_me === false) app.liked.delete(t.id);
  if (t.retweeted_by_me === true) app.retweeted.add(t.id);
  if (t.retweeted_by_me === false) app.retweeted.delete(t.id);
  if (!t.retweet_of) setCounts(t.id, t);
}

function setCounts(id, c) {
  const known = app.tweets.get(id) || {};
  const next = {
    likes: c.likes ?? known.likes ?? 0,
    retweets: c.retweets ?? known.retweets ?? 0,
    replies: c.replies ?? known.replies ?? 0,
  };
  app.tweets.set(id, next);
  for (const card of document.querySelectorAll(`article.tweet[data-tweet-id="${id}"]`)) paintCounts(card, id);
}

function paintCounts(card, id) {
  const c = app.tweets.get(id) || { likes: 0, retweets: 0, replies: 0 };
  const liked = app.liked.has(id);
  const retweeted = app.retweeted.has(id);
  const like = card.querySelector("button.like");
  const rt = card.querySelector("button.retweet");
  const reply = card.querySelector("a.reply");
  like.setAttribute("aria-pressed", String(liked));
  like.querySelector(".n").textContent = c.likes;
  like.setAttribute("aria-label", `${liked ? "Unlike" : "Like"} (${plural(c.likes, "like")})`);
  rt.setAttribute("aria-pressed", String(retweeted));
  rt.querySelector(".n").textContent = c.retweets;
  rt.setAttribute("aria-label", `${retweeted ? "Undo retweet" : "Retweet"} (${plural(c.retweets, "retweet")})`);
  reply.querySelector(".n").textContent = c.replies;
  reply.setAttribute("aria-label", `Reply (${plural(c.replies, "reply", "replies")})`);
}

function removeTweet(id) {
  for (const card of document.querySelectorAll(`[data-item-id="${id}"], article.tweet[data-tweet-id="${id}"]`)) {
    card.remove();
  }
  app.tweets.delete(id);
  syncWatches();
}

// ---------- tweet cards ----------

function tweetCard(item, { focus = false } = {}) {
  const t = item.retweet_of || item;
  const id = t.id;
  const mine = app.me && t.author.id === app.me.id;
  const headingId = `t${item.id}-${Math.random().toString(36).slice(2, 7)}`;
  const card = h("article.tweet", {
    dataset: { tweetId: id, itemId: item.id },
    "aria-labelledby": headingId,
    class: focus ? "tweet focus" : "tweet",
  });
  if (item.retweet_of) {
    card.append(
      h("p.context", {}, icon("retweet"), " ",
        h("a", { href: `#/u/${encodeURIComponent(item.author.username)}` }, item.author.display_name), " retweeted"),
    );
  }
  const avatar = h("span.avatar", { "aria-hidden": "true" }, (t.author.display_name || t.author.username).slice(0, 1));
  const head = h("header", {},
    h("a.author", { href: `#/u/${encodeURIComponent(t.author.username)}`, id: headingId },
      h("strong", {}, t.author.display_name), " ", h("span.handle", {}, `@${t.author.username}`)),
    h("span.dot", { "aria-hidden": "true" }, " · "),
    h("a.time", { href: `#/t/${id}`, "aria-label": `Open post, ${new Date(t.created_at).toLocaleString()}` }, timeEl(t.created_at)),
  );
  const body = h("div.body", {}, head);
  if (t.reply_to) {
    body.append(h("p.context", {}, "Replying to ", h("a", { href: `#/t/${t.reply_to}` }, "a post")));
  }
  if (t.text) body.append(h("p.text", {}, richText(t)));
  if (t.media && t.media.length) {
    body.append(
      h("div.media", { class: `media n${t.media.length}` },
        t.media.map((m) =>
          h("a", { href: m.url, target: "_blank", rel: "noopener" },
            h("img", {
              src: m.url,
              alt: `Image attached by @${t.author.username}`,
              loading: "lazy",
              width: m.width || null,
              height: m.height || null,
            })),
        )),
    );
  }
  if (t.quote_of) body.append(h("p.context", {}, "Quoting ", h("a", { href: `#/t/${t.quote_of}` }, "a post")));
  const actions = h("div.actions", { role: "group", "aria-label": "Post actions" },
    h("a.reply", { href: `#/t/${id}`, "data-action": "reply" }, icon("reply"), h("span.n", {}, "0")),
    h("button.retweet", { type: "button", onclick: () => toggleRetweet(id) }, icon("retweet"), h("span.n", {}, "0")),
    h("button.like", { type: "button", onclick: () => toggleLike(id) }, icon("like"), h("span.n", {}, "0")),
    mine ? h("button.delete", { type: "button", onclick: () => deleteTweet(id) }, "Delete") : null,
  );
  body.append(actions);
  card.append(avatar, body);
  paintCounts(card, id);
  return card;
}

async function toggleLike(id) {
  const liked = app.liked.has(id);
  if (liked) app.liked.delete(id);
  else app.liked.add(id);
  setCounts(id, {});
  try {
    const r = await request(liked ? "unlike" : "like", { tweet_id: id });
    setCounts(id, { likes: r.likes });
  } catch (e) {
    if (liked) app.liked.add(id);
    else app.liked.delete(id);
    setCounts(id, {});
    toast(e.message);
  }
}

async function toggleRetweet(id) {
  const done = app.retweeted.has(id);
  if (done) app.retweeted.delete(id);
  else app.retweeted.add(id);
  setCounts(id, {});
  try {
    const r = await request(done ? "unretweet" : "retweet", { tweet_id: id });
    setCounts(id, { retweets: r.retweets });
  } catch (e) {
    if (done) app.retweeted.add(id);
    else app.retweeted.delete(id);
    setCounts(id, {});
    toast(e.message);
  }
}

async function deleteTweet(id) {
  if (!confirm("Delete this post?")) return;
  try {
    await request("delete", { tweet_id: id });
    removeTweet(id);
  } catch (e) {
    toast(e.message);
  }
}

/** Keeps `tweet:<id>` subscriptions for the tweets on screen (the first MAX_WATCHED). */
let watchTimer = null;
function syncWatches() {
  clearTimeout(watchTimer);
  watchTimer = setTimeout(() => {
    const conn = app.conn;
    if (!conn) return;
    const wanted = new Set();
    for (const card of main.querySelectorAll("article.tweet[data-tweet-id]")) {
      if (wanted.size >= MAX_WATCHED) break;
      wanted.add(Number(card.dataset.tweetId));
    }
    for (const id of app.watched) {
      if (!wanted.has(id)) {
        app.watched.delete(id);
        conn.unsubscribe(`tweet:${id}`);
      }
    }
    for (const id of wanted) {
      if (app.watched.has(id)) continue;
      app.watched.add(id);
      conn.subscribe(`tweet:${id}`).catch(() => app.watched.delete(id));
    }
  }, 150);
}

// ---------- composer ----------

let composerCount = 0;
function composer({ replyTo = null, label = "What's happening?", button = "Post", onPosted = () => {} } = {}) {
  const n = ++composerCount;
  const max = () => app.limits.text_graphemes || 250;
  const uploads = []; // {file, url, id?, promise, li}
  const textarea = h("textarea", {
    id: `compose-${n}`,
    rows: 3,
    placeholder: label,
    "aria-describedby": `compose-${n}-count`,
  });
  const counter = h("span.counter", { id: `compose-${n}-count` });
  const overNote = h("span.sr-only", { "aria-live": "polite" });
  const file = h("input.sr-only", {
    type: "file",
    id: `compose-${n}-file`,
    accept: "image/png,image/jpeg,image/gif,image/webp",
    multiple: true,
  });
  const previews = h("ul.previews", { "aria-label": "Attached images" });
  const submit = h("button.primary", { type: "submit" }, button);
  const error = h("p.error", { role: "alert" });
  const form = h("form.composer", {},
    h("label.sr-only", { for: textarea.id }, label),
    textarea,
    previews,
    h("div.bar", {},
      file,
      h("label.button.attach", { for: file.id, title: "Add an image" }, icon("image"), "Add image"),
      h("span.spacer"),
      counter, overNote,
      submit),
    error);

  function update() {
    const count = graphemeCount(textarea.value);
    counter.textContent = `${count}/${max()}`;
    counter.classList.toggle("warn", count > max() - 20 && count <= max());
    counter.classList.toggle("over", count > max());
    overNote.textContent = count > max() ? `${count - max()} characters over the limit` : "";
    const busy = uploads.some((u) => u.id === undefined && !u.failed);
    submit.disabled = count === 0 || count > max() || busy || form.dataset.busy === "1";
  }

  function addFile(f) {
    if (uploads.length >= (app.limits.media_per_tweet || 4)) {
      error.textContent = `At most ${app.limits.media_per_tweet || 4} images per post.`;
      return;
    }
    if (f.size > (app.limits.media_bytes || 5 * 1024 * 1024)) {
      error.textContent = `${f.name} is larger than 5 MiB.`;
      return;
    }
    const u = { file: f, url: URL.createObjectURL(f) };
    const status = h("span.upload-status", {}, "Uploading…");
    const remove = h("button.remove", { type: "button", "aria-label": `Remove ${f.name}` }, "×");
    u.li = h("li", {}, h("img", { src: u.url, alt: `Preview of ${f.name}` }), status, remove);
    remove.addEventListener("click", () => {
      uploads.splice(uploads.indexOf(u), 1);
      URL.revokeObjectURL(u.url);
      u.li.remove();
      update();
      textarea.focus();
    });
    uploads.push(u);
    previews.append(u.li);
    u.promise = (async () => {
      try {
        const token = await session.token();
        const { media } = await api(origin, "/api/media", { raw: f, token });
        u.id = media.id;
        status.textContent = "";
        u.li.classList.add("ready");
      } catch (e) {
        u.failed = true;
        status.textContent = "Failed";
        error.textContent = `${f.name}: ${e.message}`;
      }
      update();
    })();
    update();
  }

  function clear() {
    textarea.value = "";
    for (const u of uploads) URL.revokeObjectURL(u.url);
    uploads.length = 0;
    previews.replaceChildren();
    error.textContent = "";
  }

  textarea.addEventListener("input", update);
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  file.addEventListener("change", () => {
    error.textContent = "";
    for (const f of file.files) addFile(f);
    file.value = "";
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    update();
    if (submit.disabled) return;
    if (uploads.some((u) => u.failed)) {
      error.textContent = "Remove the images that failed to upload first.";
      return;
    }
    form.dataset.busy = "1";
    update();
    try {
      const fields = { text: textarea.value };
      if (uploads.length) fields.media = uploads.map((u) => u.id);
      if (replyTo) fields.reply_to = replyTo;
      const { tweet } = await request("post", fields);
      clear();
      remember(tweet);
      onPosted(tweet);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      delete form.dataset.busy;
      update();
    }
  });
  update();
  return form;
}

// ---------- feeds ----------

/**
 * A list of tweets, newest first, kept in id order whatever order items arrive in, with a
 * "Load more" button. `fetchPage(before)` returns {items, next}.
 */
function feedList({ label, fetchPage, empty = "Nothing here yet." }) {
  const list = h("div.feed", { role: "feed", "aria-label": label, "aria-busy": "true" });
  const more = h("button.more", { type: "button", hidden: true }, "Load more");
  const emptyEl = h("p.empty", { hidden: true }, empty);
  const errorEl = h("p.error", { role: "alert" });
  let next = null;
  let loaded = false;

  function has(itemId) {
    return !!list.querySelector(`[data-item-id="${itemId}"]`);
  }

  function add(item, { live = false } = {}) {
    if (has(item.id)) return;
    remember(item);
    const card = tweetCard(item);
    if (live) card.classList.add("enter");
    const after = [...list.children].find((c) => Number(c.dataset.itemId) < item.id);
    list.insertBefore(card, after || null);
    emptyEl.hidden = true;
    syncWatches();
  }

  async function load(before) {
    list.setAttribute("aria-busy", "true");
    more.disabled = true;
    try {
      const page = await fetchPage(before);
      for (const item of page.items) add(item);
      if (before === undefined || next !== null) next = page.next;
      errorEl.textContent = "";
    } catch (e) {
      errorEl.textContent = `Could not load: ${e.message}`;
    } finally {
      loaded = true;
      list.setAttribute("aria-busy", "false");
      more.disabled = false;
      more.hidden = next === null;
      emptyEl.hidden = list.children.length > 0;
    }
  }

  more.addEventListener("click", () => load(next));
  const el = h("section.feed-wrap", {}, errorEl, list, emptyEl, more);
  return {
    el,
    add,
    load: () => load(undefined),
    // A reload after a gap: the newest page, merged with what is shown.
    reload: () => load(undefined),
    get loaded() {
      return loaded;
    },
  };
}

/** Sets the current view; the previous one's stream is unsubscribed. */
function setView(view) {
  const old = app.view;
  if (old && old.stream && old.stream !== "home" && (!view.stream || old.stream !== view.stream)) {
    app.conn && app.conn.unsubscribe(old.stream);
  }
  app.view = view;
  view.accepts ??= () => true;
  if (view.stream) {
    view.canonical = view.stream;
    app.conn
      .subscribe(view.stream)
      .then((r) => {
        if (app.view === view) view.canonical = r.stream;
      })
      .catch((e) => toast(e.message));
  }
}

function viewHeader(title, ...extra) {
  return h("header.view-head", {}, h("h1", {}, title), ...extra);
}

function renderHome() {
  document.title = "Home · Starling";
  const feed = feedList({
    label: "Home timeline",
    fetchPage: (before) => request("timeline", { feed: "home", before, limit: PAGE }),
    empty: "Your timeline is empty. Post something, or follow people to see their posts.",
  });
  const view = { name: "home", stream: "home", live: true, add: feed.add, reload: feed.reload };
  setView(view);
  main.replaceChildren(
    viewHeader("Home"),
    composer({ onPosted: (t) => app.view === view && feed.add(t, { live: true }) }),
    feed.el,
  );
  feed.load();
}

async function renderTweet(id) {
  document.title = "Post · Starling";
  const feed = feedList({
    label: "Replies",
    fetchPage: async (before) => {
      if (before === undefined) return { items: first.replies, next: first.replies.length >= 100 ? first.replies.at(-1).id : null };
      return request("timeline", { feed: `replies:${id}`, before, limit: PAGE });
    },
    empty: "No replies yet.",
  });
  const view = { name: "tweet", stream: `replies:${id}`, live: true, add: feed.add, reload: () => load() };
  setView(view);
  const top = h("div.thread");
  main.replaceChildren(viewHeader("Post"), top);
  let first = null;
  async function load() {
    try {
      first = await request("tweet", { tweet_id: id });
    } catch (e) {
      if (app.view !== view) return;
      top.replaceChildren(h("p.error", { role: "alert" }, e.code === "not_found" ? "This post does not exist, or was deleted." : e.message));
      return;
    }
    if (app.view !== view) return;
    if (!top.childElementCount) {
      if (first.parent) top.append(tweetCard(first.parent));
      else if (first.tweet.reply_to) top.append(h("p.context", {}, "This is a reply to a post that was deleted."));
      remember(first.tweet);
      top.append(
        tweetCard(first.tweet, { focus: true }),
        composer({
          label: `Reply to @${first.tweet.author.username}`,
          button: "Reply",
          replyTo: id,
          onPosted: (t) => app.view === view && feed.add(t, { live: true }),
        }),
        h("h2.sub", {}, "Replies"),
        feed.el,
      );
      if (first.parent) remember(first.parent);
    } else {
      remember(first.tweet);
    }
    feed.load();
  }
  await load();
}

async function renderProfile(username) {
  document.title = `@${username} · Starling`;
  const feed = feedList({
    label: `Posts by @${username}`,
    fetchPage: (before) => request("timeline", { feed: `user:${username}`, before, limit: PAGE }),
    empty: "No posts yet.",
  });
  const view = { name: "profile", stream: `user:${username}`, live: true, add: feed.add, reload: feed.reload };
  setView(view);
  const head = h("section.profile", { "aria-label": "Profile" }, h("p", {}, "Loading…"));
  main.replaceChildren(head, feed.el);
  feed.load();
  let data;
  try {
    data = await request("profile", { username });
  } catch (e) {
    if (app.view === view) {
      head.replaceChildren(h("p.error", { role: "alert" }, e.code === "not_found" ? `There is no user @${username}.` : e.message));
    }
    return;
  }
  if (app.view !== view) return;
  head.replaceChildren(profileHeader(data));
}

function profileHeader({ profile, followed_by_me, follows_me }) {
  const isMe = app.me && profile.id === app.me.id;
  const followers = h("span.n", { "data-count": "followers" }, String(profile.followers));
  const stats = h("p.stats", {},
    h("span", {}, h("strong", {}, String(profile.tweets)), " posts"), " ",
    h("span", {}, h("strong", {}, String(profile.following)), " following"), " ",
    h("span", {}, h("strong", {}, followers), " ", h("span.followers-label", {}, profile.followers === 1 ? "follower" : "followers")));
  const head = h("div.profile-head", {},
    h("span.avatar.big", { "aria-hidden": "true" }, (profile.display_name || profile.username).slice(0, 1)),
    h("div", {},
      h("h1", {}, profile.display_name),
      h("p.handle", {}, `@${profile.username}`, follows_me ? h("span.pill", {}, "Follows you") : null),
      profile.bio ? h("p.bio", {}, profile.bio) : null,
      h("p.joined", {}, `Joined ${new Date(profile.joined_at).toLocaleDateString(undefined, { year: "numeric", month: "long" })}`),
      stats));
  if (isMe) {
    head.append(editProfileForm(profile));
  } else {
    let following = followed_by_me;
    const button = h("button.follow", { type: "button" });
    const paint = () => {
      button.textContent = following ? "Unfollow" : "Follow";
      button.setAttribute("aria-pressed", String(following));
      button.classList.toggle("primary", !following);
    };
    paint();
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const r = await request(following ? "unfollow" : "follow", { username: profile.username });
        following = r.following;
        followers.textContent = String(r.followers);
        head.querySelector(".followers-label").textContent = r.followers === 1 ? "follower" : "followers";
        paint();
      } catch (e) {
        toast(e.message);
      } finally {
        button.disabled = false;
      }
    });
    head.append(button);
  }
  return head;
}

function editProfileForm(profile) {
  const name = h("input", { id: "edit-name", name: "display_name", maxlength: 50, value: profile.display_name });
  const bio = h("textarea", { id: "edit-bio", name: "bio", maxlength: 160, rows: 2 });
  bio.value = profile.bio;
  const error = h("p.error", { role: "alert" });
  const form = h("form.edit-profile", {},
    h("label", { for: "edit-name" }, "Display name"), name,
    h("label", { for: "edit-bio" }, "Bio"), bio,
    h("button", { type: "submit" }, "Save profile"), error);
  const details = h("details.edit", {}, h("summary", {}, "Edit profile"), form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const { profile: p } = await request("update_profile", { display_name: name.value, bio: bio.value });
      app.me = { ...app.me, ...p };
      session.setUser(app.me);
      route();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  return details;
}

function renderTag(tags) {
  const title = tags.map((t) => `#${t}`).join(" ");
  document.title = `${title} · Starling`;
  $("#search-input").value = title;
  const feed = feedList({
    label: `Posts tagged ${title}`,
    fetchPage: (before) => request("search", { hashtags: tags, before, limit: PAGE }),
    empty: `No posts with ${title} yet.`,
  });
  const view = {
    name: "tag",
    stream: `hashtag:${tags[0]}`,
    live: true,
    add: feed.add,
    reload: feed.reload,
    accepts: (t) => tags.every((tag) => (t.retweet_of || t).hashtags.includes(tag)),
  };
  setView(view);
  main.replaceChildren(viewHeader(title, h("p.sub", {}, "Search results, updated live")), feed.el);
  feed.load();
}

// ---------- notifications ----------

function seenKey() {
  return `starling.seen.${app.me ? app.me.id : 0}`;
}

function setUnread(n) {
  app.unread = n;
  const badge = $("#badge");
  badge.hidden = n === 0;
  badge.replaceChildren(String(n > 99 ? "99+" : n), srOnly(" unread"));
}

function markSeen(id) {
  if (id > app.seenNotification) {
    app.seenNotification = id;
    localStorage.setItem(seenKey(), String(id));
  }
  setUnread(0);
}

async function loadUnread() {
  try {
    const page = await request("notifications", { limit: 50 });
    if (app.view && app.view.name === "notifications") return;
    setUnread(page.items.filter((n) => n.id > app.seenNotification).length);
  } catch {
    // The badge waits for the next notification.
  }
}

function onNotification(n) {
  const view = app.view;
  if (view && view.name === "notifications") {
    view.add(n, { live: true });
    markSeen(n.id);
  } else if (n.id > app.seenNotification) {
    setUnread(app.unread + 1);
  }
}

const NOTIFICATION_TEXT = {
  followed: "followed you",
  liked: "liked your post",
  retweeted: "retweeted your post",
  replied: "replied to your post",
  mentioned: "mentioned you",
  quoted: "quoted your post",
};

function notificationItem(n, live) {
  const who = h("a", { href: `#/u/${encodeURIComponent(n.by.username)}` }, h("strong", {}, n.by.display_name));
  const what = n.tweet_id
    ? h("a", { href: `#/t/${n.tweet_id}` }, NOTIFICATION_TEXT[n.kind] || n.kind)
    : NOTIFICATION_TEXT[n.kind] || n.kind;
  return h("li.notification", { dataset: { id: n.id }, class: live ? "notification enter" : "notification" },
    h("span.kind", { class: `kind ${n.kind}` }, icon({ followed: "user", liked: "like", retweeted: "retweet", replied: "reply", mentioned: "at", quoted: "quote" }[n.kind] || "user")),
    h("p", {}, who, " ", what, " · ", timeEl(n.created_at)));
}

function renderNotifications() {
  document.title = "Notifications · Starling";
  const list = h("ol.notifications", { "aria-label": "Notifications" });
  const more = h("button.more", { type: "button", hidden: true }, "Load more");
  const empty = h("p.empty", { hidden: true }, "No notifications yet.");
  let next = null;
  function add(n, { live = false } = {}) {
    if (list.querySelector(`[data-id="${n.id}"]`)) return;
    const after = [...list.children].find((c) => Number(c.dataset.id) < n.id);
    list.insertBefore(notificationItem(n, live), after || null);
    empty.hidden = true;
  }
  async function load(before) {
    try {
      const page = await request("notifications", { before, limit: PAGE });
      if (app.view !== view) return;
      page.items.forEach((n) => add(n));
      if (before === undefined || next !== null) next = page.next;
      if (page.items.length) markSeen(page.items[0].id);
      else markSeen(app.seenNotification);
    } catch (e) {
      toast(e.message);
    }
    more.hidden = next === null;
    empty.hidden = list.children.length > 0;
  }
  more.addEventListener("click", () => load(next));
  const view = { name: "notifications", live: false, add, reload: () => load(undefined) };
  setView(view);
  main.replaceChildren(viewHeader("Notifications"), list, empty, more);
  load(undefined);
}

// ---------- trending ----------

async function loadTrending() {
  const list = $("#trending");
  try {
    const { hashtags } = await request("trending", { limit: 10 });
    list.replaceChildren(
      ...hashtags.map((t) =>
        h("li", {},
          h("a", { href: `#/tag/${encodeURIComponent(t.tag)}` }, `#${t.tag}`),
          h("span.count", {}, plural(t.count, "post")))),
    );
    if (!hashtags.length) list.replaceChildren(h("li.empty", {}, "Nothing trending yet."));
  } catch {
    // Kept as it was; the next tick tries again.
  }
}

/** Reloads trending a little after tagged posts arrive (at most every 5 s). */
let trendingTimer = null;
function trendingSoon() {
  trendingTimer ??= setTimeout(() => {
    trendingTimer = null;
    loadTrending();
  }, 5_000);
}

function refreshTimes() {
  for (const t of document.querySelectorAll("time[data-ts]")) t.textContent = relativeTime(Number(t.dataset.ts));
}

// ---------- routing ----------

function route() {
  if (!app.conn) return;
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  let m;
  let nav = "home";
  if ((m = hash.match(/^t\/(\d+)$/))) {
    nav = null;
    renderTweet(Number(m[1]));
  } else if ((m = hash.match(/^u\/([A-Za-z0-9_]{1,30})$/))) {
    nav = app.me && m[1].toLowerCase() === app.me.username.toLowerCase() ? "profile" : null;
    renderProfile(m[1]);
  } else if ((m = hash.match(/^tag\/(.+)$/)) && parseTags(m[1]).length) {
    nav = null;
    renderTag(parseTags(m[1]));
  } else if (hash === "notifications") {
    nav = "notifications";
    renderNotifications();
  } else {
    renderHome();
  }
  if (!hash.startsWith("tag/")) $("#search-input").value = "";
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  syncWatches();
}

window.addEventListener("hashchange", () => {
  route();
  main.focus({ preventScroll: false });
});

if (session.signedIn) startSession();
else showAuth();
