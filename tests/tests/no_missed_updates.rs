//! No missed updates: while several writers change the catalog at once (new products and price
//! changes from concurrent transactions that commit in any order), several terminals pull
//! changes over and over. Once the writers stop and the terminals pull again, every terminal's
//! mirror equals the server's catalog.
//!
//! A change cursor that stepped past a change committed late would never hand that change out
//! again: the product would stay missing or stale on that terminal for good, and the final
//! comparison (which waits at most a minute for PostgreSQL's open transactions to end) fails.
//!
//! Along the way every price each terminal's mirror shows after each pull is recorded: for each
//! product the versions a terminal saw must come in the order the server committed them (a pull
//! may pass over versions superseded before it, never go back to an older one). A feed that
//! handed out a late-committed older row after a newer one fails here even when the end state
//! is right.
//!
//! Size: `POS_NO_MISSED_ROUNDS` rounds per writer (default 25; each round creates a product
//! and changes two prices).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::join_all;
use pos_e2e::fleet::{self, ServerCatalog};
use pos_e2e::harness::{Api, Backend, Database, InProcessServer};
use pos_engine::Engine;
use pos_protocol::Decimal;
use reqwest::Method;
use serde_json::json;

const WRITERS: usize = 4;
const TERMINALS: usize = 3;

fn rounds() -> usize {
    std::env::var("POS_NO_MISSED_ROUNDS")
        .map(|v| {
            v.parse()
                .expect("POS_NO_MISSED_ROUNDS must be a whole number")
        })
        .unwrap_or(25)
}

/// A product a writer owns: its code, its version, and every sale price it was given, in the
/// order the server committed them (the first is the price before the test).
struct Owned {
    code: String,
    version: i64,
    prices: Vec<Decimal>,
}

/// One writer: creates a product per round and changes the price of two of the products it
/// owns, with optimistic versions as a back office would. Returns its writes and the price
/// history of the products it changed.
async fn write(
    api: &Api,
    writer: usize,
    rounds: usize,
    mut owned: HashMap<i64, Owned>,
) -> (usize, Vec<Owned>) {
    let mut writes = 0;
    let ids: Vec<i64> = owned.keys().copied().collect();
    for round in 0..rounds {
        let code = format!("NMU-{writer}-{round}");
        let (status, body) = api
            .call(
                Method::POST,
                "/api/v1/products",
                Some(&json!({
                    "productName": format!("Late item {writer}-{round}"),
                    "productCode": code,
                    "productSalePrice": format!("{}.{:02}", 1 + round, writer),
                    "productPurchasePrice": "0.50",
                })),
            )
            .await;
        assert_eq!(status, 201, "create {code}: {body}");
        writes += 1;
        for id in ids.iter().skip(round % ids.len().max(1)).take(2) {
            let product = owned.get_mut(id).expect("an owned product");
            let new_price = format!("{}.{:02}", 10 + round, writer * 10 + round % 10);
            let (status, body) = api
                .call(
                    Method::PATCH,
                    &format!("/api/v1/products/{id}"),
                    Some(&json!({"version": product.version, "productSalePrice": new_price})),
                )
                .await;
            assert_eq!(status, 200, "change the price of {id}: {body}");
            product.version = body["data"]["version"].as_i64().expect("a version");
            product.prices.push(new_price.parse().unwrap());
            writes += 1;
        }
    }
    (writes, owned.into_values().collect())
}

/// The sale price a terminal's mirror shows for each watched product code after one pull.
type Snapshot = Vec<(String, Decimal)>;

/// What a terminal's mirror shows for each watched product code after a pull.
fn observe(engine: &Engine, codes: &[String]) -> Snapshot {
    codes
        .iter()
        .filter_map(|code| {
            let view = engine.product_by_code(code).expect("read the mirror")?;
            Some((code.clone(), view.product_sale_price))
        })
        .collect()
}

/// Versions a terminal saw out of the server's order: for each product, the position of each
/// observed price in its history must never go down.
fn out_of_order(terminal: &str, seen: &[Snapshot], history: &[Owned]) -> Vec<String> {
    let mut problems = Vec::new();
    for product in history {
        let mut position = 0;
        for (pull, snapshot) in seen.iter().enumerate() {
            let Some((_, shown)) = snapshot.iter().find(|(code, _)| *code == product.code) else {
                continue;
            };
            // The first position at or after the last one that holds this price.
            match (position..product.prices.len()).find(|&at| product.prices[at] == *shown) {
                Some(at) => position = at,
                None => problems.push(format!(
                    "{terminal}, pull {pull}: {} shows {shown}, which is not its current or a \
                     later version of {:?} (history {:?})",
                    product.code, product.prices[position], product.prices
                )),
            }
        }
    }
    problems
}

