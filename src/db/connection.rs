//! The connection type over both backends.

use diesel::{PgConnection, SqliteConnection};

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// Production database.
    Postgresql(PgConnection),
    /// Embedded default.
    Sqlite(SqliteConnection),
}
