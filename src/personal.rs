//! Personal data at rest (DESIGN.md section 6): ID numbers and phone numbers are sealed
//! with AES-256-GCM under a named key so keys can rotate, and indexed with an HMAC blind
//! index for exact-match search and duplicate detection.

use std::fmt;
use std::sync::Arc;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::person::Mobile;

/// Length of a data key in bytes (AES-256).
const KEY_BYTES: usize = 32;
/// Length of the random GCM nonce in bytes (96 bits).
const NONCE_BYTES: usize = 12;
/// Length of the GCM authentication tag in bytes.
const TAG_BYTES: usize = 16;
/// Length of a key id in hex characters.
const KEY_ID_CHARS: usize = 8;
/// Format version written at the start of every sealed value.
const VERSION: &str = "v1";
/// Label from which the blind-index key is derived.
const INDEX_LABEL: &[u8] = b"truckpass blind index v1";

type HmacSha256 = Hmac<Sha256>;

/// Encrypts and indexes personal data. Cheap to clone (keys in an Arc).
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

/// A mobile number as a table stores it (see [`Vault::seal_mobile`]); `Debug` shows
/// the sealed and masked forms only; the default is no number (empty text,
/// as tables store it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealedMobile {
    /// Sealed with the vault.
    pub sealed: String,
    /// Blind index, for exact matches.
    pub index: String,
    /// `138****5678`.
    pub masked: String,
}

/// The key material shared by clones of a [`Vault`].
struct Inner {
    /// Id of the key new values are sealed with.
    current_id: String,
    /// Every usable key by id, the current one first.
    keys: Vec<(String, Aes256Gcm)>,
    /// HMAC keyed with the blind-index key, cloned for every index computed.
    index_mac: HmacSha256,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vault(***)")
    }
}

impl Vault {
    /// From the data key of the settings; key id is the first 8 hex chars of
    /// SHA-256(key) so a rotated key gets a new id. `previous` holds older keys still
    /// needed to decrypt, newest first, so its last entry is the oldest key.
    ///
    /// Every key must be 32 bytes ([`VaultError::BadKey`] otherwise, also when two
    /// different keys happen to share an id).
    pub fn new(current: &[u8], previous: &[Vec<u8>]) -> Result<Self, VaultError> {
        let current_id = key_id(current);
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::with_capacity(previous.len() + 1);
        let mut seen: Vec<(String, &[u8])> = Vec::with_capacity(previous.len() + 1);
        for key in std::iter::once(current).chain(previous.iter().map(Vec::as_slice)) {
            if key.len() != KEY_BYTES {
                return Err(VaultError::BadKey);
            }
            let id = key_id(key);
            if let Some((_, known)) = seen.iter().find(|(known_id, _)| *known_id == id) {
                if *known == key {
                    continue;
                }
                return Err(VaultError::BadKey);
            }
            let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| VaultError::BadKey)?;
            keys.push((id.clone(), cipher));
            seen.push((id, key));
        }
        let oldest = previous.last().map_or(current, Vec::as_slice);
        let mut derive =
            <HmacSha256 as Mac>::new_from_slice(oldest).map_err(|_| VaultError::BadKey)?;
        derive.update(INDEX_LABEL);
        let index_key = derive.finalize().into_bytes();
        let index_mac =
            <HmacSha256 as Mac>::new_from_slice(&index_key).map_err(|_| VaultError::BadKey)?;
        Ok(Self {
            inner: Arc::new(Inner {
                current_id,
                keys,
                index_mac,
            }),
        })
    }

    /// `v1.<key id>.<base64url(nonce || ciphertext+tag)>` with a fresh random 96-bit
    /// nonce; `context` is bound as AAD (e.g. "registrations.phone") so a value cannot
    /// be moved to another column.
    pub fn seal(&self, context: &str, plaintext: &str) -> Result<String, VaultError> {
        let cipher = self
            .cipher(&self.inner.current_id)
            .ok_or(VaultError::Encrypt)?;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                Nonce::<Aes256Gcm>::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Encrypt)?;
        let mut payload = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&ciphertext);
        Ok(format!(
            "{VERSION}.{}.{}",
            self.inner.current_id,
            BASE64URL_NOPAD.encode(&payload)
        ))
    }

    /// Reverses seal with the key named in the value (current or previous); any
    /// tampering, wrong context or unknown key id is an error.
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, VaultError> {
        let (id, encoded) = parse(sealed)?;
        let cipher = self.cipher(id).ok_or(VaultError::UnknownKey)?;
        let payload = BASE64URL_NOPAD
            .decode(encoded.as_bytes())
            .map_err(|_| VaultError::Malformed)?;
        if payload.len() < NONCE_BYTES + TAG_BYTES {
            return Err(VaultError::Malformed);
        }
        let (nonce, ciphertext) = payload.split_at(NONCE_BYTES);
        let plaintext = cipher
            .decrypt(
                Nonce::<Aes256Gcm>::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Tampered)?;
        String::from_utf8(plaintext).map_err(|_| VaultError::Tampered)
    }

    /// Deterministic HMAC-SHA256 (hex) of the normalised value, namespaced by
    /// `context`, for exact-match search and duplicates. The caller normalises
    /// (e.g. upper-case ID numbers, digits-only phones); nothing is changed here.
    ///
    /// The index key is derived as HMAC(key, "truckpass blind index v1") from the
    /// OLDEST key passed to [`Vault::new`] (the last of `previous`, else `current`),
    /// so rotating the data key does not break lookups as long as the original key
    /// stays at the end of `previous`.
    pub fn blind_index(&self, context: &str, normalised: &str) -> String {
        let mut mac = self.inner.index_mac.clone();
        // Length-prefixed so ("a", "bc") and ("ab", "c") never collide.
        mac.update(&(context.len() as u64).to_be_bytes());
        mac.update(context.as_bytes());
        mac.update(normalised.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// True when `sealed` was written with an older key (for re-encryption jobs):
    /// its key id is one of the previous keys. False for the current key, for
    /// unknown key ids and for values that are not sealed at all.
    pub fn needs_rotation(&self, sealed: &str) -> bool {
        parse(sealed).is_ok_and(|(id, _)| id != self.inner.current_id && self.cipher(id).is_some())
    }

    /// A mobile number as stored: sealed under `context`, its blind index (under the
    /// same context) and its masked form.
    pub fn seal_mobile(&self, context: &str, mobile: &Mobile) -> Result<SealedMobile, VaultError> {
        Ok(SealedMobile {
            sealed: self.seal(context, mobile.as_str())?,
            index: self.blind_index(context, mobile.as_str()),
            masked: mobile.masked(),
        })
    }

    /// The cipher of a key id, when the vault holds that key.
    fn cipher(&self, id: &str) -> Option<&Aes256Gcm> {
        self.inner
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, cipher)| cipher)
    }
}

