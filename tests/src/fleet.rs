//! Terminals that sell and sync at the same time, a ledger of what the cashiers rang up, and
//! the checks that the server and every terminal end up agreeing with that ledger.
//!
//! Each terminal is a real `pos_engine::Engine` on its own SQLite file in its own data folder.
//! Selling runs on a thread per terminal (the engine's selling calls are blocking, durable
//! SQLite commits); syncing runs on an async task per terminal at the same time.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pos_engine::{Engine, EngineConfig, NewCustomer, PartyRef, PaymentInput, SyncTimings};
use pos_protocol::Decimal;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::harness::{Api, Database, PASSWORD};

/// Timings a test can live with: a lost answer costs seconds, not minutes.
pub fn test_timings() -> SyncTimings {
    SyncTimings {
        connect_timeout_ms: 1_000,
        request_timeout_ms: 10_000,
        backoff_initial_ms: 10,
        backoff_max_ms: 200,
        periodic_interval_ms: 100,
        page_size: 100,
    }
}

/// Secrets in a file inside each terminal's data folder: test machines have no desktop
/// credential store. Call before opening any engine.
pub fn use_file_credentials() {
    std::env::set_var("POS_TERMINAL_CREDENTIALS", "file");
}

pub struct Terminal {
    pub name: String,
    pub engine: Engine,
    pub folder: tempfile::TempDir,
}

/// Opens `count` terminals, each in its own data folder, and signs each in through
/// `server_url` (sign-in, registration, first full sync), retrying while the network fails.
pub async fn sign_in_terminals(count: usize, server_url: &str, email: &str) -> Vec<Terminal> {
    use_file_credentials();
    let mut terminals = Vec::new();
    for n in 1..=count {
        let folder = tempfile::tempdir().expect("a data folder");
        let engine = Engine::open(EngineConfig {
            data_dir: folder.path().to_path_buf(),
            server_url: None,
            timings: test_timings(),
        })
        .expect("open a terminal engine");
        let name = format!("T{n}");
        let mut attempts = 0;
        loop {
            attempts += 1;
            match engine
                .login(server_url, email, PASSWORD, Some(name.clone()))
                .await
            {
                Ok(_) => break,
                Err(err) if attempts < 30 => {
                    tracing::info!("{name} sign-in attempt {attempts}: {err}");
                    // The session may be kept while the first sync failed; finish it.
                    if engine.session().is_some() && engine.sync_now().await.is_ok() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("{name} could not sign in after {attempts} attempts: {err}"),
            }
        }
        terminals.push(Terminal {
            name,
            engine,
            folder,
        });
    }
    terminals
}

/// What the cashiers did, as they saw it.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// Client reference of every completed sale, with the terminal and offline number.
    pub sales: Vec<(String, String)>,
    /// Quantity sold from each server stock row.
    pub sold_by_stock: HashMap<i64, Decimal>,
    /// Each customer created at a till: what they owe from these sales less what was collected.
    pub due_by_customer: BTreeMap<String, Decimal>,
    pub customers_created: usize,
    pub sales_with_due: usize,
    pub collections: usize,
}

impl Ledger {
    pub fn merge(&mut self, other: Ledger) {
        self.sales.extend(other.sales);
        for (stock, quantity) in other.sold_by_stock {
            *self.sold_by_stock.entry(stock).or_default() += quantity;
        }
        self.due_by_customer.extend(other.due_by_customer);
        self.customers_created += other.customers_created;
        self.sales_with_due += other.sales_with_due;
        self.collections += other.collections;
    }
}

