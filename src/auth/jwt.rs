//! HS256 access tokens. Only HS256 is accepted, so `alg: none` and algorithm confusion are
//! refused; `exp` is required and checked without leeway.

use crate::error::Fault;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The issuer written into and required of every token.
pub const ISSUER: &str = "starling";

/// The claims of an access token. `sub` is the user id as a decimal string (RFC 7519 makes
/// `sub` a string); guests have no `sub` and `scope: "read"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub iat: u64,
    /// Seconds since the epoch.
    pub exp: u64,
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A random id, so two tokens issued in the same second differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// `None` for a read-only guest.
    pub user_id: Option<u64>,
    /// When the token expires, in milliseconds since the epoch.
    pub expires_at: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl Keys {
    pub fn new(secret: &[u8], ttl_secs: u64) -> Result<Keys, Fault> {
        let key_err = |e: jsonwebtoken::errors::Error| Fault(format!("invalid JWT secret: {e}"));
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        Ok(Keys {
            encoding: EncodingKey::from_secret(secret).map_err(key_err)?,
            decoding: DecodingKey::from_secret(secret).map_err(key_err)?,
            validation,
            ttl_secs,
        })
    }

    /// A user's access token and its expiry in milliseconds.
    pub fn issue_user(&self, user_id: u64, username: &str) -> (String, u64) {
        self.issue(Some(user_id.to_string()), Some(username.to_owned()), None)
    }

    /// A read-only guest token and its expiry in milliseconds.
    pub fn issue_guest(&self) -> (String, u64) {
        self.issue(None, None, Some("read".to_owned()))
    }

    fn issue(
        &self,
        sub: Option<String>,
        name: Option<String>,
        scope: Option<String>,
    ) -> (String, u64) {
        let iat = super::now_ms() / 1000;
        let claims = Claims {
            sub,
            name,
            iat,
            exp: iat + self.ttl_secs,
            iss: ISSUER.to_owned(),
            scope,
            jti: Some(format!(
                "{:016x}",
                u64::from_be_bytes(super::random_bytes::<8>())
            )),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with a valid key cannot fail");
        (token, claims.exp * 1000)
    }

    /// Verifies a token's signature, algorithm, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        let user_id = match (&claims.sub, claims.scope.as_deref()) {
            (Some(sub), _) => Some(sub.parse::<u64>().map_err(|_| TokenError::Invalid)?),
            (None, Some("read")) => None,
            (None, _) => return Err(TokenError::Invalid),
        };
        Ok(Identity {
            user_id,
            expires_at: claims.exp.saturating_mul(1000),
        })
    }
}
