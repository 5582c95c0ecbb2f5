//! Secrets the service needs (JWT signing key, data-encryption key): taken from the
//! settings, or generated on first start into the data directory with mode 0600.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;

use rand::RngCore;

/// Length of generated keys in bytes.
const KEY_BYTES: usize = 32;

/// The service's secrets.
#[derive(Clone)]
pub struct Secrets {
    /// HS256 key for access tokens.
    pub jwt_key: Vec<u8>,
    /// AES-256 key for personal data at rest.
    pub data_key: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

impl Secrets {
    /// Uses the configured values where given, otherwise reads or creates
    /// `jwt.key` and `data.key` in `data_dir`.
    pub fn load(
        data_dir: &Path,
        jwt_secret: Option<&str>,
        data_key: Option<&str>,
    ) -> anyhow::Result<Self> {
        let jwt_key = match jwt_secret {
            Some(hex_key) => hex::decode(hex_key.trim())
                .ok()
                .filter(|key| key.len() >= KEY_BYTES)
                .ok_or_else(|| {
                    anyhow::anyhow!("TRUCKPASS_JWT_SECRET must be at least 64 hex characters")
                })?,
            None => load_or_create(&data_dir.join("jwt.key"))?,
        };
        let data_key = match data_key {
            Some(hex_key) => hex::decode(hex_key.trim())
                .ok()
                .filter(|key| key.len() == KEY_BYTES)
                .ok_or_else(|| anyhow::anyhow!("TRUCKPASS_DATA_KEY must be 64 hex characters"))?,
            None => load_or_create(&data_dir.join("data.key"))?,
        };
        Ok(Self { jwt_key, data_key })
    }
}

/// Reads a hex key file, or creates it with owner-only permissions. The key is
/// written to a private temporary file first and then hard-linked into place, which
/// fails if the file exists: two replicas sharing a data directory agree on one key
/// and neither ever reads a half-written file.
fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    if !path.exists() {
        let mut key = vec![0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        let mut suffix = [0u8; 8];
        rand::rng().fill_bytes(&mut suffix);
        let temporary = path.with_extension(format!("tmp-{}", hex::encode(suffix)));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&temporary)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", temporary.display()))?;
        file.write_all(hex::encode(&key).as_bytes())?;
        file.sync_all()?;
        let linked = fs::hard_link(&temporary, path);
        fs::remove_file(&temporary)?;
        match linked {
            Ok(()) => return Ok(key),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
            Err(error) => anyhow::bail!("cannot create {}: {error}", path.display()),
        }
    }
    let text = fs::read_to_string(path)?;
    hex::decode(text.trim())
        .ok()
        .filter(|key| key.len() == KEY_BYTES)
        .ok_or_else(|| anyhow::anyhow!("{} is not a valid key file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_private_and_reused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = Secrets::load(dir.path(), None, None)?;
        let second = Secrets::load(dir.path(), None, None)?;
        assert_eq!(first.jwt_key, second.jwt_key);
        assert_eq!(first.data_key, second.data_key);
        assert_ne!(first.jwt_key, first.data_key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("jwt.key"))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Ok(())
    }

    #[test]
    fn configured_keys_are_checked() {
        let dir = std::env::temp_dir();
        assert!(Secrets::load(&dir, Some("abcd"), Some(&"ab".repeat(32))).is_err());
        assert!(Secrets::load(&dir, Some(&"k".repeat(64)), Some(&"ab".repeat(32))).is_err());
        assert!(Secrets::load(&dir, Some(&"cd".repeat(32)), Some("zz")).is_err());
        assert!(Secrets::load(&dir, Some(&"cd".repeat(32)), Some(&"ab".repeat(32))).is_ok());
    }
}
