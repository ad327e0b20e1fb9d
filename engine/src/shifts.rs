//! Shifts and the cash drawer: open with a float, pay-ins and pay-outs, X and Z reports, close
//! with a count. Each change writes its row and its outbox operation in the caller's
//! transaction; a closed shift never changes (the schema's triggers refuse it too).

use chrono::{DateTime, Utc};
use pos_protocol::money::{fits_scale, Bound};
use pos_protocol::store_ops::{CashMovementCreate, CashMovementKind, DenominationCount, ShiftData};
use pos_protocol::Decimal;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{EngineError, ErrorCode, Result};
use crate::outbox::{enqueue, NewOperation, Stamp};
use crate::store::{dec_col, dec_text, opt_time_col, parse_dec, time_col, time_text};
use crate::views::{
    CashMovementView, CountedCash, PaymentTypeTotals, ShiftReport, ShiftReportKind, ShiftView,
};

/// Who does it, and the manager who authorised it when one had to.
pub struct Cashier<'a> {
    pub id: i64,
    pub name: &'a str,
    pub authorised_by: Option<i64>,
}

/// The open shift as other operations name it.
#[derive(Debug, Clone)]
pub struct ShiftLink {
    pub local_id: i64,
    /// Its client reference: the shift's local id on the wire.
    pub key: String,
    pub server_id: Option<i64>,
    open_outbox_id: i64,
}

/// A payment type counts as cash in the drawer when it is not a credit type and is named
/// "Cash" (any case). Payment types carry no cash flag on the wire, and "Cash" is the name the
/// back office gives the drawer's payment type.
pub fn is_cash(name: &str, is_credit: bool) -> bool {
    pos_protocol::store_ops::is_cash_payment_type(name, is_credit)
}

/// The cash payment type of this business, if it has one.
pub fn cash_payment_type(conn: &Connection) -> Result<Option<(i64, String)>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name, is_credit FROM payment_types ORDER BY status DESC, id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })?;
    for row in rows {
        let (id, name, credit) = row?;
        if is_cash(&name, credit) {
            return Ok(Some((id, name)));
        }
    }
    Ok(None)
}

pub fn open_shift(conn: &Connection) -> Result<Option<ShiftLink>> {
    Ok(conn
        .prepare_cached(
            "SELECT local_id, client_reference, server_id, open_outbox_id FROM shifts
             WHERE closed_at IS NULL",
        )?
        .query_row([], |r| {
            Ok(ShiftLink {
                local_id: r.get(0)?,
                key: r.get(1)?,
                server_id: r.get(2)?,
                open_outbox_id: r.get(3)?,
            })
        })
        .optional()?)
}

/// The open shift, or a clear refusal naming what needed it.
pub fn require_open(conn: &Connection, what: &str) -> Result<ShiftLink> {
    open_shift(conn)?.ok_or_else(|| {
        EngineError::new(
            ErrorCode::NoOpenShift,
            format!("{what} needs an open shift: open one first (shift open --float AMOUNT)"),
        )
    })
}

fn check_amount(field: &str, amount: Decimal, minor_units: u32, zero_allowed: bool) -> Result<()> {
    if amount < Decimal::ZERO || (!zero_allowed && amount.is_zero()) {
        return Err(EngineError::invalid(format!(
            "{field}: must be {} zero",
            if zero_allowed {
                "at least"
            } else {
                "greater than"
            }
        )));
    }
    if !fits_scale(amount, minor_units) {
        return Err(EngineError::invalid(format!(
            "{field}: at most {minor_units} decimal places"
        )));
    }
    Bound::Amount
        .check(amount)
        .map_err(|problem| EngineError::invalid(format!("{field}: {problem}")))?;
    Ok(())
}

pub fn open(
    tx: &Connection,
    opening_float: Decimal,
    cashier: &Cashier<'_>,
    minor_units: u32,
    stamp: Stamp,
) -> Result<ShiftView> {
    check_amount("float", opening_float, minor_units, true)?;
    if let Some(open) = open_shift(tx)? {
        return Err(EngineError::new(
            ErrorCode::InvalidState,
            format!(
                "shift {} is already open on this till: close it first",
                open.local_id
            ),
        ));
    }
    let key = uuid::Uuid::new_v4().to_string();
    let data = ShiftData {
        local_id: Some(key.clone()),
        client_reference: Some(key.clone()),
        shift_id: None,
        opened_at: Some(stamp.now),
        closed_at: None,
        opening_float: Some(opening_float),
        counted_cash: None,
        counted_denominations: None,
        expected_cash: None,
        note: None,
        cashier_id: Some(cashier.id),
    };
    let (outbox_id, _) = enqueue(
        tx,
        NewOperation {
            entity: pos_protocol::store_ops::SHIFT_ENTITY,
            action: "open",
            payload: serde_json::to_value(&data)?,
            summary: format!("shift opened by {}, float {}", cashier.name, opening_float),
            depends_on: None,
        },
        stamp,
    )?;
    tx.execute(
        "INSERT INTO shifts (client_reference, cashier_id, cashier_name, opened_at, opening_float,
           open_outbox_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            key,
            cashier.id,
            cashier.name,
            time_text(&stamp.now),
            dec_text(opening_float),
            outbox_id
        ],
    )?;
    shift(tx, tx.last_insert_rowid())
}

