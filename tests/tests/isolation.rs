//! Isolation, walked from the server's own OpenAPI document so that a route added later is
//! covered without editing this test:
//! - every route with a path parameter, called with business A's owner token and business B's
//!   ids, answers exactly what it answers for an id that does not exist (404), and B's data is
//!   unchanged afterwards;
//! - no list or sync answer given to A holds a row of B;
//! - every write route (POST, PUT, PATCH, DELETE), except a cashier's own work (selling,
//!   customers, due collection, sync, their own profile), refuses A's cashier with 403, whether
//!   it documents the 403 or not;
//! - every route that needs a token refuses a missing or revoked one with 401;
//! - a sync batch from A naming B's stock, party or payment type is refused and changes nothing;
//! - nothing answers 5xx.

use std::collections::BTreeMap;

use pos_e2e::harness::{Api, Backend, Database, InProcessServer};
use reqwest::Method;
use serde_json::{json, Value};

const MISSING_ID: &str = "987654321";
/// Reference data every business reads alike (ISO currencies): no business owns a row, so
/// each must see exactly what the other sees.
const SHARED_BY_ALL: &[&str] = &["/api/v1/currencies"];

struct Route {
    path: String,
    method: Method,
    operation: Value,
}

async fn routes(base: &str) -> Vec<Route> {
    let document: Value = reqwest::get(format!("{base}/api/v1/openapi.json"))
        .await
        .expect("GET /api/v1/openapi.json")
        .json()
        .await
        .expect("the OpenAPI document is JSON");
    let paths = document["paths"]
        .as_object()
        .expect("paths in the document");
    assert!(
        paths.len() >= 10,
        "suspiciously few routes documented: {paths:?}"
    );
    let mut routes = Vec::new();
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            routes.push(Route {
                path: path.clone(),
                method,
                operation: operation.clone(),
            });
        }
    }
    routes
}

/// Routes that end or replace the session the walk uses; they have their own tests.
fn ends_session(route: &Route) -> bool {
    route.path.ends_with("/sign-out") || route.path.ends_with("/refresh-token")
}

/// A cashier's job (`docs/ROLES.md`: sync, sales, parties, due collection; reads the catalog,
/// changes no price), and what anyone signed in does for themselves.
fn cashier_may(route: &Route) -> bool {
    let path = route.path.as_str();
    (path.starts_with("/api/v1/parties") && route.method != Method::DELETE)
        || (path.starts_with("/api/v1/sync/") && !path.starts_with("/api/v1/sync/conflicts"))
        // Ringing up a sale; voiding one (DELETE) is a manager's.
        || (path == "/api/v1/sales" && route.method == Method::POST)
        // Taking a customer's payment, and correcting it; voiding it is a manager's, and a
        // supplier's payment needs a manager (the 403 it documents, checked by reference_routes).
        || (path == "/api/v1/dues" && route.method == Method::POST)
        || (path == "/api/v1/dues/{id}" && route.method != Method::DELETE)
        // The next invoice number for a sale being rung up; look-ups sent as POST (which
        // batches a quantity would come from, which variant has these attributes).
        || path == "/api/v1/new-invoice"
        || path.ends_with("/select-batches")
        || path.ends_with("/variants/find")
        || path == "/api/v1/profile"
}

fn is_write(route: &Route) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&route.method)
}

fn needs_token(route: &Route) -> bool {
    route.operation["security"]
        .as_array()
        .is_some_and(|s| !s.is_empty())
}

fn collection_of(path: &str) -> Option<&str> {
    path.find("/{").map(|at| &path[..at])
}

/// True when `value` anywhere holds `"business_id": business`.
fn mentions_business(value: &Value, business: i64) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, v)| {
            (key == "business_id" && v.as_i64() == Some(business)) || mentions_business(v, business)
        }),
        Value::Array(items) => items.iter().any(|v| mentions_business(v, business)),
        _ => false,
    }
}

/// A copy of `row` fit to create in another business: no ids, versions, stamps or
/// references to the first business's rows.
fn copy_for_create(row: &Value, tag: &str) -> Value {
    let mut copy = row.as_object().cloned().unwrap_or_default();
    copy.retain(|key, value| {
        !(key == "id"
            || key.ends_with("_id")
            || key == "version"
            || key.ends_with("_at")
            || value.is_null())
    });
    for (key, value) in copy.iter_mut() {
        if let Value::String(text) = value {
            if key.contains("name")
                || key.contains("Name")
                || key.contains("Code")
                || key == "barcode"
            {
                *text = format!("{text} {tag}");
            }
        }
    }
    Value::Object(copy)
}

