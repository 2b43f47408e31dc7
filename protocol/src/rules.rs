//! The content rules of the contract, shared by the server (which enforces them) and clients
//! (which may check before sending).

use crate::codes::ErrorCode;
use crate::limits::*;
use unicode_segmentation::UnicodeSegmentation;

/// A value that breaks a rule, with the error code and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: ErrorCode,
    pub message: String,
}

fn violation(code: ErrorCode, message: impl Into<String>) -> Violation {
    Violation {
        code,
        message: message.into(),
    }
}

/// Trims tweet text and checks its length in extended grapheme clusters.
pub fn tweet_text(text: &str) -> Result<&str, Violation> {
    let text = text.trim();
    if text.is_empty() {
        return Err(violation(ErrorCode::EmptyText, "the tweet text is empty"));
    }
    // Counting stops one past the limit, so a huge text costs no more than a legal one.
    let count = text.graphemes(true).take(TEXT_GRAPHEMES + 1).count();
    if count > TEXT_GRAPHEMES {
        return Err(violation(
            ErrorCode::TextTooLong,
            format!("the tweet text is longer than {TEXT_GRAPHEMES} characters"),
        ));
    }
    Ok(text)
}

/// Checks a username: 3 to 15 of `[A-Za-z0-9_]`.
pub fn username(name: &str) -> Result<(), Violation> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok_chars || !(USERNAME_MIN..=USERNAME_MAX).contains(&name.len()) {
        return Err(violation(
            ErrorCode::InvalidUsername,
            format!(
                "a username is {USERNAME_MIN} to {USERNAME_MAX} letters, digits or underscores"
            ),
        ));
    }
    Ok(())
}

/// The key under which usernames are unique: lower-cased ASCII.
pub fn username_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Checks an email address: one `@`, a non-empty local part without spaces, a domain of
/// dot-separated labels of letters, digits and hyphens with at least one dot.
pub fn email(address: &str) -> Result<(), Violation> {
    let bad = || violation(ErrorCode::InvalidEmail, "that is not a valid email address");
    if address.len() > EMAIL_MAX || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = address.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err(bad());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad());
    }
    Ok(())
}

/// The key under which emails are unique: the whole address lower-cased.
pub fn email_key(address: &str) -> String {
    address.to_lowercase()
}

/// Checks a password's length in characters.
pub fn password(password: &str) -> Result<(), Violation> {
    let n = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(violation(
            ErrorCode::WeakPassword,
            format!("a password is {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
        ));
    }
    Ok(())
}

/// Checks a bio: at most [`BIO_CHARS`] characters, no control characters but newlines.
pub fn bio(bio: &str) -> Result<(), Violation> {
    if bio.chars().count() > BIO_CHARS || bio.chars().any(|c| c.is_control() && c != '\n') {
        return Err(violation(
            ErrorCode::BadRequest,
            format!("a bio is at most {BIO_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Checks a display name: at most [`DISPLAY_NAME_CHARS`] characters, no control characters.
pub fn display_name(name: &str) -> Result<(), Violation> {
    if name.chars().count() > DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(violation(
            ErrorCode::BadRequest,
            format!("a display name is at most {DISPLAY_NAME_CHARS} characters"),
        ));
    }
    Ok(())
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Words that follow `marker` and are not glued to a preceding word character.
fn marked_words(text: &str, marker: char, word: fn(char) -> bool) -> Vec<&str> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == marker && !prev.is_some_and(is_tag_char) {
            let start = i + c.len_utf8();
            let mut end = start;
            while let Some(&(j, d)) = iter.peek() {
                if !word(d) {
                    break;
                }
                end = j + d.len_utf8();
                iter.next();
            }
            if end > start {
                out.push(&text[start..end]);
            }
            prev = text[..end].chars().next_back();
            continue;
        }
        prev = Some(c);
    }
    out
}

/// Checks and normalises one hashtag (with or without its `#`): lower-cased, letters, digits
/// or `_`, not all digits, at most [`HASHTAG_CHARS`] characters.
pub fn hashtag(tag: &str) -> Option<String> {
    let tag = tag.strip_prefix('#').unwrap_or(tag);
    let n = tag.chars().count();
    if n == 0 || n > HASHTAG_CHARS || !tag.chars().all(is_tag_char) {
        return None;
    }
    if tag.chars().all(|c| c.is_numeric()) {
        return None;
    }
    Some(tag.to_lowercase())
}

/// The hashtags of a text, normalised, each once, in order of first appearance.
pub fn hashtags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for word in marked_words(text, '#', is_tag_char) {
        if let Some(tag) = hashtag(word) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    tags
}

/// The `@username` candidates of a text, each once (compared case-insensitively), in order.
/// The server keeps those that name existing users.
pub fn mentions(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for word in marked_words(text, '@', |c| c.is_ascii_alphanumeric() || c == '_') {
        if username(word).is_ok() && !names.iter().any(|n| n.eq_ignore_ascii_case(word)) {
            names.push(word);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_counted_in_graphemes() {
        assert_eq!(tweet_text("  hi \n").unwrap(), "hi");
        assert_eq!(tweet_text(" \t ").unwrap_err().code, ErrorCode::EmptyText);
        let family = "👨‍👩‍👧‍👦";
        assert!(tweet_text(&family.repeat(250)).is_ok());
        assert_eq!(
            tweet_text(&family.repeat(251)).unwrap_err().code,
            ErrorCode::TextTooLong
        );
        assert!(tweet_text(&"e\u{301}".repeat(250)).is_ok());
        assert!(tweet_text(&"a".repeat(251)).is_err());
    }

    #[test]
    fn usernames() {
        assert!(username("bob").is_ok());
        assert!(username("Alice_1234567890").is_err());
        assert!(username("Alice_123456789").is_ok());
        assert!(username("ab").is_err());
        assert!(username("bób").is_err());
        assert!(username("a b").is_err());
        assert_eq!(username_key("BoB"), "bob");
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@example.org", "x@sub.dömain.de"] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a@b..co", "a b@c.de", "a@-b.co", "a@b.co ",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
        assert!(password(&"x".repeat(128)).is_ok());
        assert!(password(&"x".repeat(129)).is_err());
        assert!(password("éééééééé").is_ok());
    }

    #[test]
    fn hashtags_are_unicode_case_insensitive_and_not_all_digits() {
        assert_eq!(
            hashtags("Love #Rust and #rust, #2024 #día_1 a#b #日本語 ##x"),
            vec!["rust", "día_1", "日本語", "x"]
        );
        assert_eq!(hashtags("#a1 #1a #_"), vec!["a1", "1a", "_"]);
        assert!(hashtags(&format!("#{}", "a".repeat(101))).is_empty());
        assert_eq!(hashtag("#Rust").as_deref(), Some("rust"));
        assert_eq!(hashtag("rust").as_deref(), Some("rust"));
        assert_eq!(hashtag("12"), None);
        assert_eq!(hashtag("a-b"), None);
    }

    #[test]
    fn mentions_are_candidates_once() {
        assert_eq!(
            mentions("hi @Bob and @bob, mail a@b.c, @al @toolongname_123456"),
            vec!["Bob"]
        );
        assert_eq!(mentions("@alice: @carol!"), vec!["alice", "carol"]);
    }
}
