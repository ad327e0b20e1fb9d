//! `POST /api/v1/sync/batch`: terminals upload what they did offline.
//!
//! Operations apply in request order. A run of sales shares one write transaction (up to
//! `CHUNK_OPERATIONS`, so one commit for many sales), every other operation has its own; inside
//! it each operation has its own savepoint, so one that fails is rolled back alone. Each
//! result is stored under its key in the same transaction as its effects, so a replay answers
//! with the first result and nothing is applied twice; creates are also unique for ever by client reference (sales, due
//! collections) or by (device, entity, local id), so a retry under a new key is `skipped`.
//! The offline sale is the truth: stock may go negative (logged and warned), totals that do
//! not add up are kept and flagged, soft-deleted references still resolve.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use pos_protocol::entities::Settings as BusinessSettings;
use pos_protocol::error::{ApiErrorBody, ErrorCode};
use pos_protocol::store_ops::{
    refund_share, CashMovementCreate, CashMovementKind, RefundMethod, SaleReturnCreate, ShiftData,
};
use pos_protocol::sync::{
    BatchErrorCode, BatchRequest, BatchResponse, BatchSummary, DueCollectionCreate, Operation,
    OperationResult, PartyData, ResultStatus, SaleCreate, SaleLineData, Warning,
    MAX_BATCH_OPERATIONS,
};
use pos_protocol::totals::{self, CartDiscount, LineInput};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::resources::spec::{self, FieldKind, PARTY_TYPES};
use crate::store::tx::{
    AuditEntry, DocumentRef, NewDiscrepancy, NewDueCollection, NewPartyRow, NewSale, NewSaleLine,
    NewSaleReturn, StockRow, SyncTx,
};
use crate::store::{Column, StoreError, Value};
use crate::trade::authority::{self, Concern, Concerns, Staff};
use crate::AppState;

const DEVICE_HEADER: &str = "x-device-id";
const CLIENT_VERSION_HEADER: &str = "x-client-version";

/// Why an operation was not applied.
pub(crate) struct OpFailure {
    pub(crate) status: ResultStatus,
    pub(crate) code: BatchErrorCode,
    pub(crate) message: String,
    conflict: Option<serde_json::Value>,
    /// A unique violation: someone else created the same thing first, so a second try finds it.
    collided: bool,
}

impl OpFailure {
    pub(crate) fn error(code: BatchErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: ResultStatus::Error,
            code,
            message: message.into(),
            conflict: None,
            collided: false,
        }
    }
}

impl From<StoreError> for OpFailure {
    fn from(err: StoreError) -> Self {
        let collided = matches!(err, StoreError::Duplicate(_));
        if !collided {
            tracing::error!(%err, "sync operation failed in the database");
        }
        OpFailure {
            collided,
            ..OpFailure::error(
                BatchErrorCode::Internal,
                "The server could not store this operation",
            )
        }
    }
}

pub(crate) type OpResult<T> = Result<T, OpFailure>;

/// What every operation of one batch shares. The back-office API runs the same operations
/// with `online` set: there a request that breaks a rule is refused outright instead of being
/// kept as a conflict, because nobody has acted on it yet.
pub(crate) struct Context<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) user: &'a AuthUser,
    pub(crate) device_id: String,
    pub(crate) settings: BusinessSettings,
    pub(crate) now: DateTime<Utc>,
    pub(crate) online: bool,
}

fn parse<T: DeserializeOwned>(data: &serde_json::Value) -> OpResult<T> {
    serde_path_to_error::deserialize(data).map_err(|err| {
        let path = err.path().to_string();
        OpFailure::error(
            BatchErrorCode::ValidationFailed,
            format!("{path}: {}", err.inner()),
        )
    })
}

/// Ordered comparison of dotted version numbers (`0.10.2` > `0.9`).
fn older_than(version: &str, minimum: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.trim()
            .split(['.', '-', '+'])
            .take(3)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(version) < parts(minimum)
}

fn operation_hash(op: &Operation) -> String {
    let mut hasher = Sha256::new();
    hasher.update(op.entity.as_bytes());
    hasher.update(b"\n");
    hasher.update(op.action.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(&op.data).unwrap_or_default());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn done(
    op: &Operation,
    status: ResultStatus,
    doc: &DocumentRef,
    local_id: Option<String>,
) -> OperationResult {
    OperationResult {
        idempotency_key: op.idempotency_key.clone(),
        status,
        replayed: false,
        server_id: Some(doc.id),
        local_id,
        invoice_number: doc.invoice_number.clone(),
        version: Some(doc.version),
        created_at: Some(doc.created_at),
        warnings: Vec::new(),
        error_code: None,
        error: None,
        conflict: None,
    }
}

fn failed(op: &Operation, failure: OpFailure) -> OperationResult {
    OperationResult {
        idempotency_key: op.idempotency_key.clone(),
        status: failure.status,
        replayed: false,
        server_id: None,
        local_id: op.data.get("local_id").map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        }),
        invoice_number: None,
        version: None,
        created_at: None,
        warnings: Vec::new(),
        error_code: Some(failure.code),
        error: Some(failure.message),
        conflict: failure.conflict,
    }
}

