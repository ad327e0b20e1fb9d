//! `pos-terminal shift …`, `return …` and `rescue export` run as processes, as scripts run them.
//! Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use pos_protocol::auth::Role;
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

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn refused(dir: &std::path::Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert_eq!(out.status.code(), Some(1), "{args:?} should be refused");
    assert!(out.stdout.is_empty(), "a refusal prints nothing on stdout");
    String::from_utf8(out.stderr).unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn a_shift_from_open_to_close_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded_by_manager(dir.path()));
    let dir = dir.path();

    assert!(refused(dir, &["shift", "report"]).contains("no_open_shift"));
    assert_eq!(
        ok(dir, &["shift", "open", "--float", "100"]),
        "shift 1 opened with a float of 100\n"
    );
    assert!(refused(dir, &["shift", "open", "--float", "5"]).contains("already open"));

    // Cash 2.76 (2 × 1.20 + 15% VAT) and card 1.38.
    let cash_sale = ok(
        dir,
        &["sell", "--item", "COLA0:2", "--pay", "cash", "--paid", "5"],
    );
    ok(dir, &["sell", "--item", "COLA0:1", "--pay", "card"]);
    assert_eq!(
        ok(dir, &["shift", "pay-in", "20", "--reason", "change top-up"]),
        "pay-in 20 recorded in shift 1\n"
    );
    ok(dir, &["shift", "pay-out", "5.50", "--reason", "milk"]);
    let returned = ok(
        dir,
        &[
            "return",
            cash_sale.trim(),
            "--item",
            "COLA0:1",
            "--refund",
            "cash",
        ],
    );
    assert_eq!(
        returned,
        format!("refund 1.38 cash for {} (return 1)\n", cash_sale.trim())
    );

    let x = json(&ok(dir, &["shift", "report", "--json"]));
    assert_eq!(x["kind"], "x");
    assert_eq!(x["opening_float"].to_string(), "100");
    assert_eq!(x["cash_sales"].to_string(), "2.76");
    assert_eq!(x["cash_refunds"].to_string(), "1.38");
    assert_eq!(x["pay_ins"].to_string(), "20");
    assert_eq!(x["pay_outs"].to_string(), "5.5");
    // 100 + 2.76 − 1.38 + 20 − 5.50
    assert_eq!(x["expected_cash"].to_string(), "115.88");
    assert!(x["counted_cash"].is_null() && x["difference"].is_null());
    let card = x["by_payment_type"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Card")
        .unwrap();
    assert_eq!(card["sales"].to_string(), "1.38");

    let text = ok(dir, &["shift", "report"]);
    assert!(text.contains("expected cash:   115.88"), "{text}");

    ok(dir, &["shift", "close", "--counted", "115.80"]);
    let z = json(&ok(dir, &["--json", "shift", "report"]));
    assert_eq!(z["kind"], "z");
    assert_eq!(z["counted_cash"].to_string(), "115.8");
    assert_eq!(z["difference"].to_string(), "-0.08");
    assert!(refused(dir, &["shift", "pay-in", "1", "--reason", "late"]).contains("no_open_shift"));

    // The next shift is counted note by note.
    ok(dir, &["shift", "open", "--float", "30"]);
    let z = json(&ok(
        dir,
        &[
            "shift", "close", "--count", "20:1", "--count", "5:2", "--json",
        ],
    ));
    assert_eq!(z["counted_cash"].to_string(), "30");
    assert_eq!(z["difference"].to_string(), "0");
    assert_eq!(z["counted_denominations"][1]["count"], 2);
    assert!(refused(dir, &["shift", "close", "--count", "20"]).contains("VALUE:COUNT"));
}

