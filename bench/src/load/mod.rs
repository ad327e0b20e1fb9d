//! The sync server under load: simulated terminals that sign in, register, pull and push
//! batches of sales over real HTTP exactly as the terminal does (the `pos_protocol` wire types,
//! a fresh idempotency key per operation, the same keys again on a retry), their latencies, a
//! check that every sale landed exactly once, and a raw insert baseline of the same database.
//!
//! `pos-load ingest` drives it; `pos-load e2e` ([`e2e`]) times a real engine against the server.

pub mod db;
pub mod e2e;
pub mod server;
pub mod terminal;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::stats::Samples;
pub use db::{Backend, LoadDatabase};
pub use server::{RunningServer, ServerMode};
pub use terminal::{TerminalPlan, TerminalReport};

/// The password of every account the load creates.
pub const PASSWORD: &str = "load-pass-1";

/// What one load run does.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub terminals: usize,
    /// Businesses the terminals are spread over (1: every sale takes the same invoice counter).
    pub businesses: usize,
    pub sales_per_terminal: usize,
    pub lines_per_sale: usize,
    /// Sales per batch request.
    pub batch_size: usize,
    /// Products (each with one stock row) per business.
    pub products: usize,
    /// Raw baseline: how many sales the raw writers insert (0: as many as the load pushed).
    pub raw_sales: usize,
    pub seed: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            terminals: 50,
            businesses: 1,
            sales_per_terminal: 200,
            lines_per_sale: 3,
            batch_size: 50,
            products: 200,
            raw_sales: 0,
            seed: 42,
        }
    }
}

/// A business the load created: its cashier and what a sale may name.
#[derive(Debug, Clone)]
pub struct LoadBusiness {
    pub id: i64,
    pub cashier_email: String,
    pub vat_inclusive: bool,
    pub vat_id: i64,
    pub vat_rate: Decimal,
    pub cash_payment_type_id: i64,
    pub stocks: Vec<LoadStock>,
}

/// A product's one stock row, and the price a sale charges for it.
#[derive(Debug, Clone, Copy)]
pub struct LoadStock {
    pub stock_id: i64,
    pub product_id: i64,
    pub price: Decimal,
}

async fn add(
    store: &dyn pos_server::store::Store,
    spec: &'static pos_server::resources::spec::ResourceSpec,
    business_id: i64,
    body: Value,
) -> Result<i64> {
    let Value::Object(body) = body else {
        anyhow::bail!("seed rows are objects")
    };
    let body: Map<String, Value> = body;
    let record = pos_server::resources::create_record(store, spec, business_id, &body)
        .await
        .map_err(|e| anyhow::anyhow!("seeding a {}: {e}", spec.entity_type))?;
    record
        .get("id")
        .and_then(Value::as_i64)
        .context("a created row has an id")
}

