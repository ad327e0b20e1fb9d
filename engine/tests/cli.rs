//! The `pos-terminal` binary run as a process, as scripts run it.
//! Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use std::process::{Command, Output};

fn cli(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pos-terminal"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("POS_TERMINAL_SERVER")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn sell_works_offline_and_prints_only_the_offline_number() {
    let dir = tempfile::tempdir().unwrap();
    let short_code = {
        let engine = seeded(dir.path());
        engine.device().unwrap().short_code
    };

    let sold = cli(
        dir.path(),
        &[
            "sell",
            "--item",
            "COLA0:2",
            "--item",
            "2000000000015:0.5",
            "--discount",
            "10%",
            "--pay",
            "card",
        ],
    );
    assert_eq!(sold.status.code(), Some(0), "{}", stderr(&sold));
    assert_eq!(stdout(&sold), format!("OFF-{short_code}-1\n"));

    let status = cli(dir.path(), &["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let json: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(json["pending"], 1);
    assert_eq!(json["failed"], 0);
    assert_eq!(json["online"], false);
    assert!(json["last_sync_at"].is_null());

    let sales = cli(dir.path(), &["--json", "sales"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&sales)).unwrap();
    assert_eq!(json[0]["offline_invoice_no"], format!("OFF-{short_code}-1"));
    assert_eq!(json[0]["sync_state"], "queued");
    // 2.40 + 0.995→1.00 = 3.40, less 10% = 3.06; VAT 15% of 2.16 = 0.32, 5% of 0.90 = 0.05
    assert_eq!(json[0]["total"].to_string(), "3.43");

    let queue = cli(dir.path(), &["queue", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&queue)).unwrap();
    assert_eq!(json[0]["entity"], "sale");
    assert_eq!(json[0]["state"], "queued");
}

#[test]
fn refusals_exit_1_with_the_reason_and_an_unreachable_server_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));

    let partial = cli(dir.path(), &["sell", "--item", "OJ1:1", "--paid", "1"]);
    assert_eq!(partial.status.code(), Some(1));
    assert!(stdout(&partial).is_empty());
    assert!(
        stderr(&partial).contains("due_requires_customer"),
        "{}",
        stderr(&partial)
    );

    let unknown = cli(dir.path(), &["sell", "--item", "NOPE:1"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("NOPE"), "{}", stderr(&unknown));

    let malformed = cli(dir.path(), &["sell", "--item", "OJ1"]);
    assert_eq!(malformed.status.code(), Some(1));
    assert!(
        stderr(&malformed).contains("CODE:QTY"),
        "{}",
        stderr(&malformed)
    );

    let on_credit = cli(
        dir.path(),
        &[
            "sell",
            "--item",
            "OJ1:1",
            "--pay",
            "Credit",
            "--customer",
            "50",
        ],
    );
    assert_eq!(on_credit.status.code(), Some(0), "{}", stderr(&on_credit));

    // The remembered server (127.0.0.1:9) is not there.
    let sync = cli(dir.path(), &["sync"]);
    assert_eq!(sync.status.code(), Some(2), "{}", stderr(&sync));
    let status = cli(dir.path(), &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(json["pending"], 1);
    assert_eq!(json["online"], false);
}

#[test]
fn products_search_prints_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));
    let found = cli(dir.path(), &["products", "search", "cola", "--json"]);
    assert_eq!(found.status.code(), Some(0), "{}", stderr(&found));
    let json: serde_json::Value = serde_json::from_str(&stdout(&found)).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for field in [
        "id",
        "productCode",
        "productName",
        "productSalePrice",
        "stock",
    ] {
        assert!(rows[0].get(field).is_some(), "missing {field}: {}", rows[0]);
    }
    assert_eq!(rows[1]["productName"], "Cola Zero 330ml");
    assert_eq!(rows[1]["productSalePrice"].to_string(), "1.2");
    assert_eq!(rows[1]["stock"].to_string(), "24");
}

#[test]
fn a_customer_added_at_the_till_buys_on_credit_and_pays_some_back() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));
    let added = cli(
        dir.path(),
        &["customers", "add", "--name", "Dana Doe", "--phone", "0722"],
    );
    assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));
    assert_eq!(stdout(&added), "local:1\n");

    let types = cli(dir.path(), &["payment-types", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&types)).unwrap();
    assert_eq!(json[2]["name"], "Credit");
    assert_eq!(json[2]["is_credit"], true);

    let sold = cli(
        dir.path(),
        &[
            "sell",
            "--item",
            "OJ1:2",
            "--pay",
            "Credit",
            "--customer",
            "local:1",
        ],
    );
    assert_eq!(sold.status.code(), Some(0), "{}", stderr(&sold));
    let paid = cli(
        dir.path(),
        &[
            "due",
            "collect",
            "--customer",
            "local:1",
            "--amount",
            "2.00",
            "--note",
            "cash",
        ],
    );
    assert_eq!(paid.status.code(), Some(0), "{}", stderr(&paid));

    let listed = cli(dir.path(), &["customers", "--search", "dana", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    // 2 × 2.49 = 4.98 + 5% VAT 0.25 = 5.23 on credit, 2.00 paid back
    assert_eq!(json[0]["due"].to_string(), "3.23");
    assert_eq!(json[0]["party_ref"]["local"], 1);

    let queue = cli(dir.path(), &["queue", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&queue)).unwrap();
    let entities: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["entity"].as_str().unwrap())
        .collect();
    assert_eq!(entities, ["party", "sale", "due_collection"]);

    let unknown = cli(
        dir.path(),
        &["due", "collect", "--customer", "local:9", "--amount", "1"],
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("local:9"), "{}", stderr(&unknown));
}
