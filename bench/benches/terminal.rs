//! criterion benchmarks of the terminal engine on a real SQLite file holding the seeded
//! catalog (100k products with stock, 20k parties unless `POS_BENCH_PRODUCTS` /
//! `POS_BENCH_PARTIES` say otherwise), each beside its raw rusqlite baseline in the same run.
//!
//! `cargo bench -p pos-bench` — criterion reports means; the p99 figures come from
//! `cargo run --release -p pos-bench --bin pos-bench`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use pos_bench::fixture::{config_from_env, BenchTill};
use pos_bench::raw::ProductRow;
use pos_bench::workload::{self, PULL_PAGE_PRODUCTS, SEARCH_CASES, SEARCH_LIMIT};

fn prepare() -> BenchTill {
    let config = config_from_env().expect("benchmark size");
    eprintln!(
        "loading {} products and {} parties through the engine's full-download path…",
        config.products, config.parties
    );
    let till = BenchTill::prepare(config, pos_protocol::sync::DEFAULT_PAGE_SIZE as usize)
        .expect("a loaded till");
    eprintln!(
        "loaded {} records in {:.2} s",
        till.load.records,
        till.load.apply.as_secs_f64()
    );
    till
}

fn terminal(c: &mut Criterion) {
    let mut till = prepare();

    let mut group = c.benchmark_group("sale_5_lines_durable");
    let mut basket = 1_000_000u64;
    group.bench_function("engine complete_sale", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                basket += 1;
                till.fill_cart(basket).expect("cart");
                let started = Instant::now();
                till.complete_sale().expect("sale");
                spent += started.elapsed();
            }
            spent
        })
    });
    group.bench_function("raw insert sale+5 lines+outbox", |b| {
        b.iter(|| till.raw.insert_sale().expect("raw sale"))
    });
    group.finish();

    let mut group = c.benchmark_group("barcode_lookup");
    let mut step = 0u64;
    group.bench_function("engine product_by_code", |b| {
        b.iter(|| {
            step += 1;
            let code = workload::scanned_barcode(&till.dataset, step);
            till.engine.product_by_code(&code).expect("look-up")
        })
    });
    let mut step = 0u64;
    group.bench_function("raw indexed select", |b| {
        b.iter(|| {
            step += 1;
            let code = workload::scanned_barcode(&till.dataset, step);
            till.raw.product_by_barcode(&code).expect("look-up")
        })
    });
    group.finish();

    let mut group = c.benchmark_group("name_prefix_search");
    for case in SEARCH_CASES {
        group.bench_with_input(
            BenchmarkId::new("engine search_products", case.text),
            &case,
            |b, case| {
                b.iter(|| {
                    till.engine
                        .search_products(case.text, SEARCH_LIMIT)
                        .expect("search")
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("raw fts5 match", case.text),
            &case,
            |b, case| b.iter(|| till.raw.search(case.fts, SEARCH_LIMIT).expect("search")),
        );
    }
    group.finish();

    let mut group = c.benchmark_group("pull_page_500_products");
    group.sample_size(20);
    let mut version = 1i64;
    let mut page = 0u64;
    group.bench_function("engine apply_changes", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                version += 1;
                page += 1;
                let changes = till.dataset.changed_products(
                    workload::pull_page_start(&till.dataset, page),
                    PULL_PAGE_PRODUCTS,
                    version,
                );
                let started = Instant::now();
                till.engine.apply_changes(&changes).expect("pull page");
                spent += started.elapsed();
            }
            spent
        })
    });
    let mut version = 1i64;
    let mut page = 0u64;
    group.bench_function("raw 500 upserts one tx", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                version += 1;
                page += 1;
                let changes = till.dataset.changed_products(
                    workload::pull_page_start(&till.dataset, page),
                    PULL_PAGE_PRODUCTS,
                    version,
                );
                let rows: Vec<ProductRow> = changes
                    .data
                    .products
                    .iter()
                    .flat_map(|set| &set.updated)
                    .map(|p| ProductRow::of(p).expect("row"))
                    .collect();
                let started = Instant::now();
                till.raw.upsert_products(&rows).expect("upserts");
                spent += started.elapsed();
            }
            spent
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = terminal
}
criterion_main!(benches);
