//! `pos-server`: wires flags and environment to the library and runs one subcommand.

use std::io::Read;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use pos_server::settings::DEFAULT_DATABASE_URL;
use pos_server::tls::{self, Transport};
use pos_server::{maintenance, seed, store, Settings};

#[derive(Parser)]
#[command(name = "pos-server", version, about = "Point-of-sale backend")]
struct Cli {
    /// `postgres://…` for PostgreSQL; `sqlite://FILE` for SQLite (default: pos-server.db here).
    #[arg(long, env = "DATABASE_URL", global = true, default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Log as JSON lines (for log collectors).
    #[arg(long, env = "POS_LOG_JSON", global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Create the demo businesses, accounts and catalog (safe to run again).
    SeedDemo {
        /// How many products Demo Mart gets.
        #[arg(long, default_value_t = 300)]
        products: usize,
    },
    /// Create a user in a business.
    CreateUser(CreateUserArgs),
    /// Sync housekeeping.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Write a consistent copy of the database to FILE while the server keeps serving
    /// (SQLite: VACUUM INTO; PostgreSQL: pg_dump's custom format).
    Backup { file: std::path::PathBuf },
    /// Restore FILE (made by `backup`) into an empty database, then apply newer migrations.
    Restore { file: std::path::PathBuf },
    /// Print the SHA-256 fingerprint of the HTTPS certificate `serve` presents (making the
    /// certificate first when the server has not made it yet), for tills to compare.
    TlsFingerprint(TlsArgs),
}

/// Where the HTTPS certificate comes from.
#[derive(Args)]
struct TlsArgs {
    /// auto: plain http on loopback, https elsewhere (and everywhere with a certificate given);
    /// https: always; behind-proxy: plain http, a TLS-terminating proxy is in front.
    #[arg(long, env = "POS_TLS", value_enum, default_value_t = Transport::Auto)]
    tls: Transport,
    /// Certificate chain, PEM (default: a self-signed one made in the data folder).
    #[arg(long, env = "POS_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// Private key of the certificate, PEM.
    #[arg(long, env = "POS_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Folder where the server keeps the certificate it makes.
    #[arg(long, env = "POS_DATA_DIR", default_value = ".")]
    data_dir: std::path::PathBuf,
}

impl TlsArgs {
    fn apply(self, settings: &mut Settings) {
        settings.transport = self.tls;
        settings.tls_cert = self.tls_cert;
        settings.tls_key = self.tls_key;
        settings.data_dir = self.data_dir;
    }
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Drop old idempotency keys and sync logs; mark silent devices inactive.
    Cleanup {
        /// Age in days of the sync logs and answered idempotency keys to drop.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Days without a sync after which a device is marked inactive.
        #[arg(long, default_value_t = 90)]
        stale_devices: i64,
    },
    /// List devices that have not synced for a while.
    CheckStale {
        #[arg(long, default_value_t = 24)]
        hours: i64,
        /// Also log a warning event per stale device (for alerting on logs).
        #[arg(long)]
        alert: bool,
    },
    /// Apply a terminal's rescue file (`pos-terminal rescue export`) under the batch rules.
    ImportRescue {
        file: std::path::PathBuf,
        /// The business to import into (default: the one the file names).
        #[arg(long)]
        business_id: Option<i64>,
    },
}

#[derive(Parser)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "POS_BIND", default_value = "127.0.0.1:8700")]
    bind: String,
    #[command(flatten)]
    tls: TlsArgs,
    /// Browser origins allowed to call the API, comma-separated (none by default).
    #[arg(long, env = "POS_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Hours a token stays valid.
    #[arg(long, env = "POS_TOKEN_TTL_HOURS", default_value_t = 720)]
    token_ttl_hours: i64,
    /// Seconds an old token keeps working after a refresh.
    #[arg(long, env = "POS_REFRESH_GRACE_SECONDS", default_value_t = 600)]
    refresh_grace_seconds: i64,
    /// Hours idempotency keys and their answers are kept.
    #[arg(long, env = "POS_IDEMPOTENCY_TTL_HOURS", default_value_t = 24)]
    idempotency_ttl_hours: i64,
    /// Largest request body in bytes.
    #[arg(long, env = "POS_BODY_LIMIT_BYTES", default_value_t = 2 * 1024 * 1024)]
    body_limit_bytes: usize,
    /// Sign-in attempts per account and client address before each further one waits
    /// twice as long as the last (up to 15 minutes).
    #[arg(long, env = "POS_SIGN_IN_FAILURES_PER_ACCOUNT", default_value_t = 10)]
    sign_in_failures_per_account: u32,
    /// Sign-in attempts per client address, over all accounts, before delays start.
    #[arg(long, env = "POS_SIGN_IN_FAILURES_PER_ADDRESS", default_value_t = 50)]
    sign_in_failures_per_address: u32,
    /// Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names
    /// the client the sign-in limiter counts.
    #[arg(long, env = "POS_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = pos_server::settings::parse_trusted_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Args)]
