//! The sync API over real HTTP on both databases: registration, the paged full download and
//! changes from its token, and (PostgreSQL) a change committed late is not skipped.

mod common;

use std::collections::BTreeSet;

use common::{json, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

async fn get(server: &TestServer, token: &str, path: &str) -> Value {
    let (status, body) = json(
        server
            .request(Method::GET, path, token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Pulls `changes` from `token` until `done` holds for the answers so far and nothing more is
/// waiting. PostgreSQL holds back changes of transactions younger than the oldest one still in
/// flight anywhere in the cluster (other tests run beside this one), so a change may take a
/// moment to appear; it is never skipped.
async fn pull_until(
    server: &TestServer,
    bearer: &str,
    token: &str,
    query: &str,
    done: impl Fn(&[Value]) -> bool,
) -> (Vec<Value>, String) {
    let mut answers = Vec::new();
    let mut token = token.to_string();
    for _ in 0..300 {
        let page = get(
            server,
            bearer,
            &format!("/api/v1/sync/changes?sync_token={token}{query}"),
        )
        .await;
        token = page["sync_token"].as_str().unwrap().to_string();
        let more = page["has_more"] == true;
        answers.push(page);
        if !more {
            if done(&answers) {
                return (answers, token);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    panic!("the expected changes never arrived: {answers:?}");
}

fn ids(list: &Value) -> BTreeSet<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.get("id").unwrap_or(v).as_i64().unwrap())
        .collect()
}

async fn a_device_registers_once_per_business(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let other = server.sign_in("cashier@other.test").await;
    let register = |token: &str, name: &str| {
        server
            .request(Method::POST, "/api/v1/sync/register", token)
            .json(&json!({"device_id": "till-01", "device_name": name, "os": "Windows 11", "app_version": "0.1.0"}))
            .send()
    };
    let (status, first) = json(register(&cashier, "Front till").await.unwrap()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["success"], true);
    assert_eq!(first["data"]["device_id"], "till-01");
    assert_eq!(first["data"]["last_offline_seq"], 0);
    let (status, again) = json(register(&cashier, "Front till (renamed)").await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        again["data"]["registered_at"], first["data"]["registered_at"],
        "kept"
    );
    let (status, body) = json(register(&other, "Stolen").await.unwrap()).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = json(
        server
            .request(Method::POST, "/api/v1/sync/register", &cashier)
            .json(&json!({"device_id": "bad id!", "device_name": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["device_id"].is_array());
}

async fn full_download_pages_then_changes_continue(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let manager = server.sign_in("manager@demo.test").await;
    let mut products = BTreeSet::new();
    let mut stocks = BTreeSet::new();
    let mut parties = BTreeSet::new();
    let mut tokens = BTreeSet::new();
    let mut settings = Vec::new();
    let mut path = "/api/v1/sync/full?page_size=8".to_string();
    let mut pages = 0;
    loop {
        let page = get(&server, &cashier, &path).await;
        pages += 1;
        tokens.insert(page["sync_token"].as_str().unwrap().to_string());
        products.extend(ids(&page["data"]["products"]));
        stocks.extend(ids(&page["data"]["stocks"]));
        parties.extend(ids(&page["data"]["parties"]));
        if !page["data"]["settings"].is_null() {
            settings.push(page["data"]["settings"].clone());
        }
        let records: usize = page["data"]
            .as_object()
            .unwrap()
            .iter()
            .filter_map(|(_, v)| v.as_array().map(Vec::len))
            .sum();
        assert!(records <= 8, "a page holds at most page_size records");
        if pages == 1 {
            // Written while the download is under way: `changes` from the token must bring it.
            let (status, _) = json(
                server
                    .request(Method::PATCH, "/api/v1/products/1", &manager)
                    .json(&json!({"version": 1, "productSalePrice": 4.4}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 200);
        }
        if page["has_more"] == false {
            assert!(page["next_cursor"].is_null());
            break;
        }
        let next = page["next_cursor"].as_str().unwrap();
        path = format!("/api/v1/sync/full?page_size=8&cursor={next}");
    }
    assert_eq!(products.len(), common::TEST_PRODUCTS);
    assert_eq!(stocks.len(), common::TEST_PRODUCTS);
    assert_eq!(parties.len(), 6);
    assert_eq!(tokens.len(), 1, "every page repeats the first page's token");
    assert_eq!(settings.len(), 1);
    assert_eq!(settings[0]["company_name"], "Demo Mart");
    assert_eq!(settings[0]["currency"]["minor_units"], 2);

    let token = tokens.into_iter().next().unwrap();
    let (answers, token) = pull_until(&server, &cashier, &token, "", |answers| {
        answers.iter().any(|a| {
            !a["data"]["products"]["updated"]
                .as_array()
                .unwrap()
                .is_empty()
        })
    })
    .await;
    let updated: Vec<&Value> = answers
        .iter()
        .flat_map(|a| a["data"]["products"]["updated"].as_array().unwrap())
        .collect();
    assert_eq!(updated.len(), 1, "{answers:?}");
    assert_eq!(updated[0]["id"], 1);
    assert_eq!(updated[0]["productSalePrice"], json!(4.4));
    let token = token.as_str();
    let quiet = get(
        &server,
        &cashier,
        &format!("/api/v1/sync/changes?sync_token={token}"),
    )
    .await;
    assert_eq!(quiet["total_records"], 0);
    assert_eq!(quiet["has_more"], false);
    assert_eq!(quiet["sync_token"], token, "nothing new keeps the cursor");
}

async fn changes_sort_created_updated_deleted_and_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let start = get(
        &server,
        &manager,
        "/api/v1/sync/full?entities=settings&page_size=1",
    )
    .await;
    let token = start["sync_token"].as_str().unwrap().to_string();

    let (status, created) = json(
        server
            .request(Method::POST, "/api/v1/categories", &manager)
            .json(&json!({"categoryName": "Frozen"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let category = created["data"]["id"].as_i64().unwrap();
    let (status, _) = json(
        server
            .request(Method::DELETE, "/api/v1/brands/2", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    for id in 1..=12 {
        let (status, _) = json(
            server
                .request(Method::PATCH, &format!("/api/v1/products/{id}"), &manager)
                .json(&json!({"version": 1, "alert_qty": 9}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
    }
    // Changed twice, reported once at its latest version.
    let (status, _) = json(
        server
            .request(Method::PATCH, "/api/v1/products/1", &manager)
            .json(&json!({"version": 2, "alert_qty": 11}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);

    // The token may sit before some of the seed rows (on PostgreSQL it stays below every
    // transaction still running anywhere in the cluster); those come again as `created`, which
    // a terminal takes as an upsert.
    let expected: Vec<(i64, i64)> = (1..=12)
        .map(|id| (id, if id == 1 { 3 } else { 2 }))
        .collect();
    let summarise = |answers: &[Value]| {
        let mut categories = BTreeSet::new();
        let mut deleted_brands = BTreeSet::new();
        let mut products = Vec::new();
        for page in answers {
            categories.extend(ids(&page["data"]["categories"]["created"]));
            deleted_brands.extend(ids(&page["data"]["brands"]["deleted"]));
            for product in page["data"]["products"]["updated"].as_array().unwrap() {
                products.push((
                    product["id"].as_i64().unwrap(),
                    product["version"].as_i64().unwrap(),
                ));
            }
        }
        products.sort();
        (categories, deleted_brands, products)
    };
    let (answers, _) = pull_until(&server, &manager, &token, "&page_size=5", |answers| {
        let (categories, deleted, products) = summarise(answers);
        categories.contains(&category) && deleted.contains(&2) && products == expected
    })
    .await;
    for page in &answers {
        assert!(page["total_records"].as_u64().unwrap() <= 5);
        for product in page["data"]["products"]["created"].as_array().unwrap() {
            assert_eq!(product["version"], 1, "only untouched rows come as created");
        }
    }
    let (categories, deleted_brands, products) = summarise(&answers);
    assert!(categories.contains(&category));
    assert_eq!(deleted_brands, BTreeSet::from([2]));
    assert_eq!(
        products, expected,
        "each changed product once, at its latest version"
    );
    assert!(
        answers.iter().filter(|a| a["total_records"] == 5).count() >= 2,
        "pages of 5"
    );

    // Old clients ask by time; they still get what changed.
    let since = start["server_timestamp"].as_str().unwrap();
    let mut by_time = Value::Null;
    for _ in 0..300 {
        by_time = get(
            &server,
            &manager,
            &format!("/api/v1/sync/changes?since={since}&entities=categories,brands"),
        )
        .await;
        if ids(&by_time["data"]["categories"]["created"]).contains(&category)
            && ids(&by_time["data"]["brands"]["deleted"]).contains(&2)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(ids(&by_time["data"]["categories"]["created"]).contains(&category));
    assert_eq!(
        ids(&by_time["data"]["brands"]["deleted"]),
        BTreeSet::from([2])
    );
    let (status, body) = json(
        server
            .request(
                Method::GET,
                "/api/v1/sync/changes?entities=products,gadgets",
                &manager,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["entities"].is_array());
    let (status, _) = json(
        server
            .request(
                Method::GET,
                "/api/v1/sync/changes?sync_token=garbage",
                &manager,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
}

/// Eight writers update products concurrently while a reader pulls `changes` in pages of
/// three; once the writers stop, the reader ends up with every product's final version.
async fn a_reader_keeps_up_with_concurrent_writers(backend: Backend) {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let start = get(&server, &manager, "/api/v1/sync/full?entities=settings").await;
    let mut token = start["sync_token"].as_str().unwrap().to_string();

    let writing = Arc::new(AtomicBool::new(true));
    let mut writers = Vec::new();
    for writer in 0..8_i64 {
        let client = server.client.clone();
        let base = server.base.clone();
        let bearer = manager.clone();
        writers.push(tokio::spawn(async move {
            for round in 0..12_i64 {
                let id = (writer + 3 * round) % common::TEST_PRODUCTS as i64 + 1;
                let response = client
                    .patch(format!("{base}/api/v1/products/{id}"))
                    .bearer_auth(&bearer)
                    .header("X-Force-Update", "true")
                    .json(&json!({"alert_qty": writer * 100 + round}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
        }));
    }
    let mut seen: BTreeMap<i64, i64> = BTreeMap::new();
    let absorb = |page: &Value, seen: &mut BTreeMap<i64, i64>| {
        for kind in ["created", "updated"] {
            for product in page["data"]["products"][kind].as_array().unwrap() {
                let version = product["version"].as_i64().unwrap();
                let entry = seen.entry(product["id"].as_i64().unwrap()).or_insert(0);
                assert!(version >= *entry, "versions never go back");
                *entry = version;
            }
        }
        page["sync_token"].as_str().unwrap().to_string()
    };
    let watcher = {
        let writing = writing.clone();
        tokio::spawn(async move {
            for writer in writers {
                writer.await.unwrap();
            }
            writing.store(false, Ordering::SeqCst);
        })
    };
    while writing.load(Ordering::SeqCst) {
        let page = get(
            &server,
            &manager,
            &format!("/api/v1/sync/changes?sync_token={token}&entities=products&page_size=3"),
        )
        .await;
        token = absorb(&page, &mut seen);
    }
    watcher.await.unwrap();

    let mut finals = BTreeMap::new();
    for id in 1..=common::TEST_PRODUCTS as i64 {
        let product = get(&server, &manager, &format!("/api/v1/products/{id}")).await;
        let version = product["data"]["version"].as_i64().unwrap();
        if version > 1 {
            finals.insert(id, version);
        }
    }
    assert_eq!(
        finals.values().map(|v| v - 1).sum::<i64>(),
        96,
        "8 writers x 12 updates"
    );
    for _ in 0..300 {
        let page = get(
            &server,
            &manager,
            &format!("/api/v1/sync/changes?sync_token={token}&entities=products&page_size=3"),
        )
        .await;
        token = absorb(&page, &mut seen);
        // Untouched products may come again as created (version 1); compare the changed ones.
        seen.retain(|_, version| *version > 1);
        if seen == finals {
            break;
        }
        if page["has_more"] == false {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    seen.retain(|_, version| *version > 1);
    assert_eq!(seen, finals, "the reader holds every final version");
}

on_both_databases!(
    a_reader_keeps_up_with_concurrent_writers,
    a_device_registers_once_per_business,
    full_download_pages_then_changes_continue,
    changes_sort_created_updated_deleted_and_page,
);

/// A writer holds its transaction open while a later one commits and a terminal pulls; the
/// first then commits. The next pull returns it. A plain sequence cursor (kept here only to
/// show the test bites) has already moved past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_change_committed_late_is_not_skipped() {
    use sqlx::Connection;
    let server = TestServer::start(Backend::Postgres).await;
    let manager = server.sign_in("manager@demo.test").await;
    let start = get(&server, &manager, "/api/v1/sync/full?entities=settings").await;
    let token = start["sync_token"].as_str().unwrap().to_string();

    let mut slow = sqlx::PgConnection::connect(&server.database_url)
        .await
        .unwrap();
    let mut slow_tx = slow.begin().await.unwrap();
    sqlx::query(
        "UPDATE products SET product_name = 'Slow writer', version = version + 1 WHERE id = 5",
    )
    .execute(&mut *slow_tx)
    .await
    .unwrap();
    let (status, _) = json(
        server
            .request(Method::PATCH, "/api/v1/products/6", &manager)
            .json(&json!({"version": 1, "productName": "Fast writer"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);

    let first = get(
        &server,
        &manager,
        &format!("/api/v1/sync/changes?sync_token={token}&entities=products"),
    )
    .await;
    let seen_first = ids(&first["data"]["products"]["updated"]);
    assert!(!seen_first.contains(&5), "not committed yet");
    let naive_cursor = server.scalar("SELECT MAX(change_seq) FROM products").await;

    slow_tx.commit().await.unwrap();
    let token = first["sync_token"].as_str().unwrap();
    let seen_later = |answers: &[Value]| -> BTreeSet<i64> {
        answers
            .iter()
            .flat_map(|a| ids(&a["data"]["products"]["updated"]))
            .collect()
    };
    let (answers, _) = pull_until(&server, &manager, token, "&entities=products", |answers| {
        let mut seen = seen_first.clone();
        seen.extend(seen_later(answers));
        seen.len() == 2
    })
    .await;
    let mut seen = seen_first.clone();
    seen.extend(seen_later(&answers));
    assert_eq!(seen, BTreeSet::from([5, 6]), "both writes arrive");

    let naive = server
        .scalar(&format!(
            "SELECT COUNT(*) FROM products WHERE id = 5 AND change_seq > {naive_cursor}"
        ))
        .await;
    assert_eq!(
        naive, 0,
        "a plain sequence cursor would have skipped the slow write"
    );
}
