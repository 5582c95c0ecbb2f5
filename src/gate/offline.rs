//! Passes that verify offline (离线核验). A gate that loses its network keeps letting
//! approved passes through, the way pretix's scanner does, but safely:
//!
//! - The QR code of an approved pass carries, after the pass page's address, a
//!   payload signed with the zone's Ed25519 key: `<address>#v1.<payload>.<signature>`.
//!   A phone camera still opens the address (the fragment never reaches a server);
//!   the gate page reads the payload ([`OfflinePass`]: enterprise, validity window,
//!   masked plate and name, vehicle type) and checks the signature, over
//!   `<token>.<payload>`, with the zone's public key.
//! - Each enterprise's gates keep a signed revocation list ([`RevocationList`]): the
//!   passes of the enterprise still within their validity that were cancelled,
//!   rejected, suspended or are held by the blacklist, each named by a hash of its token, so
//!   that the list gives no pass away. The gate page refreshes it every minute while
//!   online.
//! - What the gate decided offline is uploaded later through the ordinary redeem
//!   with `offline` set ([`super::Offline`]).

use chrono::{NaiveDateTime, SecondsFormat};
use data_encoding::BASE64URL_NOPAD;
use diesel::prelude::*;
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;
use sha2::{Digest, Sha512};

use super::Refusal;
use crate::blacklist;
use crate::db::schema::registrations;
use crate::db::{DbConnection, now};
use crate::domain::id::EnterpriseId;
use crate::error::ApiError;
use crate::registrations::{
    Pass, Registration, RegistrationStatus, masked_name, masked_plate, utc,
};

/// The version tag of the signed payload and of the revocation list's signed text.
pub const PAYLOAD_VERSION: &str = "v1";
/// The first line of a revocation list's signed text.
const REVOCATIONS_HEADER: &str = "truckpass-revocations-v1";
/// Hex digits of a token's SHA-512 that name it in a revocation list (128 bits).
const TOKEN_HASH_DIGITS: usize = 32;

/// The zone's signing key.
pub struct PassSigner {
    key: SigningKey,
}

impl std::fmt::Debug for PassSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassSigner(***)")
    }
}

/// What an approved pass's QR code carries for a gate without network: short keys,
/// to keep the code small enough for a cheap phone's screen and an old camera.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfflinePass {
    /// The enterprise visited.
    pub e: EnterpriseId,
    /// Start of validity, Unix seconds.
    pub f: i64,
    /// End of validity, Unix seconds.
    pub u: i64,
    /// Masked plate.
    pub p: String,
    /// Masked driver name.
    pub n: String,
    /// Vehicle type, in Chinese.
    pub v: &'static str,
}

impl OfflinePass {
    /// The payload of `pass`.
    pub fn of(pass: &Pass) -> Self {
        Self {
            e: pass.enterprise_id.clone(),
            f: pass.valid_from.and_utc().timestamp(),
            u: pass.valid_until.and_utc().timestamp(),
            p: masked_plate(&pass.plate),
            n: masked_name(&pass.driver_name),
            v: pass.vehicle_type.label(),
        }
    }
}

