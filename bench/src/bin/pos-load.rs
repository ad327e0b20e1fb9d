//! The sync server under load, beside a raw insert rate of the same database, and a real
//! terminal engine against it end to end.
//!
//! ```sh
//! cargo run --release -p pos-bench --bin pos-load -- ingest --database postgres --terminals 50
//! cargo run --release -p pos-bench --bin pos-load -- ingest --database sqlite --businesses 10
//! cargo run --release -p pos-bench --bin pos-load -- e2e
//! ```

use std::path::PathBuf;

use anyhow::{ensure, Result};
use clap::{Parser, Subcommand};
use pos_bench::dataset::DatasetConfig;
use pos_bench::load::db::{Pool, RawRate};
use pos_bench::load::e2e::{self, E2eConfig, E2eReport};
use pos_bench::load::{self, IngestConfig, IngestReport, LoadDatabase, RunningServer, ServerMode};
use pos_bench::stats::{ms, Samples};

#[derive(Parser)]
#[command(
    name = "pos-load",
    about = "Sync server load and end-to-end sync timings"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ServerArgs {
    /// A running server to load (its database must be `--database`, to seed and check);
    /// without it the server is started on `--database`.
    #[arg(long)]
    server: Option<String>,
    /// Run the started server inside this process instead of a child process (whose memory
    /// can then be read on its own).
    #[arg(long)]
    in_process: bool,
}

#[derive(Subcommand)]
enum Command {
    /// N terminals pushing batches of sales and pulling changes; throughput, latency, errors,
    /// the exactly-once check, and a raw insert rate of the same database.
    Ingest {
        /// `postgres` (a fresh database, dropped after), `sqlite` (a fresh file), or a URL.
        #[arg(long, env = "DATABASE_URL", default_value = "postgres")]
        database: String,
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, default_value_t = 50)]
        terminals: usize,
        /// 1 = every sale takes the same invoice counter (the worst case).
        #[arg(long, default_value_t = 1)]
        businesses: usize,
        #[arg(long, default_value_t = 200)]
        sales: usize,
        #[arg(long, default_value_t = 3)]
        lines: usize,
        /// Sales per batch request.
        #[arg(long, default_value_t = 50)]
        batch: usize,
        /// Products (with a stock row) per business.
        #[arg(long, default_value_t = 200)]
        products: usize,
        /// Concurrent writers of the raw baseline (0 skips it); default: one per terminal.
        #[arg(long)]
        raw_writers: Option<usize>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// A real engine against the server (PostgreSQL) over loopback: first full sync, no-op
    /// sync, pushing a queue of sales, cold start, memory.
    E2e {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, env = "POS_BENCH_PRODUCTS", default_value_t = DatasetConfig::default().products)]
        products: u32,
        #[arg(long, env = "POS_BENCH_PARTIES", default_value_t = DatasetConfig::default().parties)]
        parties: u32,
        #[arg(long, default_value_t = DatasetConfig::default().seed)]
        seed: u64,
        /// Sales queued offline, then pushed.
        #[arg(long, default_value_t = 10_000)]
        sales: usize,
        #[arg(long, default_value_t = 3)]
        lines: usize,
        #[arg(long, default_value_t = 20)]
        noop_syncs: usize,
        #[arg(long, default_value_t = 3)]
        cold_starts: usize,
    },
    /// (Run by pos-load itself.) The server on a loopback port until stdin closes.
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: String,
    },
    /// (Run by pos-load itself.) Opens the till in DATA_DIR and searches once; prints JSON.
    #[command(hide = true)]
    ColdStart {
        #[arg(long)]
        data_dir: PathBuf,
    },
}

