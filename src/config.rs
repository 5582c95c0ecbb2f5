//! Typed settings, read once at start-up from `TRUCKPASS_*` environment variables,
//! `DATABASE_URL` and an optional TOML file, then passed down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::db::DatabaseUrl;

/// How long an access token lives at most (DESIGN.md section 4).
pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// Every setting of the service. README.md documents each one. Secrets (passwords,
/// keys, the database URL with its password) are [`SecretString`]s: `Debug` prints
/// them redacted.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `host:port` to listen on; port 0 picks a free port (tests).
    pub listen: String,
    /// Where the SQLite database and generated secrets live.
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://path`; SQLite in `data_dir` when absent.
    pub database_url: Option<SecretString>,
    /// Base of the URLs printed in QR codes; defaults to `http://{listen}`.
    pub public_base_url: Option<String>,
    /// Password for the `admin` account created on first start; random when absent.
    pub admin_password: Option<SecretString>,
    /// The zone's name, shown on pages and posters.
    pub zone_name: String,
    /// Days after which driver personal data is anonymised.
    pub retention_days: u32,
    /// JWT signing key as hex (at least 64 hex characters); generated into `data_dir` when absent.
    pub jwt_secret: Option<SecretString>,
    /// Data-encryption key as 64 hex characters; generated into `data_dir` when absent.
    pub data_key: Option<SecretString>,
    /// Ed25519 secret key that signs passes for offline gates, as 64 hex characters;
    /// generated into `data_dir` when absent.
    pub gate_key: Option<SecretString>,
    /// Access token lifetime in seconds (at most 900).
    pub access_token_ttl_secs: u64,
    /// Refresh token lifetime in days.
    pub refresh_token_ttl_days: u32,
    /// SQLite `synchronous` pragma: FULL (default, survives power loss) or NORMAL.
    pub sqlite_synchronous: SqliteSynchronous,
    /// Size of the read connection pool.
    pub db_pool_size: u32,
    /// PostgreSQL writer threads, each with a connection of its own; 0 means one per
    /// CPU core (SQLite always has one).
    pub db_writers: usize,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Trust `X-Forwarded-For`/`Forwarded` for the client IP (only behind a proxy).
    pub trust_proxy_headers: bool,
    /// Failed logins per account within the window, from anywhere, before the account
    /// is blocked for every client but the devices that signed in to it before. Past
    /// `login_max_failures_per_account_ip` failures each further attempt also waits a
    /// doubling delay after the latest failure.
    pub login_max_failures_per_account: u32,
    /// Failed logins per account from one client (an IP address, IPv6 by /64, or a
    /// device that signed in to the account before) within the window before that
    /// client is throttled for the account.
    pub login_max_failures_per_account_ip: u32,
    /// Failed logins per client IP (IPv6 by /64) within the window before it is throttled.
    pub login_max_failures_per_ip: u32,
    /// Length of the login throttling window in seconds.
    pub login_window_secs: u64,
    /// Days a device cookie, set by a successful sign-in, keeps exempting its browser
    /// from the account-wide and per-IP login limits.
    pub login_device_ttl_days: u32,
    /// Days a one-time activation code (a new account's first password) stays valid.
    pub activation_code_ttl_days: u32,
    /// argon2 hashes and verifications running at once (each takes 19 MiB and a core);
    /// past it sign-ins and password changes answer 503. 0 means one per CPU core.
    pub password_hash_concurrency: usize,
    /// Audit entries of refused requests (invalid tokens, denied roles, throttled
    /// sign-ins) per client IP per minute; past it requests are still refused but not
    /// recorded. 0 turns the limit off.
    pub audit_refusals_per_ip: u32,
    /// Log format: `text` or `json`.
    pub log_format: LogFormat,
    /// Hours before the expected arrival from which a pass is valid.
    pub pass_valid_before_hours: u32,
    /// Hours after the expected arrival until which a pass is valid.
    pub pass_valid_after_hours: u32,
    /// Public submissions (registrations, cancellations) per client IP per minute; 0
    /// turns the limit off.
    pub public_rate_per_ip: u32,
    /// Registrations per enterprise code per minute; 0 turns the limit off.
    pub public_rate_per_code: u32,
}

