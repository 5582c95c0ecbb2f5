//! Typed settings, read once at start-up from `TRUCKPASS_*` environment variables,
//! `DATABASE_URL` and an optional TOML file, then passed down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::db::DatabaseUrl;

/// How long an access token lives at most (DESIGN.md section 4).
pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// Every setting of the service. README.md documents each one.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `host:port` to listen on; port 0 picks a free port (tests).
    pub listen: String,
    /// Where the SQLite database and generated secrets live.
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://path`; SQLite in `data_dir` when absent.
    pub database_url: Option<String>,
    /// Base of the URLs printed in QR codes; defaults to `http://{listen}`.
    pub public_base_url: Option<String>,
    /// Password for the `admin` account created on first start; random when absent.
    pub admin_password: Option<String>,
    /// The zone's name, shown on pages and posters.
    pub zone_name: String,
    /// Days after which driver personal data is anonymised.
    pub retention_days: u32,
    /// JWT signing key (at least 32 bytes); generated into `data_dir` when absent.
    pub jwt_secret: Option<String>,
    /// Data-encryption key as 64 hex characters; generated into `data_dir` when absent.
    pub data_key: Option<String>,
    /// Access token lifetime in seconds (at most 900).
    pub access_token_ttl_secs: u64,
    /// Refresh token lifetime in days.
    pub refresh_token_ttl_days: u32,
    /// SQLite `synchronous` pragma: FULL (default, survives power loss) or NORMAL.
    pub sqlite_synchronous: SqliteSynchronous,
    /// Size of the read connection pool (and of the only pool on PostgreSQL).
    pub db_pool_size: u32,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Trust `X-Forwarded-For`/`Forwarded` for the client IP (only behind a proxy).
    pub trust_proxy_headers: bool,
    /// Failed logins per account within the window before it is throttled.
    pub login_max_failures_per_account: u32,
    /// Failed logins per client IP within the window before it is throttled.
    pub login_max_failures_per_ip: u32,
    /// Length of the login throttling window in seconds.
    pub login_window_secs: u64,
    /// Log format: `text` or `json`.
    pub log_format: LogFormat,
}

/// SQLite durability level.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum SqliteSynchronous {
    /// fsync on every commit: an acknowledged write survives a power cut.
    Full,
    /// fsync at checkpoints only: faster, may lose the last commits on power loss.
    Normal,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
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
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 14,
            sqlite_synchronous: SqliteSynchronous::Full,
            db_pool_size: 8,
            workers: 0,
            trust_proxy_headers: false,
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 20,
            login_window_secs: 15 * 60,
            log_format: LogFormat::Text,
        }
    }
}

impl Settings {
    /// Reads defaults, then the TOML file named by `TRUCKPASS_CONFIG` (if any), then
    /// `TRUCKPASS_*` variables and `DATABASE_URL`.
    pub fn load() -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Ok(path) = std::env::var("TRUCKPASS_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings: Settings = figment
            .merge(Env::prefixed("TRUCKPASS_").ignore(&["CONFIG"]))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks the values that types alone cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen
            .parse::<SocketAddr>()
            .map_err(|_| anyhow::anyhow!("TRUCKPASS_LISTEN must be host:port, got '{}'", self.listen))?;
        if self.access_token_ttl() > MAX_ACCESS_TOKEN_TTL || self.access_token_ttl_secs == 0 {
            anyhow::bail!("TRUCKPASS_ACCESS_TOKEN_TTL_SECS must be between 1 and 900");
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
            Some(url) => DatabaseUrl::parse(url),
            None => Ok(DatabaseUrl::Sqlite(self.data_dir.join("truckpass.db"))),
        }
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
}
