//! End-to-end timings of a real terminal engine against the real server over loopback HTTP:
//! first full sync of the seeded catalog (100k products with stock, 20k parties) into an empty
//! till, a no-op incremental sync, pushing 10,000 sales queued during an outage, the engine's
//! cold start on that catalog, and the resident memory of both sides.
//!
//! The catalog goes into the server's PostgreSQL database with bulk `INSERT … SELECT FROM
//! UNNEST` (explicit ids, as `pos_bench::dataset` numbers them); the API's per-row checks would
//! take minutes for 220k rows and are not what is measured here.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::db::{Backend, LoadDatabase, Pool, RawRate};
use super::server::{RunningServer, ServerMode};
use super::{LoadStock, PASSWORD};
use crate::dataset::{Dataset, DatasetConfig};
use crate::stats::{memory, Memory, Samples};

#[derive(Debug, Clone)]
pub struct E2eConfig {
    pub dataset: DatasetConfig,
    /// Sales queued while offline, then pushed at once.
    pub sales: usize,
    pub lines: usize,
    pub noop_syncs: usize,
    pub cold_starts: usize,
}

#[derive(Debug)]
pub struct E2eReport {
    pub seed_time: Duration,
    pub first_sync: Duration,
    pub first_sync_records: u64,
    /// The same pages fetched over HTTP and parsed, not applied: the server's and the wire's
    /// share of the first sync.
    pub bare_download: Duration,
    pub bare_download_pages: usize,
    pub noop_sync: Samples,
    /// `GET /api/v1/sync/health` on the same server: the HTTP round trip alone.
    pub health: Samples,
    pub selling: Duration,
    pub push: Duration,
    pub pushed: u64,
    pub acknowledged: u64,
    pub server_sales: i64,
    pub server_distinct_sales: i64,
    pub raw_push: RawRate,
    pub cold_starts: Vec<ColdStart>,
    pub server_peak_rss_kib_sync: Option<u64>,
    pub server_peak_rss_kib_push: Option<u64>,
    /// This process (the engine, its HTTP client and runtime) after the first sync and after
    /// the push.
    pub terminal_after_sync: Option<Memory>,
    pub terminal_after_push: Option<Memory>,
}

/// Engine cold start, measured in a fresh process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColdStart {
    pub open_ms: f64,
    pub first_search_ms: f64,
    pub after_open: Memory,
}

