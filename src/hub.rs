//! Live fan-out: who is subscribed to which stream, each stream's replay history, and the
//! publisher that turns committed effects into events.
//!
//! Path of an event: `App::commit` hands the operation's effects to [`Hub::enqueue`] under
//! the write lock, so the queue is in log order. The publisher task takes them once the log
//! is durable up to them (sync mode) or at once (relaxed), builds each event once, encodes
//! it once per codec and per stream name into shared bytes, records it in each live
//! stream's history and `push`es it to every subscribed outbox without waiting.
//!
//! Cursors: an event made by the `k`-th effect of the operation with log sequence `seq` has
//! cursor `seq × 1024 + k`. They rise strictly within every stream, survive restarts (the
//! log sequence does), and are the same on every stream an event goes to, which is what
//! lets one encoding serve all followers' `home` streams.

use crate::app::App;
use crate::error::ApiError;
use crate::handlers::feeds::Feed;
use crate::handlers::views;
use crate::outbox::Outbox;
use crate::state::Effect;
use crate::store::Seq;
use dashmap::DashMap;
use starling_protocol::{encode, reply, Codec, Counts, Event, EventFrame, ServerFrame, TweetRef};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

/// Effects one operation may turn into, at most; more would overflow into the next
/// operation's cursors.
const EFFECTS_PER_OP: u64 = 1024;

/// Operations published between yields to the scheduler. Also the span over which a
/// tweet's count changes coalesce into one `counts` event.
const PUBLISH_BATCH: usize = 64;

/// A stream, with usernames resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamKey {
    Home(u64),
    User(u64),
    Hashtag(String),
    Replies(u64),
    Tweet(u64),
    Notifications(u64),
}

/// A committed operation's events, waiting to be published.
struct Pending {
    seq: Seq,
    events: Vec<Prepared>,
}

/// One event, built when its operation was applied, and where it goes.
pub struct Prepared {
    /// Streams by name, with the key that finds their subscribers.
    named: Vec<(String, StreamKey)>,
    /// Also to the `home` stream of this author and of each of their followers (looked up
    /// when published).
    home_of: Option<u64>,
    event: Event,
    /// Set for `counts` events, which coalesce per tweet.
    counts_of: Option<u64>,
}

/// One event in a stream's history: both encodings, shared with every recipient.
#[derive(Clone)]
struct Entry {
    cursor: u64,
    at: Instant,
    frames: [Message; 2],
}

struct Stream {
    subscribers: Vec<Arc<Outbox>>,
    history: VecDeque<Entry>,
    /// History is complete for cursors above this.
    floor: u64,
    /// When the last subscriber left (kept for resume until the replay window passes).
    idle_since: Option<Instant>,
}

/// How far back `subscribe` with `since` can replay.
#[derive(Debug, Clone, Copy)]
pub struct ReplayWindow {
    pub events: usize,
    pub age: Duration,
}

pub struct Hub {
    streams: DashMap<StreamKey, Stream>,
    pending: Mutex<VecDeque<Pending>>,
    /// Wakes the publisher (relaxed mode; sync mode wakes on durability).
    wake: Notify,
    /// Held while an operation's events are routed and while a subscription registers, so
    /// a subscriber sees each event either in its replay or live, never both or neither.
    routing: Mutex<()>,
    /// Every event with a cursor up to this has been routed.
    published: AtomicU64,
    window: ReplayWindow,
    /// Events delivered to outboxes, and outboxes that overflowed (for metrics).
    pub deliveries: AtomicU64,
    pub overflows: AtomicU64,
}

/// The answer to `subscribe`: the reply, and whether a `gap` was sent.
pub struct Subscribed {
    pub stream: String,
    pub cursor: u64,
    pub recovered: bool,
}

impl Hub {
    pub fn new(window: ReplayWindow, start_seq: Seq) -> Hub {
        Hub {
            streams: DashMap::new(),
            pending: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            routing: Mutex::new(()),
            published: AtomicU64::new(last_cursor_of(start_seq)),
            window,
            deliveries: AtomicU64::new(0),
            overflows: AtomicU64::new(0),
        }
    }

