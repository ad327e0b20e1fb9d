//! Cashiers on a shared till, on a real SQLite file: PIN switching offline, every operation
//! recorded under who did it, and a manager's PIN authorising returns, pay-outs, no-sale
//! drawer openings and large discounts; PINs sealed for this till, so its SQLite file holds no
//! verifier. Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use pos_engine::{
    CashierView, Discount, Engine, ErrorCode, PaymentInput, RefundInput, ReturnItem,
    ReturnLineInput,
};
use pos_protocol::auth::Role;
use pos_protocol::entities::Cashier;
use pos_protocol::pin;
use pos_protocol::sync::{ChangeSet, ChangesData, ChangesResponse};
use rusqlite::Connection;

const SAM: i64 = 8;
const MORGAN: i64 = 9;

/// A till signed in by its manager (user 7), who sets up cashier Sam and manager Morgan, with a
/// 10% discount limit for cashiers.
fn till(dir: &std::path::Path) -> Engine {
    let mut settings = settings(true, false, 2);
    settings.max_cashier_discount_percent = Some(d("10"));
    let engine = open(dir);
    engine
        .apply_full_page(&catalog_page(settings), None)
        .unwrap();
    let mut sign_in = sign_in_data("test-token-0123456789");
    sign_in.user.role = Role::Manager;
    sign_in.user.name = "Casey Manager".into();
    engine
        .adopt_session("http://127.0.0.1:9", sign_in, None)
        .unwrap();
    for (user_id, name, role, pin) in [
        (SAM, "Sam", Role::Cashier, "1111"),
        (MORGAN, "Morgan", Role::Manager, "999999"),
    ] {
        engine
            .cashier_set_pin(
                CashierView {
                    user_id,
                    name: name.into(),
                    role,
                },
                pin,
            )
            .unwrap();
    }
    engine
}

fn cash(tendered: &str) -> PaymentInput {
    PaymentInput {
        payment_type_id: Some(1),
        tendered: Some(d(tendered)),
    }
}

fn one(code: &str) -> Vec<ReturnLineInput> {
    vec![ReturnLineInput {
        item: ReturnItem::Code(code.into()),
        quantity: d("1"),
    }]
}