#[utoipa::path(post, path = "/api/v1/sync/batch", tag = "sync", request_body = BatchRequest,
    responses((status = 200, description = "Every operation applied or already there", body = BatchResponse),
              (status = 207, description = "Some operations failed or conflict", body = BatchResponse),
              (status = 426, description = "The terminal must be updated", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn batch(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(request): ApiJson<BatchRequest>,
) -> ApiResult<Response> {
    if let Some(version) = headers
        .get(CLIENT_VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        if older_than(version, &state.settings.min_client_version) {
            return Err(ApiError::new(
                ErrorCode::ClientTooOld,
                format!(
                    "This terminal ({version}) is older than {}; update it. Its queue is kept.",
                    state.settings.min_client_version
                ),
            ));
        }
    }
    let device_id = headers
        .get(DEVICE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(request.device_id.clone())
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty() && d.len() <= 128)
        .ok_or_else(|| ApiError::invalid_field("device_id", "send X-Device-ID or device_id"))?;
    if request.operations.is_empty() || request.operations.len() > MAX_BATCH_OPERATIONS {
        return Err(ApiError::invalid_field(
            "operations",
            format!("must hold 1 to {MAX_BATCH_OPERATIONS} operations"),
        ));
    }
    let response = apply_operations(&state, &user, device_id, &request.operations).await?;
    let status = if response.summary.error_count == 0 {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok((status, Json(response)).into_response())
}

/// Applies `operations` in order for one device of the caller's business under the batch
/// rules, and logs the run. The batch route and the rescue import both come through here, so
/// a rescued operation and the same operation synced later meet the same exactly-once rules.
pub async fn apply_operations(
    state: &AppState,
    user: &AuthUser,
    device_id: String,
    operations: &[Operation],
) -> ApiResult<BatchResponse> {
    let settings = state
        .store
        .business_settings(user.business_id)
        .await?
        .ok_or_else(|| ApiError::internal("the caller's business has no settings"))?;
    check_device_owner(state, user, &device_id).await?;
    let started_at = pos_protocol::time::now();
    let ctx = Context {
        state,
        user,
        device_id,
        settings,
        now: started_at,
        online: false,
    };

    let mut results = Vec::with_capacity(operations.len());
    // Local ids whose create failed here: operations naming them fail as dependants.
    let mut failed_locals: HashSet<(String, String)> = HashSet::new();
    let mut rest = operations;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(chunk_len(rest));
        results.extend(run_chunk(&ctx, chunk, &mut failed_locals).await);
        rest = tail;
    }

    let success_count = results.iter().filter(|r| r.status.is_done()).count();
    let summary = BatchSummary {
        total: results.len(),
        success_count,
        error_count: results.len() - success_count,
    };
    let now = pos_protocol::time::now();
    let logged = async {
        let mut tx = SyncTx::new(state.store.begin_write().await?);
        tx.log_batch(
            user.business_id,
            &ctx.device_id,
            user.user_id,
            summary.total,
            summary.success_count,
            summary.error_count,
            started_at,
            now,
        )
        .await?;
        tx.commit().await
    };
    if let Err(err) = logged.await {
        tracing::error!(%err, "cannot write the sync log");
    }
    Ok(BatchResponse {
        success: summary.error_count == 0,
        results,
        server_timestamp: now,
        summary,
    })
}

/// A terminal registered to another business is not the caller's to sync for: its offline
/// counter and local ids are that business's. An unregistered device id is the caller's.
async fn check_device_owner(state: &AppState, user: &AuthUser, device_id: &str) -> ApiResult<()> {
    let mut exec = state.store.begin_read().await?;
    let owners = exec
        .fetch_all(
            "SELECT business_id FROM sync_devices WHERE device_id = $1",
            &[Value::Text(Some(device_id.to_string()))],
            &[Column::Int],
        )
        .await?;
    exec.commit().await?;
    match owners.first().map(Vec::as_slice) {
        Some([Value::Int(Some(owner))]) if *owner != user.business_id => Err(ApiError::forbidden(
            "X-Device-ID: this terminal is registered to another business",
        )),
        _ => Ok(()),
    }
}

/// Names of the local ids an operation depends on, as (entity, local id).
fn dependencies(op: &Operation) -> Vec<(String, String)> {
    let text = |v: &serde_json::Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let mut out = Vec::new();
    for (field, entity) in [
        ("party_local_id", "party"),
        ("sale_local_id", "sale"),
        ("shift_local_id", "shift"),
    ] {
        if let Some(v) = op.data.get(field).filter(|v| !v.is_null()) {
            out.push((entity.to_string(), text(v)));
        }
    }
    if op.entity == "party" && op.action != "create" {
        if let Some(v) = op.data.get("local_id").filter(|v| !v.is_null()) {
            out.push(("party".to_string(), text(v)));
        }
    }
    out
}

/// Most operations one write transaction takes. One commit (one `fdatasync`) for up to this
/// many sales, while PostgreSQL still keeps every operation's subtransaction in its
/// per-backend cache of 64.
const CHUNK_OPERATIONS: usize = 50;

fn is_sale_create(op: &Operation) -> bool {
    op.entity == "sale" && op.action == "create"
}

/// How many operations from the front of `operations` share one transaction: a run of sale
/// creates (the bulk of every batch), or one operation of any other kind, which keeps the
/// locks it takes to itself as it always did.
fn chunk_len(operations: &[Operation]) -> usize {
    let sales = operations
        .iter()
        .take(CHUNK_OPERATIONS)
        .take_while(|op| is_sale_create(op))
        .count();
    sales.max(1)
}

/// Remembers the local ids a failed create would have made, for its dependants.
fn note_failure(
    failed_locals: &mut HashSet<(String, String)>,
    op: &Operation,
    result: &OperationResult,
) {
    if result.status.is_done() || op.action != "create" {
        return;
    }
    if let Some(local) = result.local_id.clone() {
        failed_locals.insert((op.entity.clone(), local));
    }
    if let Some(new_party) = op.data.get("new_party").and_then(|p| p.get("local_id")) {
        let local = new_party
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| new_party.to_string());
        failed_locals.insert(("party".into(), local));
    }
}

/// Applies a chunk in one transaction. A chunk that could not be stored at all leaves nothing
/// behind. Its sales' rows are first written together; if the database refuses them, the
/// chunk runs again writing each sale's rows inside its own savepoint, so that a refused row
/// fails its sale alone. If the same operation committed elsewhere meanwhile (a unique
/// violation), the chunk is run once more and then finds what the other stored.
async fn run_chunk(
    ctx: &Context<'_>,
    ops: &[Operation],
    failed_locals: &mut HashSet<(String, String)>,
) -> Vec<OperationResult> {
    let before = failed_locals.clone();
    let mut outcome = apply_chunk(ctx, ops, failed_locals, SaleWrites::Together).await;
    if outcome.is_err() && ops.iter().any(is_sale_create) {
        *failed_locals = before.clone();
        outcome = apply_chunk(ctx, ops, failed_locals, SaleWrites::EachAlone).await;
    }
    if let Err(StoreError::Duplicate(_)) = outcome {
        *failed_locals = before.clone();
        outcome = apply_chunk(ctx, ops, failed_locals, SaleWrites::EachAlone).await;
    }
    match outcome {
        Ok(results) => results,
        Err(err) => {
            *failed_locals = before;
            let failure = OpFailure::from(err);
            ops.iter()
                .map(|op| {
                    let result =
                        failed(op, OpFailure::error(failure.code, failure.message.clone()));
                    note_failure(failed_locals, op, &result);
                    result
                })
                .collect()
        }
    }
}

/// One transaction for the chunk, a savepoint for each operation: an operation that fails is
/// rolled back to its savepoint alone, and its result (never stored) says why. Every applied
/// operation's audit row and stored result are written in the same transaction as its effects.
async fn apply_chunk(
    ctx: &Context<'_>,
    ops: &[Operation],
    failed_locals: &mut HashSet<(String, String)>,
    writes: SaleWrites,
) -> Result<Vec<OperationResult>, StoreError> {
    let business_id = ctx.user.business_id;
    let has_sales = ops.iter().any(is_sale_create);
    let _turn = if has_sales {
        Some(ctx.state.sale_turns.take(business_id).await)
    } else {
        None
    };
    let mut tx = SyncTx::new(ctx.state.store.begin_write().await?);
    let mut sales = if has_sales {
        Some(SaleChunk::prepare(ctx, &mut tx, ops, writes).await?)
    } else {
        None
    };
    let keys: Vec<&str> = ops
        .iter()
        .map(|op| op.idempotency_key.as_str())
        .filter(|key| valid_key(key))
        .collect();
    let mut stored = tx.operation_results(business_id, &keys, ctx.now).await?;
    let mut results = Vec::with_capacity(ops.len());
    let mut applied = Vec::new();
    for op in ops {
        let hash = operation_hash(op);
        let (result, applied_now) = run_operation(
            ctx,
            &mut tx,
            sales.as_mut(),
            op,
            &hash,
            &stored,
            failed_locals,
        )
        .await?;
        note_failure(failed_locals, op, &result);
        if applied_now {
            let json =
                serde_json::to_string(&result).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            // The same key again later in this chunk answers as a replay.
            stored.insert(op.idempotency_key.clone(), (hash.clone(), json.clone()));
            applied.push((op, hash, json, result.status, result.server_id));
        }
        results.push(result);
    }
    if let Some(sales) = sales {
        sales.finish(ctx, &mut tx).await?;
    }
    let audits: Vec<AuditEntry> = applied
        .iter()
        .filter(|(_, _, _, status, _)| *status != ResultStatus::Skipped)
        .map(|(op, _, _, _, server_id)| AuditEntry {
            business_id,
            device_id: &ctx.device_id,
            user_id: ctx.user.user_id,
            entity: &op.entity,
            action: &op.action,
            entity_id: *server_id,
            idempotency_key: &op.idempotency_key,
            offline_timestamp: op.offline_timestamp,
            payload: op.data.to_string(),
            diff: None,
            now: ctx.now,
        })
        .collect();
    tx.audits(&audits).await?;
    let to_store: Vec<(&str, &str, &str)> = applied
        .iter()
        .map(|(op, hash, json, _, _)| (op.idempotency_key.as_str(), hash.as_str(), json.as_str()))
        .collect();
    tx.store_operation_results(
        business_id,
        &to_store,
        ctx.now,
        ctx.now + ctx.state.settings.idempotency_ttl,
    )
    .await?;
    tx.commit().await?;
    Ok(results)
}

fn valid_key(key: &str) -> bool {
    !key.trim().is_empty() && key.len() <= 128
}

/// One operation inside its chunk's transaction: a replay, a rejection, or applied under its
/// own savepoint (then `true`: its result is to be stored). `Err` only when the transaction
/// itself broke.
async fn run_operation(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    mut sales: Option<&mut SaleChunk>,
    op: &Operation,
    hash: &str,
    stored: &HashMap<String, (String, String)>,
    failed_locals: &HashSet<(String, String)>,
) -> Result<(OperationResult, bool), StoreError> {
    if !valid_key(&op.idempotency_key) {
        return Ok((
            failed(
                op,
                OpFailure::error(
                    BatchErrorCode::ValidationFailed,
                    "idempotency_key: 1 to 128 characters",
                ),
            ),
            false,
        ));
    }
    if let Some((entity, local)) = dependencies(op)
        .into_iter()
        .find(|d| failed_locals.contains(d))
    {
        return Ok((
            failed(
                op,
                OpFailure::error(
                    BatchErrorCode::DependencyFailed,
                    format!("depends on {entity} {local}, which failed in this batch"),
                ),
            ),
            false,
        ));
    }
    if let Some((stored_hash, stored)) = stored.get(&op.idempotency_key) {
        if stored_hash != hash {
            return Ok((
                failed(
                    op,
                    OpFailure::error(
                        BatchErrorCode::IdempotencyKeyReused,
                        "this idempotency key was used for a different operation",
                    ),
                ),
                false,
            ));
        }
        let mut result: OperationResult = serde_json::from_str(stored)
            .map_err(|e| StoreError::Corrupt(format!("stored operation result: {e}")))?;
        result.replayed = true;
        return Ok((result, false));
    }
    // A unique violation means the same entity was created meanwhile; the second try reads
    // afresh and finds it.
    for attempt in 0..2 {
        tx.savepoint();
        let outcome = match (op.entity.as_str(), op.action.as_str()) {
            ("sale", "create") => match sales.as_deref_mut() {
                Some(sales) => {
                    sales.read_afresh = attempt > 0;
                    create_sale(ctx, tx, sales, op).await
                }
                None => Err(OpFailure::error(
                    BatchErrorCode::Internal,
                    "a sale outside a sale chunk",
                )),
            },
            ("party", "create") => create_party(ctx, tx, op).await,
            ("party", "update" | "delete") => change_party(ctx, tx, op).await,
            ("due_collection", "create") => collect_due(ctx, tx, op).await,
            ("shift", "open") => open_shift(ctx, tx, op).await,
            ("shift", "close") => close_shift(ctx, tx, op).await,
            ("cash_movement", "create") => record_cash_movement(ctx, tx, op).await,
            ("sale_return", "create") => return_sale(ctx, tx, op).await,
            (entity, action) => Err(OpFailure::error(
                BatchErrorCode::UnsupportedOperation,
                format!("{entity}/{action} is not supported"),
            )),
        };
        match outcome {
            Ok(result) => return Ok((result, true)),
            // Nothing of a failed operation is kept, so a retry can apply it later.
            Err(failure) => {
                tx.rollback_to_savepoint().await?;
                if !(failure.collided && attempt == 0) {
                    return Ok((failed(op, failure), false));
                }
            }
        }
    }
    Ok((
        failed(
            op,
            OpFailure::error(BatchErrorCode::Internal, "the operation kept colliding"),
        ),
        false,
    ))
}

/// Sale transactions of one business take turns anyway: the invoice counter row stays locked
/// until each commits. Within this process they queue here instead, so that those waiting
/// hold no database connection that reads and other businesses could use.
#[derive(Default)]
pub struct SaleTurns(std::sync::Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>);

impl SaleTurns {
    async fn take(&self, business_id: i64) -> tokio::sync::OwnedMutexGuard<()> {
        let turn = {
            let mut turns = self.0.lock().unwrap_or_else(|e| e.into_inner());
            turns.entry(business_id).or_default().clone()
        };
        turn.lock_owned().await
    }
}

/// What the sales of one transaction share, read once before the first of them applies.
///
/// The business's invoice counter row is locked first, so sale transactions of one business
/// take turns (on every server process) and the numbers handed out here follow the last one
/// without a gap; a sale that fails takes none. Then every stock row the sales name is
/// locked, in id order, and kept here: each sale takes its quantities off these rows in
/// request order, and the rows are written back once, at the end.
pub(crate) struct SaleChunk {
    last_number: i64,
    counter_at_start: i64,
    stocks: HashMap<i64, StockRow>,
    changed_stocks: BTreeSet<i64>,
    /// Sales by client reference and by this device's local id: every one asked for up front,
    /// plus those created since. Nobody else creates this business's sales meanwhile, since
    /// they wait for the counter.
    by_reference: HashMap<String, DocumentRef>,
    references_read: HashSet<String>,
    by_local_id: HashMap<String, DocumentRef>,
    local_ids_read: HashSet<String>,
    /// After a collision: read from the database, not from the maps above.
    read_afresh: bool,
    payment_types: HashMap<i64, bool>,
    vat_rates: HashMap<i64, Option<Decimal>>,
    /// The catalog's sale price of each locked stock row, for the underpriced-line check.
    sale_prices: HashMap<i64, Decimal>,
    staff: Staff,
    shifts: HashMap<(Option<i64>, Option<String>), Option<ShiftLink>>,
    offline_seq: Option<i64>,
    /// Ids reserved for the chunk's sales, taken as each sale applies.
    sale_ids: std::vec::IntoIter<i64>,
    writes: SaleWrites,
    unwritten: SaleRows,
}

/// When the rows of a chunk's applied sales are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaleWrites {
    /// All of them as the chunk finishes, one statement per table: a sale whose checks pass
    /// runs no statement of its own.
    Together,
    /// Each sale's as it applies, inside its savepoint: a row the database refuses fails
    /// that sale alone.
    EachAlone,
}