/// Inserts the catalog into a migrated PostgreSQL database, for the business the dataset names.
pub async fn seed_catalog(pool: &PgPool, dataset: &Dataset) -> Result<()> {
    let business = dataset.config().business_id;
    let mut tx = pool.begin().await?;
    for c in dataset.categories() {
        sqlx::query("INSERT INTO categories (id, business_id, category_name, icon, status, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)")
            .bind(c.id).bind(business).bind(&c.category_name).bind(&c.icon).bind(i64::from(c.status)).bind(c.created_at)
            .execute(&mut *tx).await?;
    }
    for b in dataset.brands() {
        sqlx::query("INSERT INTO brands (id, business_id, brand_name, icon, status, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)")
            .bind(b.id).bind(business).bind(&b.brand_name).bind(&b.icon).bind(i64::from(b.status)).bind(b.created_at)
            .execute(&mut *tx).await?;
    }
    for u in dataset.units() {
        sqlx::query("INSERT INTO units (id, business_id, unit_name, status, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)")
            .bind(u.id).bind(business).bind(&u.unit_name).bind(i64::from(u.status)).bind(u.created_at)
            .execute(&mut *tx).await?;
    }
    for v in dataset.vats() {
        sqlx::query("INSERT INTO vats (id, business_id, name, rate, status, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)")
            .bind(v.id).bind(business).bind(&v.name).bind(v.rate).bind(v.status).bind(v.created_at)
            .execute(&mut *tx).await?;
    }
    for p in dataset.payment_types() {
        sqlx::query("INSERT INTO payment_types (id, business_id, name, is_credit, status, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)")
            .bind(p.id).bind(business).bind(&p.name).bind(p.is_credit).bind(i64::from(p.status)).bind(p.created_at)
            .execute(&mut *tx).await?;
    }
    for w in dataset.warehouses() {
        sqlx::query("INSERT INTO warehouses (id, business_id, name, address, phone, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)")
            .bind(w.id).bind(business).bind(&w.name).bind(&w.address).bind(&w.phone).bind(w.created_at)
            .execute(&mut *tx).await?;
    }
    tx.commit().await?;

    const CHUNK: u32 = 5_000;
    let products = dataset.config().products;
    let mut first = 0;
    while first < products {
        let rows: Vec<_> = (first..(first + CHUNK).min(products))
            .map(|i| dataset.product(i))
            .collect();
        sqlx::query(
            "INSERT INTO products (id, business_id, product_name, product_code, barcode, category_id, \
             brand_id, unit_id, vat_id, vat_type, product_type, product_purchase_price, \
             product_sale_price, product_wholesale_price, product_dealer_price, alert_qty, version, \
             created_at, updated_at) \
             SELECT id, $1, name, code, barcode, category, brand, unit, vat, vat_type, kind, purchase, \
                    sale, wholesale, dealer, alert, 1, at, at \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], \
                         $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::numeric[], \
                         $13::numeric[], $14::numeric[], $15::numeric[], $16::numeric[], \
                         $17::timestamptz[]) \
               AS t(id, name, code, barcode, category, brand, unit, vat, vat_type, kind, purchase, \
                    sale, wholesale, dealer, alert, at)",
        )
        .bind(business)
        .bind(rows.iter().map(|p| p.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.product_name.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.product_code.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.barcode.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.category_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.brand_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.unit_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.vat_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.vat_type.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.product_type.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.product_purchase_price).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.product_sale_price).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.product_wholesale_price).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.product_dealer_price).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.alert_qty).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.created_at).collect::<Vec<DateTime<Utc>>>())
        .execute(pool)
        .await?;
        let stocks: Vec<_> = (first..(first + CHUNK).min(products))
            .map(|i| dataset.stock(i))
            .collect();
        sqlx::query(
            "INSERT INTO stocks (id, business_id, product_id, warehouse_id, product_stock, \
             product_purchase_price, product_sale_price, product_wholesale_price, \
             product_dealer_price, version, created_at, updated_at) \
             SELECT id, $1, product, warehouse, quantity, purchase, sale, wholesale, dealer, 1, at, at \
             FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::numeric[], $6::numeric[], \
                         $7::numeric[], $8::numeric[], $9::numeric[], $10::timestamptz[]) \
               AS t(id, product, warehouse, quantity, purchase, sale, wholesale, dealer, at)",
        )
        .bind(business)
        .bind(stocks.iter().map(|s| s.id).collect::<Vec<_>>())
        .bind(stocks.iter().map(|s| s.product_id).collect::<Vec<_>>())
        .bind(stocks.iter().map(|s| s.warehouse_id).collect::<Vec<_>>())
        .bind(stocks.iter().map(|s| s.product_stock).collect::<Vec<_>>())
        .bind(stocks.iter().map(|s| s.product_purchase_price).collect::<Vec<_>>())
        .bind(stocks.iter().map(|s| s.product_sale_price).collect::<Vec<_>>())
        .bind(stocks.iter().map(|s| s.product_wholesale_price).collect::<Vec<_>>())
        .bind(stocks.iter().map(|s| s.product_dealer_price).collect::<Vec<_>>())
        .bind(stocks.iter().map(|s| s.created_at).collect::<Vec<DateTime<Utc>>>())
        .execute(pool)
        .await?;
        first += CHUNK;
    }
    let parties = dataset.config().parties;
    let mut first = 0;
    while first < parties {
        let rows: Vec<_> = (first..(first + CHUNK).min(parties))
            .map(|i| dataset.party(i))
            .collect();
        sqlx::query(
            "INSERT INTO parties (id, business_id, name, email, phone, address, party_type, due, \
             credit_limit, opening_balance, status, version, created_at, updated_at) \
             SELECT id, $1, name, email, phone, address, kind, due, credit_limit, opening, status, 1, at, at \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                         $8::numeric[], $9::numeric[], $10::numeric[], $11::bigint[], $12::timestamptz[]) \
               AS t(id, name, email, phone, address, kind, due, credit_limit, opening, status, at)",
        )
        .bind(business)
        .bind(rows.iter().map(|p| p.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.name.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.email.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.phone.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.address.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.party_type.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.due).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.credit_limit).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.opening_balance).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| i64::from(p.status)).collect::<Vec<_>>())
        .bind(rows.iter().map(|p| p.created_at).collect::<Vec<DateTime<Utc>>>())
        .execute(pool)
        .await?;
        first += CHUNK;
    }
    // Explicit ids leave the identity sequences behind; later creates must not collide.
    for table in [
        "categories",
        "brands",
        "units",
        "vats",
        "payment_types",
        "warehouses",
        "products",
        "stocks",
        "parties",
    ] {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        ))
        .execute(pool)
        .await?;
    }
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

