//! A real terminal against a real server on loopback:
//! - an operation behind one the server rejected (a sale for a customer whose creation failed)
//!   is failed with `DEPENDENCY_FAILED` naming its parent, counted as failed, and goes through
//!   once the parent is retried and accepted;
//! - PINs set in the back office reach the till through sync, and switching cashier and a
//!   manager's authorisation work offline with them.

use pos_e2e::fleet::{codes_with_stock, sign_in_terminals};
use pos_e2e::harness::{server_settings, Api, Backend, Database, InProcessServer, PASSWORD};
use pos_engine::{
    ErrorCode, NewCustomer, PaymentInput, RefundInput, ReturnItem, ReturnLineInput, SyncState,
};
use pos_protocol::auth::Role;
use pos_protocol::Decimal;
use reqwest::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// The server again on the address the till knows (after the previous one stopped); it runs
/// until the returned sender is dropped.
async fn serve_at(addr: SocketAddr, database_url: &str) -> tokio::sync::oneshot::Sender<()> {
    let mut attempts = 0;
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => break listener,
            Err(e) if attempts < 100 => {
                attempts += 1;
                tracing::info!("{addr} not free yet: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot bind {addr} again: {e}"),
        }
    };
    let settings = server_settings(database_url);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        pos_server::launch(settings, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("the server runs");
    });
    stop
}

