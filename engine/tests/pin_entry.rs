//! PIN entry at the till, on a real SQLite file: five wrong PINs in a row lock it, the lock
//! survives a restart and says how long it lasts, a manager's online sign-in or the time lifts
//! it; a manager's or owner's PIN needs 6 digits or more. Run under
//! `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use pos_engine::{CashierView, Engine, EngineError, ErrorCode};
use pos_protocol::auth::Role;
use rusqlite::Connection;

const SAM: i64 = 8;
const MORGAN: i64 = 9;

fn person(user_id: i64, name: &str, role: Role) -> CashierView {
    CashierView {
        user_id,
        name: name.into(),
        role,
    }
}

/// A till signed in by a manager, with cashier Sam (1111) and manager Morgan (246800).
fn till(dir: &std::path::Path) -> Engine {
    let engine = seeded_by_manager(dir);
    engine
        .cashier_set_pin(person(SAM, "Sam", Role::Cashier), "1111")
        .unwrap();
    engine
        .cashier_set_pin(person(MORGAN, "Morgan", Role::Manager), "246800")
        .unwrap();
    engine
}

fn code(error: &EngineError) -> String {
    serde_json::to_value(error.code)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn five_wrong_pins_lock_pin_entry_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = till(dir.path());
    for n in 1..=4 {
        let wrong = engine.cashier_switch("2222").unwrap_err();
        assert_eq!(code(&wrong), "wrong_pin", "try {n}: {wrong}");
        assert!(wrong.message.contains("more wrong PIN"), "{wrong}");
    }
    let fifth = engine.manager_authorise("135246").unwrap_err();
    assert_eq!(code(&fifth), "pin_locked", "{fifth}");
    assert!(fifth.message.contains("5 minute"), "{fifth}");

    // Locked: the right PINs do nothing now, not even after the till restarts.
    for refused in [
        engine.cashier_switch("1111").unwrap_err(),
        engine.manager_authorise("246800").unwrap_err(),
    ] {
        assert_eq!(code(&refused), "pin_locked", "{refused}");
        assert!(refused.message.contains("minute"), "{refused}");
    }
    drop(engine);
    let engine = open(dir.path());
    let refused = engine.cashier_switch("1111").unwrap_err();
    assert_eq!(code(&refused), "pin_locked", "after a restart: {refused}");

    // A manager signing in online lifts it.
    let mut sign_in = sign_in_data("test-token-0123456789");
    sign_in.user.role = Role::Manager;
    engine
        .adopt_session("http://127.0.0.1:9", sign_in, None)
        .unwrap();
    assert_eq!(engine.cashier_switch("1111").unwrap().user_id, SAM);

    // Once the time is up, PIN entry opens again too; a right PIN starts the count afresh.
    for _ in 0..5 {
        engine.cashier_switch("2222").unwrap_err();
    }
    assert_eq!(
        engine.cashier_switch("1111").unwrap_err().code,
        ErrorCode::PinLocked
    );
    let db = Connection::open(engine.database_path()).unwrap();
    db.execute(
        "UPDATE terminal_state SET pin_locked_until = '2000-01-01T00:00:00.000Z'",
        [],
    )
    .unwrap();
    assert_eq!(engine.cashier_switch("1111").unwrap().user_id, SAM);
    let wrong = engine.cashier_switch("2222").unwrap_err();
    assert_eq!(wrong.code, ErrorCode::WrongPin, "{wrong}");
    assert!(wrong.message.contains("4 more"), "{wrong}");
}

#[test]
fn a_lock_after_more_wrong_pins_lasts_longer() {
    let dir = tempfile::tempdir().unwrap();
    let engine = till(dir.path());
    let db = Connection::open(engine.database_path()).unwrap();
    let unlock = || {
        db.execute(
            "UPDATE terminal_state SET pin_locked_until = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .unwrap()
    };
    for _ in 0..5 {
        engine.cashier_switch("2222").unwrap_err();
    }
    unlock();
    let sixth = engine.cashier_switch("2222").unwrap_err();
    assert_eq!(sixth.code, ErrorCode::PinLocked);
    assert!(sixth.message.contains("10 minute"), "{sixth}");
    for _ in 0..6 {
        unlock();
        engine.cashier_switch("2222").unwrap_err();
    }
    let longest = engine.cashier_switch("1111").unwrap_err();
    assert!(longest.message.contains("60 minute"), "{longest}");
}

#[test]
fn a_managers_pin_of_four_digits_is_refused_at_the_till() {
    let dir = tempfile::tempdir().unwrap();
    let engine = till(dir.path());
    for (role, short) in [(Role::Manager, "1357"), (Role::Owner, "13579")] {
        let refused = engine
            .cashier_set_pin(person(20, "Robin", role), short)
            .unwrap_err();
        assert_eq!(code(&refused), "invalid_input", "{role:?} {short}");
        assert!(refused.message.contains("6 to 12"), "{refused}");
    }
    engine
        .cashier_set_pin(person(20, "Robin", Role::Manager), "13579135")
        .unwrap();
    assert_eq!(engine.manager_authorise("13579135").unwrap().user_id, 20);
    // A cashier's PIN is still 4 to 6 digits.
    assert_eq!(
        code(
            &engine
                .cashier_set_pin(person(21, "Jo", Role::Cashier), "1234567")
                .unwrap_err()
        ),
        "invalid_input"
    );
    assert_no_verifier_in(dir.path());
}