fn shift(conn: &Connection, local_id: i64) -> Result<ShiftView> {
    Ok(conn.query_row(
        "SELECT local_id, client_reference, cashier_name, opened_at, opening_float, closed_at
         FROM shifts WHERE local_id = ?1",
        [local_id],
        |r| {
            Ok(ShiftView {
                local_id: r.get(0)?,
                client_reference: r.get(1)?,
                cashier_name: r.get(2)?,
                opened_at: time_col(r, 3)?,
                opening_float: dec_col(r, 4)?,
                closed_at: opt_time_col(r, 5)?,
            })
        },
    )?)
}

/// A pay-in or pay-out of the open shift.
pub fn move_cash(
    tx: &Connection,
    kind: CashMovementKind,
    amount: Decimal,
    reason: &str,
    cashier: &Cashier<'_>,
    minor_units: u32,
    stamp: Stamp,
) -> Result<CashMovementView> {
    let what = kind.as_str().replace('_', "-");
    check_amount(
        "amount",
        amount,
        minor_units,
        kind == CashMovementKind::DrawerOpen,
    )?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(EngineError::invalid(format!("reason: say why ({what})")));
    }
    let shift = require_open(tx, &format!("a {what}"))?;
    let key = uuid::Uuid::new_v4().to_string();
    let data = CashMovementCreate {
        local_id: Some(key.clone()),
        client_reference: Some(key.clone()),
        shift_local_id: Some(shift.key.clone()),
        shift_id: shift.server_id,
        kind,
        amount,
        reason: Some(reason.to_string()),
        cashier_id: Some(cashier.id),
        authorised_by: cashier.authorised_by,
        created_at: Some(stamp.now),
    };
    let (outbox_id, _) = enqueue(
        tx,
        NewOperation {
            entity: pos_protocol::store_ops::CASH_MOVEMENT_ENTITY,
            action: "create",
            payload: serde_json::to_value(&data)?,
            summary: format!("{what} {amount}: {reason}"),
            depends_on: Some(shift.open_outbox_id),
        },
        stamp,
    )?;
    tx.execute(
        "INSERT INTO cash_movements (client_reference, shift_local_id, kind, amount, reason,
           cashier_id, cashier_name, outbox_id, created_at, authorised_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            key,
            shift.local_id,
            kind.as_str(),
            dec_text(amount),
            reason,
            cashier.id,
            cashier.name,
            outbox_id,
            time_text(&stamp.now),
            cashier.authorised_by
        ],
    )?;
    Ok(CashMovementView {
        local_id: tx.last_insert_rowid(),
        client_reference: key,
        shift_local_id: shift.local_id,
        kind,
        amount,
        reason: Some(reason.to_string()),
        created_at: stamp.now,
    })
}

