//! No missed updates: while several writers change the catalog at once (new products and price
//! changes from concurrent transactions that commit in any order), several terminals pull
//! changes over and over. Once the writers stop and the terminals pull again, every terminal's
//! mirror equals the server's catalog.
//!
//! A change cursor that stepped past a change committed late would never hand that change out
//! again: the product would stay missing or stale on that terminal for good, and the final
//! comparison (which waits at most a minute for PostgreSQL's open transactions to end) fails.
//!
//! Size: `POS_NO_MISSED_ROUNDS` rounds per writer (default 25; each round creates a product
//! and changes two prices).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use pos_e2e::fleet::{self, ServerCatalog};
use pos_e2e::harness::{Api, Backend, Database, InProcessServer};
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

/// One writer: creates a product per round and changes the price of two of the products it
/// owns, with optimistic versions as a back office would.
async fn write(api: &Api, writer: usize, rounds: usize, mut owned: HashMap<i64, i64>) -> usize {
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
            let version = owned[id];
            let price = format!("{}.{:02}", 10 + round, writer * 10 + round % 10);
            let (status, body) = api
                .call(
                    Method::PATCH,
                    &format!("/api/v1/products/{id}"),
                    Some(&json!({"version": version, "productSalePrice": price})),
                )
                .await;
            assert_eq!(status, 200, "change the price of {id}: {body}");
            owned.insert(*id, body["data"]["version"].as_i64().expect("a version"));
            writes += 1;
        }
    }
    writes
}

async fn writers_and_pullers_end_equal(backend: Backend) {
    let started = Instant::now();
    let rounds = rounds();
    let db = Database::create(backend).await;
    let server = InProcessServer::start(&db.url).await;
    let api = Api::sign_in(&server.url(), "manager@demo.test").await;
    let terminals = fleet::sign_in_terminals(TERMINALS, &server.url(), "cashier@demo.test").await;

    // Each writer owns a disjoint share of the existing products, so versions never collide.
    let mut shares: Vec<HashMap<i64, i64>> = vec![HashMap::new(); WRITERS];
    for (n, product) in api
        .list_all("/api/v1/products")
        .await
        .iter()
        .filter(|p| p["productCode"].is_string())
        .enumerate()
    {
        shares[n % WRITERS].insert(
            product["id"].as_i64().unwrap(),
            product["version"].as_i64().unwrap(),
        );
    }

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
        writes.into_iter().sum::<usize>()
    };
    let pullers = join_all(terminals.iter().map(|terminal| async {
        while writing.load(Ordering::SeqCst) {
            // A pull may fail under load; the next one carries on from the same cursor.
            let _ = terminal.engine.sync_now().await;
            pulls.fetch_add(1, Ordering::Relaxed);
        }
    }));
    let (writes, _) = tokio::join!(writers, pullers);

    // The writers are done: pull until every mirror agrees, at most a minute.
    let catalog = ServerCatalog::fetch(&api).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut problems = Vec::new();
    for terminal in &terminals {
        loop {
            terminal
                .engine
                .sync_now()
                .await
                .expect("a pull once the writers stopped");
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_missed_updates_on_postgres() {
    writers_and_pullers_end_equal(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_missed_updates_on_sqlite() {
    writers_and_pullers_end_equal(Backend::Sqlite).await;
}