    /// Queues an operation's events for publishing. Called under the write lock, so the
    /// queue is in log order.
    pub fn enqueue(&self, seq: Seq, events: Vec<Prepared>) {
        if events.is_empty() {
            return;
        }
        lock(&self.pending).push_back(Pending { seq, events });
        self.wake.notify_one();
    }

    /// Publishes queued effects as the log becomes durable, until `stop`.
    pub async fn run_publisher(&self, app: &App, mut stop: watch::Receiver<bool>) {
        let mut durable = app.store.durable();
        let waits = app.store.acks_wait_for_flush();
        loop {
            let limit = if waits {
                *durable.borrow_and_update()
            } else {
                Seq::MAX
            };
            // A bounded batch at a time, yielding between them, so sessions drain their
            // outboxes while a large group commit is being published.
            while self.publish_ready(app, limit) {
                tokio::task::yield_now().await;
            }
            tokio::select! {
                changed = durable.changed(), if waits => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = self.wake.notified(), if !waits => {}
                _ = stop.changed() => {
                    // What is durable now still goes out before sockets close.
                    let limit = if waits { *durable.borrow() } else { Seq::MAX };
                    while self.publish_ready(app, limit) {}
                    return;
                }
            }
        }
    }

    /// Publishes every queued operation with a sequence number up to `limit`, at once
    /// (benches and tools; the server's publisher task yields between batches).
    pub fn publish_pending(&self, app: &App, limit: Seq) {
        while self.publish_ready(app, limit) {}
    }

    /// Publishes up to [`PUBLISH_BATCH`] ready operations; true when more are ready.
    fn publish_ready(&self, app: &App, limit: Seq) -> bool {
        let (batch, more) = {
            let mut pending = lock(&self.pending);
            let ready = pending.iter().take_while(|p| p.seq <= limit).count();
            if ready == 0 {
                return false;
            }
            let take = ready.min(PUBLISH_BATCH);
            (pending.drain(..take).collect::<Vec<_>>(), ready > take)
        };
        self.publish_batch(app, batch);
        more
    }

    /// Publishes a batch in order. Counts changes of one tweet within the batch are
    /// coalesced into one event with the latest counts, at the position of the last change.
    fn publish_batch(&self, app: &App, batch: Vec<Pending>) {
        let mut last_counts: HashMap<u64, (Seq, usize)> = HashMap::new();
        for p in &batch {
            for (k, e) in p.events.iter().enumerate() {
                if let Some(id) = e.counts_of {
                    last_counts.insert(id, (p.seq, k));
                }
            }
        }
        for p in batch {
            let _routing = lock(&self.routing);
            for (k, prepared) in p.events.iter().enumerate() {
                if let Some(id) = prepared.counts_of {
                    if last_counts.get(&id) != Some(&(p.seq, k)) {
                        continue;
                    }
                }
                let cursor = p.seq * EFFECTS_PER_OP + (k as u64).min(EFFECTS_PER_OP - 1);
                for (name, key) in &prepared.named {
                    self.deliver(name, std::slice::from_ref(key), cursor, &prepared.event);
                }
                if let Some(author) = prepared.home_of {
                    self.deliver("home", &home_keys(app, author), cursor, &prepared.event);
                }
            }
            self.published
                .fetch_max(last_cursor_of(p.seq), Ordering::AcqRel);
        }
    }

    /// Encodes `event` once per codec under the stream name `name` and hands it to every
    /// live stream among `keys`.
    fn deliver(&self, name: &str, keys: &[StreamKey], cursor: u64, event: &Event) {
        let mut frames: Option<[Message; 2]> = None;
        let now = Instant::now();
        for key in keys {
            let Some(mut stream) = self.streams.get_mut(key) else {
                continue;
            };
            let frames = frames.get_or_insert_with(|| encode_event(name, cursor, event));
            for outbox in &stream.subscribers {
                if outbox.push(frames[outbox.codec.index()].clone()) {
                    self.deliveries.fetch_add(1, Ordering::Relaxed);
                } else if outbox.overflowed() {
                    self.overflows.fetch_add(1, Ordering::Relaxed);
                }
            }
            stream.history.push_back(Entry {
                cursor,
                at: now,
                frames: frames.clone(),
            });
            self.trim(&mut stream, now);
        }
    }

