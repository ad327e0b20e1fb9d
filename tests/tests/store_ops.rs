//! A real terminal and the server agree about the till: the server's shift report equals the
//! terminal's Z report figure by figure (refunds and their VAT included), and a rescue file the terminal exported, imported by the owner and
//! then synced by the terminal as well, leaves each sale once.

use pos_e2e::fleet::{codes_with_stock, decimal, sign_in_terminals};
use pos_e2e::harness::{Api, Backend, Database, InProcessServer, PASSWORD};
use pos_engine::{CountedCash, PaymentInput, RefundInput, ReturnItem, ReturnLineInput};
use pos_protocol::Decimal;
use reqwest::Method;
use serde_json::Value;

async fn the_server_agrees_with_the_till(backend: Backend) {
    let database = Database::create(backend).await;
    let server = InProcessServer::start(&database.url).await;
    // The manager sets the till up (so the server seals PINs for it), then the cashier signs in.
    let terminals = sign_in_terminals(1, &server.url(), "manager@demo.test").await;
    let engine = &terminals[0].engine;
    engine
        .login(&server.url(), "cashier@demo.test", PASSWORD, None)
        .await
        .unwrap();
    let manager = Api::sign_in(&server.url(), "manager@demo.test").await;
    let codes = codes_with_stock(&manager).await;
    // The manager's PIN, set in the back office and mirrored, authorises the cashier's
    // returns and pay-out.
    let manager_id = manager
        .list_all("/api/v1/users")
        .await
        .iter()
        .find(|u| u["email"] == "manager@demo.test")
        .and_then(|u| u["id"].as_i64())
        .unwrap();
    let (status, user) = manager
        .call(Method::GET, &format!("/api/v1/users/{manager_id}"), None)
        .await;
    assert_eq!(status, 200, "{user}");
    let (status, body) = manager
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{manager_id}"),
            Some(&serde_json::json!({"pin": "579135", "version": user["data"]["version"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // On PostgreSQL a pull may need a few tries before an open transaction elsewhere ends.
    for _ in 0..300 {
        engine.sync_now().await.unwrap();
        if !engine.cashiers().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    engine.shift_open(Decimal::from(100)).unwrap();
    let mut sales = Vec::new();
    for (n, code) in codes.iter().take(3).enumerate() {
        engine.cart_add_code(code, Decimal::from(n + 1)).unwrap();
        sales.push(engine.complete_sale(PaymentInput::default()).unwrap());
    }
    // One item back from each sale, in cash: three products, three VAT rates.
    for (sale, code) in sales.iter().zip(&codes) {
        engine.manager_authorise("579135").unwrap();
        engine
            .return_sale(
                &sale.offline_invoice_no,
                vec![ReturnLineInput {
                    item: ReturnItem::Code(code.clone()),
                    quantity: Decimal::ONE,
                }],
                RefundInput::Cash,
            )
            .unwrap();
    }
    engine.shift_pay_in(Decimal::from(20), "change").unwrap();
    engine.manager_authorise("579135").unwrap();
    engine.shift_pay_out(Decimal::new(350, 2), "milk").unwrap();
    let z = engine
        .shift_close(CountedCash::Total(Decimal::from(150)))
        .unwrap();
    engine.sync_now().await.unwrap();

    let device = engine.session().unwrap().device.id;
    let (status, list) = manager
        .call(
            Method::GET,
            &format!("/api/v1/shifts?device={device}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    let id = list["data"][0]["id"].as_i64().unwrap();
    let (status, body) = manager
        .call(Method::GET, &format!("/api/v1/shifts/{id}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let report = &body["data"]["report"];
    for (field, till) in [
        ("opening_float", z.opening_float),
        ("sales_total", z.sales_total),
        ("cash_sales", z.cash_sales),
        ("cash_refunds", z.cash_refunds),
        ("pay_ins", z.pay_ins),
        ("pay_outs", z.pay_outs),
        ("expected_cash", z.expected_cash),
        ("discounts", z.discounts),
        ("vat", z.vat),
        ("due", z.due),
        ("refunds", z.refunds),
        ("refunds_vat", z.refunds_vat),
        ("cash_due_collections", z.cash_due_collections),
    ] {
        assert_eq!(decimal(&report[field]), till, "{field}: {report}");
    }
    assert!(z.refunds_vat > Decimal::ZERO, "{z:?}");
    assert_eq!(report["sales_count"], z.sales_count);
    assert_eq!(report["refunds_count"], z.refunds_count);
    assert_eq!(report["kind"], "z");
    let by_type = report["by_payment_type"].as_array().unwrap();
    assert_eq!(by_type.len(), z.by_payment_type.len(), "{report}");
    for till in &z.by_payment_type {
        let server = by_type
            .iter()
            .find(|t| t["payment_type_id"].as_i64() == till.payment_type_id)
            .unwrap_or_else(|| panic!("{till:?} not in {report}"));
        assert_eq!(server["name"], till.name.as_str());
        assert_eq!(server["is_cash"], till.is_cash);
        assert_eq!(server["sales_count"], till.sales_count);
        for (field, value) in [
            ("sales", till.sales),
            ("due_collections", till.due_collections),
            ("refunds", till.refunds),
        ] {
            assert_eq!(decimal(&server[field]), value, "{field}: {report}");
        }
    }
    assert_eq!(decimal(&report["counted_cash"]), z.counted_cash.unwrap());
    assert_eq!(decimal(&report["difference"]), z.difference.unwrap());

    // A sale the till has not synced, exported as a rescue file and imported by the owner;
    // then the till syncs it too.
    engine.cart_add_code(&codes[0], Decimal::ONE).unwrap();
    let rescued = engine.complete_sale(PaymentInput::default()).unwrap();
    let file = terminals[0].folder.path().join("rescue.json");
    engine.rescue_export(&file).unwrap();
    let owner = Api::sign_in(&server.url(), "owner@demo.test").await;
    let contents: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for _ in 0..2 {
        let (status, answer) = owner
            .call(Method::POST, "/api/v1/sync/rescue", Some(&contents))
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    engine.sync_now().await.unwrap();
    assert_eq!(
        database
            .scalar(&format!(
                "SELECT COUNT(*) FROM sales WHERE client_reference = '{}'",
                rescued.client_reference
            ))
            .await,
        1
    );
    assert_eq!(database.scalar("SELECT COUNT(*) FROM sales").await, 4);
    assert_eq!(
        database.scalar("SELECT COUNT(*) FROM sale_returns").await,
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_agrees_with_the_till_on_sqlite() {
    the_server_agrees_with_the_till(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_agrees_with_the_till_on_postgres() {
    the_server_agrees_with_the_till(Backend::Postgres).await
}
