//! Money, quantities and a manager's authority, attacked over real HTTP on both databases the
//! way a dishonest cashier, another business or a broken till would: returns and refunds,
//! authorisations that are missing or belong to someone else, absurd numbers, another
//! business's till counter and VAT rate, and facts a client makes up.

mod common;

use common::{json, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

const OWNER: &str = "owner@demo.test";
const MANAGER: &str = "manager@demo.test";
const CASHIER: &str = "cashier@demo.test";
const OTHER_OWNER: &str = "owner@other.test";
const OTHER_CASHIER: &str = "cashier@other.test";

/// Runs one statement on the test database, whichever it is.
async fn execute(server: &TestServer, sql: &str) {
    match server.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&server.database_url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&server.database_url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

async fn user_id(server: &TestServer, email: &str) -> i64 {
    server
        .scalar(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
}

/// Open review entries whose reason starts with `kind`.
async fn flags(server: &TestServer, kind: &str) -> i64 {
    server
        .scalar(&format!(
            "SELECT COUNT(*) FROM sync_conflicts WHERE reason LIKE '{kind}:%' AND status = 'open'"
        ))
        .await
}

async fn batch(server: &TestServer, token: &str, device: &str, ops: Value) -> (u16, Value) {
    json(
        server
            .request(Method::POST, "/api/v1/sync/batch", token)
            .header("X-Device-ID", device)
            .json(&json!({"device_id": device, "operations": ops}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn op(key: &str, entity: &str, action: &str, data: Value) -> Value {
    json!({"idempotency_key": key, "entity": entity, "action": action, "data": data})
}

/// A synced sale of `quantity` of stock 1 at 5.00 each, no VAT.
fn sale(reference: &str, quantity: &str) -> Value {
    json!({"local_id": reference, "client_reference": reference, "payment_type_id": 1,
           "totalAmount": "10.00",
           "products": [{"line_no": 1, "stock_id": 1, "quantities": quantity, "price": "5.00", "vat_id": 1}]})
}

/// An online sale of 2 of stock 1 at 5.00: 10.00. Answers its id.
async fn sale_of_ten(server: &TestServer, token: &str) -> i64 {
    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/sales",
            token,
            Some(json!({"payment_type_id": 1, "totalAmount": "10.00",
                "products": [{"line_no": 1, "stock_id": 1, "quantities": 2, "price": "5.00", "vat_id": 1}]})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["data"]["id"].as_i64().unwrap()
}

fn a_return(sale_id: i64, quantity: u32, refund: &str) -> Value {
    json!({"sale_id": sale_id, "lines": [{"line_no": 1, "quantity": quantity}],
           "refund_method": "cash", "refund_amount": refund})
}

async fn online_returns_need_a_manager_and_never_refund_more_than_is_left(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let manager = server.sign_in(MANAGER).await;
    let sale_id = sale_of_ten(&server, &cashier).await;
    let post = |token: &str, body: Value| {
        let token = token.to_string();
        let server = &server;
        async move {
            server
                .call(Method::POST, "/api/v1/sales-return", &token, Some(body))
                .await
        }
    };

    let (status, body) = post(&cashier, a_return(sale_id, 1, "5.00")).await;
    assert_eq!(status, 403, "a cashier alone takes no return: {body}");

    let (status, body) = post(&manager, a_return(sale_id, 1, "99999")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["refund_amount"].is_array(), "{body}");

    let stranger = user_id(&server, OTHER_OWNER).await;
    let mut foreign = a_return(sale_id, 1, "5.00");
    foreign["authorised_by"] = json!(stranger);
    let (status, body) = post(&manager, foreign).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["authorised_by"].is_array(), "{body}");
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM sale_returns").await,
        0,
        "nothing of a refused return is written"
    );

    let (status, body) = post(&manager, a_return(sale_id, 1, "5.00")).await;
    assert_eq!(status, 201, "{body}");
    // 5.00 is left: a cent more is refused, the rest is fine.
    let (status, body) = post(&manager, a_return(sale_id, 1, "5.01")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["refund_amount"].is_array(), "{body}");
    let (status, body) = post(&manager, a_return(sale_id, 1, "5.00")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sale_returns").await, 2);
}

async fn synced_money_without_authority_is_kept_and_flagged(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let manager_id = user_id(&server, MANAGER).await;
    let cashier_id = user_id(&server, CASHIER).await;
    let stranger = user_id(&server, OTHER_OWNER).await;
    let sale_id = sale_of_ten(&server, &cashier).await;
    execute(
        &server,
        "UPDATE businesses SET max_cashier_discount_percent = 10",
    )
    .await;

    let discounted = |reference: &str, meta: Value| {
        json!({"local_id": reference, "client_reference": reference, "payment_type_id": 1,
               "totalAmount": "5.00", "cashier_id": cashier_id, "meta": meta,
               "products": [{"line_no": 1, "stock_id": 1, "quantities": 2, "price": "5.00",
                             "discount": "5.00", "vat_id": 1}]})
    };
    let (status, answer) = batch(
        &server,
        &cashier,
        "till-auth",
        json!([
            // A refund of 99,999 on a 10.00 sale, a return by the cashier alone and one
            // authorised by another business's owner: each was paid at the till.
            op("r-huge", "sale_return", "create", json!({"local_id": "r3", "sale_id": sale_id,
                "lines": [{"line_no": 1, "quantity": 1}], "refund_method": "cash", "refund_amount": "99999",
                "authorised_by": manager_id})),
            op("r-alone", "sale_return", "create", json!({"local_id": "r1", "sale_id": sale_id,
                "lines": [{"line_no": 1, "quantity": 1}], "refund_method": "cash", "refund_amount": "5.00"})),
            op("r-foreign", "sale_return", "create", json!({"local_id": "r2", "sale_id": sale_id,
                "lines": [{"line_no": 1, "quantity": 1}], "refund_method": "cash", "refund_amount": "5.00",
                "authorised_by": stranger})),
            op("shift", "shift", "open", json!({"local_id": "sh1", "opening_float": "50"})),
            op("out-alone", "cash_movement", "create", json!({"local_id": "m1", "shift_local_id": "sh1",
                "kind": "pay_out", "amount": "20", "reason": "window cleaner"})),
            op("out-ok", "cash_movement", "create", json!({"local_id": "m2", "shift_local_id": "sh1",
                "kind": "pay_out", "amount": "20", "reason": "milk", "authorised_by": manager_id})),
            op("in", "cash_movement", "create", json!({"local_id": "m3", "shift_local_id": "sh1",
                "kind": "pay_in", "amount": "5", "reason": "change"})),
            // Half off, rung by the cashier: over the 10% limit.
            op("disc-alone", "sale", "create", discounted("d1", json!({}))),
            op("disc-ok", "sale", "create", discounted("d2", json!({"discount_authorised_by": manager_id}))),
        ]),
    )
    .await;
    assert_eq!(status, 207, "the over-return is a conflict: {answer}");
    for result in answer["results"].as_array().unwrap() {
        assert!(
            result["status"] == "created" || result["status"] == "conflict",
            "{result}"
        );
    }
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM sync_conflicts WHERE reason = 'RETURN_EXCEEDS_SALE'")
            .await,
        1
    );
    // r-huge (its refund), r-alone (no authority, and nothing left to refund), r-foreign (a
    // stranger; it asks back more than was sold, so it is also the over-return conflict it
    // always was), out-alone, disc-alone.
    assert_eq!(flags(&server, "AUTHORISATION").await, 6, "{answer}");
    assert_eq!(
        server
            .scalar(&format!(
                "SELECT COUNT(*) FROM sale_returns WHERE authorised_by = {stranger}"
            ))
            .await,
        0,
        "another business's user is never stored"
    );
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM cash_movements WHERE authorised_by IS NOT NULL")
            .await,
        1
    );
}

async fn synced_user_ids_of_another_business_are_never_stored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let cashier_id = user_id(&server, CASHIER).await;
    let stranger = user_id(&server, OTHER_CASHIER).await;
    let mut foreign_sale = sale("fs-1", "1");
    foreign_sale["totalAmount"] = json!("5.00");
    foreign_sale["cashier_id"] = json!(stranger);
    let (status, answer) = batch(
        &server,
        &cashier,
        "till-users",
        json!([
            op("fs", "sale", "create", foreign_sale),
            op(
                "sh",
                "shift",
                "open",
                json!({"local_id": "sh9", "cashier_id": stranger})
            ),
        ]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(flags(&server, "AUTHORISATION").await, 2, "{answer}");
    assert_eq!(
        server
            .scalar(&format!(
                "SELECT COUNT(*) FROM sales WHERE user_id = {cashier_id} AND client_reference = 'fs-1'"
            ))
            .await,
        1,
        "the caller stands in for the stranger"
    );
    assert_eq!(
        server
            .scalar(&format!(
                "SELECT COUNT(*) FROM shifts WHERE user_id = {stranger}"
            ))
            .await,
        0
    );
}

async fn absurd_numbers_are_refused_and_the_good_sales_go_through(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let manager = server.sign_in(MANAGER).await;
    let mut huge = sale("huge-1", "1");
    huge["totalAmount"] = json!("50000000000000000000000000000");
    let mut huge_too = huge.clone();
    huge_too["client_reference"] = json!("huge-2");
    huge_too["local_id"] = json!("huge-2");
    let (status, answer) = batch(
        &server,
        &cashier,
        "till-num",
        json!([
            op("h1", "sale", "create", huge),
            op("h2", "sale", "create", huge_too),
            op("good-1", "sale", "create", sale("good-1", "2")),
            op(
                "max",
                "sale",
                "create",
                sale("max-1", "79228162514264337593543950335")
            ),
            op("milli", "sale", "create", sale("milli-1", "1.0005")),
            op("good-2", "sale", "create", sale("good-2", "2")),
        ]),
    )
    .await;
    assert_eq!(status, 207, "{answer}");
    let statuses: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["error", "error", "created", "error", "error", "created"],
        "{answer}"
    );
    for (i, field) in [
        (0, "totalAmount"),
        (3, "products[0].quantities"),
        (4, "products[0].quantities"),
    ] {
        let error = answer["results"][i]["error"].as_str().unwrap();
        assert!(error.starts_with(field), "{error}");
        assert_eq!(answer["results"][i]["error_code"], "VALIDATION_FAILED");
    }
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 2);
    let (status, stock) = server
        .call(Method::GET, "/api/v1/stocks/1", &manager, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        stock["data"]["productStock"].to_string(),
        "16",
        "20 - 2 - 2"
    );
    // The row is not poisoned: the next batch touching it works.
    let (status, answer) = batch(
        &server,
        &cashier,
        "till-num",
        json!([op("good-3", "sale", "create", sale("good-3", "2"))]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    for path in [
        "/api/v1/reports/sales",
        "/api/v1/reports/sales/summary",
        "/api/v1/summary",
        "/api/v1/dashboard",
    ] {
        let (status, body) = server.call(Method::GET, path, &manager, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    // Online: 1e18 × 1e12 is a 422 naming the field, not a 500.
    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/sales",
            &cashier,
            Some(json!({"payment_type_id": 1, "totalAmount": "1e30",
                "products": [{"line_no": 1, "stock_id": 1, "quantities": "1e12", "price": "1e18"}]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // A catalog price beyond the bound is refused too.
    let (_, stock) = server
        .call(Method::GET, "/api/v1/stocks/1", &manager, None)
        .await;
    let (status, body) = server
        .call(
            Method::PATCH,
            "/api/v1/stocks/1",
            &manager,
            Some(json!({"productSalePrice": "1e20", "version": stock["data"]["version"]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["productSalePrice"].is_array(), "{body}");
}

async fn another_business_cannot_move_a_tills_counter(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let other = server.sign_in(OTHER_CASHIER).await;
    let (status, body) = json(
        server
            .request(Method::POST, "/api/v1/sync/register", &other)
            .json(&json!({"device_id": "till-b", "device_name": "B's till"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut numbered = sale("b-1", "1");
    numbered["totalAmount"] = json!("5.00");
    numbered["offline_invoice_no"] = json!("OFF-B-999999");
    let (status, body) = batch(
        &server,
        &cashier,
        "till-b",
        json!([op("b-1", "sale", "create", numbered)]),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        server
            .scalar("SELECT last_offline_seq FROM sync_devices WHERE device_id = 'till-b'")
            .await,
        0
    );
    assert_eq!(server.scalar("SELECT COUNT(*) FROM sales").await, 0);
}

async fn facts_a_client_makes_up_are_refused_or_flagged(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let demo = server.seed.demo_business_id;
    let other_owner = server.sign_in(OTHER_OWNER).await;
    let (status, vat) = server
        .call(
            Method::POST,
            "/api/v1/vats",
            &other_owner,
            Some(json!({"name": "Their VAT", "rate": "5"})),
        )
        .await;
    assert_eq!(status, 201, "{vat}");
    let foreign_vat = vat["data"]["id"].as_i64().unwrap();
    execute(
        &server,
        &format!("UPDATE stocks SET product_sale_price = 1 WHERE id = 1 AND business_id = {demo}"),
    )
    .await;

    let mut wrong_due = sale("due-1", "1");
    wrong_due["totalAmount"] = json!("5.00");
    wrong_due["paidAmount"] = json!("5.00");
    wrong_due["party_id"] = json!(1);
    wrong_due["dueAmount"] = json!("1000000000");
    let mut foreign = sale("vat-1", "1");
    foreign["totalAmount"] = json!("5.00");
    foreign["products"][0]["vat_id"] = json!(foreign_vat);
    let mut long_phone = sale("phone-1", "1");
    long_phone["totalAmount"] = json!("5.00");
    long_phone["new_party"] = json!({"local_id": "p1", "name": "Long", "phone": "1".repeat(5000)});
    let mut ahead = sale("ahead-1", "1");
    ahead["totalAmount"] = json!("5.00");
    ahead["saleDate"] = json!((chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339());
    let mut cheap = sale("cheap-1", "1");
    cheap["totalAmount"] = json!("0.0001");
    cheap["products"][0]["price"] = json!("0.0001");
    let (status, answer) = batch(
        &server,
        &cashier,
        "till-facts",
        json!([
            op("due", "sale", "create", wrong_due),
            op("vat", "sale", "create", foreign),
            op("phone", "sale", "create", long_phone),
            op(
                "party",
                "party",
                "create",
                json!({"local_id": "p2", "name": "P", "address": "a".repeat(1001)})
            ),
            op("ahead", "sale", "create", ahead),
            op("cheap", "sale", "create", cheap),
        ]),
    )
    .await;
    assert_eq!(status, 207, "{answer}");
    let results = answer["results"].as_array().unwrap();
    for (i, field) in [
        (0, "dueAmount"),
        (1, "products[0].vat_id"),
        (2, "new_party.phone"),
        (3, "address"),
    ] {
        assert_eq!(results[i]["status"], "error", "{}", results[i]);
        assert!(
            results[i]["error"].as_str().unwrap().starts_with(field),
            "{}",
            results[i]
        );
    }
    assert_eq!(results[4]["status"], "created", "{}", results[4]);
    assert_eq!(results[5]["status"], "created", "{}", results[5]);
    assert_eq!(flags(&server, "IMPLAUSIBLE").await, 1);
    assert_eq!(flags(&server, "UNDERPRICED").await, 1);
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM parties WHERE name IN ('Long', 'P')")
            .await,
        0
    );
    assert_eq!(
        server
            .scalar("SELECT COUNT(*) FROM sales WHERE client_reference IN ('due-1', 'vat-1', 'phone-1')")
            .await,
        0,
        "nothing of a refused sale is written"
    );
}

async fn a_cashier_cannot_void_a_due_payment(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in(CASHIER).await;
    let owner = server.sign_in(OWNER).await;
    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/sales",
            &cashier,
            Some(json!({"party_id": 1, "payment_type_id": 3, "totalAmount": "5.00", "paidAmount": 0,
                "products": [{"line_no": 1, "stock_id": 1, "quantities": 1, "price": "5.00", "vat_id": 1}]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, paid) = server
        .call(
            Method::POST,
            "/api/v1/dues",
            &cashier,
            Some(json!({"party_id": 1, "payDueAmount": "2.00", "payment_type_id": 1})),
        )
        .await;
    assert_eq!(status, 201, "{paid}");
    let id = paid["data"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/dues/{id}");
    let (status, body) = server.call(Method::DELETE, &path, &cashier, None).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = server.call(Method::DELETE, &path, &owner, None).await;
    assert_eq!(status, 200, "{body}");
}

on_both_databases!(
    online_returns_need_a_manager_and_never_refund_more_than_is_left,
    synced_money_without_authority_is_kept_and_flagged,
    synced_user_ids_of_another_business_are_never_stored,
    absurd_numbers_are_refused_and_the_good_sales_go_through,
    another_business_cannot_move_a_tills_counter,
    facts_a_client_makes_up_are_refused_or_flagged,
    a_cashier_cannot_void_a_due_payment,
);
