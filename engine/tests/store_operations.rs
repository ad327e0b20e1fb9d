//! Shifts, the cash drawer, returns and the rescue file on a real SQLite file, on a till worked
//! by a manager (who authorises returns and pay-outs themself; `cashiers.rs` covers cashiers).
//! Run under `engine/scripts/with-keyring.sh` (the seeded session keeps its token there).

mod common;

use common::*;
use pos_engine::{
    CountedCash, Discount, ErrorCode, PaymentInput, RefundInput, ReturnItem, ReturnLineInput,
    ShiftReportKind,
};
use pos_protocol::store_ops::{
    canonical_json, CashMovementCreate, CashMovementKind, DenominationCount, RefundMethod,
    RescueFile, SaleReturnCreate, ShiftData,
};
use pos_protocol::sync::{DueCollectionCreate, SaleCreate};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

const CASH: i64 = 1;
const CARD: i64 = 2;

fn pay(payment_type_id: i64, tendered: &str) -> PaymentInput {
    PaymentInput {
        payment_type_id: Some(payment_type_id),
        tendered: Some(d(tendered)),
    }
}

fn item(code: &str, quantity: &str) -> ReturnLineInput {
    ReturnLineInput {
        item: ReturnItem::Code(code.into()),
        quantity: d(quantity),
    }
}

fn shown_stock(engine: &pos_engine::Engine, code: &str) -> pos_protocol::Decimal {
    engine.product_by_code(code).unwrap().unwrap().stock
}