/// B's data as B sees it: every list route's rows.
async fn snapshot(api: &Api, lists: &[String]) -> BTreeMap<String, Vec<Value>> {
    let mut data = BTreeMap::new();
    for path in lists {
        data.insert(path.clone(), api.list_all(path).await);
    }
    data
}

fn error_code(body: &Value) -> Value {
    body["error"].clone()
}

/// A sale of B's first stock row, far beyond its stock: gives B a stock discrepancy row.
/// Also an update of B's party from a stale version: gives B a sync conflict.
async fn sell_in_business_b(api: &Api, stock_id: i64, payment_type_id: i64, party_id: i64) {
    let device = uuid::Uuid::new_v4().to_string();
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/sync/register",
            Some(&json!({"device_id": device, "device_name": "B till", "os": "test", "app_version": "0.1.0"})),
        )
        .await;
    assert_eq!(status, 200, "register B's till: {body}");
    let batch = json!({
        "device_id": device,
        "operations": [{
            "idempotency_key": uuid::Uuid::new_v4().to_string(),
            "entity": "sale", "action": "create",
            "offline_timestamp": "2026-11-25T09:00:00.000Z",
            "data": {
                "local_id": uuid::Uuid::new_v4().to_string(),
                "client_reference": uuid::Uuid::new_v4().to_string(),
                "totalAmount": 10000, "paidAmount": 10000, "payment_type_id": payment_type_id,
                "products": [{"line_no": 1, "stock_id": stock_id, "quantities": 1000, "price": 10}]
            }
        }, {
            "idempotency_key": uuid::Uuid::new_v4().to_string(),
            "entity": "party", "action": "update",
            "offline_timestamp": "2026-11-25T09:00:00.000Z",
            "data": {"id": party_id, "version": 1, "name": "stale edit at B's till"}
        }]
    });
    let response = api
        .request(Method::POST, "/api/v1/sync/batch")
        .header("X-Device-ID", &device)
        .json(&batch)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status == 200 || status == 207, "B's sale: {status} {body}");
    assert_eq!(body["results"][0]["status"], "created", "B's sale: {body}");
    assert_eq!(
        body["results"][1]["status"], "conflict",
        "B's stale edit: {body}"
    );
}