/// Rows of applied sales not written yet.
#[derive(Default)]
struct SaleRows {
    sales: Vec<NewSale>,
    lines: Vec<NewSaleLine>,
    discrepancies: Vec<NewDiscrepancy>,
    local_ids: Vec<(String, i64)>,
}

/// A sale's client reference: the terminal's, or its device and offline number.
fn sale_reference(ctx: &Context<'_>, sale: &SaleCreate) -> Option<String> {
    sale.client_reference.clone().or_else(|| {
        sale.offline_invoice_no
            .as_ref()
            .map(|no| format!("{}:{no}", ctx.device_id))
    })
}

impl SaleChunk {
    pub(crate) async fn prepare(
        ctx: &Context<'_>,
        tx: &mut SyncTx,
        ops: &[Operation],
        writes: SaleWrites,
    ) -> Result<SaleChunk, StoreError> {
        let business_id = ctx.user.business_id;
        let last_number = tx.lock_invoice_counter(business_id, "sale").await?;
        let sale_ids = tx
            .reserve_ids("sales", ops.iter().filter(|op| is_sale_create(op)).count())
            .await?;
        let sales: Vec<SaleCreate> = ops
            .iter()
            .filter(|op| is_sale_create(op))
            .filter_map(|op| SaleCreate::deserialize(&op.data).ok())
            .collect();
        let stock_ids: BTreeSet<i64> = sales
            .iter()
            .flat_map(|sale| sale.products.iter().map(|line| line.stock_id))
            .collect();
        let stock_ids: Vec<i64> = stock_ids.into_iter().collect();
        let stocks = tx
            .stocks_for_update(business_id, &stock_ids)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        let sale_prices = catalog_sale_prices(tx, business_id, &stock_ids).await?;
        let references: HashSet<String> = sales
            .iter()
            .filter_map(|sale| sale_reference(ctx, sale))
            .collect();
        let local_ids: HashSet<String> = sales.iter().filter_map(|s| s.local_id.clone()).collect();
        let by_reference = tx
            .sales_by_reference(
                business_id,
                &references.iter().map(String::as_str).collect::<Vec<_>>(),
            )
            .await?;
        let by_local_id = tx
            .sales_by_local_id(
                business_id,
                &ctx.device_id,
                &local_ids.iter().map(String::as_str).collect::<Vec<_>>(),
            )
            .await?;
        Ok(SaleChunk {
            last_number,
            counter_at_start: last_number,
            stocks,
            changed_stocks: BTreeSet::new(),
            by_reference,
            references_read: references,
            by_local_id,
            local_ids_read: local_ids,
            read_afresh: false,
            payment_types: HashMap::new(),
            vat_rates: HashMap::new(),
            sale_prices,
            staff: Staff::default(),
            shifts: HashMap::new(),
            offline_seq: None,
            sale_ids: sale_ids.into_iter(),
            writes,
            unwritten: SaleRows::default(),
        })
    }

    async fn existing_by_reference(
        &self,
        tx: &mut SyncTx,
        business_id: i64,
        reference: &str,
    ) -> Result<Option<DocumentRef>, StoreError> {
        if let Some(found) = self.by_reference.get(reference) {
            return Ok(Some(found.clone()));
        }
        if self.references_read.contains(reference) && !self.read_afresh {
            return Ok(None);
        }
        tx.sale_by_reference(business_id, reference).await
    }

    async fn existing_by_local_id(
        &self,
        ctx: &Context<'_>,
        tx: &mut SyncTx,
        local: &str,
    ) -> Result<Option<DocumentRef>, StoreError> {
        if let Some(found) = self.by_local_id.get(local) {
            return Ok(Some(found.clone()));
        }
        if self.local_ids_read.contains(local) && !self.read_afresh {
            return Ok(None);
        }
        match tx
            .local_id(ctx.user.business_id, &ctx.device_id, "sale", local)
            .await?
        {
            Some(id) => tx.sale_by_id(ctx.user.business_id, id).await,
            None => Ok(None),
        }
    }

    async fn payment_type_exists(
        &mut self,
        tx: &mut SyncTx,
        business_id: i64,
        id: i64,
    ) -> Result<bool, StoreError> {
        if let Some(exists) = self.payment_types.get(&id) {
            return Ok(*exists);
        }
        let exists = tx.payment_type_exists(business_id, id).await?;
        self.payment_types.insert(id, exists);
        Ok(exists)
    }

    async fn vat_rate(
        &mut self,
        tx: &mut SyncTx,
        business_id: i64,
        id: i64,
    ) -> Result<Option<Decimal>, StoreError> {
        if let Some(rate) = self.vat_rates.get(&id) {
            return Ok(*rate);
        }
        let rate = tx.vat_rate(business_id, id).await?;
        self.vat_rates.insert(id, rate);
        Ok(rate)
    }

    /// The shift a sale names; shifts do not change while the chunk runs.
    async fn shift(
        &mut self,
        ctx: &Context<'_>,
        tx: &mut SyncTx,
        shift_id: Option<i64>,
        shift_local_id: Option<&str>,
    ) -> OpResult<Option<ShiftLink>> {
        let key = (shift_id, shift_local_id.map(str::to_string));
        if let Some(link) = self.shifts.get(&key) {
            return Ok(link.clone());
        }
        let link = resolve_shift(ctx, tx, shift_id, shift_local_id).await?;
        self.shifts.insert(key, link.clone());
        Ok(link)
    }