/// Outbox rows (entity, action, payload) in queue order, read by another connection.
fn outbox(database: &std::path::Path) -> Vec<(String, String, serde_json::Value)> {
    let db = Connection::open(database).unwrap();
    let mut stmt = db
        .prepare("SELECT entity, action, payload FROM outbox ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                serde_json::from_str(&r.get::<_, String>(2)?).unwrap(),
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

#[test]
fn x_and_z_reports_match_the_hand_computed_shift() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_by_manager(dir.path());
    let shift = engine.shift_open(d("100.00")).unwrap();

    // Cash: 2 × 1.20 + 15% VAT = 2.76, paid with 5.00 (2.24 change stays out of the figures).
    engine.cart_add_code("COLA0", d("2")).unwrap();
    let first = engine.complete_sale(pay(CASH, "5.00")).unwrap();
    assert_eq!(first.total, d("2.76"));
    // Cash: 3 × 0.80 (no VAT) = 2.40 and 2 × 2.49 = 4.98 + 5% VAT 0.249 → 0.25 = 5.23; 7.63.
    engine.cart_add_code("WATER", d("3")).unwrap();
    engine.cart_add_code("OJ1", d("2")).unwrap();
    let second = engine.complete_sale(pay(CASH, "10.00")).unwrap();
    assert_eq!(second.total, d("7.63"));
    // Card: 1.20 less 0.20 discount = 1.00 + 15% VAT = 1.15.
    engine.cart_add_code("COLA0", d("1")).unwrap();
    engine
        .cart_set_discount(Discount::Amount(d("0.20")))
        .unwrap();
    let third = engine.complete_sale(pay(CARD, "1.15")).unwrap();
    assert_eq!(third.total, d("1.15"));

    engine.shift_pay_in(d("20.00"), "change top-up").unwrap();
    engine
        .shift_pay_out(d("5.50"), "milk for the staff room")
        .unwrap();
    // One orange juice of the second sale back in cash: 5.23 / 2 = 2.615 → 2.62 (VAT 0.13).
    let refund = engine
        .return_sale(
            &second.offline_invoice_no,
            vec![item("OJ1", "1")],
            RefundInput::Cash,
        )
        .unwrap();
    assert_eq!(refund.refund_amount, d("2.62"));
    assert!(refund.refund_is_cash);
    assert_eq!(refund.shift_local_id, Some(shift.local_id));

    let x = engine.shift_report().unwrap();
    assert_eq!(x.kind, ShiftReportKind::X);
    assert_eq!(x.sales_count, 3);
    assert_eq!(x.sales_total, d("11.54"));
    assert_eq!(x.discounts, d("0.20"));
    assert_eq!(x.vat, d("0.76"));
    assert_eq!(
        (x.refunds_count, x.refunds, x.refunds_vat),
        (1, d("2.62"), d("0.13"))
    );
    assert_eq!(x.opening_float, d("100.00"));
    assert_eq!(x.cash_sales, d("10.39"));
    assert_eq!(x.cash_refunds, d("2.62"));
    assert_eq!((x.pay_ins, x.pay_outs), (d("20.00"), d("5.50")));
    // 100 + 10.39 − 2.62 + 20 − 5.50
    assert_eq!(x.expected_cash, d("122.27"));
    assert_eq!((x.counted_cash, x.difference), (None, None));
    let cash = x
        .by_payment_type
        .iter()
        .find(|t| t.payment_type_id == Some(CASH))
        .unwrap();
    assert!(cash.is_cash);
    assert_eq!(
        (cash.sales_count, cash.sales, cash.refunds),
        (2, d("10.39"), d("2.62"))
    );
    let card = x
        .by_payment_type
        .iter()
        .find(|t| t.payment_type_id == Some(CARD))
        .unwrap();
    assert!(!card.is_cash);
    assert_eq!((card.sales_count, card.sales), (1, d("1.15")));

    // Counted note by note: 5 × 20 + 2 × 10 + 2 + 0.20 + 0.05 = 122.25, two cents short.
    let denominations = vec![
        DenominationCount {
            value: d("20"),
            count: 5,
        },
        DenominationCount {
            value: d("10"),
            count: 2,
        },
        DenominationCount {
            value: d("2"),
            count: 1,
        },
        DenominationCount {
            value: d("0.20"),
            count: 1,
        },
        DenominationCount {
            value: d("0.05"),
            count: 1,
        },
    ];
    let z = engine
        .shift_close(CountedCash::Denominations(denominations.clone()))
        .unwrap();
    assert_eq!(z.kind, ShiftReportKind::Z);
    assert_eq!(z.expected_cash, d("122.27"));
    assert_eq!(z.counted_cash, Some(d("122.25")));
    assert_eq!(z.difference, Some(d("-0.02")));
    assert_eq!(z.counted_denominations, Some(denominations.clone()));
    drop(engine);

    // After reopening, the report of the last shift is the same Z report.
    let engine = open(dir.path());
    assert_eq!(engine.shift_report().unwrap(), z);

    // The wire: every operation names its shift, the close carries the count and expectation.
    let ops = outbox(&engine.database_path());
    let kinds: Vec<(&str, &str)> = ops
        .iter()
        .map(|(e, a, _)| (e.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("shift", "open"),
            ("sale", "create"),
            ("sale", "create"),
            ("sale", "create"),
            ("cash_movement", "create"),
            ("cash_movement", "create"),
            ("sale_return", "create"),
            ("shift", "close"),
        ]
    );
    let open_data: ShiftData = serde_json::from_value(ops[0].2.clone()).unwrap();
    assert_eq!(
        open_data.local_id.as_deref(),
        Some(shift.client_reference.as_str())
    );
    assert_eq!(open_data.opening_float, Some(d("100.00")));
    assert_eq!(open_data.cashier_id, Some(7));
    for (_, _, payload) in &ops[1..4] {
        let sale: SaleCreate = serde_json::from_value(payload.clone()).unwrap();
        assert_eq!(
            sale.shift_local_id.as_deref(),
            Some(shift.client_reference.as_str())
        );
    }
    let pay_out: CashMovementCreate = serde_json::from_value(ops[5].2.clone()).unwrap();
    assert_eq!(pay_out.kind, CashMovementKind::PayOut);
    assert_eq!(pay_out.amount, d("5.50"));
    assert_eq!(pay_out.reason.as_deref(), Some("milk for the staff room"));
    assert_eq!(
        pay_out.shift_local_id.as_deref(),
        Some(shift.client_reference.as_str())
    );
    let ret: SaleReturnCreate = serde_json::from_value(ops[6].2.clone()).unwrap();
    assert_eq!(
        ret.sale_local_id.as_deref(),
        Some(second.client_reference.as_str())
    );
    assert_eq!(ret.lines.len(), 1);
    assert_eq!((ret.lines[0].line_no, ret.lines[0].quantity), (2, d("1")));
    assert_eq!(ret.refund_method, RefundMethod::Cash);
    assert_eq!(ret.payment_type_id, Some(CASH));
    assert_eq!(ret.refund_amount, d("2.62"));
    assert_eq!(ret.client_reference, ret.local_id);
    let close: ShiftData = serde_json::from_value(ops[7].2.clone()).unwrap();
    assert_eq!(close.counted_cash, Some(d("122.25")));
    assert_eq!(close.expected_cash, Some(d("122.27")));
    assert_eq!(close.counted_denominations, Some(denominations));
    assert!(close.closed_at.is_some());
}

#[test]
fn shifts_required_refuses_selling_without_an_open_shift() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = settings(true, false, 2);
    rules.shifts_required = true;
    let engine = seeded_with(dir.path(), rules);
    engine.cart_add_code("COLA0", d("1")).unwrap();
    let refused = engine.complete_sale(PaymentInput::default()).unwrap_err();
    assert_eq!(refused.code, ErrorCode::NoOpenShift);
    assert!(
        refused.message.contains("open shift"),
        "{}",
        refused.message
    );
    assert!(engine.queue().unwrap().is_empty(), "nothing was queued");
    assert_eq!(engine.cart().unwrap().lines.len(), 1, "the cart is kept");

    engine.shift_open(d("50")).unwrap();
    let sale = engine.complete_sale(PaymentInput::default()).unwrap();
    assert!(sale.offline_invoice_no.ends_with("-1"));
}

