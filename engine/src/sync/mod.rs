//! The sync engine of the terminal side of the protocol: register, full (paged), push the
//! outbox, pull changes; with backoff, triggers and a status stream.
//!
//! Push comes before pull so the stock the mirror pulls already includes this till's sales.
//! Every page or batch answer is applied in one local transaction together with the cursor it
//! moves, so a crash in between repeats work instead of skipping it.

pub mod client;
pub mod trust;

use std::sync::atomic::Ordering;
use std::time::Duration;

use pos_protocol::sync::{BatchRequest, RegisterRequest, MAX_BATCH_OPERATIONS};
use rusqlite::params;

use crate::device;
use crate::engine::{terminal_state, Engine};
use crate::error::{EngineError, ErrorCode, Result};
use crate::outbox::{self, backoff_delay, Outcome};
use crate::store::time_text;
use crate::views::{SyncActivity, SyncProgress, SyncReport};
use client::{parse_server_url, SyncClient};
use trust::{Handshake, ServerTrust, TrustConfirmation};

impl Engine {
    /// Signs in, registers this device and runs the first full sync. The token goes to the OS
    /// credential store. When the sign-in worked but the first sync did not (network), the
    /// session is kept and the error says so; the background sync finishes the job.
    ///
    /// Nothing is sent to a server this till does not trust: see [`Engine::login_confirming`].
    pub async fn login(
        &self,
        server_url: &str,
        email: &str,
        password: &str,
        device_name: Option<String>,
    ) -> Result<crate::views::SessionInfo> {
        self.login_confirming(
            server_url,
            email,
            password,
            device_name,
            &TrustConfirmation::default(),
        )
        .await
    }

    /// [`Engine::login`] with what the person signing in confirmed about the server:
    /// - a certificate neither pinned nor valid under the web PKI is refused with
    ///   `server_certificate_unknown` and its fingerprint; signing in again confirming that
    ///   fingerprint pins it (trust on first use);
    /// - a certificate other than the pinned one is refused with `server_certificate_changed`;
    ///   an owner's sign-in confirming the new fingerprint replaces the pin, anyone else's is
    ///   refused after the server answered (their new token is revoked);
    /// - plain http beyond loopback is refused with `plain_http_refused`; an owner's sign-in
    ///   allowing it remembers that for this address.
    pub async fn login_confirming(
        &self,
        server_url: &str,
        email: &str,
        password: &str,
        device_name: Option<String>,
        confirmation: &TrustConfirmation,
    ) -> Result<crate::views::SessionInfo> {
        let base = parse_server_url(server_url)?;
        if email.trim().is_empty() {
            return Err(EngineError::invalid("email: required"));
        }
        let origin = trust::origin(&base);
        let known = {
            let origin = origin.clone();
            self.blocking(move |engine| engine.inner.store.read(|c| trust::load(c, &origin)))
                .await?
        };
        let offered = known.confirmed(confirmation)?;
        let client = SyncClient::new(
            base.clone(),
            &self.config().timings,
            &self.inner.device_id,
            &offered,
        )?;
        self.set_activity(SyncActivity::SigningIn, None);
        let signed_in = client.sign_in(email.trim(), password).await;
        let signed_in = match signed_in {
            Ok(data) => data,
            Err(e) => {
                self.note_contact(&e)?;
                self.set_activity(SyncActivity::Idle, None);
                return Err(e);
            }
        };
        tracing::info!(user = %signed_in.user.email, "signed in");
        let token = crate::credentials::Secret::new(signed_in.token.clone());
        let url = base.as_str().trim_end_matches('/').to_string();
        let change = TrustChange::between(&known, &offered, &base, client.handshake());
        let user = signed_in.user.clone();
        let adopted = match change.refusal(&user) {
            Some(refused) => Err(refused),
            None => {
                self.blocking(move |engine| {
                    engine.adopt_session(&url, signed_in, device_name)?;
                    engine
                        .inner
                        .store
                        .write(|tx| change.keep(tx, &origin, &user.email))
                })
                .await
            }
        };
        if let Err(e) = adopted {
            // Do not leave a live token behind that nothing will use.
            if let Err(revoke) = client.with_token(token).sign_out().await {
                tracing::warn!(error = %revoke, "unused token not revoked");
            }
            self.set_activity(SyncActivity::Idle, None);
            return Err(e);
        }
        self.sync_now().await?;
        self.session()
            .ok_or_else(|| EngineError::internal("the session was not kept after sign-in"))
    }