    async fn next_sale_id(&mut self, tx: &mut SyncTx) -> Result<i64, StoreError> {
        if let Some(id) = self.sale_ids.next() {
            return Ok(id);
        }
        // A sale that was rolled back and tried again took one more than counted.
        tx.reserve_ids("sales", 1)
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("no sale id was reserved".into()))
    }

    /// Takes on an applied sale's rows, and writes them now or with the chunk's.
    async fn write(
        &mut self,
        ctx: &Context<'_>,
        tx: &mut SyncTx,
        sale: NewSale,
        lines: Vec<NewSaleLine>,
        discrepancies: Vec<NewDiscrepancy>,
    ) -> Result<(), StoreError> {
        if let Some(local) = &sale.local_id {
            self.unwritten.local_ids.push((local.clone(), sale.id));
        }
        self.unwritten.sales.push(sale);
        self.unwritten.lines.extend(lines);
        self.unwritten.discrepancies.extend(discrepancies);
        if self.writes == SaleWrites::EachAlone {
            self.write_rows(ctx, tx).await?;
        }
        Ok(())
    }

    async fn write_rows(&mut self, ctx: &Context<'_>, tx: &mut SyncTx) -> Result<(), StoreError> {
        let rows = std::mem::take(&mut self.unwritten);
        tx.insert_sales(&rows.sales).await?;
        tx.insert_sale_lines(&rows.lines).await?;
        tx.insert_discrepancies(&rows.discrepancies).await?;
        let local_ids: Vec<(&str, i64)> = rows
            .local_ids
            .iter()
            .map(|(local, id)| (local.as_str(), *id))
            .collect();
        tx.map_local_ids(
            ctx.user.business_id,
            &ctx.device_id,
            "sale",
            &local_ids,
            ctx.now,
        )
        .await
    }

    /// Writes the applied sales' rows not written yet, and what they changed: stock rows,
    /// the counter, the device's highest offline number.
    pub(crate) async fn finish(
        mut self,
        ctx: &Context<'_>,
        tx: &mut SyncTx,
    ) -> Result<(), StoreError> {
        self.write_rows(ctx, tx).await?;
        let quantities: Vec<(i64, Decimal)> = self
            .changed_stocks
            .iter()
            .filter_map(|id| self.stocks.get(id).map(|row| (row.id, row.quantity)))
            .collect();
        tx.set_stocks(&quantities, ctx.now).await?;
        if self.last_number != self.counter_at_start {
            tx.set_invoice_counter(ctx.user.business_id, "sale", self.last_number)
                .await?;
        }
        if let Some(seq) = self.offline_seq {
            tx.raise_offline_seq(&ctx.device_id, seq).await?;
        }
        Ok(())
    }
}

/// The catalog's sale price of each of the business's stock rows `ids`.
async fn catalog_sale_prices(
    tx: &mut SyncTx,
    business_id: i64,
    ids: &[i64],
) -> Result<HashMap<i64, Decimal>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let mut args = vec![Value::Int(Some(business_id))];
    args.extend(ids.iter().map(|id| Value::Int(Some(*id))));
    let rows = tx
        .exec()
        .fetch_all(
            &format!(
                "SELECT id, product_sale_price FROM stocks WHERE business_id = $1 AND id IN ({})",
                placeholders.join(", ")
            ),
            &args,
            &[Column::Int, Column::Decimal],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [Value::Int(Some(id)), Value::Decimal(Some(price))] => Some((*id, *price)),
            _ => None,
        })
        .collect())
}

async fn resolve_local(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    entity: &str,
    local_id: &str,
) -> OpResult<Option<i64>> {
    Ok(tx
        .local_id(ctx.user.business_id, &ctx.device_id, entity, local_id)
        .await?)
}

/// The party a sale or due collection names, by id, local id or as a new party.
async fn resolve_party(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    party_id: Option<i64>,
    party_local_id: Option<&str>,
    new_party: Option<&pos_protocol::sync::NewParty>,
) -> OpResult<Option<i64>> {
    let business_id = ctx.user.business_id;
    if let Some(id) = party_id {
        return match tx.party_for_update(business_id, id).await? {
            Some(party) => Ok(Some(party.id)),
            None => Err(OpFailure::error(
                BatchErrorCode::PartyNotFound,
                format!("party {id} does not exist"),
            )),
        };
    }
    if let Some(local) = party_local_id {
        return match resolve_local(ctx, tx, "party", local).await? {
            Some(id) => Ok(Some(id)),
            None => Err(OpFailure::error(
                BatchErrorCode::PartyNotFound,
                format!("no party was created from local id {local} on this device"),
            )),
        };
    }
    if let Some(new) = new_party {
        if let Some(id) = resolve_local(ctx, tx, "party", &new.local_id).await? {
            return Ok(Some(id));
        }
        let party_type = party_type(new.party_type.as_deref())?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 255 {
            return Err(OpFailure::error(
                BatchErrorCode::ValidationFailed,
                "new_party.name: 1 to 255 characters",
            ));
        }
        check_party_contact("new_party.", [&new.phone, &new.email, &new.address])?;
        let created = tx
            .insert_party(&NewPartyRow {
                business_id,
                name,
                phone: new.phone.as_deref(),
                email: new.email.as_deref(),
                address: new.address.as_deref(),
                party_type,
                now: ctx.now,
            })
            .await?;
        tx.map_local_id(
            business_id,
            &ctx.device_id,
            "party",
            &new.local_id,
            created.id,
            ctx.now,
        )
        .await?;
        return Ok(Some(created.id));
    }
    Ok(None)
}

/// A party's phone, email and address (in that order) are held to the lengths the back
/// office's party route allows.
fn check_party_contact(prefix: &str, values: [&Option<String>; 3]) -> OpResult<()> {
    for (name, value) in ["phone", "email", "address"].into_iter().zip(values) {
        let Some(value) = value else { continue };
        let max = spec::PARTIES
            .fields
            .iter()
            .find(|field| field.wire == name)
            .and_then(|field| match field.kind {
                FieldKind::Text { max_len } => Some(max_len),
                _ => None,
            })
            .unwrap_or(255);
        if value.chars().count() > max {
            return Err(OpFailure::error(
                BatchErrorCode::ValidationFailed,
                format!("{prefix}{name}: at most {max} characters"),
            ));
        }
    }
    Ok(())
}

fn party_type(given: Option<&str>) -> OpResult<&'static str> {
    match given {
        None => Ok("Customer"),
        Some(text) => PARTY_TYPES
            .iter()
            .find(|t| t.eq_ignore_ascii_case(text.trim()))
            .copied()
            .ok_or_else(|| {
                OpFailure::error(
                    BatchErrorCode::ValidationFailed,
                    format!("type: must be one of {}", PARTY_TYPES.join(", ")),
                )
            }),
    }
}

fn non_negative(name: &str, value: Decimal) -> OpResult<()> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(OpFailure::error(
            BatchErrorCode::ValidationFailed,
            format!("{name}: must not be negative"),
        ));
    }
    Ok(())
}

/// How far ahead of the server's clock a synced sale may be dated before a manager is asked.
const FUTURE_DATE_HOURS: i64 = 24;