#[test]
fn a_closed_shift_cannot_change() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_by_manager(dir.path());
    assert_eq!(
        engine.shift_report().unwrap_err().code,
        ErrorCode::NoOpenShift
    );
    engine.shift_open(d("10")).unwrap();
    assert_eq!(
        engine.shift_open(d("10")).unwrap_err().code,
        ErrorCode::InvalidState,
        "one open shift at a time"
    );
    // A no-sale drawer opening is logged and moves no money.
    let opened = engine.shift_drawer_open("customer wanted change").unwrap();
    assert_eq!(opened.kind, CashMovementKind::DrawerOpen);
    assert_eq!(opened.amount, d("0"));
    let logged: CashMovementCreate =
        serde_json::from_value(engine.queue().unwrap()[1].payload.clone()).unwrap();
    assert_eq!(logged.kind, CashMovementKind::DrawerOpen);
    assert_eq!(logged.reason.as_deref(), Some("customer wanted change"));
    let z = engine.shift_close(CountedCash::Total(d("10"))).unwrap();
    assert_eq!(z.difference, Some(d("0")));

    for refused in [
        engine.shift_pay_in(d("1"), "late").unwrap_err(),
        engine.shift_pay_out(d("1"), "late").unwrap_err(),
        engine.shift_close(CountedCash::Total(d("11"))).unwrap_err(),
    ] {
        assert_eq!(refused.code, ErrorCode::NoOpenShift, "{}", refused.message);
    }
    // A sale after the close belongs to no shift, not to the closed one.
    engine.cart_add_code("WATER", d("1")).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();
    assert_eq!(engine.shift_report().unwrap(), z);

    // Not even straight SQL can change it.
    let db = Connection::open(engine.database_path()).unwrap();
    let err = db
        .execute(
            "UPDATE shifts SET counted_cash = '999' WHERE local_id = 1",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("closed shift"), "{err}");
    let err = db
        .execute(
            "INSERT INTO cash_movements (client_reference, shift_local_id, kind, amount, outbox_id,
               created_at) VALUES ('x', 1, 'pay_in', '5', 1, '2026-11-25T10:00:00.000Z')",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("closed shift"), "{err}");
}

#[test]
fn bad_cash_amounts_and_missing_reasons_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_by_manager(dir.path());
    assert!(engine
        .shift_open(d("-1"))
        .unwrap_err()
        .message
        .contains("float"));
    assert!(engine
        .shift_open(d("1.001"))
        .unwrap_err()
        .message
        .contains("decimal places"));
    engine.shift_open(d("0")).unwrap();
    assert!(engine
        .shift_pay_in(d("0"), "x")
        .unwrap_err()
        .message
        .contains("amount"));
    assert!(engine
        .shift_pay_out(d("2"), "  ")
        .unwrap_err()
        .message
        .contains("reason"));
    assert_eq!(engine.queue().unwrap().len(), 1, "only the open was queued");
}