/// Closes the open shift with the cash counted; returns its Z report.
pub fn close(
    tx: &Connection,
    counted: &CountedCash,
    cashier: &Cashier<'_>,
    minor_units: u32,
    stamp: Stamp,
) -> Result<ShiftReport> {
    if let CountedCash::Denominations(counts) = counted {
        if counts.is_empty() {
            return Err(EngineError::invalid(
                "counted: give at least one denomination, or the total",
            ));
        }
        for c in counts {
            check_amount("denomination value", c.value, minor_units, false)?;
        }
    }
    let counted_total = counted.total();
    check_amount("counted", counted_total, minor_units, true)?;
    let shift = require_open(tx, "closing a shift")?;
    let x = report(tx, shift.local_id)?;
    let denominations = match counted {
        CountedCash::Denominations(counts) => Some(counts.clone()),
        CountedCash::Total(_) => None,
    };
    let data = ShiftData {
        local_id: Some(shift.key.clone()),
        client_reference: Some(shift.key.clone()),
        shift_id: shift.server_id,
        opened_at: Some(x.opened_at),
        closed_at: Some(stamp.now),
        opening_float: Some(x.opening_float),
        counted_cash: Some(counted_total),
        counted_denominations: denominations.clone(),
        expected_cash: Some(x.expected_cash),
        note: None,
        cashier_id: Some(cashier.id),
    };
    let (outbox_id, _) = enqueue(
        tx,
        NewOperation {
            entity: pos_protocol::store_ops::SHIFT_ENTITY,
            action: "close",
            payload: serde_json::to_value(&data)?,
            summary: format!(
                "shift closed by {}: expected {}, counted {}",
                cashier.name, x.expected_cash, counted_total
            ),
            depends_on: Some(shift.open_outbox_id),
        },
        stamp,
    )?;
    tx.execute(
        "UPDATE shifts SET closed_at = ?2, counted_cash = ?3, counted_denominations = ?4,
           expected_cash = ?5, close_outbox_id = ?6
         WHERE local_id = ?1 AND closed_at IS NULL",
        params![
            shift.local_id,
            time_text(&stamp.now),
            dec_text(counted_total),
            denominations
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
            dec_text(x.expected_cash),
            outbox_id
        ],
    )?;
    report(tx, shift.local_id)
}

/// The X report of the open shift, else the Z report of the last closed one.
pub fn current_report(conn: &Connection) -> Result<ShiftReport> {
    let latest: Option<i64> = conn
        .query_row(
            "SELECT local_id FROM shifts ORDER BY (closed_at IS NULL) DESC, local_id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let local_id = latest.ok_or_else(|| {
        EngineError::new(
            ErrorCode::NoOpenShift,
            "no shift has been opened on this till yet",
        )
    })?;
    report(conn, local_id)
}

struct Head {
    key: String,
    cashier_name: Option<String>,
    opened_at: DateTime<Utc>,
    opening_float: Decimal,
    closed_at: Option<DateTime<Utc>>,
    counted_cash: Option<Decimal>,
    counted_denominations: Option<String>,
}

/// Adds `amount` to the payment type's row (made on first use).
fn by_type<'a>(
    rows: &'a mut Vec<PaymentTypeTotals>,
    id: Option<i64>,
    name: &str,
    is_cash: bool,
) -> &'a mut PaymentTypeTotals {
    let at = match rows.iter().position(|r| r.payment_type_id == id) {
        Some(at) => at,
        None => {
            rows.push(PaymentTypeTotals {
                payment_type_id: id,
                name: name.to_string(),
                is_cash,
                sales_count: 0,
                sales: Decimal::ZERO,
                due_collections: Decimal::ZERO,
                refunds: Decimal::ZERO,
            });
            rows.len() - 1
        }
    };
    &mut rows[at]
}

/// Whether the payment type (by id, as the mirror knows it, else by the name kept with the
/// record) counts as cash.
fn type_is_cash(conn: &Connection, id: i64, kept_name: &str) -> Result<bool> {
    let known: Option<(String, bool)> = conn
        .query_row(
            "SELECT name, is_credit FROM payment_types WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match known {
        Some((name, credit)) => is_cash(&name, credit),
        None => is_cash(kept_name, false),
    })
}

