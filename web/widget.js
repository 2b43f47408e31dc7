// Starling's embeddable widget: a chat-style live view of one stream, on any page.
//
//   <script src="https://HOST/widget.js" data-stream="hashtag:rust"></script>
//
// Attributes of the script tag:
//   data-stream  the stream to show (`hashtag:<tag>` or `user:<username>`), required
//   data-token   an access token of a user: adds a compose box posting as that user
//                (change the attribute to hand over a renewed token)
//   data-target  a CSS selector of the element to render into (default: right after the
//                script tag)
//   data-height  the widget's height (default 420px); data-title a heading
//
// It renders in a shadow root, so the page's styles and its own do not mix. Without a
// token it reads anonymously with a guest token. The server's address is the origin of
// this script's own URL.
(() => {
  const script =
    document.currentScript ||
    [...document.querySelectorAll("script[data-stream]")].find((s) => /\/widget\.js(\?|#|$)/.test(s.src));
  if (!script) {
    console.error("starling widget: no <script data-stream> found");
    return;
  }
  const origin = new URL(script.src, location.href).origin;
  const stream = (script.dataset.stream || "").trim();

  const host = document.createElement("div");
  host.className = "starling-widget";
  const target = script.dataset.target && document.querySelector(script.dataset.target);
  if (target) target.appendChild(host);
  else script.after(host);
  const root = host.attachShadow({ mode: "open" });

  const height = script.dataset.height || "420px";
  const title = script.dataset.title || (stream.startsWith("hashtag:") ? `#${stream.slice(8)}` : stream);
  root.innerHTML = `
    <style>
      :host { all: initial; display: block; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #14171a; }
      .box { display: flex; flex-direction: column; height: ${CSS.supports("height", height) ? height : "420px"}; max-width: 100%;
             border: 1px solid #cfd9de; border-radius: 12px; overflow: hidden; background: #fff; }
      header { display: flex; align-items: center; gap: 8px; padding: 8px 12px; border-bottom: 1px solid #eff3f4; font-weight: 700; }
      header .dot { width: 8px; height: 8px; border-radius: 50%; background: #aab8c2; flex: none; }
      header .dot.live { background: #17bf63; }
      header .status { margin-left: auto; font-weight: 400; font-size: 12px; color: #536471; }
      ol { list-style: none; margin: 0; padding: 8px 12px; overflow-y: auto; flex: 1; display: flex; flex-direction: column; gap: 10px; }
      li { display: flex; gap: 8px; animation: in .25s ease-out; }
      @media (prefers-reduced-motion: reduce) { li { animation: none; } }
      @keyframes in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
      .avatar { flex: none; width: 28px; height: 28px; border-radius: 50%; background: #1d9bf0; color: #fff;
                display: grid; place-items: center; font-weight: 700; text-transform: uppercase; }
      .bubble { background: #f1f5f8; border-radius: 4px 12px 12px 12px; padding: 6px 10px; min-width: 0; overflow-wrap: anywhere; }
      .who { font-size: 12px; color: #536471; }
      .who b { color: #14171a; }
      .text { white-space: pre-wrap; margin: 2px 0 0; }
      .media img { display: block; max-width: 100%; max-height: 160px; border-radius: 8px; margin-top: 4px; }
      .empty { color: #536471; text-align: center; margin: auto; }
      form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #eff3f4; align-items: flex-end; }
      label.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
      textarea { flex: 1; resize: none; font: inherit; padding: 6px 8px; border: 1px solid #cfd9de; border-radius: 8px; min-height: 2.2em; }
      button { font: inherit; font-weight: 700; border: 0; border-radius: 999px; padding: 6px 14px; background: #1d9bf0; color: #fff; cursor: pointer; }
      button:disabled { opacity: .5; cursor: default; }
      :focus-visible { outline: 2px solid #1d9bf0; outline-offset: 2px; }
      .count { font-size: 12px; color: #536471; align-self: center; }
      .count.over { color: #e0245e; font-weight: 700; }
      .note { font-size: 12px; color: #536471; padding: 0 12px 6px; }
      .error { color: #e0245e; }
    </style>
    <section class="box" aria-label="Live posts: ${escapeHtml(title)}">
      <header><span class="dot" aria-hidden="true"></span><span class="title"></span><span class="status" role="status">connecting…</span></header>
      <ol role="log" aria-live="polite" aria-label="Posts"></ol>
      <p class="note" hidden></p>
    </section>`;
  const $ = (sel) => root.querySelector(sel);
  $(".title").textContent = title;
  const list = $("ol");
  const dot = $(".dot");
  const statusEl = $(".status");
  const note = $(".note");
  const seen = new Set();

  function setStatus(text, live) {
    statusEl.textContent = text;
    dot.classList.toggle("live", !!live);
  }

  function showNote(text, isError) {
    note.hidden = !text;
    note.textContent = text || "";
    note.classList.toggle("error", !!isError);
  }

  if (!/^(hashtag|user):.+/.test(stream)) {
    setStatus("not configured");
    showNote('data-stream must be "hashtag:<tag>" or "user:<username>"', true);
    return;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  function timeOf(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /** Adds tweets (any order) to the list, oldest first, without repeats. */
  function add(tweets, { live = false } = {}) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    for (const t of tweets.slice().sort((a, b) => a.id - b.id)) {
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      const shown = t.retweet_of || t;
      const li = document.createElement("li");
      li.dataset.tweetId = t.id;
      const avatar = document.createElement("span");
      avatar.className = "avatar";
      avatar.setAttribute("aria-hidden", "true");
      avatar.textContent = (shown.author.display_name || shown.author.username).slice(0, 1);
      const bubble = document.createElement("div");
      bubble.className = "bubble";
      const who = document.createElement("div");
      who.className = "who";
      const name = document.createElement("b");
      name.textContent = shown.author.display_name;
      const time = document.createElement("time");
      time.dateTime = new Date(shown.created_at).toISOString();
      time.textContent = timeOf(shown.created_at);
      who.append(name, ` @${shown.author.username}${t.retweet_of ? ` (retweeted by @${t.author.username})` : ""} · `, time);
      const text = document.createElement("p");
      text.className = "text";
      text.textContent = shown.text;
      bubble.append(who, text);
      if (shown.media && shown.media.length) {
        const media = document.createElement("div");
        media.className = "media";
        for (const m of shown.media) {
          const img = document.createElement("img");
          img.src = new URL(m.url, origin).href;
          img.alt = `Image posted by @${shown.author.username}`;
          img.loading = "lazy";
          if (m.width && m.height) {
            img.width = m.width;
            img.height = m.height;
          }
          media.append(img);
        }
        bubble.append(media);
      }
      li.append(avatar, bubble);
      // Keep id order: an item older than the newest shown goes in its place.
      const after = [...list.children].find((c) => c.dataset.tweetId && Number(c.dataset.tweetId) > t.id);
      list.insertBefore(li, after || null);
      if (!live) li.style.animation = "none";
    }
    const empty = list.querySelector(".empty");
    if (empty && seen.size) empty.remove();
    if (atBottom || !live) list.scrollTop = list.scrollHeight;
  }

  function remove(id) {
    seen.delete(id);
    list.querySelector(`li[data-tweet-id="${Number(id)}"]`)?.remove();
  }

  import(new URL("/client.js", origin).href)
    .then((client) => start(client))
    .catch((e) => {
      setStatus("offline");
      showNote(`cannot load the Starling client: ${e.message}`, true);
    });

  function start(client) {
    const { Connection, GuestSession, GivenToken, graphemeCount } = client;
    let conn = null;
    let form = null;

    function connect(tokens, asUser) {
      conn?.stop();
      conn = new Connection({ origin, tokens });
      conn.addEventListener("state", (e) => {
        const s = e.detail.state;
        if (s === "connecting") setStatus("connecting…");
        else if (s === "waiting") setStatus("reconnecting…");
        else if (s === "open") setStatus("live", true);
      });
      conn.addEventListener("event", (e) => {
        const f = e.detail;
        if (f.event === "tweet") add([f.data], { live: true });
        else if (f.event === "deleted") remove(f.data.tweet_id);
      });
      conn.addEventListener("gap", () => load());
      conn.addEventListener("fatal", (e) => {
        if (asUser) {
          // The host page's token was refused: read as a guest instead.
          showNote(`sign-in failed (${e.detail.message}); reading as a guest`, true);
          form?.remove();
          form = null;
          connect(new GuestSession(origin), false);
        } else {
          setStatus("offline");
          showNote(e.detail.message, true);
        }
      });
      conn.addEventListener("ready", (e) => {
        if (asUser && e.detail.user && !form) buildForm(e.detail.user, e.detail.limits);
        if (!e.detail.resumed) load();
      });
      conn.start();
      // Subscribe before loading the page, so nothing posted in between is missed.
      conn.subscribe(stream).catch((err) => showNote(err.message, true));
    }

    async function load() {
      try {
        const page = await conn.request("timeline", { feed: stream, limit: 30 });
        add(page.items);
        if (!seen.size && !list.querySelector(".empty")) {
          const empty = document.createElement("li");
          empty.className = "empty";
          empty.textContent = "No posts yet.";
          list.append(empty);
        }
      } catch (err) {
        showNote(err.message, true);
      }
    }

    function buildForm(user, limits) {
      const max = (limits && limits.text_graphemes) || 250;
      form = document.createElement("form");
      form.innerHTML = `
        <label class="sr" for="w-text"></label>
        <textarea id="w-text" rows="1" maxlength="4000"></textarea>
        <span class="count" aria-live="off"></span>
        <button type="submit" disabled>Send</button>`;
      const textarea = form.querySelector("textarea");
      const count = form.querySelector(".count");
      const button = form.querySelector("button");
      form.querySelector("label").textContent = `Message as @${user.username}`;
      textarea.placeholder = `Message as @${user.username}`;
      const tag = stream.startsWith("hashtag:") ? stream.slice(8).replace(/^#/, "") : null;
      const withTag = (text) => {
        if (!tag) return text;
        const re = new RegExp(`(^|[^\\p{L}\\p{N}_])#${tag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\p{L}\\p{N}_])`, "iu");
        return re.test(text) ? text : `${text.trim()} #${tag}`;
      };
      const update = () => {
        const n = graphemeCount(withTag(textarea.value));
        count.textContent = `${n}/${max}`;
        count.classList.toggle("over", n > max);
        button.disabled = textarea.value.trim() === "" || n > max;
      };
      textarea.addEventListener("input", update);
      textarea.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey) {
          e.preventDefault();
          form.requestSubmit();
        }
      });
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        if (button.disabled) return;
        button.disabled = true;
        try {
          const { tweet } = await conn.request("post", { text: withTag(textarea.value) });
          add([tweet], { live: true });
          textarea.value = "";
          showNote("");
        } catch (err) {
          showNote(err.message, true);
        }
        update();
        textarea.focus();
      });
      update();
      root.querySelector(".box").append(form);
    }

    const given = () => script.getAttribute("data-token") || "";
    if (given()) {
      connect(new GivenToken(given), true);
      // A host page renews the token by changing the attribute; send it on the open socket.
      new MutationObserver(() => {
        if (given()) conn.renew();
      }).observe(script, { attributes: true, attributeFilter: ["data-token"] });
    } else {
      connect(new GuestSession(origin), false);
    }
  }
})();