#[test]
fn returns_never_exceed_what_is_left_and_put_the_stock_back() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_by_manager(dir.path());
    assert_eq!(shown_stock(&engine, "COLA0"), d("24"));
    engine.cart_add_code("COLA0", d("3")).unwrap();
    engine.cart_add_code("WATER", d("1")).unwrap();
    let sale = engine.complete_sale(PaymentInput::default()).unwrap();
    assert_eq!(shown_stock(&engine, "COLA0"), d("21"));

    // 3 × 1.20 + 15% = 4.14 on line 1: 1.38 per can.
    let first = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("COLA0", "2")],
            RefundInput::Cash,
        )
        .unwrap();
    assert_eq!(first.refund_amount, d("2.76"));
    assert_eq!(shown_stock(&engine, "COLA0"), d("23"));

    let refused = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("COLA0", "2")],
            RefundInput::Cash,
        )
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::ReturnExceedsSale);
    assert!(
        refused.message.contains("line 1 (Cola Zero 330ml)")
            && refused.message.contains("only 1 left"),
        "{}",
        refused.message
    );
    // Two entries for the same line count together.
    let refused = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![
                item("COLA0", "1"),
                ReturnLineInput {
                    item: ReturnItem::LineNo(1),
                    quantity: d("1"),
                },
            ],
            RefundInput::Cash,
        )
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::ReturnExceedsSale);
    assert_eq!(
        engine.queue().unwrap().len(),
        2,
        "a refused return queues nothing"
    );
    assert_eq!(shown_stock(&engine, "COLA0"), d("23"));

    // The last can takes what is left of the line exactly; refund by card this time.
    let last = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![ReturnLineInput {
                item: ReturnItem::LineNo(1),
                quantity: d("1"),
            }],
            RefundInput::PaymentType(CARD),
        )
        .unwrap();
    assert_eq!(last.refund_amount, d("1.38"));
    assert!(!last.refund_is_cash);
    assert_eq!(last.refund_method, RefundMethod::PaymentType);
    assert_eq!(shown_stock(&engine, "COLA0"), d("24"));

    // Unknown things are named.
    let missing = engine
        .return_sale("OFF-NOPE-9", vec![item("COLA0", "1")], RefundInput::Cash)
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
    assert!(missing.message.contains("OFF-NOPE-9"));
    let not_on_sale = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("OJ1", "1")],
            RefundInput::Cash,
        )
        .unwrap_err();
    assert!(
        not_on_sale.message.contains("not on sale"),
        "{}",
        not_on_sale.message
    );
    let no_customer = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("WATER", "1")],
            RefundInput::Due,
        )
        .unwrap_err();
    assert_eq!(no_customer.code, ErrorCode::DueRequiresCustomer);

    // After reopening the file, the returned quantities are still known.
    drop(engine);
    let engine = open(dir.path());
    assert_eq!(shown_stock(&engine, "COLA0"), d("24"));
    let history = engine.sale(sale.local_id).unwrap();
    assert_eq!(
        (history.lines[0].returned, history.lines[1].returned),
        (d("3"), d("0"))
    );
    let again = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("COLA0", "1")],
            RefundInput::Cash,
        )
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::ReturnExceedsSale);
}

#[test]
fn each_operation_and_its_outbox_row_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_by_manager(dir.path());
    let db = Connection::open(engine.database_path()).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };

    let shift = engine.shift_open(d("25")).unwrap();
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM shifts s JOIN outbox o ON o.id = s.open_outbox_id
               WHERE o.entity = 'shift' AND o.action = 'open'"
        ),
        1
    );
    let movement = engine.shift_pay_in(d("5"), "float top-up").unwrap();
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM cash_movements m JOIN outbox o ON o.id = m.outbox_id
             WHERE m.local_id = {} AND json_extract(o.payload, '$.local_id') = m.client_reference",
            movement.local_id
        )),
        1
    );
    engine.cart_add_code("COLA0", d("1")).unwrap();
    let sale = engine.complete_sale(PaymentInput::default()).unwrap();
    assert_eq!(
        count(&format!(
            "SELECT shift_local_id FROM sales WHERE local_id = {}",
            sale.local_id
        )),
        shift.local_id
    );
    let customer = engine.customers("Alice").unwrap()[0].party_ref;
    engine.collect_due(customer, d("3"), None, None).unwrap();
    let due: DueCollectionCreate =
        serde_json::from_value(engine.queue().unwrap().last().unwrap().payload.clone()).unwrap();
    assert_eq!(
        due.shift_local_id.as_deref(),
        Some(shift.client_reference.as_str())
    );
    let ret = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("COLA0", "1")],
            RefundInput::Cash,
        )
        .unwrap();
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM sale_returns r JOIN outbox o ON o.id = r.outbox_id
             WHERE r.local_id = {} AND o.entity = 'sale_return'
               AND json_extract(o.payload, '$.client_reference') = r.client_reference",
            ret.local_id
        )),
        1
    );
    let z = engine.shift_close(CountedCash::Total(d("31.62"))).unwrap();
    // 25 + 1.38 cash sale + 3 cash due collection − 1.38 refund + 5 pay-in = 33.00
    assert_eq!(z.cash_due_collections, d("3"));
    assert_eq!(z.expected_cash, d("33.00"));
    assert_eq!(z.difference, Some(d("-1.38")));
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM shifts s JOIN outbox o ON o.id = s.close_outbox_id
               WHERE o.action = 'close' AND s.closed_at IS NOT NULL"
        ),
        1
    );

    // Reopened: every row is there with its operation; nothing half-written.
    drop(engine);
    let engine = open(dir.path());
    assert_eq!(engine.queue().unwrap().len(), 6);
    assert_eq!(engine.shift_report().unwrap(), z);
}