/// Creates `count` businesses (names unique to `run`), each with a cashier, a VAT rate, a cash
/// payment type, a warehouse and `products` products with plenty of stock, through the same
/// checks as the API.
pub async fn seed_businesses(
    store: &dyn pos_server::store::Store,
    run: &str,
    count: usize,
    products: usize,
) -> Result<Vec<LoadBusiness>> {
    use pos_server::resources::spec;
    let mut out = Vec::with_capacity(count);
    for k in 1..=count {
        // Half the businesses price with VAT included, half add it on top.
        let vat_inclusive = k % 2 == 0;
        let id = store
            .create_business(
                &pos_server::store::NewBusiness {
                    company_name: format!("Load Shop {run}-{k}"),
                    currency_code: "EUR".into(),
                    currency_symbol: "€".into(),
                    currency_minor_units: 2,
                    invoice_prefix: format!("L{k}-"),
                    timezone: "UTC".into(),
                    vat_inclusive,
                },
                pos_protocol::time::now(),
            )
            .await?;
        let cashier_email = format!("cashier-{run}-{k}@load.test");
        pos_server::seed::create_user(
            store,
            id,
            "Load Cashier",
            &cashier_email,
            "cashier",
            PASSWORD,
        )
        .await?;
        let vat_rate = Decimal::new(20, 0);
        let vat_id = add(
            store,
            &spec::VATS,
            id,
            json!({"name": "Standard 20%", "rate": "20"}),
        )
        .await?;
        let cash_payment_type_id = add(
            store,
            &spec::PAYMENT_TYPES,
            id,
            json!({"name": "Cash", "is_credit": false}),
        )
        .await?;
        let warehouse = add(
            store,
            &spec::WAREHOUSES,
            id,
            json!({"name": "Main Store", "address": "1 Load Street"}),
        )
        .await?;
        let mut stocks = Vec::with_capacity(products);
        for i in 0..products {
            let price = Decimal::new(99 + (i as i64 * 37) % 2_000, 2);
            let purchase = (price * Decimal::new(7, 1)).round_dp(2);
            let product = add(
                store,
                &spec::PRODUCTS,
                id,
                json!({
                    "productName": format!("Load Product {i}"),
                    "productCode": format!("LP{i:06}"),
                    "barcode": pos_server::seed::ean13(i as u64 + 1),
                    "vat_id": vat_id,
                    "vat_type": if vat_inclusive { "inclusive" } else { "exclusive" },
                    "productPurchasePrice": purchase.to_string(),
                    "productSalePrice": price.to_string(),
                    "productWholeSalePrice": price.to_string(),
                    "productDealerPrice": price.to_string(),
                }),
            )
            .await?;
            let stock = add(
                store,
                &spec::STOCKS,
                id,
                json!({
                    "product_id": product,
                    "warehouse_id": warehouse,
                    "productStock": "1000000",
                    "productPurchasePrice": purchase.to_string(),
                    "productSalePrice": price.to_string(),
                    "productWholeSalePrice": price.to_string(),
                    "productDealerPrice": price.to_string(),
                }),
            )
            .await?;
            stocks.push(LoadStock {
                stock_id: stock,
                product_id: product,
                price,
            });
        }
        out.push(LoadBusiness {
            id,
            cashier_email,
            vat_inclusive,
            vat_id,
            vat_rate,
            cash_payment_type_id,
            stocks,
        });
    }
    Ok(out)
}

/// Latencies and failures per request kind, merged over every terminal.
#[derive(Debug, Default)]
pub struct Metrics {
    pub latency: BTreeMap<&'static str, Samples>,
    /// Failed requests (transport error or an error status), by kind.
    pub errors: BTreeMap<&'static str, u64>,
    /// Operations the server answered with something other than created / skipped.
    pub operation_errors: u64,
    /// Requests sent again (same idempotency keys) after a failure.
    pub retries: u64,
    /// Operations answered as already applied (a retry whose first answer was lost).
    pub skipped: u64,
    /// Warnings the server attached to sales, by kind.
    pub warnings: BTreeMap<String, u64>,
    /// First few error messages, to see what went wrong.
    pub samples: Vec<String>,
}

impl Metrics {
    pub fn time(&mut self, kind: &'static str, took: Duration) {
        self.latency.entry(kind).or_default().push(took);
    }

    pub fn error(&mut self, kind: &'static str, message: String) {
        *self.errors.entry(kind).or_default() += 1;
        self.note(message);
    }

    pub fn note(&mut self, message: String) {
        if self.samples.len() < 10 {
            self.samples.push(message);
        }
    }

    pub fn merge(&mut self, other: Metrics) {
        for (kind, samples) in other.latency {
            self.latency.entry(kind).or_default().extend(&samples);
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        for (kind, n) in other.warnings {
            *self.warnings.entry(kind).or_default() += n;
        }
        self.operation_errors += other.operation_errors;
        self.retries += other.retries;
        self.skipped += other.skipped;
        for s in other.samples {
            self.note(s);
        }
    }

    pub fn total_errors(&self) -> u64 {
        self.errors.values().sum::<u64>() + self.operation_errors
    }
}

/// What [`check_exactly_once`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactlyOnce {
    pub expected: usize,
    pub found_rows: usize,
    pub missing: Vec<String>,
    pub duplicated: Vec<String>,
    pub unexpected: Vec<String>,
    /// Sales whose number of lines on the server differs from what was sent.
    pub wrong_line_counts: usize,
}

impl ExactlyOnce {
    pub fn holds(&self) -> bool {
        self.missing.is_empty()
            && self.duplicated.is_empty()
            && self.unexpected.is_empty()
            && self.wrong_line_counts == 0
            && self.found_rows == self.expected
    }
}