/// SQLite durability level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteSynchronous {
    /// fsync on every commit: an acknowledged write survives a power cut.
    Full,
    /// fsync at checkpoints only: faster, may lose the last commits on power loss.
    Normal,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            public_base_url: None,
            admin_password: None,
            zone_name: "高新技术产业开发区".into(),
            retention_days: 30,
            jwt_secret: None,
            data_key: None,
            gate_key: None,
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 14,
            sqlite_synchronous: SqliteSynchronous::Full,
            db_pool_size: 8,
            db_writers: 0,
            workers: 0,
            trust_proxy_headers: false,
            login_max_failures_per_account: 100,
            login_max_failures_per_account_ip: 5,
            login_max_failures_per_ip: 20,
            login_window_secs: 15 * 60,
            login_device_ttl_days: 90,
            activation_code_ttl_days: 14,
            password_hash_concurrency: 0,
            audit_refusals_per_ip: 10,
            log_format: LogFormat::Text,
            pass_valid_before_hours: 12,
            pass_valid_after_hours: 24,
            public_rate_per_ip: 60,
            public_rate_per_code: 300,
        }
    }
}

/// Every setting's key, as written in the TOML file; the environment variable is
/// `TRUCKPASS_` and the key in upper case (`DATABASE_URL` for `database_url`).
pub const KEYS: [&str; 30] = [
    "listen",
    "data_dir",
    "database_url",
    "public_base_url",
    "admin_password",
    "zone_name",
    "retention_days",
    "jwt_secret",
    "data_key",
    "gate_key",
    "access_token_ttl_secs",
    "refresh_token_ttl_days",
    "sqlite_synchronous",
    "db_pool_size",
    "db_writers",
    "workers",
    "trust_proxy_headers",
    "login_max_failures_per_account",
    "login_max_failures_per_account_ip",
    "login_max_failures_per_ip",
    "login_window_secs",
    "login_device_ttl_days",
    "activation_code_ttl_days",
    "password_hash_concurrency",
    "audit_refusals_per_ip",
    "log_format",
    "pass_valid_before_hours",
    "pass_valid_after_hours",
    "public_rate_per_ip",
    "public_rate_per_code",
];

