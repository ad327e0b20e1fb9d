//! Exactly once under faults: four terminals sell and sync at the same time through a proxy
//! that faults at least 30% of the sync requests (drops requests, drops answers after the
//! server committed, duplicates them one after the other and at the same time, delays, resets
//! mid-body and mid-answer) and now and then refuses connections. At the end the server holds
//! exactly the sales rung up, stock is start minus sold, customers' dues add up, and every
//! terminal's mirror equals the server.
//!
//! Whatever the seed, the sale batches (`POST /api/v1/sync/batch`) meet every fault kind at
//! least `POS_FAULT_PER_KIND` times (default 3): an answer lost after the server committed is
//! the case exactly-once exists for, and a random draw alone may miss it in a short run.
//!
//! Sizes: `POS_FAULT_SALES` (default 500 per database), `POS_FAULT_SEED` replays a run.

use std::time::{Duration, Instant};

use pos_e2e::fault_proxy::{
    seed_from_env, Decision, FaultKind, FaultPlan, FaultProxy, FaultStats, SEED_ENV,
};
use pos_e2e::fleet::{self, Terminal};
use pos_e2e::harness::{Api, Backend, Database, InProcessServer};

const TERMINALS: usize = 4;
// Half the sync requests draw a fault: a sync sends the whole queue in one batch, so a run of
// 500 sales makes only some twenty to forty sync requests, and the proof needs enough of them hit.
const FAULT_RATE: f64 = 0.5;

fn sales_to_ring_up() -> usize {
    std::env::var("POS_FAULT_SALES")
        .map(|v| v.parse().expect("POS_FAULT_SALES must be a whole number"))
        .unwrap_or(500)
}

fn faults_per_kind_on_batches() -> usize {
    std::env::var("POS_FAULT_PER_KIND")
        .map(|v| {
            v.parse()
                .expect("POS_FAULT_PER_KIND must be a whole number")
        })
        .unwrap_or(3)
}

const BATCH: &str = "/api/v1/sync/batch";

/// How often each fault kind hit a sale batch among `decisions`.
fn batch_faults(decisions: &[Decision]) -> Vec<(FaultKind, usize)> {
    FaultKind::ALL
        .iter()
        .map(|kind| {
            let hits = decisions
                .iter()
                .filter(|d| {
                    d.method == "POST" && d.target == BATCH && d.fault.kind() == Some(*kind)
                })
                .count();
            (*kind, hits)
        })
        .collect()
}

fn fault_report(stats: &FaultStats) -> String {
    let kinds: Vec<String> = FaultKind::ALL
        .iter()
        .map(|kind| format!("{kind} {}", stats.count(*kind)))
        .collect();
    format!(
        "{} sync requests, {} faulted ({}), {} refusal windows refusing {} requests",
        stats.requests_seen,
        stats.faulted(),
        kinds.join(", "),
        stats.refusal_windows,
        stats.refused_requests
    )
}