async fn nothing_of_another_business_is_reachable(backend: Backend) {
    let db = Database::create(backend).await;
    let server = InProcessServer::start(&db.url).await;
    let base = server.url();
    let a_owner = Api::sign_in(&base, "owner@demo.test").await;
    let a_cashier = Api::sign_in(&base, "cashier@demo.test").await;
    let b_owner = Api::sign_in(&base, "owner@other.test").await;
    let routes = routes(&base).await;
    let b = db.other_business_id;

    // List routes: documented GETs without path parameters that answer a page of rows.
    let mut lists = Vec::new();
    for route in routes
        .iter()
        .filter(|r| r.method == Method::GET && !r.path.contains('{') && !ends_session(r))
    {
        let (status, body) = b_owner.call(Method::GET, &route.path, None).await;
        if status == 200 && body["data"].is_array() && body["pagination"].is_object() {
            lists.push(route.path.clone());
        }
    }
    assert!(lists.len() >= 5, "too few list routes found: {lists:?}");

    // Give B at least one row everywhere A has one (copies of A's rows), and a discrepancy.
    for path in &lists {
        if !b_owner.list_all(path).await.is_empty() {
            continue;
        }
        let can_create = routes
            .iter()
            .any(|r| r.path == *path && r.method == Method::POST);
        if let (true, Some(row)) = (can_create, a_owner.list_all(path).await.first()) {
            let (status, body) = b_owner
                .call(Method::POST, path, Some(&copy_for_create(row, "(B)")))
                .await;
            assert!(
                status == 201 || status == 200,
                "create a row of B at {path}: {status} {body}"
            );
        }
    }
    let b_stock = b_owner.list_all("/api/v1/stocks").await[0]["id"]
        .as_i64()
        .unwrap();
    let b_payment = b_owner.list_all("/api/v1/payment-types").await[0]["id"]
        .as_i64()
        .unwrap();
    let b_party = b_owner.list_all("/api/v1/parties").await[0]["id"]
        .as_i64()
        .expect("B has a party (copied from A's)");
    // Bring the party to version 2 so that a till's edit of version 1 is stale.
    let (status, answer) = b_owner
        .call(
            Method::PATCH,
            &format!("/api/v1/parties/{b_party}"),
            Some(&json!({"version": 1, "address": "edited online"})),
        )
        .await;
    assert_eq!(status, 200, "edit B's party: {answer}");
    sell_in_business_b(&b_owner, b_stock, b_payment, b_party).await;
    let before = snapshot(&b_owner, &lists).await;

    // Every route with a path parameter, with A's token and B's ids.
    let mut walked = 0;
    let mut without_b_record = Vec::new();
    for route in routes
        .iter()
        .filter(|r| r.path.contains('{') && needs_token(r))
    {
        let collection = collection_of(&route.path).unwrap();
        if SHARED_BY_ALL.contains(&collection) {
            let (_, rows) = b_owner.call(Method::GET, collection, None).await;
            let id = rows["data"][0]["id"]
                .as_i64()
                .expect("a shared row")
                .to_string();
            let path = route.path.replace("{id}", &id);
            let (a_status, a_answer) = a_owner.call(route.method.clone(), &path, None).await;
            let (b_status, b_answer) = b_owner.call(route.method.clone(), &path, None).await;
            assert_eq!(
                (a_status, &a_answer["data"]),
                (b_status, &b_answer["data"]),
                "{} {path} is shared reference data: alike for every business",
                route.method
            );
            walked += 1;
            continue;
        }
        // Lists without paging (e.g. open conflicts) are read as they come.
        let unpaged = || async {
            let (_, answer) = b_owner.call(Method::GET, collection, None).await;
            answer["data"]
                .as_array()
                .and_then(|rows| rows.first())
                .cloned()
        };
        let b_row = match before.get(collection).and_then(|rows| rows.first()) {
            Some(row) => row.clone(),
            None if unpaged().await.is_some() => unpaged().await.unwrap(),
            None if route.path.ends_with("/{code}") => {
                // Look-up by barcode: B's product.
                before["/api/v1/products"][0].clone()
            }
            None => {
                // The other business has no such record (e.g. no open conflict): the route
                // still must not fail on a foreign or missing id.
                let missing = route.path.replace("{id}", MISSING_ID);
                let (status, answer) = a_owner
                    .call(route.method.clone(), &missing, Some(&json!({})))
                    .await;
                assert!(
                    status == 404 || status == 422,
                    "{} {missing}: {status} {answer}",
                    route.method
                );
                without_b_record.push(format!("{} {}", route.method, route.path));
                continue;
            }
        };
        let b_value = if route.path.ends_with("/{code}") {
            b_row["barcode"]
                .as_str()
                .expect("B's product has a barcode")
                .to_string()
        } else {
            b_row["id"].as_i64().expect("B's row has an id").to_string()
        };
        let concrete = route
            .path
            .replace("{id}", &b_value)
            .replace("{code}", &b_value);
        let missing = route
            .path
            .replace("{id}", MISSING_ID)
            .replace("{code}", "0000000000000");
        let body = match route.method {
            Method::GET | Method::DELETE => None,
            _ => {
                let mut body = b_row.clone();
                if let Some(map) = body.as_object_mut() {
                    map.insert("resolution".into(), json!("manual"));
                    map.insert("note".into(), json!("from business A"));
                }
                Some(body)
            }
        };
        let (status, answer) = a_owner
            .call(route.method.clone(), &concrete, body.as_ref())
            .await;
        let (missing_status, missing_answer) = a_owner
            .call(route.method.clone(), &missing, body.as_ref())
            .await;
        assert!(
            status < 500,
            "{} {concrete}: {status} {answer}",
            route.method
        );
        // A body the route refuses before looking the record up (422) is refused the same
        // way for a missing id; any other answer must be the 404 of a missing id.
        assert!(
            status == 404 || (status == 422 && body.is_some()),
            "{} {concrete} with another business's id must be 404: {status} {answer}",
            route.method
        );
        assert_eq!(
            (status, error_code(&answer)),
            (missing_status, error_code(&missing_answer)),
            "{} {concrete}: another business's id must look exactly like a missing one",
            route.method
        );
        assert!(
            !mentions_business(&answer, b),
            "{} {concrete} leaked B's data: {answer}",
            route.method
        );
        walked += 1;
    }
    assert!(walked >= 10, "only {walked} routes with ids walked");

    // Lists and sync answers given to A hold nothing of B.
    for route in routes
        .iter()
        .filter(|r| r.method == Method::GET && !r.path.contains('{') && needs_token(r))
    {
        if ends_session(route) {
            continue;
        }
        let (status, answer) = a_owner.call(Method::GET, &route.path, None).await;
        assert!(status < 500, "GET {}: {status} {answer}", route.path);
        assert!(
            !mentions_business(&answer, b),
            "GET {} leaked B's rows: {answer}",
            route.path
        );
    }

    // A sync batch from A naming B's stock and payment type is refused and changes nothing.
    let device = uuid::Uuid::new_v4().to_string();
    let (status, _) = a_owner
        .call(
            Method::POST,
            "/api/v1/sync/register",
            Some(&json!({"device_id": device, "device_name": "A till", "os": "test", "app_version": "0.1.0"})),
        )
        .await;
    assert_eq!(status, 200);
    let b_party = before
        .get("/api/v1/parties")
        .and_then(|rows| rows.first())
        .and_then(|row| row["id"].as_i64());
    let mut operations = vec![json!({
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "entity": "sale", "action": "create",
        "data": {
            "local_id": uuid::Uuid::new_v4().to_string(),
            "client_reference": uuid::Uuid::new_v4().to_string(),
            "totalAmount": 10, "paidAmount": 10, "payment_type_id": b_payment,
            "products": [{"line_no": 1, "stock_id": b_stock, "quantities": 1, "price": 10}]
        }
    })];
    if let Some(party) = b_party {
        operations.push(json!({
            "idempotency_key": uuid::Uuid::new_v4().to_string(),
            "entity": "due_collection", "action": "create",
            "data": {"local_id": uuid::Uuid::new_v4().to_string(), "party_id": party, "amount": 1}
        }));
        operations.push(json!({
            "idempotency_key": uuid::Uuid::new_v4().to_string(),
            "entity": "party", "action": "update",
            "data": {"id": party, "version": 1, "name": "taken over by A"}
        }));
    }
    let response = a_owner
        .request(Method::POST, "/api/v1/sync/batch")
        .header("X-Device-ID", &device)
        .json(&json!({"device_id": device, "operations": operations}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status < 500, "batch naming B's ids: {status} {answer}");
    for result in answer["results"].as_array().expect("batch results") {
        assert!(
            result["status"] == "error",
            "an operation naming B's ids must be refused: {result}"
        );
    }
    assert!(
        !mentions_business(&answer, b),
        "the batch answer leaked B's data: {answer}"
    );

    // B's data is exactly as before.
    let after = snapshot(&b_owner, &lists).await;
    for (path, rows) in &before {
        assert_eq!(
            rows, &after[path],
            "B's rows at {path} changed while A walked the routes"
        );
    }

    // A's cashier is refused every write route but the cashier's own work, on A's own records,
    // whether or not the route documents its 403.
    let mut manager_routes = 0;
    let mut served_to_cashier = Vec::new();
    for route in routes
        .iter()
        .filter(|r| is_write(r) && needs_token(r) && !ends_session(r) && !cashier_may(r))
    {
        // The role is checked before the record is looked up; A's own record when it has one.
        let collection = collection_of(&route.path).unwrap_or(&route.path);
        let (_, listing) = a_owner.call(Method::GET, collection, None).await;
        let row = listing["data"]
            .as_array()
            .and_then(|rows| rows.first())
            .cloned()
            .unwrap_or(json!({"id": MISSING_ID.parse::<i64>().unwrap()}));
        let concrete = route.path.replace("{id}", &row["id"].to_string());
        let mut body = copy_for_create(&row, "(cashier)");
        body["resolution"] = json!("manual");
        body["note"] = json!("cashier tries");
        let (status, answer) = a_cashier
            .call(route.method.clone(), &concrete, Some(&body))
            .await;
        if status != 403 {
            served_to_cashier.push(format!("{} {concrete}: {status} {answer}", route.method));
        }
        manager_routes += 1;
    }
    assert!(
        served_to_cashier.is_empty(),
        "a cashier was not refused with 403 at:\n{}",
        served_to_cashier.join("\n")
    );
    assert!(
        manager_routes >= 40,
        "only {manager_routes} write routes are a manager's: the walk lost its routes"
    );

    // Every route that needs a token refuses a missing and a revoked one.
    let revoked = Api::sign_in(&base, "owner@demo.test").await;
    let (status, _) = revoked.call(Method::GET, "/api/v1/sign-out", None).await;
    assert_eq!(status, 200, "sign-out");
    let client = reqwest::Client::new();
    for route in routes.iter().filter(|r| needs_token(r)) {
        let concrete = route.path.replace("{id}", "1").replace("{code}", "1");
        let url = format!("{base}{concrete}");
        let anonymous = client
            .request(route.method.clone(), &url)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            anonymous.status(),
            401,
            "{} {concrete} without a token",
            route.method
        );
        let with_revoked = revoked
            .request(route.method.clone(), &concrete)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            with_revoked.status(),
            401,
            "{} {concrete} with a revoked token",
            route.method
        );
    }
    eprintln!(
        "isolation on {}: {} routes documented, {walked} walked with the other business's ids, \
         {} lists checked, {manager_routes} manager routes refused to a cashier; only tried with a \
         missing id (the other business has no such record): {without_b_record:?}",
        backend.name(),
        routes.len(),
        lists.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_of_another_business_is_reachable_on_sqlite() {
    nothing_of_another_business_is_reachable(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_of_another_business_is_reachable_on_postgres() {
    nothing_of_another_business_is_reachable(Backend::Postgres).await;
}
