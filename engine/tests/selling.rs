//! Ringing up and completing sales on a real SQLite file.
//! Run under `engine/scripts/with-keyring.sh` (the seeded session keeps its token there).

mod common;

use common::*;
use pos_engine::{Discount, ErrorCode, NewCustomer, PartyRef, PaymentInput, SyncState};
use pos_protocol::sync::{RegisterData, SaleCreate};
use rusqlite::Connection;

#[test]
fn a_three_line_sale_with_discounts_and_vat_prices_to_the_hand_computed_cent() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("COLA0", d("3")).unwrap();
    // Weighed bananas by barcode: 1.25 kg.
    engine.cart_add_code("2000000000015", d("1.25")).unwrap();
    engine.cart_add_code("WATER", d("2")).unwrap();
    engine
        .cart_set_line_discount(1, Discount::Percent(d("10")))
        .unwrap();
    engine
        .cart_set_line_discount(2, Discount::Amount(d("0.49")))
        .unwrap();
    let cart = engine
        .cart_set_discount(Discount::Amount(d("1.00")))
        .unwrap();

    // Gross 3.60 / 2.49 (1.25 × 1.99 = 2.4875) / 1.60; line discounts 0.36 and 0.49 leave
    // 3.24 / 2.00 / 1.60 = 6.84; the 1.00 cart discount is shared 0.47 / 0.29 / 0.24;
    // nets 2.77 / 1.71 / 1.36; VAT 15% of 2.77 = 0.42, 5% of 1.71 = 0.09, none on water.
    let line = |n: usize| &cart.lines[n];
    assert_eq!(
        (line(0).gross, line(1).gross, line(2).gross),
        (d("3.60"), d("2.49"), d("1.60"))
    );
    assert_eq!(
        (
            line(0).cart_discount_share,
            line(1).cart_discount_share,
            line(2).cart_discount_share
        ),
        (d("0.47"), d("0.29"), d("0.24"))
    );
    assert_eq!(
        (line(0).vat_amount, line(1).vat_amount, line(2).vat_amount),
        (d("0.42"), d("0.09"), d("0"))
    );
    assert_eq!(
        (line(0).total, line(1).total, line(2).total),
        (d("3.19"), d("1.80"), d("1.36"))
    );
    assert_eq!(cart.subtotal, d("7.69"));
    assert_eq!(cart.line_discount, d("0.85"));
    assert_eq!(cart.cart_discount, d("1.00"));
    assert_eq!(cart.vat_amount, d("0.51"));
    assert_eq!(cart.total, d("6.35"));

    let sale = engine
        .complete_sale(PaymentInput {
            payment_type_id: None,
            tendered: Some(d("10")),
        })
        .unwrap();
    assert_eq!(sale.total, d("6.35"));
    assert_eq!(sale.change, d("3.65"));
    assert_eq!(sale.due, d("0"));
    assert_eq!(sale.receipt.payment_type_name, "Cash");
    assert_eq!(sale.receipt.cashier_name.as_deref(), Some("Casey Cashier"));
    assert_eq!(sale.receipt.lines.len(), 3);
    assert_eq!(sale.receipt.lines[1].quantity, d("1.25"));
    assert!(
        engine.cart().unwrap().lines.is_empty(),
        "a completed cart starts afresh"
    );

    // The queued payload is what the server will recompute: same lines, same totals.
    let queue = engine.queue().unwrap();
    assert_eq!(queue.len(), 1);
    let payload: SaleCreate = serde_json::from_value(queue[0].payload.clone()).unwrap();
    assert_eq!(payload.total_amount, d("6.35"));
    assert_eq!(payload.discount_amount, Some(d("1.00")));
    assert_eq!(payload.vat_amount, Some(d("0.51")));
    assert_eq!(
        payload.client_reference,
        Some(sale.client_reference.clone())
    );
    assert_eq!(
        payload.offline_invoice_no,
        Some(sale.offline_invoice_no.clone())
    );
    assert_eq!(payload.cashier_id, Some(7));
    let stock_ids: Vec<i64> = payload.products.iter().map(|l| l.stock_id).collect();
    assert_eq!(
        stock_ids,
        vec![100, 103, 104],
        "bananas sell from the batch that has stock"
    );
    let inputs: Vec<_> = payload
        .products
        .iter()
        .zip([d("15"), d("5"), d("0")])
        .map(|(l, rate)| pos_protocol::totals::LineInput {
            quantity: l.quantities,
            unit_price: l.price,
            discount: l.discount.unwrap(),
            vat_rate: rate,
        })
        .collect();
    let server_view = pos_protocol::totals::compute_totals(
        &inputs,
        pos_protocol::totals::CartDiscount::Amount(payload.discount_amount.unwrap()),
        settings(true, false, 2).pricing_rules(),
    )
    .unwrap();
    assert_eq!(server_view.total_amount, payload.total_amount);
}

