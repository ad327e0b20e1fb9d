//! The catalog and auth API over real HTTP, each test on SQLite and on PostgreSQL.

mod common;

use common::{json, Backend, TestServer};
use pos_server::resources::spec;
use reqwest::Method;
use serde_json::{json, Value};

const PRODUCTS: &str = "/api/v1/products";

fn new_product(name: &str) -> Value {
    json!({"productName": name, "productSalePrice": 2.5, "productPurchasePrice": "1.75", "barcode": "4006381333931"})
}

async fn live_products(server: &TestServer, business_id: i64) -> u64 {
    server
        .store
        .list_records(&spec::PRODUCTS, business_id, 0, 1)
        .await
        .unwrap()
        .1
}

async fn wrong_password_is_401(backend: Backend) {
    let server = TestServer::start(backend).await;
    for (email, password) in [
        ("owner@demo.test", "not-the-password"),
        ("nobody@demo.test", "demo-pass-1"),
    ] {
        let (status, body) = json(
            server
                .client
                .post(server.url("/api/v1/sign-in"))
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{email}");
        assert_eq!(body["error"], "unauthenticated");
        assert_eq!(body["success"], false);
    }
    let (status, body) = json(
        server
            .client
            .post(server.url("/api/v1/sign-in"))
            .json(&json!({"email": "Manager@Demo.test", "password": "demo-pass-1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["user"]["role"], "manager");
    assert_eq!(body["data"]["currency"]["code"], "USD");
    assert!(body["data"]["token"].as_str().unwrap().len() >= 40);

    let (status, _) = json(
        server
            .client
            .get(server.url(PRODUCTS))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "no token");
    let (status, _) = json(
        server
            .request(Method::GET, PRODUCTS, "forged")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "unknown token");
}

async fn cashier_reads_the_catalog_but_cannot_change_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (status, body) = json(
        server
            .request(Method::GET, PRODUCTS, &cashier)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let first_id = body["data"][0]["id"].as_i64().unwrap();

    let (status, body) = json(
        server
            .request(Method::POST, PRODUCTS, &cashier)
            .json(&new_product("Forbidden Fruit"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "forbidden");
    for (method, path) in [
        (Method::PATCH, format!("{PRODUCTS}/{first_id}")),
        (Method::DELETE, format!("{PRODUCTS}/{first_id}")),
        (Method::POST, "/api/v1/categories".to_string()),
        (Method::POST, "/api/v1/vats".to_string()),
    ] {
        let (status, _) = json(
            server
                .request(method.clone(), &path, &cashier)
                .json(&json!({"version": 1, "productSalePrice": 0.01, "name": "x", "categoryName": "x", "rate": 1}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 403, "{method} {path}");
    }
    assert_eq!(
        live_products(&server, server.seed.demo_business_id).await,
        common::TEST_PRODUCTS as u64
    );

    // Parties are a cashier's job.
    let (status, body) = json(
        server
            .request(Method::POST, "/api/v1/parties", &cashier)
            .json(
                &json!({"name": "Walk-in Wendy", "phone": "555-0199", "opening_balance": "12.50"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["type"], "Customer");
    assert_eq!(body["data"]["due"], json!(12.5));
}

async fn manager_creates_and_updates_a_product(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let (status, body) = json(
        server
            .request(Method::POST, PRODUCTS, &manager)
            .json(&json!({"productName": "Olive Oil 1L", "productSalePrice": "7.10", "productCode": "OIL-1",
                          "category_id": 1, "vat_type": "Inclusive", "unknown_extra": [1, 2]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let product = &body["data"];
    assert_eq!(product["version"], 1);
    assert_eq!(product["productSalePrice"], json!(7.1));
    assert_eq!(product["vat_type"], "inclusive");
    assert_eq!(product["productStock"], json!(0));
    let id = product["id"].as_i64().unwrap();

    let (status, body) = json(
        server
            .request(Method::PATCH, &format!("{PRODUCTS}/{id}"), &manager)
            .json(&json!({"version": 1, "productSalePrice": 7.25}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["version"], 2);
    assert_eq!(body["data"]["productSalePrice"], json!(7.25));
    assert_eq!(
        body["data"]["productName"], "Olive Oil 1L",
        "PATCH leaves other fields"
    );

    let (status, body) = json(
        server
            .request(Method::PUT, &format!("{PRODUCTS}/{id}"), &manager)
            .header("X-Entity-Version", "2")
            .json(&json!({"productName": "Olive Oil 1 L"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["version"], 3);
    assert_eq!(body["data"]["productSalePrice"], json!(7.25));

    let (status, body) = json(
        server
            .request(Method::GET, "/api/v1/products/by-barcode/OIL-1", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "by product code");
    assert_eq!(body["data"]["id"], id);
    let barcode = pos_server::seed::ean13(3);
    let (status, body) = json(
        server
            .request(
                Method::GET,
                &format!("/api/v1/products/by-barcode/{barcode}"),
                &manager,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "by barcode");
    assert_eq!(body["data"]["barcode"], barcode.as_str());
}

async fn stale_version_is_409_with_server_data(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let path = format!("{PRODUCTS}/1");
    let (status, _) = json(
        server
            .request(Method::PATCH, &path, &manager)
            .json(&json!({"version": 1, "productSalePrice": 9.99}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);

    let (status, body) = json(
        server
            .request(Method::PATCH, &path, &manager)
            .json(&json!({"version": 1, "productSalePrice": 1.11}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "version_conflict");
    assert_eq!(body["conflict"]["entity_type"], "product");
    assert_eq!(body["conflict"]["entity_id"], 1);
    assert_eq!(body["conflict"]["client_version"], 1);
    assert_eq!(body["conflict"]["server_version"], 2);
    assert_eq!(
        body["conflict"]["server_data"]["productSalePrice"],
        json!(9.99)
    );
    assert!(body["resolution_options"]["force_update"].is_string());

    let (status, body) = json(
        server
            .request(Method::PATCH, &path, &manager)
            .json(&json!({"productSalePrice": 1.11}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "neither version nor force");
    assert!(body["errors"]["version"].is_array());

    let (status, _) = json(
        server
            .request(Method::PATCH, "/api/v1/parties/1", &cashier)
            .header("X-Force-Update", "true")
            .json(&json!({"name": "Forced"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403, "a cashier may not force");

    let (status, body) = json(
        server
            .request(Method::PATCH, &path, &manager)
            .header("X-Force-Update", "true")
            .json(&json!({"productSalePrice": 1.11}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["version"], 3);
    assert_eq!(body["data"]["productSalePrice"], json!(1.11));
}

async fn replayed_post_answers_the_same_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let business = server.seed.demo_business_id;
    let before = live_products(&server, business).await;
    let send = |body: Value| {
        server
            .request(Method::POST, PRODUCTS, &manager)
            .header("X-Idempotency-Key", "create-olive-oil_1")
            .json(&body)
            .send()
    };
    let first = send(new_product("Olive Oil")).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("x-idempotency-replayed").is_none());
    let (_, first_body) = json(first).await;

    let second = send(new_product("Olive Oil")).await.unwrap();
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["x-idempotency-replayed"], "true");
    let (_, second_body) = json(second).await;
    assert_eq!(second_body["data"], first_body["data"]);
    assert_eq!(second_body["message"], first_body["message"]);
    assert_eq!(
        live_products(&server, business).await,
        before + 1,
        "one row"
    );

    let (status, body) = json(send(new_product("Something Else")).await.unwrap()).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "idempotency_key_reused");
    assert_eq!(live_products(&server, business).await, before + 1);

    let (status, body) = json(
        server
            .request(Method::POST, PRODUCTS, &manager)
            .header("X-Idempotency-Key", "has spaces")
            .json(&new_product("Bad Key"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["X-Idempotency-Key"].is_array());
}

async fn same_key_in_another_business_is_its_own(backend: Backend) {
    let server = TestServer::start(backend).await;
    let demo = server.sign_in("manager@demo.test").await;
    let other = server.sign_in("owner@other.test").await;
    let mut ids = Vec::new();
    for (token, name) in [(&demo, "Demo Tea"), (&other, "Other Tea")] {
        let response = server
            .request(Method::POST, PRODUCTS, token)
            .header("X-Idempotency-Key", "shared-key")
            .json(&new_product(name))
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get("x-idempotency-replayed").is_none(),
            "{name}"
        );
        let (status, body) = json(response).await;
        assert_eq!(status, 201);
        assert_eq!(body["data"]["productName"], name);
        ids.push((
            body["data"]["business_id"].as_i64().unwrap(),
            body["data"]["id"].as_i64().unwrap(),
        ));
    }
    assert_eq!(ids[0].0, server.seed.demo_business_id);
    assert_eq!(ids[1].0, server.seed.other_business_id);
    assert_ne!(ids[0].1, ids[1].1);
}

async fn another_business_is_invisible(backend: Backend) {
    let server = TestServer::start(backend).await;
    let other = server.sign_in("owner@other.test").await;
    let demo_product = format!("{PRODUCTS}/1");
    let (status, missing) = json(
        server
            .request(Method::GET, "/api/v1/products/999999", &other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    for (method, body) in [
        (Method::GET, None),
        (
            Method::PATCH,
            Some(json!({"version": 1, "productName": "Mine now"})),
        ),
        (Method::DELETE, None),
    ] {
        let mut request = server.request(method.clone(), &demo_product, &other);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body) = json(request.send().await.unwrap()).await;
        assert_eq!(status, 404, "{method}");
        assert_eq!(body["error"], missing["error"]);
        assert_eq!(body["message"], missing["message"]);
    }
    let (status, body) = json(
        server
            .request(Method::GET, PRODUCTS, &other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["pagination"]["total"], 2);
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["business_id"] == server.seed.other_business_id));
    let demo_barcode = pos_server::seed::ean13(1);
    let (status, _) = json(
        server
            .request(
                Method::GET,
                &format!("/api/v1/products/by-barcode/{demo_barcode}"),
                &other,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    // Naming the demo business's category from the other business is an unknown id.
    let (status, body) = json(
        server
            .request(Method::POST, PRODUCTS, &other)
            .json(&json!({"productName": "Borrowed", "category_id": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["category_id"].is_array(), "{body}");
}

async fn bad_input_is_422_naming_the_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let (status, body) = json(
        server
            .request(Method::POST, PRODUCTS, &manager)
            .header("content-type", "application/json")
            .body("{\"productName\": \"Half")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "validation_failed");
    assert!(body["errors"]["body"].is_array(), "{body}");

    let (status, body) = json(
        server
            .request(Method::POST, PRODUCTS, &manager)
            .json(&json!({"productName": 42, "productSalePrice": "cheap", "alert_qty": -1, "vat_type": "sometimes"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    for field in ["productName", "productSalePrice", "alert_qty", "vat_type"] {
        assert!(body["errors"][field].is_array(), "{field} in {body}");
    }
    let (status, body) = json(
        server
            .request(Method::POST, PRODUCTS, &manager)
            .json(&json!({"productSalePrice": 1.2345, "productName": "x".repeat(300)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body["errors"]["productSalePrice"].is_array(),
        "too many decimals: {body}"
    );
    assert!(body["errors"]["productName"].is_array(), "too long: {body}");

    // An integer the wire type cannot carry back is refused, and nothing is written.
    let brands_before = json(
        server
            .request(Method::GET, "/api/v1/brands", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await
    .1["pagination"]["total"]
        .clone();
    let (status, body) = json(
        server
            .request(Method::POST, "/api/v1/brands", &manager)
            .json(&json!({"brandName": "Huge", "status": 9_223_372_036_854_775_807_i64}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["status"].is_array(), "{body}");
    let brands_after = json(
        server
            .request(Method::GET, "/api/v1/brands", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await
    .1["pagination"]["total"]
        .clone();
    assert_eq!(brands_before, brands_after);

    let (status, body) = json(
        server
            .client
            .post(server.url("/api/v1/sign-in"))
            .json(&json!({"email": 7, "password": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["errors"]["email"].is_array(), "{body}");

    let (status, body) = json(
        server
            .request(Method::GET, "/api/v1/products/abc", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = json(
        server
            .request(Method::GET, "/api/v1/products?page=first", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    let (status, body) = json(
        server
            .request(Method::GET, "/api/v1/no-such-thing", &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
}

async fn lists_are_paginated(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let mut seen = Vec::new();
    for page in 1..=5 {
        let (status, body) = json(
            server
                .request(
                    Method::GET,
                    &format!("{PRODUCTS}?page={page}&per_page=7"),
                    &cashier,
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        let pagination = &body["pagination"];
        assert_eq!(pagination["current_page"], page);
        assert_eq!(pagination["per_page"], 7);
        assert_eq!(pagination["total"], common::TEST_PRODUCTS);
        assert_eq!(pagination["last_page"], 5);
        seen.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap()),
        );
    }
    assert_eq!(seen.len(), common::TEST_PRODUCTS);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen, "pages neither overlap nor skip");
    let (_, body) = json(
        server
            .request(Method::GET, "/api/v1/products?per_page=50000", &cashier)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["pagination"]["per_page"], 1000, "page size is capped");
}

async fn soft_delete_hides_and_bumps_the_version(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let business = server.seed.demo_business_id;
    let before = live_products(&server, business).await;
    let path = format!("{PRODUCTS}/2");
    let (status, body) = json(
        server
            .request(Method::DELETE, &path, &manager)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["version"], 2);
    assert!(body["data"]["deleted_at"].is_string());
    assert_eq!(live_products(&server, business).await, before - 1);
    let stored = server
        .store
        .get_record(&spec::PRODUCTS, business, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored["version"], 2, "the tombstone stays for sync");
    for method in [Method::GET, Method::DELETE] {
        let (status, _) = json(
            server
                .request(method.clone(), &path, &manager)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 404, "{method} after delete");
    }
    let (status, _) = json(
        server
            .request(Method::PATCH, &path, &manager)
            .json(&json!({"version": 2, "productName": "Back"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    // A delete naming an old version is a conflict, like an update.
    let (status, _) = json(
        server
            .request(Method::DELETE, &format!("{PRODUCTS}/3"), &manager)
            .header("X-Entity-Version", "7")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
}

async fn refresh_keeps_the_old_token_for_the_grace_period(backend: Backend) {
    let server = TestServer::start(backend).await;
    let old = server.sign_in("cashier@demo.test").await;
    let mut current = old.clone();
    for method in [Method::GET, Method::POST] {
        let (status, body) = json(
            server
                .request(method, "/api/v1/refresh-token", &current)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let new = body["token"].as_str().unwrap().to_string();
        assert_eq!(body["data"]["token"], new);
        assert!(body["data"]["expires_at"].is_string());
        assert_ne!(new, current);
        current = new;
        let new = current.as_str();
        let (status, _) = json(
            server
                .request(Method::GET, PRODUCTS, new)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "the new token works");
    }
    let (status, _) = json(
        server
            .request(Method::GET, PRODUCTS, &old)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status, 200,
        "the old token still works within the grace period"
    );

    let strict =
        TestServer::start_with(backend, |s| s.refresh_grace = chrono::Duration::zero()).await;
    let old = strict.sign_in("cashier@demo.test").await;
    let (status, body) = json(
        strict
            .request(Method::GET, "/api/v1/refresh-token", &old)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let new = body["token"].as_str().unwrap();
    let (status, _) = json(
        strict
            .request(Method::GET, PRODUCTS, &old)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "without grace the old token ends at once");
    let (status, _) = json(
        strict
            .request(Method::GET, PRODUCTS, new)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
}

async fn sign_out_revokes_the_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.sign_in("owner@demo.test").await;
    let other_session = server.sign_in("owner@demo.test").await;
    let (status, _) = json(
        server
            .request(Method::GET, "/api/v1/sign-out", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = json(
        server
            .request(Method::GET, PRODUCTS, &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthenticated");
    let (status, _) = json(
        server
            .request(Method::GET, PRODUCTS, &other_session)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "only the presented token is revoked");
}

on_both_databases!(
    wrong_password_is_401,
    cashier_reads_the_catalog_but_cannot_change_it,
    manager_creates_and_updates_a_product,
    stale_version_is_409_with_server_data,
    replayed_post_answers_the_same_once,
    same_key_in_another_business_is_its_own,
    another_business_is_invisible,
    bad_input_is_422_naming_the_field,
    lists_are_paginated,
    soft_delete_hides_and_bumps_the_version,
    refresh_keeps_the_old_token_for_the_grace_period,
    sign_out_revokes_the_token,
);