impl PassSigner {
    /// The signer of a 32-byte Ed25519 secret key.
    pub fn new(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The zone's public key, as 64 hex digits.
    pub fn public_key(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    fn sign(&self, message: &str) -> String {
        BASE64URL_NOPAD.encode(&self.key.sign(message.as_bytes()).to_bytes())
    }

    /// What the QR code of `pass` encodes: the pass page's `url`, and for a pass
    /// that may be used now or later (approved, not yet over, not suspended) the
    /// signed payload.
    pub fn pass_code(&self, url: &str, pass: &Pass) -> Result<String, ApiError> {
        if pass.status.shown(pass.valid_until, now()) != RegistrationStatus::Approved
            || pass.suspended_at.is_some()
        {
            return Ok(url.to_owned());
        }
        let payload = BASE64URL_NOPAD
            .encode(&serde_json::to_vec(&OfflinePass::of(pass)).map_err(ApiError::internal)?);
        let signature = self.sign(&format!("{}.{payload}", pass.pass_token));
        Ok(format!("{url}#{PAYLOAD_VERSION}.{payload}.{signature}"))
    }

    /// The revocation list of `enterprise`'s gates, now.
    pub fn revocations(
        &self,
        conn: &mut DbConnection,
        enterprise: &EnterpriseId,
    ) -> Result<RevocationList, ApiError> {
        let at = now();
        let live: Vec<Registration> = registrations::table
            .filter(registrations::enterprise_id.eq(enterprise))
            .filter(registrations::valid_until.gt(at))
            .filter(registrations::status.eq_any([
                RegistrationStatus::Approved,
                RegistrationStatus::Cancelled,
                RegistrationStatus::Rejected,
            ]))
            .select(Registration::as_select())
            .load(conn)?;
        let approved: Vec<&Registration> = live
            .iter()
            .filter(|pass| pass.status == RegistrationStatus::Approved)
            .collect();
        let barred = blacklist::reasons_for(conn, &approved)?;
        let mut entries: Vec<Revoked> = live
            .iter()
            .filter_map(|pass| {
                let reason = match pass.status {
                    RegistrationStatus::Cancelled => Refusal::Cancelled,
                    RegistrationStatus::Rejected => Refusal::Rejected,
                    _ if pass.suspended_at.is_some() => Refusal::Suspended,
                    _ if barred.contains_key(&pass.id) => Refusal::Blacklisted,
                    _ => return None,
                };
                Some(Revoked {
                    pass: token_hash(&pass.pass_token),
                    reason,
                })
            })
            .collect();
        entries.sort_by(|a, b| a.pass.cmp(&b.pass));
        let issued_at = issued(at);
        let signature = self.sign(&revocation_text(enterprise, &issued_at, &entries));
        Ok(RevocationList {
            enterprise_id: enterprise.clone(),
            issued_at,
            public_key: self.public_key(),
            entries,
            signature,
        })
    }
}

/// When a list was issued, as its signed text has it: RFC 3339, UTC, to the second.
fn issued(at: NaiveDateTime) -> String {
    utc(at).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How a revocation list names a pass: the first 32 hex digits of the SHA-512 of its
/// token (as stored, upper case).
pub fn token_hash(token: &str) -> String {
    let mut digest = hex::encode(Sha512::digest(token.as_bytes()));
    digest.truncate(TOKEN_HASH_DIGITS);
    digest
}

/// The text a revocation list's signature covers: a header line, the enterprise, the
/// time of issue, then one line per entry (`<hash> <reason>`), each line ending in
/// `\n`.
pub fn revocation_text(enterprise: &EnterpriseId, issued_at: &str, entries: &[Revoked]) -> String {
    let mut text = format!("{REVOCATIONS_HEADER}\n{enterprise}\n{issued_at}\n");
    for entry in entries {
        text.push_str(&entry.pass);
        text.push(' ');
        text.push_str(entry.reason.as_str());
        text.push('\n');
    }
    text
}

/// The passes an enterprise's gates turn back even offline, signed by the zone.
#[derive(Clone, Debug, Serialize)]
pub struct RevocationList {
    /// The enterprise.
    pub enterprise_id: EnterpriseId,
    /// When it was issued (RFC 3339, UTC, to the second).
    pub issued_at: String,
    /// The key that signed it (64 hex digits).
    pub public_key: String,
    /// The passes, by the hash of their token.
    pub entries: Vec<Revoked>,
    /// Ed25519 signature (base64url) of [`revocation_text`].
    pub signature: String,
}

/// A revoked pass.
#[derive(Clone, Debug, Serialize)]
pub struct Revoked {
    /// [`token_hash`] of its token.
    pub pass: String,
    /// Why the gate turns it back.
    pub reason: Refusal,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ed25519_dalek::{Signature, Verifier};

    use super::*;

    #[test]
    fn revocation_text_is_one_line_per_entry() {
        let entries = vec![
            Revoked {
                pass: "ab".repeat(16),
                reason: Refusal::Cancelled,
            },
            Revoked {
                pass: "cd".repeat(16),
                reason: Refusal::Blacklisted,
            },
        ];
        let text = revocation_text(
            &EnterpriseId::from("ent1".to_owned()),
            "2026-12-04T08:00:00Z",
            &entries,
        );
        assert_eq!(
            text,
            format!(
                "truckpass-revocations-v1\nent1\n2026-12-04T08:00:00Z\n{} cancelled\n{} blacklisted\n",
                "ab".repeat(16),
                "cd".repeat(16)
            )
        );
    }

    #[test]
    fn signatures_verify_with_the_public_key_only_for_their_text() {
        let signer = PassSigner::new(&[7u8; 32]);
        let key = ed25519_dalek::VerifyingKey::from_bytes(
            &hex::decode(signer.public_key())
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .unwrap();
        let signature = signer.sign("TOKEN.payload");
        let bytes: [u8; 64] = BASE64URL_NOPAD
            .decode(signature.as_bytes())
            .unwrap()
            .try_into()
            .unwrap();
        let signature = Signature::from_bytes(&bytes);
        assert!(key.verify(b"TOKEN.payload", &signature).is_ok());
        assert!(key.verify(b"TOKEN.payloae", &signature).is_err());
    }

    #[test]
    fn tokens_hash_to_32_hex_digits() {
        let hash = token_hash("ABCDEFGHJKMNPQRSTVWXYZ2345");
        assert_eq!(hash.len(), 32);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(hash, token_hash("ABCDEFGHJKMNPQRSTVWXYZ2346"));
    }
}