async fn exactly_once_under_faults(backend: Backend) {
    let started = Instant::now();
    let seed = seed_from_env();
    let sales = sales_to_ring_up();
    let per_kind = faults_per_kind_on_batches();
    let db = Database::create(backend).await;
    let server = InProcessServer::start(&db.url).await;
    let api = Api::sign_in(&server.url(), "manager@demo.test").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::pass_through())
        .await
        .expect("start the fault proxy");

    let terminals: Vec<Terminal> =
        fleet::sign_in_terminals(TERMINALS, &proxy.url(), "cashier@demo.test").await;
    let stock_before = fleet::server_stock(&api).await;
    let codes = fleet::codes_with_stock(&api).await;
    assert!(
        !codes.is_empty(),
        "the demo catalog has no product with stock"
    );
    let references_before = db.demo_sale_references().await.len();

    let faulted_from = proxy.decisions().len();
    proxy.set_plan(
        FaultPlan::seeded(seed, FAULT_RATE)
            .on_paths(&["/api/v1/sync/"])
            .with_quota("POST", BATCH, per_kind),
    );
    eprintln!(
        "exactly once on {}: {sales} sales on {TERMINALS} terminals, fault rate {FAULT_RATE}, \
         {SEED_ENV}={seed}",
        backend.name()
    );

    // Refuse connections for a moment every now and then while the terminals work.
    let mut ledger = {
        let work = fleet::sell_while_syncing(&terminals, sales, seed, &codes);
        tokio::pin!(work);
        let mut ticker = tokio::time::interval(Duration::from_millis(1_000));
        ticker.tick().await;
        loop {
            tokio::select! {
                ledger = &mut work => break ledger,
                _ = ticker.tick() => proxy.refuse_connections_for(Duration::from_millis(200)).await,
            }
        }
    };

    // A short run may not have sent enough batches for the quota: a few more sales, with the
    // same faults, until every kind has hit a batch `per_kind` times.
    let mut extra_rounds = 0u64;
    while batch_faults(&proxy.decisions()[faulted_from..])
        .iter()
        .any(|(_, hits)| *hits < per_kind)
        && extra_rounds < 40
    {
        extra_rounds += 1;
        let more = fleet::sell_while_syncing(
            &terminals,
            TERMINALS,
            seed.wrapping_add(1_000 * extra_rounds),
            &codes,
        )
        .await;
        ledger.merge(more);
    }
    let replay = format!("replay with {SEED_ENV}={seed} POS_FAULT_SALES={sales}");
    // Drain with the faults still on, then one clean pull each so every mirror has the end state.
    let drained = fleet::drain(&terminals, Duration::from_secs(180)).await;
    let faults = fault_report(&proxy.stats());
    if let Err(stuck) = drained {
        panic!("{stuck}\nfaults: {faults}\n{replay}");
    }
    proxy.set_plan(FaultPlan::pass_through());
    let decisions = proxy.decisions();
    let sync_decisions: Vec<_> = decisions[faulted_from..]
        .iter()
        .filter(|d| d.target.starts_with("/api/v1/sync/"))
        .collect();
    let sync_faulted = sync_decisions
        .iter()
        .filter(|d| d.fault.kind().is_some())
        .count();
    let on_batches: Vec<(FaultKind, usize)> = FaultKind::ALL
        .iter()
        .map(|kind| {
            let hits = sync_decisions
                .iter()
                .filter(|d| {
                    d.method == "POST" && d.target == BATCH && d.fault.kind() == Some(*kind)
                })
                .count();
            (*kind, hits)
        })
        .collect();
    let on_batches_report = on_batches
        .iter()
        .map(|(kind, hits)| format!("{kind} {hits}"))
        .collect::<Vec<_>>()
        .join(", ");

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
        "exactly once on {}: {} sales ({} to {} customers created offline with dues, {} due \
         collections) in {:.1?}; {faults}; {SEED_ENV}={seed}",
        backend.name(),
        ledger.sales.len(),
        ledger.sales_with_due,
        ledger.customers_created,
        ledger.collections,
        started.elapsed()
    );
    eprintln!(
        "sync requests while faulting: {}, faulted {sync_faulted} ({:.0}%)",
        sync_decisions.len(),
        100.0 * sync_faulted as f64 / sync_decisions.len().max(1) as f64
    );
    assert!(
        problems.is_empty(),
        "exactly once broken on {}:\n{}\nfaults: {faults}\n{replay}",
        backend.name(),
        problems.join("\n")
    );
    assert_eq!(
        ledger.sales.len(),
        sales + TERMINALS * extra_rounds as usize
    );
    eprintln!(
        "faults on sale batches: {on_batches_report} ({extra_rounds} extra rounds of \
         {TERMINALS} sales to meet the quota)"
    );
    assert!(
        on_batches.iter().all(|(_, hits)| *hits >= per_kind),
        "the sale batches met some fault kind fewer than {per_kind} times ({on_batches_report}): \
         the run made too few batch requests to prove anything; {faults}"
    );
    assert!(
        sync_faulted * 100 >= sync_decisions.len() * 20 && sync_faulted >= 5,
        "too few faults to prove anything: {sync_faulted} of {} sync requests; {faults}",
        sync_decisions.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_under_faults_on_sqlite() {
    exactly_once_under_faults(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_under_faults_on_postgres() {
    exactly_once_under_faults(Backend::Postgres).await;
}