    /// The till's trust in the server at `url`.
    fn server_trust(&self, url: &reqwest::Url) -> Result<ServerTrust> {
        self.inner
            .store
            .read(|c| trust::load(c, &trust::origin(url)))
    }

    /// A client for the signed-in session (server address and token).
    pub(crate) fn client_for_session(&self) -> Result<SyncClient> {
        let state = self.inner.store.read(terminal_state)?;
        let not_signed_in =
            || EngineError::new(ErrorCode::NotSignedIn, "nobody is signed in on this till");
        if state.session.is_none() {
            return Err(not_signed_in());
        }
        let url = parse_server_url(&self.remembered_server()?.ok_or_else(not_signed_in)?)?;
        let token = self.token()?.ok_or_else(|| {
            EngineError::new(
                ErrorCode::NotSignedIn,
                "the sign-in token is not in the credential store: sign in again",
            )
        })?;
        let trust = self.server_trust(&url)?;
        Ok(
            SyncClient::new(url, &self.config().timings, &self.inner.device_id, &trust)?
                .with_token(token),
        )
    }

    fn set_activity(&self, activity: SyncActivity, progress: Option<SyncProgress>) {
        self.inner.status.send_modify(|s| {
            s.activity = activity;
            s.progress = progress;
        });
    }

    /// Runs blocking store work off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || work(&engine))
            .await
            .map_err(|e| EngineError::internal(format!("store task: {e}")))?
    }

    /// Records whether the last contact with the server worked.
    fn note_contact(&self, outcome: &EngineError) -> Result<()> {
        let reached = !matches!(outcome.code, ErrorCode::ServerUnreachable);
        let too_old = outcome.code == ErrorCode::ClientTooOld;
        let code = serde_json::to_value(outcome.code)?;
        self.inner.store.write(|tx| {
            tx.execute(
                "UPDATE terminal_state SET last_contact_ok = ?1, last_error = ?2,
                   client_too_old = client_too_old OR ?3, last_error_code = ?4 WHERE id = 1",
                params![reached, outcome.message, too_old, code.as_str()],
            )?;
            Ok(())
        })?;
        self.refresh_status()
    }

    /// Push the outbox, then pull changes (after registering and a full download the first
    /// time). Err when the server could not be reached or refused the session; operations the
    /// server rejected are counted in the report, not an error.
    ///
    /// Asked for by a person or a script, it sends every queued operation at once, even those
    /// waiting out a backoff; the background sync keeps to the backoff.
    pub async fn sync_now(&self) -> Result<SyncReport> {
        self.run_sync(true).await
    }

    async fn run_sync(&self, explicit: bool) -> Result<SyncReport> {
        let _one_at_a_time = self.inner.sync_lock.lock().await;
        let mut client = self.client_for_session()?;
        let result = match self.refresh_if_expiring(&client).await {
            Ok(Some(fresh)) => {
                client = fresh;
                self.sync_with(&client, explicit).await
            }
            Ok(None) => self.sync_with(&client, explicit).await,
            Err(e) => Err(e),
        };
        let offset = client.clock_offset_ms();
        let outcome = match &result {
            Ok(_) => None,
            Err(e) => Some(e.clone()),
        };
        self.blocking(move |engine| {
            engine.inner.store.write(|tx| {
                if let Some(offset) = offset {
                    tx.execute(
                        "UPDATE terminal_state SET clock_offset_ms = ?1 WHERE id = 1",
                        [offset],
                    )?;
                }
                if outcome.is_none() {
                    tx.execute(
                        "UPDATE terminal_state SET last_contact_ok = 1, last_error = NULL,
                           last_error_code = NULL, client_too_old = 0, last_sync_at = ?1
                         WHERE id = 1",
                        [time_text(&pos_protocol::time::now())],
                    )?;
                }
                Ok(())
            })?;
            match &outcome {
                Some(e) => engine.note_contact(e),
                None => engine.refresh_status(),
            }
        })
        .await?;
        self.set_activity(SyncActivity::Idle, None);
        match &result {
            Ok(report) => tracing::info!(?report, "sync done"),
            Err(e) => tracing::warn!(code = ?e.code, error = %e, "sync failed"),
        }
        result
    }

    /// Refreshes the token when less than a day of it remains (less than half its life, for
    /// short-lived tokens), so a till that syncs regularly never finds itself signed out. A
    /// refusal is logged and the sync goes on with the old token.
    async fn refresh_if_expiring(&self, client: &SyncClient) -> Result<Option<SyncClient>> {
        let Some(mut session) = self
            .blocking(|e| e.inner.store.read(terminal_state))
            .await?
            .session
        else {
            return Ok(None);
        };
        let now = pos_protocol::time::now();
        let half_life = (session.expires_at - session.token_issued_at) / 2;
        if session.expires_at - now > half_life.min(chrono::Duration::days(1)) {
            return Ok(None);
        }
        let fresh = match client.refresh_token().await {
            Ok(fresh) => fresh,
            Err(e) if e.code == ErrorCode::ServerUnreachable => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "token not refreshed");
                return Ok(None);
            }
        };
        session.expires_at = fresh.expires_at;
        session.token_issued_at = now;
        let token = crate::credentials::Secret::new(fresh.token);
        self.blocking(move |engine| engine.keep_refreshed_session(&token, &session))
            .await?;
        tracing::info!("token refreshed");
        Ok(Some(self.client_for_session()?))
    }

    async fn sync_with(&self, client: &SyncClient, explicit: bool) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let state = self
            .blocking(|e| e.inner.store.read(terminal_state))
            .await?;
        let state = if state.registered {
            state
        } else {
            self.register(client, &state.device_name).await?;
            self.blocking(|e| e.inner.store.read(terminal_state))
                .await?
        };
        if state.sync_token.is_none() {
            // The first time (or after a change of server): the whole catalog first.
            report.full_sync = true;
            report.pulled_records += self.full(client).await?;
        }
        self.push(client, &mut report, explicit).await?;
        report.pulled_records += self.pull(client).await?;
        report.still_pending = self
            .blocking(|e| e.inner.store.read(outbox::counts))
            .await?
            .0;
        Ok(report)
    }

    async fn register(&self, client: &SyncClient, device_name: &str) -> Result<()> {
        self.set_activity(SyncActivity::Registering, None);
        let request = RegisterRequest {
            device_id: self.inner.device_id.clone(),
            device_name: device_name.to_string(),
            os: Some(device::os_description()),
            app_version: Some(crate::CLIENT_VERSION.to_string()),
            pin_key: Some(self.pin_key()?.to_text()),
        };
        let registered = client.register(&request).await?;
        self.blocking(move |engine| engine.apply_registration(&registered))
            .await?;
        tracing::info!(device = %self.inner.device_id, "device registered");
        Ok(())
    }

    /// Keeps the server's answer to registering this device: offline numbers continue after
    /// the highest one the server has seen from it, so a reinstalled till never reuses one.
    /// When the server has just accepted this till's PIN key (a manager or owner registered
    /// it), the catalog downloads again from scratch, so every PIN arrives sealed for it.
    pub fn apply_registration(&self, registered: &pos_protocol::sync::RegisterData) -> Result<()> {
        self.inner.store.write(|tx| {
            tx.execute(
                "UPDATE terminal_state SET registered_at = ?1, last_offline_seq = ?2,
                   next_offline_seq = MAX(next_offline_seq, ?2 + 1),
                   sync_token = CASE WHEN ?3 AND NOT pin_key_accepted THEN NULL
                                     ELSE sync_token END,
                   pin_key_accepted = ?3
                 WHERE id = 1",
                params![
                    time_text(&registered.registered_at),
                    registered.last_offline_seq,
                    registered.pin_key_accepted
                ],
            )?;
            Ok(())
        })
    }

    /// Downloads every page; the first page's token is where `changes` continues, so nothing
    /// written while the pages download is lost. The next page is asked for while this one is
    /// written, so the server's and the network's time hides behind the till's disk.
    async fn full(&self, client: &SyncClient) -> Result<u64> {
        let page_size = self.config().timings.page_size;
        let mut first_token: Option<String> = None;
        let mut applied = 0u64;
        let mut page = client.full(page_size, None).await?;
        loop {
            self.set_activity(
                SyncActivity::FullSync,
                Some(SyncProgress {
                    done: applied,
                    total: None,
                }),
            );
            if page.has_more && page.next_cursor.is_none() {
                return Err(EngineError::new(
                    ErrorCode::ProtocolError,
                    "sync/full: has_more without a next_cursor",
                ));
            }
            let next_cursor = page.has_more.then(|| page.next_cursor.clone()).flatten();
            let token = first_token.clone();
            first_token.get_or_insert_with(|| page.sync_token.clone());
            let apply =
                self.blocking(move |engine| engine.apply_full_page(&page, token.as_deref()));
            match next_cursor {
                None => return Ok(applied + apply.await?),
                Some(cursor) => {
                    let (written, next) =
                        tokio::join!(apply, client.full(page_size, Some(&cursor)));
                    applied += written?;
                    page = next?;
                }
            }
        }
    }

    /// Asks for changes until the server has no more; each answer and its token in one
    /// transaction.
    async fn pull(&self, client: &SyncClient) -> Result<u64> {
        let page_size = self.config().timings.page_size;
        let mut applied = 0u64;
        loop {
            self.set_activity(
                SyncActivity::Pulling,
                Some(SyncProgress {
                    done: applied,
                    total: None,
                }),
            );
            let token = self
                .blocking(|e| e.inner.store.read(terminal_state))
                .await?
                .sync_token
                .ok_or_else(|| EngineError::internal("no sync token after the full download"))?;
            let changes = client.changes(&token, page_size).await?;
            let has_more = changes.has_more;
            if has_more && changes.sync_token == token {
                return Err(EngineError::new(
                    ErrorCode::ProtocolError,
                    "sync/changes: has_more without moving the sync token",
                ));
            }
            applied += self
                .blocking(move |engine| engine.apply_changes(&changes))
                .await?;
            if !has_more {
                return Ok(applied);
            }
        }
    }

    /// Sends ready operations in order, at most 500 per batch, until none is ready.
    async fn push(
        &self,
        client: &SyncClient,
        report: &mut SyncReport,
        explicit: bool,
    ) -> Result<()> {
        let mut ignore_backoff = explicit;
        // Halved when the server finds a batch too large (big carts), down to one operation.
        let mut limit = MAX_BATCH_OPERATIONS;
        loop {
            let now = pos_protocol::time::now();
            let (ids, request) = self
                .blocking(move |e| e.prepare_batch_with(now, ignore_backoff, limit))
                .await?;
            ignore_backoff = false;
            if ids.is_empty() {
                return Ok(());
            }
            let total = ids.len() as u64;
            self.set_activity(
                SyncActivity::Pushing,
                Some(SyncProgress {
                    done: report.pushed,
                    total: Some(report.pushed + total),
                }),
            );
            report.pushed += total;
            let answer = match client.batch(&request).await {
                Ok(answer) => answer,
                Err(e) if e.code == ErrorCode::PayloadTooLarge && ids.len() > 1 => {
                    limit = ids.len() / 2;
                    self.blocking(move |engine| engine.record_batch_failure(&ids, &e, now))
                        .await?;
                    ignore_backoff = true;
                    continue;
                }
                Err(e) if e.code == ErrorCode::PayloadTooLarge => {
                    // One operation alone is too large: it cannot ever be sent as it is, so
                    // it waits for a person, and the ones behind it go on.
                    let message = e.message.clone();
                    self.blocking(move |engine| {
                        engine.inner.store.write(|tx| {
                            outbox::mark_failed(tx, ids[0], "PAYLOAD_TOO_LARGE", &message, now)
                        })
                    })
                    .await?;
                    report.rejected += 1;
                    ignore_backoff = true;
                    continue;
                }
                Err(e) => {
                    let error = e.clone();
                    self.blocking(move |engine| engine.record_batch_failure(&ids, &error, now))
                        .await?;
                    return Err(e);
                }
            };
            let outcomes = self
                .blocking(move |engine| engine.record_batch_answer(&ids, &request, &answer, now))
                .await?;
            for outcome in &outcomes {
                match outcome {
                    Outcome::Acknowledged => report.acknowledged += 1,
                    Outcome::Rejected => report.rejected += 1,
                    Outcome::Conflict => report.conflicts += 1,
                    Outcome::StillPending => {}
                }
            }
            self.blocking(|e| e.refresh_status()).await?;
            if !outcomes.contains(&Outcome::Acknowledged) {
                // Nothing moved (all waiting or retrying later): stop rather than spin.
                return Ok(());
            }
        }
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let timings = self.config().timings;
        backoff_delay(
            attempts,
            Duration::from_millis(timings.backoff_initial_ms),
            Duration::from_millis(timings.backoff_max_ms),
            rand::random::<f64>(),
        )
    }

    /// The next batch to push: up to 500 ready operations in order, marked as sent (their
    /// answer may be lost; they stay eligible to be sent again with the same keys). Returns
    /// their outbox ids beside the request.
    pub fn prepare_batch(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Vec<i64>, BatchRequest)> {
        self.prepare_batch_with(now, false, MAX_BATCH_OPERATIONS)
    }

    fn prepare_batch_with(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        ignore_backoff: bool,
        limit: usize,
    ) -> Result<(Vec<i64>, BatchRequest)> {
        let ready = self.inner.store.write(|tx| {
            let ready = outbox::ready(tx, now, ignore_backoff, limit)?;
            let ids: Vec<i64> = ready.iter().map(|(id, _)| *id).collect();
            outbox::mark_sent(tx, &ids, now)?;
            Ok(ready)
        })?;
        let (ids, operations): (Vec<i64>, Vec<_>) = ready.into_iter().unzip();
        Ok((
            ids,
            BatchRequest {
                operations,
                client_timestamp: Some(now),
                device_id: Some(self.inner.device_id.clone()),
            },
        ))
    }

    /// A batch that got no answer: its operations go back to the queue after a backoff (at
    /// once when the server asked for a newer terminal or for smaller batches).
    pub fn record_batch_failure(
        &self,
        ids: &[i64],
        error: &EngineError,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.inner.store.write(|tx| {
            let mut attempts = 1u32;
            for id in ids {
                let n: u32 =
                    tx.query_row("SELECT attempts FROM outbox WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })?;
                attempts = attempts.max(n);
            }
            // An outdated terminal keeps its queue as it is, due at once after the update; a
            // batch too large goes again at once in smaller parts.
            let delay = if matches!(
                error.code,
                ErrorCode::ClientTooOld | ErrorCode::PayloadTooLarge
            ) {
                Duration::ZERO
            } else {
                self.backoff(attempts)
            };
            outbox::requeue_after(tx, ids, now, delay, &error.message)
        })
    }

    /// Applies the server's answer to a batch from [`Engine::prepare_batch`], in one
    /// transaction: done operations get their server ids written back, rejected ones stay
    /// visible as failed, conflicts are parked, passing failures wait for a backoff.
    pub fn record_batch_answer(
        &self,
        ids: &[i64],
        request: &BatchRequest,
        answer: &pos_protocol::sync::BatchResponse,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Outcome>> {
        let outcomes = self.inner.store.write(|tx| {
            let mut outcomes = Vec::new();
            let mut unanswered = Vec::new();
            for (id, op) in ids.iter().zip(&request.operations) {
                let Some(result) = answer
                    .results
                    .iter()
                    .find(|r| r.idempotency_key == op.idempotency_key)
                else {
                    unanswered.push(*id);
                    continue;
                };
                let attempts: u32 =
                    tx.query_row("SELECT attempts FROM outbox WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })?;
                outcomes.push(outbox::apply_result(
                    tx,
                    *id,
                    result,
                    now,
                    self.backoff(attempts),
                )?);
            }
            outbox::requeue_after(
                tx,
                &unanswered,
                now,
                self.backoff(1),
                "the server's answer did not mention this operation",
            )?;
            Ok(outcomes)
        })?;
        self.refresh_status()?;
        Ok(outcomes)
    }

    /// Starts the background sync: on start, right after each sale (or other queued change),
    /// every `periodic_interval`, and with exponential backoff while the server cannot be
    /// reached (which is how a reconnect is noticed). Calling it again does nothing. Runs on
    /// the current tokio runtime, or on its own thread when called outside one.
    pub fn start_background_sync(&self) {
        if self.inner.background_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let engine = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move { engine.background_loop().await });
            }
            Err(_) => {
                std::thread::Builder::new()
                    .name("pos-sync".into())
                    .spawn(move || {
                        match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(rt) => rt.block_on(engine.background_loop()),
                            Err(e) => tracing::error!(error = %e, "background sync not started"),
                        }
                    })
                    .map(drop)
                    .unwrap_or_else(|e| tracing::error!(error = %e, "background sync not started"));
            }
        }
    }

    async fn background_loop(self) {
        let timings = self.config().timings;
        let mut failures = 0u32;
        loop {
            let wait = match self.run_sync(false).await {
                Ok(_) => {
                    failures = 0;
                    timings.periodic_interval()
                }
                Err(e) if e.code == ErrorCode::NotSignedIn => timings.periodic_interval(),
                Err(_) => {
                    failures = failures.saturating_add(1);
                    self.set_activity(SyncActivity::BackingOff, None);
                    self.backoff(failures)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.inner.wake.notified() => {}
            }
        }
    }
}