/// Rings up `sales` sales on one terminal: mostly cash sales of 1–3 random products, about one
/// in eight to a customer created at this till (paying half, the rest stays due), and now and
/// then a due collection from such a customer. Blocking; run it on its own thread.
pub fn sell(name: &str, engine: &Engine, sales: usize, seed: u64, codes: &[String]) -> Ledger {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ledger = Ledger::default();
    let mut customers: Vec<(PartyRef, String)> = Vec::new();
    for n in 0..sales {
        // A till rings up a sale every few milliseconds, so syncs interleave with selling.
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..8)));
        let lines = rng.gen_range(1..=3);
        for _ in 0..lines {
            let code = &codes[rng.gen_range(0..codes.len())];
            let quantity = Decimal::from(rng.gen_range(1..=3));
            engine
                .cart_add_code(code, quantity)
                .unwrap_or_else(|e| panic!("{}: add {code}: {e}", name));
        }
        let with_customer = rng.gen_bool(0.125);
        let mut payment = PaymentInput::default();
        let mut customer_name = None;
        if with_customer {
            let (party, name) = if customers.is_empty() || rng.gen_bool(0.5) {
                let name = format!("{}-customer-{n}-{:08x}", name, rng.gen::<u32>());
                let created = engine
                    .create_customer(NewCustomer {
                        name: name.clone(),
                        phone: Some(format!("+1555{:07}", rng.gen_range(0..10_000_000))),
                        ..NewCustomer::default()
                    })
                    .unwrap_or_else(|e| panic!("{}: create customer: {e}", name));
                ledger.customers_created += 1;
                ledger.due_by_customer.insert(name.clone(), Decimal::ZERO);
                customers.push((created.party_ref, name.clone()));
                (created.party_ref, name)
            } else {
                customers[rng.gen_range(0..customers.len())].clone()
            };
            let cart = engine
                .cart_set_customer(Some(party))
                .unwrap_or_else(|e| panic!("{}: set customer {party}: {e}", name));
            payment.tendered = Some((cart.total / Decimal::TWO).floor());
            customer_name = Some(name);
        }
        let sale = engine
            .complete_sale(payment)
            .unwrap_or_else(|e| panic!("{}: complete sale {n}: {e}", name));
        ledger.sales.push((
            sale.client_reference.clone(),
            format!("{name} {}", sale.offline_invoice_no),
        ));
        for line in &sale.receipt.lines {
            *ledger.sold_by_stock.entry(line.stock_id).or_default() += line.quantity;
        }
        if let Some(name) = customer_name {
            if sale.due > Decimal::ZERO {
                ledger.sales_with_due += 1;
            }
            *ledger.due_by_customer.entry(name).or_default() += sale.due;
        }
        // Now and then a customer pays part of what they owe.
        if !customers.is_empty() && rng.gen_bool(0.08) {
            let (party, name) = customers[rng.gen_range(0..customers.len())].clone();
            let owed = ledger.due_by_customer[&name];
            if owed >= Decimal::ONE {
                let amount = Decimal::from(rng.gen_range(1..=3)).min(owed.floor());
                engine
                    .collect_due(party, amount, None, Some("e2e collection".into()))
                    .unwrap_or_else(|e| panic!("{}: collect {amount} from {name}: {e}", name));
                *ledger.due_by_customer.get_mut(&name).unwrap() -= amount;
                ledger.collections += 1;
            }
        }
    }
    ledger
}

/// Sells `total_sales` spread over the terminals while each terminal syncs in a loop, until
/// every terminal has rung up its share. Sync errors are expected (the network is faulty).
pub async fn sell_while_syncing(
    terminals: &[Terminal],
    total_sales: usize,
    seed: u64,
    codes: &[String],
) -> Ledger {
    let selling_done = Arc::new(AtomicBool::new(false));
    let mut syncers = Vec::new();
    for terminal in terminals {
        let engine = terminal.engine.clone();
        let done = selling_done.clone();
        syncers.push(tokio::spawn(async move {
            let mut runs = 0u64;
            while !done.load(Ordering::SeqCst) {
                let _ = engine.sync_now().await;
                runs += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            runs
        }));
    }
    let share = total_sales.div_ceil(terminals.len());
    let codes = Arc::new(codes.to_vec());
    let sellers: Vec<_> = terminals
        .iter()
        .enumerate()
        .map(|(i, terminal)| {
            let count = share.min(total_sales - (share * i).min(total_sales));
            let terminal_seed = seed.wrapping_add(i as u64 + 1);
            let (name, engine, codes) = (
                terminal.name.clone(),
                terminal.engine.clone(),
                codes.clone(),
            );
            tokio::task::spawn_blocking(move || sell(&name, &engine, count, terminal_seed, &codes))
        })
        .collect();
    let mut ledger = Ledger::default();
    for seller in sellers {
        ledger.merge(seller.await.expect("a selling task"));
    }
    selling_done.store(true, Ordering::SeqCst);
    for syncer in syncers {
        syncer.await.expect("a sync task");
    }
    ledger
}

/// Syncs every terminal until its queue is empty, at most `within`. Err lists the operations
/// still queued, failed or in conflict, per terminal.
pub async fn drain(terminals: &[Terminal], within: Duration) -> Result<u32, String> {
    let deadline = Instant::now() + within;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut stuck = Vec::new();
        for terminal in terminals {
            let outcome = terminal.engine.sync_now().await;
            let queue = terminal.engine.queue().expect("read the queue");
            let failed: Vec<_> = queue
                .iter()
                .filter(|op| {
                    matches!(
                        op.state,
                        pos_engine::SyncState::Failed | pos_engine::SyncState::Conflict
                    )
                })
                .collect();
            if !failed.is_empty() {
                return Err(format!(
                    "{} has operations the server refused (a refused sale is a bug):\n{}",
                    terminal.name,
                    describe(&failed)
                ));
            }
            if !queue.is_empty() {
                stuck.push(format!(
                    "{} (last sync: {outcome:?}):\n{}",
                    terminal.name,
                    describe(&queue.iter().collect::<Vec<_>>())
                ));
            }
        }
        if stuck.is_empty() {
            return Ok(rounds);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "queues not empty after {within:?} ({rounds} rounds):\n{}",
                stuck.join("\n")
            ));
        }
    }
}