    fn trim(&self, stream: &mut Stream, now: Instant) {
        while stream.history.len() > self.window.events
            || stream
                .history
                .front()
                .is_some_and(|e| now.duration_since(e.at) > self.window.age)
        {
            if let Some(old) = stream.history.pop_front() {
                stream.floor = old.cursor;
            }
        }
    }

    /// Subscribes an outbox, replaying what it missed after `since` into it first (or a
    /// `gap` event when the history no longer reaches back).
    pub fn subscribe(
        &self,
        key: StreamKey,
        name: &str,
        outbox: &Arc<Outbox>,
        since: Option<u64>,
    ) -> Subscribed {
        let _routing = lock(&self.routing);
        let published = self.published.load(Ordering::Acquire);
        let now = Instant::now();
        let mut stream = self.streams.entry(key).or_insert_with(|| Stream {
            subscribers: Vec::new(),
            history: VecDeque::new(),
            floor: published,
            idle_since: None,
        });
        self.trim(&mut stream, now);
        let cursor = stream
            .history
            .back()
            .map(|e| e.cursor)
            .unwrap_or(0)
            .max(published);
        let recovered = match since {
            None => true,
            // A replay larger than half the outbox would overflow it and close the socket,
            // again at every retry: such a client gets a gap and reloads instead.
            Some(since)
                if since >= stream.floor
                    && since <= cursor
                    && stream
                        .history
                        .iter()
                        .filter(|e| e.cursor > since)
                        .map(|e| e.frames[outbox.codec.index()].len())
                        .sum::<usize>()
                        <= outbox.cap() / 2 =>
            {
                for entry in stream.history.iter().filter(|e| e.cursor > since) {
                    outbox.push(entry.frames[outbox.codec.index()].clone());
                }
                true
            }
            Some(_) => {
                let gap = Event::Gap(reply::Stream {
                    stream: name.to_owned(),
                });
                let frames = encode_event(name, cursor, &gap);
                outbox.push(frames[outbox.codec.index()].clone());
                false
            }
        };
        if !stream
            .subscribers
            .iter()
            .any(|o| o.conn_id == outbox.conn_id)
        {
            stream.subscribers.push(outbox.clone());
        }
        stream.idle_since = None;
        Subscribed {
            stream: name.to_owned(),
            cursor,
            recovered,
        }
    }

    pub fn unsubscribe(&self, key: &StreamKey, conn_id: u64) {
        if let Some(mut stream) = self.streams.get_mut(key) {
            stream.subscribers.retain(|o| o.conn_id != conn_id);
            if stream.subscribers.is_empty() {
                stream.idle_since = Some(Instant::now());
            }
        }
    }

    /// Drops streams nobody has subscribed to for longer than the replay window.
    pub fn sweep(&self) {
        let age = self.window.age;
        self.streams.retain(|_, s| {
            !s.subscribers.is_empty() || s.idle_since.is_none_or(|t| t.elapsed() <= age)
        });
    }

    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }
}

/// Builds the events of an operation's effects from the state as the operation left it.
/// Called under the write lock right after the operation is applied, so an event shows
/// exactly what the log holds up to that operation, never a later, maybe not yet durable
/// change.
pub fn prepare(app: &App, effects: &[Effect]) -> Vec<Prepared> {
    let state = &app.state;
    let mut out = Vec::with_capacity(effects.len());
    for effect in effects {
        match effect {
            Effect::Tweet(id) => {
                let Some(rec) = state.tweets.get(*id) else {
                    continue;
                };
                out.push(Prepared {
                    named: tweet_streams(app, &rec, false),
                    home_of: Some(rec.author),
                    event: Event::Tweet(views::tweet(app, &rec, None)),
                    counts_of: None,
                });
            }
            Effect::Deleted(rec) => out.push(Prepared {
                named: tweet_streams(app, rec, true),
                home_of: Some(rec.author),
                event: Event::Deleted(TweetRef { tweet_id: rec.id }),
                counts_of: None,
            }),
            Effect::Counts(id) => {
                let Some(rec) = state.tweets.get(*id) else {
                    continue;
                };
                out.push(Prepared {
                    named: vec![(format!("tweet:{id}"), StreamKey::Tweet(*id))],
                    home_of: None,
                    event: Event::Counts(Counts {
                        tweet_id: rec.id,
                        likes: rec.likes,
                        retweets: rec.retweets,
                        replies: rec.replies,
                    }),
                    counts_of: Some(*id),
                });
            }
            Effect::Notified(user, rec) => out.push(Prepared {
                named: vec![("notifications".to_owned(), StreamKey::Notifications(*user))],
                home_of: None,
                event: Event::Notification(views::notification(app, rec)),
                counts_of: None,
            }),
        }
    }
    out
}

