//! What the till does with each answer of a batch, on a real SQLite file (the HTTP part is
//! proven end to end against the real server in the workspace tests).
//! Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use pos_engine::{EngineError, ErrorCode, NewCustomer, PartyRef, PaymentInput, SyncState};
use pos_protocol::sync::{
    BatchErrorCode, BatchResponse, BatchSummary, OperationResult, ResultStatus, Warning,
};
use rusqlite::Connection;

fn result(key: &str, status: ResultStatus) -> OperationResult {
    OperationResult {
        idempotency_key: key.into(),
        status,
        replayed: false,
        server_id: None,
        local_id: None,
        invoice_number: None,
        version: None,
        created_at: None,
        warnings: vec![],
        error_code: None,
        error: None,
        conflict: None,
    }
}

fn error(key: &str, code: BatchErrorCode, text: &str) -> OperationResult {
    OperationResult {
        error_code: Some(code),
        error: Some(text.into()),
        ..result(key, ResultStatus::Error)
    }
}

fn answer(results: Vec<OperationResult>) -> BatchResponse {
    BatchResponse {
        success: false,
        summary: BatchSummary {
            total: results.len(),
            success_count: 0,
            error_count: 0,
        },
        results,
        server_timestamp: at(),
    }
}

#[test]
fn each_answer_gets_its_treatment_and_nothing_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let sell = |customer: Option<PartyRef>, payment_type_id: Option<i64>| {
        engine.cart_add_code("COLA0", d("1")).unwrap();
        engine.cart_set_customer(customer).unwrap();
        engine
            .complete_sale(PaymentInput {
                payment_type_id,
                tendered: None,
            })
            .unwrap()
    };
    let sale_a = sell(None, None);
    let bob = engine
        .create_customer(NewCustomer {
            name: "Bob".into(),
            ..NewCustomer::default()
        })
        .unwrap();
    let sale_b = sell(Some(bob.party_ref), Some(3));
    let sale_c = sell(None, None);
    let sale_d = sell(None, None);

    let now = pos_protocol::time::now();
    let (ids, request) = engine.prepare_batch(now).unwrap();
    let keys: Vec<String> = request
        .operations
        .iter()
        .map(|o| o.idempotency_key.clone())
        .collect();
    assert_eq!(
        request
            .operations
            .iter()
            .map(|o| o.entity.as_str())
            .collect::<Vec<_>>(),
        ["sale", "party", "sale", "sale", "sale"],
        "in the order they happened"
    );
    assert_eq!(
        engine.status().pending,
        5,
        "sent but unanswered still counts as pending"
    );

    let warning = Warning::StockDiscrepancy {
        product_id: 10,
        stock_id: 100,
        expected: d("1"),
        available: d("0"),
        discrepancy: d("-1"),
        action: "allowed_negative".into(),
    };
    let outcomes = engine
        .record_batch_answer(
            &ids,
            &request,
            &answer(vec![
                OperationResult {
                    server_id: Some(900),
                    invoice_number: Some("INV-000900".into()),
                    warnings: vec![warning.clone()],
                    ..result(&keys[0], ResultStatus::Created)
                },
                error(
                    &keys[1],
                    BatchErrorCode::ValidationFailed,
                    "phone: too long",
                ),
                error(
                    &keys[2],
                    BatchErrorCode::DependencyFailed,
                    "its party failed",
                ),
                error(&keys[3], BatchErrorCode::Internal, "database restarting"),
                // sale D: no answer at all (a truncated response) → sent again later
            ]),
            now,
        )
        .unwrap();
    assert_eq!(outcomes.len(), 4);

    // A: confirmed with the server's number and warning.
    let a = engine.sale(sale_a.local_id).unwrap();
    assert_eq!(a.sync_state, SyncState::Confirmed);
    assert_eq!(a.invoice_number.as_deref(), Some("INV-000900"));
    assert_eq!(a.warnings, vec![warning]);
    // The party: refused for good, visible with its code.
    let queue = engine.queue().unwrap();
    let party_op = queue.iter().find(|q| q.entity == "party").unwrap();
    assert_eq!(party_op.state, SyncState::Failed);
    assert_eq!(party_op.error_code.as_deref(), Some("VALIDATION_FAILED"));
    assert_eq!(party_op.last_error.as_deref(), Some("phone: too long"));
    // B cannot go without its party: failed with it, saying which operation and why (not
    // left waiting unseen); C retries after a backoff; D is simply queued again.
    let state_of = |local_id| engine.sale(local_id).unwrap().sync_state;
    assert_eq!(state_of(sale_b.local_id), SyncState::Failed);
    let b_op = queue
        .iter()
        .find(|q| q.entity == "sale" && q.state == SyncState::Failed);
    let b_op = b_op.unwrap();
    assert_eq!(b_op.error_code.as_deref(), Some("DEPENDENCY_FAILED"));
    assert_eq!(
        b_op.last_error.as_deref(),
        Some(
            format!(
                "waits for operation {} (new customer Bob), which the server rejected \
                 (VALIDATION_FAILED: phone: too long)",
                party_op.id
            )
            .as_str()
        )
    );
    assert_eq!(
        engine.sale(sale_b.local_id).unwrap().sync_error,
        b_op.last_error
    );
    assert_eq!(state_of(sale_c.local_id), SyncState::Queued);
    assert_eq!(state_of(sale_d.local_id), SyncState::Queued);
    let status = engine.status();
    assert_eq!((status.pending, status.failed), (2, 2));

    // Right now nothing is ready: B is failed with its party, C and D wait their backoff.
    let (ids_now, _) = engine.prepare_batch(now).unwrap();
    assert!(ids_now.is_empty(), "{ids_now:?}");
    // Later C and D go again with the SAME keys; B still waits.
    let later = now + chrono::Duration::seconds(5);
    let (ids_later, again) = engine.prepare_batch(later).unwrap();
    let again_keys: Vec<&str> = again
        .operations
        .iter()
        .map(|o| o.idempotency_key.as_str())
        .collect();
    assert_eq!(again_keys, [keys[3].as_str(), keys[4].as_str()]);
    engine
        .record_batch_answer(
            &ids_later,
            &again,
            &answer(vec![
                OperationResult {
                    replayed: true,
                    server_id: Some(901),
                    invoice_number: Some("INV-000901".into()),
                    ..result(&keys[3], ResultStatus::Created)
                },
                OperationResult {
                    server_id: Some(902),
                    invoice_number: Some("INV-000902".into()),
                    ..result(&keys[4], ResultStatus::Skipped)
                },
            ]),
            later,
        )
        .unwrap();
    assert_eq!(state_of(sale_c.local_id), SyncState::Confirmed);
    assert_eq!(
        engine
            .sale(sale_d.local_id)
            .unwrap()
            .invoice_number
            .as_deref(),
        Some("INV-000902"),
        "skipped (already there) counts as done"
    );

    // A person fixes the party and retries it: the party and then B (back in the queue with
    // it) go out, in order.
    engine.queue_retry(party_op.id).unwrap();
    let (ids_retry, retried) = engine.prepare_batch(later).unwrap();
    assert_eq!(
        retried
            .operations
            .iter()
            .map(|o| o.idempotency_key.as_str())
            .collect::<Vec<_>>(),
        [keys[1].as_str(), keys[2].as_str()]
    );
    engine
        .record_batch_answer(
            &ids_retry,
            &retried,
            &answer(vec![
                OperationResult {
                    server_id: Some(77),
                    ..result(&keys[1], ResultStatus::Created)
                },
                OperationResult {
                    conflict: Some(serde_json::json!({"reason": "needs a manager"})),
                    ..result(&keys[2], ResultStatus::Conflict)
                },
            ]),
            later,
        )
        .unwrap();
    assert_eq!(
        engine.customers("bob").unwrap()[0].id,
        Some(77),
        "server id written back"
    );
    assert_eq!(
        state_of(sale_b.local_id),
        SyncState::Conflict,
        "parked, still visible"
    );
    let status = engine.status();
    assert_eq!((status.pending, status.failed, status.conflicts), (0, 0, 1));

    // Discarding needs a reason and leaves an audit record.
    let conflict_id = engine.queue().unwrap()[0].id;
    assert_eq!(
        engine.queue_discard(conflict_id, "  ").unwrap_err().code,
        ErrorCode::InvalidInput
    );
    engine
        .queue_discard(conflict_id, "customer paid elsewhere")
        .unwrap();
    assert!(engine.queue().unwrap().is_empty());
    assert_eq!(state_of(sale_b.local_id), SyncState::Discarded);
    let db = Connection::open(engine.database_path()).unwrap();
    let audit: Vec<(String, String, String)> = db
        .prepare("SELECT event, reason, by_user FROM outbox_audit ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        audit,
        vec![
            (
                "retry".into(),
                "retried by a person".into(),
                "cashier@example.com".into()
            ),
            (
                "retry".into(),
                format!("retried with operation {}", party_op.id),
                "cashier@example.com".into()
            ),
            (
                "discard".into(),
                "customer paid elsewhere".into(),
                "cashier@example.com".into()
            ),
        ]
    );
    let mapped: i64 = db
        .query_row("SELECT COUNT(*) FROM id_map", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mapped, 4, "three sales and the party");
}

