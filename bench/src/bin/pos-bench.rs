//! Tail latencies of the till beside its raw SQLite baseline, measured in one run: each
//! operation runs N times, engine and baseline interleaved step by step (so machine drift
//! hits both alike), and the p50/p95/p99 and their ratio are printed. Then the engine's cold
//! start and resident memory, each in a fresh process on the loaded file.
//!
//! `cargo run --release -p pos-bench --bin pos-bench -- --help`

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use clap::{Parser, Subcommand};
use pos_bench::dataset::{Dataset, DatasetConfig};
use pos_bench::fixture::{self, BenchTill};
use pos_bench::raw::{DiskSync, ProductRow, RawBaseline};
use pos_bench::stats::{memory, ms, ratio, Memory, Samples, Summary};
use pos_bench::workload::{self, PULL_PAGE_PRODUCTS, SEARCH_CASES, SEARCH_LIMIT};
use serde::{Deserialize, Serialize};

#[derive(Parser)]
#[command(
    name = "pos-bench",
    about = "Terminal engine latencies beside raw SQLite baselines"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Internal>,
    #[arg(long, env = "POS_BENCH_PRODUCTS", default_value_t = DatasetConfig::default().products)]
    products: u32,
    #[arg(long, env = "POS_BENCH_PARTIES", default_value_t = DatasetConfig::default().parties)]
    parties: u32,
    #[arg(long, env = "POS_BENCH_SEED", default_value_t = DatasetConfig::default().seed)]
    seed: u64,
    /// Records per full-download page (the engine's own page size unless given).
    #[arg(long, default_value_t = pos_engine::SyncTimings::default().page_size as usize)]
    page_size: usize,
    /// Sales completed (each beside one raw insert).
    #[arg(long, env = "POS_BENCH_SALES", default_value_t = 1000)]
    sales: u64,
    /// Barcode look-ups.
    #[arg(long, env = "POS_BENCH_LOOKUPS", default_value_t = 5000)]
    lookups: u64,
    /// Searches per typed prefix.
    #[arg(long, env = "POS_BENCH_SEARCHES", default_value_t = 500)]
    searches: u64,
    /// Pull pages of 500 changed products applied.
    #[arg(long, env = "POS_BENCH_PULL_PAGES", default_value_t = 40)]
    pull_pages: u64,
    /// Fresh processes timing `Engine::open` to a first search.
    #[arg(long, env = "POS_BENCH_COLD_STARTS", default_value_t = 5)]
    cold_starts: u32,
}

/// The till's database file inside its data folder (the engine does not export the name).
const DATABASE_FILE: &str = "pos-terminal.db";

