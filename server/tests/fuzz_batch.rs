//! Random and extreme sale, return, cash and party JSON thrown at a running server, through the
//! sync batch and the online sale route: no request may panic or answer 5xx, no operation may
//! fail as an internal error, and an operation that is refused leaves nothing behind.

mod common;

use std::str::FromStr;

use common::{Backend, TestServer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{json, Map, Number, Value};

/// A number field as a hostile client may send it.
fn number() -> impl Strategy<Value = Value> {
    let literal = |text: &'static str| Just(Value::Number(Number::from_str(text).unwrap()));
    prop_oneof![
        literal("79228162514264337593543950335"),
        literal("-79228162514264337593543950335"),
        literal("1e30"),
        literal("1e-30"),
        literal("1000000000000"),
        literal("1000000000000.0001"),
        literal("0"),
        literal("-1"),
        literal("0.0005"),
        "[1-9][0-9]{0,31}(\\.[0-9]{1,12})?"
            .prop_map(|t| Value::Number(Number::from_str(&t).unwrap())),
        "-?[0-9]{1,4}(\\.[0-9]{1,4})?".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        Just(Value::Null),
        Just(json!(true)),
        Just(json!("NaN")),
    ]
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1i64..4).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        Just(Value::Null),
        Just(json!("1")),
    ]
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        ".{0,20}".prop_map(Value::String),
        (0usize..3000).prop_map(|n| Value::String("x".repeat(n))),
        Just(json!("2999-01-01T00:00:00Z")),
        Just(json!("\u{0}")),
    ]
}

fn line() -> impl Strategy<Value = Value> {
    (any::<u8>(), id(), number(), number(), number(), id()).prop_map(
        |(line_no, stock_id, quantities, price, discount, vat_id)| {
            json!({"line_no": line_no % 4, "stock_id": stock_id, "quantities": quantities,
                   "price": price, "discount": discount, "vat_id": vat_id})
        },
    )
}

/// One operation's data, with a fresh client reference to look it up by.
fn operation() -> impl Strategy<Value = (String, String, Value)> {
    let sale = (
        prop::collection::vec(line(), 0..4),
        (number(), number(), number(), number()),
        (id(), id(), text(), text()),
    )
        .prop_map(
            |(products, (total, paid, due, discount), (party, cashier, date, phone))| {
                let mut sale = Map::new();
                sale.insert("products".into(), json!(products));
                sale.insert("totalAmount".into(), total);
                sale.insert("paidAmount".into(), paid);
                sale.insert("dueAmount".into(), due);
                sale.insert("discountAmount".into(), discount);
                sale.insert("party_id".into(), party);
                sale.insert("cashier_id".into(), cashier);
                sale.insert("saleDate".into(), date);
                sale.insert(
                    "new_party".into(),
                    json!({"local_id": "np", "name": "N", "phone": phone}),
                );
                (
                    "sale".to_string(),
                    "create".to_string(),
                    Value::Object(sale),
                )
            },
        );
    let sale_return = (id(), number(), number(), id()).prop_map(|(sale, quantity, refund, by)| {
        (
            "sale_return".to_string(),
            "create".to_string(),
            json!({"sale_id": sale, "lines": [{"line_no": 1, "quantity": quantity}],
                   "refund_method": "cash", "refund_amount": refund, "authorised_by": by}),
        )
    });
    let movement = (number(), id()).prop_map(|(amount, by)| {
        (
            "cash_movement".to_string(),
            "create".to_string(),
            json!({"shift_id": 1, "kind": "pay_out", "amount": amount, "authorised_by": by}),
        )
    });
    let shift = (number(), id()).prop_map(|(float, cashier)| {
        (
            "shift".to_string(),
            "open".to_string(),
            json!({"opening_float": float, "cashier_id": cashier}),
        )
    });
    let due = (number(), id()).prop_map(|(amount, party)| {
        (
            "due_collection".to_string(),
            "create".to_string(),
            json!({"amount": amount, "party_id": party}),
        )
    });
    let party = (text(), text()).prop_map(|(phone, address)| {
        (
            "party".to_string(),
            "create".to_string(),
            json!({"name": "Fuzz", "phone": phone, "address": address}),
        )
    });
    prop_oneof![4 => sale, 2 => sale_return, 1 => movement, 1 => shift, 1 => due, 1 => party]
        .prop_map(|(entity, action, mut data)| {
            let reference = uuid::Uuid::new_v4().to_string();
            data["client_reference"] = json!(reference);
            data["local_id"] = json!(reference);
            (entity, action, data)
        })
}

/// The table an entity's client reference lives in, when it has one.
fn table_of(entity: &str) -> Option<&'static str> {
    match entity {
        "sale" => Some("sales"),
        "sale_return" => Some("sale_returns"),
        "due_collection" => Some("due_collects"),
        "shift" => Some("shifts"),
        _ => None,
    }
}

async fn one_case(
    server: &TestServer,
    token: &str,
    ops: Vec<(String, String, Value)>,
) -> Result<(), TestCaseError> {
    let operations: Vec<Value> = ops
        .iter()
        .map(|(entity, action, data)| {
            json!({"idempotency_key": uuid::Uuid::new_v4().to_string(), "entity": entity,
                   "action": action, "data": data})
        })
        .collect();
    let (status, answer) = common::json(
        server
            .request(Method::POST, "/api/v1/sync/batch", token)
            .header("X-Device-ID", "till-fuzz")
            .json(&json!({"device_id": "till-fuzz", "operations": operations}))
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("the server dropped the batch: {e}")))?,
    )
    .await;
    prop_assert!(status < 500, "{status}: {answer}");
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    for ((entity, _, data), result) in ops.iter().zip(&results) {
        prop_assert_ne!(&result["error_code"], "INTERNAL", "{}", result);
        let refused = result["status"] == "error";
        if let (true, Some(table)) = (refused, table_of(entity)) {
            let reference = data["client_reference"].as_str().unwrap_or_default();
            let kept = server
                .scalar(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE client_reference = '{reference}'"
                ))
                .await;
            prop_assert_eq!(kept, 0, "a refused {} was written: {}", entity, result);
        }
    }
    // The same sales online: a 4xx or a sale, never a 5xx.
    for (entity, _, data) in &ops {
        if entity != "sale" {
            continue;
        }
        let (status, body) = server
            .call(Method::POST, "/api/v1/sales", token, Some(data.clone()))
            .await;
        prop_assert!(status < 500, "{status}: {body}");
    }
    Ok(())
}

fn fuzz(backend: Backend, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TestServer::start(backend));
    let token = runtime.block_on(server.sign_in("cashier@demo.test"));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(operation(), 1..6), |ops| {
        runtime.block_on(one_case(&server, &token, ops))
    });
    // The reports add up whatever was accepted.
    let manager = runtime.block_on(server.sign_in("manager@demo.test"));
    for path in ["/api/v1/reports/sales/summary", "/api/v1/dashboard"] {
        let (status, body) = runtime.block_on(server.call(Method::GET, path, &manager, None));
        assert_eq!(status, 200, "{path}: {body}");
    }
    drop(server);
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn sqlite_survives_random_and_extreme_operations() {
    fuzz(Backend::Sqlite, 64);
}

#[test]
fn postgres_survives_random_and_extreme_operations() {
    fuzz(Backend::Postgres, 16);
}
