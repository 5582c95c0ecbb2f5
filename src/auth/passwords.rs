//! Password hashing with argon2id at the crate defaults (m=19456 KiB, t=2, p=1).

use std::sync::LazyLock;

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::Rng;

use crate::domain::account::NewPassword;
use crate::error::ApiError;

/// Hashes a password that passed the policy. CPU-heavy: call on the blocking pool.
pub fn hash(password: &NewPassword) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
}

/// Checks `password` against a stored hash; an unknown user is checked against a
/// dummy hash so that both cases take the same time. CPU-heavy: call on the blocking pool.
pub fn verify(stored: Option<&str>, password: &str) -> bool {
    let dummy = DUMMY_HASH.as_str();
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(dummy)) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && stored.is_some()
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(random_password().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// A random password for generated accounts: 20 characters from an alphabet without
/// look-alikes, in groups of five for reading aloud.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    chars
        .chunks(5)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_at_least_default_cost_and_verify() -> Result<(), ApiError> {
        let password = NewPassword::parse("p", &random_password(), &[])
            .map_err(|e| ApiError::field(e.field, e.code, e.message))?;
        let hashed = hash(&password)?;
        assert!(
            hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hashed}"
        );
        assert!(verify(Some(&hashed), password.expose()));
        assert!(!verify(Some(&hashed), "wrong password"));
        assert!(!verify(None, password.expose()));
        Ok(())
    }

    #[test]
    fn random_passwords_pass_the_policy() {
        for _ in 0..20 {
            assert!(NewPassword::parse("p", &random_password(), &[]).is_ok());
        }
    }
}