/// The named streams a tweet's event goes to (besides `home`).
fn tweet_streams(
    app: &App,
    rec: &crate::state::TweetRec,
    with_tweet: bool,
) -> Vec<(String, StreamKey)> {
    let mut named = vec![(
        format!("user:{}", username(app, rec.author)),
        StreamKey::User(rec.author),
    )];
    if with_tweet {
        named.push((format!("tweet:{}", rec.id), StreamKey::Tweet(rec.id)));
    }
    for tag in &rec.hashtags {
        named.push((format!("hashtag:{tag}"), StreamKey::Hashtag(tag.clone())));
    }
    if let Some(parent) = rec.reply_to {
        named.push((format!("replies:{parent}"), StreamKey::Replies(parent)));
    }
    named
}

/// Resolves a stream name for `subscribe`: the key, and the canonical name events carry.
/// `existing` checks that a `tweet:`/`replies:` stream's tweet exists (not for
/// `unsubscribe`, which must work after the tweet is deleted).
pub fn resolve(
    app: &App,
    viewer_user: Option<u64>,
    name: &str,
    existing: bool,
) -> Result<(StreamKey, String), ApiError> {
    let feed = Feed::parse(app, name)?;
    let me = || {
        viewer_user
            .ok_or_else(|| ApiError::forbidden("guests may only subscribe to public streams"))
    };
    Ok(match feed {
        Feed::Home => (StreamKey::Home(me()?), "home".to_owned()),
        Feed::Notifications => (StreamKey::Notifications(me()?), "notifications".to_owned()),
        Feed::User(id) => (StreamKey::User(id), format!("user:{}", username(app, id))),
        Feed::Hashtag(tag) => {
            let name = format!("hashtag:{tag}");
            (StreamKey::Hashtag(tag), name)
        }
        Feed::Replies(id) => {
            if existing && !app.state.tweets.exists(id) {
                return Err(crate::handlers::tweets::no_tweet(id));
            }
            (StreamKey::Replies(id), format!("replies:{id}"))
        }
        Feed::Tweet(id) => {
            if existing && !app.state.tweets.exists(id) {
                return Err(crate::handlers::tweets::no_tweet(id));
            }
            (StreamKey::Tweet(id), format!("tweet:{id}"))
        }
        Feed::Likes(_) => {
            return Err(ApiError::bad_request(
                "likes:<username> is a feed, not a stream",
            ))
        }
    })
}

/// The `home` streams a post by `author` belongs to: the author's and every follower's.
fn home_keys(app: &App, author: u64) -> Vec<StreamKey> {
    let mut keys = vec![StreamKey::Home(author)];
    keys.extend(
        app.state
            .graph
            .follower_ids(author)
            .into_iter()
            .map(StreamKey::Home),
    );
    keys
}

fn username(app: &App, id: u64) -> String {
    app.state
        .users
        .user_ref(id)
        .map(|u| u.username)
        .unwrap_or_default()
}

fn last_cursor_of(seq: Seq) -> u64 {
    seq * EFFECTS_PER_OP + (EFFECTS_PER_OP - 1)
}

/// One event frame in both codecs, as the messages that carry them.
fn encode_event(stream: &str, cursor: u64, event: &Event) -> [Message; 2] {
    let frame: ServerFrame = ServerFrame::Event(EventFrame {
        stream: stream.to_owned(),
        cursor,
        event: event.clone(),
    });
    let json = encode(Codec::Json, &frame).expect("events always encode");
    let msgpack = encode(Codec::MsgPack, &frame).expect("events always encode");
    [
        Message::Text(
            String::from_utf8(json)
                .expect("serde_json writes UTF-8")
                .into(),
        ),
        Message::Binary(msgpack.into()),
    ]
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
