//! One socket's bounded outbound queue of pushed events.
//!
//! The publisher `push`es without ever waiting; the session drains. The bound is in bytes
//! (the encoded frames are shared, but a reader that does not read would otherwise pin
//! them all): past it the outbox is marked overflowed and the session closes with 4013.

use starling_protocol::Codec;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

pub struct Outbox {
    /// The socket this outbox belongs to.
    pub conn_id: u64,
    /// The codec pushes are encoded in.
    pub codec: Codec,
    cap_bytes: usize,
    queue: Mutex<Queue>,
    overflowed: AtomicBool,
    /// Wakes the session when something was pushed or the outbox overflowed.
    pub ready: Notify,
    /// Wakes a session blocked writing to its peer when the outbox overflows.
    overflow: Notify,
}

#[derive(Default)]
struct Queue {
    frames: VecDeque<Message>,
    bytes: usize,
}

impl Outbox {
    pub fn new(conn_id: u64, codec: Codec, cap_bytes: usize) -> Outbox {
        Outbox {
            conn_id,
            codec,
            cap_bytes,
            queue: Mutex::new(Queue::default()),
            overflowed: AtomicBool::new(false),
            ready: Notify::new(),
            overflow: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a frame; false (and overflowed from then on) when it does not fit.
    pub fn push(&self, frame: Message) -> bool {
        if self.overflowed.load(Ordering::Relaxed) {
            return false;
        }
        let len = frame.len();
        let mut queue = self.lock();
        if queue.bytes + len > self.cap_bytes {
            queue.frames.clear();
            queue.bytes = 0;
            drop(queue);
            self.overflowed.store(true, Ordering::Relaxed);
            self.ready.notify_one();
            self.overflow.notify_one();
            return false;
        }
        queue.bytes += len;
        queue.frames.push_back(frame);
        drop(queue);
        self.ready.notify_one();
        true
    }

    /// Takes everything queued, oldest first.
    pub fn drain(&self) -> VecDeque<Message> {
        let mut queue = self.lock();
        queue.bytes = 0;
        std::mem::take(&mut queue.frames)
    }

    /// The bound, in bytes.
    pub fn cap(&self) -> usize {
        self.cap_bytes
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// Resolves once the outbox has overflowed.
    pub async fn overflowed_signal(&self) {
        while !self.overflowed() {
            self.overflow.notified().await;
        }
    }
}