#[test]
fn a_lost_batch_goes_back_to_the_queue_and_an_outdated_terminal_keeps_its_queue() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("WATER", d("1")).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();
    let now = pos_protocol::time::now();

    let (ids, first) = engine.prepare_batch(now).unwrap();
    let unreachable = EngineError::new(ErrorCode::ServerUnreachable, "timed out");
    engine
        .record_batch_failure(&ids, &unreachable, now)
        .unwrap();
    let queued = &engine.queue().unwrap()[0];
    assert_eq!(queued.state, SyncState::Queued);
    assert_eq!(queued.attempts, 1);
    assert!(queued.next_attempt_at.unwrap() > now, "backs off");
    assert_eq!(queued.last_error.as_deref(), Some("timed out"));

    let later = now + chrono::Duration::seconds(1);
    let (ids, second) = engine.prepare_batch(later).unwrap();
    assert_eq!(
        second.operations[0].idempotency_key, first.operations[0].idempotency_key,
        "a retry reuses its key"
    );
    let too_old = EngineError::new(ErrorCode::ClientTooOld, "update the terminal");
    engine.record_batch_failure(&ids, &too_old, later).unwrap();
    assert_eq!(engine.status().pending, 1, "the queue is kept");
    assert_eq!(engine.queue().unwrap()[0].attempts, 2);
    let (ids, _) = engine.prepare_batch(later).unwrap();
    assert_eq!(ids.len(), 1, "due again at once after the update");

    let too_large = EngineError::new(ErrorCode::PayloadTooLarge, "413");
    engine
        .record_batch_failure(&ids, &too_large, later)
        .unwrap();
    let (ids, _) = engine.prepare_batch(later).unwrap();
    assert_eq!(ids.len(), 1, "sent again at once, in a smaller batch");
}
