//! Server restarts: a real `pos-server serve` process is SIGKILLed and started again, over and
//! over, while three terminals sell and push batches to it. Batches are cut off in every state
//! (read, half applied, answered but not delivered). At the end the server holds exactly the
//! sales rung up, stock is start minus sold, dues add up and every mirror equals the server.
//!
//! Sizes: `POS_RESTART_SALES` (default 300 per database), `POS_RESTART_SEED`.

use std::time::{Duration, Instant};

use pos_e2e::fleet;
use pos_e2e::harness::{free_loopback_addr, Api, Backend, Database, ServerProcess};
use rand::{Rng, SeedableRng};

const TERMINALS: usize = 3;

async fn nothing_lost_or_doubled_across_server_kills(backend: Backend) {
    let started = Instant::now();
    let sales: usize = std::env::var("POS_RESTART_SALES")
        .map(|v| v.parse().expect("POS_RESTART_SALES must be a whole number"))
        .unwrap_or(300);
    let seed: u64 = std::env::var("POS_RESTART_SEED")
        .map(|v| v.parse().expect("POS_RESTART_SEED must be a whole number"))
        .unwrap_or_else(|_| rand::random());
    let db = Database::create(backend).await;
    let logs = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(
        &db.url,
        free_loopback_addr(),
        logs.path().join("server.log"),
    )
    .await;
    let url = format!("http://{}", server.addr);
    let api = Api::sign_in(&url, "manager@demo.test").await;
    let terminals = fleet::sign_in_terminals(TERMINALS, &url, "cashier@demo.test").await;
    let stock_before = fleet::server_stock(&api).await;
    let codes = fleet::codes_with_stock(&api).await;
    let references_before = db.demo_sale_references().await.len();

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut kills = 0;
    let ledger = {
        let work = fleet::sell_while_syncing(&terminals, sales, seed, &codes);
        tokio::pin!(work);
        loop {
            let pause = Duration::from_millis(rng.gen_range(50..400));
            tokio::select! {
                ledger = &mut work => break ledger,
                _ = tokio::time::sleep(pause) => {
                    server.restart().await;
                    kills += 1;
                }
            }
        }
    };
    // One more kill while the last batches are in flight.
    server.restart().await;
    kills += 1;

    let replay = format!("replay with POS_RESTART_SEED={seed} POS_RESTART_SALES={sales}");
    if let Err(stuck) = fleet::drain(&terminals, Duration::from_secs(120)).await {
        panic!("{stuck}\n{kills} server kills; {replay}");
    }
    let api = Api::sign_in(&url, "manager@demo.test").await;
    let (problems, pulls) = fleet::settle(
        &db,
        &api,
        &terminals,
        &ledger,
        &stock_before,
        references_before,
        Duration::from_secs(60),
    )
    .await;
    eprintln!("end state checked after {pulls} pulls on every terminal");
    eprintln!(
        "server restarts on {}: {} sales ({} with dues, {} collections), {kills} SIGKILLs of the \
         server, in {:.1?}; POS_RESTART_SEED={seed}",
        backend.name(),
        ledger.sales.len(),
        ledger.sales_with_due,
        ledger.collections,
        started.elapsed()
    );
    assert!(
        kills >= 3,
        "only {kills} server kills landed during the run"
    );
    assert!(
        problems.is_empty(),
        "server restarts broke exactly once on {}:\n{}\n{replay}",
        backend.name(),
        problems.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_or_doubled_across_server_kills_on_sqlite() {
    nothing_lost_or_doubled_across_server_kills(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_or_doubled_across_server_kills_on_postgres() {
    nothing_lost_or_doubled_across_server_kills(Backend::Postgres).await;
}
