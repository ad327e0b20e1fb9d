//! A benchmark till: a real SQLite file in a temp folder, filled with the seeded catalog
//! through the engine's own full-download path, a signed-in cashier, and the raw baseline
//! on a copy of the same file.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pos_engine::credentials::CREDENTIALS_ENV;
use pos_engine::{CompletedSale, Engine, EngineConfig, PaymentInput};
use pos_protocol::auth::{Role, SignInData, UserSummary};
use pos_protocol::sync::FullData;
use pos_protocol::Decimal;

use crate::dataset::{Dataset, DatasetConfig};
use crate::raw::RawBaseline;
use crate::workload;

/// Catalog size of the benchmarks: `POS_BENCH_PRODUCTS`, `POS_BENCH_PARTIES`,
/// `POS_BENCH_SEED`, else the targets' 100k products and 20k parties.
pub fn config_from_env() -> Result<DatasetConfig> {
    fn read<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
        match std::env::var(name) {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{name}: '{text}' is not a whole number")),
            Err(_) => Ok(default),
        }
    }
    let default = DatasetConfig::default();
    Ok(DatasetConfig {
        seed: read("POS_BENCH_SEED", default.seed)?,
        products: read("POS_BENCH_PRODUCTS", default.products)?,
        parties: read("POS_BENCH_PARTIES", default.parties)?,
        business_id: default.business_id,
    })
}

/// Keeps the token in a file in the till's folder: benchmark machines (CI, containers) have
/// no desktop credential store, and the token is a dummy.
pub fn use_file_credentials() {
    std::env::set_var(CREDENTIALS_ENV, "file");
}

pub fn open_engine(data_dir: &Path) -> Result<Engine> {
    Engine::open(EngineConfig::new(data_dir)).context("opening the engine")
}

/// What loading the full download took.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub pages: usize,
    pub records: u64,
    /// Time inside `Engine::apply_full_page` only (making the pages is not counted).
    pub apply: Duration,
    /// The same time split by the entity that fills most of each page: (entity, pages, time).
    pub by_entity: Vec<(&'static str, usize, Duration)>,
}

/// The entity with the most records in `data`.
fn main_entity(data: &FullData) -> &'static str {
    let sizes = [
        ("categories", data.categories.as_ref().map_or(0, Vec::len)),
        ("brands", data.brands.as_ref().map_or(0, Vec::len)),
        ("units", data.units.as_ref().map_or(0, Vec::len)),
        ("vats", data.vats.as_ref().map_or(0, Vec::len)),
        (
            "payment_types",
            data.payment_types.as_ref().map_or(0, Vec::len),
        ),
        ("warehouses", data.warehouses.as_ref().map_or(0, Vec::len)),
        ("products", data.products.as_ref().map_or(0, Vec::len)),
        ("stocks", data.stocks.as_ref().map_or(0, Vec::len)),
        ("parties", data.parties.as_ref().map_or(0, Vec::len)),
    ];
    sizes
        .iter()
        .max_by_key(|(_, n)| *n)
        .map_or("none", |(name, _)| name)
}

/// Applies every page of the dataset's full download, as the first sync would.
pub fn load_full_download(
    engine: &Engine,
    dataset: &Dataset,
    page_size: usize,
) -> Result<LoadReport> {
    let mut report = LoadReport {
        pages: 0,
        records: 0,
        apply: Duration::ZERO,
        by_entity: Vec::new(),
    };
    let mut first_token: Option<String> = None;
    for page in dataset.full_pages(page_size) {
        let started = Instant::now();
        report.records += engine.apply_full_page(&page, first_token.as_deref())?;
        let took = started.elapsed();
        report.apply += took;
        report.pages += 1;
        let entity = main_entity(&page.data);
        match report.by_entity.iter_mut().find(|(e, _, _)| *e == entity) {
            Some((_, pages, time)) => {
                *pages += 1;
                *time += took;
            }
            None => report.by_entity.push((entity, 1, took)),
        }
        first_token.get_or_insert(page.sync_token);
    }
    Ok(report)
}

/// Signs a cashier in locally (no server): what `login` keeps after the server accepted it.
pub fn sign_in(engine: &Engine, dataset: &Dataset) -> Result<()> {
    let sign_in = SignInData {
        token: "benchmark-token-not-a-secret".into(),
        is_setup: true,
        currency: dataset.settings().currency,
        user: UserSummary {
            id: 1,
            name: "Bench Cashier".into(),
            email: "cashier@bench.example".into(),
            role: Role::Cashier,
            business_id: dataset.config().business_id,
        },
        expires_at: pos_protocol::time::now() + chrono::Duration::days(1),
    };
    engine.adopt_session("http://127.0.0.1:9", sign_in, Some("bench till".into()))?;
    Ok(())
}

/// A loaded, signed-in till and its raw baseline, in one temp folder removed on drop.
pub struct BenchTill {
    pub dataset: Dataset,
    pub engine: Engine,
    pub raw: RawBaseline,
    pub load: LoadReport,
    dir: tempfile::TempDir,
}

impl BenchTill {
    pub fn prepare(config: DatasetConfig, page_size: usize) -> Result<BenchTill> {
        use_file_credentials();
        let dir = tempfile::tempdir()?;
        let dataset = Dataset::new(config);
        let engine = open_engine(&dir.path().join("till"))?;
        let load = load_full_download(&engine, &dataset, page_size)?;
        sign_in(&engine, &dataset)?;
        // One sale before the copy: its rows are what the baseline replays.
        fill_cart(&engine, &dataset, 0)?;
        let template = engine.complete_sale(PaymentInput::default())?;
        let mut raw = RawBaseline::copy_of(&engine.database_path(), &dir.path().join("raw.db"))?;
        raw.use_sale_as_template(template.local_id)?;
        Ok(BenchTill {
            dataset,
            engine,
            raw,
            load,
            dir,
        })
    }

    /// The till's data folder (the engine's database is in it).
    pub fn till_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("till")
    }

    /// Puts basket `n` in the cart (one of each product; basket 0 made the template sale).
    pub fn fill_cart(&self, n: u64) -> Result<()> {
        fill_cart(&self.engine, &self.dataset, n)
    }

    /// Completes the cart, paid exactly in cash.
    pub fn complete_sale(&self) -> Result<CompletedSale> {
        Ok(self.engine.complete_sale(PaymentInput::default())?)
    }
}

fn fill_cart(engine: &Engine, dataset: &Dataset, n: u64) -> Result<()> {
    for index in workload::basket(dataset, n) {
        engine.cart_add(i64::from(index) + 1, Decimal::ONE)?;
    }
    Ok(())
}
