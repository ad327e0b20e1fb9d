//! Completing a sale (one transaction: sale, lines, outbox operation, offline number) and
//! reading sales back for the history and the receipt.

use pos_protocol::entities::Settings;
use pos_protocol::money::{fits_scale, Bound};
use pos_protocol::sync::{offline_invoice_no, SaleCreate, SaleLineData, Warning};
use pos_protocol::totals::settle;
use pos_protocol::Decimal;
use rusqlite::{params, Connection, OptionalExtension};

use crate::cart::Cart;
use crate::cashiers::{self, Acting, Approval};
use crate::catalog;
use crate::error::{EngineError, ErrorCode, Result};
use crate::mirror::load_settings;
use crate::outbox::{enqueue, state_of, NewOperation, Stamp};
use crate::parties::{self, WireParty};
use crate::shifts::{self, ShiftLink};
use crate::store::{dec_col, dec_text, from_milli, time_col, time_text, to_milli};
use crate::views::{
    CompletedSale, PartyRef, PaymentInput, SaleDetail, SaleLineView, SaleSummary, SyncState,
};

/// Who is selling on which device, and the manager's PIN given for this sale, if any.
pub struct Seller<'a> {
    pub device_id: &'a str,
    pub acting: &'a Acting,
    pub approval: Option<&'a Approval>,
}

/// The settings a sale needs, or a clear error when the catalog was never synced.
pub fn require_settings(conn: &Connection) -> Result<Settings> {
    load_settings(conn)?.ok_or_else(|| {
        EngineError::new(
            ErrorCode::InvalidState,
            "the business settings are not on this till yet: sign in and sync once",
        )
    })
}

/// The payment type a sale uses: the one asked for, else the first non-credit one.
pub fn resolve_payment_type(conn: &Connection, wanted: Option<i64>) -> Result<(i64, String, bool)> {
    let row = match wanted {
        Some(id) => conn
            .prepare_cached("SELECT id, name, is_credit FROM payment_types WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(|| {
                EngineError::not_found(format!("payment_type_id: no payment type {id}"))
            })?,
        None => conn
            .prepare_cached(
                "SELECT id, name, is_credit FROM payment_types WHERE status = 1
                 ORDER BY is_credit, id LIMIT 1",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(|| {
                EngineError::new(
                    ErrorCode::NoPaymentType,
                    "no payment type is known on this till: sync the catalog first",
                )
            })?,
    };
    Ok(row)
}

/// The next offline number: never below one already used here, nor at or below what the server
/// says this device already sent.
fn take_offline_seq(tx: &Connection) -> Result<i64> {
    let (next, server_last): (i64, i64) = tx
        .prepare_cached(
            "SELECT next_offline_seq, last_offline_seq FROM terminal_state WHERE id = 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let used: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(offline_seq), 0) FROM sales")?
        .query_row([], |r| r.get(0))?;
    let seq = next.max(server_last + 1).max(used + 1);
    tx.prepare_cached("UPDATE terminal_state SET next_offline_seq = ?1 WHERE id = 1")?
        .execute([seq + 1])?;
    Ok(seq)
}

