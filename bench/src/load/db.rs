//! The load's database: a fresh one per run (a PostgreSQL database with a unique name, dropped
//! afterwards, or a SQLite file in a temporary folder), direct reads for the exactly-once check,
//! and the raw insert baseline.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Row};

use super::LoadStock;
use crate::stats::Samples;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// `POS_LOAD_ADMIN_URL`, else the local PostgreSQL the tests use.
pub fn admin_url() -> String {
    std::env::var("POS_LOAD_ADMIN_URL")
        .or_else(|_| std::env::var("POS_TEST_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database for one run. Call [`LoadDatabase::dispose`] at the end: a PostgreSQL database
/// this run created is dropped, a SQLite folder deleted; a database given by URL is kept.
pub struct LoadDatabase {
    pub backend: Backend,
    pub url: String,
    created_postgres: Option<String>,
    _folder: Option<tempfile::TempDir>,
}

impl LoadDatabase {
    /// `postgres` / `sqlite`: a fresh database; anything else: that URL, as it is.
    pub async fn open(spec: &str) -> Result<LoadDatabase> {
        match spec {
            "postgres" | "postgresql" | "pg" => Self::fresh_postgres().await,
            "sqlite" => {
                let folder = tempfile::tempdir()?;
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    folder.path().join("pos-load.db").display()
                );
                Ok(LoadDatabase {
                    backend: Backend::Sqlite,
                    url,
                    created_postgres: None,
                    _folder: Some(folder),
                })
            }
            url => Ok(LoadDatabase {
                backend: Backend::of_url(url),
                url: url.to_string(),
                created_postgres: None,
                _folder: None,
            }),
        }
    }

    async fn fresh_postgres() -> Result<LoadDatabase> {
        let admin = admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .with_context(|| format!("PostgreSQL at {admin} (set POS_LOAD_ADMIN_URL)"))?;
        let name = format!("pos_load_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base.to_string())
            .context("the admin URL must end with /DATABASE")?;
        Ok(LoadDatabase {
            backend: Backend::Postgres,
            url: format!("{base}/{name}"),
            created_postgres: Some(name),
            _folder: None,
        })
    }

    pub async fn dispose(mut self) -> Result<()> {
        if let Some(name) = self.created_postgres.take() {
            let mut conn = sqlx::PgConnection::connect(&admin_url()).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }
}

/// Direct access to the server's database, with the server's own durability settings.
#[derive(Clone)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// The raw baseline's figures.
#[derive(Debug, Clone)]
pub struct RawRate {
    pub sales: usize,
    pub writers: usize,
    /// Each transaction first took the next number of one invoice counter row of the
    /// business, as the server does for a sale.
    pub counter: bool,
    pub wall: Duration,
    /// One commit (one sale and its lines) each.
    pub commit: Samples,
}

impl RawRate {
    pub fn sales_per_second(&self) -> f64 {
        self.sales as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

impl Pool {
    /// The same pool sizes and (SQLite) pragmas as the server's store.
    pub async fn connect(url: &str) -> Result<Pool> {
        Ok(match Backend::of_url(url) {
            Backend::Postgres => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(60))
                    .connect(url)
                    .await?,
            ),
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(8)
                        .acquire_timeout(Duration::from_secs(60))
                        .connect_with(options)
                        .await?,
                )
            }
        })
    }

    /// Client reference and number of lines of every sale of `businesses`.
    pub async fn sales_with_line_counts(&self, businesses: &[i64]) -> Result<Vec<(String, i64)>> {
        let ids = businesses
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT COALESCE(s.client_reference, ''), \
                    (SELECT COUNT(*) FROM sale_details d WHERE d.sale_id = s.id) \
             FROM sales s WHERE s.business_id IN ({ids})"
        );
        let rows: Vec<(String, i64)> = match self {
            Pool::Postgres(pool) => sqlx::query_as(&sql).fetch_all(pool).await?,
            Pool::Sqlite(pool) => sqlx::query_as(&sql).fetch_all(pool).await?,
        };
        Ok(rows)
    }

    /// `count` sales of `lines` lines each, inserted by `writers` concurrent writers with
    /// plain INSERTs into the server's own `sales` and `sale_details` tables (same indexes,
    /// same triggers), one transaction per sale as the server commits each operation. With
    /// `counter`, each transaction starts by taking the next number of one invoice counter
    /// row, as every sale of one business does on the server.
    pub async fn raw_insert_rate(
        &self,
        business_id: i64,
        stocks: &[LoadStock],
        count: usize,
        lines: usize,
        writers: usize,
        counter: bool,
    ) -> Result<RawRate> {
        let stocks: Arc<Vec<LoadStock>> = Arc::new(stocks.to_vec());
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let run = uuid::Uuid::new_v4().simple().to_string();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..writers {
            let pool = self.clone();
            let stocks = stocks.clone();
            let next = next.clone();
            let run = run.clone();
            tasks.push(tokio::spawn(async move {
                let mut commit = Samples::default();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= count {
                        return anyhow::Ok(commit);
                    }
                    let sale = RawSale::new(business_id, &run, n, &stocks, lines);
                    let t = Instant::now();
                    pool.insert_raw_sale(&sale, counter).await?;
                    commit.push(t.elapsed());
                }
            }));
        }
        let mut commit = Samples::default();
        for task in tasks {
            commit.extend(&task.await??);
        }
        Ok(RawRate {
            sales: count,
            writers,
            counter,
            wall: started.elapsed(),
            commit,
        })
    }

    async fn insert_raw_sale(&self, sale: &RawSale, counter: bool) -> Result<()> {
        const COUNTER: &str = "INSERT INTO invoice_counters (business_id, kind, last_number) \
            VALUES ($1, 'raw-baseline', 1) ON CONFLICT (business_id, kind) \
            DO UPDATE SET last_number = invoice_counters.last_number + 1 RETURNING last_number";
        const SALE: &str = "INSERT INTO sales (business_id, invoice_number, device_id, \
            client_reference, offline_invoice_no, local_id, total_amount, discount_amount, \
            vat_amount, paid_amount, due_amount, change_amount, is_paid, sale_date, version, \
            created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
            $13, $14, 1, $14, $14) RETURNING id";
        const LINE: &str = "INSERT INTO sale_details (sale_id, line_no, stock_id, product_id, \
            quantities, price, discount, vat_amount, loss_profit) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        match self {
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                if counter {
                    sqlx::query(COUNTER)
                        .bind(sale.business_id)
                        .fetch_one(&mut *tx)
                        .await?;
                }
                let id: i64 = sqlx::query(SALE)
                    .bind(sale.business_id)
                    .bind(&sale.invoice_number)
                    .bind("raw-baseline")
                    .bind(&sale.reference)
                    .bind(&sale.invoice_number)
                    .bind(&sale.reference)
                    .bind(sale.total)
                    .bind(Decimal::ZERO)
                    .bind(Decimal::ZERO)
                    .bind(sale.total)
                    .bind(Decimal::ZERO)
                    .bind(Decimal::ZERO)
                    .bind(true)
                    .bind(sale.at)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                for (no, stock) in sale.lines.iter().enumerate() {
                    sqlx::query(LINE)
                        .bind(id)
                        .bind(no as i64 + 1)
                        .bind(stock.stock_id)
                        .bind(stock.product_id)
                        .bind(Decimal::ONE)
                        .bind(stock.price)
                        .bind(Decimal::ZERO)
                        .bind(Decimal::ZERO)
                        .bind(Decimal::ZERO)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Pool::Sqlite(pool) => {
                // As the server does: take the write lock at BEGIN.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                if counter {
                    sqlx::query(&sqlite_params(COUNTER))
                        .bind(sale.business_id)
                        .fetch_one(&mut *tx)
                        .await?;
                }
                let at = pos_protocol::time::format(&sale.at);
                let total = sale.total.to_string();
                let id: i64 = sqlx::query(&sqlite_params(SALE))
                    .bind(sale.business_id)
                    .bind(&sale.invoice_number)
                    .bind("raw-baseline")
                    .bind(&sale.reference)
                    .bind(&sale.invoice_number)
                    .bind(&sale.reference)
                    .bind(&total)
                    .bind("0")
                    .bind("0")
                    .bind(&total)
                    .bind("0")
                    .bind("0")
                    .bind(true)
                    .bind(&at)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                let line_sql = sqlite_params(LINE);
                for (no, stock) in sale.lines.iter().enumerate() {
                    sqlx::query(&line_sql)
                        .bind(id)
                        .bind(no as i64 + 1)
                        .bind(stock.stock_id)
                        .bind(stock.product_id)
                        .bind("1")
                        .bind(stock.price.to_string())
                        .bind("0")
                        .bind("0")
                        .bind("0")
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

/// `$n` → `?n` (SQLite's numbered parameters).
fn sqlite_params(sql: &str) -> String {
    sql.replace('$', "?")
}

struct RawSale {
    business_id: i64,
    reference: String,
    invoice_number: String,
    total: Decimal,
    at: DateTime<Utc>,
    lines: Vec<LoadStock>,
}

impl RawSale {
    fn new(business_id: i64, run: &str, n: usize, stocks: &[LoadStock], lines: usize) -> RawSale {
        let lines: Vec<LoadStock> = (0..lines)
            .map(|i| stocks[(n * 31 + i * 7) % stocks.len()])
            .collect();
        RawSale {
            business_id,
            reference: format!("raw-{run}-{n}"),
            invoice_number: format!("RAW-{run}-{n:06}"),
            total: lines.iter().map(|l| l.price).sum(),
            at: pos_protocol::time::now(),
            lines,
        }
    }
}
