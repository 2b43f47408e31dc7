//! The edge where state becomes protocol objects. Per-viewer fields are filled only when a
//! viewer is given; pushed events, encoded once for everyone, pass `None`.

use crate::app::App;
use crate::state::{NotificationRec, TweetRec};
use starling_protocol::{Notification, Tweet, UserRef};

fn user_ref(app: &App, id: u64) -> UserRef {
    app.state.users.user_ref(id).unwrap_or_else(|| UserRef {
        id,
        username: String::new(),
        display_name: String::new(),
    })
}

/// A tweet as a viewer sees it (`viewer: None` leaves out the per-viewer fields).
pub fn tweet(app: &App, rec: &TweetRec, viewer: Option<u64>) -> Tweet {
    let retweet_of = rec
        .retweet_of
        .and_then(|id| app.state.tweets.get(id))
        .map(|original| Box::new(tweet(app, &original, viewer)));
    let mentions = rec
        .mentions
        .iter()
        .filter_map(|&id| app.state.users.user_ref(id).map(|u| u.username))
        .collect();
    Tweet {
        id: rec.id,
        author: user_ref(app, rec.author),
        text: rec.text.clone(),
        created_at: rec.created_at,
        hashtags: rec.hashtags.clone(),
        mentions,
        media: crate::media::views(app, &rec.media),
        reply_to: rec.reply_to,
        quote_of: rec.quote_of,
        retweet_of,
        likes: rec.likes,
        retweets: rec.retweets,
        replies: rec.replies,
        liked_by_me: viewer.map(|v| app.state.likes.likes(v, rec.id)),
        retweeted_by_me: viewer.map(|v| app.state.tweets.retweet_by(v, rec.id).is_some()),
    }
}

/// The tweets of `ids` that still exist, in order.
pub fn tweets(app: &App, ids: &[u64], viewer: Option<u64>) -> Vec<Tweet> {
    ids.iter()
        .filter_map(|&id| app.state.tweets.get(id))
        .map(|rec| tweet(app, &rec, viewer))
        .collect()
}

pub fn notification(app: &App, rec: &NotificationRec) -> Notification {
    Notification {
        id: rec.id,
        kind: rec.kind,
        by: user_ref(app, rec.by),
        tweet_id: rec.tweet_id,
        created_at: rec.created_at,
    }
}
