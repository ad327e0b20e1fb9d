//! Hostile input, generated from a seed: malformed and extreme payloads at the sync batch
//! endpoint and at every REST write route of the server's OpenAPI document (so a resource added
//! later is covered). Every answer is below 500 and, when it is an error, a JSON body whose
//! `error` code and `message` name the problem; a refused request writes nothing (row counts
//! and the target record are unchanged), and a batch writes exactly the operations it reports
//! as created.
//!
//! Sizes: `POS_HOSTILE_CASES` (default 150 per target and database), `POS_HOSTILE_SEED`.

use pos_e2e::harness::{Api, Backend, Database, InProcessServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// Values nobody should send.
fn hostile_value(rng: &mut StdRng) -> Value {
    let deep = (0..200).fold(json!(1), |inner, _| json!([inner]));
    let candidates = [
        json!(null),
        json!(-1),
        json!(-0.001),
        json!(0),
        json!(1e300),
        serde_json::from_str::<Value>("1e400").unwrap_or(json!(0)),
        serde_json::from_str::<Value>("123456789012345678901234567890.123456789").unwrap(),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(0.1234567),
        json!("NaN"),
        json!("Infinity"),
        json!("-5"),
        json!("12abc"),
        json!(""),
        json!(" "),
        json!("'; DROP TABLE sales; --"),
        json!("1 OR 1=1"),
        json!("Robert'); DELETE FROM parties WHERE ('1'='1"),
        json!("\u{0000}nul inside"),
        json!("😀 emoji ✓ ünïcödé \u{202e}rtl"),
        json!("x".repeat(100_000)),
        json!(true),
        json!([]),
        json!({}),
        json!({"$gt": ""}),
        deep,
    ];
    candidates[rng.gen_range(0..candidates.len())].clone()
}

/// `valid` with a few fields replaced by hostile values, removed, or unknown ones added,
/// at any depth.
fn mutate(valid: &Value, rng: &mut StdRng) -> Value {
    let mut value = valid.clone();
    for _ in 0..rng.gen_range(1..=3) {
        mutate_once(&mut value, rng);
    }
    value
}

fn mutate_once(value: &mut Value, rng: &mut StdRng) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.gen_bool(0.8) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[rng.gen_range(0..keys.len())];
            match rng.gen_range(0..10) {
                0 => {
                    map.remove(key);
                }
                1 => {
                    map.insert(format!("unknown_{}", rng.gen::<u16>()), hostile_value(rng));
                }
                2..=4 => mutate_once(map.get_mut(key).unwrap(), rng),
                _ => {
                    map.insert(key.clone(), hostile_value(rng));
                }
            }
        }
        Value::Array(items) if !items.is_empty() && rng.gen_bool(0.8) => {
            let at = rng.gen_range(0..items.len());
            mutate_once(&mut items[at], rng);
        }
        other => *other = hostile_value(rng),
    }
}

/// Rows in the tables a write could touch.
async fn row_counts(db: &Database) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in [
        "sales",
        "sale_details",
        "parties",
        "due_collects",
        "products",
        "stocks",
        "categories",
        "brands",
        "units",
        "vats",
        "payment_types",
        "warehouses",
    ] {
        counts.push((
            table,
            db.scalar(&format!("SELECT COUNT(*) FROM {table}")).await,
        ));
    }
    counts
}

fn names_the_problem(body: &Value) -> bool {
    body["error"].as_str().is_some_and(|code| !code.is_empty())
        && body["message"]
            .as_str()
            .is_some_and(|text| !text.trim().is_empty())
}

fn valid_batch(stock_id: i64, payment_type_id: i64, party_id: i64) -> Value {
    let key = || uuid::Uuid::new_v4().to_string();
    json!({
        "client_timestamp": "2026-11-25T09:00:00.000Z",
        "operations": [
            {"idempotency_key": key(), "entity": "party", "action": "create",
             "offline_timestamp": "2026-11-25T09:00:00.000Z",
             "data": {"local_id": key(), "name": "Hostile Customer", "phone": "+15550001", "type": "Customer"}},
            {"idempotency_key": key(), "entity": "sale", "action": "create",
             "offline_timestamp": "2026-11-25T09:00:01.000Z",
             "data": {"local_id": key(), "client_reference": key(), "offline_invoice_no": "OFF-HOSTILE-1",
                      "totalAmount": 20, "paidAmount": 10, "dueAmount": 10, "change_amount": 0,
                      "isPaid": false, "discountAmount": 0, "vat_amount": 0, "vat_percent": 0,
                      "payment_type_id": payment_type_id, "party_id": party_id,
                      "saleDate": "2026-11-25T09:00:01.000Z",
                      "products": [{"line_no": 1, "stock_id": stock_id, "quantities": 2, "price": 10,
                                    "discount": 0, "vat_amount": 0}]}},
            {"idempotency_key": key(), "entity": "due_collection", "action": "create",
             "offline_timestamp": "2026-11-25T09:00:02.000Z",
             "data": {"local_id": key(), "party_id": party_id, "amount": 1,
                      "payment_type_id": payment_type_id, "note": "hostile"}}
        ]
    })
}