/// Syncs until `done` holds (on PostgreSQL a pull only hands out changes older than every
/// transaction still open in the cluster, so a change may need a few pulls), at most 30 s.
async fn sync_until(engine: &pos_engine::Engine, done: impl Fn(&pos_engine::Engine) -> bool) {
    for _ in 0..300 {
        engine.sync_now().await.unwrap();
        if done(engine) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the till never caught up with the server");
}

/// The server's id of the user with this email.
async fn user_id(api: &Api, email: &str) -> i64 {
    api.list_all("/api/v1/users")
        .await
        .iter()
        .find(|u| u["email"] == email)
        .and_then(|u| u["id"].as_i64())
        .unwrap_or_else(|| panic!("no user {email}"))
}

/// Sets a user's till PIN through the back office; returns the status and body.
async fn set_pin(api: &Api, id: i64, pin: &str) -> (u16, Value) {
    let (status, user) = api
        .call(Method::GET, &format!("/api/v1/users/{id}"), None)
        .await;
    assert_eq!(status, 200, "{user}");
    let version = user["data"]["version"].clone();
    api.call(
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(&json!({"pin": pin, "version": version})),
    )
    .await
}

async fn a_sale_behind_a_rejected_customer_fails_visibly(backend: Backend) {
    let database = Database::create(backend).await;
    let server = InProcessServer::start(&database.url).await;
    let terminals = sign_in_terminals(1, &server.url(), "manager@demo.test").await;
    let engine = &terminals[0].engine;
    let manager = Api::sign_in(&server.url(), "manager@demo.test").await;
    let codes = codes_with_stock(&manager).await;

    // The till takes any customer type; the server knows five and rejects this one.
    let customer = engine
        .create_customer(NewCustomer {
            name: "Pat Friend".into(),
            phone: None,
            email: None,
            address: None,
            party_type: Some("Friend".into()),
        })
        .unwrap();
    engine.cart_add_code(&codes[0], Decimal::ONE).unwrap();
    engine.cart_set_customer(Some(customer.party_ref)).unwrap();
    let sale = engine.complete_sale(PaymentInput::default()).unwrap();

    let report = engine.sync_now().await.unwrap();
    assert_eq!(report.rejected, 2, "{report:?}");
    let status = engine.status();
    assert_eq!((status.pending, status.failed), (0, 2), "{status:?}");
    let queue = engine.queue().unwrap();
    let party_op = queue.iter().find(|o| o.entity == "party").unwrap();
    let sale_op = queue.iter().find(|o| o.entity == "sale").unwrap();
    assert_eq!(party_op.state, SyncState::Failed);
    assert_eq!(party_op.error_code.as_deref(), Some("VALIDATION_FAILED"));
    assert_eq!(sale_op.state, SyncState::Failed);
    assert_eq!(sale_op.error_code.as_deref(), Some("DEPENDENCY_FAILED"));
    let why = sale_op.last_error.clone().unwrap();
    assert!(
        why.contains(&format!("operation {}", party_op.id))
            && why.contains("Pat Friend")
            && why.contains("VALIDATION_FAILED")
            && why.contains("type"),
        "{why}"
    );
    let listed = engine.sales(10).unwrap();
    let listed = listed
        .iter()
        .find(|s| s.offline_invoice_no == sale.offline_invoice_no)
        .unwrap();
    assert_eq!(listed.sync_state, SyncState::Failed);
    assert_eq!(listed.sync_error.as_deref(), Some(why.as_str()));

    // Retrying the sale retries the customer it needs; the server refuses it again.
    engine.queue_retry(sale_op.id).unwrap();
    assert_eq!(engine.status().pending, 2);
    let report = engine.sync_now().await.unwrap();
    assert_eq!(report.rejected, 2, "{report:?}");
    assert_eq!(engine.status().failed, 2);

    // A person corrects the customer's type in the queued operation and retries it: the
    // customer is created and the sale behind it follows, naming that customer.
    let db = rusqlite::Connection::open(engine.database_path()).unwrap();
    db.execute(
        "UPDATE outbox SET payload = json_set(payload, '$.type', 'Customer') WHERE id = ?1",
        [party_op.id],
    )
    .unwrap();
    engine.queue_retry(party_op.id).unwrap();
    assert_eq!(engine.status().pending, 2);
    let report = engine.sync_now().await.unwrap();
    assert_eq!((report.acknowledged, report.rejected), (2, 0), "{report:?}");
    let status = engine.status();
    assert_eq!((status.pending, status.failed), (0, 0), "{status:?}");
    let customer_name = database
        .texts(&format!(
            "SELECT p.name FROM sales s JOIN parties p ON p.id = s.party_id \
             WHERE s.client_reference = '{}'",
            sale.client_reference
        ))
        .await;
    assert_eq!(customer_name, vec![Some("Pat Friend".to_string())]);

    // Discarded instead: the sale behind it says so, and sent on its own the server refuses
    // it for want of the customer; nothing stays pending unseen.
    let customer = engine
        .create_customer(NewCustomer {
            name: "Sam Neighbour".into(),
            phone: None,
            email: None,
            address: None,
            party_type: Some("Neighbour".into()),
        })
        .unwrap();
    engine.cart_add_code(&codes[0], Decimal::ONE).unwrap();
    engine.cart_set_customer(Some(customer.party_ref)).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();
    engine.sync_now().await.unwrap();
    let queue = engine.queue().unwrap();
    let party_op = queue.iter().find(|o| o.entity == "party").unwrap();
    let sale_op = queue.iter().find(|o| o.entity == "sale").unwrap();
    engine
        .queue_discard(party_op.id, "not a customer type")
        .unwrap();
    let sale_op = engine
        .queue()
        .unwrap()
        .into_iter()
        .find(|o| o.id == sale_op.id)
        .unwrap();
    assert_eq!(sale_op.state, SyncState::Failed);
    let why = sale_op.last_error.unwrap();
    assert!(
        why.contains("was discarded") && why.contains("not a customer type"),
        "{why}"
    );
    engine.queue_retry(sale_op.id).unwrap();
    engine.sync_now().await.unwrap();
    let sale_op = engine
        .queue()
        .unwrap()
        .into_iter()
        .find(|o| o.id == sale_op.id)
        .unwrap();
    assert_eq!(
        (sale_op.state, sale_op.error_code.as_deref()),
        (SyncState::Failed, Some("PARTY_NOT_FOUND"))
    );
    let status = engine.status();
    assert_eq!((status.pending, status.failed), (0, 1), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_behind_a_rejected_customer_fails_visibly_on_sqlite() {
    a_sale_behind_a_rejected_customer_fails_visibly(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_behind_a_rejected_customer_fails_visibly_on_postgres() {
    a_sale_behind_a_rejected_customer_fails_visibly(Backend::Postgres).await
}

async fn pins_from_the_back_office_work_at_the_till_offline(backend: Backend) {
    let database = Database::create(backend).await;
    let server = InProcessServer::start(&database.url).await;
    // The manager sets the till up, which registers its PIN key; then the cashier signs in.
    let terminals = sign_in_terminals(1, &server.url(), "manager@demo.test").await;
    let engine = &terminals[0].engine;
    engine
        .login(&server.url(), "cashier@demo.test", PASSWORD, None)
        .await
        .unwrap();
    let owner = Api::sign_in(&server.url(), "owner@demo.test").await;
    let codes = codes_with_stock(&owner).await;
    let cashier = user_id(&owner, "cashier@demo.test").await;
    let manager = user_id(&owner, "manager@demo.test").await;

    // A sale to return later, and a till that knows no manager PIN yet: a cashier's return is
    // refused, not waved through.
    engine.cart_add_code(&codes[0], Decimal::from(2)).unwrap();
    let sale = engine.complete_sale(PaymentInput::default()).unwrap();
    let one = || {
        vec![ReturnLineInput {
            item: ReturnItem::Code(codes[0].clone()),
            quantity: Decimal::ONE,
        }]
    };
    let refused = engine
        .return_sale(&sale.offline_invoice_no, one(), RefundInput::Cash)
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::ManagerRequired);
    assert!(
        refused.message.contains("no manager"),
        "{}",
        refused.message
    );

    // The back office checks PINs, keeps only their hash and never shows either.
    for bad in ["123", "1234567", "12a4"] {
        let (status, body) = set_pin(&owner, cashier, bad).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(body.to_string().contains("pin"), "{body}");
    }
    let (status, body) = set_pin(&owner, manager, "1357").await;
    assert_eq!(status, 422, "a manager's PIN has 6 digits or more: {body}");
    let (status, body) = set_pin(&owner, manager, "135790").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["has_pin"], true);
    assert!(!body.to_string().contains("135790") && body["data"].get("pin_hash").is_none());
    let (status, body) = set_pin(&owner, cashier, "135790").await;
    assert_eq!(
        status, 200,
        "nobody is told a PIN is someone else's: {body}"
    );
    let (status, body) = set_pin(&owner, cashier, "2468").await;
    assert_eq!(status, 200, "{body}");
    let stored = database
        .texts(&format!("SELECT pin_hash FROM users WHERE id = {cashier}"))
        .await;
    let stored = stored[0].clone().unwrap();
    assert!(stored.starts_with("$argon2") && !stored.contains("2468"));

    sync_until(engine, |e| e.cashiers().unwrap().len() == 2).await;
    let known = engine.cashiers().unwrap();
    let role_of = |id: i64| known.iter().find(|c| c.user_id == id).map(|c| c.role);
    assert_eq!(role_of(cashier), Some(Role::Cashier));
    assert_eq!(role_of(manager), Some(Role::Manager));
    // Only people with a PIN, and only of this business.
    assert_eq!(known.len(), 2, "{known:?}");
    // The till's data folder holds their verifiers only sealed, never an Argon2 string.
    let folder = terminals[0].folder.path();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(7).any(|w| w == b"$argon2"),
                "{} holds a PIN verifier",
                path.display()
            );
        }
    }

    // Offline from here: the server is gone.
    let addr = server.addr;
    drop(server);
    assert_eq!(
        engine.cashier_switch("9999").unwrap_err().code,
        ErrorCode::WrongPin
    );
    assert_eq!(engine.cashier_switch("2468").unwrap().user_id, cashier);
    assert_eq!(engine.active_cashier().unwrap().user_id, cashier);
    assert_eq!(
        engine.manager_authorise("2468").unwrap_err().code,
        ErrorCode::WrongPin,
        "a cashier's PIN is no manager's"
    );
    assert_eq!(engine.manager_authorise("135790").unwrap().user_id, manager);
    let returned = engine
        .return_sale(&sale.offline_invoice_no, one(), RefundInput::Cash)
        .unwrap();
    let payload = engine
        .queue()
        .unwrap()
        .into_iter()
        .find(|o| o.entity == "sale_return")
        .unwrap()
        .payload;
    assert_eq!(payload["authorised_by"], manager);
    assert_eq!(payload["cashier_id"], cashier);
    assert!(returned.refund_amount > Decimal::ZERO);
    // Spent: the next return needs the PIN again.
    assert_eq!(
        engine
            .return_sale(&sale.offline_invoice_no, one(), RefundInput::Cash)
            .unwrap_err()
            .code,
        ErrorCode::ManagerRequired
    );

    // Back online: a new cashier, created with a PIN, works the till until the back office
    // deactivates them; the till then switches them out and their PIN no longer opens it.
    let _server = serve_at(addr, &database.url).await;
    let owner = Api::sign_in(&format!("http://{addr}"), "owner@demo.test").await;
    let (status, kim) = owner
        .call(
            Method::POST,
            "/api/v1/users",
            Some(
                &json!({"name": "Kim", "email": "kim@demo.test", "password": "kim-pass-1",
                "role": "cashier", "pin": "8080"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{kim}");
    assert_eq!(kim["data"]["has_pin"], true);
    let kim_id = kim["data"]["id"].as_i64().unwrap();
    sync_until(engine, |e| e.cashiers().unwrap().len() == 3).await;
    assert_eq!(engine.cashier_switch("8080").unwrap().user_id, kim_id);
    let (status, body) = owner
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{kim_id}"),
            Some(&json!({"is_active": false, "version": kim["data"]["version"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    sync_until(engine, |e| e.cashiers().unwrap().len() == 2).await;
    assert_ne!(engine.active_cashier().unwrap().user_id, kim_id);
    assert_eq!(
        engine.cashier_switch("8080").unwrap_err().code,
        ErrorCode::WrongPin
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_from_the_back_office_work_at_the_till_offline_on_sqlite() {
    pins_from_the_back_office_work_at_the_till_offline(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_from_the_back_office_work_at_the_till_offline_on_postgres() {
    pins_from_the_back_office_work_at_the_till_offline(Backend::Postgres).await
}
