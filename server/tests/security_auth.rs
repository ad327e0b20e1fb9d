//! Sign-in, tokens and idempotency under attack: guesses sent all at once, from behind a
//! proxy and to several servers; uploads without a token; another user's idempotency key; a
//! token refreshed twice; one's own password changed with a borrowed token; NUL in a URL.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{json, Backend, TestServer, PASSWORD};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client whose connections come from `address` (any 127.x.y.z is loopback on Linux), so a
/// test can play several client addresses.
fn client_from(address: Ipv4Addr) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(address))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

const OTHER_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

async fn sign_in_as(
    client: &Client,
    base: &str,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, Value) {
    let mut request = client
        .post(format!("{base}/api/v1/sign-in"))
        .json(&json!({"email": email, "password": password}));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("X-Forwarded-For", forwarded_for);
    }
    json(request.send().await.unwrap()).await
}

async fn guesses_sent_at_once_are_mostly_refused_unchecked(backend: Backend) {
    let server = TestServer::start_with(backend, |s| s.sign_in_failures_per_account = 3).await;
    let guesses = (0..45).map(|i| {
        let request = server
            .client
            .post(server.url("/api/v1/sign-in"))
            .json(&json!({"email": "owner@demo.test", "password": format!("guess-{i}")}));
        async move {
            let response = request.send().await.unwrap();
            let waits = response.headers().contains_key("retry-after");
            (response.status().as_u16(), waits)
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|(status, _)| *status == 401).count();
    let refused = answers
        .iter()
        .filter(|(status, waits)| *status == 429 && *waits)
        .count();
    assert_eq!(checked + refused, 45, "only 401 or 429 with Retry-After");
    // Three at once, then one per doubling wait (1 s, 2 s, ...) while the flood lasts.
    assert!(
        (3..=5).contains(&checked),
        "{checked} of 45 simultaneous guesses were checked"
    );
    // The owner, elsewhere, is not held up by the flood.
    let (status, body) = sign_in_as(
        &client_from(OTHER_ADDRESS),
        &server.base,
        "owner@demo.test",
        PASSWORD,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // No email is kept: the limiter stores keyed hashes only.
    let rows = server.scalar("SELECT COUNT(*) FROM sign_in_throttle").await;
    let named = server
        .scalar("SELECT COUNT(*) FROM sign_in_throttle WHERE bucket LIKE '%owner%'")
        .await;
    assert!(rows > 0);
    assert_eq!(named, 0);
}

/// Slowed down, never locked out: once the wait has passed, the right password works from
/// the very address that guessed wrong.
async fn the_right_password_works_after_the_wait(backend: Backend) {
    let server = TestServer::start_with(backend, |s| {
        s.sign_in_failures_per_account = 1;
        s.sign_in_window = Duration::from_secs(1);
        s.sign_in_memory = Duration::from_secs(1);
    })
    .await;
    let (status, _) = sign_in_as(
        &server.client,
        &server.base,
        "owner@demo.test",
        "wrong",
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = sign_in_as(
        &server.client,
        &server.base,
        "owner@demo.test",
        PASSWORD,
        None,
    )
    .await;
    assert_eq!(status, 429, "within the wait");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = sign_in_as(
        &server.client,
        &server.base,
        "owner@demo.test",
        PASSWORD,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Quiet buckets are forgotten: the cashier's, left with a wrong attempt, is deleted once
    // quiet past its wait and the limiter's memory.
    let (status, _) = sign_in_as(
        &server.client,
        &server.base,
        "cashier@demo.test",
        "wrong",
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM sign_in_throttle").await,
        2
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.sign_in("manager@demo.test").await;
    let left = server.scalar("SELECT COUNT(*) FROM sign_in_throttle").await;
    assert_eq!(
        left, 1,
        "only the address's bucket of the last sign-in is left"
    );
}

/// Two server processes over one database count the same attempts.
async fn servers_on_one_database_share_the_count(backend: Backend) {
    let first = TestServer::start_with(backend, |s| s.sign_in_failures_per_account = 3).await;
    let mut settings = pos_server::Settings::new(first.database_url.clone());
    settings.sign_in_failures_per_account = 3;
    settings.sign_in_failures_per_address = 1000;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(pos_server::launch(settings, listener, async {
        let _ = stopped.await;
    }));
    for _ in 0..3 {
        let (status, _) =
            sign_in_as(&first.client, &first.base, "owner@demo.test", "wrong", None).await;
        assert_eq!(status, 401);
    }
    let (status, body) = sign_in_as(
        &first.client,
        &second,
        "owner@demo.test",
        "wrong again",
        None,
    )
    .await;
    assert_eq!(
        status, 429,
        "the second server knows the first's count: {body}"
    );
    let _ = stop.send(());
}

async fn forwarded_for_counts_only_from_a_trusted_proxy(backend: Backend) {
    let server = TestServer::start_with(backend, |s| {
        s.sign_in_failures_per_account = 3;
        s.trusted_proxies = vec![pos_server::settings::parse_trusted_proxy("127.0.0.1").unwrap()];
    })
    .await;
    // Behind the proxy (127.0.0.1), each client is its own.
    for _ in 0..3 {
        let (status, _) = sign_in_as(
            &server.client,
            &server.base,
            "owner@demo.test",
            "wrong",
            Some("203.0.113.5"),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, _) = sign_in_as(
        &server.client,
        &server.base,
        "owner@demo.test",
        "wrong",
        Some("203.0.113.5"),
    )
    .await;
    assert_eq!(status, 429, "the guessing client waits");
    let (status, body) = sign_in_as(
        &server.client,
        &server.base,
        "owner@demo.test",
        PASSWORD,
        Some("198.51.100.7, 203.0.113.6"),
    )
    .await;
    assert_eq!(status, 200, "the owner elsewhere does not: {body}");
    // A peer that is not a trusted proxy cannot pick its address by header.
    let direct = client_from(OTHER_ADDRESS);
    for i in 0..3 {
        let (status, _) = sign_in_as(
            &direct,
            &server.base,
            "owner@demo.test",
            "wrong",
            Some(&format!("192.0.2.{i}")),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, _) = sign_in_as(
        &direct,
        &server.base,
        "owner@demo.test",
        "wrong",
        Some("192.0.2.99"),
    )
    .await;
    assert_eq!(
        status, 429,
        "X-Forwarded-For of an untrusted peer is ignored"
    );
}

/// Sends `head` (request line and headers, no body) and returns the status line the server
/// answers while the body is still unsent.
async fn status_before_the_body(server: &TestServer, head: &str) -> String {
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !answer.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
    })
    .await;
    assert!(read.is_ok(), "no answer before the body was sent: {head}");
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn an_upload_without_a_token_is_refused_before_its_body(backend: Backend) {
    let server = TestServer::start(backend).await;
    for head in [
        "POST /api/v1/sync/rescue HTTP/1.1\r\nHost: pos\r\nContent-Type: application/json\r\n\
         Content-Length: 60000000\r\n\r\n",
        "POST /api/v1/sync/rescue HTTP/1.1\r\nHost: pos\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        "POST /api/v1/sync/batch HTTP/1.1\r\nHost: pos\r\nAuthorization: Bearer forged\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let status = status_before_the_body(&server, head).await;
        assert!(status.starts_with("HTTP/1.1 401"), "{status} for {head}");
    }
}

/// Every documented route that needs a token answers 401 without one, whatever its method.
async fn every_route_behind_a_token_refuses_without_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, document) = json(
        server
            .client
            .get(server.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut open = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            if !secured {
                open.push(format!("{method} {path}"));
                continue;
            }
            let concrete = path
                .split('/')
                .map(|part| if part.starts_with('{') { "1" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = json(
                server
                    .client
                    .request(method.clone(), server.url(&concrete))
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 401, "{method} {concrete}: {body}");
        }
    }
    open.sort();
    assert_eq!(open, ["get /api/v1/sync/health", "post /api/v1/sign-in"]);
}

async fn a_rescue_file_of_20_mb_is_accepted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    let content = json!({"device_id": "RESCUE-BIG", "operations": []});
    let file = json!({
        "format": pos_protocol::store_ops::RESCUE_FORMAT,
        "format_version": 1,
        "sha256": pos_protocol::store_ops::rescue_checksum(&content),
        "content": content,
    });
    // A large file: the same JSON padded with whitespace to 20 MB.
    let mut body = serde_json::to_vec(&file).unwrap();
    body.resize(20_000_000, b' ');
    let (status, answer) = json(
        server
            .request(Method::POST, "/api/v1/sync/rescue", &owner)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["summary"]["total"], 0);
}

async fn another_users_idempotency_key_replays_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let brand = json!({"brandName": "Owner's Brand"});
    let send = |token: &str, key: &str, method: Method, path: &str, body: Option<Value>| {
        let mut request = server
            .request(method, path, token)
            .header("X-Idempotency-Key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let response = send(
        &owner,
        "owner-key-1",
        Method::POST,
        "/api/v1/brands",
        Some(brand.clone()),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let response = send(
        &cashier,
        "owner-key-1",
        Method::POST,
        "/api/v1/brands",
        Some(brand.clone()),
    )
    .await
    .unwrap();
    assert!(
        !response.headers().contains_key("x-idempotency-replayed"),
        "the owner's answer is not replayed to the cashier"
    );
    assert_eq!(response.status(), 403, "the cashier's own request ran");
    // The owner's own repeat is still answered from the key.
    let response = send(
        &owner,
        "owner-key-1",
        Method::POST,
        "/api/v1/brands",
        Some(brand),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers().contains_key("x-idempotency-replayed"));

    // Token routes take no key: the owner's new token is never stored, nor handed to anyone.
    let (status, owners) = json(
        send(
            &owner,
            "refresh-1",
            Method::POST,
            "/api/v1/refresh-token",
            None,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, cashiers) = json(
        send(
            &cashier,
            "refresh-1",
            Method::POST,
            "/api/v1/refresh-token",
            None,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(owners["token"], cashiers["token"]);
    let (_, me) = server
        .call(
            Method::GET,
            "/api/v1/profile",
            cashiers["token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(me["data"]["email"], "cashier@demo.test");
    let stored = server
        .scalar("SELECT COUNT(*) FROM idempotency_keys WHERE idempotency_key LIKE '%refresh-1'")
        .await;
    assert_eq!(stored, 0);
}

async fn a_token_is_refreshed_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let token = server.sign_in("manager@demo.test").await;
    let refreshes = (0..5).map(|_| {
        server
            .request(Method::GET, "/api/v1/refresh-token", &token)
            .send()
    });
    let mut statuses: Vec<u16> = futures::future::join_all(refreshes)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409]);
    // The old token still works for its grace period, for everything but refreshing.
    let (status, _) = server
        .call(Method::GET, "/api/v1/profile", &token, None)
        .await;
    assert_eq!(status, 200);
}

async fn changing_ones_own_password_needs_the_current_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let presenting = server.sign_in("owner@demo.test").await;
    let elsewhere = server.sign_in("owner@demo.test").await;
    let owner_id = server
        .scalar("SELECT id FROM users WHERE email = 'owner@demo.test'")
        .await;
    let path = format!("/api/v1/users/{owner_id}");
    for (method, change) in [
        (
            Method::PATCH,
            json!({"version": 1, "password": "taken-over-1"}),
        ),
        (
            Method::PUT,
            json!({"version": 1, "email": "thief@demo.test"}),
        ),
        (
            Method::PATCH,
            json!({"version": 1, "password": "taken-over-1", "current_password": "not it"}),
        ),
    ] {
        let (status, body) = server.call(method, &path, &presenting, Some(change)).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["current_password"].is_array(), "{body}");
    }
    let (status, body) = server
        .call(
            Method::PATCH,
            &path,
            &presenting,
            Some(json!({"version": 1, "password": "new-pass-123", "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = server
        .call(Method::GET, "/api/v1/profile", &elsewhere, None)
        .await;
    assert_eq!(status, 401, "every other session is signed out");
    let (status, _) = server
        .call(Method::GET, "/api/v1/profile", &presenting, None)
        .await;
    assert_eq!(status, 200, "the session that changed it stays");
    // A manager resetting someone else's password needs no current password of theirs.
    let manager = server.sign_in("manager@demo.test").await;
    let cashier_id = server
        .scalar("SELECT id FROM users WHERE email = 'cashier@demo.test'")
        .await;
    let (status, body) = server
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{cashier_id}"),
            &manager,
            Some(json!({"version": 1, "password": "reset-pass-1"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn nul_in_the_url_is_422(backend: Backend) {
    let server = TestServer::start(backend).await;
    let manager = server.sign_in("manager@demo.test").await;
    for (path, field) in [
        ("/api/v1/sales?invoiceNumber=INV%00-1", "invoiceNumber"),
        ("/api/v1/products/by-barcode/12%0034", "code"),
    ] {
        let (status, body) = server.call(Method::GET, path, &manager, None).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert!(body["errors"][field].is_array(), "{path}: {body}");
    }
}

async fn explode() -> &'static str {
    panic!("a handler with a bug")
}

/// A handler that panics must not leave its idempotency key "in progress": the retry runs.
async fn a_panicking_handler_lets_its_key_go(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    let state = pos_server::AppState::new(
        server.store.clone(),
        pos_server::Settings::new(server.database_url.clone()),
    );
    let app = axum::Router::new()
        .route("/api/v1/explode", axum::routing::post(explode))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pos_server::middleware::idempotency,
        ))
        .layer(axum::middleware::from_fn(
            pos_server::middleware::run_to_completion,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pos_server::middleware::require_token,
        ))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/explode", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    for attempt in 1..=2 {
        let response = server
            .client
            .post(&url)
            .bearer_auth(&owner)
            .header("X-Idempotency-Key", "explode-1")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500, "attempt {attempt} ran");
    }
}

on_both_databases!(
    guesses_sent_at_once_are_mostly_refused_unchecked,
    the_right_password_works_after_the_wait,
    servers_on_one_database_share_the_count,
    forwarded_for_counts_only_from_a_trusted_proxy,
    an_upload_without_a_token_is_refused_before_its_body,
    every_route_behind_a_token_refuses_without_one,
    a_rescue_file_of_20_mb_is_accepted,
    another_users_idempotency_key_replays_nothing,
    a_token_is_refreshed_once,
    changing_ones_own_password_needs_the_current_one,
    nul_in_the_url_is_422,
    a_panicking_handler_lets_its_key_go,
);
