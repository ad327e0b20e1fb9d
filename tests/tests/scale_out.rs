//! Scale-out: two `pos-server serve` processes over one PostgreSQL database, behind the fault
//! proxy as a round-robin balancer. Each terminal's requests alternate between the two
//! servers, and duplicated requests (one after the other, and at the same time) send the same
//! operation to both. Idempotency keys, local-id maps, invoice counters and cursors live in
//! the database, so exactly once still holds.
//!
//! Sizes: `POS_SCALE_OUT_SALES` (default 200), `POS_FAULT_SEED` replays the faults.

use std::time::{Duration, Instant};

use pos_e2e::fault_proxy::{seed_from_env, Fault, FaultKind, FaultPlan, FaultProxy, SEED_ENV};
use pos_e2e::fleet;
use pos_e2e::harness::{free_loopback_addr, Api, Backend, Database, ServerProcess};

const TERMINALS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_postgres_keep_exactly_once() {
    let started = Instant::now();
    let sales: usize = std::env::var("POS_SCALE_OUT_SALES")
        .map(|v| {
            v.parse()
                .expect("POS_SCALE_OUT_SALES must be a whole number")
        })
        .unwrap_or(200);
    let seed = seed_from_env();
    let db = Database::create(Backend::Postgres).await;
    let logs = tempfile::tempdir().unwrap();
    let first =
        ServerProcess::start(&db.url, free_loopback_addr(), logs.path().join("first.log")).await;
    let second = ServerProcess::start(
        &db.url,
        free_loopback_addr(),
        logs.path().join("second.log"),
    )
    .await;
    let proxy =
        FaultProxy::start_balanced(vec![first.addr, second.addr], FaultPlan::pass_through())
            .await
            .expect("start the balancing proxy");
    let api = Api::sign_in(&format!("http://{}", first.addr), "manager@demo.test").await;
    let terminals = fleet::sign_in_terminals(TERMINALS, &proxy.url(), "cashier@demo.test").await;
    let stock_before = fleet::server_stock(&api).await;
    let codes = fleet::codes_with_stock(&api).await;
    let references_before = db.demo_sale_references().await.len();

    // Duplicates to both servers weigh most; the other faults keep the answers unreliable.
    proxy.set_plan(
        FaultPlan::seeded(seed, 0.4)
            .with_weight(FaultKind::Duplicate, 3.0)
            .with_weight(FaultKind::DuplicateConcurrent, 4.0)
            .on_paths(&["/api/v1/sync/"]),
    );
    let mut ledger = fleet::sell_while_syncing(&terminals, sales, seed, &codes).await;
    let replay = format!("replay with {SEED_ENV}={seed} POS_SCALE_OUT_SALES={sales}");
    if let Err(stuck) = fleet::drain(&terminals, Duration::from_secs(180)).await {
        panic!("{stuck}\n{replay}");
    }

    // A short run may draw few duplicates of one kind. So each terminal then rings up two more
    // sales and pushes them in a batch that surely reaches both servers: one after the other
    // for half of the terminals, at the same time for the others.
    let script = (0..terminals.len())
        .map(|n| {
            if n % 2 == 0 {
                Fault::Duplicate
            } else {
                Fault::DuplicateConcurrent
            }
        })
        .collect();
    proxy.set_plan(FaultPlan::scripted(script).on_paths(&["/api/v1/sync/batch"]));
    for (n, terminal) in terminals.iter().enumerate() {
        let (name, engine, codes) = (
            terminal.name.clone(),
            terminal.engine.clone(),
            codes.clone(),
        );
        let more_seed = seed.wrapping_add(1_000 + n as u64);
        let more =
            tokio::task::spawn_blocking(move || fleet::sell(&name, &engine, 2, more_seed, &codes))
                .await
                .expect("a selling task");
        ledger.merge(more);
        let _ = terminal.engine.sync_now().await;
    }
    if let Err(stuck) = fleet::drain(&terminals, Duration::from_secs(60)).await {
        panic!("{stuck}\n{replay}");
    }
    proxy.set_plan(FaultPlan::pass_through());
    let stats = proxy.stats();
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
        "scale-out: {} sales over 2 servers in {:.1?}; {} sync requests, {} duplicated to both \
         one after the other, {} at the same time, {} faulted in all; {SEED_ENV}={seed}",
        ledger.sales.len(),
        started.elapsed(),
        stats.requests_seen,
        stats.duplicated,
        stats.duplicated_concurrently,
        stats.faulted()
    );
    assert!(
        stats.duplicated_concurrently > 0 && stats.duplicated > 0,
        "no duplicates sent"
    );
    assert!(
        problems.is_empty(),
        "exactly once broken across two servers:\n{}\n{replay}",
        problems.join("\n")
    );
    drop((first, second));
}