#[test]
fn vat_inclusive_prices_keep_the_shelf_price_as_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_with(dir.path(), settings(true, true, 2));
    let cart = engine.cart_add_code("COLA0", d("10")).unwrap();
    // 12.00 contains 15% VAT: 12 × 15 / 115 = 1.565… → 1.57
    assert_eq!(cart.total, d("12.00"));
    assert_eq!(cart.vat_amount, d("1.57"));
}

#[test]
fn a_completed_sale_is_one_durable_transaction_found_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("OJ1", d("2")).unwrap();
    let sale = engine.complete_sale(PaymentInput::default()).unwrap();

    // Another connection sees all of it at once: it is committed, not buffered.
    let db = Connection::open(engine.database_path()).unwrap();
    let (offline_no, lines, outbox_key): (String, i64, String) = db
        .query_row(
            "SELECT s.offline_invoice_no,
                    (SELECT COUNT(*) FROM sale_lines l WHERE l.sale_local_id = s.local_id),
                    o.idempotency_key
             FROM sales s JOIN outbox o ON o.id = s.outbox_id WHERE s.client_reference = ?1",
            [&sale.client_reference],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(offline_no, sale.offline_invoice_no);
    assert_eq!(lines, 1);
    assert!(uuid::Uuid::parse_str(&outbox_key).is_ok());
    assert_ne!(outbox_key, sale.client_reference);
    drop(db);
    drop(engine);

    let reopened = open(dir.path());
    let sales = reopened.sales(10).unwrap();
    assert_eq!(sales.len(), 1);
    assert_eq!(sales[0].offline_invoice_no, sale.offline_invoice_no);
    assert_eq!(sales[0].sync_state, SyncState::Queued);
    assert_eq!(reopened.status().pending, 1);
    let detail = reopened.sale(sales[0].local_id).unwrap();
    assert_eq!(detail.total, d("5.23"), "2 × 2.49 = 4.98 plus 5% VAT 0.25");
}

#[test]
fn a_due_needs_a_customer_and_then_raises_what_the_customer_owes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("OJ1", d("4")).unwrap(); // 9.96 + 0.50 VAT = 10.46
    let err = engine
        .complete_sale(PaymentInput {
            payment_type_id: None,
            tendered: Some(d("5")),
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DueRequiresCustomer);
    assert!(err.message.contains("5.46"), "{}", err.message);
    assert_eq!(
        engine.cart().unwrap().lines.len(),
        1,
        "the refused cart is kept"
    );
    assert!(engine.sales(10).unwrap().is_empty(), "nothing was written");
    // A credit payment type leaves everything due, which also needs a customer.
    let err = engine
        .complete_sale(PaymentInput {
            payment_type_id: Some(3),
            tendered: Some(d("100")),
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DueRequiresCustomer);

    engine
        .cart_set_customer(Some(PartyRef::Server(50)))
        .unwrap();
    let sale = engine
        .complete_sale(PaymentInput {
            payment_type_id: None,
            tendered: Some(d("5")),
        })
        .unwrap();
    assert_eq!(
        (sale.paid, sale.due, sale.change),
        (d("5"), d("5.46"), d("0"))
    );
    let alice = engine.customers("alice").unwrap();
    assert_eq!(alice[0].due, d("5.46"), "the unsynced due shows at once");

    // She pays 2.00 of it back, offline.
    let collected = engine
        .collect_due(
            PartyRef::Server(50),
            d("2.00"),
            None,
            Some("cash at the till".into()),
        )
        .unwrap();
    assert_eq!(collected.sync_state, SyncState::Queued);
    assert_eq!(engine.customers("alice").unwrap()[0].due, d("3.46"));
    assert_eq!(engine.status().pending, 2);
}

#[test]
fn a_customer_created_at_the_till_can_carry_a_due_before_the_server_knows_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let err = engine.create_customer(NewCustomer::default()).unwrap_err();
    assert!(err.message.starts_with("name:"), "{}", err.message);
    let bob = engine
        .create_customer(NewCustomer {
            name: " Bob Builder ".into(),
            phone: Some("0711".into()),
            ..NewCustomer::default()
        })
        .unwrap();
    assert_eq!(bob.party_ref, PartyRef::Local(1));
    assert_eq!(bob.name, "Bob Builder");
    assert_eq!("local:1".parse::<PartyRef>().unwrap(), bob.party_ref);

    engine.cart_add_code("WATER", d("1")).unwrap();
    engine.cart_set_customer(Some(bob.party_ref)).unwrap();
    let sale = engine
        .complete_sale(PaymentInput {
            payment_type_id: Some(3),
            tendered: None,
        })
        .unwrap();
    assert_eq!(sale.due, d("0.80"));
    let queue = engine.queue().unwrap();
    assert_eq!(
        queue.iter().map(|q| q.entity.as_str()).collect::<Vec<_>>(),
        ["party", "sale"]
    );
    let party_key = queue[0].payload["local_id"].as_str().unwrap().to_string();
    assert_eq!(queue[1].payload["party_local_id"], party_key.as_str());
    assert_eq!(engine.customers("bob").unwrap()[0].due, d("0.80"));
}