#[test]
fn rescue_export_holds_every_unsynced_operation_with_a_checksum_and_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_by_manager(dir.path());
    engine.shift_open(d("10")).unwrap();
    engine.cart_add_code("COLA0", d("2")).unwrap();
    let sale = engine.complete_sale(PaymentInput::default()).unwrap();
    engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("COLA0", "1")],
            RefundInput::Cash,
        )
        .unwrap();
    let queue = engine.queue().unwrap();
    assert_eq!(queue.len(), 3);

    let path = dir.path().join("rescue.json");
    let written = engine.rescue_export(&path).unwrap();
    assert_eq!(written.operations, 3);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("test-token-0123456789"),
        "the token never leaves the store"
    );
    let file: RescueFile = serde_json::from_str(&text).unwrap();
    assert_eq!(file.format, "pos-terminal-rescue");
    assert_eq!(file.format_version, 1);
    assert_eq!(file.content.device_id, engine.device().unwrap().id);
    assert_eq!(file.content.business_id, Some(1));
    let keys: Vec<&str> = file
        .content
        .operations
        .iter()
        .map(|o| o.idempotency_key.as_str())
        .collect();
    let queued: Vec<&str> = queue.iter().map(|o| o.idempotency_key.as_str()).collect();
    assert_eq!(keys, queued);
    let sale_op = &file.content.operations[1];
    assert_eq!(
        (sale_op.entity.as_str(), sale_op.action.as_str()),
        ("sale", "create")
    );
    assert_eq!(
        sale_op.client_reference.as_deref(),
        Some(sale.client_reference.as_str())
    );
    assert_eq!(sale_op.data, queue[1].payload);
    assert_eq!(sale_op.state, "queued");

    // The checksum is SHA-256 of the canonical content, recomputed from the file as read.
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    let digest = Sha256::digest(canonical_json(&raw["content"]).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(file.sha256, hex);
    assert_eq!(written.sha256, hex);
    // A changed amount no longer matches.
    let tampered = text.replacen("\"totalAmount\": 2.76", "\"totalAmount\": 0.01", 1);
    assert_ne!(tampered, text);
    let raw: serde_json::Value = serde_json::from_str(&tampered).unwrap();
    let digest = Sha256::digest(canonical_json(&raw["content"]).as_bytes());
    let other: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_ne!(other, hex);

    // A discarded operation is not unsynced work any more.
    engine
        .queue_discard(queue[2].id, "customer kept it")
        .unwrap();
    assert_eq!(engine.rescue_export(&path).unwrap().operations, 2);
    // Nothing can be returned against a sale that was discarded.
    engine
        .queue_discard(queue[1].id, "rung up twice by mistake")
        .unwrap();
    let refused = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("COLA0", "1")],
            RefundInput::Cash,
        )
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidState);
    assert!(refused.message.contains("discarded"), "{}", refused.message);
}

