//! `post`, `delete` and `tweet` (a tweet with its parent and replies).

use super::views;
use super::Viewer;
use crate::app::App;
use crate::auth::now_ms;
use crate::error::ApiError;
use crate::store::Op;
use starling_protocol::{limits, reply, req, rules, ErrorCode, Reply};

pub fn post(app: &App, viewer: Viewer, p: req::Post) -> Result<Reply, ApiError> {
    let user = viewer.user()?;
    let text = rules::tweet_text(&p.text)?.to_owned();
    if let Some(key) = &p.client_key {
        if key.is_empty() || key.len() > limits::CLIENT_KEY_BYTES {
            return Err(ApiError::bad_request(format!(
                "client_key is 1 to {} bytes",
                limits::CLIENT_KEY_BYTES
            )));
        }
    }
    let media = p.media.unwrap_or_default();
    if media.len() > limits::MEDIA_PER_TWEET {
        return Err(ApiError::bad_request(format!(
            "a tweet carries at most {} images",
            limits::MEDIA_PER_TWEET
        )));
    }
    crate::media::check_attachable(app, user, &media)?;
    let hashtags = rules::hashtags(&text);
    let mut mentions: Vec<u64> = Vec::new();
    for name in rules::mentions(&text) {
        if let Some(id) = app.state.users.id_by_name(name) {
            if !mentions.contains(&id) {
                mentions.push(id);
            }
        }
    }
    let now = now_ms();
    let mut existing = None;
    let mut id = 0;
    app.commit(|state| {
        if let Some(key) = &p.client_key {
            if let Some(first) = state.tweets.by_client_key(user, key, now) {
                existing = Some(first);
                return Ok(None);
            }
        }
        // Replying to or quoting a retweet means the tweet retweeted.
        let reply_to = match p.reply_to {
            Some(t) => Some(state.tweets.original_of(t).ok_or_else(|| {
                ApiError::not_found(format!("tweet {t} (reply_to) does not exist"))
            })?),
            None => None,
        };
        let quote_of = match p.quote_of {
            Some(t) => Some(state.tweets.original_of(t).ok_or_else(|| {
                ApiError::not_found(format!("tweet {t} (quote_of) does not exist"))
            })?),
            None => None,
        };
        id = state.tweets.next_id();
        Ok(Some(Op::CreateTweet {
            id,
            author: user,
            text,
            created_at: now,
            hashtags,
            mentions,
            media,
            reply_to,
            quote_of,
            client_key: p.client_key.clone(),
        }))
    })?;
    let id = existing.unwrap_or(id);
    let rec = app
        .state
        .tweets
        .get(id)
        .ok_or_else(|| ApiError::not_found("the tweet was deleted"))?;
    let tweet = views::tweet(app, &rec, Some(user));
    Ok(Reply::Tweet(reply::TweetData { tweet }))
}

pub fn delete(app: &App, viewer: Viewer, tweet_id: u64) -> Result<Reply, ApiError> {
    let user = viewer.user()?;
    app.commit(|state| {
        let tweet = state
            .tweets
            .get(tweet_id)
            .ok_or_else(|| ApiError::not_found(format!("tweet {tweet_id} does not exist")))?;
        if tweet.author != user {
            return Err(ApiError::forbidden("only the author may delete a tweet"));
        }
        Ok(Some(Op::DeleteTweet { id: tweet_id }))
    })?;
    Ok(Reply::Empty(reply::Empty {}))
}

/// A tweet, its parent (`null` when there is none or it was deleted; `reply_to` keeps the
/// id) and its newest replies.
pub fn thread(app: &App, viewer: Viewer, tweet_id: u64) -> Result<Reply, ApiError> {
    let rec = app
        .state
        .tweets
        .get(tweet_id)
        .ok_or_else(|| ApiError::not_found(format!("tweet {tweet_id} does not exist")))?;
    let parent = rec
        .reply_to
        .and_then(|p| app.state.tweets.get(p))
        .map(|p| views::tweet(app, &p, viewer.user_id));
    let reply_ids = app
        .state
        .tweets
        .reply_page(tweet_id, None, limits::PAGE_MAX);
    Ok(Reply::Thread(reply::Thread {
        tweet: views::tweet(app, &rec, viewer.user_id),
        parent,
        replies: views::tweets(app, &reply_ids, viewer.user_id),
    }))
}

/// The error for a tweet id that names nothing.
pub fn no_tweet(id: u64) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("tweet {id} does not exist"))
}