fn env_name(key: &str) -> String {
    match key {
        "database_url" => "DATABASE_URL".into(),
        _ => format!("TRUCKPASS_{}", key.to_ascii_uppercase()),
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> anyhow::Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{}: '{value}' is not a valid number", env_name(key)))
}

impl Settings {
    /// Reads defaults, then the TOML file named by `TRUCKPASS_CONFIG` (if any), then
    /// the environment. Values are taken as text and parsed per setting, so a password
    /// of digits stays a password. Unknown keys in the file are errors; unknown
    /// `TRUCKPASS_*` variables only warn (platforms inject their own).
    pub fn load() -> anyhow::Result<Self> {
        let mut settings = Settings::default();
        if let Some(path) = std::env::var("TRUCKPASS_CONFIG")
            .ok()
            .filter(|p| !p.is_empty())
        {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read TRUCKPASS_CONFIG file {path}: {e}"))?;
            let table: toml::Table = text
                .parse()
                .map_err(|e| anyhow::anyhow!("{path} is not valid TOML: {e}"))?;
            for (key, value) in table {
                let value = match value {
                    toml::Value::String(text) => text,
                    other => other.to_string(),
                };
                settings
                    .set(&key, &value)
                    .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
            }
        }
        for key in KEYS {
            if let Some(value) = std::env::var(env_name(key)).ok().filter(|v| !v.is_empty()) {
                settings.set(key, &value)?;
            }
        }
        for (name, _) in std::env::vars() {
            let known = name == "TRUCKPASS_CONFIG" || KEYS.iter().any(|key| env_name(key) == name);
            if name.starts_with("TRUCKPASS_") && !known {
                eprintln!("warning: ignoring unknown setting {name}");
            }
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Sets one setting from text.
    pub fn set(&mut self, key: &str, value: &str) -> anyhow::Result<()> {
        match key {
            "listen" => self.listen = value.trim().to_owned(),
            "data_dir" => self.data_dir = PathBuf::from(value),
            "database_url" => self.database_url = Some(value.trim().into()),
            "public_base_url" => self.public_base_url = Some(value.trim().to_owned()),
            "admin_password" => self.admin_password = Some(value.into()),
            "zone_name" => self.zone_name = value.trim().to_owned(),
            "retention_days" => self.retention_days = number(key, value)?,
            "jwt_secret" => self.jwt_secret = Some(value.trim().into()),
            "data_key" => self.data_key = Some(value.trim().into()),
            "gate_key" => self.gate_key = Some(value.trim().into()),
            "access_token_ttl_secs" => self.access_token_ttl_secs = number(key, value)?,
            "refresh_token_ttl_days" => self.refresh_token_ttl_days = number(key, value)?,
            "sqlite_synchronous" => {
                self.sqlite_synchronous = match value.trim().to_ascii_uppercase().as_str() {
                    "FULL" => SqliteSynchronous::Full,
                    "NORMAL" => SqliteSynchronous::Normal,
                    _ => anyhow::bail!("{}: use FULL or NORMAL", env_name(key)),
                }
            }
            "db_pool_size" => self.db_pool_size = number(key, value)?,
            "db_writers" => self.db_writers = number(key, value)?,
            "workers" => self.workers = number(key, value)?,
            "trust_proxy_headers" => {
                self.trust_proxy_headers = match value.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" => false,
                    _ => anyhow::bail!("{}: use true or false", env_name(key)),
                }
            }
            "login_max_failures_per_account" => {
                self.login_max_failures_per_account = number(key, value)?
            }
            "login_max_failures_per_account_ip" => {
                self.login_max_failures_per_account_ip = number(key, value)?
            }
            "login_max_failures_per_ip" => self.login_max_failures_per_ip = number(key, value)?,
            "login_window_secs" => self.login_window_secs = number(key, value)?,
            "login_device_ttl_days" => self.login_device_ttl_days = number(key, value)?,
            "activation_code_ttl_days" => self.activation_code_ttl_days = number(key, value)?,
            "password_hash_concurrency" => self.password_hash_concurrency = number(key, value)?,
            "audit_refusals_per_ip" => self.audit_refusals_per_ip = number(key, value)?,
            "log_format" => {
                self.log_format = match value.trim().to_ascii_lowercase().as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => anyhow::bail!("{}: use text or json", env_name(key)),
                }
            }
            "pass_valid_before_hours" => self.pass_valid_before_hours = number(key, value)?,
            "pass_valid_after_hours" => self.pass_valid_after_hours = number(key, value)?,
            "public_rate_per_ip" => self.public_rate_per_ip = number(key, value)?,
            "public_rate_per_code" => self.public_rate_per_code = number(key, value)?,
            _ => anyhow::bail!("unknown setting '{key}'"),
        }
        Ok(())
    }

    /// Checks the values that types alone cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen.parse::<SocketAddr>().map_err(|_| {
            anyhow::anyhow!("TRUCKPASS_LISTEN must be host:port, got '{}'", self.listen)
        })?;
        if self.access_token_ttl() > MAX_ACCESS_TOKEN_TTL || self.access_token_ttl_secs == 0 {
            anyhow::bail!("TRUCKPASS_ACCESS_TOKEN_TTL_SECS must be between 1 and 900");
        }
        if self.pass_valid_before_hours > 72 || !(1..=168).contains(&self.pass_valid_after_hours) {
            anyhow::bail!(
                "TRUCKPASS_PASS_VALID_BEFORE_HOURS must be 0 to 72 and TRUCKPASS_PASS_VALID_AFTER_HOURS 1 to 168"
            );
        }
        if !(1..=90).contains(&self.activation_code_ttl_days) {
            anyhow::bail!("TRUCKPASS_ACTIVATION_CODE_TTL_DAYS must be between 1 and 90");
        }
        if self.db_pool_size == 0 {
            anyhow::bail!("TRUCKPASS_DB_POOL_SIZE must be at least 1");
        }
        if let Some(base) = &self.public_base_url {
            let url = url::Url::parse(base)
                .map_err(|_| anyhow::anyhow!("TRUCKPASS_PUBLIC_BASE_URL is not a URL"))?;
            if !matches!(url.scheme(), "http" | "https") {
                anyhow::bail!("TRUCKPASS_PUBLIC_BASE_URL must start with http:// or https://");
            }
        }
        self.database()?;
        Ok(())
    }

    /// The database to use: `DATABASE_URL`, or SQLite in the data directory.
    pub fn database(&self) -> anyhow::Result<DatabaseUrl> {
        match &self.database_url {
            Some(url) => DatabaseUrl::parse(url.expose_secret()),
            None => Ok(DatabaseUrl::Sqlite(self.data_dir.join("truckpass.db"))),
        }
    }

    /// How long before and after the expected arrival a pass is valid.
    pub fn pass_validity(&self) -> (chrono::TimeDelta, chrono::TimeDelta) {
        (
            chrono::TimeDelta::hours(i64::from(self.pass_valid_before_hours)),
            chrono::TimeDelta::hours(i64::from(self.pass_valid_after_hours)),
        )
    }

    /// Access token lifetime.
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    /// Login throttling window.
    pub fn login_window(&self) -> Duration {
        Duration::from_secs(self.login_window_secs)
    }

    /// Base URL for links and QR codes, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.public_base_url {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Whether the service is reached over https, so that its cookies go `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_base_url().starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_can_be_set_from_text() -> anyhow::Result<()> {
        let mut settings = Settings::default();
        for key in KEYS {
            let value = match key {
                "sqlite_synchronous" => "normal",
                "trust_proxy_headers" => "1",
                "log_format" => "JSON",
                "listen" => "0.0.0.0:9000",
                _ => "42",
            };
            settings.set(key, value)?;
        }
        assert_eq!(
            settings.admin_password.as_ref().map(|p| p.expose_secret()),
            Some("42")
        );
        assert_eq!(settings.zone_name, "42");
        assert_eq!(settings.retention_days, 42);
        assert!(settings.trust_proxy_headers);
        assert_eq!(settings.sqlite_synchronous, SqliteSynchronous::Normal);
        assert_eq!(settings.log_format, LogFormat::Json);
        Ok(())
    }

    #[test]
    fn secrets_never_print() -> anyhow::Result<()> {
        let mut settings = Settings::default();
        settings.set("admin_password", "Secret-Admin-Password-1")?;
        settings.set("jwt_secret", &"ab".repeat(32))?;
        settings.set("data_key", &"cd".repeat(32))?;
        settings.set("gate_key", &"9e".repeat(32))?;
        settings.set("database_url", "postgres://app:db-password-9@db/truckpass")?;
        let printed = format!("{settings:?} {:?}", settings.database()?);
        for secret in [
            "Secret-Admin-Password-1",
            "abababab",
            "cdcdcdcd",
            "9e9e9e9e",
            "db-password-9",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("postgres://db/truckpass"), "{printed}");
        Ok(())
    }

    #[test]
    fn bad_values_and_unknown_keys_are_refused() {
        let mut settings = Settings::default();
        assert!(settings.set("retention_days", "thirty").is_err());
        assert!(settings.set("trust_proxy_headers", "maybe").is_err());
        assert!(settings.set("colour", "red").is_err());
        let too_long = Settings {
            access_token_ttl_secs: 901,
            ..Settings::default()
        };
        assert!(too_long.validate().is_err());
        let bad_listen = Settings {
            listen: "localhost".into(),
            ..Settings::default()
        };
        assert!(bad_listen.validate().is_err());
        assert!(Settings::default().validate().is_ok());
    }
}