/// Compares the sales of `businesses` on the server (read from its database) with the client
/// references the terminals sent: each exactly once, none extra, every line there.
pub async fn check_exactly_once(
    db: &db::Pool,
    businesses: &[i64],
    sent: &[String],
    lines_per_sale: usize,
) -> Result<ExactlyOnce> {
    let rows = db.sales_with_line_counts(businesses).await?;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut wrong_line_counts = 0;
    for (reference, lines) in &rows {
        *seen.entry(reference.as_str()).or_default() += 1;
        if *lines as usize != lines_per_sale {
            wrong_line_counts += 1;
        }
    }
    let expected: std::collections::HashSet<&str> = sent.iter().map(String::as_str).collect();
    let missing = sent
        .iter()
        .filter(|r| !seen.contains_key(r.as_str()))
        .cloned()
        .collect();
    let duplicated = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(r, _)| r.to_string())
        .collect();
    let unexpected = seen
        .keys()
        .filter(|r| !expected.contains(*r))
        .map(|r| r.to_string())
        .collect();
    Ok(ExactlyOnce {
        expected: sent.len(),
        found_rows: rows.len(),
        missing,
        duplicated,
        unexpected,
        wrong_line_counts,
    })
}

/// Everything one ingest run measured.
#[derive(Debug)]
pub struct IngestReport {
    pub sales: usize,
    /// From the moment every terminal was signed in and synced to the last batch answered.
    pub push_wall: Duration,
    pub metrics: Metrics,
    pub exactly_once: ExactlyOnce,
    /// Raw inserts, without and with an invoice counter row taken in each transaction.
    pub raw: Vec<db::RawRate>,
    /// Peak resident memory of the server while the load ran, in KiB (a child process only).
    pub server_peak_rss_kib: Option<u64>,
}

impl IngestReport {
    pub fn sales_per_second(&self) -> f64 {
        self.sales as f64 / self.push_wall.as_secs_f64().max(1e-9)
    }
}

/// Runs the terminals against `server` (businesses already seeded), then checks the database.
/// `raw_writers`: concurrency of the raw baseline (0 skips it).
pub async fn run_ingest(
    server: &RunningServer,
    pool: &db::Pool,
    businesses: &[LoadBusiness],
    config: &IngestConfig,
    raw_writers: usize,
) -> Result<IngestReport> {
    ensure!(config.terminals > 0, "--terminals: at least 1");
    ensure!(
        config.batch_size > 0 && config.batch_size <= pos_protocol::sync::MAX_BATCH_OPERATIONS,
        "--batch: 1 to {}",
        pos_protocol::sync::MAX_BATCH_OPERATIONS
    );
    ensure!(config.lines_per_sale > 0, "--lines: at least 1");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(config.terminals)
        .build()?;
    let barrier = Arc::new(tokio::sync::Barrier::new(config.terminals + 1));
    let mut tasks = Vec::with_capacity(config.terminals);
    for n in 0..config.terminals {
        let plan = TerminalPlan {
            index: n,
            base: server.url.clone(),
            business: businesses[n % businesses.len()].clone(),
            sales: config.sales_per_terminal,
            lines: config.lines_per_sale,
            batch_size: config.batch_size,
            seed: config.seed.wrapping_add(n as u64 * 7919),
        };
        let http = http.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(terminal::run(http, plan, barrier)));
    }
    // Every terminal is signed in, registered and has its first full sync: push from here.
    barrier.wait().await;
    let started = Instant::now();
    let sampler = server.rss_sampler();
    let mut metrics = Metrics::default();
    let mut sent = Vec::new();
    let mut last_done = started;
    for task in tasks {
        let report = task.await.context("a terminal task panicked")??;
        last_done = last_done.max(report.finished_at);
        metrics.merge(report.metrics);
        sent.extend(report.references);
    }
    let push_wall = last_done.duration_since(started);
    let server_peak_rss_kib = sampler.stop().await;
    let business_ids: Vec<i64> = businesses.iter().map(|b| b.id).collect();
    let exactly_once =
        check_exactly_once(pool, &business_ids, &sent, config.lines_per_sale).await?;
    let mut raw = Vec::new();
    if raw_writers > 0 {
        let count = if config.raw_sales > 0 {
            config.raw_sales
        } else {
            sent.len()
        };
        for counter in [false, true] {
            raw.push(
                pool.raw_insert_rate(
                    businesses[0].id,
                    &businesses[0].stocks,
                    count,
                    config.lines_per_sale,
                    raw_writers,
                    counter,
                )
                .await?,
            );
        }
    }
    Ok(IngestReport {
        sales: sent.len(),
        push_wall,
        metrics,
        exactly_once,
        raw,
        server_peak_rss_kib,
    })
}