fn mode(args: &ServerArgs) -> Result<ServerMode> {
    Ok(match (&args.server, args.in_process) {
        (Some(url), _) => ServerMode::External(url.clone()),
        (None, true) => ServerMode::InProcess,
        (None, false) => ServerMode::ChildProcess(std::env::current_exe()?),
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Command::ColdStart { data_dir } = &args.command {
        return e2e::cold_start(data_dir);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async_main(args))
}

async fn async_main(args: Args) -> Result<()> {
    match args.command {
        Command::Serve { database_url, bind } => load::server::serve(&database_url, &bind).await,
        Command::ColdStart { .. } => unreachable!("handled before the runtime starts"),
        Command::Ingest {
            database,
            server,
            terminals,
            businesses,
            sales,
            lines,
            batch,
            products,
            raw_writers,
            seed,
        } => {
            let config = IngestConfig {
                terminals,
                businesses,
                sales_per_terminal: sales,
                lines_per_sale: lines,
                batch_size: batch,
                products,
                raw_sales: 0,
                seed,
            };
            let mode = mode(&server)?;
            let db = LoadDatabase::open(&database).await?;
            let outcome = ingest(&db, &mode, &config, raw_writers.unwrap_or(terminals)).await;
            db.dispose().await?;
            let report = outcome?;
            ensure!(
                report.exactly_once.holds(),
                "the exactly-once check failed: {:?}",
                report.exactly_once
            );
            Ok(())
        }
        Command::E2e {
            server,
            products,
            parties,
            seed,
            sales,
            lines,
            noop_syncs,
            cold_starts,
        } => {
            let config = E2eConfig {
                dataset: DatasetConfig {
                    seed,
                    products,
                    parties,
                    ..DatasetConfig::default()
                },
                sales,
                lines,
                noop_syncs,
                cold_starts,
            };
            println!("{}", machine());
            let report = e2e::run(&mode(&server)?, &config).await?;
            print_e2e(&config, &report);
            ensure!(
                report.server_sales == config.sales as i64
                    && report.server_distinct_sales == config.sales as i64,
                "exactly once failed: {} rows, {} distinct, {} sold",
                report.server_sales,
                report.server_distinct_sales,
                config.sales
            );
            Ok(())
        }
    }
}

async fn ingest(
    db: &LoadDatabase,
    mode: &ServerMode,
    config: &IngestConfig,
    raw_writers: usize,
) -> Result<IngestReport> {
    println!("{}", machine());
    let store = pos_server::store::connect(&db.url).await?;
    store.migrate().await?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    eprintln!(
        "seeding {} business(es) with {} products each…",
        config.businesses, config.products
    );
    let businesses =
        load::seed_businesses(store.as_ref(), &run, config.businesses, config.products).await?;
    drop(store);
    let server = RunningServer::start(mode, &db.url).await?;
    let pool = Pool::connect(&db.url).await?;
    eprintln!(
        "{} terminals × {} sales of {} lines, batches of {}, against {} ({})…",
        config.terminals,
        config.sales_per_terminal,
        config.lines_per_sale,
        config.batch_size,
        server.url,
        db.backend.name()
    );
    let report = load::run_ingest(&server, &pool, &businesses, config, raw_writers).await?;
    server.stop().await?;
    print_ingest(db, mode, config, &report);
    Ok(report)
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "machine: {cpus} CPUs, load average {load}, at {}",
        pos_protocol::time::format(&pos_protocol::time::now())
    )
}

fn latency_line(kind: &str, samples: &Samples) -> String {
    let s = samples.summary();
    format!(
        "  {kind:<10} n={:<6} p50 {:>9}  p95 {:>9}  p99 {:>9}  max {:>9}",
        s.n,
        ms(s.p50),
        ms(s.p95),
        ms(s.p99),
        ms(s.max)
    )
}

fn raw_line(raw: &RawRate) -> String {
    let s = raw.commit.summary();
    format!(
        "raw insert ({} writers, one transaction per sale + its lines{}): {} sales in {:.2} s = {:.0} sales/s; commit p50 {} p99 {}",
        raw.writers,
        if raw.counter { " + the invoice counter" } else { "" },
        raw.sales,
        raw.wall.as_secs_f64(),
        raw.sales_per_second(),
        ms(s.p50),
        ms(s.p99)
    )
}

fn print_ingest(db: &LoadDatabase, mode: &ServerMode, config: &IngestConfig, r: &IngestReport) {
    println!(
        "ingest: {} ({:?} server), {} terminals, {} business(es), {} sales × {} lines, batches of {}",
        db.backend.name(),
        match mode {
            ServerMode::InProcess => "in-process",
            ServerMode::ChildProcess(_) => "child-process",
            ServerMode::External(_) => "external",
        },
        config.terminals,
        config.businesses,
        config.sales_per_terminal,
        config.lines_per_sale,
        config.batch_size
    );
    println!(
        "throughput: {} sales in {:.2} s = {:.0} sales/s",
        r.sales,
        r.push_wall.as_secs_f64(),
        r.sales_per_second()
    );
    println!("latency per request:");
    for (kind, samples) in &r.metrics.latency {
        println!("{}", latency_line(kind, samples));
    }
    println!(
        "errors: {} failed requests {:?}, {} operations not taken, {} retries, {} answered as already applied",
        r.metrics.errors.values().sum::<u64>(),
        r.metrics.errors,
        r.metrics.operation_errors,
        r.metrics.retries,
        r.metrics.skipped
    );
    if !r.metrics.warnings.is_empty() {
        println!("sale warnings: {:?}", r.metrics.warnings);
    }
    for sample in &r.metrics.samples {
        println!("  e.g. {sample}");
    }
    let e = &r.exactly_once;
    println!(
        "exactly once: {} (sent {}, rows {}, missing {}, duplicated {}, unexpected {}, wrong line counts {})",
        if e.holds() { "HOLDS" } else { "BROKEN" },
        e.expected,
        e.found_rows,
        e.missing.len(),
        e.duplicated.len(),
        e.unexpected.len(),
        e.wrong_line_counts
    );
    if let Some(kib) = r.server_peak_rss_kib {
        println!(
            "server peak RSS during the push: {:.1} MiB",
            kib as f64 / 1024.0
        );
    }
    for raw in &r.raw {
        println!("{}", raw_line(raw));
        println!(
            "  ratio: server {:.0} sales/s ÷ raw {:.0} sales/s = {:.2}",
            r.sales_per_second(),
            raw.sales_per_second(),
            r.sales_per_second() / raw.sales_per_second().max(1e-9)
        );
    }
}

fn print_e2e(config: &E2eConfig, r: &E2eReport) {
    let mib =
        |kib: Option<u64>| kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    println!(
        "catalog: {} products with stock, {} parties (seeded in {:.1} s)",
        config.dataset.products,
        config.dataset.parties,
        r.seed_time.as_secs_f64()
    );
    println!(
        "first full sync (sign-in, register, {} records, engine apply) over HTTP: {:.2} s; server peak RSS {}",
        r.first_sync_records,
        r.first_sync.as_secs_f64(),
        mib(r.server_peak_rss_kib_sync)
    );
    println!(
        "the same download fetched and parsed, not applied ({} pages): {:.2} s; so the engine's apply took about {:.2} s",
        r.bare_download_pages,
        r.bare_download.as_secs_f64(),
        (r.first_sync.as_secs_f64() - r.bare_download.as_secs_f64()).max(0.0)
    );
    println!("no-op incremental sync (engine.sync_now):");
    println!("{}", latency_line("sync_now", &r.noop_sync));
    println!("{}", latency_line("health", &r.health));
    println!(
        "sold {} sales of {} lines offline in {:.1} s ({:.2} ms each)",
        config.sales,
        config.lines,
        r.selling.as_secs_f64(),
        r.selling.as_secs_f64() * 1000.0 / config.sales.max(1) as f64
    );
    println!(
        "push of the queue (engine.sync_now): {:.2} s, pushed {}, acknowledged {}; server rows {} ({} distinct); server peak RSS {}",
        r.push.as_secs_f64(),
        r.pushed,
        r.acknowledged,
        r.server_sales,
        r.server_distinct_sales,
        mib(r.server_peak_rss_kib_push)
    );
    println!("{}", raw_line(&r.raw_push));
    println!(
        "ratio: push {:.2} s ÷ raw {:.2} s = {:.2}",
        r.push.as_secs_f64(),
        r.raw_push.wall.as_secs_f64(),
        r.push.as_secs_f64() / r.raw_push.wall.as_secs_f64().max(1e-9)
    );
    for (n, c) in r.cold_starts.iter().enumerate() {
        println!(
            "cold start {}: Engine::open {:.0} ms, first search {:.1} ms, RSS {:.1} MiB",
            n + 1,
            c.open_ms,
            c.first_search_ms,
            c.after_open.rss_kib as f64 / 1024.0
        );
    }
    let mem = |m: &Option<pos_bench::stats::Memory>| {
        m.map_or("n/a".into(), |m| {
            format!(
                "RSS {:.1} MiB (peak {:.1})",
                m.rss_kib as f64 / 1024.0,
                m.peak_kib as f64 / 1024.0
            )
        })
    };
    println!(
        "terminal process (engine + HTTP client): after the first sync {}, after the push {}",
        mem(&r.terminal_after_sync),
        mem(&r.terminal_after_push)
    );
}
