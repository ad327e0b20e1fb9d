//! The back office over real HTTP, each test on SQLite and on PostgreSQL: staff and the
//! owner lock-out rules, the profile, business settings reaching terminals through sync,
//! invoice numbers, variants, batches and the dashboard.

mod common;

use common::{json, Backend, TestServer, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

const USERS: &str = "/api/v1/users";

async fn user_id(server: &TestServer, token: &str, email: &str) -> (i64, i64) {
    let (status, body) = server.call(Method::GET, USERS, token, None).await;
    assert_eq!(status, 200, "{body}");
    let row = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("{email} in {body}"))
        .clone();
    (
        row["id"].as_i64().unwrap(),
        row["version"].as_i64().unwrap(),
    )
}

async fn sign_in_with(server: &TestServer, email: &str, password: &str) -> (u16, Value) {
    json(
        server
            .client
            .post(server.url("/api/v1/sign-in"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn the_last_owner_cannot_be_locked_out(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    let (owner_id, version) = user_id(&server, &owner, "owner@demo.test").await;
    let item = format!("{USERS}/{owner_id}");

    for (body, field) in [
        (json!({"version": version, "role": "manager"}), "role"),
        (json!({"version": version, "is_active": false}), "is_active"),
    ] {
        let (status, answer) = server.call(Method::PATCH, &item, &owner, Some(body)).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"], "validation_failed");
        assert!(answer["errors"][field].is_array(), "{answer}");
    }
    let (status, answer) = server.call(Method::DELETE, &item, &owner, None).await;
    assert_eq!(status, 422, "delete of the last owner: {answer}");
    let (status, answer) = server.call(Method::GET, &item, &owner, None).await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"]["role"], "owner");
    assert_eq!(answer["data"]["is_active"], true);
    assert_eq!(answer["data"]["version"], version, "nothing was written");

    // With a second owner, the first may step down; then the second is the last one.
    let (status, created) = server.call(Method::POST,
        USERS,
        &owner,
        Some(json!({"name": "Second Owner", "email": "Owner2@Demo.test", "password": "second-pass-1", "role": "owner"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["email"], "owner2@demo.test");
    assert!(created["data"].get("password_hash").is_none());
    let second = created["data"]["id"].as_i64().unwrap();
    let (status, answer) = server
        .call(
            Method::PUT,
            &item,
            &owner,
            Some(json!({"version": version, "role": "manager"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["role"], "manager");
    assert_eq!(answer["data"]["version"], version + 1);
    let second_token = sign_in_with(&server, "owner2@demo.test", "second-pass-1")
        .await
        .1["data"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, answer) = server
        .call(
            Method::DELETE,
            &format!("{USERS}/{second}"),
            &second_token,
            None,
        )
        .await;
    assert_eq!(status, 422, "the new last owner deleting itself: {answer}");
    assert_eq!(
        server
            .scalar(&format!(
                "SELECT COUNT(*) FROM offline_audit_logs WHERE entity = 'user' AND entity_id = {owner_id}"
            ))
            .await,
        1,
        "the demotion is audited, the refusals are not"
    );
}

async fn roles_decide_who_manages_staff(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    let manager = server.sign_in("manager@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (owner_id, owner_version) = user_id(&server, &owner, "owner@demo.test").await;

    for (method, path) in [
        (Method::GET, USERS.to_string()),
        (Method::POST, USERS.to_string()),
        (Method::GET, format!("{USERS}/{owner_id}")),
        (Method::DELETE, format!("{USERS}/{owner_id}")),
    ] {
        let (status, answer) = server
            .call(method.clone(), &path, &cashier, Some(json!({"name": "x"})))
            .await;
        assert_eq!(status, 403, "cashier at {method} {path}: {answer}");
        assert_eq!(answer["error"], "forbidden");
    }

    // A manager may not touch an owner nor make one.
    let (status, _) = server
        .call(
            Method::PATCH,
            &format!("{USERS}/{owner_id}"),
            &manager,
            Some(json!({"version": owner_version, "name": "Renamed by manager"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = server.call(Method::POST,
        USERS,
        &manager,
        Some(json!({"name": "Sneaky", "email": "sneaky@demo.test", "password": "sneaky-pass", "role": "owner"})),
    )
    .await;
    assert_eq!(status, 403);

    // A manager adds a cashier (the default role), who can sign in; a taken email is a 422.
    let new_cashier =
        json!({"name": "New Cashier", "email": "new.cashier@demo.test", "password": "till-pass-1"});
    let (status, created) = server
        .call(Method::POST, USERS, &manager, Some(new_cashier.clone()))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["role"], "cashier");
    assert_eq!(created["data"]["version"], 1);
    let (status, answer) = server
        .call(Method::POST, USERS, &manager, Some(new_cashier))
        .await;
    assert_eq!(status, 422);
    assert!(answer["errors"]["email"].is_array(), "{answer}");
    let (status, answer) = server
        .call(
            Method::POST,
            USERS,
            &manager,
            Some(json!({"name": "", "email": "not-an-email", "password": "short", "role": "boss"})),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["errors"]["role"].is_array(), "{answer}");

    let id = created["data"]["id"].as_i64().unwrap();
    let (status, signed_in) = sign_in_with(&server, "new.cashier@demo.test", "till-pass-1").await;
    assert_eq!(status, 200);
    let till_token = signed_in["data"]["token"].as_str().unwrap().to_string();
    let (status, _) = server
        .call(Method::GET, "/api/v1/products", &till_token, None)
        .await;
    assert_eq!(status, 200);

    // An update needs a version; a stale one is a 409 with the server's record.
    let item = format!("{USERS}/{id}");
    let (status, _) = server
        .call(
            Method::PATCH,
            &item,
            &manager,
            Some(json!({"name": "No version"})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, answer) = server
        .call(
            Method::PATCH,
            &item,
            &manager,
            Some(json!({"version": 7, "name": "Stale"})),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(answer["conflict"]["server_data"]["name"], "New Cashier");

    // Revoking the user revokes the tokens it holds.
    let (status, answer) = server
        .call(
            Method::PATCH,
            &item,
            &manager,
            Some(json!({"version": 1, "is_active": false})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["is_active"], false);
    let (status, _) = server
        .call(Method::GET, "/api/v1/products", &till_token, None)
        .await;
    assert_eq!(status, 401, "a deactivated user's token");
    let revoked = server
        .scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE user_id = {id} AND revoked_at IS NOT NULL"
        ))
        .await;
    assert_eq!(revoked, 1);
    let (status, _) = sign_in_with(&server, "new.cashier@demo.test", "till-pass-1").await;
    assert_eq!(status, 401);

    // Removed users leave the list; the other business's users are never in it.
    let (status, _) = server.call(Method::DELETE, &item, &manager, None).await;
    assert_eq!(status, 200);
    let (_, list) = server.call(Method::GET, USERS, &owner, None).await;
    let emails: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["owner@demo.test", "manager@demo.test", "cashier@demo.test"]
    );
    assert_eq!(list["pagination"]["total"], 3);
    let other = server.sign_in("owner@other.test").await;
    let (status, _) = server.call(Method::GET, &item, &other, None).await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call(
            Method::PATCH,
            &format!("{USERS}/{owner_id}"),
            &other,
            Some(json!({"version": owner_version, "name": "Taken over"})),
        )
        .await;
    assert_eq!(status, 404, "another business's user looks missing");
}

async fn profile_password_change_keeps_only_this_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let here = server.sign_in("manager@demo.test").await;
    let elsewhere = server.sign_in("manager@demo.test").await;

    let (status, me) = server
        .call(Method::GET, "/api/v1/profile", &here, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["email"], "manager@demo.test");
    assert_eq!(me["data"]["role"], "manager");

    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/profile",
            &here,
            Some(json!({"password": "brand-new-pass", "current_password": "wrong"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(answer["errors"]["current_password"].is_array(), "{answer}");
    let (status, answer) = server.call(Method::PUT,
        "/api/v1/profile",
        &here,
        Some(json!({"name": "Max M.", "password": "brand-new-pass", "current_password": PASSWORD, "role": "owner"})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["name"], "Max M.");
    assert_eq!(
        answer["data"]["role"], "manager",
        "a profile cannot raise a role"
    );

    let (status, _) = server
        .call(Method::GET, "/api/v1/profile", &here, None)
        .await;
    assert_eq!(status, 200, "the session that changed the password goes on");
    let (status, _) = server
        .call(Method::GET, "/api/v1/profile", &elsewhere, None)
        .await;
    assert_eq!(status, 401, "every other session must sign in again");
    assert_eq!(
        sign_in_with(&server, "manager@demo.test", PASSWORD).await.0,
        401
    );
    assert_eq!(
        sign_in_with(&server, "manager@demo.test", "brand-new-pass")
            .await
            .0,
        200
    );
    // A new name alone needs no password.
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/profile",
            &here,
            Some(json!({"name": "Max"})),
        )
        .await;
    assert_eq!(status, 200);
}

async fn settings_change_reaches_terminals_through_sync(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    let manager = server.sign_in("manager@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;

    let (status, full) = server
        .call(
            Method::GET,
            "/api/v1/sync/full?entities=settings",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 200, "{full}");
    let token = full["sync_token"].as_str().unwrap().to_string();
    let changes = format!("/api/v1/sync/changes?entities=settings&sync_token={token}");
    let (_, before) = server.call(Method::GET, &changes, &cashier, None).await;
    assert!(before["data"]["settings"].is_null(), "{before}");

    let (status, settings) = server
        .call(Method::GET, "/api/v1/business-settings", &cashier, None)
        .await;
    assert_eq!(status, 200);
    let version = settings["data"]["version"].as_i64().unwrap();
    let change = json!({"version": version, "company_name": "Demo Mart Central",
        "currency": {"code": "EUR", "symbol": "€", "minor_units": 2},
        "vat_inclusive": true, "max_cashier_discount_percent": 12.5});
    let (status, _) = server
        .call(
            Method::PUT,
            "/api/v1/business-settings",
            &manager,
            Some(change.clone()),
        )
        .await;
    assert_eq!(status, 403, "settings are the owner's");
    let (status, answer) = server
        .call(
            Method::PATCH,
            "/api/v1/business-settings",
            &owner,
            Some(json!({"version": version, "currency_code": "eur", "timezone": "Mars Base"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        answer["errors"]["currency_code"].is_array() && answer["errors"]["timezone"].is_array(),
        "{answer}"
    );
    let (status, answer) = server
        .call(
            Method::PUT,
            "/api/v1/business-settings",
            &owner,
            Some(change.clone()),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["company_name"], "Demo Mart Central");
    assert_eq!(answer["data"]["currency"]["code"], "EUR");
    assert_eq!(answer["data"]["max_cashier_discount_percent"], 12.5);
    assert_eq!(answer["data"]["version"], version + 1);
    let (status, _) = server
        .call(
            Method::PUT,
            "/api/v1/business-settings",
            &owner,
            Some(change),
        )
        .await;
    assert_eq!(
        status, 409,
        "the same change again is based on a stale version"
    );

    // PostgreSQL holds back changes younger than the oldest transaction in flight anywhere in
    // the cluster (other tests run beside this one): follow the cursor until they arrive.
    let mut token = token;
    let mut delivered = Value::Null;
    for _ in 0..300 {
        let (status, page) = server
            .call(
                Method::GET,
                &format!("/api/v1/sync/changes?entities=settings&sync_token={token}"),
                &cashier,
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        token = page["sync_token"].as_str().unwrap().to_string();
        if !page["data"]["settings"].is_null() {
            delivered = page["data"]["settings"].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        delivered["company_name"], "Demo Mart Central",
        "{delivered}"
    );
    assert_eq!(delivered["currency"]["symbol"], "€");
    assert_eq!(delivered["vat_inclusive"], true);
    assert_eq!(delivered["version"], version + 1);

    // The business profile and invoice settings bump the same version and are read back.
    let (status, business) = server
        .call(Method::GET, "/api/v1/business", &cashier, None)
        .await;
    assert_eq!(status, 200);
    let id = business["data"]["id"].as_i64().unwrap();
    assert_eq!(business["data"]["companyName"], "Demo Mart Central");
    let (status, answer) = server
        .call(
            Method::PUT,
            &format!("/api/v1/business/{id}"),
            &owner,
            Some(
                json!({"version": version + 1, "address": "1 Main St", "phoneNumber": "+15550100",
                    "business_category_id": 1, "shopOpeningBalance": 100.25}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    for key in [
        "companyName",
        "phoneNumber",
        "shopOpeningBalance",
        "business_category_id",
        "vat_no",
        "invoice_size",
    ] {
        assert!(answer["data"].get(key).is_some(), "{key} in {answer}");
    }
    assert_eq!(answer["data"]["shopOpeningBalance"], 100.25);
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/invoice-settings/update",
            &owner,
            Some(json!({"invoice_size": "3_inch_80mm"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["invoice_size"], "3_inch_80mm");
    let (_, answer) = server
        .call(Method::GET, "/api/v1/invoice-settings", &cashier, None)
        .await;
    assert_eq!(answer["data"]["invoice_size"], "3_inch_80mm");
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/invoice-settings/update",
            &owner,
            Some(json!({"invoice_size": "poster"})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = server
        .call(
            Method::PUT,
            &format!("/api/v1/business/{}", server.seed.other_business_id),
            &owner,
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(status, 404, "another business looks missing");
}

async fn next_invoice_number_is_a_preview(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let path = "/api/v1/new-invoice?platform=sales";
    let (status, first) = server.call(Method::GET, path, &cashier, None).await;
    assert_eq!(status, 200, "{first}");
    let (_, second) = server.call(Method::GET, path, &cashier, None).await;
    assert_eq!(
        first["data"]["invoice_number"],
        second["data"]["invoice_number"]
    );
    assert!(first["data"]["invoice_number"]
        .as_str()
        .unwrap()
        .ends_with("000001"));
    let (status, answer) = server
        .call(
            Method::GET,
            "/api/v1/new-invoice?platform=spaceships",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(answer["errors"]["platform"].is_array());

    let (_, currencies) = server
        .call(Method::GET, "/api/v1/currencies", &cashier, None)
        .await;
    assert!(currencies["data"].as_array().unwrap().len() > 10);
    let (_, categories) = server
        .call(Method::GET, "/api/v1/business-categories", &cashier, None)
        .await;
    assert_eq!(categories["data"][0]["id"], 1);
}

async fn variants_belong_to_their_product(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (_, products) = server
        .call(Method::GET, "/api/v1/products", &manager, None)
        .await;
    let product = products["data"][2]["id"].as_i64().unwrap();
    let path = format!("/api/v1/products/{product}/variants");
    let (status, _) = server
        .call(Method::POST, &path, &cashier, Some(json!({"sku": "X"})))
        .await;
    assert_eq!(status, 403);
    let (status, created) = server.call(Method::POST,
        &path,
        &manager,
        Some(json!({"sku": "TEE-RED-M", "barcode": "2100000000019", "price": 12.99, "product_id": 999999})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let variant = &created["data"];
    for key in [
        "id",
        "business_id",
        "product_id",
        "sku",
        "barcode",
        "price",
        "cost_price",
        "wholesale_price",
        "dealer_price",
        "weight",
        "image",
        "is_active",
        "sort_order",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
    ] {
        assert!(variant.get(key).is_some(), "{key} in {variant}");
    }
    assert_eq!(variant["product_id"], product, "the path names the product");
    assert_eq!(variant["price"], 12.99);
    assert_eq!(variant["is_active"], true);
    let id = variant["id"].as_i64().unwrap();
    let (_, list) = server.call(Method::GET, &path, &cashier, None).await;
    assert_eq!(list["pagination"]["total"], 1);
    let (status, found) = server
        .call(
            Method::GET,
            "/api/v1/variants/by-barcode/2100000000019",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["data"]["id"], id);
    let (status, toggled) = server
        .call(
            Method::PATCH,
            &format!("/api/v1/variants/{id}/toggle-active"),
            &manager,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(toggled["data"]["is_active"], false);
    assert_eq!(toggled["data"]["version"], 2);
    let other = server.sign_in("owner@other.test").await;
    let (status, _) = server.call(Method::GET, &path, &other, None).await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call(Method::GET, &format!("/api/v1/variants/{id}"), &other, None)
        .await;
    assert_eq!(status, 404);
}

async fn batches_by_expiry(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (_, products) = server
        .call(Method::GET, "/api/v1/products", &manager, None)
        .await;
    let product = products["data"][1]["id"].as_i64().unwrap();
    let today = chrono::Utc::now().date_naive();
    let day = |offset: i64| {
        (today + chrono::Duration::days(offset))
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut ids = Vec::new();
    for (batch, offset, quantity) in [
        ("OLD", -3, 5),
        ("SOON", 10, 4),
        ("LATER", 90, 6),
        ("EMPTY-OLD", -1, 0),
    ] {
        let (status, stock) = server.call(Method::POST,
            "/api/v1/stocks",
            &manager,
            Some(json!({"product_id": product, "batch_no": batch, "productStock": quantity,
                        "productPurchasePrice": 1.5, "expire_date": day(offset), "mfg_date": day(-200)})),
        )
        .await;
        assert_eq!(status, 201, "{stock}");
        ids.push(stock["data"]["id"].as_i64().unwrap());
    }

    let (status, expired) = server
        .call(Method::GET, "/api/v1/batches/expired", &cashier, None)
        .await;
    assert_eq!(status, 200);
    let names = |body: &Value| -> Vec<String> {
        body["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["batch_no"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(names(&expired), ["OLD"], "{expired}");
    assert_eq!(expired["count"], 1);
    let old = &expired["batches"][0];
    assert_eq!(old["is_expired"], true);
    assert_eq!(old["days_until_expiry"], -3);
    assert_eq!(old["quantity"], 5);
    assert_eq!(old["product"]["id"], product);
    for key in [
        "id",
        "batch_no",
        "quantity",
        "mfg_date",
        "expire_date",
        "is_expired",
        "is_expiring_soon",
        "days_until_expiry",
        "warehouse",
        "product",
        "variant",
    ] {
        assert!(old.get(key).is_some(), "{key} in {old}");
    }

    let (_, soon) = server
        .call(Method::GET, "/api/v1/batches/expiring", &cashier, None)
        .await;
    assert_eq!(names(&soon), ["SOON"], "{soon}");
    assert_eq!(soon["days"], 30);
    let (_, year) = server
        .call(
            Method::GET,
            "/api/v1/batches/expiring?days=365",
            &cashier,
            None,
        )
        .await;
    assert_eq!(names(&year), ["SOON", "LATER"]);
    let (status, _) = server
        .call(
            Method::GET,
            "/api/v1/batches/expiring?days=-4",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 422);

    // First expiry first, expired batches left aside.
    let (status, picked) = server
        .call(
            Method::POST,
            &format!("/api/v1/products/{product}/select-batches"),
            &cashier,
            Some(json!({"quantity": 7})),
        )
        .await;
    assert_eq!(status, 200, "{picked}");
    assert_eq!(picked["strategy"], "fefo");
    assert_eq!(picked["fulfilled"], true);
    let taken: Vec<(String, Value)> = picked["selected_batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["batch_no"].as_str().unwrap().to_string(),
                b["take_quantity"].clone(),
            )
        })
        .collect();
    assert_eq!(
        taken,
        [
            ("SOON".to_string(), json!(4)),
            ("LATER".to_string(), json!(3))
        ]
    );

    let (status, detail) = server
        .call(
            Method::GET,
            &format!("/api/v1/batches/{}", ids[1]),
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["batch"]["is_expiring_soon"], true);
    assert_eq!(detail["movement_summary"]["total_movements"], 0);
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/batches/{}/movements", ids[1]),
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 200);

    let other = server.sign_in("owner@other.test").await;
    let (_, theirs) = server
        .call(Method::GET, "/api/v1/batches/expired", &other, None)
        .await;
    assert_eq!(
        theirs["count"], 0,
        "another business's batches are not listed"
    );
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/batches/{}", ids[0]),
            &other,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/products/{product}/batches"),
            &other,
            None,
        )
        .await;
    assert_eq!(status, 404);
}

async fn dashboard_figures(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (status, _) = server
        .call(Method::GET, "/api/v1/dashboard", &cashier, None)
        .await;
    assert_eq!(status, 403);
    let (status, board) = server
        .call(Method::GET, "/api/v1/dashboard", &manager, None)
        .await;
    assert_eq!(status, 200, "{board}");
    for key in [
        "total_expense",
        "total_income",
        "total_items",
        "total_categories",
        "stock_value",
        "total_due",
        "total_profit",
        "total_loss",
        "sales",
        "purchases",
        "today_sales",
        "low_stock_count",
    ] {
        assert!(board["data"].get(key).is_some(), "{key} in {board}");
    }
    assert_eq!(board["data"]["total_items"], common::TEST_PRODUCTS);
    assert_eq!(board["data"]["sales"].as_array().unwrap().len(), 7);
    let (status, summary) = server
        .call(Method::GET, "/api/v1/summary", &manager, None)
        .await;
    assert_eq!(status, 200);
    for key in ["sales", "income", "expense", "purchase"] {
        assert!(summary["data"][key].is_number(), "{key} in {summary}");
    }
    let (status, answer) = server
        .call(
            Method::GET,
            "/api/v1/invoices?party_id=987654",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(answer["errors"]["party_id"].is_array());
}

async fn till_pins_are_hashed_and_reach_terminals_of_their_business_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    let manager = server.sign_in("manager@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (full_status, full) = server
        .call(
            Method::GET,
            "/api/v1/sync/full?entities=cashiers",
            &cashier,
            None,
        )
        .await;
    assert_eq!(full_status, 200, "{full}");
    let token = full["sync_token"].as_str().unwrap().to_string();
    let staff = full["data"]["cashiers"].as_array().unwrap();
    assert_eq!(staff.len(), 3, "the business's three people: {full}");
    assert!(staff.iter().all(|u| u["pin_hash"].is_null()
        && u.get("email").is_none()
        && u.get("password_hash").is_none()));

    let (manager_id, version) = user_id(&server, &owner, "manager@demo.test").await;
    let item = format!("{USERS}/{manager_id}");
    for bad in ["123", "1357", "1234567890123", "12 4", "١٢٣٤٥٦"] {
        let (status, answer) = server
            .call(
                Method::PATCH,
                &item,
                &owner,
                Some(json!({"version": version, "pin": bad})),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {answer}");
        assert!(answer["errors"]["pin"].is_array(), "{answer}");
    }
    let (status, answer) = server
        .call(
            Method::PATCH,
            &item,
            &owner,
            Some(json!({"version": version, "pin": "135790"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["has_pin"], true);
    assert!(!answer.to_string().contains("135790") && !answer.to_string().contains("argon2"));
    // Only an owner touches an owner, PIN included; the same PIN twice is not refused (an
    // answer "taken" would tell another person's PIN).
    let (owner_id, owner_version) = user_id(&server, &owner, "owner@demo.test").await;
    let (status, _) = server
        .call(
            Method::PATCH,
            &format!("{USERS}/{owner_id}"),
            &manager,
            Some(json!({"version": owner_version, "pin": "246800"})),
        )
        .await;
    assert_eq!(status, 403);
    let (cashier_id, cashier_version) = user_id(&server, &owner, "cashier@demo.test").await;
    let (status, answer) = server
        .call(
            Method::PATCH,
            &format!("{USERS}/{cashier_id}"),
            &manager,
            Some(json!({"version": cashier_version, "pin": "135790"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = server
        .call(
            Method::PATCH,
            &format!("{USERS}/{cashier_id}"),
            &manager,
            Some(json!({"version": cashier_version + 1, "pin": "024680"})),
        )
        .await;
    assert_eq!(status, 200);

    // Terminals get the changes (never a PIN, nor its hash: see security_pin.rs for the
    // sealed verifiers of a registered till) through changes, with the roles. On
    // PostgreSQL a change shows once every transaction older than it has ended, other tests'
    // on the same cluster included, so both updates may take a moment to appear.
    let mut changes = Value::Null;
    for _ in 0..100 {
        let (status, answer) = server
            .call(
                Method::GET,
                &format!("/api/v1/sync/changes?entities=cashiers&sync_token={token}"),
                &cashier,
                None,
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        changes = answer;
        if changes["data"]["cashiers"]["updated"]
            .as_array()
            .is_some_and(|rows| rows.len() >= 2)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let updated = changes["data"]["cashiers"]["updated"].as_array().unwrap();
    let mut seen: Vec<(i64, String)> = updated
        .iter()
        .map(|u| {
            assert!(
                u.get("pin_hash").is_none() && u["pin_sealed"].is_null(),
                "{u}"
            );
            (
                u["id"].as_i64().unwrap(),
                u["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (manager_id, "manager".to_string()),
        (cashier_id, "cashier".to_string()),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    assert!(!changes.to_string().contains("135790") && !changes.to_string().contains("argon2"));

    // Another business sees none of these people.
    let other = server.sign_in("owner@other.test").await;
    let (status, theirs) = server
        .call(
            Method::GET,
            "/api/v1/sync/full?entities=cashiers",
            &other,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let theirs = theirs["data"]["cashiers"].as_array().unwrap();
    assert!(!theirs.is_empty());
    assert!(theirs
        .iter()
        .all(|u| u["id"] != manager_id && u["id"] != cashier_id && u["id"] != owner_id));
}

on_both_databases!(
    the_last_owner_cannot_be_locked_out,
    roles_decide_who_manages_staff,
    profile_password_change_keeps_only_this_session,
    settings_change_reaches_terminals_through_sync,
    next_invoice_number_is_a_preview,
    variants_belong_to_their_product,
    batches_by_expiry,
    dashboard_figures,
    till_pins_are_hashed_and_reach_terminals_of_their_business_only,
);
