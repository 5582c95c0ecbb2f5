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
    /// Ed25519 secret key that signs passes for offline gates.
    pub gate_key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

impl Secrets {
    /// Uses the configured values where given, otherwise reads or creates
    /// `jwt.key`, `data.key` and `gate.key` in `data_dir`.
    pub fn load(data_dir: &Path, configured: Configured<'_>) -> anyhow::Result<Self> {
        let Configured {
            jwt_secret,
            data_key,
            gate_key,
        } = configured;
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
        let gate_key = match gate_key {
            Some(hex_key) => hex::decode(hex_key.trim())
                .ok()
                .ok_or_else(|| anyhow::anyhow!("TRUCKPASS_GATE_KEY must be 64 hex characters"))?,
            None => load_or_create(&data_dir.join("gate.key"))?,
        }
        .try_into()
        .map_err(|_| {
            anyhow::anyhow!("the gate signing key must be 32 bytes (64 hex characters)")
        })?;
        Ok(Self {
            jwt_key,
            data_key,
            gate_key,
        })
    }
}

/// The keys set in the settings (hex), each taken from the data directory when unset.
#[derive(Clone, Copy, Debug, Default)]
pub struct Configured<'a> {
    /// `TRUCKPASS_JWT_SECRET`.
    pub jwt_secret: Option<&'a str>,
    /// `TRUCKPASS_DATA_KEY`.
    pub data_key: Option<&'a str>,
    /// `TRUCKPASS_GATE_KEY`.
    pub gate_key: Option<&'a str>,
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

    fn configured<'a>(jwt: &'a str, data: &'a str, gate: &'a str) -> Configured<'a> {
        Configured {
            jwt_secret: Some(jwt),
            data_key: Some(data),
            gate_key: Some(gate),
        }
    }

    #[test]
    fn generated_keys_are_private_and_reused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = Secrets::load(dir.path(), Configured::default())?;
        let second = Secrets::load(dir.path(), Configured::default())?;
        assert_eq!(first.jwt_key, second.jwt_key);
        assert_eq!(first.data_key, second.data_key);
        assert_eq!(first.gate_key, second.gate_key);
        assert_ne!(first.jwt_key, first.data_key);
        assert_ne!(first.data_key, first.gate_key.to_vec());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in ["jwt.key", "data.key", "gate.key"] {
                let mode = fs::metadata(dir.path().join(file))?.permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
        }
        Ok(())
    }

    #[test]
    fn configured_keys_are_checked() {
        let dir = std::env::temp_dir();
        let (jwt, data, gate) = ("cd".repeat(32), "ab".repeat(32), "ef".repeat(32));
        assert!(Secrets::load(&dir, configured("abcd", &data, &gate)).is_err());
        assert!(Secrets::load(&dir, configured(&"k".repeat(64), &data, &gate)).is_err());
        assert!(Secrets::load(&dir, configured(&jwt, "zz", &gate)).is_err());
        assert!(Secrets::load(&dir, configured(&jwt, &data, "ef")).is_err());
        assert!(Secrets::load(&dir, configured(&jwt, &data, &"ef".repeat(33))).is_err());
        assert!(Secrets::load(&dir, configured(&jwt, &data, &gate)).is_ok());
    }
}