/// The id of a key: the first 8 hex characters of its SHA-256.
fn key_id(key: &[u8]) -> String {
    let digest = Sha256::digest(key);
    let mut id = hex::encode(&digest[..KEY_ID_CHARS / 2]);
    id.truncate(KEY_ID_CHARS);
    id
}

/// Splits a sealed value into its key id and base64url payload.
fn parse(sealed: &str) -> Result<(&str, &str), VaultError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(version), Some(id), Some(encoded)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(VaultError::Malformed);
    };
    let id_ok = id.len() == KEY_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if version != VERSION || !id_ok || encoded.is_empty() {
        return Err(VaultError::Malformed);
    }
    Ok((id, encoded))
}

/// Why a key could not be used or a value could not be sealed or opened. Messages
/// never include plaintext or keys.
#[derive(Debug, PartialEq, Eq)]
pub enum VaultError {
    /// A key is not 32 bytes, or two different keys share an id.
    BadKey,
    /// The value is not in the `v1.<key id>.<base64url>` format.
    Malformed,
    /// The value names a key this vault does not hold.
    UnknownKey,
    /// Authentication failed: the value was altered or belongs to another context.
    Tampered,
    /// Encryption failed.
    Encrypt,
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadKey => "data keys must be 32 bytes with distinct key ids",
            Self::Malformed => "sealed value is malformed",
            Self::UnknownKey => "sealed value names an unknown data key",
            Self::Tampered => "sealed value failed authentication",
            Self::Encrypt => "encryption failed",
        })
    }
}

impl std::error::Error for VaultError {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PHONE: &str = "registrations.phone";
    const ID_NUMBER: &str = "registrations.id_number";

    fn key(byte: u8) -> Vec<u8> {
        vec![byte; KEY_BYTES]
    }

