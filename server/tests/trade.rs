//! The back office's trade API over real HTTP on both databases: a full day (purchase, online
//! and synced sales, a return, a due collected) that the day's summary and the stock add up
//! to; returns that ask back too much, across the online and synced paths; voids; filters and
//! versions of the sales list; purchase returns and stock adjustments.

mod common;

use common::{json, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const MANAGER: &str = "manager@demo.test";
const CASHIER: &str = "cashier@demo.test";
/// Demo Mart's seed: stock 1 of product 1 holds 20; party 1 is a customer, 6 the supplier;
/// payment types 1 Cash, 3 Due; VAT 1 is 0%.
const SUPPLIER: i64 = 6;

async fn stock_of(server: &TestServer, token: &str, id: i64) -> String {
    let (status, body) = server
        .call(Method::GET, &format!("/api/v1/stocks/{id}"), token, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["productStock"].to_string()
}

async fn party_due(server: &TestServer, token: &str, id: i64) -> String {
    let (status, body) = server
        .call(Method::GET, &format!("/api/v1/parties/{id}"), token, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["due"].to_string()
}

/// An online sale of `quantity` of stock 1 at 0.50, no VAT.
fn sale_body(quantity: u32, paid: &str, party: Option<i64>) -> Value {
    let total = format!("{:.2}", f64::from(quantity) * 0.5);
    json!({
        "party_id": party, "payment_type_id": if party.is_some() { 3 } else { 1 },
        "totalAmount": total, "paidAmount": paid,
        "products": [{"line_no": 1, "stock_id": 1, "quantities": quantity, "price": 0.5, "vat_id": 1}]
    })
}

async fn sell(server: &TestServer, token: &str, body: Value) -> Value {
    let (status, created) = server
        .call(Method::POST, "/api/v1/sales", token, Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    created["data"].clone()
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

async fn a_full_day_adds_up(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in(MANAGER).await;
    let cashier = server.sign_in(CASHIER).await;
    assert_eq!(stock_of(&server, &manager, 1).await, "20");

    // Stock in: 10 at 0.30, 1.00 paid now, the rest owed to the supplier.
    let (status, purchase) = server.call(Method::POST, "/api/v1/purchase", &manager, Some(json!({
        "party_id": SUPPLIER, "paidAmount": 1, "payment_type_id": 1,
        "products": [{"product_id": 1, "stock_id": 1, "quantities": 10, "productPurchasePrice": "0.30"}]
    }))).await;
    assert_eq!(status, 201, "{purchase}");
    assert_eq!(purchase["data"]["totalAmount"].to_string(), "3");
    assert_eq!(party_due(&server, &manager, SUPPLIER).await, "2");
    let (status, _) = server.call(Method::POST, "/api/v1/purchase", &cashier, Some(json!({
        "party_id": SUPPLIER, "products": [{"product_id": 1, "quantities": 1, "productPurchasePrice": 1}]
    }))).await;
    assert_eq!(status, 403, "a cashier buys no stock");

    // Online: 3 at 0.50 plus 15% VAT, paid in cash, by the cashier.
    let online = sell(&server, &cashier, json!({
        "payment_type_id": 1, "totalAmount": "1.73", "paidAmount": "1.73", "vat_amount": "0.23",
        "products": [{"line_no": 1, "stock_id": 1, "quantities": 3, "price": "0.5", "vat_id": 3, "vat_amount": "0.23"}]
    })).await;
    assert_eq!(online["isPaid"], true);
    assert_eq!(
        online["details"][0]["lossProfit"].to_string(),
        "0.6",
        "(0.50 - 0.30) x 3"
    );
    let online_id = online["id"].as_i64().unwrap();

    // Offline: 4 at 0.50 on credit to customer 1, through sync.
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/sync/register",
            &cashier,
            Some(json!({"device_id": "till-day", "device_name": "Till"})),
        )
        .await;
    assert_eq!(status, 200);
    let now = pos_protocol::time::format(&chrono::Utc::now());
    let (status, synced) = json(server.request(Method::POST, "/api/v1/sync/batch", &cashier)
        .header("X-Device-ID", "till-day")
        .json(&json!({"device_id": "till-day", "operations": [{
            "idempotency_key": "day-sale-1", "entity": "sale", "action": "create", "offline_timestamp": now,
            "data": {"local_id": "s1", "client_reference": "7c1d0e52-0000-4000-8000-000000000001",
                     "party_id": 1, "payment_type_id": 3, "totalAmount": "2.00", "paidAmount": 0,
                     "dueAmount": "2.00", "saleDate": now,
                     "products": [{"line_no": 1, "stock_id": 1, "quantities": 4, "price": "0.5", "vat_id": 1}]}
        }]}))
        .send().await.unwrap()).await;
    assert_eq!(status, 200, "{synced}");
    let offline_invoice = synced["results"][0]["invoice_number"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(party_due(&server, &manager, 1).await, "2");

    // One of the online sale back, refunded in cash.
    let (status, returned) = server
        .call(
            Method::POST,
            "/api/v1/sales-return",
            &manager,
            Some(json!({
                "sale_id": online_id, "lines": [{"line_no": 1, "quantity": 1}],
                "refund_method": "cash", "refund_amount": "0.58"
            })),
        )
        .await;
    assert_eq!(status, 201, "{returned}");
    assert_eq!(
        returned["data"]["lines"][0]["amount"].to_string(),
        "0.58",
        "a third of 1.73, rounded"
    );

    // The customer pays 1.25 of the offline sale.
    let (status, due) = server.call(Method::POST, "/api/v1/dues", &cashier, Some(json!({
        "party_id": 1, "payDueAmount": "1.25", "payment_type_id": 1, "invoiceNumber": offline_invoice,
        "paymentDate": now
    }))).await;
    assert_eq!(status, 201, "{due}");
    assert_eq!(due["data"]["dueAmountAfterPay"].to_string(), "0.75");
    assert_eq!(party_due(&server, &manager, 1).await, "0.75");
    let (status, open) = server
        .call(
            Method::GET,
            "/api/v1/dues/invoices?party_id=1",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 200, "{open}");
    assert_eq!(open["data"].as_array().unwrap().len(), 1);
    assert_eq!(open["data"][0]["dueAmount"].to_string(), "0.75");

    // The day's summary is the sum of what happened.
    let day = today();
    let (status, summary) = server
        .call(
            Method::GET,
            &format!("/api/v1/reports/sales/summary?from_date={day}&to_date={day}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 200, "{summary}");
    let totals = &summary["data"]["totals"];
    assert_eq!(totals["count"], 2, "{summary}");
    assert_eq!(totals["totalAmount"].to_string(), "3.73");
    assert_eq!(
        totals["vat_amount"].to_string(),
        "0.15",
        "0.23 less the returned third of it, 0.08"
    );
    assert_eq!(totals["returns_vat_amount"].to_string(), "0.08");
    assert_eq!(totals["paidAmount"].to_string(), "1.73");
    assert_eq!(
        totals["dueAmount"].to_string(),
        "0.75",
        "what is still owed after the collection"
    );
    assert_eq!(
        totals["profit"].to_string(),
        "1.2",
        "0.60 online + 0.80 offline (purchase 0.30), less the 0.20 of the one returned"
    );
    assert_eq!(totals["returns_profit"].to_string(), "0.2");
    assert_eq!(totals["returns_count"], 1);
    assert_eq!(totals["returns_amount"].to_string(), "0.58");
    assert_eq!(totals["net_amount"].to_string(), "3.15");
    // The sales report's totals take the returns of its sales off as well.
    let (status, report) = server
        .call(
            Method::GET,
            &format!("/api/v1/reports/sales?date_from={day}&date_to={day}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["totals"]["count"], 2, "{report}");
    assert_eq!(report["totals"]["profit"].to_string(), "1.2");
    assert_eq!(report["totals"]["vat_amount"].to_string(), "0.15");
    assert_eq!(report["totals"]["returns_count"], 1);
    let by_type = summary["data"]["by_payment_type"].as_array().unwrap();
    assert_eq!(by_type.len(), 2);
    assert_eq!(by_type[0]["payment_type_id"], 1);
    assert_eq!(by_type[0]["totalAmount"].to_string(), "1.73");
    assert_eq!(by_type[1]["payment_type_id"], 3);
    assert_eq!(by_type[1]["totalAmount"].to_string(), "2");
    let devices: Vec<&str> = summary["data"]["by_device"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device_id"].as_str().unwrap())
        .collect();
    assert_eq!(devices, ["back-office", "till-day"]);
    assert_eq!(summary["data"]["by_day"][0]["date"], json!(day));
    let (status, _) = server
        .call(Method::GET, "/api/v1/reports/sales/summary", &cashier, None)
        .await;
    assert_eq!(status, 403, "reports are for managers");

    // Stock = start + purchased - sold + returned, and terminals are told.
    assert_eq!(stock_of(&server, &manager, 1).await, "24");
    // On PostgreSQL a change is listed once every transaction of the cluster that began
    // before it has ended, so a busy server (other tests included) may show it a moment later.
    let mut attempts = 0;
    let (changes, synced_stock) = loop {
        let (status, changes) = server
            .call(
                Method::GET,
                "/api/v1/sync/changes?entities=stocks",
                &cashier,
                None,
            )
            .await;
        assert_eq!(status, 200, "{changes}");
        let synced_stock: Vec<String> = ["created", "updated"]
            .iter()
            .filter_map(|kind| changes["data"]["stocks"][kind].as_array())
            .flatten()
            .filter(|s| s["id"] == 1)
            .map(|s| s["productStock"].to_string())
            .collect();
        attempts += 1;
        if !synced_stock.is_empty() || attempts == 100 {
            break (changes, synced_stock);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        synced_stock,
        ["24"],
        "terminals are sent stock 1 as it is now: {changes}"
    );
    assert!(
        server
            .scalar("SELECT COUNT(*) FROM offline_audit_logs WHERE device_id = 'back-office'")
            .await
            >= 4
    );
}

async fn returns_never_exceed_the_sale_on_any_path(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let manager = server.sign_in(MANAGER).await;
    let sale = sell(&server, &cashier, sale_body(3, "1.50", None)).await;
    let sale_id = sale["id"].as_i64().unwrap();
    // Two come back through sync, from a till.
    let (status, synced) = json(server.request(Method::POST, "/api/v1/sync/batch", &cashier)
        .header("X-Device-ID", "till-ret")
        .json(&json!({"device_id": "till-ret", "operations": [{
            "idempotency_key": "ret-1", "entity": "sale_return", "action": "create",
            "data": {"local_id": "r1", "sale_id": sale_id, "lines": [{"line_no": 1, "quantity": 2}],
                     "refund_method": "cash", "refund_amount": "1.00"}
        }]}))
        .send().await.unwrap()).await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["results"][0]["status"], "created");
    // Two more online is one too many: refused, nothing written.
    let over = json!({"sale_id": sale_id, "lines": [{"line_no": 1, "quantity": 2}],
                      "refund_method": "cash", "refund_amount": "1.00"});
    let (status, refused) = server
        .call(Method::POST, "/api/v1/sales-return", &manager, Some(over))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["errors"]["lines[0].quantity"].is_array(),
        "{refused}"
    );
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sale_returns").await, 1);
    assert_eq!(stock_of(&server, &cashier, 1).await, "19", "20 - 3 + 2");
    // The last one is fine; then nothing is left.
    let last = json!({"sale_id": sale_id, "lines": [{"line_no": 1, "quantity": 1}],
                      "refund_method": "cash", "refund_amount": "0.50"});
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/sales-return",
            &manager,
            Some(last.clone()),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = server
        .call(Method::POST, "/api/v1/sales-return", &manager, Some(last))
        .await;
    assert_eq!(status, 422);
    let (_, shown) = server
        .call(
            Method::GET,
            &format!("/api/v1/sales/{sale_id}"),
            &cashier,
            None,
        )
        .await;
    assert_eq!(
        shown["data"]["details"][0]["returned_quantity"].to_string(),
        "3"
    );
    assert_eq!(stock_of(&server, &cashier, 1).await, "20");
    // Another business's sale is not there.
    let other = server.sign_in("owner@other.test").await;
    let (status, _) = server.call(Method::POST, "/api/v1/sales-return", &other, Some(json!({
        "sale_id": sale_id, "lines": [{"line_no": 1, "quantity": 1}], "refund_method": "cash", "refund_amount": 0
    }))).await;
    assert_eq!(status, 404);
}

async fn a_void_puts_stock_and_due_back(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in(MANAGER).await;
    let cashier = server.sign_in(CASHIER).await;
    let sale = sell(&server, &cashier, sale_body(5, "0", Some(2))).await;
    let id = sale["id"].as_i64().unwrap();
    assert_eq!(stock_of(&server, &manager, 1).await, "15");
    assert_eq!(party_due(&server, &manager, 2).await, "2.5");
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/sales/{id}"),
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 403, "a cashier voids nothing");
    let other = server.sign_in("owner@other.test").await;
    let (status, _) = server
        .call(Method::DELETE, &format!("/api/v1/sales/{id}"), &other, None)
        .await;
    assert_eq!(status, 404);
    // One came back before the void: only the other four return now.
    let (status, _) = server.call(Method::POST, "/api/v1/sales-return", &manager, Some(json!({
        "sale_id": id, "lines": [{"line_no": 1, "quantity": 1}], "refund_method": "due", "refund_amount": "0.50"
    }))).await;
    assert_eq!(status, 201);
    assert_eq!(party_due(&server, &manager, 2).await, "2");
    let (status, voided) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/sales/{id}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 200, "{voided}");
    assert_eq!(voided["data"]["version"], 2);
    assert!(voided["data"]["deleted_at"].is_string());
    assert_eq!(stock_of(&server, &manager, 1).await, "20");
    assert_eq!(
        party_due(&server, &manager, 2).await,
        "0",
        "2.50 owed, 0.50 returned, the rest voided"
    );
    let (status, _) = server
        .call(Method::GET, &format!("/api/v1/sales/{id}"), &manager, None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/sales/{id}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 404, "voided once");
    let (_, list) = server
        .call(Method::GET, "/api/v1/sales", &manager, None)
        .await;
    assert_eq!(list["pagination"]["total"], 0);
}

async fn sales_list_filters_and_versions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in(MANAGER).await;
    let cashier = server.sign_in(CASHIER).await;
    let first = sell(&server, &cashier, sale_body(1, "0.50", Some(1))).await;
    sell(&server, &cashier, sale_body(2, "0", Some(2))).await;
    sell(&server, &cashier, sale_body(1, "0.50", None)).await;
    let list = |query: &str| {
        let (server, manager, query) = (&server, &manager, query.to_string());
        async move {
            let (status, body) = server
                .call(Method::GET, &format!("/api/v1/sales{query}"), manager, None)
                .await;
            assert_eq!(status, 200, "{query}: {body}");
            body
        }
    };
    assert_eq!(list("").await["pagination"]["total"], 3);
    assert_eq!(list("?party_id=2").await["pagination"]["total"], 1);
    assert_eq!(list("?isPaid=false").await["data"][0]["party_id"], 2);
    let number = first["invoiceNumber"].as_str().unwrap();
    assert_eq!(
        list(&format!("?invoiceNumber={number}")).await["data"][0]["id"],
        first["id"]
    );
    let day = today();
    assert_eq!(
        list(&format!("?date_from={day}&date_to={day}")).await["pagination"]["total"],
        3
    );
    assert_eq!(
        list("?date_from=2000-01-01&date_to=2000-01-02").await["pagination"]["total"],
        0
    );
    let page = list("?per_page=2&page=2").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["pagination"]["last_page"], 2);
    let (status, bad) = server
        .call(
            Method::GET,
            "/api/v1/sales?date_from=yesterday",
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(bad["errors"]["date_from"].is_array(), "{bad}");

    // Edits of the header are versioned.
    let id = first["id"].as_i64().unwrap();
    let path = format!("/api/v1/sales/{id}");
    let (status, _) = server
        .call(
            Method::PUT,
            &path,
            &manager,
            Some(json!({"payment_type_id": 2})),
        )
        .await;
    assert_eq!(status, 422, "no version named");
    let (status, _) = server
        .call(
            Method::PUT,
            &path,
            &cashier,
            Some(json!({"version": 1, "payment_type_id": 2})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, updated) = server
        .call(
            Method::PUT,
            &path,
            &manager,
            Some(json!({"version": 1, "payment_type_id": 2})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["version"], 2);
    assert_eq!(updated["data"]["payment_type_id"], 2);
    let (status, stale) = server
        .call(
            Method::PUT,
            &path,
            &manager,
            Some(json!({"version": 1, "payment_type_id": 1})),
        )
        .await;
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["conflict"]["server_version"], 2);
}

async fn purchase_returns_and_adjustments(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in(MANAGER).await;
    let cashier = server.sign_in(CASHIER).await;
    // A new batch in warehouse 1 gets its own stock row.
    let (status, purchase) = server.call(Method::POST,
        "/api/v1/purchase",
        &manager,
        Some(json!({
            "party_id": SUPPLIER, "paidAmount": 0,
            "products": [{"product_id": 2, "warehouse_id": 1, "batch_no": "B-7", "quantities": 10,
                          "productPurchasePrice": "1.10", "productSalePrice": "1.50"}]
        })),
    )
    .await;
    assert_eq!(status, 201, "{purchase}");
    let line = &purchase["data"]["details"][0];
    let stock = line["stock_id"].as_i64().unwrap();
    assert!(stock > 1);
    assert_eq!(stock_of(&server, &manager, stock).await, "10");
    assert_eq!(party_due(&server, &manager, SUPPLIER).await, "11");
    let detail = line["id"].as_i64().unwrap();
    let purchase_id = purchase["data"]["id"].as_i64().unwrap();
    let back = |quantity: u32| json!({"purchase_id": purchase_id, "lines": [{"purchase_detail_id": detail, "quantity": quantity}]});
    let (status, returned) = server
        .call(
            Method::POST,
            "/api/v1/purchases-return",
            &manager,
            Some(back(4)),
        )
        .await;
    assert_eq!(status, 201, "{returned}");
    assert_eq!(returned["data"]["total_return_amount"].to_string(), "4.4");
    assert_eq!(stock_of(&server, &manager, stock).await, "6");
    assert_eq!(party_due(&server, &manager, SUPPLIER).await, "6.6");
    let (status, refused) = server
        .call(
            Method::POST,
            "/api/v1/purchases-return",
            &manager,
            Some(back(7)),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["errors"]["lines[0].quantity"].is_array());

    // The supplier is paid by a manager, not a cashier.
    let invoice = purchase["data"]["invoiceNumber"].clone();
    let pay = json!({"party_id": SUPPLIER, "payDueAmount": "6.6", "payment_type_id": 1, "invoiceNumber": invoice});
    let (status, _) = server
        .call(Method::POST, "/api/v1/dues", &cashier, Some(pay.clone()))
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .call(Method::POST, "/api/v1/dues", &manager, Some(pay))
        .await;
    assert_eq!(status, 201);
    assert_eq!(party_due(&server, &manager, SUPPLIER).await, "0");

    // A counted correction, with its reason audited.
    let path = format!("/api/v1/stocks/{stock}/adjustments");
    let (status, _) = server
        .call(
            Method::POST,
            &path,
            &cashier,
            Some(json!({"quantity": -1, "reason": "broken"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, bad) = server
        .call(
            Method::POST,
            &path,
            &manager,
            Some(json!({"quantity": -1, "reason": " "})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(bad["errors"]["reason"].is_array());
    let (status, adjusted) = server
        .call(
            Method::POST,
            &path,
            &manager,
            Some(json!({"quantity": "-1.5", "reason": "broken jar"})),
        )
        .await;
    assert_eq!(status, 200, "{adjusted}");
    assert_eq!(stock_of(&server, &manager, stock).await, "4.5");
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM offline_audit_logs WHERE entity = 'stock' AND action = 'adjust'").await,
        1
    );

    // Voiding the purchase takes what is left of it out of stock again.
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/purchase/{purchase_id}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(stock_of(&server, &manager, stock).await, "-1.5");
    assert_eq!(
        party_due(&server, &manager, SUPPLIER).await,
        "0",
        "nothing was owed on it any more"
    );
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/purchase/{purchase_id}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 404);
}

on_both_databases!(
    a_full_day_adds_up,
    returns_never_exceed_the_sale_on_any_path,
    a_void_puts_stock_and_due_back,
    sales_list_filters_and_versions,
    purchase_returns_and_adjustments,
);