/// Completes `cart` as a sale in the caller's transaction.
pub fn complete(
    tx: &Connection,
    cart: &Cart,
    payment: &PaymentInput,
    seller: &Seller<'_>,
    shift: Option<&ShiftLink>,
    stamp: Stamp,
) -> Result<CompletedSale> {
    if cart.is_empty() {
        return Err(EngineError::new(ErrorCode::EmptyCart, "the cart is empty"));
    }
    let settings = require_settings(tx)?;
    let rules = settings.pricing_rules();
    let totals = cart.price(rules)?;
    // The server refuses a sale beyond the amount bound; it must never be queued.
    for (field, amount) in [
        ("total", totals.total_amount),
        ("subtotal", totals.subtotal),
    ] {
        Bound::Amount
            .check(amount)
            .map_err(|problem| EngineError::invalid(format!("{field}: {problem}")))?;
    }
    let authorised_by = match cashiers::discount_over_limit(
        settings.max_cashier_discount_percent,
        totals.discount_amount(),
        totals.subtotal,
    ) {
        Some(limit) => Some(cashiers::authorise(
            tx,
            seller.acting,
            seller.approval,
            &format!("a discount above {limit}% of the sale"),
        )?),
        None => None,
    };
    let (payment_type_id, payment_type_name, is_credit) =
        resolve_payment_type(tx, payment.payment_type_id)?;
    let tendered = if is_credit {
        Decimal::ZERO
    } else {
        payment.tendered.unwrap_or(totals.total_amount)
    };
    if tendered < Decimal::ZERO {
        return Err(EngineError::invalid("tendered: must not be negative"));
    }
    Bound::Amount
        .check(tendered)
        .map_err(|problem| EngineError::invalid(format!("tendered: {problem}")))?;
    if !fits_scale(tendered, rules.minor_units) {
        return Err(EngineError::invalid(format!(
            "tendered: at most {} decimal places",
            rules.minor_units
        )));
    }
    let settlement = settle(totals.total_amount, tendered);
    let party: Option<WireParty> = cart
        .customer
        .map(|p| parties::wire_party(tx, p))
        .transpose()?;
    if settlement.due_amount > Decimal::ZERO && party.is_none() {
        return Err(EngineError::new(
            ErrorCode::DueRequiresCustomer,
            format!(
                "{} stays due: choose or create a customer for it",
                settlement.due_amount
            ),
        ));
    }

    let mut lines = Vec::with_capacity(cart.lines.len());
    for (i, (line, t)) in cart.lines.iter().zip(&totals.lines).enumerate() {
        let stock_id = catalog::stock_for_sale(tx, line.product_id)?.ok_or_else(|| {
            EngineError::new(
                ErrorCode::InvalidState,
                format!(
                    "line {}: {} has no stock row on this till; sync the catalog",
                    i + 1,
                    line.name
                ),
            )
        })?;
        let vat_id = if line.vat_rate.is_zero() {
            None
        } else {
            catalog::product_vat_id(tx, line.product_id)?
        };
        lines.push((i as u32 + 1, stock_id, vat_id, line, t));
    }

    let (shift_id, shift_local_id) = shifts::wire_ids(shift);
    let seq = take_offline_seq(tx)?;
    let offline_no = offline_invoice_no(seller.device_id, seq);
    let mut meta = serde_json::json!({
        "tendered": json_number(tendered),
        "subtotal": json_number(totals.subtotal),
        "vat_inclusive": rules.vat_inclusive,
    });
    if let Some(manager) = authorised_by {
        // The sale payload has no field of its own for it (`sale_return` and `cash_movement`
        // have `authorised_by`).
        meta["discount_authorised_by"] = manager.into();
    }
    let client_reference = uuid::Uuid::new_v4().to_string();
    let payload = SaleCreate {
        local_id: Some(client_reference.clone()),
        offline_invoice_no: Some(offline_no.clone()),
        client_reference: Some(client_reference.clone()),
        party_id: party.as_ref().and_then(|p| p.party_id),
        party_local_id: party.as_ref().and_then(|p| p.party_local_id.clone()),
        new_party: None,
        total_amount: totals.total_amount,
        paid_amount: Some(settlement.paid_amount),
        due_amount: Some(settlement.due_amount),
        change_amount: Some(settlement.change_amount),
        is_paid: Some(settlement.is_paid),
        discount_amount: Some(totals.cart_discount),
        vat_amount: Some(totals.vat_amount),
        vat_percent: None,
        payment_type_id: Some(payment_type_id),
        sale_date: Some(stamp.now),
        meta: Some(meta),
        cashier_id: Some(seller.acting.id),
        shift_id,
        shift_local_id,
        products: lines
            .iter()
            .map(|(line_no, stock_id, vat_id, line, t)| SaleLineData {
                line_no: *line_no,
                stock_id: *stock_id,
                quantities: line.quantity,
                price: line.unit_price,
                discount: Some(t.line_discount),
                vat_id: *vat_id,
                vat_amount: Some(t.vat_amount),
                loss_profit: None,
            })
            .collect(),
    };
    let (outbox_id, _) = enqueue(
        tx,
        NewOperation {
            entity: "sale",
            action: "create",
            payload: serde_json::to_value(&payload)?,
            summary: format!("sale {offline_no}, total {}", totals.total_amount),
            depends_on: party.as_ref().and_then(|p| p.depends_on),
        },
        stamp,
    )?;
    let (party_id, party_local_id) = match cart.customer {
        Some(PartyRef::Server(id)) => (Some(id), None),
        Some(PartyRef::Local(n)) => (None, Some(n)),
        None => (None, None),
    };
    tx.prepare_cached(
        "INSERT INTO sales (client_reference, offline_invoice_no, offline_seq, cashier_id,
           cashier_name, party_id, party_local_id, party_name, subtotal, line_discount,
           cart_discount, vat_amount, vat_inclusive, total_amount, tendered, paid_amount,
           due_amount, change_amount, payment_type_id, payment_type_name, sale_date, outbox_id,
           created_at, shift_local_id, authorised_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?21, ?23, ?24)",
    )?
    .execute(params![
        client_reference,
        offline_no,
        seq,
        seller.acting.id,
        seller.acting.name,
        party_id,
        party_local_id,
        party.as_ref().map(|p| p.name.clone()),
        dec_text(totals.subtotal),
        dec_text(totals.line_discount),
        dec_text(totals.cart_discount),
        dec_text(totals.vat_amount),
        rules.vat_inclusive,
        dec_text(totals.total_amount),
        dec_text(tendered),
        dec_text(settlement.paid_amount),
        dec_text(settlement.due_amount),
        dec_text(settlement.change_amount),
        payment_type_id,
        payment_type_name,
        time_text(&stamp.now),
        outbox_id,
        shift.map(|s| s.local_id),
        authorised_by
    ])?;
    let local_id = tx.last_insert_rowid();
    let mut insert_line = tx.prepare_cached(
        "INSERT INTO sale_lines (sale_local_id, line_no, stock_id, product_id, name, quantity_milli,
           price, line_discount, cart_discount_share, vat_id, vat_rate, vat_amount, total)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for (line_no, stock_id, vat_id, line, t) in &lines {
        insert_line.execute(params![
            local_id,
            line_no,
            stock_id,
            line.product_id,
            line.name,
            to_milli(line.quantity),
            dec_text(line.unit_price),
            dec_text(t.line_discount),
            dec_text(t.cart_discount_share),
            vat_id,
            dec_text(line.vat_rate),
            dec_text(t.vat_amount),
            dec_text(t.total)
        ])?;
    }
    let receipt = detail(tx, local_id)?;
    Ok(CompletedSale {
        local_id,
        offline_invoice_no: offline_no,
        client_reference,
        total: totals.total_amount,
        paid: settlement.paid_amount,
        due: settlement.due_amount,
        change: settlement.change_amount,
        receipt,
    })
}

