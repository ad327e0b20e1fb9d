//! The outbox: every operation the server must receive, in the order it happened, each with the
//! idempotency key it keeps for ever (retries reuse it).
//!
//! States: `queued` → `sent` → `done` | `failed` | `conflict`, and `discarded` when a person
//! takes one out (audited). A `sent` operation whose answer was lost is simply sent again: the
//! key makes that harmless.
//!
//! Dependants (`depends_on`: a sale naming a customer created at the till, a shift's close and
//! cash movements behind its open, a return behind its sale) never wait unseen. When an
//! operation fails, goes into conflict or is discarded, every operation waiting on it (and on
//! those, in turn) becomes `failed` with `DEPENDENCY_FAILED` and a message naming the parent and
//! why it stopped, so it is counted and shown like any failed operation. Retrying an operation
//! retries the failed or conflicting ones it depends on and the ones that failed only because of
//! it, so once the parent goes through its dependants follow. A dependant of a discarded parent,
//! retried, is sent on its own and the server's answer (e.g. `PARTY_NOT_FOUND`) is kept.

use chrono::{DateTime, Utc};
use pos_protocol::sync::{BatchErrorCode, Operation, OperationResult, ResultStatus, Warning};
use rusqlite::{params, Connection, OptionalExtension};
use std::time::Duration;

use crate::error::{EngineError, ErrorCode, Result};
use crate::store::{opt_time_col, time_col, time_text};
use crate::views::{QueuedOperation, SyncState};

/// A new operation for [`enqueue`].
pub struct NewOperation {
    pub entity: &'static str,
    pub action: &'static str,
    pub payload: serde_json::Value,
    /// One line for the sync panel.
    pub summary: String,
    /// An earlier operation that must be applied first.
    pub depends_on: Option<i64>,
}

/// When something happened at the till, and how far the till's clock was from the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub now: DateTime<Utc>,
    /// Server clock minus local clock, as last estimated.
    pub clock_offset_ms: i64,
}

/// Queues an operation with a fresh UUID v4 key; returns (outbox id, key). Call it inside the
/// transaction that writes the thing the operation describes.
pub fn enqueue(tx: &Connection, op: NewOperation, stamp: Stamp) -> Result<(i64, String)> {
    let key = uuid::Uuid::new_v4().to_string();
    let at = time_text(&stamp.now);
    tx.prepare_cached(
        "INSERT INTO outbox (idempotency_key, entity, action, payload, state, depends_on, summary,
                             offline_timestamp, clock_offset_ms, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?7, ?7)",
    )?
    .execute(params![
        key,
        op.entity,
        op.action,
        serde_json::to_string(&op.payload)?,
        op.depends_on,
        op.summary,
        at,
        stamp.clock_offset_ms
    ])?;
    Ok((tx.last_insert_rowid(), key))
}

/// What the terminal does with one operation's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Applied or already there: write the server's id back.
    Done {
        server_id: Option<i64>,
        invoice_number: Option<String>,
        warnings: Vec<Warning>,
    },
    /// Kept aside by the server for a person.
    Conflict { reason: String },
    /// Refused for good: kept visible as failed until a person retries or discards it.
    Failed { code: String, message: String },
    /// A passing failure (server trouble): try again after a backoff.
    Retry { code: String, message: String },
    /// Its parent has not been applied yet: stays queued behind it, no penalty.
    WaitForParent { message: String },
}

