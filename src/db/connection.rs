//! The connection type over both backends.

#![expect(
    missing_docs,
    reason = "diesel::MultiConnection generates undocumented items (MultiBackend and friends)"
)]

use diesel::{PgConnection, SqliteConnection};

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// Production database.
    Postgresql(PgConnection),
    /// Embedded default.
    Sqlite(SqliteConnection),
}