/// A sale, applied with the other sales of its transaction (`chunk`). What it changes in the
/// chunk (stock quantities, the invoice number, the lookups) is kept only once it applied.
pub(crate) async fn create_sale(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    chunk: &mut SaleChunk,
    op: &Operation,
) -> OpResult<OperationResult> {
    let sale: SaleCreate = parse(&op.data)?;
    let business_id = ctx.user.business_id;
    if sale.products.is_empty() {
        return Err(OpFailure::error(
            BatchErrorCode::ValidationFailed,
            "products: a sale needs at least one line",
        ));
    }
    let mut line_numbers = HashSet::new();
    for (i, line) in sale.products.iter().enumerate() {
        if line.quantities <= Decimal::ZERO {
            return Err(OpFailure::error(
                BatchErrorCode::ValidationFailed,
                format!("products[{i}].quantities: must be greater than zero"),
            ));
        }
        non_negative(&format!("products[{i}].price"), line.price)?;
        if !line_numbers.insert(line.line_no) {
            return Err(OpFailure::error(
                BatchErrorCode::ValidationFailed,
                format!("products[{i}].line_no: {} appears twice", line.line_no),
            ));
        }
    }
    non_negative("totalAmount", sale.total_amount)?;

    // Exactly once, for ever: by client reference (or device + offline number), then local id.
    let reference = sale_reference(ctx, &sale);
    if let Some(reference) = &reference {
        if let Some(existing) = chunk
            .existing_by_reference(tx, business_id, reference)
            .await?
        {
            return Ok(done(
                op,
                ResultStatus::Skipped,
                &existing,
                sale.local_id.clone(),
            ));
        }
    }
    if let Some(local) = &sale.local_id {
        if let Some(existing) = chunk.existing_by_local_id(ctx, tx, local).await? {
            return Ok(done(
                op,
                ResultStatus::Skipped,
                &existing,
                sale.local_id.clone(),
            ));
        }
    }

    let party_id = resolve_party(
        ctx,
        tx,
        sale.party_id,
        sale.party_local_id.as_deref(),
        sale.new_party.as_ref(),
    )
    .await?;
    if let Some(id) = sale.payment_type_id {
        if !chunk.payment_type_exists(tx, business_id, id).await? {
            return Err(OpFailure::error(
                BatchErrorCode::PaymentTypeNotFound,
                format!("payment type {id} does not exist"),
            ));
        }
    }
    let shift = chunk
        .shift(ctx, tx, sale.shift_id, sale.shift_local_id.as_deref())
        .await?;
    let minor_units = ctx.settings.currency.minor_units;
    // Amounts are bounded, so these differences cannot overflow.
    let paid = sale
        .paid_amount
        .unwrap_or(sale.total_amount - sale.due_amount.unwrap_or(Decimal::ZERO));
    let owed = (sale.total_amount - paid).max(Decimal::ZERO);
    let due = sale.due_amount.unwrap_or(owed);
    non_negative("dueAmount", due)?;
    if !totals::within_rounding(due, owed, minor_units, 1) {
        return Err(OpFailure::error(
            BatchErrorCode::ValidationFailed,
            format!("dueAmount: must be totalAmount - paidAmount ({owed}), not {due}"),
        ));
    }
    let mut concerns = Concerns::default();
    let (cashier_id, cashier_role) = authority::acting_user(
        ctx,
        tx,
        &mut chunk.staff,
        &mut concerns,
        ("cashier_id", sale.cashier_id),
    )
    .await?;
    let sale_date = sale.sale_date.or(op.offline_timestamp).unwrap_or(ctx.now);
    if sale_date > ctx.now + chrono::Duration::hours(FUTURE_DATE_HOURS) {
        concerns.raise(
            ctx,
            Concern::Implausible,
            "saleDate",
            format!(
                "{} is more than {FUTURE_DATE_HOURS} hours after the server's time",
                pos_protocol::time::format(&sale_date)
            ),
        )?;
    }
    if due > Decimal::ZERO && party_id.is_none() {
        return Err(OpFailure::error(
            BatchErrorCode::DueRequiresParty,
            "a sale with a due amount needs a party",
        ));
    }

    // Lines: take each quantity off its stock row (locked by the chunk), note every shortfall.
    // The new quantities stay aside until the sale has applied; pricing keeps the sale's line
    // order.
    let mut warnings: Vec<Warning> = ShiftLink::warning(shift.as_ref(), op).into_iter().collect();
    let mut lines = Vec::new();
    let mut shortfalls = Vec::new();
    let mut pricing = Vec::new();
    let mut loss_profit_total = Decimal::ZERO;
    let mut by_stock: Vec<(usize, &SaleLineData)> = sale.products.iter().enumerate().collect();
    by_stock.sort_by_key(|(_, line)| (line.stock_id, line.line_no));
    let mut new_quantities: HashMap<i64, Decimal> = HashMap::new();
    for (position, line) in by_stock {
        // A copy: the lookups below borrow the chunk again.
        let stock: StockRow = chunk.stocks.get(&line.stock_id).cloned().ok_or_else(|| {
            OpFailure::error(
                BatchErrorCode::StockNotFound,
                format!(
                    "line {}: stock {} does not exist",
                    line.line_no, line.stock_id
                ),
            )
        })?;
        let available = new_quantities
            .get(&stock.id)
            .copied()
            .unwrap_or(stock.quantity);
        // A stored quantity can be anything; this sale fails alone rather than panic.
        let left = available.checked_sub(line.quantities).ok_or_else(|| {
            OpFailure::error(
                BatchErrorCode::ValidationFailed,
                format!(
                    "products[{position}].quantities: stock {} holds {available}, which cannot \
                     take this quantity",
                    stock.id
                ),
            )
        })?;
        if available < line.quantities {
            shortfalls.push((stock.product_id, stock.id, line.quantities, available));
            warnings.push(Warning::StockDiscrepancy {
                product_id: stock.product_id,
                stock_id: stock.id,
                expected: line.quantities,
                available,
                discrepancy: left,
                action: "allowed_negative".into(),
            });
        }
        new_quantities.insert(stock.id, left);
        let (product_id, purchase_price) = (stock.product_id, stock.purchase_price);
        let discount = line.discount.unwrap_or(Decimal::ZERO);
        let vat_rate = match line.vat_id {
            Some(vat_id) => {
                let rate = chunk
                    .vat_rate(tx, business_id, vat_id)
                    .await?
                    .ok_or_else(|| {
                        OpFailure::error(
                            BatchErrorCode::ValidationFailed,
                            format!(
                                "products[{position}].vat_id: no VAT {vat_id} in this business"
                            ),
                        )
                    })?;
                if ctx.settings.vat_enabled {
                    rate
                } else {
                    Decimal::ZERO
                }
            }
            None => Decimal::ZERO,
        };
        if let Some(catalog) = chunk.sale_prices.get(&stock.id) {
            if line.price < *catalog {
                concerns.raise(
                    ctx,
                    Concern::Underpriced,
                    &format!("products[{position}].price"),
                    format!("sold at {} under the catalog's {catalog}", line.price),
                )?;
            }
        }
        pricing.push((
            position,
            LineInput {
                quantity: line.quantities,
                unit_price: line.price,
                discount,
                vat_rate,
            },
        ));
        // The purchase price is stored data, so this is checked like the sum.
        let (loss_profit, total) = line
            .loss_profit
            .or_else(|| {
                line.price
                    .checked_sub(purchase_price)
                    .and_then(|margin| margin.checked_mul(line.quantities))
                    .and_then(|gross| gross.checked_sub(discount))
            })
            .and_then(|lp| loss_profit_total.checked_add(lp).map(|total| (lp, total)))
            .ok_or_else(|| {
                OpFailure::error(
                    BatchErrorCode::ValidationFailed,
                    format!(
                        "products[{position}].price: the purchase price of stock {} is out of \
                         range",
                        stock.id
                    ),
                )
            })?;
        loss_profit_total = total;
        lines.push((position, (line, product_id, discount, loss_profit)));
    }
    pricing.sort_by_key(|(position, _)| *position);
    let pricing: Vec<LineInput> = pricing.into_iter().map(|(_, input)| input).collect();
    lines.sort_by_key(|(position, _)| *position);

    let cart_discount = match sale.discount_amount {
        Some(amount) if amount > Decimal::ZERO => CartDiscount::Amount(amount),
        _ => CartDiscount::None,
    };
    let server_totals =
        totals::compute_totals(&pricing, cart_discount, ctx.settings.pricing_rules()).ok();
    let server_total = server_totals.as_ref().map(|t| t.total_amount);
    if let Some(limit) = server_totals.as_ref().and_then(|t| {
        totals::discount_over_limit(
            ctx.settings.max_cashier_discount_percent,
            t.discount_amount(),
            t.subtotal,
        )
    }) {
        // The till records the manager who allowed it in the sale's meta.
        let authorised_by = sale
            .meta
            .as_ref()
            .and_then(|meta| meta.get("discount_authorised_by"))
            .and_then(serde_json::Value::as_i64);
        authority::manager_authority(
            ctx,
            tx,
            &mut chunk.staff,
            &mut concerns,
            cashier_role,
            authorised_by,
            Some(&format!("a discount above {limit}% of the sale")),
        )
        .await?;
    }
    let totals_mismatch = match server_total {
        Some(total) => {
            !totals::within_rounding(total, sale.total_amount, minor_units, pricing.len())
        }
        None => true,
    };
    if totals_mismatch {
        warnings.push(Warning::TotalsMismatch {
            client_total: sale.total_amount,
            server_total: server_total.unwrap_or(Decimal::ZERO),
        });
    }

    if let (Some(party_id), true) = (party_id, due > Decimal::ZERO) {
        if let Some(party) = tx.party_for_update(business_id, party_id).await? {
            let owed = party
                .due
                .checked_add(due)
                .ok_or_else(|| out_of_range("party", party.id))?;
            tx.set_party_due(party.id, owed, ctx.now).await?;
        }
    }
    let number = chunk.last_number + 1;
    let sale_id = chunk.next_sale_id(tx).await?;
    let new_sale = NewSale {
        id: sale_id,
        business_id,
        invoice_number: crate::business::document_number(&ctx.settings.invoice_prefix, number),
        user_id: cashier_id,
        device_id: ctx.device_id.clone(),
        client_reference: reference.clone(),
        offline_invoice_no: sale.offline_invoice_no.clone(),
        local_id: sale.local_id.clone(),
        party_id,
        payment_type_id: sale.payment_type_id,
        total_amount: sale.total_amount,
        discount_amount: sale.discount_amount.unwrap_or(Decimal::ZERO),
        vat_amount: sale.vat_amount.unwrap_or(Decimal::ZERO),
        vat_percent: sale.vat_percent.unwrap_or(Decimal::ZERO),
        paid_amount: paid,
        due_amount: due,
        change_amount: sale.change_amount.unwrap_or(Decimal::ZERO),
        is_paid: sale.is_paid.unwrap_or(due.is_zero()),
        loss_profit: loss_profit_total,
        sale_date,
        offline_timestamp: op.offline_timestamp,
        totals_mismatch,
        meta: sale.meta.as_ref().map(|m| m.to_string()),
        shift_id: shift.as_ref().map(|s| s.id),
        now: ctx.now,
    };
    let created = DocumentRef {
        id: sale_id,
        invoice_number: Some(new_sale.invoice_number.clone()),
        version: 1,
        created_at: ctx.now,
    };
    let lines: Vec<NewSaleLine> = lines
        .into_iter()
        .map(
            |(_, (line, product_id, discount, loss_profit))| NewSaleLine {
                sale_id,
                line_no: i64::from(line.line_no),
                stock_id: line.stock_id,
                product_id,
                quantity: line.quantities,
                price: line.price,
                discount,
                vat_id: line.vat_id,
                vat_amount: line.vat_amount.unwrap_or(Decimal::ZERO),
                loss_profit,
            },
        )
        .collect();
    let discrepancies = shortfalls
        .into_iter()
        .map(
            |(product_id, stock_id, expected, available)| NewDiscrepancy {
                business_id,
                product_id,
                stock_id,
                sale_id,
                device_id: ctx.device_id.clone(),
                expected,
                available,
                now: ctx.now,
            },
        )
        .collect();
    chunk.write(ctx, tx, new_sale, lines, discrepancies).await?;
    concerns.file(ctx, tx, op, "sale", sale_id).await?;
    // Applied: the chunk takes on what this sale changed.
    chunk.last_number = number;
    for (id, quantity) in new_quantities {
        if let Some(row) = chunk.stocks.get_mut(&id) {
            row.quantity = quantity;
            chunk.changed_stocks.insert(id);
        }
    }
    if let Some(seq) = sale
        .offline_invoice_no
        .as_deref()
        .and_then(pos_protocol::sync::offline_seq)
    {
        chunk.offline_seq = chunk.offline_seq.max(Some(seq));
    }
    if let Some(reference) = reference {
        chunk.by_reference.insert(reference, created.clone());
    }
    if let Some(local) = &sale.local_id {
        chunk.by_local_id.insert(local.clone(), created.clone());
    }
    let mut result = done(op, ResultStatus::Created, &created, sale.local_id.clone());
    result.warnings = warnings;
    Ok(result)
}