#[test]
fn money_back_is_never_more_than_was_paid_the_rest_comes_off_the_due() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_by_manager(dir.path());
    let alice = engine.customers("Alice").unwrap()[0].party_ref;
    // 2 × 2.49 + 5% VAT = 5.23, of which 2.00 paid and 3.23 left owing.
    engine.cart_add_code("OJ1", d("2")).unwrap();
    engine.cart_set_customer(Some(alice)).unwrap();
    let sale = engine.complete_sale(pay(CASH, "2.00")).unwrap();
    assert_eq!((sale.total, sale.due), (d("5.23"), d("3.23")));

    let refused = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("OJ1", "2")],
            RefundInput::Cash,
        )
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidInput);
    assert!(
        refused.message.contains("more than the 2 paid on sale"),
        "{}",
        refused.message
    );

    // One bottle (2.62) against the due; the other (2.61, what is left of the line) is more
    // than the 2.00 paid, so it goes against the due too.
    let first = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("OJ1", "1")],
            RefundInput::Due,
        )
        .unwrap();
    assert_eq!(first.refund_amount, d("2.62"));
    assert_eq!(first.refund_method, RefundMethod::Due);
    assert!(engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("OJ1", "1")],
            RefundInput::Cash
        )
        .is_err());
    let second = engine
        .return_sale(
            &sale.offline_invoice_no,
            vec![item("OJ1", "1")],
            RefundInput::Due,
        )
        .unwrap();
    assert_eq!(second.refund_amount, d("2.61"));
    let ret: SaleReturnCreate =
        serde_json::from_value(engine.queue().unwrap().last().unwrap().payload.clone()).unwrap();
    assert_eq!(
        (ret.refund_method, ret.payment_type_id),
        (RefundMethod::Due, None)
    );
}

/// A till that sold on the previous schema (version 4) upgrades in place: its sale can be
/// returned and sales after the upgrade join shifts.
#[test]
fn a_version_4_file_with_a_sale_upgrades_and_takes_returns() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Connection::open(dir.path().join("pos-terminal.db")).unwrap();
        for sql in [
            include_str!("../../migrations-local/0001_initial.sql"),
            include_str!("../../migrations-local/0002_faster_name_search.sql"),
            include_str!("../../migrations-local/0003_last_error_code.sql"),
            include_str!("../../migrations-local/0004_business_of_the_queue.sql"),
        ] {
            db.execute_batch(sql).unwrap();
        }
        db.pragma_update(None, "user_version", 4).unwrap();
        db.execute_batch(
            "INSERT INTO outbox (idempotency_key, entity, action, payload, summary,
               offline_timestamp, created_at, updated_at)
             VALUES ('k-old', 'sale', 'create', '{}', 'sale OFF-OLD-1', '2026-11-24T10:00:00.000Z',
                     '2026-11-24T10:00:00.000Z', '2026-11-24T10:00:00.000Z');
             INSERT INTO sales (client_reference, offline_invoice_no, offline_seq, subtotal,
               line_discount, cart_discount, vat_amount, vat_inclusive, total_amount, tendered,
               paid_amount, due_amount, change_amount, payment_type_id, payment_type_name,
               sale_date, outbox_id, created_at)
             VALUES ('ref-old', 'OFF-OLD-1', 1, '2.4', '0', '0', '0.36', 0, '2.76', '2.76',
                     '2.76', '0', '0', 1, 'Cash', '2026-11-24T10:00:00.000Z', 1,
                     '2026-11-24T10:00:00.000Z');
             INSERT INTO sale_lines (sale_local_id, line_no, stock_id, product_id, name,
               quantity_milli, price, line_discount, cart_discount_share, vat_id, vat_rate,
               vat_amount, total)
             VALUES (1, 1, 100, 10, 'Cola Zero 330ml', 2000, '1.2', '0', '0', 1, '15', '0.36',
                     '2.76');",
        )
        .unwrap();
    }
    let engine = seeded_by_manager(dir.path());
    engine.shift_open(d("10")).unwrap();
    let back = engine
        .return_sale("OFF-OLD-1", vec![item("COLA0", "1")], RefundInput::Cash)
        .unwrap();
    assert_eq!(back.refund_amount, d("1.38"));
    let ret: SaleReturnCreate =
        serde_json::from_value(engine.queue().unwrap().last().unwrap().payload.clone()).unwrap();
    assert_eq!(ret.sale_local_id.as_deref(), Some("ref-old"));
    // 10 + 0 − 1.38: the old sale belongs to no shift, its refund to the open one.
    assert_eq!(engine.shift_report().unwrap().expected_cash, d("8.62"));
}
