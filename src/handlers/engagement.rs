//! `like`, `unlike`, `retweet`, `unretweet`: idempotent, and aimed at the original when
//! given a retweet's id.

use super::tweets::no_tweet;
use super::Viewer;
use crate::app::App;
use crate::auth::now_ms;
use crate::error::ApiError;
use crate::store::Op;
use starling_protocol::{reply, Reply};

pub fn like(app: &App, viewer: Viewer, tweet_id: u64, on: bool) -> Result<Reply, ApiError> {
    let user = viewer.user()?;
    let mut original = 0;
    app.commit(|state| {
        original = state
            .tweets
            .original_of(tweet_id)
            .ok_or_else(|| no_tweet(tweet_id))?;
        let likes = state.likes.likes(user, original);
        Ok(match (on, likes) {
            (true, false) => Some(Op::Like {
                user,
                tweet_id: original,
                like_id: state.likes.next_id(),
                at: now_ms(),
            }),
            (false, true) => Some(Op::Unlike {
                user,
                tweet_id: original,
            }),
            _ => None,
        })
    })?;
    let likes = app.state.tweets.get(original).map(|t| t.likes).unwrap_or(0);
    Ok(Reply::Likes(reply::Likes {
        tweet_id: original,
        likes,
    }))
}

pub fn retweet(app: &App, viewer: Viewer, tweet_id: u64, on: bool) -> Result<Reply, ApiError> {
    let user = viewer.user()?;
    let mut original = 0;
    app.commit(|state| {
        original = state
            .tweets
            .original_of(tweet_id)
            .ok_or_else(|| no_tweet(tweet_id))?;
        let mine = state.tweets.retweet_by(user, original);
        Ok(match (on, mine) {
            (true, None) => Some(Op::Retweet {
                id: state.tweets.next_id(),
                user,
                tweet_id: original,
                created_at: now_ms(),
            }),
            (false, Some(retweet)) => Some(Op::DeleteTweet { id: retweet }),
            _ => None,
        })
    })?;
    let retweets = app
        .state
        .tweets
        .get(original)
        .map(|t| t.retweets)
        .unwrap_or(0);
    Ok(Reply::Retweets(reply::Retweets {
        tweet_id: original,
        retweets,
    }))
}