#[test]
fn offline_numbers_are_never_reused_and_continue_after_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let device = engine.device().unwrap();
    let sell = |engine: &pos_engine::Engine| {
        engine.cart_add_code("WATER", d("1")).unwrap();
        engine
            .complete_sale(PaymentInput::default())
            .unwrap()
            .offline_invoice_no
    };
    assert_eq!(sell(&engine), format!("OFF-{}-1", device.short_code));
    assert_eq!(sell(&engine), format!("OFF-{}-2", device.short_code));
    drop(engine);

    let engine = open(dir.path());
    assert_eq!(
        engine.device().unwrap(),
        device,
        "the device keeps its identity"
    );
    assert_eq!(sell(&engine), format!("OFF-{}-3", device.short_code));

    // The server has seen up to 10 from this device (e.g. before a reinstall).
    let registered = |seq| RegisterData {
        device_id: device.id.clone(),
        registered_at: at(),
        last_offline_seq: seq,
        pin_key_accepted: false,
    };
    engine.apply_registration(&registered(10)).unwrap();
    assert_eq!(sell(&engine), format!("OFF-{}-11", device.short_code));
    // A lower number from the server never takes the counter back.
    engine.apply_registration(&registered(2)).unwrap();
    assert_eq!(sell(&engine), format!("OFF-{}-12", device.short_code));
}

#[test]
fn held_carts_come_back_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("COLA0", d("2")).unwrap();
    engine.cart_add_code("OJ1", d("1")).unwrap();
    let before = engine.cart_set_discount(Discount::Percent(d("5"))).unwrap();
    let held = engine.hold_cart("Table 4").unwrap();
    assert_eq!(held.label, "Table 4");
    assert_eq!(held.line_count, 2);
    assert_eq!(held.total, before.total);
    assert!(engine.cart().unwrap().lines.is_empty());

    // Serve someone else meanwhile.
    engine.cart_add_code("WATER", d("1")).unwrap();
    let err = engine.resume_cart(held.id).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidState);
    engine.complete_sale(PaymentInput::default()).unwrap();

    assert_eq!(engine.held_carts().unwrap().len(), 1);
    let resumed = engine.resume_cart(held.id).unwrap();
    assert_eq!(resumed, before);
    assert!(engine.held_carts().unwrap().is_empty());
    let after_void = engine.cart_void_line(1).unwrap();
    assert_eq!(after_void.lines.len(), 1);
    assert_eq!(after_void.lines[0].name, "Orange Juice 1L");
    assert!(engine.cart_clear().unwrap().lines.is_empty());
    assert_eq!(
        engine.resume_cart(held.id).unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[test]
fn search_finds_barcodes_and_codes_exactly_then_names_by_word_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let names = |text: &str| -> Vec<String> {
        engine
            .search_products(text, 20)
            .unwrap()
            .into_iter()
            .map(|p| p.product_name)
            .collect()
    };
    assert_eq!(names("col"), ["Cola Classic 330ml", "Cola Zero 330ml"]);
    assert_eq!(names("zero co"), ["Cola Zero 330ml"]);
    assert_eq!(names("JUI"), ["Orange Juice 1L"]);
    assert!(names("uice").is_empty(), "a prefix, not any substring");
    assert_eq!(names("5000112637922"), ["Cola Zero 330ml"]);
    assert_eq!(names("OJ1"), ["Orange Juice 1L"]);
    let bananas = engine.product_by_code("2000000000015").unwrap().unwrap();
    assert_eq!(bananas.product_code.as_deref(), Some("BAN"));
    assert_eq!(bananas.vat_rate, d("5"));
    assert_eq!(bananas.stock, d("12.5"));
    assert!(engine.product_by_code("nope").unwrap().is_none());
    let drinks = engine.products_in_category(1, 10).unwrap();
    assert_eq!(drinks.len(), 4);
    assert_eq!(engine.categories().unwrap().len(), 2);
    let err = engine.cart_add_code("nope", d("1")).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn shown_stock_is_server_stock_minus_sales_the_mirror_has_not_caught_up_with() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let cola =
        |engine: &pos_engine::Engine| engine.product_by_code("COLA0").unwrap().unwrap().stock;
    assert_eq!(cola(&engine), d("24"));
    engine.cart_add_code("COLA0", d("3")).unwrap();
    engine.complete_sale(PaymentInput::default()).unwrap();
    assert_eq!(cola(&engine), d("21"));

    // The server takes the sale...
    let now = pos_protocol::time::now();
    let (ids, request) = engine.prepare_batch(now).unwrap();
    let answer = pos_protocol::sync::BatchResponse {
        success: true,
        results: vec![created(&request.operations[0].idempotency_key, 900)],
        server_timestamp: now,
        summary: pos_protocol::sync::BatchSummary {
            total: 1,
            success_count: 1,
            error_count: 0,
        },
    };
    engine
        .record_batch_answer(&ids, &request, &answer, now)
        .unwrap();
    // ...but until the pull brings the new stock, the till keeps subtracting it.
    assert_eq!(cola(&engine), d("21"));

    let mut changed = stock(100, 10, "21", "1.20");
    changed.version = 2;
    engine
        .apply_changes(&pos_protocol::sync::ChangesResponse {
            success: true,
            data: pos_protocol::sync::ChangesData {
                stocks: Some(pos_protocol::sync::ChangeSet {
                    created: vec![],
                    updated: vec![changed],
                    deleted: vec![],
                }),
                ..Default::default()
            },
            sync_token: "token-2".into(),
            server_timestamp: now,
            has_more: false,
            total_records: 1,
        })
        .unwrap();
    assert_eq!(cola(&engine), d("21"), "not subtracted twice");
}

