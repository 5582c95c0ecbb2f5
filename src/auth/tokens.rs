//! Access tokens (short-lived HS256 JWTs) and opaque tokens (refresh and device
//! tokens, stored hashed).

use std::time::Duration;

use chrono::Utc;
use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::id::UserId;
use crate::error::{ApiError, ErrorCode};

const ISSUER: &str = "truckpass";
const AUDIENCE: &str = "truckpass-api";
const ACCESS_TYPE: &str = "access";

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Token type: always `access`.
    pub typ: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// The user's token version when issued; a bump ends every session.
    pub ver: i64,
}

/// Why an access token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRejection {
    /// Past its expiry: the client should refresh.
    Expired,
    /// Forged, tampered, wrong type, wrong key or malformed.
    Invalid,
}

impl TokenRejection {
    /// The 401 to answer.
    pub fn into_error(self) -> ApiError {
        match self {
            TokenRejection::Expired => {
                ApiError::new(ErrorCode::TokenExpired, "登录已过期，请刷新或重新登录")
            }
            TokenRejection::Invalid => {
                ApiError::new(ErrorCode::InvalidToken, "登录凭证无效，请重新登录")
            }
        }
    }
}

/// Signs and checks access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    /// Keys from the secret; tokens live `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// Lifetime of access tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues an access token for a user at a token version.
    pub fn issue(&self, user_id: &UserId, token_version: i64) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.into(),
            typ: ACCESS_TYPE.into(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            ver: token_version,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Checks signature, algorithm, issuer, audience, expiry and type.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenRejection> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenRejection::Expired,
                _ => TokenRejection::Invalid,
            })?;
        if data.claims.typ != ACCESS_TYPE {
            return Err(TokenRejection::Invalid);
        }
        Ok(data.claims)
    }
}

/// A new opaque token (refresh tokens, device tokens): 256 random bits, and the hash
/// to store.
pub fn new_opaque_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = BASE64URL_NOPAD.encode(&bytes);
    let hash = hash_opaque_token(&token);
    (token, hash)
}

/// The stored form of an opaque token.
pub fn hash_opaque_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(900),
        )
    }

    fn sign(claims: &AccessClaims, secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap_or_default()
    }

    fn claims() -> AccessClaims {
        let now = Utc::now().timestamp();
        AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "u1".into(),
            typ: ACCESS_TYPE.into(),
            iat: now,
            exp: now + 60,
            ver: 0,
        }
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_version() -> Result<(), ApiError> {
        let token = keys().issue(&UserId::from("u1".to_owned()), 7)?;
        let claims = keys().verify(&token).map_err(|e| e.into_error())?;
        assert_eq!((claims.sub.as_str(), claims.ver), ("u1", 7));
        assert!(claims.exp - claims.iat <= 900);
        Ok(())
    }

    #[test]
    fn foreign_expired_and_mistyped_tokens_are_refused() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let expired = AccessClaims {
            exp: Utc::now().timestamp() - 5,
            ..claims()
        };
        assert_eq!(
            keys().verify(&sign(&expired, secret)).err(),
            Some(TokenRejection::Expired)
        );
        let wrong_key = sign(&claims(), b"another key another key another k");
        assert_eq!(
            keys().verify(&wrong_key).err(),
            Some(TokenRejection::Invalid)
        );
        let refresh_typed = AccessClaims {
            typ: "refresh".into(),
            ..claims()
        };
        assert_eq!(
            keys().verify(&sign(&refresh_typed, secret)).err(),
            Some(TokenRejection::Invalid)
        );
        let other_audience = AccessClaims {
            aud: "other".into(),
            ..claims()
        };
        assert_eq!(
            keys().verify(&sign(&other_audience, secret)).err(),
            Some(TokenRejection::Invalid)
        );
        let other_issuer = AccessClaims {
            iss: "other".into(),
            ..claims()
        };
        assert_eq!(
            keys().verify(&sign(&other_issuer, secret)).err(),
            Some(TokenRejection::Invalid)
        );
    }

    #[test]
    fn opaque_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_opaque_token();
        let (b, _) = new_opaque_token();
        assert_ne!(a, b);
        assert_eq!(hash_opaque_token(&a), hash_a);
        assert!(!hash_a.contains(&a));
    }
}
