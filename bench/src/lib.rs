//! Performance work of the terminal: a seeded catalog generator ([`dataset`]) that feeds the
//! engine's mirror (and later the server), and the pieces the benchmarks share: a till loaded
//! through the engine's real apply path beside a raw SQLite copy of the same rows
//! ([`fixture`], [`raw`]), the operations they time ([`workload`]), and percentiles and memory
//! figures ([`stats`]).
//!
//! The sync server under load, and a real engine against it end to end: [`load`].
//!
//! Benchmarks: `cargo bench -p pos-bench` (criterion),
//! `cargo run --release -p pos-bench --bin pos-bench` (p50/p95/p99, cold start, RSS) and
//! `cargo run --release -p pos-bench --bin pos-load` (server throughput, end-to-end sync).
//! Figures and commands: `docs/BENCHMARKS.md`.

pub mod dataset;
pub mod fixture;
pub mod load;
pub mod raw;
pub mod stats;
pub mod workload;