/// The figures of one shift, summed exactly from its records.
pub fn report(conn: &Connection, local_id: i64) -> Result<ShiftReport> {
    let head = conn.query_row(
        "SELECT client_reference, cashier_name, opened_at, opening_float, closed_at, counted_cash,
                counted_denominations
         FROM shifts WHERE local_id = ?1",
        [local_id],
        |r| {
            Ok(Head {
                key: r.get(0)?,
                cashier_name: r.get(1)?,
                opened_at: time_col(r, 2)?,
                opening_float: dec_col(r, 3)?,
                closed_at: opt_time_col(r, 4)?,
                counted_cash: r
                    .get::<_, Option<String>>(5)?
                    .map(|t| {
                        pos_protocol::money::parse_decimal(&t).map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(
                                5,
                                rusqlite::types::Type::Text,
                                e.into(),
                            )
                        })
                    })
                    .transpose()?,
                counted_denominations: r.get(6)?,
            })
        },
    )?;
    let mut by_payment_type: Vec<PaymentTypeTotals> = Vec::new();
    let zero = Decimal::ZERO;
    let (mut sales_count, mut sales_total, mut discounts, mut vat, mut due) =
        (0u64, zero, zero, zero, zero);
    let mut cash_sales = zero;
    {
        let mut stmt = conn.prepare_cached(
            "SELECT payment_type_id, payment_type_name, total_amount, paid_amount, due_amount,
                    line_discount, cart_discount, vat_amount
             FROM sales WHERE shift_local_id = ?1 ORDER BY local_id",
        )?;
        let rows = stmt.query_map([local_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                [
                    dec_col(r, 2)?,
                    dec_col(r, 3)?,
                    dec_col(r, 4)?,
                    dec_col(r, 5)?,
                    dec_col(r, 6)?,
                    dec_col(r, 7)?,
                ],
            ))
        })?;
        for row in rows {
            let (type_id, type_name, [total, paid, sale_due, line_disc, cart_disc, sale_vat]) =
                row?;
            let cash = type_is_cash(conn, type_id, &type_name)?;
            sales_count += 1;
            sales_total += total;
            discounts += line_disc + cart_disc;
            vat += sale_vat;
            due += sale_due;
            if cash {
                cash_sales += paid;
            }
            let entry = by_type(&mut by_payment_type, Some(type_id), &type_name, cash);
            entry.sales_count += 1;
            entry.sales += paid;
        }
    }
    let mut cash_due_collections = zero;
    {
        let mut stmt = conn.prepare_cached(
            "SELECT d.payment_type_id, COALESCE(p.name, ''), d.amount FROM due_collections d
             LEFT JOIN payment_types p ON p.id = d.payment_type_id
             WHERE d.shift_local_id = ?1 ORDER BY d.local_id",
        )?;
        let rows = stmt.query_map([local_id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, dec_col(r, 2)?))
        })?;
        for row in rows {
            let (type_id, type_name, amount) = row?;
            let cash = type_is_cash(conn, type_id, &type_name)?;
            if cash {
                cash_due_collections += amount;
            }
            by_type(&mut by_payment_type, Some(type_id), &type_name, cash).due_collections +=
                amount;
        }
    }
    let (mut refunds_count, mut refunds, mut refunds_vat, mut cash_refunds) =
        (0u64, zero, zero, zero);
    {
        let mut stmt = conn.prepare_cached(
            "SELECT payment_type_id, payment_type_name, refund_method, refund_is_cash,
                    refund_amount, vat_amount
             FROM sale_returns WHERE shift_local_id = ?1 ORDER BY local_id",
        )?;
        let rows = stmt.query_map([local_id], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                dec_col(r, 4)?,
                dec_col(r, 5)?,
            ))
        })?;
        for row in rows {
            let (type_id, type_name, method, cash, amount, return_vat) = row?;
            refunds_count += 1;
            refunds += amount;
            refunds_vat += return_vat;
            if cash {
                cash_refunds += amount;
            }
            let name = type_name.unwrap_or(method);
            by_type(&mut by_payment_type, type_id, &name, cash).refunds += amount;
        }
    }
    let (mut pay_ins, mut pay_outs) = (zero, zero);
    {
        let mut stmt = conn.prepare_cached(
            "SELECT kind, amount FROM cash_movements WHERE shift_local_id = ?1 ORDER BY local_id",
        )?;
        let rows = stmt.query_map([local_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (kind, amount) = row?;
            let amount = parse_dec(&amount)?;
            match kind.as_str() {
                "pay_in" => pay_ins += amount,
                "pay_out" => pay_outs += amount,
                _ => {}
            }
        }
    }
    let expected_cash = pos_protocol::store_ops::expected_cash(
        head.opening_float,
        cash_sales,
        cash_due_collections,
        cash_refunds,
        pay_ins,
        pay_outs,
    );
    let counted_denominations: Option<Vec<DenominationCount>> = head
        .counted_denominations
        .map(|t| serde_json::from_str(&t))
        .transpose()?;
    Ok(ShiftReport {
        kind: if head.closed_at.is_some() {
            ShiftReportKind::Z
        } else {
            ShiftReportKind::X
        },
        shift_local_id: local_id,
        client_reference: head.key,
        cashier_name: head.cashier_name,
        opened_at: head.opened_at,
        closed_at: head.closed_at,
        sales_count,
        sales_total,
        discounts,
        vat,
        due,
        refunds_count,
        refunds,
        refunds_vat,
        by_payment_type,
        opening_float: head.opening_float,
        cash_sales,
        cash_due_collections,
        cash_refunds,
        pay_ins,
        pay_outs,
        expected_cash,
        counted_cash: head.counted_cash,
        counted_denominations,
        difference: head.counted_cash.map(|c| c - expected_cash),
    })
}

/// How a sale or due collection names its shift on the wire: (`shift_id`, `shift_local_id`).
pub fn wire_ids(shift: Option<&ShiftLink>) -> (Option<i64>, Option<String>) {
    match shift {
        Some(s) => (s.server_id, Some(s.key.clone())),
        None => (None, None),
    }
}
