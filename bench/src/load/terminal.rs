//! One simulated terminal: signs in as the business's cashier, registers a fresh device, runs
//! its first full sync, then (after every terminal got that far) pushes its sales in batches
//! and pulls the changes after each batch, as the terminal's sync loop does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use pos_protocol::auth::{SignInRequest, SignInResponse};
use pos_protocol::sync::{
    offline_invoice_no, BatchRequest, BatchResponse, ChangesResponse, FullResponse, Operation,
    RegisterRequest, RegisterResponse, SaleCreate, SaleLineData, CLIENT_VERSION_HEADER,
    DEVICE_ID_HEADER,
};
use pos_protocol::totals::{compute_totals, settle, CartDiscount, LineInput, PricingRules};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{LoadBusiness, Metrics, PASSWORD};

/// How many times a request is sent again (same body, same keys) before the terminal gives up.
const ATTEMPTS: usize = 8;
const PAGE_SIZE: u32 = pos_protocol::sync::DEFAULT_PAGE_SIZE;

#[derive(Debug, Clone)]
pub struct TerminalPlan {
    pub index: usize,
    pub base: String,
    pub business: LoadBusiness,
    pub sales: usize,
    pub lines: usize,
    pub batch_size: usize,
    pub seed: u64,
}

pub struct TerminalReport {
    /// Client reference of every sale the server acknowledged.
    pub references: Vec<String>,
    pub metrics: Metrics,
    pub finished_at: Instant,
}

enum Failure {
    /// No answer, or a 5xx / 429: worth sending again.
    Passing(String),
    Final(String),
}

struct Session {
    http: reqwest::Client,
    base: String,
    device_id: String,
    token: Option<String>,
}

impl Session {
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, Failure> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .query(query)
            .header(CLIENT_VERSION_HEADER, pos_engine::CLIENT_VERSION)
            .header(DEVICE_ID_HEADER, &self.device_id);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Passing(format!("{path}: {e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::Passing(format!("{path}: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| Failure::Final(format!("{path}: unreadable answer: {e}")));
        }
        let text: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
        let message = format!("{path}: {status}: {text}");
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(Failure::Passing(message))
        } else {
            Err(Failure::Final(message))
        }
    }

    /// Sends until an answer comes, as the terminal does after a lost answer; each attempt is
    /// timed under `kind` and each failure counted.
    async fn call_retrying<B: Serialize, T: DeserializeOwned>(
        &self,
        metrics: &mut Metrics,
        kind: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T> {
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                metrics.retries += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt as u64)).await;
            }
            let started = Instant::now();
            let outcome = self.call(method.clone(), path, query, body).await;
            metrics.time(kind, started.elapsed());
            match outcome {
                Ok(answer) => return Ok(answer),
                Err(Failure::Passing(message)) => metrics.error(kind, message),
                Err(Failure::Final(message)) => {
                    metrics.error(kind, message.clone());
                    bail!(message)
                }
            }
        }
        bail!("{path}: no answer after {ATTEMPTS} attempts")
    }
}

/// Tiny SplitMix64: the same baskets for the same seed, no extra dependency.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A cash sale as the terminal queues it: priced by the shared pricing function, numbered
/// from the device's offline sequence, with a fresh client reference and idempotency key.
fn sale_operation(
    business: &LoadBusiness,
    device_id: &str,
    seq: i64,
    lines: usize,
    draw: &mut Draw,
) -> Result<(Operation, String)> {
    let picked: Vec<(usize, Decimal)> = (0..lines)
        .map(|_| {
            (
                draw.below(business.stocks.len()),
                Decimal::from(1 + draw.below(3)),
            )
        })
        .collect();
    let inputs: Vec<LineInput> = picked
        .iter()
        .map(|(i, quantity)| LineInput {
            quantity: *quantity,
            unit_price: business.stocks[*i].price,
            discount: Decimal::ZERO,
            vat_rate: business.vat_rate,
        })
        .collect();
    let totals = compute_totals(
        &inputs,
        CartDiscount::None,
        PricingRules {
            vat_inclusive: business.vat_inclusive,
            minor_units: 2,
        },
    )?;
    let settlement = settle(totals.total_amount, totals.total_amount);
    let reference = uuid::Uuid::new_v4().to_string();
    let now = pos_protocol::time::now();
    let sale = SaleCreate {
        local_id: Some(reference.clone()),
        offline_invoice_no: Some(offline_invoice_no(device_id, seq)),
        client_reference: Some(reference.clone()),
        party_id: None,
        party_local_id: None,
        new_party: None,
        total_amount: totals.total_amount,
        paid_amount: Some(settlement.paid_amount),
        due_amount: Some(settlement.due_amount),
        change_amount: Some(settlement.change_amount),
        is_paid: Some(settlement.is_paid),
        discount_amount: Some(totals.cart_discount),
        vat_amount: Some(totals.vat_amount),
        vat_percent: None,
        payment_type_id: Some(business.cash_payment_type_id),
        sale_date: Some(now),
        meta: None,
        cashier_id: None,
        shift_id: None,
        shift_local_id: None,
        products: picked
            .iter()
            .zip(&totals.lines)
            .enumerate()
            .map(|(n, ((i, quantity), t))| SaleLineData {
                line_no: n as u32 + 1,
                stock_id: business.stocks[*i].stock_id,
                quantities: *quantity,
                price: business.stocks[*i].price,
                discount: Some(t.line_discount),
                vat_id: Some(business.vat_id),
                vat_amount: Some(t.vat_amount),
                loss_profit: None,
            })
            .collect(),
    };
    let operation = Operation {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        entity: "sale".into(),
        action: "create".into(),
        data: serde_json::to_value(&sale)?,
        offline_timestamp: Some(now),
    };
    Ok((operation, reference))
}

