//! Crash safety of a completed sale: the CLI is killed with SIGKILL at random moments while it
//! sells. Every sale whose number was printed is there after the restart, whole (lines and
//! queued operation), and no offline number is lost or used twice.
//! Rounds: `POS_KILL_ROUNDS` (default 50). Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn sales_survive_sigkill_whole_and_numbers_never_repeat() {
    let rounds: u64 = std::env::var("POS_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let short_code = seeded(dir.path()).device().unwrap().short_code;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut printed = Vec::new();
    for _ in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pos-terminal"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["sell", "--item", "WATER:1", "--item", "COLA0:2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
        child.kill().ok(); // SIGKILL; the process may have finished already
        child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        if let Some(number) = out.lines().next() {
            printed.push(number.to_string());
        }
    }

    let engine = open(dir.path());
    let sales = engine.sales(10_000).unwrap();
    for number in &printed {
        assert!(
            sales.iter().any(|s| &s.offline_invoice_no == number),
            "{number} was shown to the cashier but is gone"
        );
    }
    let mut seqs: Vec<i64> = sales
        .iter()
        .map(|s| pos_protocol::sync::offline_seq(&s.offline_invoice_no).unwrap())
        .collect();
    seqs.sort();
    let expected: Vec<i64> = (1..=sales.len() as i64).collect();
    assert_eq!(seqs, expected, "numbers are consecutive and never reused");
    for sale in &sales {
        assert_eq!(
            engine.sale(sale.local_id).unwrap().lines.len(),
            2,
            "a sale is whole"
        );
    }
    let queue = engine.queue().unwrap();
    assert_eq!(queue.len(), sales.len(), "one queued operation per sale");
    assert_eq!(engine.status().pending, sales.len() as u64);

    // The till goes on after the crashes.
    engine.cart_add_code("WATER", d("1")).unwrap();
    let next = engine
        .complete_sale(pos_engine::PaymentInput::default())
        .unwrap();
    assert_eq!(
        next.offline_invoice_no,
        format!("OFF-{short_code}-{}", sales.len() + 1)
    );
    eprintln!(
        "{rounds} kills: {} sales printed, {} stored",
        printed.len(),
        sales.len()
    );
}