/// The payload of the last queued operation of `entity`.
fn last_payload(database: &std::path::Path, entity: &str) -> serde_json::Value {
    let db = Connection::open(database).unwrap();
    let text: String = db
        .query_row(
            "SELECT payload FROM outbox WHERE entity = ?1 ORDER BY id DESC LIMIT 1",
            [entity],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_cashier_switched_in_by_pin_records_what_they_do_and_needs_a_manager_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let engine = till(dir.path());
    let database = engine.database_path();
    engine.shift_open(d("50.00")).unwrap();

    let wrong = engine.cashier_switch("1234").unwrap_err();
    assert_eq!(wrong.code, ErrorCode::WrongPin);
    assert_eq!(engine.cashier_switch("1111").unwrap().user_id, SAM);
    assert_eq!(engine.active_cashier().unwrap().name, "Sam");

    // Sam sells: the sale is Sam's.
    engine.cart_add_code("COLA0", d("2")).unwrap();
    let sale = engine.complete_sale(cash("5.00")).unwrap();
    assert_eq!(last_payload(&database, "sale")["cashier_id"], SAM);
    assert_eq!(sale.receipt.cashier_name.as_deref(), Some("Sam"));

    // A pay-in is Sam's to do; a return, a pay-out and a no-sale opening are not.
    engine.shift_pay_in(d("10.00"), "change").unwrap();
    let pay_in = last_payload(&database, "cash_movement");
    assert_eq!(
        (
            pay_in["cashier_id"].clone(),
            pay_in["authorised_by"].clone()
        ),
        (SAM.into(), serde_json::Value::Null)
    );
    let refused = engine
        .return_sale(&sale.offline_invoice_no, one("COLA0"), RefundInput::Cash)
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::ManagerRequired);
    assert!(refused.message.contains("return"), "{}", refused.message);
    for refused in [
        engine
            .shift_pay_out(d("5.00"), "window cleaner")
            .unwrap_err(),
        engine
            .shift_drawer_open("customer wants change")
            .unwrap_err(),
    ] {
        assert_eq!(refused.code, ErrorCode::ManagerRequired);
    }
    // Nothing of the refused operations reached the file.
    let db = Connection::open(&database).unwrap();
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM sale_returns"), 0);
    assert_eq!(count("SELECT COUNT(*) FROM cash_movements"), 1);

    // A cashier's PIN is no manager's.
    assert_eq!(
        engine.manager_authorise("1111").unwrap_err().code,
        ErrorCode::WrongPin
    );
    assert_eq!(engine.manager_authorise("999999").unwrap().user_id, MORGAN);
    let returned = engine
        .return_sale(&sale.offline_invoice_no, one("COLA0"), RefundInput::Cash)
        .unwrap();
    let payload = last_payload(&database, "sale_return");
    assert_eq!(
        (
            payload["cashier_id"].clone(),
            payload["authorised_by"].clone()
        ),
        (SAM.into(), MORGAN.into())
    );
    assert_eq!(
        count(&format!(
            "SELECT authorised_by FROM sale_returns WHERE local_id = {}",
            returned.local_id
        )),
        MORGAN
    );
    // The PIN was for that one return.
    assert_eq!(
        engine
            .return_sale(&sale.offline_invoice_no, one("COLA0"), RefundInput::Cash)
            .unwrap_err()
            .code,
        ErrorCode::ManagerRequired
    );
    engine.manager_authorise("999999").unwrap();
    engine.shift_pay_out(d("5.00"), "window cleaner").unwrap();
    assert_eq!(
        last_payload(&database, "cash_movement")["authorised_by"],
        MORGAN
    );
    engine.manager_authorise("999999").unwrap();
    engine.shift_drawer_open("customer wants change").unwrap();
    let drawer = last_payload(&database, "cash_movement");
    assert_eq!(
        (drawer["kind"].as_str(), drawer["authorised_by"].clone()),
        (Some("drawer_open"), MORGAN.into())
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM cash_movements WHERE authorised_by = 9"),
        2
    );

    // A manager switched in authorises their own.
    engine.cashier_switch("999999").unwrap();
    engine.shift_pay_out(d("1.00"), "stamps").unwrap();
    let own = last_payload(&database, "cash_movement");
    assert_eq!(
        (own["cashier_id"].clone(), own["authorised_by"].clone()),
        (MORGAN.into(), MORGAN.into())
    );
}

