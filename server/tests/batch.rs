//! `POST /sync/batch` over real HTTP on both databases: exactly once, local ids across
//! batches, dependants of failures, overselling, gap-free invoice numbers under concurrency.

mod common;

use std::collections::BTreeSet;

use common::{json, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

async fn send(server: &TestServer, token: &str, device: &str, operations: Value) -> (u16, Value) {
    json(
        server
            .request(Method::POST, "/api/v1/sync/batch", token)
            .header("X-Device-ID", device)
            .header("X-Client-Version", "0.1.0")
            .json(&json!({"operations": operations, "device_id": device}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A cash-less sale of `quantity` from stock 1 (0.50 each, no VAT) left as the party's due.
fn credit_sale(key: &str, reference: &str, local: &str, party: Value, quantity: u32) -> Value {
    let total = format!("{:.2}", f64::from(quantity) * 0.5);
    let mut data = json!({
        "local_id": local,
        "client_reference": reference,
        "offline_invoice_no": "OFF-ABCD-7",
        "totalAmount": total, "paidAmount": 0, "dueAmount": total,
        "payment_type_id": 3,
        "saleDate": "2026-11-25T10:00:00.000Z",
        "products": [{"line_no": 1, "stock_id": 1, "quantities": quantity, "price": 0.5, "vat_id": 1,
                      "product_name": "an extra old clients send"}]
    });
    for (k, v) in party.as_object().unwrap() {
        data[k] = v.clone();
    }
    json!({"idempotency_key": key, "entity": "sale", "action": "create", "data": data,
           "offline_timestamp": "2026-11-25T10:00:00.000Z"})
}

async fn stock_of(server: &TestServer, id: i64) -> String {
    let manager = server.sign_in("manager@demo.test").await;
    let (_, body) = json(
        server
            .request(Method::GET, &format!("/api/v1/stocks/{id}"), &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    body["data"]["productStock"].to_string()
}

async fn a_batch_applies_exactly_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (status, _) = json(
        server
            .request(Method::POST, "/api/v1/sync/register", &cashier)
            .json(&json!({"device_id": "till-abcd", "device_name": "Till"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let operations = json!([
        {"idempotency_key": "op-party-1", "entity": "party", "action": "create",
         "data": {"local_id": "p1", "name": "Offline Olga", "phone": "555-0300"}},
        credit_sale("op-sale-1", "5b0e1c9e-1111-4e55-9a0c-000000000001", "s1", json!({"party_local_id": "p1"}), 2),
    ]);
    let (status, first) = send(&server, &cashier, "till-abcd", operations.clone()).await;
    assert_eq!(status, 200, "{first}");
    let results = first["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "created");
    assert_eq!(results[1]["status"], "created", "{first}");
    assert_eq!(results[1]["invoice_number"], "DM-000001");
    assert_eq!(results[1]["local_id"], "s1");
    assert_eq!(first["summary"]["success_count"], 2);
    let party_id = results[0]["server_id"].as_i64().unwrap();
    let sale_id = results[1]["server_id"].as_i64().unwrap();

    let (status, again) = send(&server, &cashier, "till-abcd", operations).await;
    assert_eq!(status, 200);
    for (replay, original) in again["results"].as_array().unwrap().iter().zip(results) {
        assert_eq!(replay["replayed"], true);
        assert_eq!(replay["server_id"], original["server_id"]);
        assert_eq!(replay["status"], original["status"]);
        assert_eq!(replay["invoice_number"], original["invoice_number"]);
    }
    // The same sale under a new key (its key expired, or the terminal lost it).
    let (status, retry) = send(
        &server,
        &cashier,
        "till-abcd",
        json!([credit_sale(
            "op-sale-1-again",
            "5b0e1c9e-1111-4e55-9a0c-000000000001",
            "s1",
            json!({"party_local_id": "p1"}),
            2
        )]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(retry["results"][0]["status"], "skipped");
    assert_eq!(retry["results"][0]["server_id"], sale_id);

    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 1);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sale_details").await, 1);
    assert_eq!(stock_of(&server, 1).await, "18", "one decrement");
    let manager = server.sign_in("manager@demo.test").await;
    let (_, party) = json(
        server
            .request(
                Method::GET,
                &format!("/api/v1/parties/{party_id}"),
                &manager,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(party["data"]["due"], json!(1), "one due increase");
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM offline_audit_logs")
            .await,
        2
    );
    assert!(server.scalar("SELECT COUNT(*) FROM sync_logs").await >= 3);

    // A reinstalled terminal continues after the offline numbers the server has seen.
    let (_, registered) = json(
        server
            .request(Method::POST, "/api/v1/sync/register", &cashier)
            .json(&json!({"device_id": "till-abcd", "device_name": "Till"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(registered["data"]["last_offline_seq"], 7);
    let (status, _) = json(
        server
            .request(Method::GET, "/api/v1/devices", &cashier)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, devices) = json(
        server
            .request(Method::GET, "/api/v1/devices", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(devices["data"][0]["device_id"], "till-abcd");
    assert_eq!(devices["data"][0]["last_offline_seq"], 7);
    assert!(
        devices["data"][0]["last_sync_at"].is_string(),
        "a batch moves last_sync_at"
    );

    // The same key with another operation is refused, and nothing moves.
    let (status, reused) = send(
        &server,
        &cashier,
        "till-abcd",
        json!([credit_sale(
            "op-sale-1",
            "another-reference",
            "s2",
            json!({"party_id": party_id}),
            1
        )]),
    )
    .await;
    assert_eq!(status, 207);
    assert_eq!(reused["results"][0]["error_code"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 1);
}

async fn local_ids_resolve_and_failures_fail_dependants(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (status, _) = send(
        &server,
        &cashier,
        "till-1",
        json!([{"idempotency_key": "party-a", "entity": "party", "action": "create", "data": {"local_id": 41, "name": "Earlier Ed"}}]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = send(
        &server,
        &cashier,
        "till-1",
        json!([
            {"idempotency_key": "party-bad", "entity": "party", "action": "create", "data": {"local_id": "p9", "name": "  "}},
            credit_sale("sale-dep", "ref-dep", "s-dep", json!({"party_local_id": "p9"}), 1),
            credit_sale("sale-earlier", "ref-earlier", "s-earlier", json!({"party_local_id": 41}), 1),
            credit_sale("sale-new-party", "ref-new", "s-new", json!({"new_party": {"local_id": "p10", "name": "New Nia"}}), 1),
            credit_sale("sale-no-party", "ref-none", "s-none", json!({}), 1),
            {"idempotency_key": "weird", "entity": "spaceship", "action": "launch", "data": {}},
        ]),
    )
    .await;
    assert_eq!(status, 207, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "error");
    assert_eq!(results[0]["error_code"], "VALIDATION_FAILED");
    assert_eq!(results[1]["error_code"], "DEPENDENCY_FAILED");
    assert_eq!(results[2]["status"], "created", "{body}");
    assert_eq!(results[3]["status"], "created", "{body}");
    assert_eq!(results[4]["error_code"], "DUE_REQUIRES_PARTY");
    assert_eq!(results[5]["error_code"], "UNSUPPORTED_OPERATION");
    assert_eq!(body["summary"]["success_count"], 2);
    assert_eq!(body["summary"]["error_count"], 4);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 2);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM parties WHERE name IN ('Earlier Ed', 'New Nia')")
            .await,
        2
    );
    // Another device's local ids are its own.
    let (status, body) = send(
        &server,
        &cashier,
        "till-2",
        json!([credit_sale(
            "sale-other-till",
            "ref-other",
            "s1",
            json!({"party_local_id": 41}),
            1
        )]),
    )
    .await;
    assert_eq!(status, 207);
    assert_eq!(body["results"][0]["error_code"], "PARTY_NOT_FOUND");
}

/// Sales share a transaction, but each stays atomic on its own: a sale that fails half way
/// (after creating its new party, on its second line) leaves nothing behind and takes no
/// invoice number; the sales around it commit; only it and what depends on it are rejected.
async fn a_failing_sale_in_the_middle_fails_alone(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let before = server.scalar("SELECT COUNT(*) FROM parties").await;
    let audited = server
        .scalar("SELECT COUNT(*) FROM offline_audit_logs")
        .await;
    let mut broken = credit_sale(
        "mid-b",
        "ref-mid-b",
        "s-b",
        json!({"new_party": {"local_id": "p-b", "name": "Half Way Hal"}}),
        1,
    );
    broken["data"]["products"]
        .as_array_mut()
        .unwrap()
        .push(json!({"line_no": 2, "stock_id": 999_999, "quantities": 1, "price": 0.5}));
    let operations = json!([
        credit_sale("mid-a", "ref-mid-a", "s-a", json!({"party_id": 1}), 2),
        broken,
        credit_sale("mid-d", "ref-mid-d", "s-d", json!({"party_local_id": "p-b"}), 1),
        credit_sale("mid-c", "ref-mid-c", "s-c", json!({"party_id": 1}), 3),
        {"idempotency_key": "mid-due", "entity": "due_collection", "action": "create",
         "data": {"local_id": "d-1", "sale_local_id": "s-b", "amount": 0.5}},
    ]);
    let (status, body) = send(&server, &cashier, "till-mid", operations.clone()).await;
    assert_eq!(status, 207, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "created", "{body}");
    assert_eq!(results[1]["status"], "error");
    assert_eq!(results[1]["error_code"], "STOCK_NOT_FOUND", "{body}");
    assert_eq!(results[2]["error_code"], "DEPENDENCY_FAILED", "{body}");
    assert_eq!(results[3]["status"], "created", "{body}");
    assert_eq!(results[4]["error_code"], "DEPENDENCY_FAILED", "{body}");
    assert_eq!(body["summary"]["success_count"], 2);
    assert_eq!(body["summary"]["error_count"], 3);
    // Gap-free: the failed sale took no number.
    assert_eq!(results[0]["invoice_number"], "DM-000001");
    assert_eq!(results[3]["invoice_number"], "DM-000002");
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 2);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sale_details").await, 2);
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM parties").await,
        before,
        "the failed sale's new party is rolled back with it"
    );
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM local_id_map WHERE local_id IN ('p-b', 's-b')")
            .await,
        0
    );
    assert_eq!(stock_of(&server, 1).await, "15", "20 less the 2 + 3 sold");
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM offline_audit_logs")
            .await,
        audited + 2
    );

    // The same batch again: the applied sales replay, the failed one is tried again (and
    // fails again), nothing moves twice.
    let (status, again) = send(&server, &cashier, "till-mid", operations).await;
    assert_eq!(status, 207, "{again}");
    let replays = again["results"].as_array().unwrap();
    for i in [0, 3] {
        assert_eq!(replays[i]["replayed"], true, "{again}");
        assert_eq!(replays[i]["invoice_number"], results[i]["invoice_number"]);
        assert_eq!(replays[i]["server_id"], results[i]["server_id"]);
    }
    assert_eq!(replays[1]["error_code"], "STOCK_NOT_FOUND");
    assert_eq!(replays[1]["replayed"], false);
    assert_eq!(replays[2]["error_code"], "DEPENDENCY_FAILED");
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 2);
    assert_eq!(stock_of(&server, 1).await, "15");

    // The next sale follows on without a gap.
    let (status, next) = send(
        &server,
        &cashier,
        "till-mid",
        json!([credit_sale(
            "mid-e",
            "ref-mid-e",
            "s-e",
            json!({"party_id": 1}),
            1
        )]),
    )
    .await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["results"][0]["invoice_number"], "DM-000003");
}

/// Makes the test database refuse the sale row with client reference `ref-rf-b`, as a
/// constraint would that no check before it knows of.
async fn refuse_sale_row(server: &TestServer) {
    use sqlx::Connection;
    match server.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&server.database_url)
                .await
                .unwrap();
            sqlx::query(
                "CREATE TRIGGER refuse_rf_b BEFORE INSERT ON sales \
                 WHEN NEW.client_reference = 'ref-rf-b' BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .execute(&mut conn)
            .await
            .unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&server.database_url)
                .await
                .unwrap();
            for sql in [
                "CREATE FUNCTION refuse_rf_b() RETURNS trigger AS $$ BEGIN \
                 IF NEW.client_reference = 'ref-rf-b' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_rf_b BEFORE INSERT ON sales FOR EACH ROW \
                 EXECUTE FUNCTION refuse_rf_b()",
            ] {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
        }
    }
}

/// A run of sales is written in one statement per table. When the database refuses one
/// sale's row, the run is applied again sale by sale, so that only that sale fails, and the
/// others keep gap-free numbers.
async fn a_row_the_database_refuses_fails_its_sale_alone(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    refuse_sale_row(&server).await;
    let refused = credit_sale("rf-b", "ref-rf-b", "r-b", json!({"party_id": 1}), 1);
    let operations = json!([
        credit_sale("rf-a", "ref-rf-a", "r-a", json!({"party_id": 1}), 1),
        refused,
        credit_sale("rf-c", "ref-rf-c", "r-c", json!({"party_id": 1}), 2),
    ]);
    let (status, body) = send(&server, &cashier, "till-rf", operations).await;
    assert_eq!(status, 207, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "created", "{body}");
    assert_eq!(results[1]["status"], "error", "{body}");
    assert_eq!(results[2]["status"], "created", "{body}");
    assert_eq!(results[0]["invoice_number"], "DM-000001");
    assert_eq!(results[2]["invoice_number"], "DM-000002");
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 2);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sale_details").await, 2);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM local_id_map WHERE entity = 'sale'")
            .await,
        2
    );
    for i in [0, 2] {
        let id = results[i]["server_id"].as_i64().unwrap();
        assert_eq!(
            server
                .scalar(&format!(
                    "SELECT COUNT(*) FROM sale_details WHERE sale_id = {id}"
                ))
                .await,
            1,
            "{body}"
        );
    }
    assert_eq!(stock_of(&server, 1).await, "17", "20 less the 1 + 2 sold");
}

async fn overselling_is_kept_and_flagged(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (status, body) = send(
        &server,
        &cashier,
        "till-1",
        json!([credit_sale(
            "big-sale",
            "ref-big",
            "big",
            json!({"party_id": 1}),
            25
        )]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let warning = &body["results"][0]["warnings"][0];
    assert_eq!(warning["type"], "stock_discrepancy");
    assert_eq!(warning["expected"], json!(25));
    assert_eq!(warning["available"], json!(20));
    assert_eq!(warning["discrepancy"], json!(-5));
    assert_eq!(warning["action"], "allowed_negative");
    assert_eq!(stock_of(&server, 1).await, "-5");
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM stock_discrepancy_logs")
            .await,
        1
    );

    // Totals that do not add up are kept as sold, and flagged.
    let mut wrong = credit_sale("wrong-total", "ref-wrong", "w", json!({"party_id": 1}), 1);
    wrong["data"]["totalAmount"] = json!(9.99);
    wrong["data"]["dueAmount"] = json!(9.99);
    let (status, body) = send(&server, &cashier, "till-1", json!([wrong])).await;
    assert_eq!(status, 200);
    assert_eq!(body["results"][0]["status"], "created");
    let mismatch = body["results"][0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["type"] == "totals_mismatch")
        .expect("a totals_mismatch warning");
    assert_eq!(mismatch["client_total"], json!(9.99));
    assert_eq!(mismatch["server_total"], json!(0.5));
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM sales WHERE totals_mismatch")
            .await,
        1
    );
}

async fn concurrent_batches_get_gap_free_invoice_numbers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = server.client.clone();
        let url = server.url("/api/v1/sync/batch");
        let token = cashier.clone();
        tasks.push(tokio::spawn(async move {
            let op = credit_sale(
                &format!("k{i}"),
                &format!("ref-{i}"),
                "s1",
                json!({"party_id": 1}),
                1,
            );
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("X-Device-ID", format!("till-{i}"))
                .json(&json!({"operations": [op]}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            body["results"][0]["invoice_number"]
                .as_str()
                .unwrap()
                .to_string()
        }));
    }
    let mut numbers = BTreeSet::new();
    for task in tasks {
        numbers.insert(task.await.unwrap());
    }
    let expected: BTreeSet<String> = (1..=20).map(|n| format!("DM-{n:06}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(stock_of(&server, 1).await, "0");
}

async fn stale_party_update_is_a_conflict(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (status, body) = send(
        &server,
        &cashier,
        "till-1",
        json!([
            {"idempotency_key": "u1", "entity": "party", "action": "update", "data": {"id": 1, "version": 1, "phone": "555-1111"}},
            {"idempotency_key": "u2", "entity": "party", "action": "update", "data": {"id": 1, "version": 1, "phone": "555-2222"}},
            {"idempotency_key": "d1", "entity": "party", "action": "delete", "data": {"id": 2, "version": 1}},
        ]),
    )
    .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["results"][0]["status"], "updated");
    assert_eq!(body["results"][0]["version"], 2);
    assert_eq!(body["results"][1]["status"], "conflict");
    assert_eq!(body["results"][1]["conflict"]["server_version"], 2);
    assert_eq!(
        body["results"][1]["conflict"]["server_data"]["phone"],
        "555-1111"
    );
    assert_eq!(body["results"][2]["status"], "deleted");

    let (status, body) = json(
        server
            .request(Method::POST, "/api/v1/sync/batch", &cashier)
            .header("X-Device-ID", "till-1")
            .header("X-Client-Version", "0.0.1")
            .json(&json!({"operations": [{"idempotency_key": "x", "entity": "party", "action": "create", "data": {}}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 426);
    assert_eq!(body["error"], "client_too_old");
}

async fn due_collections_lower_dues_and_keep_advances(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (status, body) = send(
        &server,
        &cashier,
        "till-1",
        json!([
            credit_sale("sale-1", "ref-1", "s1", json!({"party_id": 1}), 4),
            {"idempotency_key": "due-1", "entity": "due_collection", "action": "create",
             "data": {"local_id": "d1", "client_reference": "due-ref-1", "sale_local_id": "s1", "amount": 1.5, "payment_type_id": 1}},
            {"idempotency_key": "due-2", "entity": "due_collection", "action": "create",
             "data": {"local_id": "d2", "party_id": 1, "amount": 3}},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][1]["status"], "created");
    assert_eq!(body["results"][2]["warnings"][0]["type"], "overpayment");
    assert_eq!(body["results"][2]["warnings"][0]["excess"], json!(2.5));
    let manager = server.sign_in("manager@demo.test").await;
    let (_, party) = json(
        server
            .request(Method::GET, "/api/v1/parties/1", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        party["data"]["due"],
        json!(-2.5),
        "the excess is an advance"
    );
    // Sent again under new keys: skipped, nothing moves twice.
    let (status, body) = send(
        &server,
        &cashier,
        "till-1",
        json!([{"idempotency_key": "due-1-new", "entity": "due_collection", "action": "create",
                "data": {"local_id": "d1", "client_reference": "due-ref-1", "sale_local_id": "s1", "amount": 1.5}},
               {"idempotency_key": "due-2-new", "entity": "due_collection", "action": "create",
                "data": {"local_id": "d2", "party_id": 1, "amount": 3}}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["results"][0]["status"], "skipped");
    assert_eq!(body["results"][1]["status"], "skipped");
    let (_, party) = json(
        server
            .request(Method::GET, "/api/v1/parties/1", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(party["data"]["due"], json!(-2.5));
}

/// Runs the real binary against the test database.
fn pos_server(server: &TestServer, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pos-server"))
        .args(args)
        .env("DATABASE_URL", &server.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run pos-server");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn nothing_moves_twice_after_the_keys_are_cleaned_up(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (status, _) = json(
        server
            .request(Method::POST, "/api/v1/sync/register", &cashier)
            .json(&json!({"device_id": "till-old", "device_name": "Back till"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let operations = json!([
        credit_sale("sale-1", "ref-1", "s1", json!({"party_id": 1}), 2),
        {"idempotency_key": "due-1", "entity": "due_collection", "action": "create",
         "data": {"local_id": "d1", "client_reference": "due-ref-1", "sale_local_id": "s1", "amount": 0.4}},
    ]);
    let (status, first) = send(&server, &cashier, "till-old", operations.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert!(server.scalar("SELECT COUNT(*) FROM idempotency_keys").await >= 2);

    let report = pos_server(
        &server,
        &["sync", "cleanup", "--days", "0", "--stale-devices", "90"],
    );
    assert!(report.contains("idempotency keys"), "{report}");
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM idempotency_keys").await,
        0
    );
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sync_logs").await, 0);

    let (status, again) = send(&server, &cashier, "till-old", operations).await;
    assert_eq!(status, 200, "{again}");
    for (result, original) in again["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(first["results"].as_array().unwrap())
    {
        assert_eq!(result["status"], "skipped");
        assert_eq!(
            result["replayed"], false,
            "the key was gone; the reference held"
        );
        assert_eq!(result["server_id"], original["server_id"]);
    }
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 1);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM due_collects").await, 1);
    assert_eq!(stock_of(&server, 1).await, "18");
    let manager = server.sign_in("manager@demo.test").await;
    let (_, party) = json(
        server
            .request(Method::GET, "/api/v1/parties/1", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(party["data"]["due"], json!(0.6));

    let stale = pos_server(&server, &["sync", "check-stale", "--hours", "0", "--alert"]);
    assert!(
        stale.contains("till-old") && stale.contains("1 stale devices"),
        "{stale}"
    );
    let fresh = pos_server(&server, &["sync", "check-stale", "--hours", "1"]);
    assert!(fresh.contains("0 stale devices"), "{fresh}");
}

async fn a_manager_resolves_stock_discrepancies(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let manager = server.sign_in("manager@demo.test").await;
    let other_cashier = server.sign_in("cashier@other.test").await;
    let (status, _) = send(
        &server,
        &cashier,
        "till-1",
        json!([credit_sale(
            "oversell",
            "ref-over",
            "o1",
            json!({"party_id": 1}),
            23
        )]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = json(
        server
            .request(Method::GET, "/api/v1/stock-discrepancies", &cashier)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, open) = json(
        server
            .request(Method::GET, "/api/v1/stock-discrepancies", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(open["pagination"]["total"], 1);
    let entry = &open["data"][0];
    assert_eq!(entry["discrepancy"], json!(-3));
    assert!(entry["resolution"].is_null());
    let id = entry["id"].as_i64().unwrap();
    let path = format!("/api/v1/stock-discrepancies/{id}/resolve");
    let (status, _) = json(
        server
            .request(Method::POST, &path, &other_cashier)
            .json(&json!({"resolution": "manual", "counted_stock": 4}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403, "a cashier may not resolve");
    let other_owner = server.sign_in("owner@other.test").await;
    let (status, _) = json(
        server
            .request(Method::POST, &path, &other_owner)
            .json(&json!({"resolution": "manual"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "another business's discrepancy");
    let (status, body) = json(
        server
            .request(Method::POST, &path, &manager)
            .json(&json!({"resolution": "sometimes"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["resolution"].is_array(), "{body}");
    let (status, body) = json(
        server
            .request(Method::POST, &path, &manager)
            .json(&json!({"resolution": "manual", "counted_stock": "4", "note": "shelf counted"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["resolution"], "manual");
    assert_eq!(stock_of(&server, 1).await, "4");
    let (status, _) = json(
        server
            .request(Method::POST, &path, &manager)
            .json(&json!({"resolution": "backorder"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "resolved once");
    let (_, open) = json(
        server
            .request(Method::GET, "/api/v1/stock-discrepancies", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(open["pagination"]["total"], 0);
    let (_, resolved) = json(
        server
            .request(
                Method::GET,
                "/api/v1/stock-discrepancies?status=resolved",
                &manager,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resolved["pagination"]["total"], 1);
}

async fn a_whole_batch_can_carry_one_key(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let post = || {
        server
            .request(Method::POST, "/api/v1/sync/batch", &cashier)
            .header("X-Device-ID", "till-1")
            .header("X-Idempotency-Key", "batch-0001")
            .json(&json!({"operations": [credit_sale("k1", "ref-1", "s1", json!({"party_id": 1}), 1)]}))
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), 200);
    let (_, first) = json(first).await;
    let second = post().await.unwrap();
    assert_eq!(second.headers()["x-idempotency-replayed"], "true");
    let (_, second) = json(second).await;
    assert_eq!(second["results"], first["results"]);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 1);
}

async fn shifts_and_cash_movements_travel_with_their_sales(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let mut sale = credit_sale(
        "sale-in-shift",
        "ref-shift-sale",
        "s1",
        json!({"party_id": 1}),
        1,
    );
    sale["data"]["shift_local_id"] = json!("sh1");
    let close = json!({"idempotency_key": "close-1", "entity": "shift", "action": "close",
        "data": {"local_id": "sh1", "closed_at": "2026-11-25T18:00:00.000Z", "counted_cash": 120,
                 "expected_cash": 125, "counted_denominations": [{"value": 20, "count": 6}]}});
    let (status, body) = send(
        &server,
        &cashier,
        "till-1",
        json!([
            {"idempotency_key": "open-1", "entity": "shift", "action": "open",
             "data": {"local_id": "sh1", "client_reference": "shift-ref-1", "opened_at": "2026-11-25T08:00:00.000Z", "opening_float": 100}},
            {"idempotency_key": "pay-in-1", "entity": "cash_movement", "action": "create",
             "data": {"local_id": "cm1", "shift_local_id": "sh1", "kind": "pay_in", "amount": 25, "reason": "change from the bank"}},
            sale,
            close.clone(),
            {"idempotency_key": "lost-1", "entity": "cash_movement", "action": "create",
             "data": {"local_id": "cm2", "shift_id": 999, "kind": "pay_out", "amount": 5}},
        ]),
    )
    .await;
    assert_eq!(status, 207, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "created");
    assert_eq!(results[1]["status"], "created");
    assert_eq!(results[2]["status"], "created");
    assert_eq!(results[3]["status"], "updated");
    assert_eq!(results[4]["error_code"], "SHIFT_NOT_FOUND");
    let shift_id = results[0]["server_id"].as_i64().unwrap();
    assert_eq!(
        server
            .scalar(&format!(
                "SELECT COUNT(*) FROM sales WHERE shift_id = {shift_id}"
            ))
            .await,
        1
    );
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM cash_movements").await,
        1
    );
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM shifts WHERE status = 'closed'")
            .await,
        1
    );
    // Closing again under a new key changes nothing.
    let mut again = close;
    again["idempotency_key"] = json!("close-1-again");
    let (status, body) = send(&server, &cashier, "till-1", json!([again])).await;
    assert_eq!(status, 200);
    assert_eq!(body["results"][0]["status"], "skipped");
    assert_eq!(body["results"][0]["server_id"], shift_id);
}

fn sale_return(key: &str, reference: &str, sale_id: i64, quantity: u32) -> Value {
    json!({"idempotency_key": key, "entity": "sale_return", "action": "create",
           "data": {"local_id": key, "client_reference": reference, "sale_id": sale_id,
                    "lines": [{"line_no": 1, "quantity": quantity}], "refund_method": "cash",
                    "refund_amount": f64::from(quantity) * 0.5}})
}

async fn returns_put_stock_back_and_over_returns_wait_for_a_manager(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    // Returns need a manager: one works the till here.
    let manager = server.sign_in("manager@demo.test").await;
    let (status, body) = send(
        &server,
        &cashier,
        "till-1",
        json!([credit_sale(
            "sale-4",
            "ref-4",
            "s4",
            json!({"party_id": 1}),
            4
        )]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sale_id = body["results"][0]["server_id"].as_i64().unwrap();
    assert_eq!(stock_of(&server, 1).await, "16");

    let (status, body) = send(
        &server,
        &manager,
        "till-1",
        json!([sale_return("ret-a", "return-a", sale_id, 3)]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "created");
    assert_eq!(stock_of(&server, 1).await, "19", "stock goes back");

    // A second terminal returned 2 more offline: together more than was sold.
    let (status, body) = send(
        &server,
        &manager,
        "till-2",
        json!([sale_return("ret-b", "return-b", sale_id, 2)]),
    )
    .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["results"][0]["status"], "conflict");
    assert_eq!(body["results"][0]["error_code"], "RETURN_EXCEEDS_SALE");
    assert_eq!(stock_of(&server, 1).await, "19", "not put back twice");
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM sync_conflicts").await,
        1
    );
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM sale_returns").await,
        2,
        "kept: its refund was paid"
    );

    let (status, body) = send(
        &server,
        &manager,
        "till-1",
        json!([sale_return("ret-a-again", "return-a", sale_id, 3)]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["results"][0]["status"], "skipped");
    let mut bad = sale_return("ret-c", "return-c", sale_id, 1);
    bad["data"]["lines"][0]["line_no"] = json!(9);
    let (status, body) = send(&server, &manager, "till-1", json!([bad])).await;
    assert_eq!(status, 207);
    assert_eq!(body["results"][0]["error_code"], "VALIDATION_FAILED");
    assert_eq!(stock_of(&server, 1).await, "19");

    // A manager looks at the over-return and accepts it: its stock goes back now.
    let (status, _) = json(
        server
            .request(Method::GET, "/api/v1/sync/conflicts", &cashier)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, open) = json(
        server
            .request(Method::GET, "/api/v1/sync/conflicts", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{open}");
    assert_eq!(open["pagination"]["total"], 1);
    assert_eq!(open["data"][0]["reason"], "RETURN_EXCEEDS_SALE");
    assert_eq!(open["data"][0]["operation"]["client_reference"], "return-b");
    let path = format!("/api/v1/sync/conflicts/{}/resolve", open["data"][0]["id"]);
    let (status, body) = json(
        server
            .request(Method::POST, &path, &manager)
            .json(&json!({"resolution": "accept"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "resolved");
    assert_eq!(stock_of(&server, 1).await, "21");
    let (status, _) = json(
        server
            .request(Method::POST, &path, &manager)
            .json(&json!({"resolution": "reject"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "resolved once");
}

on_both_databases!(
    returns_put_stock_back_and_over_returns_wait_for_a_manager,
    shifts_and_cash_movements_travel_with_their_sales,
    a_whole_batch_can_carry_one_key,
    a_manager_resolves_stock_discrepancies,
    nothing_moves_twice_after_the_keys_are_cleaned_up,
    a_batch_applies_exactly_once,
    local_ids_resolve_and_failures_fail_dependants,
    a_failing_sale_in_the_middle_fails_alone,
    a_row_the_database_refuses_fails_its_sale_alone,
    overselling_is_kept_and_flagged,
    concurrent_batches_get_gap_free_invoice_numbers,
    stale_party_update_is_a_conflict,
    due_collections_lower_dues_and_keep_advances,
);