    fn vault() -> Vault {
        Vault::new(&key(1), &[]).unwrap()
    }

    #[test]
    fn round_trips_chinese_and_empty_text() {
        let vault = vault();
        for text in ["张三 鲁H12345 13812345678", "", "370802199001011234"] {
            let sealed = vault.seal(PHONE, text).unwrap();
            assert!(sealed.starts_with("v1."));
            assert_eq!(vault.open(PHONE, &sealed).unwrap(), text);
        }
    }

    #[test]
    fn format_is_version_key_id_and_payload() {
        let vault = vault();
        let sealed = vault.seal(PHONE, "13812345678").unwrap();
        let parts: Vec<&str> = sealed.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "v1");
        assert_eq!(parts[1], &hex::encode(Sha256::digest(key(1)))[..8]);
        let payload = BASE64URL_NOPAD.decode(parts[2].as_bytes()).unwrap();
        assert_eq!(payload.len(), NONCE_BYTES + "13812345678".len() + TAG_BYTES);
    }

    #[test]
    fn seals_differ_but_blind_index_is_stable() {
        let vault = vault();
        let first = vault.seal(PHONE, "13812345678").unwrap();
        let second = vault.seal(PHONE, "13812345678").unwrap();
        assert_ne!(first, second);
        assert_eq!(
            vault.blind_index(PHONE, "13812345678"),
            vault.blind_index(PHONE, "13812345678")
        );
        let index = vault.blind_index(PHONE, "13812345678");
        assert_eq!(index.len(), 64);
        assert!(index.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(index, vault.blind_index(PHONE, "13812345679"));
    }

    #[test]
    fn sealed_value_never_contains_plaintext() {
        let vault = vault();
        for text in ["13812345678", "370802199001011234", "abc", "张三"] {
            let sealed = vault.seal(PHONE, text).unwrap();
            assert!(!sealed.contains(text), "{sealed} contains {text}");
            let index = vault.blind_index(PHONE, text);
            assert!(!index.contains(text));
        }
    }

    #[test]
    fn tampering_any_payload_character_is_detected() {
        let vault = vault();
        let sealed = vault.seal(PHONE, "13812345678").unwrap();
        let start = sealed.rfind('.').unwrap() + 1;
        for position in start..sealed.len() {
            let mut bytes = sealed.clone().into_bytes();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            let error = vault.open(PHONE, &tampered).unwrap_err();
            assert!(
                matches!(error, VaultError::Tampered | VaultError::Malformed),
                "position {position}: {error:?}"
            );
        }
        // Truncated and extended payloads fail too.
        assert!(vault.open(PHONE, &sealed[..sealed.len() - 1]).is_err());
        assert!(vault.open(PHONE, &format!("{sealed}AA")).is_err());
    }

    #[test]
    fn malformed_values_are_rejected() {
        let vault = vault();
        let sealed = vault.seal(PHONE, "13812345678").unwrap();
        let payload = &sealed[sealed.rfind('.').unwrap() + 1..];
        let id = &sealed[3..11];
        for bad in [
            String::new(),
            "13812345678".to_owned(),
            format!("v2.{id}.{payload}"),
            format!("v1.{}.{payload}", id.to_uppercase()),
            format!("v1.{id}"),
            format!("v1.{id}."),
            format!("v1.{id}.!!!!"),
            format!("v1.{id}.AAAA"),
        ] {
            assert_eq!(vault.open(PHONE, &bad), Err(VaultError::Malformed), "{bad}");
            assert!(!vault.needs_rotation(&bad));
        }
    }

    #[test]
    fn wrong_context_is_tampered() {
        let vault = vault();
        let sealed = vault.seal(PHONE, "13812345678").unwrap();
        assert_eq!(vault.open(ID_NUMBER, &sealed), Err(VaultError::Tampered));
        assert_eq!(vault.open("", &sealed), Err(VaultError::Tampered));
    }

    #[test]
    fn old_values_open_after_rotation() {
        let old = Vault::new(&key(1), &[]).unwrap();
        let sealed_old = old.seal(PHONE, "13812345678").unwrap();
        assert!(!old.needs_rotation(&sealed_old));

        let rotated = Vault::new(&key(2), &[key(1)]).unwrap();
        assert_eq!(rotated.open(PHONE, &sealed_old).unwrap(), "13812345678");
        assert!(rotated.needs_rotation(&sealed_old));

        let sealed_new = rotated.seal(PHONE, "13812345678").unwrap();
        assert!(!rotated.needs_rotation(&sealed_new));
        assert_ne!(sealed_old[3..11], sealed_new[3..11]);
        assert_eq!(rotated.open(PHONE, &sealed_new).unwrap(), "13812345678");
        // The old vault does not know the new key.
        assert_eq!(old.open(PHONE, &sealed_new), Err(VaultError::UnknownKey));
        // Lookups survive rotation: the index key comes from the oldest key.
        assert_eq!(
            old.blind_index(PHONE, "13812345678"),
            rotated.blind_index(PHONE, "13812345678")
        );
        let twice = Vault::new(&key(3), &[key(2), key(1)]).unwrap();
        assert_eq!(
            old.blind_index(PHONE, "13812345678"),
            twice.blind_index(PHONE, "13812345678")
        );
        assert_eq!(twice.open(PHONE, &sealed_old).unwrap(), "13812345678");
        assert!(twice.needs_rotation(&sealed_new));
    }

    #[test]
    fn unknown_key_id_is_reported() {
        let vault = vault();
        let other = Vault::new(&key(9), &[]).unwrap();
        let sealed = other.seal(PHONE, "13812345678").unwrap();
        assert_eq!(vault.open(PHONE, &sealed), Err(VaultError::UnknownKey));
        assert!(!vault.needs_rotation(&sealed));
        let mine = vault.seal(PHONE, "13812345678").unwrap();
        let renamed = format!("v1.00000000{}", &mine[11..]);
        assert_eq!(vault.open(PHONE, &renamed), Err(VaultError::UnknownKey));
    }

    #[test]
    fn blind_index_depends_on_context_and_oldest_key() {
        let vault = vault();
        assert_ne!(
            vault.blind_index(PHONE, "13812345678"),
            vault.blind_index(ID_NUMBER, "13812345678")
        );
        // Context and value are not simply concatenated.
        assert_ne!(vault.blind_index("ab", "c"), vault.blind_index("a", "bc"));
        let other = Vault::new(&key(2), &[]).unwrap();
        assert_ne!(
            vault.blind_index(PHONE, "13812345678"),
            other.blind_index(PHONE, "13812345678")
        );
        let other_oldest = Vault::new(&key(1), &[key(3)]).unwrap();
        assert_ne!(
            vault.blind_index(PHONE, "13812345678"),
            other_oldest.blind_index(PHONE, "13812345678")
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        assert_eq!(Vault::new(&[0u8; 16], &[]).unwrap_err(), VaultError::BadKey);
        assert_eq!(Vault::new(&[], &[]).unwrap_err(), VaultError::BadKey);
        assert_eq!(
            Vault::new(&key(1), &[vec![0u8; 33]]).unwrap_err(),
            VaultError::BadKey
        );
        // Repeating a key is harmless.
        assert!(Vault::new(&key(1), &[key(1)]).is_ok());
    }

    #[test]
    fn debug_and_errors_reveal_nothing() {
        let vault = vault();
        assert_eq!(format!("{vault:?}"), "Vault(***)");
        assert_eq!(format!("{:?}", vault.clone()), "Vault(***)");
        let sealed = vault.seal(PHONE, "13812345678").unwrap();
        let error = vault.open(ID_NUMBER, &sealed).unwrap_err();
        assert!(!error.to_string().contains("138"));
        let error: Box<dyn std::error::Error> = Box::new(VaultError::BadKey);
        assert!(!error.to_string().is_empty());
    }

    #[test]
    fn clones_share_keys() {
        let vault = vault();
        let clone = vault.clone();
        let sealed = vault.seal(PHONE, "13812345678").unwrap();
        assert_eq!(clone.open(PHONE, &sealed).unwrap(), "13812345678");
        assert_eq!(vault.blind_index(PHONE, "x"), clone.blind_index(PHONE, "x"));
    }

    proptest! {
        #[test]
        fn seal_open_round_trips(text in any::<String>(), context in "[a-z_.]{0,24}") {
            let vault = Vault::new(&key(7), &[key(5)]).unwrap();
            let sealed = vault.seal(&context, &text).unwrap();
            prop_assert_eq!(vault.open(&context, &sealed).unwrap(), text);
            prop_assert!(!vault.needs_rotation(&sealed));
        }
    }
}