async fn create_party(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    op: &Operation,
) -> OpResult<OperationResult> {
    let party: PartyData = parse(&op.data)?;
    check_party_contact("", [&party.phone, &party.email, &party.address])?;
    let business_id = ctx.user.business_id;
    let local = party.local_id.clone().ok_or_else(|| {
        OpFailure::error(
            BatchErrorCode::ValidationFailed,
            "local_id: required to create a party",
        )
    })?;
    if let Some(id) = resolve_local(ctx, tx, "party", &local).await? {
        if let Some(existing) = tx.party_for_update(business_id, id).await? {
            let doc = DocumentRef {
                id: existing.id,
                invoice_number: None,
                version: existing.version,
                created_at: existing.created_at,
            };
            return Ok(done(op, ResultStatus::Skipped, &doc, Some(local)));
        }
    }
    let name = party.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(OpFailure::error(
            BatchErrorCode::ValidationFailed,
            "name: 1 to 255 characters",
        ));
    }
    let created = tx
        .insert_party(&NewPartyRow {
            business_id,
            name,
            phone: party.phone.as_deref(),
            email: party.email.as_deref(),
            address: party.address.as_deref(),
            party_type: party_type(party.party_type.as_deref())?,
            now: ctx.now,
        })
        .await?;
    tx.map_local_id(
        business_id,
        &ctx.device_id,
        "party",
        &local,
        created.id,
        ctx.now,
    )
    .await?;
    Ok(done(op, ResultStatus::Created, &created, Some(local)))
}

