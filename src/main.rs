//! The `truckpass` command: serve (default), migrate, create an admin, import the
//! enterprise roster, purge expired personal data, verify the audit log.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use truckpass::config::Settings;
use truckpass::db::Db;
use truckpass::domain::account::Username;
use truckpass::enterprises::import::{self, ImportOptions};
use truckpass::enterprises::roster;
use truckpass::registrations::retention;
use truckpass::startup::{self, Application};
use truckpass::telemetry::init_tracing;
use truckpass::users::User;
use truckpass::{audit, audit::Actor, audit::Event};

#[derive(Parser)]
#[command(
    name = "truckpass",
    version,
    about = "一企一码：工业园区外来货车登记、通行与企业摸排"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and pages (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Import the enterprise roster from a CSV or XLSX file (rows matched by credit code).
    Import {
        /// The roster file.
        file: std::path::PathBuf,
        /// Report what would change without writing.
        #[arg(long)]
        dry_run: bool,
        /// Write the good rows even if some rows are bad.
        #[arg(long)]
        partial: bool,
    },
    /// Anonymise drivers' personal data older than TRUCKPASS_RETENTION_DAYS (the server
    /// also does this hourly).
    Purge {
        /// Purge as if today were this date (YYYY-MM-DD), e.g. to check a policy.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account; the password comes from TRUCKPASS_ADMIN_PASSWORD or is
    /// generated and printed once.
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and report the first broken entry.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load()?;
    init_tracing(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => {
            open_db(&settings)?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command: AdminCommand::Create { username },
        } => {
            let db = open_db(&settings)?;
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let password = settings.admin_password.clone();
            let (user, generated) = db
                .write_blocking(|conn| {
                    let (user, generated) = User::create_admin(
                        conn,
                        username,
                        password.as_ref().map(ExposeSecret::expose_secret),
                    )?;
                    audit::append(
                        conn,
                        &Actor::system(),
                        Event::success("user.create", "user", &user.id),
                    )?;
                    Ok((user, generated))
                })
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!("管理员账号 {} 已创建", user.username);
            if let Some(password) = generated {
                println!("初始密码（仅显示这一次，请登录后立即修改）：{password}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            file,
            dry_run,
            partial,
        } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let rows = roster::read(&bytes).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            let db = open_db(&settings)?;
            let vault = startup::vault(&startup::secrets(&settings)?)?;
            let options = ImportOptions { dry_run, partial };
            let report = db
                .write_blocking(|conn| import::run(conn, &vault, &Actor::system(), rows, options))
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            for error in &report.errors {
                println!("第 {} 行 [{}] {}", error.row, error.header, error.message);
            }
            println!(
                "{}：共 {} 行，新增 {}，更新 {}，未变 {}，有误 {}",
                if report.written {
                    "已导入"
                } else {
                    "未写入"
                },
                report.rows,
                report.inserted,
                report.updated,
                report.unchanged,
                report.rejected
            );
            let refused = report.rejected > 0 && !report.written;
            Ok(if refused {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Purge { as_of } => {
            let db = open_db(&settings)?;
            let at = as_of
                .and_then(|day| day.and_hms_opt(0, 0, 0))
                .unwrap_or_else(truckpass::db::now);
            let days = settings.retention_days;
            let count = db
                .write_blocking(|conn| retention::purge(conn, at, days))
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!("已清除 {count} 条登记的个人信息（保存期限 {days} 天）");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let db = open_db(&settings)?;
            let report = db
                .read_blocking(audit::verify)
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            match report.first_broken {
                None => {
                    println!(
                        "OK: {} entries, chain intact; {} waiting to be linked",
                        report.checked, report.waiting
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(link) => {
                    println!(
                        "BROKEN at entry {}: {} ({} entries verified before it)",
                        link.seq, link.reason, report.checked
                    );
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database()?;
    truckpass::data_dir::prepare(&url, &settings.data_dir)?;
    Db::connect(&url, settings.sqlite_synchronous, 1, 1)
}

fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let listen = settings.listen.clone();
    let database = settings.database()?.redacted();
    let app = Application::build(settings)?;
    if let Some(password) = app.initial_admin_password() {
        println!("已创建初始管理员账号 admin，密码（仅显示这一次，请登录后立即修改）：{password}");
    }
    tracing::info!(%listen, port = app.port(), %database, "truckpass is serving");
    actix_web::rt::System::new().block_on(app.run_until_stopped())?;
    Ok(ExitCode::SUCCESS)
}