fn describe(ops: &[&pos_engine::QueuedOperation]) -> String {
    ops.iter()
        .take(20)
        .map(|op| {
            format!(
                "  #{} {} {} {:?} attempts {} key {} {}: {}",
                op.id,
                op.entity,
                op.action,
                op.state,
                op.attempts,
                op.idempotency_key,
                op.summary,
                op.last_error.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An exact decimal from a JSON number or numeric string.
pub fn decimal(value: &Value) -> Decimal {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.parse()
        .unwrap_or_else(|e| panic!("{value} is not a decimal: {e}"))
}

/// Stock per stock row id, as the server's REST API reports it.
pub async fn server_stock(api: &Api) -> BTreeMap<i64, Decimal> {
    api.list_all("/api/v1/stocks")
        .await
        .iter()
        .map(|row| (row["id"].as_i64().unwrap(), decimal(&row["productStock"])))
        .collect()
}

/// Every way the end state can disagree with the ledger, in words; empty when all holds.
pub async fn disagreements(
    db: &Database,
    api: &Api,
    terminals: &[Terminal],
    ledger: &Ledger,
    stock_before: &BTreeMap<i64, Decimal>,
    references_before: usize,
) -> Vec<String> {
    let mut problems = Vec::new();

    // 1. The server holds exactly the sales rung up.
    let server_refs = db.demo_sale_references().await;
    let mut on_server: HashMap<&str, usize> = HashMap::new();
    for reference in &server_refs {
        *on_server.entry(reference.as_str()).or_default() += 1;
    }
    let rung_up: HashMap<&str, &str> = ledger
        .sales
        .iter()
        .map(|(reference, label)| (reference.as_str(), label.as_str()))
        .collect();
    if rung_up.len() != ledger.sales.len() {
        problems.push("two sales on the terminals share a client reference".into());
    }
    let missing: Vec<_> = rung_up
        .iter()
        .filter(|(reference, _)| !on_server.contains_key(*reference))
        .map(|(reference, label)| format!("{label} ({reference})"))
        .collect();
    let doubled: Vec<_> = on_server
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|(reference, count)| format!("{reference} x{count}"))
        .collect();
    let unknown = server_refs.len() - references_before;
    if !missing.is_empty() {
        problems.push(format!(
            "{} sales missing on the server: {missing:?}",
            missing.len()
        ));
    }
    if !doubled.is_empty() {
        problems.push(format!("sales stored more than once: {doubled:?}"));
    }
    if unknown != ledger.sales.len() {
        problems.push(format!(
            "the server holds {unknown} new sales, the terminals rang up {}",
            ledger.sales.len()
        ));
    }

    // 2. Every stock row is start minus sold.
    let stock_after = server_stock(api).await;
    for (stock_id, start) in stock_before {
        let sold = ledger
            .sold_by_stock
            .get(stock_id)
            .copied()
            .unwrap_or_default();
        let now = stock_after.get(stock_id).copied();
        if now != Some(start - sold) {
            problems.push(format!(
                "stock row {stock_id}: started {start}, sold {sold}, server says {now:?}"
            ));
        }
    }

    // 3. Party dues add up: created once each, due = dues of their sales - collections.
    let parties = api.list_all("/api/v1/parties").await;
    for (name, expected) in &ledger.due_by_customer {
        let matching: Vec<_> = parties
            .iter()
            .filter(|p| p["name"] == name.as_str())
            .collect();
        match matching.as_slice() {
            [party] => {
                let due = decimal(&party["due"]);
                if due != *expected {
                    problems.push(format!(
                        "customer {name}: due {due} on the server, {expected} rung up"
                    ));
                }
            }
            other => problems.push(format!(
                "customer {name} created offline is on the server {} times",
                other.len()
            )),
        }
    }

    // 4. Every terminal's mirror equals the server's catalog, and its queue is empty.
    let catalog = ServerCatalog::fetch(api).await;
    for terminal in terminals {
        let queue = terminal.engine.queue().expect("read the queue");
        if !queue.is_empty() {
            problems.push(format!(
                "{}: {} operations still queued",
                terminal.name,
                queue.len()
            ));
        }
        let mismatches = catalog.mismatches(&terminal.engine);
        if !mismatches.is_empty() {
            problems.push(format!(
                "{}'s mirror differs from the server in {} products: {mismatches:?}",
                terminal.name,
                mismatches.len()
            ));
        }
        // Each local sale is confirmed once, with a server invoice number.
        let local = terminal.engine.sales(u32::MAX).expect("local sales");
        let unconfirmed: Vec<_> = local
            .iter()
            .filter(|s| {
                s.sync_state != pos_engine::SyncState::Confirmed || s.invoice_number.is_none()
            })
            .map(|s| format!("{} {:?}", s.offline_invoice_no, s.sync_state))
            .collect();
        if !unconfirmed.is_empty() {
            problems.push(format!(
                "{}: sales not confirmed: {unconfirmed:?}",
                terminal.name
            ));
        }
    }
    problems
}

/// The server's products and their stock, as a terminal's mirror must show them.
pub struct ServerCatalog {
    products: Vec<Value>,
    stock_by_product: HashMap<i64, Decimal>,
}

impl ServerCatalog {
    pub async fn fetch(api: &Api) -> ServerCatalog {
        let products = api.list_all("/api/v1/products").await;
        let mut stock_by_product: HashMap<i64, Decimal> = HashMap::new();
        for row in api.list_all("/api/v1/stocks").await {
            *stock_by_product
                .entry(row["product_id"].as_i64().unwrap())
                .or_default() += decimal(&row["productStock"]);
        }
        ServerCatalog {
            products,
            stock_by_product,
        }
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Every product whose id, name, sale price or stock differs in the terminal's mirror.
    pub fn mismatches(&self, engine: &Engine) -> Vec<String> {
        let mut mismatches = Vec::new();
        for product in &self.products {
            let Some(code) = product["productCode"].as_str() else {
                continue;
            };
            let id = product["id"].as_i64().unwrap();
            let server_stock = self.stock_by_product.get(&id).copied().unwrap_or_default();
            match engine.product_by_code(code) {
                Ok(Some(view)) => {
                    if view.id != id
                        || view.product_name != product["productName"].as_str().unwrap_or_default()
                        || view.product_sale_price != decimal(&product["productSalePrice"])
                        || view.stock != server_stock
                    {
                        mismatches.push(format!(
                            "{code}: terminal {} {:?} price {} stock {}; server {id} {} price {} stock {server_stock}",
                            view.id,
                            view.product_name,
                            view.product_sale_price,
                            view.stock,
                            product["productName"],
                            product["productSalePrice"]
                        ));
                    }
                }
                other => mismatches.push(format!("{code}: terminal has {other:?}")),
            }
        }
        mismatches
    }
}

/// Product codes of the products that have a stock row (what a till can sell).
pub async fn codes_with_stock(api: &Api) -> Vec<String> {
    let stocked: std::collections::HashSet<i64> = api
        .list_all("/api/v1/stocks")
        .await
        .iter()
        .filter_map(|stock| stock["product_id"].as_i64())
        .collect();
    api.list_all("/api/v1/products")
        .await
        .iter()
        .filter(|p| p["id"].as_i64().is_some_and(|id| stocked.contains(&id)))
        .filter_map(|p| p["productCode"].as_str().map(str::to_string))
        .collect()
}

/// Pulls on every terminal until the end state agrees with the ledger, at most `within`;
/// returns the disagreements of the last look (empty when all holds) and how many pulls it took.
///
/// Waiting is needed on PostgreSQL: a pull only hands out changes of transactions older than
/// every transaction still open in the cluster (`pg_snapshot_xmin`), so an open transaction
/// anywhere, even in another database, holds changes back until it ends.
pub async fn settle(
    db: &Database,
    api: &Api,
    terminals: &[Terminal],
    ledger: &Ledger,
    stock_before: &BTreeMap<i64, Decimal>,
    references_before: usize,
    within: Duration,
) -> (Vec<String>, u32) {
    let deadline = Instant::now() + within;
    let mut pulls = 0;
    loop {
        pulls += 1;
        for terminal in terminals {
            if let Err(e) = terminal.engine.sync_now().await {
                tracing::warn!("{}: pull: {e}", terminal.name);
            }
        }
        let problems =
            disagreements(db, api, terminals, ledger, stock_before, references_before).await;
        if problems.is_empty() || Instant::now() >= deadline {
            return (problems, pulls);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