async fn writers_and_pullers_end_equal(backend: Backend) {
    let started = Instant::now();
    let rounds = rounds();
    let db = Database::create(backend).await;
    let server = InProcessServer::start(&db.url).await;
    let api = Api::sign_in(&server.url(), "manager@demo.test").await;
    let terminals = fleet::sign_in_terminals(TERMINALS, &server.url(), "cashier@demo.test").await;

    // Each writer owns a disjoint share of the existing products, so versions never collide.
    let mut shares: Vec<HashMap<i64, Owned>> = (0..WRITERS).map(|_| HashMap::new()).collect();
    let mut watched = Vec::new();
    for (n, product) in api
        .list_all("/api/v1/products")
        .await
        .iter()
        .filter(|p| p["productCode"].is_string())
        .enumerate()
    {
        let code = product["productCode"].as_str().unwrap().to_string();
        watched.push(code.clone());
        shares[n % WRITERS].insert(
            product["id"].as_i64().unwrap(),
            Owned {
                code,
                version: product["version"].as_i64().unwrap(),
                prices: vec![fleet::decimal(&product["productSalePrice"])],
            },
        );
    }
    // Per terminal, what its mirror showed after each pull.
    let seen: Vec<Mutex<Vec<Snapshot>>> = (0..TERMINALS).map(|_| Mutex::default()).collect();

    let writing = AtomicBool::new(true);
    let pulls = AtomicUsize::new(0);
    let writers = async {
        let writes = join_all(
            shares
                .into_iter()
                .enumerate()
                .map(|(writer, owned)| write(&api, writer, rounds, owned)),
        )
        .await;
        writing.store(false, Ordering::SeqCst);
        let mut history = Vec::new();
        let mut total = 0;
        for (count, owned) in writes {
            total += count;
            history.extend(owned);
        }
        (total, history)
    };
    let pullers = join_all(terminals.iter().zip(&seen).map(|(terminal, seen)| {
        let watched = &watched;
        let writing = &writing;
        let pulls = &pulls;
        async move {
            while writing.load(Ordering::SeqCst) {
                // A pull may fail under load; the next one carries on from the same cursor.
                let _ = terminal.engine.sync_now().await;
                seen.lock()
                    .unwrap()
                    .push(observe(&terminal.engine, watched));
                pulls.fetch_add(1, Ordering::Relaxed);
            }
        }
    }));
    let ((writes, history), _) = tokio::join!(writers, pullers);

    // The writers are done: pull until every mirror agrees, at most a minute.
    let catalog = ServerCatalog::fetch(&api).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut problems = Vec::new();
    for (terminal, seen) in terminals.iter().zip(&seen) {
        loop {
            terminal
                .engine
                .sync_now()
                .await
                .expect("a pull once the writers stopped");
            seen.lock()
                .unwrap()
                .push(observe(&terminal.engine, &watched));
            let mismatches = catalog.mismatches(&terminal.engine);
            if mismatches.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                problems.push(format!(
                    "{} misses {} changes for good: {mismatches:?}",
                    terminal.name,
                    mismatches.len()
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!(
        "no missed updates ({backend:?}): {writes} writes by {WRITERS} writers while \
         {TERMINALS} terminals pulled {} times; {} products compared on each terminal; {:.1?}",
        pulls.load(Ordering::Relaxed),
        catalog.len(),
        started.elapsed()
    );
    assert!(
        pulls.load(Ordering::Relaxed) >= TERMINALS,
        "the terminals pulled while the writers wrote"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let mut observations = 0;
    for (terminal, seen) in terminals.iter().zip(&seen) {
        let seen = seen.lock().unwrap();
        observations += seen.iter().map(Vec::len).sum::<usize>();
        problems.extend(out_of_order(&terminal.name, &seen, &history));
    }
    eprintln!(
        "no missed updates ({backend:?}): {observations} product versions seen by the terminals \
         checked against the order of {} products' histories",
        history.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_missed_updates_on_postgres() {
    writers_and_pullers_end_equal(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_missed_updates_on_sqlite() {
    writers_and_pullers_end_equal(Backend::Sqlite).await;
}