#[test]
fn a_discount_above_the_limit_needs_a_manager_and_records_who_allowed_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = till(dir.path());
    let database = engine.database_path();
    engine.cashier_switch("1111").unwrap();

    // 10% is the limit: allowed alone, and nobody is recorded.
    engine.cart_add_code("WATER", d("5")).unwrap();
    engine
        .cart_set_discount(Discount::Percent(d("10")))
        .unwrap();
    engine.complete_sale(cash("3.60")).unwrap();
    assert!(last_payload(&database, "sale")["meta"]
        .get("discount_authorised_by")
        .is_none());

    // 0.41 off 4.00 is 10.25%: refused, and the cart stays for the manager.
    engine.cart_add_code("WATER", d("5")).unwrap();
    engine
        .cart_set_discount(Discount::Amount(d("0.41")))
        .unwrap();
    let refused = engine.complete_sale(cash("3.59")).unwrap_err();
    assert_eq!(refused.code, ErrorCode::ManagerRequired);
    assert!(refused.message.contains("10%"), "{}", refused.message);
    assert_eq!(engine.cart().unwrap().lines.len(), 1);
    engine.manager_authorise("999999").unwrap();
    let sale = engine.complete_sale(cash("3.59")).unwrap();
    let payload = last_payload(&database, "sale");
    assert_eq!(payload["meta"]["discount_authorised_by"], MORGAN);
    assert_eq!(payload["cashier_id"], SAM);
    let db = Connection::open(&database).unwrap();
    let authorised: Option<i64> = db
        .query_row(
            "SELECT authorised_by FROM sales WHERE local_id = ?1",
            [sale.local_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(authorised, Some(MORGAN));
}

#[test]
fn pins_are_sealed_never_compared_kept_across_restarts_and_set_only_by_a_manager() {
    let dir = tempfile::tempdir().unwrap();
    let engine = till(dir.path());
    let database = engine.database_path();
    let alex = |pin: &str| {
        engine.cashier_set_pin(
            CashierView {
                user_id: 10,
                name: "Alex".into(),
                role: Role::Cashier,
            },
            pin,
        )
    };

    // Setting a PIN tells nothing about other people's: Sam's PIN is accepted for Alex too,
    // and only using it at the till finds that two people share it.
    alex("1111").unwrap();
    let shared = engine.cashier_switch("1111").unwrap_err();
    assert_eq!(shared.code, ErrorCode::InvalidInput);
    assert!(
        shared.message.contains("more than one person"),
        "{}",
        shared.message
    );
    alex("3333").unwrap();
    assert_eq!(alex("12").unwrap_err().code, ErrorCode::InvalidInput);

    // The file holds sealed verifiers only: no Argon2 string, no PIN.
    let db = Connection::open(&database).unwrap();
    let sealed: Vec<String> = db
        .prepare("SELECT pin_sealed FROM cashiers ORDER BY user_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sealed.len(), 3);
    assert!(sealed
        .iter()
        .all(|h| !h.contains("argon2") && !h.contains("1111") && !h.contains("999999")));
    drop(db);
    assert_no_verifier_in(dir.path());

    // Sam, switched in, may change only Sam's own PIN, and not make Sam a manager.
    engine.cashier_switch("1111").unwrap();
    let sam = |role| CashierView {
        user_id: SAM,
        name: "Sam".into(),
        role,
    };
    assert_eq!(
        engine
            .cashier_set_pin(sam(Role::Manager), "2222")
            .unwrap_err()
            .code,
        ErrorCode::ManagerRequired
    );
    assert_eq!(
        engine
            .cashier_set_pin(
                CashierView {
                    user_id: MORGAN,
                    name: "Morgan".into(),
                    role: Role::Manager
                },
                "2222"
            )
            .unwrap_err()
            .code,
        ErrorCode::ManagerRequired
    );
    engine.cashier_set_pin(sam(Role::Cashier), "2222").unwrap();
    assert_eq!(
        engine.cashier_switch("1111").unwrap_err().code,
        ErrorCode::WrongPin
    );

    // The till reopened: still Sam's; the manager's PIN given before is not kept.
    engine.manager_authorise("999999").unwrap();
    drop(engine);
    let engine = open(dir.path());
    assert_eq!(engine.active_cashier().unwrap().user_id, SAM);
    assert_eq!(engine.cashiers().unwrap().len(), 3);
    engine.shift_open(d("0")).unwrap();
    assert_eq!(
        engine.shift_pay_out(d("1"), "x").unwrap_err().code,
        ErrorCode::ManagerRequired
    );
    // Back to the signed-in user (a manager).
    assert_eq!(engine.cashier_switch_off().unwrap().user_id, 7);
    engine.shift_pay_out(d("1"), "x").unwrap();
}

#[test]
fn a_till_without_a_manager_pin_refuses_a_cashier_what_needs_a_manager() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    // The signed-in cashier sets their own PIN: still no manager to ask.
    let me = engine.active_cashier().unwrap();
    assert_eq!(me.role, Role::Cashier);
    engine.cashier_set_pin(me, "4321").unwrap();
    engine.shift_open(d("10")).unwrap();
    let refused = engine.shift_pay_out(d("1"), "stamps").unwrap_err();
    assert_eq!(refused.code, ErrorCode::ManagerRequired);
    assert!(
        refused.message.contains("no manager"),
        "{}",
        refused.message
    );
    let db = Connection::open(engine.database_path()).unwrap();
    let movements: i64 = db
        .query_row("SELECT COUNT(*) FROM cash_movements", [], |r| r.get(0))
        .unwrap();
    assert_eq!(movements, 0, "nothing of the refused pay-out was written");
}

fn hash(pin: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    argon2::Argon2::default()
        .hash_password(pin.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string()
}

/// A user as the server sends it to this till: the PIN's hash sealed with the till's key.
fn server_user(
    engine: &Engine,
    id: i64,
    name: &str,
    role: Role,
    pin: Option<&str>,
    version: i64,
) -> Cashier {
    let device_id = engine.device().unwrap().id;
    let key = pos_engine::credentials::pin_key(
        &pos_engine::credentials::CredentialStore::from_env(
            engine.database_path().parent().unwrap(),
        )
        .unwrap(),
        &device_id,
    )
    .unwrap();
    let binding = pin::Binding {
        business_id: 1,
        user_id: id,
        device_id: &device_id,
        version,
    };
    Cashier {
        id,
        business_id: 1,
        name: name.into(),
        role,
        pin_sealed: pin.map(|pin| pin::seal(&key, &binding, &hash(pin))),
        is_active: true,
        version,
        created_at: at(),
        updated_at: at(),
        deleted_at: None,
    }
}

fn pull(engine: &Engine, set: ChangeSet<Cashier>) {
    engine
        .apply_changes(&ChangesResponse {
            success: true,
            data: ChangesData {
                cashiers: Some(set),
                ..ChangesData::default()
            },
            sync_token: "token-2".into(),
            server_timestamp: at(),
            has_more: false,
            total_records: 1,
        })
        .unwrap();
}

#[test]
fn pins_from_the_server_replace_the_tills_and_leave_with_the_person() {
    let dir = tempfile::tempdir().unwrap();
    let engine = till(dir.path());
    // The server knows Sam with another PIN, a new manager Rita, and Alex without a PIN.
    pull(
        &engine,
        ChangeSet {
            created: vec![
                server_user(&engine, 12, "Rita", Role::Manager, Some("555555"), 1),
                server_user(&engine, 13, "Alex", Role::Cashier, None, 1),
            ],
            updated: vec![server_user(
                &engine,
                SAM,
                "Sam Smith",
                Role::Cashier,
                Some("2222"),
                2,
            )],
            deleted: vec![],
        },
    );
    let names: Vec<(i64, String)> = engine
        .cashiers()
        .unwrap()
        .into_iter()
        .map(|c| (c.user_id, c.name))
        .collect();
    assert_eq!(
        names,
        vec![
            (MORGAN, "Morgan".to_string()),
            (12, "Rita".to_string()),
            (SAM, "Sam Smith".to_string())
        ],
        "Alex has no PIN anywhere"
    );
    assert_eq!(
        engine.cashier_switch("1111").unwrap_err().code,
        ErrorCode::WrongPin,
        "the till's old PIN for Sam is replaced"
    );
    assert_eq!(engine.cashier_switch("2222").unwrap().name, "Sam Smith");
    assert_eq!(engine.manager_authorise("555555").unwrap().user_id, 12);
    engine.manager_authorisation_cancel();

    // Promoted on the server without a PIN there: Morgan keeps the till's PIN with the new role.
    pull(
        &engine,
        ChangeSet {
            created: vec![],
            updated: vec![server_user(
                &engine,
                MORGAN,
                "Morgan",
                Role::Cashier,
                None,
                3,
            )],
            deleted: vec![],
        },
    );
    assert_eq!(
        engine.manager_authorise("999999").unwrap_err().code,
        ErrorCode::WrongPin,
        "no longer a manager"
    );
    assert_eq!(engine.cashier_switch("999999").unwrap().user_id, MORGAN);

    // Sam, deactivated on the server while working the till, is switched out; Rita deleted.
    engine.cashier_switch("2222").unwrap();
    let mut gone = server_user(&engine, SAM, "Sam Smith", Role::Cashier, Some("2222"), 4);
    gone.is_active = false;
    pull(
        &engine,
        ChangeSet {
            created: vec![],
            updated: vec![gone],
            deleted: vec![12],
        },
    );
    assert_eq!(engine.active_cashier().unwrap().user_id, 7);
    for pin in ["2222", "555555"] {
        assert_eq!(
            engine.cashier_switch(pin).unwrap_err().code,
            ErrorCode::WrongPin
        );
    }
    assert_eq!(engine.cashiers().unwrap().len(), 1);
}
