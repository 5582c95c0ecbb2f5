//! The data directory holds the SQLite database and the generated secrets: it is
//! created readable by the service's own user only (0700), and so is the database
//! file (0600; SQLite gives its WAL and shared-memory files the database file's mode).

use std::fs::{DirBuilder, OpenOptions};
use std::path::Path;

use crate::db::DatabaseUrl;

/// Makes room for a SQLite database: the data directory, the database file's own
/// directory and the file itself, all owner-only. Nothing for PostgreSQL.
pub fn prepare(database: &DatabaseUrl, data_dir: &Path) -> anyhow::Result<()> {
    if let DatabaseUrl::Sqlite(path) = database {
        create_private_dir(data_dir)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        create_private_file(path)?;
    }
    Ok(())
}

/// Creates `path` and any missing parents, owner-only; an existing directory is
/// left as it is (its owner chose its mode).
pub fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))
}

/// Creates an empty database file readable by its owner only, unless it exists.
fn create_private_file(path: &Path) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))
}
