//! The load generator's exactly-once check, on a small run against an in-process server on a
//! SQLite file: it holds for what the terminals pushed, and it notices a missing and an
//! unexpected sale and a wrong number of lines.

use pos_bench::load::db::Pool;
use pos_bench::load::{self, check_exactly_once, IngestConfig, LoadDatabase, RunningServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pushed_sale_lands_exactly_once_and_the_check_sees_a_difference() {
    let db = LoadDatabase::open("sqlite").await.unwrap();
    let store = pos_server::store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let businesses = load::seed_businesses(store.as_ref(), "test", 2, 5)
        .await
        .unwrap();
    drop(store);
    let server = RunningServer::start(&load::ServerMode::InProcess, &db.url)
        .await
        .unwrap();
    let pool = Pool::connect(&db.url).await.unwrap();
    let config = IngestConfig {
        terminals: 2,
        businesses: 2,
        sales_per_terminal: 5,
        lines_per_sale: 2,
        batch_size: 3,
        products: 5,
        raw_sales: 4,
        seed: 7,
    };
    // The raw baseline runs at the end, by hand: its rows would count as unexpected below.
    let report = load::run_ingest(&server, &pool, &businesses, &config, 0)
        .await
        .unwrap();
    assert_eq!(report.sales, 10);
    assert!(report.exactly_once.holds(), "{:?}", report.exactly_once);
    assert_eq!(report.metrics.total_errors(), 0, "{:?}", report.metrics);
    // Two batches per terminal (3 + 2 sales), each followed by a pull.
    assert_eq!(report.metrics.latency["batch"].len(), 4);
    assert!(report.metrics.latency["changes"].len() >= 4);
    assert!(report.raw.is_empty());

    // The same check against a doctored list of what was sent.
    let ids: Vec<i64> = businesses.iter().map(|b| b.id).collect();
    let rows = pool.sales_with_line_counts(&ids).await.unwrap();
    let mut sent: Vec<String> = rows.iter().map(|(r, _)| r.clone()).collect();
    assert_eq!(sent.len(), 10);
    let dropped = sent.pop().unwrap();
    sent.push("never-sent".into());
    let check = check_exactly_once(&pool, &ids, &sent, 2).await.unwrap();
    assert!(!check.holds());
    assert_eq!(check.missing, vec!["never-sent".to_string()]);
    assert_eq!(check.unexpected, vec![dropped]);
    // Wrong line count: every sale has 2 lines, not 3.
    let check = check_exactly_once(
        &pool,
        &ids,
        &rows.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>(),
        3,
    )
    .await
    .unwrap();
    assert_eq!(check.wrong_line_counts, 10);

    for counter in [false, true] {
        let raw = pool
            .raw_insert_rate(businesses[0].id, &businesses[0].stocks, 4, 2, 2, counter)
            .await
            .unwrap();
        assert_eq!(raw.commit.len(), 4);
    }
    assert_eq!(pool.sales_with_line_counts(&ids).await.unwrap().len(), 18);

    server.stop().await.unwrap();
    db.dispose().await.unwrap();
}
