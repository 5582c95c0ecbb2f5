//! The database layer and start-up: migrations on both backends, WAL growth, no
//! silent fallback to SQLite, first-start secrets and admin.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use truckpass::audit::{self, Actor, Event};
use truckpass::config::{Settings, SqliteSynchronous};
use truckpass::db::{DatabaseUrl, Db, DbConnection};
use truckpass::startup::Application;

use crate::helpers::{fresh_postgres_schema, postgres_base_url};

fn migration_versions(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut versions: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    versions
}

#[test]
fn both_migration_folders_hold_the_same_versions() {
    let sqlite = migration_versions("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_versions("postgres"));
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(conn: &mut DbConnection) -> BTreeMap<String, Vec<String>> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'"
        }
        DbConnection::Postgresql(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '__diesel_schema_migrations'"
        }
    };
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for column in diesel::sql_query(sql).load::<Column>(conn).unwrap() {
        tables
            .entry(column.table_name)
            .or_default()
            .push(column.column_name);
    }
    for columns in tables.values_mut() {
        columns.sort();
    }
    tables
}

#[tokio::test]
async fn both_backends_migrate_to_the_same_tables_and_columns() {
    let Some(base) = postgres_base_url() else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = DatabaseUrl::Sqlite(dir.path().join("schema.db"));
    let postgres_url = DatabaseUrl::Postgres(fresh_postgres_schema(&base));
    let mut schemas = Vec::new();
    for url in [sqlite_url, postgres_url] {
        let db = Db::connect(&url, SqliteSynchronous::Full, 1, 1).unwrap();
        schemas.push(db.read_blocking(|conn| Ok(columns(conn))).unwrap());
    }
    assert!(schemas[0].contains_key("users"));
    assert_eq!(schemas[0], schemas[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_small_after_a_burst_of_20000_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("burst.db");
    let db = Db::connect(
        &DatabaseUrl::Sqlite(path.clone()),
        SqliteSynchronous::Full,
        4,
        1,
    )
    .unwrap();
    assert_eq!(
        db.read_blocking(|conn| {
            #[derive(QueryableByName)]
            struct Mode {
                #[diesel(sql_type = Text)]
                journal_mode: String,
            }
            Ok(diesel::sql_query("PRAGMA journal_mode")
                .get_result::<Mode>(conn)?
                .journal_mode)
        })
        .unwrap(),
        "wal"
    );
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..1250 {
                db.write(move |conn| {
                    audit::append(
                        conn,
                        &Actor::system(),
                        Event::success("test.burst", "test", format!("{worker}-{i}")),
                    )
                    .map(drop)
                })
                .await
                .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    while db
        .write_blocking(|conn| audit::link(conn, audit::Linking::Wait))
        .unwrap()
        > 0
    {}
    let report = db.read_blocking(audit::verify).unwrap();
    assert_eq!(report.checked, 20_000);
    assert_eq!(report.waiting, 0);
    assert!(report.ok);
    let wal = std::fs::metadata(dir.path().join("burst.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(wal < 8 * 1024 * 1024, "WAL grew to {wal} bytes");
}

fn run_truckpass(data_dir: &Path, database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_truckpass"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("TRUCKPASS_DATA_DIR", data_dir)
        .env("TRUCKPASS_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap()
}

#[test]
fn an_unreachable_postgres_url_stops_start_up_without_creating_files() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let output = run_truckpass(
        &data_dir,
        "postgres://nobody:secret@127.0.0.1:1/nothing",
        &["migrate"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot connect to postgres://127.0.0.1/nothing"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "password leaked: {stderr}");
    assert!(!data_dir.exists(), "a file was created");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_unknown_database_scheme_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "mysql://root@localhost/db",
        "postgress://typo@localhost/db",
        "truckpass.db",
    ] {
        let output = run_truckpass(&dir.path().join("data"), url, &["migrate"]);
        assert!(!output.status.success(), "{url} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("unsupported scheme"), "{url}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn first_start_creates_secrets_and_an_admin_and_a_second_start_reuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        workers: 1,
        ..Settings::default()
    };
    let first = Application::build(settings.clone()).unwrap();
    let password = first.initial_admin_password().map(str::to_owned);
    assert!(password.as_ref().is_some_and(|p| p.len() >= 20));
    let key = std::fs::read(dir.path().join("data/jwt.key")).unwrap();
    assert!(dir.path().join("data/truckpass.db").exists());
    assert!(dir.path().join("data/data.key").exists());
    drop(first);

    let second = Application::build(settings).unwrap();
    assert_eq!(second.initial_admin_password(), None);
    assert_eq!(std::fs::read(dir.path().join("data/jwt.key")).unwrap(), key);
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_the_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("var/truckpass");
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.clone(),
        workers: 1,
        ..Settings::default()
    };
    let app = Application::build(settings).unwrap();
    let mode = |name: &str| {
        std::fs::metadata(data_dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the data directory");
    for file in [
        "truckpass.db",
        "truckpass.db-wal",
        "truckpass.db-shm",
        "jwt.key",
        "data.key",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_database_connections_answer_503_and_the_service_recovers_by_itself() {
    use crate::helpers::{Backend, TestApp};
    let Some(app) = TestApp::spawn(Backend::Postgres, |_| {}).await else {
        return;
    };
    let admin = app.admin_token().await;
    app.create_park(&admin, "P1").await;
    // The database ends every connection of this app, as a restart or failover does.
    let application = app
        .database_url
        .rsplit("application_name=")
        .next()
        .unwrap()
        .to_owned();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{application}' AND pid <> pg_backend_pid()"
    ))
    .execute(&mut app.raw_connection())
    .unwrap();
    let mut answers = Vec::new();
    for n in 0..30 {
        let reads = app.get("/api/v1/parks", Some(&admin)).await;
        let writes = app
            .post(
                "/api/v1/parks",
                Some(&admin),
                serde_json::json!({ "code": format!("R{n}"), "name": format!("园区{n}") }),
            )
            .await;
        let recovered = reads.status == 200 && writes.status == 201;
        answers.push((reads, writes));
        if recovered {
            break;
        }
    }
    let (last_read, last_write) = answers.last().unwrap();
    assert_eq!(
        (last_read.status, last_write.status),
        (200, 201),
        "recovered by itself"
    );
    for answer in answers.iter().flat_map(|(read, write)| [read, write]) {
        if answer.status >= 500 {
            answer.assert_status(503);
            assert_eq!(answer.code(), "database_unavailable");
            assert_eq!(answer.header("retry-after"), Some("2"));
        }
    }
    assert!(
        answers
            .iter()
            .any(|(read, write)| read.status == 503 || write.status == 503),
        "the ended connections were in use: {:?}",
        answers
            .iter()
            .map(|(r, w)| (r.status, w.status))
            .collect::<Vec<_>>()
    );
}
