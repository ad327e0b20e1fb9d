//! Store operations on the server, over real HTTP on both databases: the shift report (with
//! sales that synced after the close) and the rescue import under the batch's exactly-once
//! rules.

mod common;

use std::collections::BTreeMap;

use common::{json, Backend, TestServer};
use pos_protocol::store_ops::{rescue_checksum, RESCUE_FORMAT, RESCUE_FORMAT_VERSION};
use reqwest::Method;
use serde_json::{json, Value};

const DEVICE: &str = "till-ops";

async fn register(server: &TestServer, token: &str) {
    let (status, body) = json(
        server
            .request(Method::POST, "/api/v1/sync/register", token)
            .json(&json!({"device_id": DEVICE, "device_name": "Front till"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn send(server: &TestServer, token: &str, operations: &Value) -> (u16, Value) {
    json(
        server
            .request(Method::POST, "/api/v1/sync/batch", token)
            .header("X-Device-ID", DEVICE)
            .json(&json!({"operations": operations, "device_id": DEVICE}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    json(
        server
            .request(Method::GET, path, token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A paid sale of `quantity` × 0.50 from stock 1 by payment type `payment_type` (1 is Cash,
/// 2 Card in the demo data), happening at `at`, in the shift opened as `sh1`.
fn sale(key: &str, reference: &str, quantity: u32, payment_type: i64, at: &str) -> Value {
    let total = format!("{:.2}", f64::from(quantity) * 0.5);
    json!({"idempotency_key": key, "entity": "sale", "action": "create", "offline_timestamp": at,
           "data": {"local_id": reference, "client_reference": reference,
                    "totalAmount": total, "paidAmount": total, "dueAmount": 0,
                    "payment_type_id": payment_type, "saleDate": at, "shift_local_id": "sh1",
                    "products": [{"line_no": 1, "stock_id": 1, "quantities": quantity, "price": 0.5}]}})
}

fn shift_open() -> Value {
    json!({"idempotency_key": "open-sh1", "entity": "shift", "action": "open",
           "offline_timestamp": "2026-11-25T08:00:00.000Z",
           "data": {"local_id": "sh1", "client_reference": "shift-ref-sh1",
                    "opened_at": "2026-11-25T08:00:00.000Z", "opening_float": "100.00"}})
}

fn decimal(value: &Value) -> rust_decimal::Decimal {
    value.to_string().trim_matches('"').parse().unwrap()
}

async fn the_shift_report_counts_what_synced_after_the_close(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let manager = server.sign_in("manager@demo.test").await;
    register(&server, &cashier).await;

    let (status, body) = send(
        &server,
        &cashier,
        &json!([
            shift_open(),
            sale("sale-a", "sale-ref-a", 4, 1, "2026-11-25T09:00:00.000Z"),
            {"idempotency_key": "in-1", "entity": "cash_movement", "action": "create",
             "offline_timestamp": "2026-11-25T09:30:00.000Z",
             "data": {"local_id": "cm1", "shift_local_id": "sh1", "kind": "pay_in", "amount": 25, "reason": "float top-up"}},
            {"idempotency_key": "out-1", "entity": "cash_movement", "action": "create",
             "offline_timestamp": "2026-11-25T09:40:00.000Z",
             "data": {"local_id": "cm2", "shift_local_id": "sh1", "kind": "pay_out", "amount": "5.00", "reason": "milk"}},
            {"idempotency_key": "close-sh1", "entity": "shift", "action": "close",
             "offline_timestamp": "2026-11-25T12:00:00.000Z",
             "data": {"local_id": "sh1", "client_reference": "shift-ref-sh1",
                      "closed_at": "2026-11-25T12:00:00.000Z", "counted_cash": "121.00",
                      "expected_cash": "122.00"}},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let shift_id = body["results"][0]["server_id"].as_i64().unwrap();
    let sale_a = body["results"][1]["server_id"].as_i64().unwrap();

    // Synced after the close: a card sale and a cash refund made before it, and a cash sale
    // rung up (by its offline time) after it.
    let (status, late) = send(
        &server,
        &cashier,
        &json!([
            sale("sale-b", "sale-ref-b", 2, 2, "2026-11-25T11:00:00.000Z"),
            {"idempotency_key": "return-a", "entity": "sale_return", "action": "create",
             "offline_timestamp": "2026-11-25T11:30:00.000Z",
             "data": {"local_id": "r1", "client_reference": "return-ref-a", "sale_id": sale_a,
                      "shift_local_id": "sh1", "lines": [{"line_no": 1, "quantity": 1}],
                      "refund_method": "cash", "refund_amount": "0.50"}},
            sale("sale-c", "sale-ref-c", 6, 1, "2026-11-25T13:00:00.000Z"),
        ]),
    )
    .await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(late["results"][0]["warnings"], json!([]), "{late}");
    assert_eq!(late["results"][1]["warnings"], json!([]), "{late}");
    assert_eq!(
        late["results"][2]["warnings"],
        json!([{"type": "after_shift_close", "shift_id": shift_id}]),
        "{late}"
    );

    let (status, report) = get(&server, &manager, &format!("/api/v1/shifts/{shift_id}")).await;
    assert_eq!(status, 200, "{report}");
    let data = &report["data"];
    assert_eq!(data["status"], "closed");
    assert_eq!(data["device_id"], DEVICE);
    let r = &data["report"];
    assert_eq!(r["kind"], "z");
    assert_eq!(r["sales_count"], 3, "{r}");
    let d = |field: &str| decimal(&r[field]);
    assert_eq!(d("sales_total"), "6.00".parse().unwrap(), "{r}");
    assert_eq!(d("cash_sales"), "5.00".parse().unwrap(), "{r}");
    assert_eq!(d("cash_refunds"), "0.50".parse().unwrap(), "{r}");
    assert_eq!(r["refunds_count"], 1);
    assert_eq!(d("pay_ins"), "25".parse().unwrap());
    assert_eq!(d("pay_outs"), "5".parse().unwrap());
    assert_eq!(d("opening_float"), "100".parse().unwrap());
    // 100 + 5.00 − 0.50 + 25 − 5
    assert_eq!(d("expected_cash"), "124.50".parse().unwrap(), "{r}");
    assert_eq!(d("counted_cash"), "121".parse().unwrap());
    assert_eq!(d("difference"), "-3.50".parse().unwrap(), "{r}");
    let types = r["by_payment_type"].as_array().unwrap();
    let cash = types.iter().find(|t| t["name"] == "Cash").unwrap();
    assert_eq!(
        (cash["sales_count"].as_u64(), cash["is_cash"].as_bool()),
        (Some(2), Some(true))
    );
    let card = types.iter().find(|t| t["name"] == "Card").unwrap();
    assert_eq!(decimal(&card["sales"]), "1.00".parse().unwrap());
    assert_eq!(card["is_cash"], false);

    // The list and its filters.
    for (query, expected) in [
        ("", 1),
        ("?status=closed", 1),
        ("?status=open", 0),
        ("?device=till-ops&date=2026-11-25", 1),
        ("?date=2026-11-24", 0),
        ("?device=another-till", 0),
    ] {
        let (status, list) = get(&server, &manager, &format!("/api/v1/shifts{query}")).await;
        assert_eq!(status, 200, "{query}: {list}");
        assert_eq!(list["pagination"]["total"], expected, "{query}: {list}");
        assert_eq!(list["data"].as_array().unwrap().len(), expected as usize);
    }
    for (query, field) in [("?status=lost", "status"), ("?date=25.11.2026", "date")] {
        let (status, body) = get(&server, &manager, &format!("/api/v1/shifts{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(body["errors"][field].is_array(), "{query}: {body}");
    }
    // A cashier may not read reports; another business does not see this shift at all.
    let (status, _) = get(&server, &cashier, &format!("/api/v1/shifts/{shift_id}")).await;
    assert_eq!(status, 403);
    let other = server.sign_in("owner@other.test").await;
    let (status, _) = get(&server, &other, &format!("/api/v1/shifts/{shift_id}")).await;
    assert_eq!(status, 404);
    let (_, list) = get(&server, &other, "/api/v1/shifts").await;
    assert_eq!(list["pagination"]["total"], 0);
}

/// A rescue file as `pos-terminal rescue export` writes it.
fn rescue_file(business_id: i64, operations: &Value) -> Value {
    let operations: Vec<Value> = operations
        .as_array()
        .unwrap()
        .iter()
        .map(|op| {
            let mut op = op.clone();
            op["state"] = json!("queued");
            op["client_reference"] = op["data"]["client_reference"].clone();
            op
        })
        .collect();
    let content = json!({"device_id": DEVICE, "business_id": business_id,
                         "exported_at": "2026-11-25T18:00:00.000Z", "operations": operations});
    json!({"format": RESCUE_FORMAT, "format_version": RESCUE_FORMAT_VERSION,
           "sha256": rescue_checksum(&content), "content": content})
}

async fn import(server: &TestServer, token: &str, file: &Value) -> (u16, Value) {
    json(
        server
            .request(Method::POST, "/api/v1/sync/rescue", token)
            .json(file)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn a_rescue_file_imported_twice_then_synced_leaves_each_sale_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let owner = server.sign_in("owner@demo.test").await;
    register(&server, &cashier).await;
    let operations = json!([
        shift_open(),
        sale(
            "rescued-1",
            "rescue-ref-1",
            2,
            1,
            "2026-11-25T09:00:00.000Z"
        ),
        sale(
            "rescued-2",
            "rescue-ref-2",
            3,
            2,
            "2026-11-25T09:05:00.000Z"
        ),
    ]);
    let file = rescue_file(server.seed.demo_business_id, &operations);

    let (status, body) = import(&server, &cashier, &file).await;
    assert_eq!(status, 403, "owners only: {body}");
    let (status, first) = import(&server, &owner, &file).await;
    assert_eq!(status, 200, "{first}");
    let statuses: Vec<&str> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["created", "created", "created"], "{first}");
    assert_eq!(first["summary"]["success_count"], 3);
    let sale_ids: Vec<Value> = first["results"].as_array().unwrap()[1..]
        .iter()
        .map(|r| r["server_id"].clone())
        .collect();

    // Imported again, then the terminal syncs the same operations, then (its keys lost) the
    // same sales under new keys: nothing is applied a second time.
    let (status, second) = import(&server, &owner, &file).await;
    assert_eq!(status, 200, "{second}");
    assert!(second["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["replayed"] == true));
    let (status, synced) = send(&server, &cashier, &operations).await;
    assert_eq!(status, 200, "{synced}");
    assert!(synced["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["replayed"] == true));
    let (status, rekeyed) = send(
        &server,
        &cashier,
        &json!([
            sale(
                "new-key-1",
                "rescue-ref-1",
                2,
                1,
                "2026-11-25T09:00:00.000Z"
            ),
            sale(
                "new-key-2",
                "rescue-ref-2",
                3,
                2,
                "2026-11-25T09:05:00.000Z"
            ),
        ]),
    )
    .await;
    assert_eq!(status, 200, "{rekeyed}");
    for (result, id) in rekeyed["results"].as_array().unwrap().iter().zip(&sale_ids) {
        assert_eq!(result["status"], "skipped");
        assert_eq!(&result["server_id"], id);
    }

    // The command-line import of the same file, from disk.
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("till-ops.rescue.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    let report = pos_server::sync::rescue::import_file(
        server.store.clone(),
        pos_server::Settings::new(server.database_url.clone()),
        &path,
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.summary.success_count, 3);
    assert!(report.results.iter().all(|r| r.replayed));

    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 2);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sale_details").await, 2);
    assert_eq!(server.scalar("SELECT COUNT(*) FROM shifts").await, 1);
    assert_eq!(
        server
            .scalar("SELECT last_number FROM invoice_counters WHERE kind = 'sale'")
            .await,
        2
    );

    // A damaged file, one from another business and a file that is no rescue file are
    // refused whole, naming what is wrong.
    let mut damaged = file.clone();
    damaged["content"]["operations"][1]["data"]["totalAmount"] = json!("0.01");
    let other_owner = server.sign_in("owner@other.test").await;
    for (token, body, field) in [
        (&owner, damaged, "sha256"),
        (&other_owner, file.clone(), "content.business_id"),
        (
            &owner,
            json!({"format": "zip", "format_version": 1, "sha256": "", "content": {"device_id": DEVICE, "operations": []}}),
            "format",
        ),
    ] {
        let (status, answer) = import(&server, token, &body).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["errors"][field].is_array(), "{field}: {answer}");
    }
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 2);
}

/// Rows per table of the database at `url`.
async fn table_counts(backend: Backend, url: &str) -> BTreeMap<String, i64> {
    use sqlx::{Connection, Row};
    let mut counts = BTreeMap::new();
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for name in names {
                let row = sqlx::query(&format!("SELECT COUNT(*) FROM {name}"))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                counts.insert(name, row.get::<i64, _>(0));
            }
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            for name in names {
                let row = sqlx::query(&format!("SELECT COUNT(*) FROM {name}"))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                counts.insert(name, row.get::<i64, _>(0));
            }
        }
    }
    counts
}

/// A server over an existing database (the restored one), stopped when dropped.
struct Restored {
    base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(url: &str) -> Restored {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = pos_server::Settings::new(url.to_string());
    tokio::spawn(async move {
        pos_server::launch(settings, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("the restored server runs");
    });
    Restored { base, _stop: stop }
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    batch: Option<&Value>,
) -> Value {
    let request = match batch {
        Some(operations) => client
            .post(format!("{base}{path}"))
            .header("X-Device-ID", DEVICE)
            .json(&json!({"operations": operations, "device_id": DEVICE})),
        None => client.get(format!("{base}{path}")),
    };
    let (status, body) = json(request.bearer_auth(token).send().await.unwrap()).await;
    assert!(status == 200, "{path}: {status} {body}");
    body
}

async fn a_backup_taken_while_serving_restores_into_an_empty_database(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    register(&server, &cashier).await;
    let client = reqwest::Client::new();
    let before = call(
        &client,
        &server.base,
        &cashier,
        "/api/v1/sync/full?entities=products,stocks",
        None,
    )
    .await;
    let token = before["sync_token"].as_str().unwrap().to_string();
    let operations = json!([
        shift_open(),
        sale("kept-1", "kept-ref-1", 3, 1, "2026-11-25T09:00:00.000Z"),
    ]);
    let synced = call(
        &client,
        &server.base,
        &cashier,
        "/api/v1/sync/batch",
        Some(&operations),
    )
    .await;
    assert_eq!(synced["results"][1]["invoice_number"], "DM-000001");

    // Taken while the server runs; then restored into a database that did not exist.
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("pos.backup");
    pos_server::backup::backup(&server.database_url, &file)
        .await
        .unwrap();
    assert!(
        pos_server::backup::backup(&server.database_url, &file)
            .await
            .is_err(),
        "a backup never overwrites a file"
    );
    let (restored_url, pg_name) = match backend {
        Backend::Sqlite => (
            format!(
                "sqlite://{}?mode=rwc",
                folder.path().join("restored.db").display()
            ),
            None,
        ),
        Backend::Postgres => {
            let (url, name) = common::create_postgres_database().await;
            (url, Some(name))
        }
    };
    pos_server::backup::restore(&restored_url, &file)
        .await
        .unwrap();
    assert!(
        pos_server::backup::restore(&restored_url, &file)
            .await
            .is_err(),
        "a restore never mixes into a database that has data"
    );
    let original_counts = table_counts(backend, &server.database_url).await;
    assert!(original_counts["sales"] == 1 && original_counts["idempotency_keys"] >= 2);
    assert_eq!(table_counts(backend, &restored_url).await, original_counts);

    let restored = serve(&restored_url).await;
    // The same token works (tokens are data too); the catalog, and what changed since a
    // token issued before the backup, read the same on both servers.
    for path in [
        "/api/v1/sync/full?entities=products,stocks,parties,payment_types".to_string(),
        format!("/api/v1/sync/changes?sync_token={token}"),
    ] {
        let original = call(&client, &server.base, &cashier, &path, None).await;
        let copy = call(&client, &restored.base, &cashier, &path, None).await;
        assert_eq!(original["data"], copy["data"], "{path}");
        assert_eq!(original["has_more"], copy["has_more"], "{path}");
    }
    // Idempotency keys came along: the batch replays; the invoice counter too.
    let replay = call(
        &client,
        &restored.base,
        &cashier,
        "/api/v1/sync/batch",
        Some(&operations),
    )
    .await;
    assert_eq!(replay["results"][1]["replayed"], true, "{replay}");
    assert_eq!(
        replay["results"][1]["server_id"],
        synced["results"][1]["server_id"]
    );
    let next = call(
        &client,
        &restored.base,
        &cashier,
        "/api/v1/sync/batch",
        Some(&json!([sale(
            "after-restore",
            "after-ref",
            1,
            1,
            "2026-11-25T10:00:00.000Z"
        )])),
    )
    .await;
    assert_eq!(next["results"][0]["invoice_number"], "DM-000002", "{next}");
    drop(restored);
    if let Some(name) = pg_name {
        common::drop_postgres_database(name);
    }
}

on_both_databases!(
    the_shift_report_counts_what_synced_after_the_close,
    a_rescue_file_imported_twice_then_synced_leaves_each_sale_once,
    a_backup_taken_while_serving_restores_into_an_empty_database,
);

/// The interactive reference page is served beside the document it shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_docs_page_shows_the_openapi_document() {
    let server = TestServer::start(Backend::Sqlite).await;
    let response = server
        .client
        .get(server.url("/api/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("/api/v1/sync/rescue"),
        "the page embeds the route table"
    );
    let (status, document) = json(
        server
            .client
            .get(server.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(document["paths"]["/api/v1/shifts/{id}"]["get"]["responses"]["401"].is_object());
}