/// After a pull: the mirror's stock now includes every sale and return the server confirmed.
pub fn settle_confirmed(tx: &Connection) -> Result<()> {
    tx.execute(
        "UPDATE sales SET stock_settled = 1 WHERE stock_settled = 0
           AND outbox_id IN (SELECT id FROM outbox WHERE state = 'done')",
        [],
    )?;
    tx.execute(
        "UPDATE sale_returns SET stock_settled = 1 WHERE stock_settled = 0
           AND outbox_id IN (SELECT id FROM outbox WHERE state = 'done')",
        [],
    )?;
    Ok(())
}

fn warnings_col(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Vec<Warning>> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })
}

/// The error to show for a sale the server refused or parked.
fn sync_error(state: SyncState, last_error: Option<String>) -> Option<String> {
    matches!(
        state,
        SyncState::Failed | SyncState::Conflict | SyncState::Queued
    )
    .then_some(last_error)
    .flatten()
}

pub fn list(conn: &Connection, limit: u32) -> Result<Vec<SaleSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.local_id, s.offline_invoice_no, s.invoice_number, s.total_amount, s.due_amount,
                s.party_name, s.sale_date, o.state, o.last_error, s.warnings
         FROM sales s JOIN outbox o ON o.id = s.outbox_id
         ORDER BY s.local_id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit.max(1)], |r| {
        let state = state_of(&r.get::<_, String>(7)?);
        Ok(SaleSummary {
            local_id: r.get(0)?,
            offline_invoice_no: r.get(1)?,
            invoice_number: r.get(2)?,
            total: dec_col(r, 3)?,
            due: dec_col(r, 4)?,
            customer_name: r.get(5)?,
            sale_date: time_col(r, 6)?,
            sync_state: state,
            sync_error: sync_error(state, r.get(8)?),
            warnings: warnings_col(r, 9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn detail(conn: &Connection, local_id: i64) -> Result<SaleDetail> {
    let settings = load_settings(conn)?;
    let head = conn
        .prepare_cached(
            "SELECT s.local_id, s.offline_invoice_no, s.invoice_number, s.client_reference,
                    s.cashier_name, s.sale_date, s.party_id, s.party_local_id, s.subtotal,
                    s.line_discount, s.cart_discount, s.vat_amount, s.vat_inclusive,
                    s.total_amount, s.tendered, s.paid_amount, s.due_amount, s.change_amount,
                    s.payment_type_id, s.payment_type_name, o.state, o.last_error, s.warnings
             FROM sales s JOIN outbox o ON o.id = s.outbox_id WHERE s.local_id = ?1",
        )?
        .query_row([local_id], |r| {
            let state = state_of(&r.get::<_, String>(20)?);
            let party_id: Option<i64> = r.get(6)?;
            let party_local: Option<i64> = r.get(7)?;
            Ok((
                SaleDetail {
                    local_id: r.get(0)?,
                    offline_invoice_no: r.get(1)?,
                    invoice_number: r.get(2)?,
                    client_reference: r.get(3)?,
                    business_name: String::new(),
                    cashier_name: r.get(4)?,
                    sale_date: time_col(r, 5)?,
                    customer: None,
                    lines: Vec::new(),
                    subtotal: dec_col(r, 8)?,
                    line_discount: dec_col(r, 9)?,
                    cart_discount: dec_col(r, 10)?,
                    vat_amount: dec_col(r, 11)?,
                    vat_inclusive: r.get(12)?,
                    total: dec_col(r, 13)?,
                    tendered: dec_col(r, 14)?,
                    paid: dec_col(r, 15)?,
                    due: dec_col(r, 16)?,
                    change: dec_col(r, 17)?,
                    payment_type_id: r.get(18)?,
                    payment_type_name: r.get(19)?,
                    currency: None,
                    sync_state: state,
                    sync_error: sync_error(state, r.get(21)?),
                    warnings: warnings_col(r, 22)?,
                },
                party_id
                    .map(PartyRef::Server)
                    .or(party_local.map(PartyRef::Local)),
            ))
        })
        .optional()?;
    let (mut sale, party) =
        head.ok_or_else(|| EngineError::not_found(format!("local_id: no sale {local_id}")))?;
    if let Some(settings) = settings {
        sale.business_name = settings.company_name;
        sale.currency = Some(settings.currency);
    }
    sale.customer = party.map(|p| parties::party(conn, p)).transpose()?;
    let mut stmt = conn.prepare_cached(
        "SELECT line_no, product_id, stock_id, name, quantity_milli, price, line_discount,
                cart_discount_share, vat_rate, vat_amount, total, returned_milli
         FROM sale_lines WHERE sale_local_id = ?1 ORDER BY line_no",
    )?;
    let lines = stmt.query_map([local_id], |r| {
        Ok(SaleLineView {
            line_no: r.get(0)?,
            product_id: r.get(1)?,
            stock_id: r.get(2)?,
            name: r.get(3)?,
            quantity: from_milli(r.get(4)?),
            unit_price: dec_col(r, 5)?,
            discount: dec_col(r, 6)? + dec_col(r, 7)?,
            vat_rate: dec_col(r, 8)?,
            vat_amount: dec_col(r, 9)?,
            total: dec_col(r, 10)?,
            returned: from_milli(r.get(11)?),
        })
    })?;
    sale.lines = lines.collect::<rusqlite::Result<_>>()?;
    Ok(sale)
}

/// An exact JSON number (the workspace keeps serde_json's arbitrary precision on).
fn json_number(value: Decimal) -> serde_json::Number {
    serde_json::Number::from_string_unchecked(dec_text(value))
}

/// The sale put money in the drawer: something was paid, through the cash payment type.
pub fn paid_in_cash(conn: &Connection, sale: &SaleDetail) -> Result<bool> {
    if sale.paid <= Decimal::ZERO {
        return Ok(false);
    }
    let is_credit: Option<bool> = conn
        .prepare_cached("SELECT is_credit FROM payment_types WHERE id = ?1")?
        .query_row([sale.payment_type_id], |r| r.get(0))
        .optional()?;
    Ok(shifts::is_cash(
        &sale.payment_type_name,
        is_credit.unwrap_or(false),
    ))
}