/// Pulls every page of changes since `token`; returns the new token.
async fn pull_changes(session: &Session, metrics: &mut Metrics, token: String) -> Result<String> {
    let mut token = token;
    for _ in 0..1000 {
        let page: ChangesResponse = session
            .call_retrying::<(), _>(
                metrics,
                "changes",
                Method::GET,
                "/api/v1/sync/changes",
                &[
                    ("sync_token", token.clone()),
                    ("page_size", PAGE_SIZE.to_string()),
                ],
                None,
            )
            .await?;
        token = page.sync_token;
        if !page.has_more {
            return Ok(token);
        }
    }
    bail!("changes: more than 1000 pages")
}

pub async fn run(
    http: reqwest::Client,
    plan: TerminalPlan,
    start: Arc<tokio::sync::Barrier>,
) -> Result<TerminalReport> {
    let outcome = setup(http, &plan).await;
    // Wait for the others even after a failure, or they would wait for ever.
    start.wait().await;
    let (mut session, mut metrics, token, first_seq) = outcome?;
    let references = push(&mut session, &mut metrics, &plan, token, first_seq).await?;
    Ok(TerminalReport {
        references,
        metrics,
        finished_at: Instant::now(),
    })
}

async fn setup(
    http: reqwest::Client,
    plan: &TerminalPlan,
) -> Result<(Session, Metrics, String, i64)> {
    let mut metrics = Metrics::default();
    let device_id = uuid::Uuid::new_v4().to_string();
    let mut session = Session {
        http,
        base: plan.base.clone(),
        device_id: device_id.clone(),
        token: None,
    };
    let signed_in: SignInResponse = session
        .call_retrying(
            &mut metrics,
            "sign_in",
            Method::POST,
            "/api/v1/sign-in",
            &[],
            Some(&SignInRequest {
                email: plan.business.cashier_email.clone(),
                password: PASSWORD.into(),
            }),
        )
        .await?;
    session.token = Some(signed_in.data.token);
    let registered: RegisterResponse = session
        .call_retrying(
            &mut metrics,
            "register",
            Method::POST,
            "/api/v1/sync/register",
            &[],
            Some(&RegisterRequest {
                device_id: device_id.clone(),
                device_name: format!("Load T{}", plan.index + 1),
                os: Some(std::env::consts::OS.into()),
                app_version: Some(pos_engine::CLIENT_VERSION.into()),
                pin_key: None,
            }),
        )
        .await?;
    let mut cursor: Option<String> = None;
    let token = loop {
        let mut query = vec![("page_size", PAGE_SIZE.to_string())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: FullResponse = session
            .call_retrying::<(), _>(
                &mut metrics,
                "full",
                Method::GET,
                "/api/v1/sync/full",
                &query,
                None,
            )
            .await?;
        if !page.has_more {
            break page.sync_token;
        }
        cursor = Some(
            page.next_cursor
                .context("full: has_more without a cursor")?,
        );
    };
    Ok((
        session,
        metrics,
        token,
        registered.data.last_offline_seq + 1,
    ))
}

async fn push(
    session: &mut Session,
    metrics: &mut Metrics,
    plan: &TerminalPlan,
    mut token: String,
    first_seq: i64,
) -> Result<Vec<String>> {
    let mut draw = Draw(plan.seed);
    let mut references = Vec::with_capacity(plan.sales);
    let mut seq = first_seq;
    let mut left = plan.sales;
    while left > 0 {
        let n = left.min(plan.batch_size);
        left -= n;
        let mut pending = Vec::with_capacity(n);
        for _ in 0..n {
            let (operation, reference) = sale_operation(
                &plan.business,
                &session.device_id,
                seq,
                plan.lines,
                &mut draw,
            )?;
            seq += 1;
            pending.push((operation, reference));
        }
        // Operations the server did not take stay queued and go again with the same keys.
        for attempt in 0..ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                metrics.retries += 1;
            }
            let request = BatchRequest {
                operations: pending.iter().map(|(op, _)| op.clone()).collect(),
                client_timestamp: Some(Utc::now()),
                device_id: Some(session.device_id.clone()),
            };
            let answer: BatchResponse = session
                .call_retrying(
                    metrics,
                    "batch",
                    Method::POST,
                    "/api/v1/sync/batch",
                    &[],
                    Some(&request),
                )
                .await?;
            let mut again = Vec::new();
            for (op, reference) in pending {
                let result = answer
                    .results
                    .iter()
                    .find(|r| r.idempotency_key == op.idempotency_key);
                match result {
                    Some(r) if r.status.is_done() => {
                        if r.status == pos_protocol::sync::ResultStatus::Skipped {
                            metrics.skipped += 1;
                        }
                        for warning in &r.warnings {
                            let kind = serde_json::to_value(warning)
                                .ok()
                                .and_then(|v| v["type"].as_str().map(str::to_string))
                                .unwrap_or_else(|| "unknown".into());
                            *metrics.warnings.entry(kind).or_default() += 1;
                        }
                        references.push(reference);
                    }
                    other => {
                        metrics.operation_errors += 1;
                        metrics.note(format!(
                            "operation {}: {:?} {:?}",
                            op.idempotency_key,
                            other.map(|r| r.status),
                            other.and_then(|r| r.error.clone())
                        ));
                        again.push((op, reference));
                    }
                }
            }
            pending = again;
        }
        if !pending.is_empty() {
            bail!(
                "terminal {}: {} sales not taken after {ATTEMPTS} attempts",
                plan.index + 1,
                pending.len()
            );
        }
        token = pull_changes(session, metrics, token).await?;
    }
    Ok(references)
}