/// The one place that reads an [`OperationResult`].
pub fn decide(result: &OperationResult) -> Decision {
    let message = || {
        result
            .error
            .clone()
            .unwrap_or_else(|| "the server gave no reason".to_string())
    };
    let code_text = |code: Option<BatchErrorCode>| {
        code.and_then(|c| serde_json::to_value(c).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "UNKNOWN".to_string())
    };
    match result.status {
        s if s.is_done() => Decision::Done {
            server_id: result.server_id,
            invoice_number: result.invoice_number.clone(),
            warnings: result.warnings.clone(),
        },
        ResultStatus::Conflict => Decision::Conflict {
            reason: result
                .conflict
                .as_ref()
                .map(|c| c.to_string())
                .or_else(|| result.error.clone())
                .unwrap_or_else(|| "the server kept it as a conflict".to_string()),
        },
        _ => match result.error_code {
            Some(BatchErrorCode::DependencyFailed) => {
                Decision::WaitForParent { message: message() }
            }
            None | Some(BatchErrorCode::Internal) | Some(BatchErrorCode::ClientTooOld) => {
                Decision::Retry {
                    code: code_text(result.error_code),
                    message: message(),
                }
            }
            Some(code) => Decision::Failed {
                code: code_text(Some(code)),
                message: message(),
            },
        },
    }
}

/// Retry delay after `attempt` failures (1-based): doubling from `initial` up to `max`, with
/// "equal jitter" (half fixed, half random, `jitter` in [0, 1)) so many tills that lost the
/// network together do not come back together.
pub fn backoff_delay(attempt: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    let base = initial
        .checked_mul(1u32 << exponent)
        .unwrap_or(max)
        .min(max);
    let half = base / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// Operations ready to send, in order, at most `limit`: queued (or sent with a lost answer),
/// due now (or backing off, when `ignore_backoff`: a person asked to sync now), and not behind
/// a parent that failed or is in conflict (such a dependant is itself failed; see the module
/// notes).
pub fn ready(
    conn: &Connection,
    now: DateTime<Utc>,
    ignore_backoff: bool,
    limit: usize,
) -> Result<Vec<(i64, Operation)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.id, o.idempotency_key, o.entity, o.action, o.payload, o.offline_timestamp
         FROM outbox o
         WHERE o.state IN ('queued', 'sent')
           AND (?3 OR o.next_attempt_at IS NULL OR o.next_attempt_at <= ?1)
           AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.id = o.depends_on
                           AND p.state IN ('failed', 'conflict'))
         ORDER BY o.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![time_text(&now), limit as i64, ignore_backoff],
        |r| {
            let payload: String = r.get(4)?;
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                payload,
                time_col(r, 5)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, key, entity, action, payload, at) = row?;
        out.push((
            id,
            Operation {
                idempotency_key: key,
                entity,
                action,
                data: serde_json::from_str(&payload)?,
                offline_timestamp: Some(at),
            },
        ));
    }
    Ok(out)
}

/// Marks operations as sent (their answer may be lost; they stay eligible to be sent again).
pub fn mark_sent(tx: &Connection, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE outbox SET state = 'sent', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
    )?;
    for id in ids {
        stmt.execute(params![id, time_text(&now)])?;
    }
    Ok(())
}

/// Puts sent operations back in the queue after a transport failure, due after `delay`.
pub fn requeue_after(
    tx: &Connection,
    ids: &[i64],
    now: DateTime<Utc>,
    delay: Duration,
    error: &str,
) -> Result<()> {
    let due = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    let mut stmt = tx.prepare_cached(
        "UPDATE outbox SET state = 'queued', next_attempt_at = ?2, last_error = ?3, updated_at = ?4
         WHERE id = ?1 AND state = 'sent'",
    )?;
    for id in ids {
        stmt.execute(params![id, time_text(&due), error, time_text(&now)])?;
    }
    Ok(())
}

/// Keeps one sent operation as failed for good without a server result (e.g. too large to
/// send at all): visible until a person retries or discards it.
pub fn mark_failed(
    tx: &Connection,
    id: i64,
    code: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET state = 'failed', error_code = ?2, last_error = ?3, updated_at = ?4
         WHERE id = ?1",
        params![id, code, message, time_text(&now)],
    )?;
    fail_dependants(tx, id, now)
}

/// The code a dependant fails with when its parent stopped.
pub const DEPENDENCY_FAILED: &str = "DEPENDENCY_FAILED";