fn created(key: &str, server_id: i64) -> pos_protocol::sync::OperationResult {
    pos_protocol::sync::OperationResult {
        idempotency_key: key.into(),
        status: pos_protocol::sync::ResultStatus::Created,
        replayed: false,
        server_id: Some(server_id),
        local_id: None,
        invoice_number: Some(format!("INV-{server_id:06}")),
        version: Some(1),
        created_at: None,
        warnings: vec![],
        error_code: None,
        error: None,
        conflict: None,
    }
}

#[test]
fn the_cart_being_rung_up_survives_a_restart_until_it_is_sold_held_or_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    engine.cart_add_code("COLA0", d("2")).unwrap();
    engine.cart_add_code("BAN", d("1.25")).unwrap();
    engine
        .cart_set_discount(Discount::Percent(d("10")))
        .unwrap();
    engine
        .cart_set_customer(Some(PartyRef::Server(50)))
        .unwrap();
    let before = engine.cart().unwrap();
    drop(engine);

    // The till stopped mid-sale: it opens with the same cart, priced the same.
    let engine = open(dir.path());
    let restored = engine.cart().unwrap();
    assert_eq!(restored, before);
    assert_eq!(restored.lines.len(), 2);
    // A change refused by the pricing leaves the stored cart as it was.
    assert!(engine.cart_set_quantity(1, d("0")).is_err());
    drop(engine);
    let engine = open(dir.path());
    assert_eq!(engine.cart().unwrap(), before);

    // Sold: the next start has an empty cart (the sale is never offered again).
    let sale = engine
        .complete_sale(PaymentInput {
            payment_type_id: Some(1),
            tendered: None,
        })
        .unwrap();
    assert_eq!(sale.total, before.total);
    drop(engine);
    let engine = open(dir.path());
    assert!(engine.cart().unwrap().lines.is_empty());

    // Held: kept among the held carts only; cancelled: gone.
    engine.cart_add_code("OJ1", d("1")).unwrap();
    engine.hold_cart("Table 2").unwrap();
    engine.cart_add_code("WATER", d("3")).unwrap();
    drop(engine);
    let engine = open(dir.path());
    assert_eq!(engine.cart().unwrap().lines.len(), 1);
    assert_eq!(engine.held_carts().unwrap().len(), 1);
    engine.cart_clear().unwrap();
    let held = engine.held_carts().unwrap()[0].id;
    engine.resume_cart(held).unwrap();
    drop(engine);
    let engine = open(dir.path());
    let resumed = engine.cart().unwrap();
    assert_eq!(resumed.lines.len(), 1);
    assert_eq!(resumed.lines[0].product_code.as_deref(), Some("OJ1"));
    engine.cart_clear().unwrap();
    drop(engine);
    assert!(open(dir.path()).cart().unwrap().lines.is_empty());
}