struct CreateUserArgs {
    #[arg(long)]
    business_id: i64,
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// owner, manager or cashier.
    #[arg(long)]
    role: String,
    /// The password; when absent it is read from POS_USER_PASSWORD or else standard input.
    #[arg(long, env = "POS_USER_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    let command = match cli.command {
        Some(command) => command,
        None => Command::Serve(ServeArgs::parse_from(["serve"])),
    };
    match command {
        Command::Serve(args) => {
            let mut settings = Settings::new(cli.database_url);
            args.tls.apply(&mut settings);
            settings.cors_origins = args
                .cors_origins
                .into_iter()
                .filter(|o| !o.trim().is_empty())
                .collect();
            settings.token_ttl = chrono::Duration::hours(args.token_ttl_hours);
            settings.refresh_grace = chrono::Duration::seconds(args.refresh_grace_seconds);
            settings.idempotency_ttl = chrono::Duration::hours(args.idempotency_ttl_hours);
            settings.body_limit = args.body_limit_bytes;
            settings.sign_in_failures_per_account = args.sign_in_failures_per_account;
            settings.sign_in_failures_per_address = args.sign_in_failures_per_address;
            settings.trusted_proxies = args.trusted_proxies;
            let listener = tokio::net::TcpListener::bind(&args.bind)
                .await
                .with_context(|| format!("cannot listen on {}", args.bind))?;
            pos_server::launch(settings, listener, shutdown_signal()).await
        }
        Command::TlsFingerprint(args) => {
            let mut settings = Settings::new(cli.database_url);
            args.apply(&mut settings);
            println!("{}", tls::load_or_create_identity(&settings)?.fingerprint);
            Ok(())
        }
        Command::Migrate => {
            let store = store::connect(&cli.database_url).await?;
            store.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::SeedDemo { products } => {
            let store = store::connect(&cli.database_url).await?;
            store.migrate().await?;
            let report = seed::seed_demo(store.as_ref(), products).await?;
            println!(
                "demo data ready: {} (business {}), {} (business {}); accounts owner@demo.test, \
                 manager@demo.test, cashier@demo.test, owner@other.test, cashier@other.test, \
                 password {}",
                seed::DEMO_BUSINESS,
                report.demo_business_id,
                seed::OTHER_BUSINESS,
                report.other_business_id,
                seed::DEMO_PASSWORD
            );
            Ok(())
        }
        Command::Sync(SyncCommand::Cleanup {
            days,
            stale_devices,
        }) => {
            let store = store::connect(&cli.database_url).await?;
            store.migrate().await?;
            let report = maintenance::cleanup(store.as_ref(), days, stale_devices).await?;
            println!(
                "removed {} idempotency keys and {} sync logs; {} devices marked inactive",
                report.idempotency_keys, report.sync_logs, report.devices_marked_inactive
            );
            Ok(())
        }
        Command::Sync(SyncCommand::CheckStale { hours, alert }) => {
            let store = store::connect(&cli.database_url).await?;
            store.migrate().await?;
            let devices = maintenance::stale_devices(store.as_ref(), hours).await?;
            for device in &devices {
                let last = device
                    .last_sync_at
                    .map(|at| pos_protocol::time::format(&at))
                    .unwrap_or_else(|| "never".into());
                println!(
                    "business {}\tdevice {}\t{}\tlast sync {last}",
                    device.business_id,
                    device.device_id,
                    device.device_name.as_deref().unwrap_or("-")
                );
                if alert {
                    tracing::warn!(
                        business_id = device.business_id,
                        device_id = %device.device_id,
                        last_sync = %last,
                        "device has not synced for {hours} hours"
                    );
                }
            }
            println!("{} stale devices", devices.len());
            Ok(())
        }
        Command::Sync(SyncCommand::ImportRescue { file, business_id }) => {
            let store = store::connect(&cli.database_url).await?;
            store.migrate().await?;
            let settings = Settings::new(cli.database_url.clone());
            let report =
                pos_server::sync::rescue::import_file(store, settings, &file, business_id).await?;
            for result in &report.results {
                println!(
                    "{}\t{:?}\t{}",
                    result.idempotency_key,
                    result.status,
                    result.error.as_deref().unwrap_or("")
                );
            }
            println!("{}", report.message);
            anyhow::ensure!(
                report.summary.error_count == 0,
                "{} operations were not applied",
                report.summary.error_count
            );
            Ok(())
        }
        Command::Backup { file } => {
            pos_server::backup::backup(&cli.database_url, &file).await?;
            println!("backup written to {}", file.display());
            Ok(())
        }
        Command::Restore { file } => {
            pos_server::backup::restore(&cli.database_url, &file).await?;
            let store = store::connect(&cli.database_url).await?;
            store.migrate().await?;
            println!("restored {}", file.display());
            Ok(())
        }
        Command::CreateUser(args) => {
            let password = match args.password {
                Some(password) => password,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_to_string(&mut line)
                        .context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let store = store::connect(&cli.database_url).await?;
            store.migrate().await?;
            let id = seed::create_user(
                store.as_ref(),
                args.business_id,
                &args.name,
                &args.email,
                &args.role,
                &password,
            )
            .await?;
            println!("user {id} created");
            Ok(())
        }
    }
}
