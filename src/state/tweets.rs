//! Tweets (retweets included) and their indexes: by author, by hashtag, replies by parent,
//! retweets by original, and `client_key` idempotency.

use super::ids;
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Candidate tweets one search looks at, at most: tags that rarely meet would otherwise
/// make every search walk a whole hashtag.
pub const SEARCH_SCAN: usize = 10_000;

/// How long a `client_key` keeps answering with its first tweet.
pub const CLIENT_KEY_TTL_MS: u64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TweetRec {
    pub id: u64,
    pub author: u64,
    pub text: String,
    pub created_at: u64,
    pub hashtags: Vec<String>,
    pub mentions: Vec<u64>,
    pub media: Vec<u64>,
    pub reply_to: Option<u64>,
    pub quote_of: Option<u64>,
    pub retweet_of: Option<u64>,
    pub likes: u64,
    pub retweets: u64,
    pub replies: u64,
}

#[derive(Default)]
pub struct Tweets {
    by_id: DashMap<u64, TweetRec>,
    /// Each user's tweets and retweets, ascending.
    by_author: DashMap<u64, Vec<u64>>,
    /// Each hashtag's tweets, ascending.
    by_tag: DashMap<String, Vec<u64>>,
    /// Each tweet's replies, ascending.
    replies: DashMap<u64, Vec<u64>>,
    /// Each tweet's retweets, ascending.
    retweets: DashMap<u64, Vec<u64>>,
    /// (user, original) → the user's retweet of it.
    retweet_by: DashMap<(u64, u64), u64>,
    /// (author, client_key) → (tweet, when it was posted).
    client_keys: DashMap<(u64, String), (u64, u64)>,
    last_id: AtomicU64,
}

