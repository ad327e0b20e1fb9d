//! Returns against this till's sales, offline: by line and quantity, never more than is left
//! of a line, refunded in cash (counted in the open shift), by a payment type or against the
//! customer's due. One transaction: the return, its lines, the sale lines' returned quantity
//! and the `sale_return` operation.

use std::collections::BTreeMap;

use pos_protocol::money::{Bound, MAX_QUANTITY};
use pos_protocol::store_ops::{refund_share, RefundMethod, SaleReturnCreate, SaleReturnLine};
use pos_protocol::Decimal;
use rusqlite::{params, Connection, OptionalExtension};

use crate::catalog;
use crate::error::{EngineError, ErrorCode, Result};
use crate::outbox::{enqueue, state_of, NewOperation, Stamp};
use crate::sales::resolve_payment_type;
use crate::shifts::{self, Cashier, ShiftLink};
use crate::store::{dec_col, dec_text, from_milli, parse_dec, time_text, to_milli};
use crate::views::{RefundInput, ReturnItem, ReturnLineInput, ReturnLineView, ReturnView};

pub(crate) struct SaleHead {
    pub local_id: i64,
    /// State of the sale's own operation.
    state: String,
    /// What the customer paid (the rest stayed as their due).
    paid: Decimal,
    offline_invoice_no: String,
    key: String,
    server_id: Option<i64>,
    outbox_id: i64,
    has_customer: bool,
}

struct SoldLine {
    line_no: u32,
    product_id: i64,
    stock_id: i64,
    name: String,
    sold_milli: i64,
    returned_milli: i64,
    total: Decimal,
    vat_amount: Decimal,
    refunded_before: Decimal,
    vat_refunded_before: Decimal,
}