/// Why operations waiting on `parent` cannot go: names the parent and what stopped it. `None`
/// when the parent has not stopped (queued, sent or done).
fn parent_stopped(tx: &Connection, parent: i64) -> Result<Option<String>> {
    let Some((state, summary, code, error)) = tx
        .query_row(
            "SELECT state, summary, error_code, last_error FROM outbox WHERE id = ?1",
            [parent],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?
    else {
        return Ok(None);
    };
    let why = |prefix: &str| {
        let reason = match (code.as_deref(), error.as_deref()) {
            (Some(code), Some(error)) => format!("{code}: {error}"),
            (Some(code), None) => code.to_string(),
            (None, Some(error)) => error.to_string(),
            (None, None) => "no reason given".to_string(),
        };
        format!("{prefix} ({reason})")
    };
    let what = match state.as_str() {
        "failed" => why("which the server rejected"),
        "conflict" => why("which is in conflict"),
        "discarded" => {
            let reason: Option<String> = tx
                .query_row(
                    "SELECT reason FROM outbox_audit WHERE outbox_id = ?1 AND event = 'discard'
                     ORDER BY id DESC LIMIT 1",
                    [parent],
                    |r| r.get(0),
                )
                .optional()?;
            format!(
                "which was discarded ({})",
                reason.unwrap_or_else(|| "no reason given".to_string())
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(format!(
        "waits for operation {parent} ({summary}), {what}"
    )))
}

/// Every operation still waiting on `parent` (directly or through others) becomes failed with
/// [`DEPENDENCY_FAILED`] and a message naming its own parent, when `parent` has stopped; one
/// already failed that way gets the parent's latest reason (e.g. discarded after it failed).
fn fail_dependants(tx: &Connection, parent: i64, now: DateTime<Utc>) -> Result<()> {
    let mut parents = vec![parent];
    while let Some(parent) = parents.pop() {
        let Some(message) = parent_stopped(tx, parent)? else {
            continue;
        };
        let waiting: Vec<i64> = tx
            .prepare_cached(
                "SELECT id FROM outbox WHERE depends_on = ?1
                   AND (state IN ('queued', 'sent') OR (state = 'failed' AND error_code = ?2))
                 ORDER BY id",
            )?
            .query_map(params![parent, DEPENDENCY_FAILED], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in waiting {
            tx.execute(
                "UPDATE outbox SET state = 'failed', error_code = ?2, last_error = ?3,
                   next_attempt_at = NULL, updated_at = ?4 WHERE id = ?1",
                params![id, DEPENDENCY_FAILED, message, time_text(&now)],
            )?;
            parents.push(id);
        }
    }
    Ok(())
}

/// What [`apply_result`] did, for the sync report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Acknowledged,
    Rejected,
    Conflict,
    StillPending,
}

/// Records the server's answer to operation `id` and writes server ids back.
pub fn apply_result(
    tx: &Connection,
    id: i64,
    result: &OperationResult,
    now: DateTime<Utc>,
    retry_delay: Duration,
) -> Result<Outcome> {
    let at = time_text(&now);
    let result_json = serde_json::to_string(result)?;
    let (entity, payload): (String, String) = tx.query_row(
        "SELECT entity, payload FROM outbox WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match decide(result) {
        Decision::Done {
            server_id,
            invoice_number,
            warnings,
        } => {
            tx.execute(
                "UPDATE outbox SET state = 'done', result = ?2, last_error = NULL, error_code = NULL,
                   next_attempt_at = NULL, updated_at = ?3 WHERE id = ?1",
                params![id, result_json, at],
            )?;
            let payload: serde_json::Value = serde_json::from_str(&payload)?;
            let local_key = payload
                .get("local_id")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            write_back(
                tx,
                &entity,
                local_key.as_deref(),
                server_id,
                invoice_number,
                &warnings,
                &at,
            )?;
            Ok(Outcome::Acknowledged)
        }
        Decision::Conflict { reason } => {
            tx.execute(
                "UPDATE outbox SET state = 'conflict', result = ?2, last_error = ?3,
                   error_code = 'CONFLICT', updated_at = ?4 WHERE id = ?1",
                params![id, result_json, reason, at],
            )?;
            fail_dependants(tx, id, now)?;
            Ok(Outcome::Conflict)
        }
        Decision::Failed { code, message } => {
            tx.execute(
                "UPDATE outbox SET state = 'failed', result = ?2, last_error = ?3, error_code = ?4,
                   updated_at = ?5 WHERE id = ?1",
                params![id, result_json, message, code, at],
            )?;
            fail_dependants(tx, id, now)?;
            Ok(Outcome::Rejected)
        }
        Decision::Retry { code, message } => {
            let due =
                now + chrono::Duration::from_std(retry_delay).unwrap_or(chrono::Duration::MAX);
            tx.execute(
                "UPDATE outbox SET state = 'queued', result = ?2, last_error = ?3, error_code = ?4,
                   next_attempt_at = ?5, updated_at = ?6 WHERE id = ?1",
                params![id, result_json, message, code, time_text(&due), at],
            )?;
            Ok(Outcome::StillPending)
        }
        Decision::WaitForParent { message } => {
            // The server saw the parent fail in this batch. When this till has kept that
            // parent as stopped, the dependant is failed with it; otherwise (the parent only
            // has to be sent again) it waits in the queue.
            let parent: Option<i64> =
                tx.query_row("SELECT depends_on FROM outbox WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?;
            let stopped = match parent {
                Some(parent) => parent_stopped(tx, parent)?,
                None => None,
            };
            let state = if stopped.is_some() {
                "failed"
            } else {
                "queued"
            };
            tx.execute(
                "UPDATE outbox SET state = ?2, result = ?3, last_error = ?4, error_code = ?5,
                   updated_at = ?6 WHERE id = ?1",
                params![
                    id,
                    state,
                    result_json,
                    stopped.unwrap_or(message),
                    DEPENDENCY_FAILED,
                    at
                ],
            )?;
            if state == "failed" {
                fail_dependants(tx, id, now)?;
                Ok(Outcome::Rejected)
            } else {
                Ok(Outcome::StillPending)
            }
        }
    }
}

fn write_back(
    tx: &Connection,
    entity: &str,
    local_key: Option<&str>,
    server_id: Option<i64>,
    invoice_number: Option<String>,
    warnings: &[Warning],
    at: &str,
) -> Result<()> {
    let Some(local_key) = local_key else {
        return Ok(());
    };
    match entity {
        "sale" => {
            tx.execute(
                "UPDATE sales SET server_id = COALESCE(?2, server_id),
                   invoice_number = COALESCE(?3, invoice_number), warnings = ?4
                 WHERE client_reference = ?1",
                params![
                    local_key,
                    server_id,
                    invoice_number,
                    serde_json::to_string(warnings)?
                ],
            )?;
        }
        "party" => {
            tx.execute(
                "UPDATE local_parties SET server_id = COALESCE(?2, server_id) WHERE local_key = ?1",
                params![local_key, server_id],
            )?;
        }
        "due_collection" => {
            tx.execute(
                "UPDATE due_collections SET server_id = COALESCE(?2, server_id)
                 WHERE client_reference = ?1",
                params![local_key, server_id],
            )?;
        }
        "shift" => {
            tx.execute(
                "UPDATE shifts SET server_id = COALESCE(?2, server_id) WHERE client_reference = ?1",
                params![local_key, server_id],
            )?;
        }
        "cash_movement" => {
            tx.execute(
                "UPDATE cash_movements SET server_id = COALESCE(?2, server_id)
                 WHERE client_reference = ?1",
                params![local_key, server_id],
            )?;
        }
        "sale_return" => {
            tx.execute(
                "UPDATE sale_returns SET server_id = COALESCE(?2, server_id)
                 WHERE client_reference = ?1",
                params![local_key, server_id],
            )?;
        }
        _ => {}
    }
    if let Some(server_id) = server_id {
        tx.execute(
            "INSERT INTO id_map (entity, local_key, server_id, mapped_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (entity, local_key) DO UPDATE SET server_id = excluded.server_id",
            params![entity, local_key, server_id, at],
        )?;
    }
    Ok(())
}

pub fn state_of(text: &str) -> SyncState {
    match text {
        "queued" => SyncState::Queued,
        "sent" => SyncState::Sent,
        "done" => SyncState::Confirmed,
        "failed" => SyncState::Failed,
        "conflict" => SyncState::Conflict,
        _ => SyncState::Discarded,
    }
}

/// (pending, failed, conflicts), from the per-state counts the schema's triggers keep in step
/// with every change of the queue (migration 0007), so this stays cheap however long the queue.
pub fn counts(conn: &Connection) -> Result<(u64, u64, u64)> {
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(SUM(CASE WHEN state IN ('queued', 'sent') THEN n END), 0),
                    COALESCE(SUM(CASE WHEN state = 'failed' THEN n END), 0),
                    COALESCE(SUM(CASE WHEN state = 'conflict' THEN n END), 0)
             FROM outbox_state_counts",
        )?
        .query_row([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?)
}

const QUEUED_SELECT: &str = "SELECT id, idempotency_key, entity, action, state, summary, attempts,
    next_attempt_at, error_code, last_error, created_at, payload FROM outbox";

fn queued_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(QueuedOperation, String)> {
    let state: String = r.get(4)?;
    Ok((
        QueuedOperation {
            id: r.get(0)?,
            idempotency_key: r.get(1)?,
            entity: r.get(2)?,
            action: r.get(3)?,
            state: state_of(&state),
            summary: r.get(5)?,
            attempts: r.get(6)?,
            next_attempt_at: opt_time_col(r, 7)?,
            error_code: r.get(8)?,
            last_error: r.get(9)?,
            created_at: time_col(r, 10)?,
            payload: serde_json::Value::Null,
        },
        r.get(11)?,
    ))
}

fn with_payload(row: (QueuedOperation, String)) -> Result<QueuedOperation> {
    let (mut op, payload) = row;
    op.payload = serde_json::from_str(&payload)?;
    Ok(op)
}

/// Every operation not yet done nor discarded, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<QueuedOperation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{QUEUED_SELECT} WHERE state NOT IN ('done', 'discarded') ORDER BY id"
    ))?;
    let rows = stmt.query_map([], queued_row)?;
    rows.map(|r| with_payload(r?)).collect()
}

pub fn get(conn: &Connection, id: i64) -> Result<QueuedOperation> {
    let row = conn
        .query_row(&format!("{QUEUED_SELECT} WHERE id = ?1"), [id], queued_row)
        .optional()?
        .ok_or_else(|| EngineError::not_found(format!("id: no queued operation {id}")))?;
    with_payload(row)
}

/// Sends a failed or conflicting operation again (same key), now, together with what it needs
/// and what needs it: the failed or conflicting operations it depends on, and the operations
/// that failed only because of it (each retry is audited).
pub fn retry(tx: &Connection, id: i64, now: DateTime<Utc>, by: Option<&str>) -> Result<()> {
    let op = get(tx, id)?;
    if !matches!(
        op.state,
        SyncState::Failed | SyncState::Conflict | SyncState::Queued
    ) {
        return Err(EngineError::new(
            ErrorCode::InvalidState,
            format!(
                "operation {id} is {:?}; only failed, conflicting or waiting ones can be retried",
                op.state
            ),
        ));
    }
    requeue(tx, &op, "retried by a person", now, by)?;
    // Up: the parents it waits on that stopped (not discarded ones: nothing brings them back).
    let mut top = id;
    let mut parent = parent_of(tx, id)?;
    while let Some(up) = parent {
        let parent_op = get(tx, up)?;
        if !matches!(parent_op.state, SyncState::Failed | SyncState::Conflict) {
            break;
        }
        requeue(
            tx,
            &parent_op,
            &format!("retried with operation {id}, which depends on it"),
            now,
            by,
        )?;
        top = up;
        parent = parent_of(tx, up)?;
    }
    // Down: the operations that failed only because one of these had stopped.
    let mut parents = vec![top];
    while let Some(parent) = parents.pop() {
        let waiting: Vec<i64> = tx
            .prepare_cached(
                "SELECT id FROM outbox WHERE depends_on = ?1 AND state = 'failed'
                   AND error_code = ?2 ORDER BY id",
            )?
            .query_map(params![parent, DEPENDENCY_FAILED], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for child in waiting {
            requeue(
                tx,
                &get(tx, child)?,
                &format!("retried with operation {id}"),
                now,
                by,
            )?;
            parents.push(child);
        }
    }
    Ok(())
}

fn parent_of(tx: &Connection, id: i64) -> Result<Option<i64>> {
    Ok(
        tx.query_row("SELECT depends_on FROM outbox WHERE id = ?1", [id], |r| {
            r.get(0)
        })?,
    )
}

fn requeue(
    tx: &Connection,
    op: &QueuedOperation,
    reason: &str,
    now: DateTime<Utc>,
    by: Option<&str>,
) -> Result<()> {
    audit(tx, op, "retry", reason, by, now)?;
    tx.execute(
        "UPDATE outbox SET state = 'queued', next_attempt_at = NULL, updated_at = ?2 WHERE id = ?1",
        params![op.id, time_text(&now)],
    )?;
    Ok(())
}

/// Takes an operation out of the queue for good, with the reason in the audit table.
pub fn discard(
    tx: &Connection,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
    by: Option<&str>,
) -> Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(EngineError::invalid(
            "reason: say why the operation is discarded",
        ));
    }
    let op = get(tx, id)?;
    if matches!(op.state, SyncState::Confirmed | SyncState::Discarded) {
        return Err(EngineError::new(
            ErrorCode::InvalidState,
            format!("operation {id} is {:?} and cannot be discarded", op.state),
        ));
    }
    audit(tx, &op, "discard", reason, by, now)?;
    tx.execute(
        "UPDATE outbox SET state = 'discarded', updated_at = ?2 WHERE id = ?1",
        params![id, time_text(&now)],
    )?;
    // A discarded sale or return will never move the server's stock: stop counting it.
    tx.execute(
        "UPDATE sales SET stock_settled = 1 WHERE outbox_id = ?1",
        [id],
    )?;
    tx.execute(
        "UPDATE sale_returns SET stock_settled = 1 WHERE outbox_id = ?1",
        [id],
    )?;
    fail_dependants(tx, id, now)
}

