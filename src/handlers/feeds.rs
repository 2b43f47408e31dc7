//! Reading: `timeline` for every feed, `search`, `trending`, `notifications`, and the feed
//! and stream names they share with subscriptions.

use super::profiles::user_id;
use super::{page_limit, views, Viewer};
use crate::app::App;
use crate::auth::now_ms;
use crate::error::ApiError;
use starling_protocol::{limits, reply, req, rules, Reply, TrendingTag};

/// A feed or stream, with names resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Feed {
    /// The viewer's own tweets and those (and retweets) of everyone they follow.
    Home,
    User(u64),
    Hashtag(String),
    Replies(u64),
    /// Tweets a user liked, newest like first (stream: none; feed only).
    Likes(u64),
    /// One tweet's count changes and deletion (stream only).
    Tweet(u64),
    Notifications,
}

impl Feed {
    /// Parses `home`, `user:<username>`, `hashtag:<tag>`, `replies:<tweet_id>`,
    /// `likes:<username>`, `tweet:<tweet_id>`, `notifications`.
    pub fn parse(app: &App, name: &str) -> Result<Feed, ApiError> {
        let tweet_id = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("{s:?} is not a tweet id")))
        };
        match name.split_once(':') {
            None if name == "home" => Ok(Feed::Home),
            None if name == "notifications" => Ok(Feed::Notifications),
            Some(("user", n)) => Ok(Feed::User(user_id(app, n)?)),
            Some(("likes", n)) => Ok(Feed::Likes(user_id(app, n)?)),
            Some(("hashtag", t)) => rules::hashtag(t)
                .map(Feed::Hashtag)
                .ok_or_else(|| ApiError::bad_request(format!("{t:?} is not a hashtag"))),
            Some(("replies", id)) => Ok(Feed::Replies(tweet_id(id)?)),
            Some(("tweet", id)) => Ok(Feed::Tweet(tweet_id(id)?)),
            _ => Err(ApiError::bad_request(format!(
                "unknown feed {name:?}: expected home, user:<name>, hashtag:<tag>, \
                 replies:<id>, likes:<name>, tweet:<id> or notifications"
            ))),
        }
    }

    /// Whether a guest may read it.
    pub fn is_public(&self) -> bool {
        !matches!(self, Feed::Home | Feed::Notifications)
    }
}

pub fn timeline(app: &App, viewer: Viewer, t: req::Timeline) -> Result<Reply, ApiError> {
    let feed = Feed::parse(app, &t.feed)?;
    let limit = page_limit(t.limit)?;
    if !feed.is_public() {
        viewer.user()?;
    }
    // One more than asked, to know whether there is a next page.
    let want = limit + 1;
    let (ids, cursors): (Vec<u64>, Option<Vec<u64>>) = match &feed {
        Feed::Home => (app.state.home_page(viewer.user()?, t.before, want), None),
        Feed::User(id) => (app.state.tweets.author_page(*id, t.before, want), None),
        Feed::Hashtag(tag) => (
            app.state
                .tweets
                .search(std::slice::from_ref(tag), t.before, want)
                .0,
            None,
        ),
        Feed::Replies(id) => {
            if !app.state.tweets.exists(*id) {
                return Err(super::tweets::no_tweet(*id));
            }
            (app.state.tweets.reply_page(*id, t.before, want), None)
        }
        Feed::Likes(id) => {
            let page = app.state.likes.page(*id, t.before, want);
            let cursors = page.iter().map(|(like, _)| *like).collect();
            (
                page.into_iter().map(|(_, tweet)| tweet).collect(),
                Some(cursors),
            )
        }
        Feed::Tweet(_) => return Err(ApiError::bad_request("tweet:<id> is a stream, not a feed")),
        Feed::Notifications => {
            return Err(ApiError::bad_request(
                "read notifications with the notifications request",
            ))
        }
    };
    let next = (ids.len() > limit).then(|| match &cursors {
        Some(c) => c[limit - 1],
        None => ids[limit - 1],
    });
    let items = views::tweets(app, &ids[..ids.len().min(limit)], viewer.user_id);
    Ok(Reply::Tweets(reply::Tweets { items, next }))
}

pub fn search(app: &App, viewer: Viewer, s: req::Search) -> Result<Reply, ApiError> {
    let limit = page_limit(s.limit)?;
    if s.hashtags.is_empty() || s.hashtags.len() > limits::SEARCH_HASHTAGS {
        return Err(ApiError::bad_request(format!(
            "search takes 1 to {} hashtags",
            limits::SEARCH_HASHTAGS
        )));
    }
    let mut tags: Vec<String> = Vec::new();
    for raw in &s.hashtags {
        let tag = rules::hashtag(raw.trim())
            .ok_or_else(|| ApiError::bad_request(format!("{raw:?} is not a hashtag")))?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let (ids, cut_short) = app.state.tweets.search(&tags, s.before, limit + 1);
    // A walk cut short carries on from where it stopped, even with a short page.
    let next = if ids.len() > limit {
        Some(ids[limit - 1])
    } else {
        cut_short
    };
    let items = views::tweets(app, &ids[..ids.len().min(limit)], viewer.user_id);
    Ok(Reply::Tweets(reply::Tweets { items, next }))
}

/// Tags shown when `trending` gives no limit.
pub const TRENDING_DEFAULT: usize = 10;

pub fn trending(app: &App, t: req::Trending) -> Result<Reply, ApiError> {
    let limit = match t.limit {
        None => TRENDING_DEFAULT,
        Some(_) => page_limit(t.limit)?,
    };
    let hashtags = app
        .state
        .trending
        .top(now_ms(), limit)
        .into_iter()
        .enumerate()
        .map(|(i, trend)| TrendingTag {
            tag: trend.tag,
            count: trend.count,
            rank: i as u64 + 1,
        })
        .collect();
    Ok(Reply::Trending(reply::Trending { hashtags }))
}

pub fn notifications(app: &App, viewer: Viewer, p: req::Page) -> Result<Reply, ApiError> {
    let me = viewer.user()?;
    let limit = page_limit(p.limit)?;
    let recs = app.state.notifications.page(me, p.before, limit + 1);
    let next = (recs.len() > limit).then(|| recs[limit - 1].id);
    let items = recs
        .iter()
        .take(limit)
        .map(|n| views::notification(app, n))
        .collect();
    Ok(Reply::Notifications(reply::Notifications { items, next }))
}
