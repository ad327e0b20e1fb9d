//! Crash safety against the real server: a `pos-terminal` process is killed with SIGKILL at
//! random moments while a loop of `sell` processes rings up sales and while `sync` pushes them.
//! After every round (a restart: a new process on the same data folder) each sale whose `sell`
//! printed its offline number is there exactly once, and no number is used twice; after a
//! final sync the server holds every local sale exactly once.
//!
//! Rounds: `POS_KILL_ROUNDS_E2E` (default 50). `POS_KILL_SEED` replays the kill moments.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pos_e2e::fleet;
use pos_e2e::harness::{binary, Api, Backend, Database, InProcessServer, PASSWORD};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

fn terminal(data_dir: &Path) -> Command {
    let mut command = Command::new(binary("pos-terminal"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env("POS_TERMINAL_CREDENTIALS", "file")
        .env("POS_TERMINAL_CONNECT_TIMEOUT_MS", "1000")
        .env("POS_TERMINAL_REQUEST_TIMEOUT_MS", "10000")
        .env("POS_TERMINAL_BACKOFF_INITIAL_MS", "10")
        .env("POS_TERMINAL_BACKOFF_MAX_MS", "100")
        .env("RUST_LOG", "warn");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run pos-terminal")
}

/// Starts `command` and SIGKILLs it at `kill_at` if it is still running then. Returns what
/// it printed on stdout and whether it was killed.
fn run_until(command: &mut Command, kill_at: Instant) -> (String, bool) {
    let mut child: Child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pos-terminal");
    let killed = loop {
        if child.try_wait().expect("poll pos-terminal").is_some() {
            break false;
        }
        if Instant::now() >= kill_at {
            child.kill().expect("SIGKILL pos-terminal");
            child.wait().expect("reap pos-terminal");
            break true;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .expect("read the output");
    (out, killed)
}

/// Offline numbers of the local sales, read by a fresh process (a restart).
fn local_numbers(data_dir: &Path) -> Vec<String> {
    let output = run(terminal(data_dir).args(["sales", "--json", "--limit", "1000000"]));
    assert!(
        output.status.success(),
        "sales --json after a kill: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sales: Value = serde_json::from_slice(&output.stdout).expect("sales --json is JSON");
    sales
        .as_array()
        .expect("sales --json is an array")
        .iter()
        .map(|s| s["offline_invoice_no"].as_str().unwrap().to_string())
        .collect()
}

fn counts(numbers: &[String]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for number in numbers {
        *counts.entry(number.as_str()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_selling_and_syncing_loses_and_doubles_nothing() {
    let rounds: usize = std::env::var("POS_KILL_ROUNDS_E2E")
        .map(|v| {
            v.parse()
                .expect("POS_KILL_ROUNDS_E2E must be a whole number")
        })
        .unwrap_or(50);
    let seed: u64 = std::env::var("POS_KILL_SEED")
        .map(|v| v.parse().expect("POS_KILL_SEED must be a whole number"))
        .unwrap_or_else(|_| rand::random());
    let started = Instant::now();
    let db = Database::create(Backend::Sqlite).await;
    let server = InProcessServer::start(&db.url).await;
    let api = Api::sign_in(&server.url(), "manager@demo.test").await;
    let codes = fleet::codes_with_stock(&api).await;
    let folder = tempfile::tempdir().unwrap();
    let data_dir = folder.path();
    let server_url = server.url();

    let outcome = tokio::task::spawn_blocking({
        let data_dir = data_dir.to_path_buf();
        move || {
            let data_dir = data_dir.as_path();
            let login = run(terminal(data_dir).args([
                "--server",
                &server_url,
                "login",
                "--email",
                "cashier@demo.test",
                "--password",
                PASSWORD,
            ]));
            assert!(
                login.status.success(),
                "login: {}",
                String::from_utf8_lossy(&login.stderr)
            );
            let mut rng = StdRng::seed_from_u64(seed);
            let replay = format!("replay with POS_KILL_SEED={seed} POS_KILL_ROUNDS_E2E={rounds}");
            let mut printed: Vec<String> = Vec::new();
            let (mut sell_kills, mut sync_kills, mut sells_done) = (0, 0, 0);
            let mut last_sync = Duration::from_millis(400);
            for round in 0..rounds {
                let syncing = round % 2 == 1;
                if syncing {
                    // A sale or two to push, then a sync killed at a random moment.
                    for _ in 0..rng.gen_range(1..=2) {
                        let code = &codes[rng.gen_range(0..codes.len())];
                        let out =
                            run(terminal(data_dir).args(["sell", "--item", &format!("{code}:1")]));
                        assert!(
                            out.status.success(),
                            "sell: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        printed.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
                        sells_done += 1;
                    }
                    // Kill within the time a whole sync took last, so most kills land mid-sync.
                    let sync_started = Instant::now();
                    let window = last_sync.as_millis().max(20) as u64;
                    let kill_at = sync_started + Duration::from_millis(rng.gen_range(0..window));
                    let (_, killed) = run_until(terminal(data_dir).arg("sync"), kill_at);
                    if killed {
                        sync_kills += 1;
                    } else {
                        last_sync = sync_started.elapsed();
                    }
                } else {
                    // A loop of sells; the one running at the kill moment is killed.
                    let kill_at = Instant::now() + Duration::from_millis(rng.gen_range(0..300));
                    loop {
                        let code = &codes[rng.gen_range(0..codes.len())];
                        let quantity = rng.gen_range(1..=3);
                        let (out, killed) = run_until(
                            terminal(data_dir).args([
                                "sell",
                                "--item",
                                &format!("{code}:{quantity}"),
                            ]),
                            kill_at,
                        );
                        if let Some(number) = out.lines().next().filter(|l| !l.trim().is_empty()) {
                            printed.push(number.trim().to_string());
                        }
                        if killed {
                            sell_kills += 1;
                            break;
                        }
                        sells_done += 1;
                    }
                }
                // Restart: a fresh process reads the data folder.
                let local = local_numbers(data_dir);
                let local_counts = counts(&local);
                if let Some((number, n)) = local_counts.iter().find(|(_, n)| **n > 1) {
                    panic!("round {round}: {number} is stored {n} times locally; {replay}");
                }
                for number in &printed {
                    assert!(
                        local_counts.contains_key(number.as_str()),
                        "round {round}: {number} was printed to the cashier but is gone after \
                         the kill; {replay}"
                    );
                }
            }

            // Push what is left, then compare with the server.
            let mut final_syncs = 0;
            loop {
                final_syncs += 1;
                let out = run(terminal(data_dir).arg("sync"));
                if out.status.success() {
                    break;
                }
                assert!(
                    final_syncs < 20,
                    "final sync keeps failing (exit {:?}): {}; {replay}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let status = run(terminal(data_dir).args(["status", "--json"]));
            let status: Value = serde_json::from_slice(&status.stdout).expect("status --json");
            assert_eq!(
                status["pending"], 0,
                "queue empty after the final sync: {status}"
            );
            assert_eq!(status["failed"], 0, "nothing refused: {status}");
            (
                local_numbers(data_dir),
                printed,
                sell_kills,
                sync_kills,
                sells_done,
                replay,
            )
        }
    })
    .await
    .expect("the kill rounds");
    let (local, printed, sell_kills, sync_kills, sells_done, replay) = outcome;

    let on_server: Vec<String> = db
        .texts(&format!(
            "SELECT offline_invoice_no FROM sales WHERE business_id = {}",
            db.demo_business_id
        ))
        .await
        .into_iter()
        .map(|n| n.unwrap_or_default())
        .collect();
    let server_counts = counts(&on_server);
    for number in &local {
        assert_eq!(
            server_counts.get(number.as_str()).copied().unwrap_or(0),
            1,
            "{number} must be on the server exactly once; {replay}"
        );
    }
    assert_eq!(
        on_server.len(),
        local.len(),
        "the server holds exactly the terminal's sales; {replay}"
    );
    eprintln!(
        "crash safety: {rounds} rounds, {sell_kills} kills while selling, {sync_kills} kills while \
         syncing, {sells_done} sells completed, {} numbers printed, {} sales on the terminal and \
         the server, in {:.1?}; POS_KILL_SEED={seed}",
        printed.len(),
        local.len(),
        started.elapsed()
    );
    assert!(
        sell_kills + sync_kills >= rounds / 2,
        "too few kills landed to prove anything"
    );
}