/// What a sign-in changes in the till's trust in its server, once the server accepted it.
struct TrustChange {
    /// The certificate to pin (the confirmed one the handshake accepted).
    pin: Option<String>,
    /// The pin replaces another one.
    replaces_pin: bool,
    /// Plain http beyond loopback becomes allowed for this address.
    allows_plain_http: bool,
}

impl TrustChange {
    fn between(
        known: &ServerTrust,
        offered: &ServerTrust,
        base: &reqwest::Url,
        handshake: Option<Handshake>,
    ) -> TrustChange {
        let pin = match handshake {
            Some(Handshake::Pinned) if offered.pinned_sha256 != known.pinned_sha256 => {
                offered.pinned_sha256.clone()
            }
            _ => None,
        };
        TrustChange {
            replaces_pin: pin.is_some() && known.pinned_sha256.is_some(),
            pin,
            allows_plain_http: base.scheme() == "http"
                && !trust::is_loopback(base)
                && !known.plain_http_allowed,
        }
    }

    /// Why the signed-in user may not make this change: replacing a pin or allowing plain
    /// http is an owner's decision.
    fn refusal(&self, user: &pos_protocol::auth::UserSummary) -> Option<EngineError> {
        if user.role == pos_protocol::auth::Role::Owner {
            return None;
        }
        if self.replaces_pin {
            return Some(EngineError::new(
                ErrorCode::ServerCertificateChanged,
                format!(
                    "only an owner can accept a new certificate for this server; {} signed in                      as {}",
                    user.email,
                    user.role.as_str()
                ),
            ));
        }
        if self.allows_plain_http {
            return Some(EngineError::new(
                ErrorCode::PlainHttpRefused,
                format!(
                    "only an owner can allow plain http to this server; {} signed in as {}",
                    user.email,
                    user.role.as_str()
                ),
            ));
        }
        None
    }

    fn keep(&self, tx: &rusqlite::Transaction, origin: &str, by: &str) -> Result<()> {
        if let Some(sha256) = &self.pin {
            trust::pin(tx, origin, sha256, by)?;
            tracing::info!(%origin, certificate_sha256 = %sha256, %by, "server certificate pinned");
        }
        if self.allows_plain_http {
            trust::allow_plain_http(tx, origin, by)?;
            tracing::warn!(%origin, %by, "plain http allowed to this server");
        }
        Ok(())
    }
}