#[derive(Subcommand)]
enum Internal {
    /// (Run by pos-bench itself.) Opens the till in DATA_DIR, searches once, then runs a
    /// selling-screen workload and prints one JSON line: timings and memory.
    ColdStart {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        products: u32,
        #[arg(long)]
        seed: u64,
    },
    /// Fills a till's data folder with the seeded catalog through the engine's full-download
    /// path and signs a cashier in (no server; the till is offline), then leaves it for the
    /// desktop app's cold-start measurement (scripts/bench-app-start.sh).
    PrepareTill {
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// What one fresh process measured.
#[derive(Debug, Serialize, Deserialize)]
struct ColdStart {
    /// Raw baseline: open the file and `PRAGMA quick_check`, before the engine opens it.
    quick_check_ms: f64,
    open_ms: f64,
    first_search_ms: f64,
    /// Memory before `Engine::open`: the bare process.
    before: Memory,
    /// After the first search.
    after_open: Memory,
    /// After the selling-screen workload (every search case, 1000 scans, 20 sales).
    after_work: Memory,
}

fn main() -> Result<()> {
    let args = Args::parse();
    match args.command {
        Some(Internal::ColdStart {
            ref data_dir,
            products,
            seed,
        }) => cold_start_child(data_dir, products, seed),
        Some(Internal::PrepareTill { ref data_dir }) => prepare_till(data_dir, &args),
        None => run(&args),
    }
}

/// One row of the report.
struct Row {
    what: String,
    engine: Summary,
    baseline: Option<(&'static str, Summary)>,
}

fn run(args: &Args) -> Result<()> {
    ensure!(args.page_size > 0, "--page-size: must be at least 1");
    ensure!(
        args.sales > 0 && args.lookups > 0 && args.searches > 0 && args.pull_pages > 0,
        "--sales, --lookups, --searches and --pull-pages must be at least 1"
    );
    let config = DatasetConfig {
        seed: args.seed,
        products: args.products,
        parties: args.parties,
        ..DatasetConfig::default()
    };
    eprintln!(
        "loading {} products with stock and {} parties through the engine's full-download path…",
        config.products, config.parties
    );
    let load_at_start = load_average();
    let mut till = BenchTill::prepare(config, args.page_size)?;
    let db_size = std::fs::metadata(till.engine.database_path())?.len();
    let mut rows = Vec::new();

    eprintln!("sales ({})…", args.sales);
    let (mut fill, mut sale, mut raw_sale, mut disk) = (
        Samples::with_capacity(args.sales as usize),
        Samples::with_capacity(args.sales as usize),
        Samples::with_capacity(args.sales as usize),
        Samples::with_capacity(args.sales as usize),
    );
    let mut disk_sync = DiskSync::create(&till.till_dir().join("fsync-probe"))?;
    for n in 1..=args.sales {
        let started = Instant::now();
        till.fill_cart(n)?;
        fill.push(started.elapsed());
        let started = Instant::now();
        let done = till.complete_sale()?;
        sale.push(started.elapsed());
        ensure!(
            done.receipt.lines.len() == workload::BASKET_LINES,
            "a sale lost lines"
        );
        let started = Instant::now();
        till.raw.insert_sale()?;
        raw_sale.push(started.elapsed());
        let started = Instant::now();
        disk_sync.write_and_sync()?;
        disk.push(started.elapsed());
    }
    rows.push(Row {
        what: "complete a 5-line sale (durable)".into(),
        engine: sale.summary(),
        baseline: Some((
            "raw insert 1 sale + 5 lines + 1 outbox row, one tx",
            raw_sale.summary(),
        )),
    });
    // The outbox grows by one queued operation a sale: does the cost of a sale grow with it?
    let tenth = sale.len().div_ceil(10);
    rows.push(Row {
        what: format!("complete a sale, the first {tenth} of the run"),
        engine: sale.slice(0..tenth).summary(),
        baseline: Some((
            "raw insert, the same steps",
            raw_sale.slice(0..tenth).summary(),
        )),
    });
    rows.push(Row {
        what: format!(
            "complete a sale, the last {tenth} (outbox {} queued)",
            sale.len()
        ),
        engine: sale.slice(sale.len() - tenth..sale.len()).summary(),
        baseline: Some((
            "raw insert, the same steps",
            raw_sale.slice(sale.len() - tenth..sale.len()).summary(),
        )),
    });
    rows.push(Row {
        what: "disk alone: append 4 KiB + fdatasync".into(),
        engine: disk.summary(),
        baseline: None,
    });
    rows.push(Row {
        what: "add 5 products to the cart (by id)".into(),
        engine: fill.summary(),
        baseline: None,
    });

    eprintln!("barcode look-ups ({})…", args.lookups);
    let (mut scan, mut raw_scan) = (Samples::default(), Samples::default());
    for n in 0..args.lookups {
        let code = workload::scanned_barcode(&till.dataset, n);
        let started = Instant::now();
        let found = till.engine.product_by_code(&code)?;
        scan.push(started.elapsed());
        let started = Instant::now();
        let raw_found = till.raw.product_by_barcode(&code)?;
        raw_scan.push(started.elapsed());
        ensure!(
            found.map(|p| p.id) == raw_found && raw_found.is_some(),
            "barcode {code}: the engine and the baseline disagree"
        );
    }
    rows.push(Row {
        what: "barcode look-up".into(),
        engine: scan.summary(),
        baseline: Some(("indexed SELECT by barcode", raw_scan.summary())),
    });

    let mut all_search = Samples::default();
    let mut all_raw_search = Samples::default();
    for case in SEARCH_CASES {
        eprintln!("search '{}' ({})…", case.text, args.searches);
        let (mut search, mut raw_search) = (Samples::default(), Samples::default());
        let mut hits = 0;
        for _ in 0..args.searches {
            let started = Instant::now();
            let found = till.engine.search_products(case.text, SEARCH_LIMIT)?;
            let took = started.elapsed();
            search.push(took);
            all_search.push(took);
            let started = Instant::now();
            let raw_found = till.raw.search(case.fts, SEARCH_LIMIT)?;
            let took = started.elapsed();
            raw_search.push(took);
            all_raw_search.push(took);
            let mut ids: Vec<i64> = found.iter().map(|p| p.id).collect();
            ids.sort_unstable();
            ensure!(
                ids == raw_found,
                "search '{}': the engine and the baseline found different rows",
                case.text
            );
            hits = found.len();
        }
        ensure!(hits > 0, "search '{}' found nothing", case.text);
        rows.push(Row {
            what: format!("name-prefix search '{}' (first {SEARCH_LIMIT})", case.text),
            engine: search.summary(),
            baseline: Some((
                "FTS5 prefix MATCH, plain FTS5 table, same rows",
                raw_search.summary(),
            )),
        });
    }
    rows.push(Row {
        what: "name-prefix search, all cases together".into(),
        engine: all_search.summary(),
        baseline: Some((
            "FTS5 prefix MATCH, plain FTS5 table, same rows",
            all_raw_search.summary(),
        )),
    });

    eprintln!(
        "pull pages ({} × {PULL_PAGE_PRODUCTS} products)…",
        args.pull_pages
    );
    let (mut pull, mut raw_pull) = (Samples::default(), Samples::default());
    for n in 0..args.pull_pages {
        let changes = till.dataset.changed_products(
            workload::pull_page_start(&till.dataset, n),
            PULL_PAGE_PRODUCTS,
            n as i64 + 2,
        );
        let raw_rows = changes
            .data
            .products
            .as_ref()
            .map(|set| {
                set.updated
                    .iter()
                    .map(ProductRow::of)
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let started = Instant::now();
        let applied = till.engine.apply_changes(&changes)?;
        pull.push(started.elapsed());
        let started = Instant::now();
        till.raw.upsert_products(&raw_rows)?;
        raw_pull.push(started.elapsed());
        ensure!(
            applied as usize == raw_rows.len(),
            "a pull page lost records"
        );
    }
    rows.push(Row {
        what: format!("apply one pull page ({PULL_PAGE_PRODUCTS} changed products)"),
        engine: pull.summary(),
        baseline: Some((
            "500 upserts in one tx (same indexes, FTS triggers)",
            raw_pull.summary(),
        )),
    });
    // The same upserts once the FTS trigger skips rows whose name did not change.
    till.raw.reindex_names_only_when_changed()?;
    let mut raw_pull_lean = Samples::default();
    for n in 0..args.pull_pages {
        let changes = till.dataset.changed_products(
            workload::pull_page_start(&till.dataset, n),
            PULL_PAGE_PRODUCTS,
            n as i64 + 2 + args.pull_pages as i64,
        );
        let raw_rows = changes
            .data
            .products
            .iter()
            .flat_map(|set| &set.updated)
            .map(ProductRow::of)
            .collect::<Result<Vec<_>>>()?;
        let started = Instant::now();
        till.raw.upsert_products(&raw_rows)?;
        raw_pull_lean.push(started.elapsed());
    }
    rows.push(Row {
        what: "(experiment) raw 500 upserts, FTS re-index only on a real name change".into(),
        engine: raw_pull_lean.summary(),
        baseline: Some((
            "500 upserts in one tx (same indexes, FTS triggers)",
            raw_pull.summary(),
        )),
    });

    let till_dir = till.till_dir();
    let load = till.load.clone();
    // The engine must be closed before the fresh processes open its file (the folder stays
    // until `till` goes out of scope).
    drop(till.engine);
    eprintln!("cold starts ({})…", args.cold_starts);
    let mut opens = Vec::new();
    for _ in 0..args.cold_starts {
        let output = Command::new(std::env::current_exe()?)
            .args(["cold-start", "--data-dir"])
            .arg(&till_dir)
            .args([
                "--products",
                &config.products.to_string(),
                "--seed",
                &config.seed.to_string(),
            ])
            .output()
            .context("starting the cold-start process")?;
        ensure!(
            output.status.success(),
            "cold-start process failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = String::from_utf8(output.stdout)?;
        opens.push(serde_json::from_str::<ColdStart>(line.trim())?);
    }

    print_report(args, &config, db_size, &load, &rows, &opens);
    println!(
        "\nLoad average (1, 5, 15 min) at the start: {load_at_start}; at the end: {}",
        load_average()
    );
    Ok(())
}

fn print_report(
    args: &Args,
    config: &DatasetConfig,
    db_size: u64,
    load: &fixture::LoadReport,
    rows: &[Row],
    opens: &[ColdStart],
) {
    println!(
        "\n## pos-bench: {} products with stock, {} parties (seed {}), database {:.1} MiB",
        config.products,
        config.parties,
        config.seed,
        db_size as f64 / (1024.0 * 1024.0)
    );
    println!(
        "\nFull download applied locally (engine only, no HTTP): {} pages of {}, {} records in {:.2} s",
        load.pages,
        args.page_size,
        load.records,
        load.apply.as_secs_f64()
    );
    for (entity, pages, time) in &load.by_entity {
        println!(
            "  pages mostly of {entity}: {pages} pages, {:.2} s ({:.1} ms a page)",
            time.as_secs_f64(),
            time.as_secs_f64() * 1000.0 / *pages as f64
        );
    }
    println!("\n| operation | n | p50 ms | p95 ms | p99 ms | max ms | baseline | base p50 ms | base p99 ms | p50 ratio | p99 ratio |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let e = row.engine;
        match &row.baseline {
            Some((what, b)) => println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.what,
                e.n,
                ms(e.p50),
                ms(e.p95),
                ms(e.p99),
                ms(e.max),
                what,
                ms(b.p50),
                ms(b.p99),
                ratio(e.p50, b.p50),
                ratio(e.p99, b.p99)
            ),
            None => println!(
                "| {} | {} | {} | {} | {} | {} | – | | | | |",
                row.what,
                e.n,
                ms(e.p50),
                ms(e.p95),
                ms(e.p99),
                ms(e.max)
            ),
        }
    }
    if opens.is_empty() {
        return;
    }
    let mut open_total = Samples::default();
    for o in opens {
        open_total.push(Duration::from_secs_f64(
            (o.open_ms + o.first_search_ms) / 1000.0,
        ));
    }
    let worst = |f: fn(&ColdStart) -> u64| opens.iter().map(f).max().unwrap_or(0);
    println!(
        "\nCold start, Engine::open to a first search, {} fresh processes (file in the OS cache): \
         median {} ms, max {} ms",
        opens.len(),
        ms(open_total.percentile(50.0)),
        ms(open_total.max())
    );
    for (i, o) in opens.iter().enumerate() {
        println!(
            "  run {}: open {:.1} ms + first search {:.1} ms; raw open + PRAGMA quick_check \
             alone {:.1} ms",
            i + 1,
            o.open_ms,
            o.first_search_ms,
            o.quick_check_ms
        );
    }
    println!(
        "Resident memory (max over runs): bare process {:.1} MiB; after open + first search \
         {:.1} MiB; after the selling workload {:.1} MiB (peak {:.1} MiB)",
        worst(|o| o.before.rss_kib) as f64 / 1024.0,
        worst(|o| o.after_open.rss_kib) as f64 / 1024.0,
        worst(|o| o.after_work.rss_kib) as f64 / 1024.0,
        worst(|o| o.after_work.peak_kib) as f64 / 1024.0,
    );
}

fn prepare_till(data_dir: &std::path::Path, args: &Args) -> Result<()> {
    fixture::use_file_credentials();
    let dataset = Dataset::new(DatasetConfig {
        seed: args.seed,
        products: args.products,
        parties: args.parties,
        ..DatasetConfig::default()
    });
    let engine = fixture::open_engine(data_dir)?;
    let load = fixture::load_full_download(&engine, &dataset, args.page_size)?;
    fixture::sign_in(&engine, &dataset)?;
    eprintln!(
        "{} records in {} pages loaded into {} in {:.1} s",
        load.records,
        load.pages,
        data_dir.display(),
        load.apply.as_secs_f64()
    );
    Ok(())
}

fn cold_start_child(data_dir: &std::path::Path, products: u32, seed: u64) -> Result<()> {
    fixture::use_file_credentials();
    let before = memory().context("no /proc/self/status on this system")?;
    let quick_check = RawBaseline::time_quick_check(&data_dir.join(DATABASE_FILE))?;
    let started = Instant::now();
    let engine = fixture::open_engine(data_dir)?;
    let open = started.elapsed();
    let started = Instant::now();
    let first = engine.search_products(SEARCH_CASES[1].text, SEARCH_LIMIT)?;
    let first_search = started.elapsed();
    ensure!(!first.is_empty(), "the first search found nothing");
    let after_open = memory().context("no /proc/self/status")?;

    let dataset = Dataset::new(DatasetConfig {
        seed,
        products,
        ..DatasetConfig::default()
    });
    for case in SEARCH_CASES {
        engine.search_products(case.text, SEARCH_LIMIT)?;
    }
    for n in 0..1000 {
        engine
            .product_by_code(&workload::scanned_barcode(&dataset, n))?
            .context("a scanned barcode was not found")?;
    }
    for n in 0..20 {
        for index in workload::basket(&dataset, 1_000_000 + n) {
            engine.cart_add(i64::from(index) + 1, pos_protocol::Decimal::ONE)?;
        }
        engine.complete_sale(pos_engine::PaymentInput::default())?;
    }
    let after_work = memory().context("no /proc/self/status")?;
    let report = ColdStart {
        quick_check_ms: quick_check.as_secs_f64() * 1000.0,
        open_ms: open.as_secs_f64() * 1000.0,
        first_search_ms: first_search.as_secs_f64() * 1000.0,
        before,
        after_open,
        after_work,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
