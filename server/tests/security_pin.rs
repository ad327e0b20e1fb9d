//! Staff PINs over real HTTP, each test on SQLite and on PostgreSQL: no token of any role reads
//! a PIN verifier (only a till registered by a manager or owner receives them, sealed with its
//! own key), manager and owner PINs have 6 digits or more, and setting a PIN never tells
//! whether someone else has it.

mod common;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use common::{json, Backend, TestServer};
use pos_protocol::pin::{self, Binding, DeviceKey};
use reqwest::Method;
use serde_json::{json, Value};

const USERS: &str = "/api/v1/users";

async fn user(server: &TestServer, token: &str, email: &str) -> Value {
    let (status, body) = server.call(Method::GET, USERS, token, None).await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("{email} in {body}"))
        .clone()
}

async fn set_pin(server: &TestServer, token: &str, email: &str, pin: &str) -> (u16, Value) {
    let target = user(server, token, email).await;
    server
        .call(
            Method::PATCH,
            &format!("{USERS}/{}", target["id"]),
            token,
            Some(json!({"version": target["version"], "pin": pin})),
        )
        .await
}

async fn register(server: &TestServer, token: &str, device: &str, key: &DeviceKey) -> (u16, Value) {
    server
        .call(
            Method::POST,
            "/api/v1/sync/register",
            token,
            Some(json!({"device_id": device, "device_name": device, "pin_key": key.to_text()})),
        )
        .await
}

/// The cashiers a till with `device` (if any) downloads with this token.
async fn cashiers(server: &TestServer, token: &str, device: Option<&str>) -> (String, Vec<Value>) {
    let mut request = server.request(Method::GET, "/api/v1/sync/full?entities=cashiers", token);
    if let Some(device) = device {
        request = request.header("X-Device-ID", device);
    }
    let (status, body) = json(request.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    (
        body.to_string(),
        body["data"]["cashiers"].as_array().unwrap().clone(),
    )
}

fn row(rows: &[Value], id: &Value) -> Value {
    rows.iter()
        .find(|r| r["id"] == *id)
        .unwrap_or_else(|| panic!("{id} in {rows:?}"))
        .clone()
}

fn opens_to_pin(key: &DeviceKey, device: &str, row: &Value, pin: &str) -> bool {
    let binding = Binding {
        business_id: row["business_id"].as_i64().unwrap(),
        user_id: row["id"].as_i64().unwrap(),
        device_id: device,
        version: row["version"].as_i64().unwrap(),
    };
    pin::open(
        key,
        &binding,
        row["pin_sealed"].as_str().unwrap_or_default(),
    )
    .is_some_and(|verifier| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &PasswordHash::new(&verifier).unwrap())
            .is_ok()
    })
}