const CASHIER: &str = "cashier@e2e.test";

pub async fn run(mode: &ServerMode, config: &E2eConfig) -> Result<E2eReport> {
    let database = LoadDatabase::open("postgres").await?;
    let outcome = run_on(mode, &database, config).await;
    database.dispose().await?;
    outcome
}

async fn run_on(
    mode: &ServerMode,
    database: &LoadDatabase,
    config: &E2eConfig,
) -> Result<E2eReport> {
    ensure!(
        database.backend == Backend::Postgres,
        "the end-to-end run seeds PostgreSQL"
    );
    let seed_started = Instant::now();
    let store = pos_server::store::connect(&database.url).await?;
    store.migrate().await?;
    let mut dataset_config = config.dataset;
    let settings = Dataset::new(dataset_config).settings();
    dataset_config.business_id = store
        .create_business(
            &pos_server::store::NewBusiness {
                company_name: settings.company_name.clone(),
                currency_code: settings.currency.code.clone(),
                currency_symbol: settings.currency.symbol.clone(),
                currency_minor_units: settings.currency.minor_units,
                invoice_prefix: settings.invoice_prefix.clone(),
                timezone: "UTC".into(),
                vat_inclusive: settings.vat_inclusive,
            },
            pos_protocol::time::now(),
        )
        .await?;
    let dataset = Dataset::new(dataset_config);
    pos_server::seed::create_user(
        store.as_ref(),
        dataset_config.business_id,
        "E2E Cashier",
        CASHIER,
        "cashier",
        PASSWORD,
    )
    .await?;
    let pool = Pool::connect(&database.url).await?;
    let Pool::Postgres(pg) = &pool else {
        bail!("the end-to-end run seeds PostgreSQL")
    };
    seed_catalog(pg, &dataset).await?;
    drop(store);
    let seed_time = seed_started.elapsed();
    eprintln!(
        "seeded {} products, {} parties in {:.1} s",
        dataset_config.products,
        dataset_config.parties,
        seed_time.as_secs_f64()
    );

    let server = RunningServer::start(mode, &database.url).await?;
    crate::fixture::use_file_credentials();
    let folder = tempfile::tempdir()?;
    let engine = pos_engine::Engine::open(pos_engine::EngineConfig::new(folder.path()))?;

    eprintln!("first full sync…");
    let sampler = server.rss_sampler();
    let started = Instant::now();
    engine
        .login(&server.url, CASHIER, PASSWORD, Some("E2E till".into()))
        .await
        .context("sign-in and first full sync")?;
    let first_sync = started.elapsed();
    let server_peak_rss_kib_sync = sampler.stop().await;
    let terminal_after_sync = memory();
    let first_sync_records = dataset.total_records() as u64;
    eprintln!("the same download, not applied…");
    let (bare_download, bare_download_pages) = bare_full_download(&server.url).await?;

    eprintln!("no-op syncs…");
    let http = reqwest::Client::new();
    let mut noop_sync = Samples::default();
    let mut health = Samples::default();
    for _ in 0..config.noop_syncs {
        let t = Instant::now();
        let report = engine.sync_now().await?;
        noop_sync.push(t.elapsed());
        ensure!(
            report.pushed == 0 && report.pulled_records == 0,
            "a no-op sync moved data: {report:?}"
        );
        let t = Instant::now();
        let answer = http
            .get(format!("{}/api/v1/sync/health", server.url))
            .send()
            .await?;
        ensure!(answer.status().is_success(), "health: {}", answer.status());
        answer.bytes().await?;
        health.push(t.elapsed());
    }

    eprintln!("selling {} sales offline…", config.sales);
    let started = Instant::now();
    let products = u64::from(dataset_config.products);
    for n in 0..config.sales as u64 {
        for line in 0..config.lines as u64 {
            let product = (n * 7_919 + line * 104_729) % products + 1;
            engine.cart_add(product as i64, Decimal::ONE)?;
        }
        engine.complete_sale(pos_engine::PaymentInput::default())?;
    }
    let selling = started.elapsed();

    eprintln!("pushing the queue…");
    let sampler = server.rss_sampler();
    let started = Instant::now();
    let report = engine.sync_now().await?;
    let push = started.elapsed();
    let server_peak_rss_kib_push = sampler.stop().await;
    let terminal_after_push = memory();
    let device_id = engine.device()?.id;
    let (server_sales, server_distinct_sales): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT client_reference) FROM sales WHERE device_id = $1",
    )
    .bind(&device_id)
    .fetch_one(pg)
    .await?;

    eprintln!("raw baseline…");
    let stocks: Vec<LoadStock> = (0..dataset_config.products.min(1000))
        .map(|i| {
            let s = dataset.stock(i);
            LoadStock {
                stock_id: s.id,
                product_id: s.product_id,
                price: s.product_sale_price,
            }
        })
        .collect();
    // One writer: the server applies one batch's operations one after another.
    let raw_push = pool
        .raw_insert_rate(
            dataset_config.business_id,
            &stocks,
            config.sales,
            config.lines,
            1,
            true,
        )
        .await?;

    let data_dir = folder.path().to_path_buf();
    drop(engine);
    server.stop().await?;
    let mut cold_starts = Vec::new();
    for _ in 0..config.cold_starts {
        cold_starts.push(cold_start_in_child(&data_dir)?);
    }
    Ok(E2eReport {
        seed_time,
        first_sync,
        first_sync_records,
        bare_download,
        bare_download_pages,
        noop_sync,
        health,
        selling,
        push,
        pushed: report.pushed,
        acknowledged: report.acknowledged,
        server_sales,
        server_distinct_sales,
        raw_push,
        cold_starts,
        server_peak_rss_kib_sync,
        server_peak_rss_kib_push,
        terminal_after_sync,
        terminal_after_push,
    })
}

