//! The back office's web app as `pos-server serve` answers it, on both databases: the app at
//! `/` and at each of its own pages, its files with their types, the API's JSON 404 kept for
//! `/api`, and the till's own invoice number beside the server's in the sales list.
//!
//! A debug build reads `office/dist` at each request: with the app built (as the test command
//! does first) the answers are its files; without it, the page saying how to build it.

mod common;

use std::path::PathBuf;

use common::{json, Backend, TestServer};
use reqwest::{header, Method};
use serde_json::json;

fn built_app() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../office/dist")
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    server.client.get(server.url(path)).send().await.unwrap()
}

async fn the_app_answers_every_page_but_the_api(backend: Backend) {
    let server = TestServer::start(backend).await;
    let index = std::fs::read_to_string(built_app().join("index.html")).ok();
    for page in ["/", "/sales/12", "/staff", "/products/new?x=1"] {
        let response = get(&server, page).await;
        let status = response.status().as_u16();
        let kind = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let cache = response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.text().await.unwrap();
        assert!(kind.starts_with("text/html"), "{page}: {kind}");
        assert_eq!(cache, "no-cache", "{page}");
        match &index {
            Some(index) => {
                assert_eq!(status, 200, "{page}");
                assert_eq!(&body, index, "{page} answers the app's index.html");
            }
            None => {
                assert_eq!(status, 503, "{page}");
                assert!(body.contains("npm run build"), "{page}: {body}");
            }
        }
    }

    // The API keeps its JSON 404, for any method, and so does a write to an app page.
    for (method, path) in [
        (Method::GET, "/api/v1/no-such-thing"),
        (Method::GET, "/api"),
        (Method::POST, "/api/v1/no-such-thing"),
        (Method::POST, "/sales/12"),
    ] {
        let (status, body) = json(
            server
                .client
                .request(method.clone(), server.url(path))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(body["error"], "not_found", "{method} {path}: {body}");
        assert_eq!(body["message"], "No such route");
    }

    // A file the app does not have is a 404, never index.html in place of a script.
    let response = get(&server, "/assets/gone-1234.js").await;
    assert_eq!(response.status().as_u16(), 404);

    // The app's own files: scripts as JavaScript, kept by browsers for a year.
    if index.is_some() {
        let assets = std::fs::read_dir(built_app().join("assets")).unwrap();
        let script = assets
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .find(|name| name.ends_with(".js"))
            .expect("a built script");
        let response = get(&server, &format!("/assets/{script}")).await;
        assert_eq!(response.status().as_u16(), 200);
        let kind = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.contains("javascript"), "{kind}");
        assert!(response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
    }
}

async fn sales_list_both_invoice_numbers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let sale = json!({
        "idempotency_key": "op-sale-numbers", "entity": "sale", "action": "create",
        "offline_timestamp": "2026-11-25T10:00:00.000Z",
        "data": {
            "local_id": "s1", "client_reference": "5b0e1c9e-2222-4e55-9a0c-000000000001",
            "offline_invoice_no": "OFF-TILL1-7",
            "totalAmount": "0.50", "paidAmount": "0.50", "dueAmount": 0, "payment_type_id": 1,
            "saleDate": "2026-11-25T10:00:00.000Z",
            "products": [{"line_no": 1, "stock_id": 1, "quantities": 1, "price": 0.5, "vat_id": 1}]
        }
    });
    let (status, answer) = json(
        server
            .request(Method::POST, "/api/v1/sync/batch", &cashier)
            .header("X-Device-ID", "TILL1")
            .header("X-Client-Version", "0.1.0")
            .json(&json!({"operations": [sale], "device_id": "TILL1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["status"], "created", "{answer}");
    let invoice = answer["results"][0]["invoice_number"].clone();
    let id = answer["results"][0]["server_id"].as_i64().unwrap();

    let (status, list) = server
        .call(Method::GET, "/api/v1/sales", &cashier, None)
        .await;
    assert_eq!(status, 200, "{list}");
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("sale {id} in {list}"));
    assert_eq!(listed["invoiceNumber"], invoice);
    assert_eq!(listed["offline_invoice_no"], "OFF-TILL1-7");
    let (status, shown) = server
        .call(Method::GET, &format!("/api/v1/sales/{id}"), &cashier, None)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["data"]["offline_invoice_no"], "OFF-TILL1-7");
}

on_both_databases!(
    the_app_answers_every_page_but_the_api,
    sales_list_both_invoice_numbers,
);