fn cases() -> usize {
    std::env::var("POS_HOSTILE_CASES")
        .map(|v| v.parse().expect("POS_HOSTILE_CASES must be a whole number"))
        .unwrap_or(150)
}

fn seed() -> u64 {
    std::env::var("POS_HOSTILE_SEED")
        .map(|v| v.parse().expect("POS_HOSTILE_SEED must be a whole number"))
        .unwrap_or_else(|_| rand::random())
}

async fn send_raw(api: &Api, path: &str, device: &str, body: Vec<u8>) -> (u16, Value) {
    let response = api
        .request(Method::POST, path)
        .header("X-Device-ID", device)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the server answers hostile input");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn batch_endpoint_survives_hostile_batches(backend: Backend) {
    let seed = seed();
    let replay = format!("replay with POS_HOSTILE_SEED={seed}");
    let db = Database::create(backend).await;
    let server = InProcessServer::start(&db.url).await;
    let api = Api::sign_in(&server.url(), "cashier@demo.test").await;
    let device = uuid::Uuid::new_v4().to_string();
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/sync/register",
            Some(&json!({"device_id": device, "device_name": "hostile", "os": "test", "app_version": "0.1.0"})),
        )
        .await;
    assert_eq!(status, 200, "register: {body}");
    let stock_id = api.list_all("/api/v1/stocks").await[0]["id"]
        .as_i64()
        .unwrap();
    let payment = api.list_all("/api/v1/payment-types").await[0]["id"]
        .as_i64()
        .unwrap();
    let party = api.list_all("/api/v1/parties").await[0]["id"]
        .as_i64()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);

    // Fixed extremes first, then random mutations of a valid batch.
    let too_many: Vec<Value> = (0..501)
        .map(|_| valid_batch(stock_id, payment, party)["operations"][0].clone())
        .collect();
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut bodies: Vec<(String, Vec<u8>)> = vec![
        ("501 operations".into(), serde_json::to_vec(&json!({"operations": too_many})).unwrap()),
        ("no operations".into(), br#"{"operations": []}"#.to_vec()),
        ("deep JSON".into(), format!(r#"{{"operations": {deep}}}"#).into_bytes()),
        ("invalid UTF-8".into(), b"{\"operations\": [\"\xff\xfe\xfd\"]}".to_vec()),
        ("not JSON".into(), b"operations=1".to_vec()),
        ("truncated JSON".into(), br#"{"operations": [{"entity": "sale""#.to_vec()),
        ("oversized body".into(), vec![b' '; 3 * 1024 * 1024]),
        ("unknown entity".into(), serde_json::to_vec(&json!({"operations": [{"idempotency_key": "k1", "entity": "spaceship", "action": "create", "data": {}}]})).unwrap()),
    ];
    for n in 0..cases() {
        let body = mutate(&valid_batch(stock_id, payment, party), &mut rng);
        bodies.push((
            format!("mutation {n}: {}", truncate(&body)),
            serde_json::to_vec(&body).unwrap(),
        ));
    }

    let (mut refused, mut partly) = (0, 0);
    for (label, body) in bodies {
        let before = row_counts(&db).await;
        let (status, answer) = send_raw(&api, "/api/v1/sync/batch", &device, body).await;
        let after = row_counts(&db).await;
        assert!(status < 500, "{label}: {status} {answer}; {replay}");
        if status >= 400 {
            refused += 1;
            assert!(
                names_the_problem(&answer),
                "{label}: {status} without a named problem: {answer}; {replay}"
            );
            assert_eq!(
                before, after,
                "{label}: refused with {status} but wrote rows; {replay}"
            );
            continue;
        }
        let results = answer["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{label}: no results: {answer}"));
        for result in results.iter().filter(|r| r["status"] == "error") {
            partly += 1;
            assert!(
                result["error_code"].as_str().is_some_and(|c| !c.is_empty())
                    && result["error"].as_str().is_some_and(|t| !t.is_empty()),
                "{label}: an error result must name the problem: {result}; {replay}"
            );
        }
        let delta = |table: &str| {
            let get = |counts: &[(&str, i64)]| counts.iter().find(|(t, _)| *t == table).unwrap().1;
            get(&after) - get(&before)
        };
        let created = results.iter().filter(|r| r["status"] == "created").count() as i64;
        assert_eq!(
            delta("sales") + delta("parties") + delta("due_collects"),
            created,
            "{label}: rows written differ from operations reported created: {answer}; {replay}"
        );
        for table in ["products", "stocks", "categories", "payment_types"] {
            assert_eq!(
                delta(table),
                0,
                "{label}: a batch created {table}; {replay}"
            );
        }
    }
    eprintln!(
        "hostile batches on {}: {} bodies, {refused} refused whole, {partly} operations refused \
         one by one; POS_HOSTILE_SEED={seed}",
        backend.name(),
        cases() + 8
    );
}

fn truncate(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 300 {
        format!(
            "{}…",
            &text[..text.char_indices().nth(300).map_or(text.len(), |(i, _)| i)]
        )
    } else {
        text
    }
}

/// Every documented POST collection route and PUT/PATCH item route of the REST resources.
async fn rest_resources_survive_hostile_bodies(backend: Backend) {
    let seed = seed();
    let replay = format!("replay with POS_HOSTILE_SEED={seed}");
    let db = Database::create(backend).await;
    let server = InProcessServer::start(&db.url).await;
    let api = Api::sign_in(&server.url(), "owner@demo.test").await;
    let document: Value = api.call(Method::GET, "/api/v1/openapi.json", None).await.1;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut targets = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        if path.starts_with("/api/v1/sync") || path.contains("sign") || path.contains("refresh") {
            continue;
        }
        for method in ["post", "put", "patch"] {
            if operations.get(method).is_some() {
                targets.push((
                    path.clone(),
                    method.to_uppercase().parse::<Method>().unwrap(),
                ));
            }
        }
    }
    assert!(
        targets.len() >= 10,
        "too few REST write routes: {targets:?}"
    );
    let per_target = (cases() / targets.len()).max(5);
    let (mut refused, mut accepted) = (0, 0);
    for (path, method) in &targets {
        let collection = path.find("/{").map_or(path.as_str(), |at| &path[..at]);
        let (status, listing) = api
            .call(Method::GET, &format!("{collection}?per_page=1"), None)
            .await;
        let Some(row) = listing["data"]
            .as_array()
            .and_then(|rows| rows.first())
            .cloned()
        else {
            assert!(status < 500, "GET {collection}: {status}");
            continue; // not a resource with rows (e.g. a resolve action): covered by the batch test
        };
        let id = row["id"].as_i64().unwrap();
        let concrete = path.replace("{id}", &id.to_string());
        let valid: Map<String, Value> = row
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| *k != "id" && !k.ends_with("_at") && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for _ in 0..per_target {
            let body = mutate(&Value::Object(valid.clone()), &mut rng);
            let before_counts = row_counts(&db).await;
            let before_row = api
                .call(Method::GET, &format!("{collection}/{id}"), None)
                .await
                .1["data"]
                .clone();
            let (status, answer) = api.call(method.clone(), &concrete, Some(&body)).await;
            assert!(
                status < 500,
                "{method} {concrete} {}: {status} {answer}; {replay}",
                truncate(&body)
            );
            if status >= 400 {
                refused += 1;
                assert!(
                    names_the_problem(&answer),
                    "{method} {concrete}: {status} without a named problem: {answer}; {replay}"
                );
                assert_eq!(
                    before_counts,
                    row_counts(&db).await,
                    "{method} {concrete}: refused but wrote rows; {replay}"
                );
                let after_row = api
                    .call(Method::GET, &format!("{collection}/{id}"), None)
                    .await
                    .1["data"]
                    .clone();
                assert_eq!(
                    before_row, after_row,
                    "{method} {concrete}: refused but changed the record; {replay}"
                );
            } else {
                accepted += 1;
            }
        }
    }
    eprintln!(
        "hostile REST bodies on {}: {} routes, {refused} refused, {accepted} accepted (valid after \
         mutation); POS_HOSTILE_SEED={seed}",
        backend.name(),
        targets.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_batches_on_sqlite() {
    batch_endpoint_survives_hostile_batches(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_batches_on_postgres() {
    batch_endpoint_survives_hostile_batches(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_rest_bodies_on_sqlite() {
    rest_resources_survive_hostile_bodies(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_rest_bodies_on_postgres() {
    rest_resources_survive_hostile_bodies(Backend::Postgres).await;
}
