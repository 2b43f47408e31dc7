//! Trending hashtags: uses counted in one-minute buckets over the last hour, newer minutes
//! weighing more.
//!
//! score(tag) = Σ over the window's buckets of uses × (60 − age in minutes) / 60
//!
//! so a use counts fully the minute it happens and fades linearly to nothing after an hour.
//! Ties go to the tag used most recently, then to the tag name, so the order is total.
//! `count` in the reply is the plain number of uses in the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// The window's length in one-minute buckets.
pub const WINDOW_MINUTES: u64 = 60;
const MINUTE_MS: u64 = 60_000;

#[derive(Default)]
struct TagUse {
    /// (minute, uses), oldest first.
    buckets: VecDeque<(u64, u64)>,
    last_used: u64,
}

#[derive(Default)]
pub struct Trending {
    tags: Mutex<HashMap<String, TagUse>>,
}

/// One ranked tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub tag: String,
    pub count: u64,
    pub score: f64,
}

impl Trending {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TagUse>> {
        self.tags.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one use of each tag at `at` (ms).
    pub fn record(&self, tags: &[String], at: u64) {
        let minute = at / MINUTE_MS;
        let mut map = self.lock();
        for tag in tags {
            let entry = map.entry(tag.clone()).or_default();
            match entry.buckets.iter_mut().rev().find(|(m, _)| *m == minute) {
                Some((_, n)) => *n += 1,
                None => {
                    let at_pos = entry.buckets.partition_point(|(m, _)| *m < minute);
                    entry.buckets.insert(at_pos, (minute, 1));
                }
            }
            entry.last_used = entry.last_used.max(at);
        }
    }

    /// Takes back the uses of a deleted tweet.
    pub fn forget(&self, tags: &[String], at: u64) {
        let minute = at / MINUTE_MS;
        let mut map = self.lock();
        for tag in tags {
            if let Some(entry) = map.get_mut(tag) {
                if let Some((_, n)) = entry.buckets.iter_mut().find(|(m, _)| *m == minute) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }

    /// The top `limit` tags at `now`, best first.
    pub fn top(&self, now: u64, limit: usize) -> Vec<Trend> {
        let current = now / MINUTE_MS;
        let oldest = current.saturating_sub(WINDOW_MINUTES - 1);
        let mut map = self.lock();
        let mut ranked: Vec<(Trend, u64)> = Vec::new();
        map.retain(|tag, usage| {
            while usage.buckets.front().is_some_and(|(m, _)| *m < oldest) {
                usage.buckets.pop_front();
            }
            let mut count = 0;
            let mut score = 0.0;
            for &(minute, uses) in &usage.buckets {
                let age = current.saturating_sub(minute);
                count += uses;
                score += uses as f64 * (WINDOW_MINUTES - age.min(WINDOW_MINUTES)) as f64
                    / WINDOW_MINUTES as f64;
            }
            if count > 0 {
                ranked.push((
                    Trend {
                        tag: tag.clone(),
                        count,
                        score,
                    },
                    usage.last_used,
                ));
            }
            !usage.buckets.is_empty()
        });
        drop(map);
        ranked.sort_by(|(a, a_last), (b, b_last)| {
            b.score
                .total_cmp(&a.score)
                .then(b_last.cmp(a_last))
                .then(a.tag.cmp(&b.tag))
        });
        ranked.into_iter().take(limit).map(|(t, _)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn more_uses_rank_higher_and_ties_go_to_the_latest() {
        let t = Trending::default();
        let base = 1_000 * MINUTE_MS;
        t.record(&tags(&["a", "b"]), base);
        t.record(&tags(&["a"]), base + 10);
        t.record(&tags(&["c"]), base + 20);
        let top = t.top(base + 30, 10);
        let names: Vec<&str> = top.iter().map(|t| t.tag.as_str()).collect();
        assert_eq!(names, vec!["a", "c", "b"]);
        assert_eq!(top[0].count, 2);
    }

    #[test]
    fn old_uses_fade_and_leave_the_window() {
        let t = Trending::default();
        let base = 1_000 * MINUTE_MS;
        t.record(&tags(&["old", "old", "old"]), base);
        t.record(&tags(&["old"]), base + 1);
        t.record(&tags(&["new"]), base + 50 * MINUTE_MS);
        // At minute 50, old's 4 uses weigh 4 × 10/60 < new's 1 × 60/60.
        let top = t.top(base + 50 * MINUTE_MS, 10);
        assert_eq!(top[0].tag, "new");
        assert_eq!(t.top(base + 61 * MINUTE_MS, 10).len(), 1);
        t.forget(&tags(&["new"]), base + 50 * MINUTE_MS);
        assert!(t.top(base + 61 * MINUTE_MS, 10).is_empty());
    }
}