impl Tweets {
    /// The id the next tweet gets. Only meaningful under the write lock.
    pub fn next_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire) + 1
    }

    pub fn get(&self, id: u64) -> Option<TweetRec> {
        self.by_id.get(&id).map(|t| t.clone())
    }

    pub fn exists(&self, id: u64) -> bool {
        self.by_id.contains_key(&id)
    }

    pub fn count(&self) -> usize {
        self.by_id.len()
    }

    /// Follows a retweet to its original.
    pub fn original_of(&self, id: u64) -> Option<u64> {
        let t = self.by_id.get(&id)?;
        Some(t.retweet_of.unwrap_or(t.id))
    }

    pub fn retweet_by(&self, user: u64, original: u64) -> Option<u64> {
        self.retweet_by.get(&(user, original)).map(|id| *id)
    }

    /// The tweet a live `client_key` already produced.
    pub fn by_client_key(&self, author: u64, key: &str, now: u64) -> Option<u64> {
        let entry = self.client_keys.get(&(author, key.to_owned()))?;
        let (id, at) = *entry;
        (now.saturating_sub(at) < CLIENT_KEY_TTL_MS).then_some(id)
    }

    pub fn insert(&self, tweet: TweetRec, client_key: Option<&str>) {
        let id = tweet.id;
        self.index(&tweet);
        if let Some(parent) = tweet.reply_to {
            self.bump(parent, |t| t.replies += 1);
        }
        if let Some(original) = tweet.retweet_of {
            self.bump(original, |t| t.retweets += 1);
        }
        if let Some(key) = client_key {
            self.client_keys
                .insert((tweet.author, key.to_owned()), (id, tweet.created_at));
        }
        self.by_id.insert(id, tweet);
    }

    /// Removes one tweet from every index and count. Returns it, and the retweets of it,
    /// which the caller removes too.
    pub fn remove(&self, id: u64) -> Option<(TweetRec, Vec<u64>)> {
        let (_, tweet) = self.by_id.remove(&id)?;
        if let Some(mut list) = self.by_author.get_mut(&tweet.author) {
            ids::remove(&mut list, id);
        }
        for tag in &tweet.hashtags {
            let emptied = match self.by_tag.get_mut(tag) {
                Some(mut list) => {
                    ids::remove(&mut list, id);
                    list.is_empty()
                }
                None => false,
            };
            if emptied {
                self.by_tag.remove_if(tag, |_, list| list.is_empty());
            }
        }
        if let Some(parent) = tweet.reply_to {
            if let Some(mut list) = self.replies.get_mut(&parent) {
                ids::remove(&mut list, id);
            }
            self.bump(parent, |t| t.replies = t.replies.saturating_sub(1));
        }
        if let Some(original) = tweet.retweet_of {
            if let Some(mut list) = self.retweets.get_mut(&original) {
                ids::remove(&mut list, id);
            }
            self.retweet_by.remove(&(tweet.author, original));
            self.bump(original, |t| t.retweets = t.retweets.saturating_sub(1));
        }
        // Replies stay (showing their parent as gone); retweets go with the original.
        let retweets = self
            .retweets
            .remove(&id)
            .map(|(_, l)| l)
            .unwrap_or_default();
        Some((tweet, retweets))
    }

    /// Changes a tweet's counts in place.
    pub fn bump(&self, id: u64, change: impl FnOnce(&mut TweetRec)) {
        if let Some(mut t) = self.by_id.get_mut(&id) {
            change(&mut t);
        }
    }

    pub fn author_page(&self, author: u64, before: Option<u64>, limit: usize) -> Vec<u64> {
        self.by_author
            .get(&author)
            .map(|l| ids::page(&l, before, limit))
            .unwrap_or_default()
    }

    /// Offers an author's tweets to a merged page (the home timeline).
    pub fn offer_author(&self, author: u64, before: Option<u64>, top: &mut ids::TopIds) {
        if let Some(list) = self.by_author.get(&author) {
            top.offer(&list, before);
        }
    }

    pub fn reply_page(&self, parent: u64, before: Option<u64>, limit: usize) -> Vec<u64> {
        self.replies
            .get(&parent)
            .map(|l| ids::page(&l, before, limit))
            .unwrap_or_default()
    }

    /// Tweets carrying every tag, newest first: walks the rarest tag's list and checks the
    /// others on each tweet. At most [`SEARCH_SCAN`] candidates are looked at per call;
    /// the second value is where to carry on when that cut the walk short.
    pub fn search(
        &self,
        tags: &[String],
        before: Option<u64>,
        limit: usize,
    ) -> (Vec<u64>, Option<u64>) {
        let Some(rarest) = tags
            .iter()
            .min_by_key(|t| self.by_tag.get(*t).map(|l| l.len()).unwrap_or(0))
        else {
            return (Vec::new(), None);
        };
        let mut scanned = 0;
        let mut out = Vec::with_capacity(limit);
        let mut cursor = before;
        // Copy the candidates out in chunks, so no index guard is held while tweets are read.
        const CHUNK: usize = 256;
        while out.len() < limit {
            if scanned >= SEARCH_SCAN {
                return (out, cursor);
            }
            let chunk = match self.by_tag.get(rarest) {
                Some(list) => ids::page(&list, cursor, CHUNK),
                None => return (out, None),
            };
            let Some(&last) = chunk.last() else { break };
            scanned += chunk.len();
            for id in chunk {
                let carries_all = self
                    .by_id
                    .get(&id)
                    .is_some_and(|t| tags.iter().all(|tag| t.hashtags.contains(tag)));
                if carries_all {
                    out.push(id);
                    if out.len() == limit {
                        break;
                    }
                }
            }
            cursor = Some(last);
        }
        (out, None)
    }

    pub fn last_id(&self) -> u64 {
        self.last_id.load(Ordering::Acquire)
    }

    pub fn raise_last_id(&self, id: u64) {
        self.last_id.fetch_max(id, Ordering::AcqRel);
    }

    /// Every tweet as it is (counts included), for snapshots.
    pub fn all(&self) -> Vec<TweetRec> {
        self.by_id.iter().map(|t| t.clone()).collect()
    }

    /// Every live `client_key`: (author, key, tweet, posted at).
    pub fn all_client_keys(&self) -> Vec<(u64, String, u64, u64)> {
        self.client_keys
            .iter()
            .map(|e| (e.key().0, e.key().1.clone(), e.value().0, e.value().1))
            .collect()
    }

    /// Puts back a tweet from a snapshot: indexed, with its counts as recorded (nothing is
    /// counted again). Call in ascending id order.
    pub fn restore(&self, tweet: TweetRec) {
        self.index(&tweet);
        self.by_id.insert(tweet.id, tweet);
    }

    /// Adds a tweet to every index (not to `by_id`, and no count changes).
    fn index(&self, tweet: &TweetRec) {
        let id = tweet.id;
        self.last_id.fetch_max(id, Ordering::AcqRel);
        ids::insert(&mut self.by_author.entry(tweet.author).or_default(), id);
        for tag in &tweet.hashtags {
            ids::insert(&mut self.by_tag.entry(tag.clone()).or_default(), id);
        }
        if let Some(parent) = tweet.reply_to {
            ids::insert(&mut self.replies.entry(parent).or_default(), id);
        }
        if let Some(original) = tweet.retweet_of {
            ids::insert(&mut self.retweets.entry(original).or_default(), id);
            self.retweet_by.insert((tweet.author, original), id);
        }
    }

    pub fn restore_client_key(&self, author: u64, key: String, tweet: u64, at: u64) {
        self.client_keys.insert((author, key), (tweet, at));
    }

    /// Forgets `client_key`s older than their lifetime.
    pub fn prune_client_keys(&self, now: u64) {
        self.client_keys
            .retain(|_, (_, at)| now.saturating_sub(*at) < CLIENT_KEY_TTL_MS);
    }
}