#[test]
fn returns_and_rescue_export_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded_by_manager(dir.path()));
    let dir = dir.path();
    let sale = ok(dir, &["sell", "--item", "COLA0:2", "--item", "WATER:1"]);
    let sale = sale.trim();

    let over = refused(dir, &["return", sale, "--item", "COLA0:3"]);
    assert!(
        over.contains("return_exceeds_sale") && over.contains("line 1"),
        "{over}"
    );
    assert!(refused(
        dir,
        &["return", sale, "--item", "COLA0:1", "--refund", "cheque"]
    )
    .contains("refund"));
    assert!(refused(
        dir,
        &["return", sale, "--item", "COLA0:1", "--refund", "due"]
    )
    .contains("customer"));
    assert!(refused(dir, &["return", "OFF-NONE-1", "--item", "COLA0:1"]).contains("OFF-NONE-1"));

    assert!(refused(
        dir,
        &[
            "return",
            sale,
            "--item",
            "COLA0:1",
            "--refund",
            "payment-type:voucher"
        ]
    )
    .contains("refund: no payment type named 'voucher'"));
    let stock = |dir: &std::path::Path| {
        json(&ok(dir, &["products", "search", "COLA0", "--json"]))[0]["stock"].to_string()
    };
    assert_eq!(stock(dir), "22");
    let by_card = json(&ok(
        dir,
        &[
            "--json",
            "return",
            sale,
            "--item",
            "line:1:2",
            "--refund",
            "payment-type:card",
        ],
    ));
    assert_eq!(by_card["refund_method"], "payment_type");
    assert_eq!(by_card["refund_amount"].to_string(), "2.76");
    assert_eq!(stock(dir), "24");

    let file = dir.join("rescue.json");
    let written = ok(dir, &["rescue", "export", file.to_str().unwrap()]);
    assert!(
        written.starts_with("2 unsynced operation(s) written to"),
        "{written}"
    );
    let rescue = json(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(rescue["format_version"], 1);
    let entities: Vec<&str> = rescue["content"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["entity"].as_str().unwrap())
        .collect();
    assert_eq!(entities, ["sale", "sale_return"]);
    assert_eq!(rescue["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn selling_without_a_shift_is_refused_when_the_business_requires_shifts() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = settings(true, false, 2);
    rules.shifts_required = true;
    drop(seeded_as(dir.path(), rules, Role::Manager));
    let dir = dir.path();
    let refusal = refused(dir, &["sell", "--item", "COLA0:1"]);
    assert!(refusal.contains("no_open_shift"), "{refusal}");
    ok(dir, &["shift", "open", "--float", "0"]);
    assert!(ok(dir, &["sell", "--item", "COLA0:1"]).starts_with("OFF-"));
    let drawer = json(&ok(
        dir,
        &["shift", "open-drawer", "--reason", "no sale", "--json"],
    ));
    assert_eq!(drawer["kind"], "drawer_open");
}

/// A network printer on loopback taking `jobs` print jobs.
fn loopback_printer(jobs: usize) -> (u16, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    use std::io::Read as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        (0..jobs)
            .map(|_| {
                let (mut stream, _) = listener.accept().unwrap();
                let mut bytes = Vec::new();
                stream.read_to_end(&mut bytes).unwrap();
                bytes
            })
            .collect()
    });
    (port, handle)
}

fn has(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn sell_prints_to_the_configured_printer_and_print_copy_reprints() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));
    let dir = dir.path();
    let (port, printer) = loopback_printer(4);
    let port = port.to_string();
    let shown = ok(
        dir,
        &[
            "printer",
            "set",
            "--kind",
            "network",
            "--target",
            "127.0.0.1",
            "--port",
            &port,
            "--paper",
            "58",
        ],
    );
    assert_eq!(
        shown,
        format!("printer network 127.0.0.1:{port} paper 58mm auto-print true drawer true\n")
    );
    assert!(refused(dir, &["printer", "set", "--kind", "serial"]).contains("kind"));

    // `sell` still prints only the invoice number; the receipt goes to the printer.
    let invoice = ok(
        dir,
        &["sell", "--item", "COLA0:2", "--pay", "cash", "--paid", "5"],
    );
    let invoice = invoice.trim();
    assert!(ok(dir, &["print", invoice, "--copy"]).starts_with("printed "));
    ok(dir, &["printer", "test"]);
    ok(dir, &["shift", "open", "--float", "10"]);

    let jobs = printer.join().unwrap();
    let (receipt, copy, test, shift_open) = (&jobs[0], &jobs[1], &jobs[2], &jobs[3]);
    for job in [receipt, copy, test] {
        assert!(job.starts_with(b"\x1b@") && job.ends_with(b"\x1dVB\x00"));
    }
    assert!(has(receipt, invoice.as_bytes()) && has(receipt, b"USD 2.76"));
    assert!(
        has(receipt, b"\x1bp\x00\x19\xfa"),
        "a cash sale kicks the drawer"
    );
    assert!(has(copy, b"COPY") && !has(copy, b"\x1bp"));
    assert!(has(test, b"32 columns"));
    assert_eq!(
        shift_open.as_slice(),
        b"\x1b@\x1bp\x00\x19\xfa",
        "a shift opens the drawer"
    );
}

#[test]
fn cashiers_switch_by_pin_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));
    let dir = dir.path();
    // The signed-in cashier (user 7) may set their own PIN, not another's.
    ok(
        dir,
        &[
            "cashier",
            "set-pin",
            "--user-id",
            "7",
            "--name",
            "Casey",
            "--pin",
            "4321",
        ],
    );
    assert!(refused(
        dir,
        &[
            "cashier",
            "set-pin",
            "--user-id",
            "8",
            "--name",
            "Sam",
            "--pin",
            "1111"
        ]
    )
    .contains("manager_required"));
    assert!(refused(dir, &["cashier", "switch", "--pin", "1111"]).contains("wrong_pin"));
    assert_eq!(
        ok(dir, &["cashier", "switch", "--pin", "4321"]),
        "7  Casey  (cashier)\n"
    );
    assert!(ok(dir, &["cashier"]).starts_with("working the till: Casey (cashier)\n"));
    // A cashier's PIN is no manager's.
    assert!(refused(dir, &["--manager-pin", "4321", "status"]).contains("wrong_pin"));
}