async fn no_token_reads_a_pin_verifier(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    let manager = server.sign_in("manager@demo.test").await;
    let cashier = server.sign_in("cashier@demo.test").await;
    let (_, before) = cashiers(&server, &cashier, None).await;
    let (status, full) = server
        .call(
            Method::GET,
            "/api/v1/sync/full?entities=cashiers",
            &cashier,
            None,
        )
        .await;
    assert_eq!(status, 200, "{full}");
    let token = full["sync_token"].as_str().unwrap().to_string();
    assert_eq!(before.len(), 3);
    let (status, answer) = set_pin(&server, &owner, "manager@demo.test", "135790").await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = set_pin(&server, &owner, "cashier@demo.test", "2468").await;
    assert_eq!(status, 200, "{answer}");
    let manager_id = user(&server, &owner, "manager@demo.test").await["id"].clone();

    // A cashier's token, with curl: no verifier in full, nor in changes.
    let (text, rows) = cashiers(&server, &cashier, None).await;
    assert!(
        !text.contains("argon2") && !text.contains("pin_hash"),
        "{text}"
    );
    assert!(rows.iter().all(|r| r["pin_sealed"].is_null()), "{text}");
    let mut changed = String::new();
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
        changed = answer.to_string();
        if answer["data"]["cashiers"]["updated"]
            .as_array()
            .is_some_and(|rows| rows.len() >= 2)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(changed.contains("updated"), "{changed}");
    assert!(
        !changed.contains("argon2") && !changed.contains("pin_hash"),
        "{changed}"
    );
    // ... nor by registering a till of its own with a key it chose.
    let chosen = DeviceKey::generate();
    let (status, answer) = register(&server, &cashier, "cashier-laptop", &chosen).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["pin_key_accepted"], false, "{answer}");
    let (text, rows) = cashiers(&server, &cashier, Some("cashier-laptop")).await;
    assert!(!text.contains("argon2"), "{text}");
    assert!(rows.iter().all(|r| r["pin_sealed"].is_null()), "{text}");
    // The back office shows whether a PIN is set, never a verifier.
    for path in [USERS.to_string(), format!("{USERS}/{manager_id}")] {
        let (status, answer) = server.call(Method::GET, &path, &owner, None).await;
        assert_eq!(status, 200);
        let text = answer.to_string();
        assert!(
            !text.contains("argon2") && !text.contains("pin_hash"),
            "{text}"
        );
    }

    // A till its manager registered gets each verifier sealed with its key only: the
    // cashier's token on that till downloads text that opens with the till's key alone.
    let till_key = DeviceKey::generate();
    let (status, answer) = register(&server, &manager, "till-1", &till_key).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["pin_key_accepted"], true, "{answer}");
    let (text, rows) = cashiers(&server, &cashier, Some("till-1")).await;
    assert!(!text.contains("argon2"), "{text}");
    let sealed_manager = row(&rows, &manager_id);
    assert!(sealed_manager["pin_sealed"].is_string(), "{sealed_manager}");
    assert!(opens_to_pin(&till_key, "till-1", &sealed_manager, "135790"));
    assert!(!opens_to_pin(
        &till_key,
        "till-1",
        &sealed_manager,
        "135791"
    ));
    assert!(!opens_to_pin(&chosen, "till-1", &sealed_manager, "135790"));
    assert!(!opens_to_pin(
        &till_key,
        "till-2",
        &sealed_manager,
        "135790"
    ));
    // A cashier registering that till again cannot swap its key for one they know.
    let (status, answer) = register(&server, &cashier, "till-1", &chosen).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["pin_key_accepted"], false, "{answer}");
    let (_, rows) = cashiers(&server, &cashier, Some("till-1")).await;
    let sealed_manager = row(&rows, &manager_id);
    assert!(!opens_to_pin(&chosen, "till-1", &sealed_manager, "135790"));
    assert!(opens_to_pin(&till_key, "till-1", &sealed_manager, "135790"));

    // Another business, naming this business's till, gets none of its people nor any
    // verifier, and cannot take the till over.
    let other = server.sign_in("owner@other.test").await;
    let (text, rows) = cashiers(&server, &other, Some("till-1")).await;
    assert!(
        rows.iter()
            .all(|r| r["id"] != manager_id && r["pin_sealed"].is_null()),
        "{text}"
    );
    let (status, _) = register(&server, &other, "till-1", &chosen).await;
    assert_eq!(status, 409);
}

async fn manager_pins_have_six_digits_and_no_answer_tells_who_has_a_pin(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.sign_in("owner@demo.test").await;
    for email in ["manager@demo.test", "owner@demo.test"] {
        for short in ["1357", "13579"] {
            let (status, answer) = set_pin(&server, &owner, email, short).await;
            assert_eq!(status, 422, "{email} {short}: {answer}");
            let problem = answer["errors"]["pin"][0].as_str().unwrap_or_default();
            assert!(problem.contains("6 to 12"), "{answer}");
        }
    }
    let (status, answer) = set_pin(&server, &owner, "manager@demo.test", "135790").await;
    assert_eq!(status, 200, "{answer}");
    // A cashier keeps 4 to 6 digits.
    let (status, answer) = set_pin(&server, &owner, "cashier@demo.test", "1234567").await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = set_pin(&server, &owner, "cashier@demo.test", "2468").await;
    assert_eq!(status, 200, "{answer}");

    // The same PIN as someone else's is set like any other: no answer says it is taken.
    let (status, created) = server
        .call(
            Method::POST,
            USERS,
            &owner,
            Some(
                json!({"name": "Kim", "email": "kim@demo.test", "password": "kim-pass-1",
                "role": "cashier", "pin": "2468"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["has_pin"], true);
    let (status, answer) = set_pin(&server, &owner, "cashier@demo.test", "135790").await;
    assert_eq!(status, 200, "the manager's PIN for a cashier: {answer}");
    assert!(!answer.to_string().contains("another"), "{answer}");
}

on_both_databases!(
    no_token_reads_a_pin_verifier,
    manager_pins_have_six_digits_and_no_answer_tells_who_has_a_pin,
);