pub(crate) fn find_sale(conn: &Connection, invoice: &str) -> Result<SaleHead> {
    let invoice = invoice.trim();
    conn.query_row(
        "SELECT s.local_id, s.offline_invoice_no, s.client_reference, s.server_id, s.outbox_id,
                s.party_id IS NOT NULL OR s.party_local_id IS NOT NULL, o.state, s.paid_amount
         FROM sales s JOIN outbox o ON o.id = s.outbox_id
         WHERE s.offline_invoice_no = ?1 OR s.invoice_number = ?1
         ORDER BY s.local_id LIMIT 1",
        [invoice],
        |r| {
            Ok(SaleHead {
                local_id: r.get(0)?,
                state: r.get(6)?,
                paid: dec_col(r, 7)?,
                offline_invoice_no: r.get(1)?,
                key: r.get(2)?,
                server_id: r.get(3)?,
                outbox_id: r.get(4)?,
                has_customer: r.get(5)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| {
        EngineError::not_found(format!(
            "invoice: no sale '{invoice}' on this till (offline or server invoice number)"
        ))
    })
}

fn sold_lines(conn: &Connection, sale_local_id: i64) -> Result<Vec<SoldLine>> {
    let mut stmt = conn.prepare_cached(
        "SELECT line_no, product_id, stock_id, name, quantity_milli, returned_milli, total,
                vat_amount
         FROM sale_lines WHERE sale_local_id = ?1 ORDER BY line_no",
    )?;
    let rows = stmt.query_map([sale_local_id], |r| {
        Ok(SoldLine {
            line_no: r.get(0)?,
            product_id: r.get(1)?,
            stock_id: r.get(2)?,
            name: r.get(3)?,
            sold_milli: r.get(4)?,
            returned_milli: r.get(5)?,
            total: dec_col(r, 6)?,
            vat_amount: dec_col(r, 7)?,
            refunded_before: Decimal::ZERO,
            vat_refunded_before: Decimal::ZERO,
        })
    })?;
    let mut lines = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut earlier = conn.prepare_cached(
        "SELECT l.line_no, l.amount, l.vat_amount FROM sale_return_lines l
         JOIN sale_returns r ON r.local_id = l.return_local_id WHERE r.sale_local_id = ?1",
    )?;
    let rows = earlier.query_map([sale_local_id], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (line_no, amount, vat) = row?;
        if let Some(line) = lines.iter_mut().find(|l| l.line_no == line_no) {
            line.refunded_before += parse_dec(&amount)?;
            line.vat_refunded_before += parse_dec(&vat)?;
        }
    }
    Ok(lines)
}

/// The sale line an input names: by number, or the first line of that product with enough
/// left to return (else the first with anything left).
fn pick_line(
    conn: &Connection,
    sale: &SaleHead,
    lines: &[SoldLine],
    asked: &BTreeMap<u32, i64>,
    input: &ReturnLineInput,
    milli: i64,
) -> Result<u32> {
    match &input.item {
        ReturnItem::LineNo(n) => lines
            .iter()
            .find(|l| l.line_no == *n)
            .map(|l| l.line_no)
            .ok_or_else(|| {
                EngineError::not_found(format!(
                    "line {n}: sale {} has no line {n}",
                    sale.offline_invoice_no
                ))
            }),
        ReturnItem::Code(code) => {
            let product = catalog::product_by_code(conn, code)?.ok_or_else(|| {
                EngineError::not_found(format!(
                    "item: no product has barcode or code '{}'",
                    code.trim()
                ))
            })?;
            let left = |l: &SoldLine| {
                l.sold_milli - l.returned_milli - asked.get(&l.line_no).copied().unwrap_or(0)
            };
            let of_product: Vec<&SoldLine> = lines
                .iter()
                .filter(|l| l.product_id == product.id)
                .collect();
            of_product
                .iter()
                .find(|l| left(l) >= milli)
                .or_else(|| of_product.iter().find(|l| left(l) > 0))
                .or_else(|| of_product.first())
                .map(|l| l.line_no)
                .ok_or_else(|| {
                    EngineError::not_found(format!(
                        "item {}: {} is not on sale {}",
                        code.trim(),
                        product.product_name,
                        sale.offline_invoice_no
                    ))
                })
        }
    }
}

/// Records a return against one of this till's sales, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub fn return_sale(
    tx: &Connection,
    invoice: &str,
    inputs: &[ReturnLineInput],
    refund: RefundInput,
    shift: Option<&ShiftLink>,
    cashier: &Cashier<'_>,
    minor_units: u32,
    stamp: Stamp,
) -> Result<ReturnView> {
    if inputs.is_empty() {
        return Err(EngineError::invalid(
            "lines: name at least one item to return",
        ));
    }
    let sale = find_sale(tx, invoice)?;
    if sale.state == "discarded" {
        return Err(EngineError::new(
            ErrorCode::InvalidState,
            format!(
                "sale {} was discarded from the queue and never reached the server: nothing to return against",
                sale.offline_invoice_no
            ),
        ));
    }
    let mut lines = sold_lines(tx, sale.local_id)?;

    // Quantities asked per sale line, in thousandths.
    let mut asked: BTreeMap<u32, i64> = BTreeMap::new();
    for input in inputs {
        if input.quantity <= Decimal::ZERO || Bound::Quantity.check(input.quantity).is_err() {
            return Err(EngineError::invalid(format!(
                "quantity: {} must be greater than zero, at most {MAX_QUANTITY}, with at most 3 decimals",
                input.quantity
            )));
        }
        let milli = to_milli(input.quantity);
        let line_no = pick_line(tx, &sale, &lines, &asked, input, milli)?;
        *asked.entry(line_no).or_insert(0) += milli;
    }
    for (line_no, milli) in &asked {
        let line = lines
            .iter()
            .find(|l| l.line_no == *line_no)
            .ok_or_else(|| {
                EngineError::internal(format!("line {line_no} vanished from its sale"))
            })?;
        let left = line.sold_milli - line.returned_milli;
        if *milli > left {
            return Err(EngineError::new(
                ErrorCode::ReturnExceedsSale,
                format!(
                    "line {} ({}): {} asked back but only {} left to return ({} sold, {} returned before)",
                    line.line_no,
                    line.name,
                    from_milli(*milli),
                    from_milli(left),
                    from_milli(line.sold_milli),
                    from_milli(line.returned_milli)
                ),
            ));
        }
    }

    let (method, payment_type, refund_is_cash) = match refund {
        RefundInput::Cash => (RefundMethod::Cash, shifts::cash_payment_type(tx)?, true),
        RefundInput::Due => {
            if !sale.has_customer {
                return Err(EngineError::new(
                    ErrorCode::DueRequiresCustomer,
                    format!(
                        "refund: sale {} has no customer whose due could be lowered; refund in cash or by a payment type",
                        sale.offline_invoice_no
                    ),
                ));
            }
            (RefundMethod::Due, None, false)
        }
        RefundInput::PaymentType(id) => {
            let (id, name, credit) = resolve_payment_type(tx, Some(id))?;
            if credit {
                return Err(EngineError::invalid(format!(
                    "refund: {name} is a credit type; refund against the due instead"
                )));
            }
            let cash = shifts::is_cash(&name, credit);
            (RefundMethod::PaymentType, Some((id, name)), cash)
        }
    };
    if refund_is_cash && shift.is_none() {
        if let Some(settings) = crate::mirror::load_settings(tx)? {
            if settings.shifts_required {
                return Err(EngineError::new(
                    ErrorCode::NoOpenShift,
                    "a cash refund needs an open shift: open one first (shift open --float AMOUNT)",
                ));
            }
        }
    }

    let mut wire_lines = Vec::with_capacity(asked.len());
    let mut views = Vec::with_capacity(asked.len());
    let mut stored = Vec::with_capacity(asked.len());
    let (mut refund_amount, mut refund_vat) = (Decimal::ZERO, Decimal::ZERO);
    for (line_no, milli) in &asked {
        let line = lines
            .iter_mut()
            .find(|l| l.line_no == *line_no)
            .ok_or_else(|| EngineError::internal(format!("line {line_no} vanished")))?;
        let (sold, before, quantity) = (
            from_milli(line.sold_milli),
            from_milli(line.returned_milli),
            from_milli(*milli),
        );
        let amount = refund_share(
            line.total,
            sold,
            before,
            line.refunded_before,
            quantity,
            minor_units,
        );
        let vat = refund_share(
            line.vat_amount,
            sold,
            before,
            line.vat_refunded_before,
            quantity,
            minor_units,
        );
        refund_amount += amount;
        refund_vat += vat;
        line.returned_milli += milli;
        wire_lines.push(SaleReturnLine {
            line_no: *line_no,
            quantity,
        });
        views.push(ReturnLineView {
            line_no: *line_no,
            product_id: line.product_id,
            name: line.name.clone(),
            quantity,
            amount,
        });
        stored.push((
            *line_no,
            line.product_id,
            line.stock_id,
            *milli,
            amount,
            vat,
        ));
    }

    if method != RefundMethod::Due {
        // Money back can only be money that was paid; what was left owing comes off the due.
        let mut refunded = tx.prepare_cached(
            "SELECT refund_amount FROM sale_returns WHERE sale_local_id = ?1 AND refund_method != 'due'",
        )?;
        let mut paid_back = Decimal::ZERO;
        for amount in refunded.query_map([sale.local_id], |r| dec_col(r, 0))? {
            paid_back += amount?;
        }
        let refundable = (sale.paid - paid_back).max(Decimal::ZERO);
        if refund_amount > refundable {
            return Err(EngineError::invalid(format!(
                "refund: {refund_amount} is more than the {refundable} paid on sale {} and not yet refunded; refund against the customer's due instead",
                sale.offline_invoice_no
            )));
        }
    }

    let key = uuid::Uuid::new_v4().to_string();
    let payment_type_id = payment_type.as_ref().map(|(id, _)| *id);
    let data = SaleReturnCreate {
        local_id: Some(key.clone()),
        client_reference: Some(key.clone()),
        sale_id: sale.server_id,
        sale_local_id: Some(sale.key.clone()),
        shift_local_id: shift.map(|s| s.key.clone()),
        shift_id: shift.and_then(|s| s.server_id),
        lines: wire_lines,
        refund_method: method,
        payment_type_id,
        refund_amount,
        authorised_by: cashier.authorised_by,
        cashier_id: Some(cashier.id),
        returned_at: Some(stamp.now),
    };
    let (outbox_id, _) = enqueue(
        tx,
        NewOperation {
            entity: pos_protocol::store_ops::SALE_RETURN_ENTITY,
            action: "create",
            payload: serde_json::to_value(&data)?,
            summary: format!(
                "return on {}: refund {} ({})",
                sale.offline_invoice_no,
                refund_amount,
                method.as_str()
            ),
            // The server must have the sale before a return against it.
            depends_on: Some(sale.outbox_id),
        },
        stamp,
    )?;
    tx.execute(
        "INSERT INTO sale_returns (client_reference, sale_local_id, shift_local_id, refund_method,
           payment_type_id, payment_type_name, refund_is_cash, refund_amount, vat_amount,
           cashier_id, cashier_name, outbox_id, returned_at, authorised_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            key,
            sale.local_id,
            shift.map(|s| s.local_id),
            method.as_str(),
            payment_type_id,
            payment_type.as_ref().map(|(_, name)| name.clone()),
            refund_is_cash,
            dec_text(refund_amount),
            dec_text(refund_vat),
            cashier.id,
            cashier.name,
            outbox_id,
            time_text(&stamp.now),
            cashier.authorised_by
        ],
    )?;
    let local_id = tx.last_insert_rowid();
    let mut insert = tx.prepare_cached(
        "INSERT INTO sale_return_lines (return_local_id, line_no, product_id, stock_id,
           quantity_milli, amount, vat_amount)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut returned = tx.prepare_cached(
        "UPDATE sale_lines SET returned_milli = returned_milli + ?3
         WHERE sale_local_id = ?1 AND line_no = ?2",
    )?;
    for (line_no, product_id, stock_id, milli, amount, vat) in &stored {
        insert.execute(params![
            local_id,
            line_no,
            product_id,
            stock_id,
            milli,
            dec_text(*amount),
            dec_text(*vat)
        ])?;
        returned.execute(params![sale.local_id, line_no, milli])?;
    }
    let state: String =
        tx.query_row("SELECT state FROM outbox WHERE id = ?1", [outbox_id], |r| {
            r.get(0)
        })?;
    Ok(ReturnView {
        local_id,
        client_reference: key,
        sale_local_id: sale.local_id,
        offline_invoice_no: sale.offline_invoice_no,
        lines: views,
        refund_method: method,
        payment_type_id,
        refund_is_cash,
        refund_amount,
        shift_local_id: shift.map(|s| s.local_id),
        returned_at: stamp.now,
        sync_state: state_of(&state),
    })
}