/// Update or delete: based on a version; an old one is a conflict for a person to resolve.
async fn change_party(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    op: &Operation,
) -> OpResult<OperationResult> {
    let party: PartyData = parse(&op.data)?;
    check_party_contact("", [&party.phone, &party.email, &party.address])?;
    let business_id = ctx.user.business_id;
    let id = match (party.id, party.local_id.as_deref()) {
        (Some(id), _) => id,
        (None, Some(local)) => resolve_local(ctx, tx, "party", local)
            .await?
            .ok_or_else(|| {
                OpFailure::error(
                    BatchErrorCode::PartyNotFound,
                    format!("no party was created from local id {local}"),
                )
            })?,
        (None, None) => {
            return Err(OpFailure::error(
                BatchErrorCode::ValidationFailed,
                "id: required",
            ))
        }
    };
    let version = party
        .version
        .ok_or_else(|| OpFailure::error(BatchErrorCode::ValidationFailed, "version: required"))?;
    let current = tx
        .party_for_update(business_id, id)
        .await?
        .filter(|p| !p.deleted)
        .ok_or_else(|| {
            OpFailure::error(
                BatchErrorCode::PartyNotFound,
                format!("party {id} does not exist"),
            )
        })?;
    if current.version != version {
        let server_data = ctx
            .state
            .store
            .get_record(&spec::PARTIES, business_id, id)
            .await?
            .map(serde_json::Value::Object);
        return Err(OpFailure {
            status: ResultStatus::Conflict,
            code: BatchErrorCode::VersionConflict,
            message: "the party was changed on the server since this terminal saw it".into(),
            collided: false,
            conflict: Some(serde_json::json!({
                "entity_type": "party",
                "entity_id": id,
                "client_version": version,
                "server_version": current.version,
                "server_data": server_data,
            })),
        });
    }
    let (status, fields, deleted_at) = if op.action == "delete" {
        (ResultStatus::Deleted, Vec::new(), Some(ctx.now))
    } else {
        let mut fields: Vec<(&'static str, Option<String>)> = Vec::new();
        if let Some(name) = party.name.as_deref().map(str::trim) {
            if name.is_empty() || name.chars().count() > 255 {
                return Err(OpFailure::error(
                    BatchErrorCode::ValidationFailed,
                    "name: 1 to 255 characters",
                ));
            }
            fields.push(("name", Some(name.to_string())));
        }
        for (column, value) in [
            ("phone", &party.phone),
            ("email", &party.email),
            ("address", &party.address),
        ] {
            if let Some(value) = value {
                fields.push((column, Some(value.clone())));
            }
        }
        if party.party_type.is_some() {
            fields.push((
                "party_type",
                Some(party_type(party.party_type.as_deref())?.to_string()),
            ));
        }
        (ResultStatus::Updated, fields, None)
    };
    let new_version = tx.update_party(id, &fields, deleted_at, ctx.now).await?;
    let doc = DocumentRef {
        id,
        invoice_number: None,
        version: new_version,
        created_at: current.created_at,
    };
    Ok(done(op, status, &doc, party.local_id))
}

pub(crate) async fn collect_due(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    op: &Operation,
) -> OpResult<OperationResult> {
    let due: DueCollectionCreate = parse(&op.data)?;
    let business_id = ctx.user.business_id;
    if due.amount <= Decimal::ZERO {
        return Err(OpFailure::error(
            BatchErrorCode::ValidationFailed,
            "amount: must be greater than zero",
        ));
    }
    if let Some(reference) = &due.client_reference {
        if let Some(existing) = tx.due_by_reference(business_id, reference).await? {
            return Ok(done(
                op,
                ResultStatus::Skipped,
                &existing,
                due.local_id.clone(),
            ));
        }
    }
    if let Some(local) = &due.local_id {
        if let Some(id) = resolve_local(ctx, tx, "due_collection", local).await? {
            if let Some(existing) = tx.due_by_id(business_id, id).await? {
                return Ok(done(
                    op,
                    ResultStatus::Skipped,
                    &existing,
                    due.local_id.clone(),
                ));
            }
        }
    }
    let sale_id = match (due.sale_id, due.sale_local_id.as_deref()) {
        (Some(id), _) => Some(id),
        (None, Some(local)) => Some(resolve_local(ctx, tx, "sale", local).await?.ok_or_else(
            || {
                OpFailure::error(
                    BatchErrorCode::SaleNotFound,
                    format!("no sale was created from local id {local}"),
                )
            },
        )?),
        (None, None) => None,
    };
    let sale = match sale_id {
        Some(id) => Some(tx.sale_due(business_id, id).await?.ok_or_else(|| {
            OpFailure::error(
                BatchErrorCode::SaleNotFound,
                format!("sale {id} does not exist"),
            )
        })?),
        None => None,
    };
    let party_id = resolve_party(ctx, tx, due.party_id, due.party_local_id.as_deref(), None)
        .await?
        .or(sale.as_ref().and_then(|s| s.party_id))
        .ok_or_else(|| {
            OpFailure::error(
                BatchErrorCode::PartyNotFound,
                "a due collection needs a party",
            )
        })?;
    if let Some(id) = due.payment_type_id {
        if !tx.payment_type_exists(business_id, id).await? {
            return Err(OpFailure::error(
                BatchErrorCode::PaymentTypeNotFound,
                format!("payment type {id} does not exist"),
            ));
        }
    }
    let party = tx
        .party_for_update(business_id, party_id)
        .await?
        .ok_or_else(|| {
            OpFailure::error(
                BatchErrorCode::PartyNotFound,
                format!("party {party_id} does not exist"),
            )
        })?;
    let shift = resolve_shift(ctx, tx, due.shift_id, due.shift_local_id.as_deref()).await?;
    let due_after = party
        .due
        .checked_sub(due.amount)
        .ok_or_else(|| out_of_range("party", party.id))?;
    let mut warnings: Vec<Warning> = ShiftLink::warning(shift.as_ref(), op).into_iter().collect();
    // The cash is already in the drawer: what exceeds the due becomes the party's advance.
    if due_after < Decimal::ZERO {
        warnings.push(Warning::Overpayment {
            party_id,
            excess: due.amount - party.due.max(Decimal::ZERO),
        });
    }
    tx.set_party_due(party.id, due_after, ctx.now).await?;
    if let Some(sale) = &sale {
        tx.set_sale_due(
            sale.id,
            sale.due_amount
                .checked_sub(due.amount)
                .ok_or_else(|| out_of_range("sale", sale.id))?
                .max(Decimal::ZERO),
            ctx.now,
        )
        .await?;
    }
    let created = tx
        .insert_due_collection(&NewDueCollection {
            business_id,
            party_id,
            sale_id,
            user_id: ctx.user.user_id,
            device_id: &ctx.device_id,
            local_id: due.local_id.as_deref(),
            client_reference: due.client_reference.as_deref(),
            payment_type_id: due.payment_type_id,
            total_due: party.due,
            amount: due.amount,
            due_after,
            payment_date: op.offline_timestamp.unwrap_or(ctx.now),
            note: due.note.as_deref(),
            now: ctx.now,
        })
        .await?;
    if let Some(shift) = &shift {
        tx.set_due_collection_shift(created.id, shift.id).await?;
    }
    if let Some(local) = &due.local_id {
        tx.map_local_id(
            business_id,
            &ctx.device_id,
            "due_collection",
            local,
            created.id,
            ctx.now,
        )
        .await?;
    }
    let mut result = done(op, ResultStatus::Created, &created, due.local_id.clone());
    result.warnings = warnings;
    Ok(result)
}

/// The shift an operation names, found by server id or by this device's local id.
#[derive(Clone)]
struct ShiftLink {
    id: i64,
    closed_at: Option<DateTime<Utc>>,
}

impl ShiftLink {
    /// An operation still lands in its own shift when it syncs after the close; only one
    /// that happened (by its offline time) after the close is flagged.
    fn warning(link: Option<&ShiftLink>, op: &Operation) -> Option<Warning> {
        let link = link?;
        match (link.closed_at, op.offline_timestamp) {
            (Some(closed), Some(at)) if at > closed => {
                Some(Warning::AfterShiftClose { shift_id: link.id })
            }
            _ => None,
        }
    }
}

async fn resolve_shift(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    shift_id: Option<i64>,
    shift_local_id: Option<&str>,
) -> OpResult<Option<ShiftLink>> {
    let id = match (shift_id, shift_local_id) {
        (Some(id), _) => id,
        (None, Some(local)) => resolve_local(ctx, tx, "shift", local)
            .await?
            .ok_or_else(|| {
                OpFailure::error(
                    BatchErrorCode::ShiftNotFound,
                    format!("no shift was opened as {local} on this device"),
                )
            })?,
        (None, None) => return Ok(None),
    };
    match tx.shift_closed_at(ctx.user.business_id, id).await? {
        Some(closed_at) => Ok(Some(ShiftLink { id, closed_at })),
        None => Err(OpFailure::error(
            BatchErrorCode::ShiftNotFound,
            format!("shift {id} does not exist"),
        )),
    }
}

async fn open_shift(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    op: &Operation,
) -> OpResult<OperationResult> {
    let shift: ShiftData = parse(&op.data)?;
    let business_id = ctx.user.business_id;
    if let Some(reference) = &shift.client_reference {
        if let Some((existing, _)) = tx.shift(business_id, None, Some(reference)).await? {
            return Ok(done(
                op,
                ResultStatus::Skipped,
                &existing,
                shift.local_id.clone(),
            ));
        }
    }
    if let Some(local) = &shift.local_id {
        if let Some(id) = resolve_local(ctx, tx, "shift", local).await? {
            if let Some((existing, _)) = tx.shift(business_id, Some(id), None).await? {
                return Ok(done(
                    op,
                    ResultStatus::Skipped,
                    &existing,
                    shift.local_id.clone(),
                ));
            }
        }
    }
    let float = shift.opening_float.unwrap_or(Decimal::ZERO);
    non_negative("opening_float", float)?;
    let mut concerns = Concerns::default();
    let (cashier_id, _) = authority::acting_user(
        ctx,
        tx,
        &mut Staff::default(),
        &mut concerns,
        ("cashier_id", shift.cashier_id),
    )
    .await?;
    let created = tx
        .open_shift(
            business_id,
            &ctx.device_id,
            shift.local_id.as_deref(),
            shift.client_reference.as_deref(),
            cashier_id,
            shift.opened_at.or(op.offline_timestamp).unwrap_or(ctx.now),
            float,
            shift.note.as_deref(),
            ctx.now,
        )
        .await?;
    if let Some(local) = &shift.local_id {
        tx.map_local_id(
            business_id,
            &ctx.device_id,
            "shift",
            local,
            created.id,
            ctx.now,
        )
        .await?;
    }
    concerns.file(ctx, tx, op, "shift", created.id).await?;
    Ok(done(op, ResultStatus::Created, &created, shift.local_id))
}

/// Closing twice changes nothing: a closed shift cannot be changed.
async fn close_shift(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    op: &Operation,
) -> OpResult<OperationResult> {
    let shift: ShiftData = parse(&op.data)?;
    let business_id = ctx.user.business_id;
    let by_local = match (&shift.shift_id, &shift.local_id) {
        (None, Some(local)) => resolve_local(ctx, tx, "shift", local).await?,
        _ => None,
    };
    let found = tx
        .shift(
            business_id,
            shift.shift_id.or(by_local),
            shift.client_reference.as_deref(),
        )
        .await?;
    let Some((current, closed)) = found else {
        return Err(OpFailure::error(
            BatchErrorCode::ShiftNotFound,
            "the shift to close does not exist",
        ));
    };
    if closed {
        return Ok(done(op, ResultStatus::Skipped, &current, shift.local_id));
    }
    for (name, value) in [
        ("counted_cash", shift.counted_cash),
        ("expected_cash", shift.expected_cash),
    ] {
        if let Some(value) = value {
            non_negative(name, value)?;
        }
    }
    let denominations = shift
        .counted_denominations
        .as_ref()
        .map(|d| serde_json::to_string(d).unwrap_or_default());
    let version = tx
        .close_shift(
            current.id,
            shift.closed_at.or(op.offline_timestamp).unwrap_or(ctx.now),
            shift.counted_cash,
            denominations,
            shift.expected_cash,
            shift.note.as_deref(),
            ctx.now,
        )
        .await?;
    let doc = DocumentRef { version, ..current };
    Ok(done(op, ResultStatus::Updated, &doc, shift.local_id))
}

async fn record_cash_movement(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    op: &Operation,
) -> OpResult<OperationResult> {
    let movement: CashMovementCreate = parse(&op.data)?;
    let business_id = ctx.user.business_id;
    if let Some(local) = &movement.local_id {
        if let Some(id) = resolve_local(ctx, tx, "cash_movement", local).await? {
            let doc = DocumentRef {
                id,
                invoice_number: None,
                version: 1,
                created_at: ctx.now,
            };
            return Ok(done(
                op,
                ResultStatus::Skipped,
                &doc,
                movement.local_id.clone(),
            ));
        }
    }
    non_negative("amount", movement.amount)?;
    let shift = resolve_shift(
        ctx,
        tx,
        movement.shift_id,
        movement.shift_local_id.as_deref(),
    )
    .await?
    .ok_or_else(|| {
        OpFailure::error(
            BatchErrorCode::ShiftNotFound,
            "a cash movement belongs to a shift",
        )
    })?;
    let mut staff = Staff::default();
    let mut concerns = Concerns::default();
    let (cashier_id, cashier_role) = authority::acting_user(
        ctx,
        tx,
        &mut staff,
        &mut concerns,
        ("cashier_id", movement.cashier_id),
    )
    .await?;
    let needed = match movement.kind {
        CashMovementKind::PayIn => None,
        CashMovementKind::PayOut => Some("a pay-out"),
        CashMovementKind::DrawerOpen => Some("opening the drawer without a sale"),
    };
    let authorised_by = authority::manager_authority(
        ctx,
        tx,
        &mut staff,
        &mut concerns,
        cashier_role,
        movement.authorised_by,
        needed,
    )
    .await?;
    let created = tx
        .insert_cash_movement(
            business_id,
            shift.id,
            cashier_id,
            &ctx.device_id,
            movement.local_id.as_deref(),
            movement.kind.as_str(),
            movement.amount,
            movement.reason.as_deref(),
            authorised_by,
            movement
                .created_at
                .or(op.offline_timestamp)
                .unwrap_or(ctx.now),
            ctx.now,
        )
        .await?;
    if let Some(local) = &movement.local_id {
        tx.map_local_id(
            business_id,
            &ctx.device_id,
            "cash_movement",
            local,
            created.id,
            ctx.now,
        )
        .await?;
    }
    concerns
        .file(ctx, tx, op, "cash_movement", created.id)
        .await?;
    let mut result = done(op, ResultStatus::Created, &created, movement.local_id);
    result.warnings = ShiftLink::warning(Some(&shift), op).into_iter().collect();
    Ok(result)
}

/// A stored row whose number no arithmetic can take further: the operation fails alone.
fn out_of_range(what: &str, id: i64) -> OpFailure {
    OpFailure::error(
        BatchErrorCode::ValidationFailed,
        format!("{what} {id} holds a number out of range; a manager must correct it"),
    )
}

/// What a sale line was sold for: the basis of its refunds.
fn line_value(
    ctx: &Context<'_>,
    price: Decimal,
    sold: Decimal,
    discount: Decimal,
    vat_amount: Decimal,
) -> OpResult<Decimal> {
    let vat = if ctx.settings.vat_inclusive {
        Decimal::ZERO
    } else {
        vat_amount
    };
    price
        .checked_mul(sold)
        .and_then(|gross| gross.checked_sub(discount))
        .and_then(|net| net.checked_add(vat))
        .ok_or_else(|| {
            OpFailure::error(
                BatchErrorCode::ValidationFailed,
                "lines: the sale's stored amounts are out of range",
            )
        })
}

/// What is left to refund of a sale: what its lines were sold for, less every refund of
/// the returns before (those kept as conflicts too: their refund was paid).
async fn refund_left(ctx: &Context<'_>, tx: &mut SyncTx, sale_id: i64) -> OpResult<Decimal> {
    let lines = tx
        .exec()
        .fetch_all(
            "SELECT price, quantities, discount, vat_amount FROM sale_details WHERE sale_id = $1",
            &[Value::Int(Some(sale_id))],
            &[Column::Decimal; 4],
        )
        .await?;
    let refunds = tx
        .exec()
        .fetch_all(
            "SELECT refund_amount FROM sale_returns WHERE sale_id = $1",
            &[Value::Int(Some(sale_id))],
            &[Column::Decimal],
        )
        .await?;
    let number = |row: &[Value], i: usize| match row.get(i) {
        Some(Value::Decimal(Some(v))) => *v,
        _ => Decimal::ZERO,
    };
    let mut left = Decimal::ZERO;
    for row in &lines {
        let value = line_value(
            ctx,
            number(row, 0),
            number(row, 1),
            number(row, 2),
            number(row, 3),
        )?;
        left = left
            .checked_add(value)
            .ok_or_else(|| out_of_range("sale", sale_id))?;
    }
    for row in &refunds {
        left = left
            .checked_sub(number(row, 0))
            .ok_or_else(|| out_of_range("sale", sale_id))?;
    }
    Ok(left)
}

/// A return against a sale. One that asks back more than is left of the sale (two offline
/// returns together) is kept, because its refund was paid, but as a conflict for a manager:
/// its stock is not put back a second time.
pub(crate) async fn return_sale(
    ctx: &Context<'_>,
    tx: &mut SyncTx,
    op: &Operation,
) -> OpResult<OperationResult> {
    let request: SaleReturnCreate = parse(&op.data)?;
    let business_id = ctx.user.business_id;
    if let Some(reference) = &request.client_reference {
        if let Some(existing) = tx.sale_return_by_reference(business_id, reference).await? {
            return Ok(done(
                op,
                ResultStatus::Skipped,
                &existing,
                request.local_id.clone(),
            ));
        }
    }
    if let Some(local) = &request.local_id {
        if let Some(id) = resolve_local(ctx, tx, "sale_return", local).await? {
            if let Some(existing) = tx.sale_return_by_id(business_id, id).await? {
                return Ok(done(
                    op,
                    ResultStatus::Skipped,
                    &existing,
                    request.local_id.clone(),
                ));
            }
        }
    }
    if request.lines.is_empty() {
        return Err(OpFailure::error(
            BatchErrorCode::ValidationFailed,
            "lines: a return needs at least one line",
        ));
    }
    non_negative("refund_amount", request.refund_amount)?;
    let sale_id = match (request.sale_id, request.sale_local_id.as_deref()) {
        (Some(id), _) => id,
        (None, Some(local)) => resolve_local(ctx, tx, "sale", local)
            .await?
            .ok_or_else(|| {
                OpFailure::error(
                    BatchErrorCode::SaleNotFound,
                    format!("no sale was created from local id {local}"),
                )
            })?,
        (None, None) => {
            return Err(OpFailure::error(
                BatchErrorCode::ValidationFailed,
                "sale_id: required",
            ))
        }
    };
    let sale = tx.sale_due(business_id, sale_id).await?.ok_or_else(|| {
        OpFailure::error(
            BatchErrorCode::SaleNotFound,
            format!("sale {sale_id} does not exist"),
        )
    })?;
    let shift = resolve_shift(ctx, tx, request.shift_id, request.shift_local_id.as_deref()).await?;
    if let Some(id) = request.payment_type_id {
        if !tx.payment_type_exists(business_id, id).await? {
            return Err(OpFailure::error(
                BatchErrorCode::PaymentTypeNotFound,
                format!("payment type {id} does not exist"),
            ));
        }
    }
    let mut staff = Staff::default();
    let mut concerns = Concerns::default();
    let (cashier_id, cashier_role) = authority::acting_user(
        ctx,
        tx,
        &mut staff,
        &mut concerns,
        ("cashier_id", request.cashier_id),
    )
    .await?;
    let authorised_by = authority::manager_authority(
        ctx,
        tx,
        &mut staff,
        &mut concerns,
        cashier_role,
        request.authorised_by,
        Some("a return"),
    )
    .await?;
    let minor_units = ctx.settings.currency.minor_units;
    let mut lines = Vec::new();
    let mut exceeds = false;
    for (i, line) in request.lines.iter().enumerate() {
        if line.quantity <= Decimal::ZERO {
            return Err(OpFailure::error(
                BatchErrorCode::ValidationFailed,
                format!("lines[{i}].quantity: must be greater than zero"),
            ));
        }
        let state = tx
            .sale_line_for_return(sale.id, i64::from(line.line_no))
            .await?
            .ok_or_else(|| {
                OpFailure::error(
                    BatchErrorCode::ValidationFailed,
                    format!("lines[{i}].line_no: the sale has no line {}", line.line_no),
                )
            })?;
        if state.returned + line.quantity > state.sold {
            if ctx.online {
                return Err(OpFailure::error(
                    BatchErrorCode::ReturnExceedsSale,
                    format!(
                        "lines[{i}].quantity: only {} of line {} is left to return",
                        state.sold - state.returned,
                        line.line_no
                    ),
                ));
            }
            exceeds = true;
        }
        let line_total = line_value(
            ctx,
            state.price,
            state.sold,
            state.discount,
            state.vat_amount,
        )?;
        let amount = refund_share(
            line_total,
            state.sold,
            state.returned,
            state.refunded,
            line.quantity,
            minor_units,
        );
        lines.push((line, state, amount));
    }
    // An over-return is kept as a conflict for a manager already, refund and all.
    let left = refund_left(ctx, tx, sale.id).await?;
    if request.refund_amount > left && !exceeds {
        concerns.raise(
            ctx,
            Concern::Authorisation,
            "refund_amount",
            format!(
                "{} is more than the {left} left to refund of the sale",
                request.refund_amount
            ),
        )?;
    }
    let created = tx
        .insert_sale_return(&NewSaleReturn {
            business_id,
            sale_id: sale.id,
            user_id: cashier_id,
            device_id: &ctx.device_id,
            local_id: request.local_id.as_deref(),
            client_reference: request.client_reference.as_deref(),
            shift_id: shift.as_ref().map(|s| s.id),
            refund_method: request.refund_method.as_str(),
            payment_type_id: request.payment_type_id,
            refund_amount: request.refund_amount,
            authorised_by,
            status: if exceeds { "conflict" } else { "applied" },
            return_date: request
                .returned_at
                .or(op.offline_timestamp)
                .unwrap_or(ctx.now),
            now: ctx.now,
        })
        .await?;
    for (line, state, amount) in &lines {
        tx.insert_return_line(
            created.id,
            state.detail_id,
            i64::from(line.line_no),
            line.quantity,
            *amount,
        )
        .await?;
    }
    if let Some(local) = &request.local_id {
        tx.map_local_id(
            business_id,
            &ctx.device_id,
            "sale_return",
            local,
            created.id,
            ctx.now,
        )
        .await?;
    }
    concerns
        .file(ctx, tx, op, "sale_return", created.id)
        .await?;
    if exceeds {
        tx.insert_conflict(
            business_id,
            &ctx.device_id,
            "sale_return",
            created.id,
            &op.idempotency_key,
            "RETURN_EXCEEDS_SALE",
            op.data.to_string(),
            ctx.now,
        )
        .await?;
        let mut result = done(op, ResultStatus::Conflict, &created, request.local_id);
        result.error_code = Some(BatchErrorCode::ReturnExceedsSale);
        result.error =
            Some("the return asks back more than is left of the sale; kept for a manager".into());
        result.conflict =
            Some(serde_json::json!({"reason": "RETURN_EXCEEDS_SALE", "sale_id": sale.id}));
        return Ok(result);
    }
    for (line, state, _) in &lines {
        if let Some(stock_id) = state.stock_id {
            if let Some(stock) = tx.stock_for_update(business_id, stock_id).await? {
                let back = stock
                    .quantity
                    .checked_add(line.quantity)
                    .ok_or_else(|| out_of_range("stock", stock.id))?;
                tx.set_stock(stock.id, back, ctx.now).await?;
            }
        }
    }
    if request.refund_method == RefundMethod::Due {
        if let Some(party_id) = sale.party_id {
            if let Some(party) = tx.party_for_update(business_id, party_id).await? {
                let due = party
                    .due
                    .checked_sub(request.refund_amount)
                    .ok_or_else(|| out_of_range("party", party.id))?;
                tx.set_party_due(party.id, due, ctx.now).await?;
            }
        }
    }
    let mut result = done(op, ResultStatus::Created, &created, request.local_id);
    result.warnings = ShiftLink::warning(shift.as_ref(), op).into_iter().collect();
    Ok(result)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_by_number() {
        assert!(super::older_than("0.9.9", "0.10.0"));
        assert!(!super::older_than("0.10.0", "0.10.0"));
        assert!(!super::older_than("1.0", "0.10.3"));
    }
}
