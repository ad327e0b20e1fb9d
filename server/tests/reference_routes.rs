//! The reference's remaining routes over real HTTP, each test on SQLite and on PostgreSQL:
//! the paged category list, one currency, restoring a party, variants made from attribute
//! values (generated, found, duplicated, changed in bulk) and their stock and batches,
//! correcting and voiding a due payment, editing a purchase, and setting up and closing a
//! business. Each checks roles, a field named in a 422 and that another business sees nothing.

mod common;

use common::{json, Backend, TestServer, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

const OWNER: &str = "owner@demo.test";
const MANAGER: &str = "manager@demo.test";
const CASHIER: &str = "cashier@demo.test";
const OTHER_OWNER: &str = "owner@other.test";
/// Demo Mart's seed: stock 1 of product 1 holds 20; party 1 is a customer, 6 the supplier;
/// payment types 1 Cash, 3 Due; VAT 1 is 0%.
const SUPPLIER: i64 = 6;

async fn get(server: &TestServer, path: &str, token: &str) -> Value {
    let (status, body) = server.call(Method::GET, path, token, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The records of `entity` with this id that `sync/changes` (from the start) lists as created
/// or updated, and whether it lists the id as deleted. On PostgreSQL a change shows once every
/// transaction that began before it has ended (other tests' included), so this waits for it.
async fn synced(
    server: &TestServer,
    token: &str,
    entity: &str,
    id: i64,
    ready: impl Fn(&[Value]) -> bool,
) -> (Vec<Value>, bool) {
    for _ in 0..100 {
        let changes = get(
            server,
            &format!("/api/v1/sync/changes?entities={entity}"),
            token,
        )
        .await;
        let lists = &changes["data"][entity];
        let found: Vec<Value> = ["created", "updated"]
            .iter()
            .filter_map(|k| lists[k].as_array())
            .flatten()
            .filter(|r| r["id"] == id)
            .cloned()
            .collect();
        let deleted = lists["deleted"].as_array().unwrap().contains(&json!(id));
        if ready(&found) {
            return (found, deleted);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("sync never delivered {entity} {id} as expected");
}

fn field_error(body: &Value, field: &str) -> bool {
    body["error"] == "validation_failed" && body["errors"][field].is_array()
}

async fn lookups_and_party_restore(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let manager = server.sign_in(MANAGER).await;
    let other = server.sign_in(OTHER_OWNER).await;

    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/categories",
            &manager,
            Some(json!({"categoryName": "Extra"})),
        )
        .await;
    assert_eq!(status, 201);
    let all = get(&server, "/api/v1/categories", &cashier).await;
    let page = get(
        &server,
        "/api/v1/categories/paginated?page=1&per_page=1",
        &cashier,
    )
    .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["pagination"]["per_page"], 1);
    assert_eq!(page["pagination"]["total"], all["pagination"]["total"]);
    let (status, answer) = server
        .call(
            Method::GET,
            "/api/v1/categories/paginated?per_page=x",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&answer, "per_page"), "{answer}");
    let theirs = get(&server, "/api/v1/categories/paginated", &other).await;
    assert_ne!(
        theirs["pagination"]["total"], all["pagination"]["total"],
        "each business its own"
    );

    let currencies = get(&server, "/api/v1/currencies", &cashier).await;
    let euro = currencies["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "EUR")
        .unwrap()
        .clone();
    let one = get(
        &server,
        &format!("/api/v1/currencies/{}", euro["id"]),
        &cashier,
    )
    .await;
    assert_eq!(one["data"], euro);
    let (status, _) = server
        .call(Method::GET, "/api/v1/currencies/9999", &cashier, None)
        .await;
    assert_eq!(status, 404);

    // A party deleted by mistake comes back with its due, at a new version terminals pull.
    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/parties",
            &cashier,
            Some(json!({"name": "Rita Regular", "type": "Customer", "opening_balance": "4.50"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/parties/{id}");
    // Removing a customer is a manager's decision.
    let (status, _) = server.call(Method::DELETE, &path, &cashier, None).await;
    assert_eq!(status, 403);
    let (status, _) = server.call(Method::DELETE, &path, &manager, None).await;
    assert_eq!(status, 200);
    let (status, _) = server.call(Method::GET, &path, &cashier, None).await;
    assert_eq!(status, 404);
    let restore = format!("{path}/restore");
    let (status, _) = server.call(Method::POST, &restore, &other, None).await;
    assert_eq!(status, 404, "another business cannot restore it");
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/parties/999999/restore",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, restored) = server.call(Method::POST, &restore, &cashier, None).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["data"]["version"], 3);
    assert_eq!(restored["data"]["due"].to_string(), "4.5");
    assert!(restored["data"]["deleted_at"].is_null());
    let again = get(&server, &path, &cashier).await;
    assert_eq!(again["data"]["name"], "Rita Regular");
    let (status, twice) = server.call(Method::POST, &restore, &cashier, None).await;
    assert_eq!(status, 200);
    assert_eq!(twice["data"]["version"], 3, "a live party is left as it is");
    let (listed, deleted) = synced(&server, &cashier, "parties", id, |found| {
        found.iter().any(|p| p["version"] == 3)
    })
    .await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(!deleted, "terminals see it live again");
    assert_eq!(
        server.scalar(&format!("SELECT COUNT(*) FROM offline_audit_logs WHERE entity = 'party' AND action = 'restore' AND entity_id = {id}")).await,
        1
    );
}

/// The first product of Demo Mart with its code.
async fn a_product(server: &TestServer, token: &str) -> (i64, String) {
    let products = get(server, "/api/v1/products", token).await;
    let product = &products["data"][1];
    (
        product["id"].as_i64().unwrap(),
        product["productCode"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

async fn variants_from_attribute_values(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in(MANAGER).await;
    let cashier = server.sign_in(CASHIER).await;
    let other = server.sign_in(OTHER_OWNER).await;
    let (product, code) = a_product(&server, &manager).await;
    let base = format!("/api/v1/products/{product}/variants");
    let before = get(&server, &base, &manager).await["pagination"]["total"]
        .as_i64()
        .unwrap();

    let generate = format!("{base}/generate");
    let sizes_colours = json!({"attribute_values": [[1, 2], [10]], "default_price": "2.50"});
    let (status, _) = server
        .call(
            Method::POST,
            &generate,
            &cashier,
            Some(sizes_colours.clone()),
        )
        .await;
    assert_eq!(status, 403);
    for (body, field) in [
        (json!({"attribute_values": []}), "attribute_values"),
        (
            json!({"attribute_values": [[1], []]}),
            "attribute_values[1]",
        ),
        (json!({"attribute_values": [[0]]}), "attribute_values[0]"),
        (
            json!({"attribute_values": [[1]], "default_price": -1}),
            "default_price",
        ),
        (json!({"attribute_values": "1"}), "attribute_values"),
    ] {
        let (status, answer) = server
            .call(Method::POST, &generate, &manager, Some(body))
            .await;
        assert_eq!(status, 422, "{answer}");
        assert!(field_error(&answer, field), "{field}: {answer}");
    }
    let send = |key: &'static str| {
        server
            .request(Method::POST, &generate, &manager)
            .header("X-Idempotency-Key", key)
            .json(&sizes_colours)
            .send()
    };
    let first = send("generate-tees").await.unwrap();
    assert!(first.headers().get("x-idempotency-replayed").is_none());
    let (status, made) = json(first).await;
    assert_eq!(status, 201, "{made}");
    let made = made["data"].as_array().unwrap().clone();
    assert_eq!(made.len(), 2);
    assert_eq!(made[0]["sku"], format!("{code}-1-10"));
    assert_eq!(made[1]["sku"], format!("{code}-2-10"));
    assert_eq!(made[0]["price"].to_string(), "2.5");
    let replay = send("generate-tees").await.unwrap();
    assert_eq!(replay.headers()["x-idempotency-replayed"], "true");
    assert_eq!(
        get(&server, &base, &manager).await["pagination"]["total"]
            .as_i64()
            .unwrap(),
        before + 2
    );
    // Only the combinations the product lacks are made.
    let (status, more) = server
        .call(
            Method::POST,
            &generate,
            &manager,
            Some(json!({"attribute_values": [[10], [2, 3, 1]], "sku_format": "TEE"})),
        )
        .await;
    assert_eq!(status, 201, "{more}");
    assert_eq!(more["data"].as_array().unwrap().len(), 1);
    assert_eq!(more["data"][0]["sku"], "TEE-3-10");
    let (status, _) = server
        .call(
            Method::POST,
            &format!("/api/v1/products/{product}/variants/generate"),
            &other,
            Some(sizes_colours.clone()),
        )
        .await;
    assert_eq!(status, 404, "another business's product is unknown");

    let find = format!("{base}/find");
    let (status, found) = server
        .call(
            Method::POST,
            &find,
            &cashier,
            Some(json!({"attribute_values": [10, 2]})),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["data"]["id"], made[1]["id"], "order does not matter");
    let (status, none) = server
        .call(
            Method::POST,
            &find,
            &cashier,
            Some(json!({"attribute_values": [2]})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(none["data"].is_null(), "{none}");
    let (status, answer) = server
        .call(
            Method::POST,
            &find,
            &cashier,
            Some(json!({"attribute_values": []})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&answer, "attribute_values"), "{answer}");
    let (status, _) = server
        .call(
            Method::POST,
            &find,
            &other,
            Some(json!({"attribute_values": [10, 2]})),
        )
        .await;
    assert_eq!(status, 404);

    let duplicate = format!("{base}/duplicate");
    let source = made[0]["id"].as_i64().unwrap();
    let copy = json!({"source_variant_id": source, "new_sku": "TEE-1-11", "new_barcode": "2990000000011",
                      "price_adjustment": "0.75", "new_attribute_values": [11, 1]});
    let (status, _) = server
        .call(Method::POST, &duplicate, &cashier, Some(copy.clone()))
        .await;
    assert_eq!(status, 403);
    for (body, field) in [
        (
            json!({"source_variant_id": source, "new_sku": "X", "new_attribute_values": [1, 10]}),
            "new_attribute_values",
        ),
        (
            json!({"source_variant_id": source, "new_sku": " ", "new_attribute_values": [1, 12]}),
            "new_sku",
        ),
        (
            json!({"source_variant_id": 999999, "new_sku": "X", "new_attribute_values": [1, 12]}),
            "source_variant_id",
        ),
        (
            json!({"source_variant_id": source, "new_sku": "X", "new_attribute_values": [1, 12], "price_adjustment": -3}),
            "price_adjustment",
        ),
        (
            json!({"source_variant_id": source, "new_attribute_values": [1, 12]}),
            "new_sku",
        ),
    ] {
        let (status, answer) = server
            .call(Method::POST, &duplicate, &manager, Some(body))
            .await;
        assert_eq!(status, 422, "{answer}");
        assert!(field_error(&answer, field), "{field}: {answer}");
    }
    let (status, copied) = server
        .call(Method::POST, &duplicate, &manager, Some(copy))
        .await;
    assert_eq!(status, 201, "{copied}");
    assert_eq!(copied["data"]["sku"], "TEE-1-11");
    assert_eq!(copied["data"]["barcode"], "2990000000011");
    assert_eq!(copied["data"]["price"].to_string(), "3.25");
    let (_, found) = server
        .call(
            Method::POST,
            &find,
            &cashier,
            Some(json!({"attribute_values": [1, 11]})),
        )
        .await;
    assert_eq!(found["data"]["id"], copied["data"]["id"]);

    // Several at once, all or none.
    let bulk = format!("{base}/bulk");
    let (a, b) = (
        made[0]["id"].as_i64().unwrap(),
        made[1]["id"].as_i64().unwrap(),
    );
    let (status, answer) = server
        .call(
            Method::PUT,
            &bulk,
            &manager,
            Some(json!({"variants": [{"id": a, "price": 9}, {"id": b, "price": -1, "sku": ""}]})),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(field_error(&answer, "variants[1].price"), "{answer}");
    assert!(field_error(&answer, "variants[1].sku"), "{answer}");
    assert_eq!(
        get(&server, &format!("/api/v1/variants/{a}"), &manager).await["data"]["price"].to_string(),
        "2.5",
        "nothing written"
    );
    let (_, others) = server
        .call(Method::GET, "/api/v1/products", &manager, None)
        .await;
    let elsewhere = others["data"][0]["id"].as_i64().unwrap();
    let foreign = get(
        &server,
        &format!("/api/v1/products/{elsewhere}/variants"),
        &manager,
    )
    .await["data"][0]["id"]
        .as_i64()
        .unwrap();
    let (status, answer) = server
        .call(
            Method::PUT,
            &bulk,
            &manager,
            Some(json!({"variants": [{"id": foreign, "price": 1}]})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&answer, "variants[0].id"), "{answer}");
    let (status, _) = server
        .call(
            Method::PUT,
            &bulk,
            &cashier,
            Some(json!({"variants": [{"id": a, "price": 1}]})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, updated) = server.call(Method::PUT, &bulk, &manager,
        Some(json!({"variants": [{"id": a, "price": "9.99", "sort_order": 7}, {"id": b, "is_active": false, "product_id": elsewhere}]}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"][0]["price"].to_string(), "9.99");
    assert_eq!(updated["data"][0]["sort_order"], 7);
    assert_eq!(updated["data"][0]["version"], 2);
    assert_eq!(updated["data"][1]["is_active"], false);
    assert_eq!(
        updated["data"][1]["product_id"], product,
        "a variant stays with its product"
    );
    let (status, _) = server
        .call(
            Method::PUT,
            &format!("/api/v1/products/{product}/variants/bulk"),
            &other,
            Some(json!({"variants": [{"id": a, "price": 1}]})),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM offline_audit_logs WHERE entity = 'variant'")
            .await,
        4,
        "two generations, one duplicate, one bulk change"
    );
}

async fn variant_stock_and_batches(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in(MANAGER).await;
    let cashier = server.sign_in(CASHIER).await;
    let other = server.sign_in(OTHER_OWNER).await;
    let (product, _) = a_product(&server, &manager).await;
    let (status, made) = server
        .call(
            Method::POST,
            &format!("/api/v1/products/{product}/variants"),
            &manager,
            Some(json!({"sku": "JAR-L", "price": "4", "cost_price": "2.50"})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let variant = made["data"]["id"].as_i64().unwrap();
    let stock = format!("/api/v1/variants/{variant}/stock");

    let (status, _) = server
        .call(
            Method::PUT,
            &stock,
            &cashier,
            Some(json!({"quantity": 5, "operation": "set"})),
        )
        .await;
    assert_eq!(status, 403, "a cashier counts no stock");
    for (body, field) in [
        (json!({"quantity": -1, "operation": "set"}), "quantity"),
        (json!({"quantity": 1, "operation": "double"}), "operation"),
        (json!({"operation": "set"}), "quantity"),
        (
            json!({"quantity": 1, "operation": "set", "warehouse_id": 999999}),
            "warehouse_id",
        ),
    ] {
        let (status, answer) = server.call(Method::PUT, &stock, &manager, Some(body)).await;
        assert_eq!(status, 422, "{answer}");
        assert!(field_error(&answer, field), "{field}: {answer}");
    }
    let (status, set) = server.call(Method::PUT,
        &stock,
        &manager,
        Some(
            json!({"quantity": 5, "operation": "set", "batch_no": "B-7", "reason": "first count"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["data"]["variant_id"], variant);
    assert_eq!(set["data"]["total_stock"].to_string(), "5");
    let record = &set["data"]["stock_record"];
    assert_eq!(record["variant_id"], variant);
    assert_eq!(record["product_id"], product);
    assert_eq!(record["batch_no"], "B-7");
    assert_eq!(record["productPurchasePrice"].to_string(), "2.5");
    let row = record["id"].as_i64().unwrap();
    let (status, more) = server
        .call(
            Method::PUT,
            &stock,
            &manager,
            Some(json!({"quantity": "3.5", "operation": "increment", "batch_no": "B-7"})),
        )
        .await;
    assert_eq!(status, 200, "{more}");
    assert_eq!(
        more["data"]["stock_record"]["id"], row,
        "the same batch row"
    );
    assert_eq!(more["data"]["total_stock"].to_string(), "8.5");
    let (status, answer) = server
        .call(
            Method::PUT,
            &stock,
            &manager,
            Some(json!({"quantity": 9, "operation": "decrement", "batch_no": "B-7"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&answer, "quantity"), "{answer}");
    let (status, other_batch) = server
        .call(
            Method::PUT,
            &stock,
            &manager,
            Some(json!({"quantity": 2, "operation": "increment", "batch_no": "B-8"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(other_batch["data"]["stock_record"]["id"], row);
    assert_eq!(other_batch["data"]["total_stock"].to_string(), "10.5");
    let (status, _) = server
        .call(
            Method::PUT,
            &stock,
            &other,
            Some(json!({"quantity": 1, "operation": "set"})),
        )
        .await;
    assert_eq!(status, 404);

    let summary = get(
        &server,
        &format!("/api/v1/products/{product}/variants/stock-summary"),
        &cashier,
    )
    .await;
    let data = &summary["data"];
    assert_eq!(data["product_id"], product);
    let ours = data["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == variant)
        .unwrap();
    assert_eq!(ours["stock"].to_string(), "10.5");
    assert_eq!(ours["stock_value"].to_string(), "26.25", "10.5 at 2.50");
    assert_eq!(
        data["total_variants"],
        data["variants"].as_array().unwrap().len()
    );
    assert_eq!(
        data["total_stock"].to_string(),
        "10.5",
        "the standard variant holds no stock of its own"
    );
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/products/{product}/variants/stock-summary"),
            &other,
            None,
        )
        .await;
    assert_eq!(status, 404);

    let batches = get(
        &server,
        &format!("/api/v1/variants/{variant}/batches"),
        &cashier,
    )
    .await;
    let list = batches["batches"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{batches}");
    assert!(
        list.iter()
            .all(|b| b["variant"]["id"] == variant && b["variant"]["name"] == "JAR-L"),
        "{batches}"
    );
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/variants/{variant}/batches"),
            &other,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Terminals receive the counted rows with their variant.
    let (rows, _) = synced(&server, &cashier, "stocks", row, |found| !found.is_empty()).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["variant_id"], variant);
    assert_eq!(rows[0]["productStock"].to_string(), "8.5");
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM offline_audit_logs WHERE entity = 'stock' AND action = 'variant_stock'").await,
        3
    );
}

async fn due_payments_are_corrected_and_voided(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in(MANAGER).await;
    let cashier = server.sign_in(CASHIER).await;
    let other = server.sign_in(OTHER_OWNER).await;
    let party_due = |token: String| {
        let server = &server;
        async move { get(server, "/api/v1/parties/1", &token).await["data"]["due"].to_string() }
    };
    // 4 at 0.50 on credit to customer 1, then 1.25 of it paid.
    let (status, sale) = server.call(Method::POST, "/api/v1/sales", &cashier, Some(json!({
        "party_id": 1, "payment_type_id": 3, "totalAmount": "2.00", "paidAmount": 0,
        "products": [{"line_no": 1, "stock_id": 1, "quantities": 4, "price": "0.5", "vat_id": 1}]
    }))).await;
    assert_eq!(status, 201, "{sale}");
    let sale_path = format!("/api/v1/sales/{}", sale["data"]["id"]);
    let start = party_due(manager.clone()).await;
    let (status, paid) = server.call(Method::POST, "/api/v1/dues", &cashier, Some(json!({
        "party_id": 1, "payDueAmount": "1.25", "payment_type_id": 1, "invoiceNumber": sale["data"]["invoiceNumber"]
    }))).await;
    assert_eq!(status, 201, "{paid}");
    let id = paid["data"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/dues/{id}");
    let start: rust_decimal::Decimal = start.parse().unwrap();
    let due_now = |d: &str| {
        (start + d.parse::<rust_decimal::Decimal>().unwrap())
            .normalize()
            .to_string()
    };
    assert_eq!(party_due(manager.clone()).await, due_now("-1.25"));
    assert_eq!(
        get(&server, &sale_path, &manager).await["data"]["dueAmount"].to_string(),
        "0.75"
    );

    let correct = json!({"payDueAmount": "0.50", "payment_type_id": 1, "paymentDate": "2026-01-02T10:00:00.000Z"});
    let (status, answer) = server
        .call(Method::PUT, &path, &cashier, Some(correct.clone()))
        .await;
    assert_eq!(status, 422, "no version named: {answer}");
    assert!(field_error(&answer, "version"), "{answer}");
    let mut stale = correct.clone();
    stale["version"] = json!(7);
    let (status, answer) = server.call(Method::PUT, &path, &cashier, Some(stale)).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["conflict"]["server_version"], 1);
    let mut versioned = correct.clone();
    versioned["version"] = json!(1);
    for (field, value) in [
        ("payDueAmount", json!(0)),
        ("payment_type_id", json!(999999)),
        ("paymentDate", json!("yesterday")),
    ] {
        let mut wrong = versioned.clone();
        wrong[field] = value;
        let (status, answer) = server.call(Method::PUT, &path, &cashier, Some(wrong)).await;
        assert_eq!(status, 422, "{answer}");
        assert!(field_error(&answer, field), "{field}: {answer}");
    }
    let (status, _) = server
        .call(Method::PUT, &path, &other, Some(versioned.clone()))
        .await;
    assert_eq!(status, 404);
    let (status, corrected) = server
        .call(Method::PUT, &path, &cashier, Some(versioned))
        .await;
    assert_eq!(status, 200, "{corrected}");
    assert_eq!(corrected["data"]["payDueAmount"].to_string(), "0.5");
    assert_eq!(corrected["data"]["version"], 2);
    assert_eq!(party_due(manager.clone()).await, due_now("-0.5"));
    assert_eq!(
        get(&server, &sale_path, &manager).await["data"]["dueAmount"].to_string(),
        "1.5"
    );

    let (status, _) = server.call(Method::DELETE, &path, &other, None).await;
    assert_eq!(status, 404);
    // Voiding a payment is a manager's, as voiding a sale is.
    let (status, refused) = server.call(Method::DELETE, &path, &cashier, None).await;
    assert_eq!(status, 403, "{refused}");
    let (status, voided) = server.call(Method::DELETE, &path, &manager, None).await;
    assert_eq!(status, 200, "{voided}");
    assert!(!voided["data"]["deleted_at"].is_null());
    assert_eq!(party_due(manager.clone()).await, due_now("0"));
    assert_eq!(
        get(&server, &sale_path, &manager).await["data"]["dueAmount"].to_string(),
        "2"
    );
    let (status, _) = server.call(Method::GET, &path, &manager, None).await;
    assert_eq!(status, 404);
    let (status, _) = server.call(Method::DELETE, &path, &manager, None).await;
    assert_eq!(status, 404, "voided once");
    let expected: Value = serde_json::from_str(&due_now("0")).unwrap();
    let (parties, _) = synced(&server, &cashier, "parties", 1, |found| {
        found.iter().any(|p| p["due"] == expected)
    })
    .await;
    assert_eq!(
        parties.len(),
        1,
        "terminals learn the due once: {parties:?}"
    );

    // A supplier's payment is the managers' to change.
    let (status, bought) = server.call(Method::POST, "/api/v1/purchase", &manager, Some(json!({
        "party_id": SUPPLIER, "paidAmount": 0,
        "products": [{"product_id": 1, "stock_id": 1, "quantities": 2, "productPurchasePrice": "1"}]
    }))).await;
    assert_eq!(status, 201, "{bought}");
    let (status, paid) = server.call(Method::POST, "/api/v1/dues", &manager, Some(json!({
        "party_id": SUPPLIER, "payDueAmount": "1.5", "payment_type_id": 1, "invoiceNumber": bought["data"]["invoiceNumber"]
    }))).await;
    assert_eq!(status, 201, "{paid}");
    let supplier_path = format!("/api/v1/dues/{}", paid["data"]["id"]);
    let (status, _) = server
        .call(Method::DELETE, &supplier_path, &cashier, None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .call(Method::DELETE, &supplier_path, &manager, None)
        .await;
    assert_eq!(status, 200);
    let purchase = get(
        &server,
        &format!("/api/v1/purchase/{}", bought["data"]["id"]),
        &manager,
    )
    .await;
    assert_eq!(purchase["data"]["dueAmount"].to_string(), "2");
}

async fn a_purchase_is_edited_by_replacing_its_lines(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in(MANAGER).await;
    let cashier = server.sign_in(CASHIER).await;
    let other = server.sign_in(OTHER_OWNER).await;
    let stock = |token: String| {
        let server = &server;
        async move { get(server, "/api/v1/stocks/1", &token).await["data"]["productStock"].to_string() }
    };
    let supplier_due = |token: String| {
        let server = &server;
        async move {
            get(server, &format!("/api/v1/parties/{SUPPLIER}"), &token).await["data"]["due"]
                .to_string()
        }
    };
    let (status, bought) = server.call(Method::POST, "/api/v1/purchase", &manager, Some(json!({
        "party_id": SUPPLIER, "paidAmount": 1, "payment_type_id": 1,
        "products": [{"product_id": 1, "stock_id": 1, "quantities": 10, "productPurchasePrice": "0.30"}]
    }))).await;
    assert_eq!(status, 201, "{bought}");
    let path = format!("/api/v1/purchase/{}", bought["data"]["id"]);
    assert_eq!(stock(manager.clone()).await, "30");
    assert_eq!(supplier_due(manager.clone()).await, "2");

    let edit = json!({"version": 1, "party_id": SUPPLIER, "payment_type_id": 1,
        "products": [{"product_id": 1, "stock_id": 1, "quantities": 4, "productPurchasePrice": "0.50"}]});
    let (status, _) = server
        .call(Method::PUT, &path, &cashier, Some(edit.clone()))
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .call(Method::PUT, &path, &other, Some(edit.clone()))
        .await;
    assert_eq!(status, 404);
    let mut stale = edit.clone();
    stale["version"] = json!(5);
    let (status, answer) = server.call(Method::PUT, &path, &manager, Some(stale)).await;
    assert_eq!(status, 409, "{answer}");
    for (change, field) in [
        (json!({"products": []}), "products"),
        (json!({"party_id": 999999}), "party_id"),
        (json!({"paidAmount": 5}), "paidAmount"),
        (
            json!({"products": [{"product_id": 1, "stock_id": 1, "quantities": 0, "productPurchasePrice": 1}]}),
            "products[0].quantities",
        ),
    ] {
        let mut wrong = edit.clone();
        for (k, v) in change.as_object().unwrap() {
            wrong[k] = v.clone();
        }
        let (status, answer) = server.call(Method::PUT, &path, &manager, Some(wrong)).await;
        assert_eq!(status, 422, "{answer}");
        assert!(field_error(&answer, field), "{field}: {answer}");
    }
    assert_eq!(stock(manager.clone()).await, "30", "nothing half-written");
    let (status, edited) = server.call(Method::PUT, &path, &manager, Some(edit)).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["data"]["totalAmount"].to_string(), "2");
    assert_eq!(
        edited["data"]["paidAmount"].to_string(),
        "1",
        "what was paid stays paid"
    );
    assert_eq!(edited["data"]["dueAmount"].to_string(), "1");
    assert_eq!(edited["data"]["version"], 2);
    assert_eq!(edited["data"]["details"].as_array().unwrap().len(), 1);
    assert_eq!(
        stock(manager.clone()).await,
        "24",
        "20 + 4: the old 10 went out, 4 came in"
    );
    assert_eq!(supplier_due(manager.clone()).await, "1");

    // Once most of it is sold, the purchase cannot shrink below what is left.
    let (status, sold) = server.call(Method::POST, "/api/v1/sales", &cashier, Some(json!({
        "payment_type_id": 1, "totalAmount": "11.50", "paidAmount": "11.50",
        "products": [{"line_no": 1, "stock_id": 1, "quantities": 23, "price": "0.5", "vat_id": 1}]
    }))).await;
    assert_eq!(status, 201, "{sold}");
    let shrink = json!({"version": 2, "party_id": SUPPLIER, "paidAmount": "0.5",
        "products": [{"product_id": 1, "stock_id": 1, "quantities": 1, "productPurchasePrice": "0.50"}]});
    let (status, answer) = server
        .call(Method::PUT, &path, &manager, Some(shrink))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(field_error(&answer, "products"), "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("already sold"),
        "{answer}"
    );
    assert_eq!(stock(manager.clone()).await, "1");
    assert_eq!(get(&server, &path, &manager).await["data"]["version"], 2);

    // Goods sent back freeze it.
    let detail = edited["data"]["details"][0]["id"].clone();
    let (status, _) = server.call(Method::POST, "/api/v1/purchases-return", &manager,
        Some(json!({"purchase_id": bought["data"]["id"], "lines": [{"purchase_detail_id": detail, "quantity": 1}]}))).await;
    assert_eq!(status, 201);
    let (status, answer) = server.call(Method::PUT, &path, &manager, Some(json!({"version": 3, "party_id": SUPPLIER,
        "products": [{"product_id": 1, "stock_id": 1, "quantities": 9, "productPurchasePrice": "0.50"}]}))).await;
    assert_eq!(status, 422, "{answer}");
    assert!(field_error(&answer, "products"), "{answer}");
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM offline_audit_logs WHERE entity = 'purchase' AND action = 'update'").await,
        1
    );
}

async fn a_business_is_set_up_and_closed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in(OWNER).await;
    let manager = server.sign_in(MANAGER).await;
    let other = server.sign_in(OTHER_OWNER).await;
    let setup = json!({"companyName": "Demo Mart Central", "business_category_id": 2,
        "address": "1 Market Street", "phoneNumber": "555-0100", "shopOpeningBalance": "150.00"});
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/business",
            &manager,
            Some(setup.clone()),
        )
        .await;
    assert_eq!(status, 403);
    for (field, value) in [
        ("companyName", Value::Null),
        ("business_category_id", json!(999)),
        ("shopOpeningBalance", json!(-5)),
    ] {
        let mut wrong = setup.clone();
        wrong[field] = value;
        let (status, answer) = server
            .call(Method::POST, "/api/v1/business", &owner, Some(wrong))
            .await;
        assert_eq!(status, 422, "{answer}");
        assert!(field_error(&answer, field), "{field}: {answer}");
    }
    let before = get(&server, "/api/v1/business", &owner).await["data"]["version"]
        .as_i64()
        .unwrap();
    let (status, done) = server
        .call(Method::POST, "/api/v1/business", &owner, Some(setup))
        .await;
    assert_eq!(status, 200, "{done}");
    let business = get(&server, "/api/v1/business", &manager).await;
    assert_eq!(business["data"]["companyName"], "Demo Mart Central");
    assert_eq!(business["data"]["business_category_id"], 2);
    assert_eq!(business["data"]["shopOpeningBalance"].to_string(), "150");
    assert_eq!(business["data"]["version"], before + 1);
    assert_ne!(
        get(&server, "/api/v1/business", &other).await["data"]["companyName"],
        "Demo Mart Central"
    );

    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/business-delete",
            &manager,
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 403, "owners only");
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/business-delete",
            &owner,
            Some(json!({"password": "not it"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&answer, "password"), "{answer}");
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/business-delete",
            &owner,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&answer, "password"), "{answer}");
    let theirs = get(&server, "/api/v1/products", &other).await["pagination"]["total"].clone();
    let (status, closed) = server
        .call(
            Method::POST,
            "/api/v1/business-delete",
            &owner,
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{closed}");
    for token in [&owner, &manager] {
        let (status, _) = server
            .call(Method::GET, "/api/v1/business", token, None)
            .await;
        assert_eq!(status, 401, "every session of the business ends");
    }
    for email in [OWNER, MANAGER, CASHIER] {
        let (status, _) = json(
            server
                .client
                .post(server.url("/api/v1/sign-in"))
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{email} signs in no more");
    }
    // The other business goes on as before.
    assert_eq!(
        get(&server, "/api/v1/products", &other).await["pagination"]["total"],
        theirs
    );
    server.sign_in(OTHER_OWNER).await;
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM businesses WHERE deleted_at IS NOT NULL")
            .await,
        1
    );
    assert!(
        server.scalar("SELECT COUNT(*) FROM products").await > 0,
        "the records stay for the books"
    );
}

on_both_databases!(
    lookups_and_party_restore,
    variants_from_attribute_values,
    variant_stock_and_batches,
    due_payments_are_corrected_and_voided,
    a_purchase_is_edited_by_replacing_its_lines,
    a_business_is_set_up_and_closed,
);