/// Signs in, registers a fresh device and fetches every full-download page (parsed into the
/// wire types, not applied).
async fn bare_full_download(base: &str) -> Result<(Duration, usize)> {
    use pos_protocol::sync::{
        FullResponse, RegisterRequest, CLIENT_VERSION_HEADER, DEVICE_ID_HEADER,
    };
    let http = reqwest::Client::new();
    let device = uuid::Uuid::new_v4().to_string();
    let signed_in: pos_protocol::auth::SignInResponse = http
        .post(format!("{base}/api/v1/sign-in"))
        .json(&pos_protocol::auth::SignInRequest {
            email: CASHIER.into(),
            password: PASSWORD.into(),
        })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = signed_in.data.token;
    let request = |r: reqwest::RequestBuilder| {
        r.bearer_auth(&token)
            .header(CLIENT_VERSION_HEADER, pos_engine::CLIENT_VERSION)
            .header(DEVICE_ID_HEADER, &device)
    };
    request(http.post(format!("{base}/api/v1/sync/register")))
        .json(&RegisterRequest {
            device_id: device.clone(),
            device_name: "E2E bare download".into(),
            os: None,
            app_version: Some(pos_engine::CLIENT_VERSION.into()),
            pin_key: None,
        })
        .send()
        .await?
        .error_for_status()?;
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        // The page size the engine asks for.
        let mut query = vec![(
            "page_size",
            pos_engine::SyncTimings::default().page_size.to_string(),
        )];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let bytes = request(http.get(format!("{base}/api/v1/sync/full")))
            .query(&query)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let page: FullResponse = serde_json::from_slice(&bytes)?;
        pages += 1;
        if !page.has_more {
            return Ok((started.elapsed(), pages));
        }
        cursor = Some(
            page.next_cursor
                .context("full: has_more without a cursor")?,
        );
    }
}

fn cold_start_in_child(data_dir: &Path) -> Result<ColdStart> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .arg("cold-start")
        .arg("--data-dir")
        .arg(data_dir)
        .output()?;
    ensure!(
        output.status.success(),
        "cold-start process: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// `pos-load cold-start`: opens the till in `data_dir` and searches once; prints JSON.
pub fn cold_start(data_dir: &Path) -> Result<()> {
    crate::fixture::use_file_credentials();
    let started = Instant::now();
    let engine = crate::fixture::open_engine(data_dir)?;
    let open = started.elapsed();
    let started = Instant::now();
    let found = engine.search_products("choc", 20)?;
    let first_search = started.elapsed();
    ensure!(!found.is_empty(), "the first search found nothing");
    let report = ColdStart {
        open_ms: open.as_secs_f64() * 1000.0,
        first_search_ms: first_search.as_secs_f64() * 1000.0,
        after_open: memory().context("no /proc/self/status")?,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