fn audit(
    tx: &Connection,
    op: &QueuedOperation,
    event: &str,
    reason: &str,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO outbox_audit (outbox_id, idempotency_key, entity, action, payload,
           previous_state, last_error, event, reason, by_user, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            op.id,
            op.idempotency_key,
            op.entity,
            op.action,
            op.payload.to_string(),
            serde_json::to_value(op.state)?.as_str().unwrap_or_default(),
            op.last_error,
            event,
            reason,
            by,
            time_text(&now)
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same counts by scanning the queue, as the status read them before migration 0007.
    fn counts_by_scan(conn: &Connection) -> (u64, u64, u64) {
        conn.query_row(
            "SELECT COALESCE(SUM(state IN ('queued', 'sent')), 0),
                    COALESCE(SUM(state = 'failed'), 0), COALESCE(SUM(state = 'conflict'), 0)
             FROM outbox",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            },
        )
        .unwrap()
    }

    #[test]
    fn kept_counts_match_the_queue_through_every_state_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let stamp = Stamp {
            now: Utc::now(),
            clock_offset_ms: 0,
        };
        let ids: Vec<i64> = store
            .write(|tx| {
                (0..8)
                    .map(|i| {
                        let op = NewOperation {
                            entity: "sale",
                            action: "create",
                            payload: serde_json::json!({ "n": i }),
                            summary: format!("op {i}"),
                            depends_on: None,
                        };
                        Ok(enqueue(tx, op, stamp)?.0)
                    })
                    .collect()
            })
            .unwrap();
        let check = |expected: (u64, u64, u64)| {
            store
                .read(|c| {
                    assert_eq!(counts(c)?, expected);
                    assert_eq!(counts_by_scan(c), expected);
                    Ok(())
                })
                .unwrap()
        };
        check((8, 0, 0));
        let set = |id: i64, state: &str| {
            store
                .write(|tx| {
                    tx.execute(
                        "UPDATE outbox SET state = ?2 WHERE id = ?1",
                        params![id, state],
                    )?;
                    Ok(())
                })
                .unwrap()
        };
        set(ids[0], "sent");
        set(ids[1], "done");
        set(ids[2], "failed");
        set(ids[3], "conflict");
        set(ids[4], "discarded");
        set(ids[5], "queued"); // no change of state
        check((4, 1, 1));
        set(ids[2], "queued");
        set(ids[0], "conflict");
        check((4, 0, 2));
        // A change rolled back leaves the counts as they were.
        let refused = store.write(|tx| {
            tx.execute("UPDATE outbox SET state = 'failed' WHERE id = ?1", [ids[6]])?;
            Err::<(), _>(crate::error::EngineError::invalid("roll back"))
        });
        assert!(refused.is_err());
        check((4, 0, 2));
        store
            .write(|tx| {
                tx.execute("DELETE FROM outbox WHERE id = ?1", [ids[3]])?;
                Ok(())
            })
            .unwrap();
        check((4, 0, 1));
    }

    fn result(status: ResultStatus, code: Option<BatchErrorCode>) -> OperationResult {
        OperationResult {
            idempotency_key: "k".into(),
            status,
            replayed: false,
            server_id: Some(7),
            local_id: None,
            invoice_number: Some("INV-7".into()),
            version: None,
            created_at: None,
            warnings: vec![],
            error_code: code,
            error: code.map(|_| "why".into()),
            conflict: None,
        }
    }

    #[test]
    fn every_status_gets_its_treatment() {
        for status in [
            ResultStatus::Created,
            ResultStatus::Updated,
            ResultStatus::Deleted,
            ResultStatus::Skipped,
        ] {
            assert!(matches!(
                decide(&result(status, None)),
                Decision::Done {
                    server_id: Some(7),
                    ..
                }
            ));
        }
        assert!(matches!(
            decide(&result(ResultStatus::Conflict, None)),
            Decision::Conflict { .. }
        ));
        assert_eq!(
            decide(&result(
                ResultStatus::Error,
                Some(BatchErrorCode::StockNotFound)
            )),
            Decision::Failed {
                code: "STOCK_NOT_FOUND".into(),
                message: "why".into()
            }
        );
        assert!(matches!(
            decide(&result(
                ResultStatus::Error,
                Some(BatchErrorCode::DependencyFailed)
            )),
            Decision::WaitForParent { .. }
        ));
        assert!(matches!(
            decide(&result(ResultStatus::Error, Some(BatchErrorCode::Internal))),
            Decision::Retry { .. }
        ));
        assert!(matches!(
            decide(&result(ResultStatus::Error, None)),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn backoff_doubles_within_bounds_with_jitter() {
        let initial = Duration::from_secs(1);
        let max = Duration::from_secs(300);
        assert_eq!(
            backoff_delay(1, initial, max, 0.0),
            Duration::from_millis(500)
        );
        assert_eq!(backoff_delay(1, initial, max, 1.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(4, initial, max, 1.0), Duration::from_secs(8));
        for attempt in 1..40 {
            for jitter in [0.0, 0.3, 0.999] {
                let d = backoff_delay(attempt, initial, max, jitter);
                assert!(d <= max && d >= initial / 2, "{attempt} {jitter} {d:?}");
            }
        }
        assert_eq!(backoff_delay(60, initial, max, 1.0), max);
    }
}
