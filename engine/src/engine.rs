//! The facade: one `Engine` per data folder, cheap to clone, safe to share between threads.
//!
//! Methods that only touch the local store are plain functions (they take microseconds to a
//! few milliseconds); the ones that talk to the server are `async`.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use pos_protocol::auth::UserSummary;
use pos_protocol::entities::Settings;
use pos_protocol::Decimal;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use crate::cart::{self, Cart};
use crate::cashiers::{self, Acting, Approval};
use crate::credentials::{token_account, CredentialStore, Secret};
use crate::error::{EngineError, ErrorCode, Result};
use crate::mirror::load_settings;
use crate::outbox::Stamp;
use crate::parties::DueInput;
use crate::sales::{self, Seller};
use crate::shifts::Cashier;
use crate::store::{parse_time, time_text, Store};
use crate::views::*;
use crate::{catalog, device, mirror, outbox, parties, printing, rescue, returns, shifts};

#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: EngineConfig,
    pub store: Store,
    pub credentials: CredentialStore,
    pub device_id: String,
    cart: Mutex<Cart>,
    pub status: watch::Sender<SyncStatus>,
    /// One sync at a time.
    pub sync_lock: tokio::sync::Mutex<()>,
    /// Wakes the background sync (after a sale, on demand).
    pub wake: Notify,
    pub background_started: AtomicBool,
    /// A manager's PIN given for the next guarded operation (kept in memory only: it lasts
    /// until that operation succeeds, the cashier switches or the app closes).
    approval: Mutex<Option<Approval>>,
}

/// The signed-in user as kept in the local store (no secret in it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub user: UserSummary,
    #[serde(with = "pos_protocol::time::rfc3339")]
    /// When the current token was issued (sign-in or last refresh).
    pub token_issued_at: DateTime<Utc>,
    #[serde(with = "pos_protocol::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// The `terminal_state` row.
pub(crate) struct TerminalState {
    pub device_name: String,
    pub server_url: Option<String>,
    pub session: Option<SessionRecord>,
    pub registered: bool,
    pub sync_token: Option<String>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_contact_ok: bool,
    pub last_error: Option<String>,
    pub last_error_code: Option<ErrorCode>,
    pub client_too_old: bool,
    pub clock_offset_ms: i64,
}

pub(crate) fn terminal_state(conn: &Connection) -> Result<TerminalState> {
    let row = conn
        .prepare_cached(
            "SELECT device_name, server_url, session, registered_at, sync_token, last_sync_at,
                last_contact_ok, last_error, client_too_old, clock_offset_ms, last_error_code
         FROM terminal_state WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, bool>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, bool>(8)?,
                r.get::<_, i64>(9)?,
                r.get::<_, Option<String>>(10)?,
            ))
        })?;
    Ok(TerminalState {
        device_name: row.0,
        server_url: row.1,
        session: row.2.map(|s| serde_json::from_str(&s)).transpose()?,
        registered: row.3.is_some(),
        sync_token: row.4,
        last_sync_at: row.5.map(|t| parse_time(&t)).transpose()?,
        last_contact_ok: row.6,
        last_error: row.7,
        last_error_code: row
            .10
            .and_then(|code| serde_json::from_value(serde_json::Value::String(code)).ok()),
        client_too_old: row.8,
        clock_offset_ms: row.9,
    })
}

impl Engine {
    /// Opens the terminal on its data folder: checks and migrates the database, loads or makes
    /// the device identity. Never touches the network.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let store = Store::open(&config.data_dir)?;
        let credentials = CredentialStore::from_env(&config.data_dir)?;
        let known: Option<String> = store.read(|c| {
            Ok(c.query_row(
                "SELECT device_id FROM terminal_state WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        let device_id = match known {
            Some(id) => id,
            None => {
                let id = device::load_or_create(&config.data_dir, &credentials)?;
                store.write(|tx| {
                    tx.execute(
                        "INSERT INTO terminal_state (id, device_id, device_name, server_url)
                         VALUES (1, ?1, ?2, ?3)",
                        params![id, device::host_name(), config.server_url],
                    )?;
                    Ok(())
                })?;
                id
            }
        };
        // A full download cut short (a crash, a lost connection) left the name index behind.
        if store.read(mirror::name_index_stale)? {
            store.write(|tx| mirror::rebuild_name_index_if_stale(tx))?;
        }
        // The cart being rung up when the till last stopped comes back.
        let cart = store.read(cart::load_open)?;
        let (status, _) = watch::channel(SyncStatus {
            online: false,
            pending: 0,
            failed: 0,
            conflicts: 0,
            last_sync_at: None,
            activity: SyncActivity::Idle,
            progress: None,
            client_too_old: false,
            signed_in: false,
            last_error: None,
            last_error_code: None,
        });
        let engine = Engine {
            inner: Arc::new(Inner {
                config,
                store,
                credentials,
                device_id,
                cart: Mutex::new(cart),
                status,
                sync_lock: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
                background_started: AtomicBool::new(false),
                approval: Mutex::new(None),
            }),
        };
        engine.refresh_status()?;
        tracing::info!(device = %engine.inner.device_id, data_dir = %engine.inner.config.data_dir.display(), "terminal engine opened");
        Ok(engine)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Path of the local database file.
    pub fn database_path(&self) -> std::path::PathBuf {
        self.inner.store.path().to_path_buf()
    }

    fn lock_cart(&self) -> MutexGuard<'_, Cart> {
        self.inner
            .cart
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn stamp(&self) -> Result<Stamp> {
        Ok(Stamp {
            now: pos_protocol::time::now(),
            clock_offset_ms: self.inner.store.read(terminal_state)?.clock_offset_ms,
        })
    }

    // ---- session -----------------------------------------------------------------------

    /// This terminal's identity.
    pub fn device(&self) -> Result<DeviceView> {
        let state = self.inner.store.read(terminal_state)?;
        Ok(DeviceView {
            id: self.inner.device_id.clone(),
            short_code: device::short_code(&self.inner.device_id),
            name: state.device_name,
        })
    }

    /// The server this till last signed in to (kept after signing out), else the configured
    /// one: what a sign-in screen offers.
    pub fn remembered_server(&self) -> Result<Option<String>> {
        Ok(self
            .inner
            .store
            .read(terminal_state)?
            .server_url
            .or_else(|| self.inner.config.server_url.clone()))
    }

    /// Who is signed in, on which device, with the business settings. None when signed out.
    pub fn session(&self) -> Option<SessionInfo> {
        self.session_info().ok().flatten()
    }

    fn session_info(&self) -> Result<Option<SessionInfo>> {
        let (state, settings) = self
            .inner
            .store
            .read(|c| Ok((terminal_state(c)?, load_settings(c)?)))?;
        let (Some(record), Some(server_url)) = (state.session, state.server_url) else {
            return Ok(None);
        };
        Ok(Some(SessionInfo {
            server_url,
            business_name: settings
                .as_ref()
                .map(|s| s.company_name.clone())
                .unwrap_or_default(),
            user: UserView {
                id: record.user.id,
                name: record.user.name,
                email: record.user.email,
                role: record.user.role,
                business_id: record.user.business_id,
            },
            device: DeviceView {
                id: self.inner.device_id.clone(),
                short_code: device::short_code(&self.inner.device_id),
                name: state.device_name,
            },
            settings,
        }))
    }

    pub(crate) fn token(&self) -> Result<Option<Secret>> {
        self.inner
            .credentials
            .get(&token_account(&self.inner.device_id))
    }

    /// Keeps a signed-in session: the token in the credential store, the user (no secret) in
    /// the local store. `login` calls this after the server accepted the credentials; tools
    /// that obtained a sign-in elsewhere may call it too.
    ///
    /// Refused (`invalid_state`) when the till still holds unsynced work of another business:
    /// that work must reach its own business first (sign in there, or export it).
    pub fn adopt_session(
        &self,
        server_url: &str,
        sign_in: pos_protocol::auth::SignInData,
        device_name: Option<String>,
    ) -> Result<()> {
        let (previous_business, (pending, failed, conflicts)) = self.inner.store.read(|c| {
            let business: Option<i64> = c.query_row(
                "SELECT business_id FROM terminal_state WHERE id = 1",
                [],
                |r| r.get(0),
            )?;
            Ok((business, outbox::counts(c)?))
        })?;
        let unsynced = pending + failed + conflicts;
        if unsynced > 0 && previous_business.is_some_and(|b| b != sign_in.user.business_id) {
            return Err(EngineError::new(
                ErrorCode::InvalidState,
                format!(
                    "this till still holds {unsynced} unsynced operation(s) of another business; \
                     sign in to that business so they can sync first"
                ),
            ));
        }
        self.inner.credentials.set(
            &token_account(&self.inner.device_id),
            &Secret::new(sign_in.token),
        )?;
        let record = SessionRecord {
            user: sign_in.user,
            token_issued_at: pos_protocol::time::now(),
            expires_at: sign_in.expires_at,
        };
        let device_name = device_name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        self.inner.store.write(|tx| {
            // Another server means another catalog: start its sync from scratch.
            let previous: Option<String> = tx.query_row(
                "SELECT server_url FROM terminal_state WHERE id = 1",
                [],
                |r| r.get(0),
            )?;
            if previous.as_deref() != Some(server_url) {
                tx.execute(
                    "UPDATE terminal_state SET sync_token = NULL WHERE id = 1",
                    [],
                )?;
            }
            // A manager's or owner's online sign-in lifts a lock on PIN entry.
            if cashiers::is_manager(record.user.role) {
                cashiers::reset_wrong_pins(tx)?;
            }
            // Register again after every sign-in: the server learns the current name, OS and
            // version, and tells the last offline number it has seen.
            tx.execute(
                "UPDATE terminal_state SET server_url = ?1, session = ?2, registered_at = NULL,
                   device_name = COALESCE(?3, device_name), business_id = ?4 WHERE id = 1",
                params![
                    server_url,
                    serde_json::to_string(&record)?,
                    device_name,
                    record.user.business_id
                ],
            )?;
            Ok(())
        })?;
        self.refresh_status()
    }

    /// Keeps a refreshed token and its new expiry.
    pub(crate) fn keep_refreshed_session(
        &self,
        token: &Secret,
        session: &SessionRecord,
    ) -> Result<()> {
        self.inner
            .credentials
            .set(&token_account(&self.inner.device_id), token)?;
        self.inner.store.write(|tx| {
            tx.execute(
                "UPDATE terminal_state SET session = ?1 WHERE id = 1 AND session IS NOT NULL",
                [serde_json::to_string(session)?],
            )?;
            Ok(())
        })
    }

    /// Signs out: revokes the token on the server when it can be reached, forgets it locally,
    /// and keeps every queued operation (they sync after the next sign-in).
    pub async fn logout(&self) -> Result<LogoutOutcome> {
        let signed_out_on_server = match self.client_for_session() {
            Ok(client) => client.sign_out().await.is_ok(),
            Err(_) => false,
        };
        self.inner
            .credentials
            .delete(&token_account(&self.inner.device_id))?;
        self.inner.store.write(|tx| {
            tx.execute(
                "UPDATE terminal_state SET session = NULL, active_cashier_id = NULL WHERE id = 1",
                [],
            )?;
            cart::save_open(tx, &Cart::default())
        })?;
        *self.lock_cart() = Cart::default();
        *self.lock_approval() = None;
        let (pending, failed, conflicts) = self.inner.store.read(outbox::counts)?;
        self.refresh_status()?;
        tracing::info!(
            queued = pending + failed + conflicts,
            "signed out; queued work kept"
        );
        Ok(LogoutOutcome {
            queued_operations: pending + failed + conflicts,
            signed_out_on_server,
        })
    }

    fn seller_session(&self) -> Result<SessionRecord> {
        self.inner
            .store
            .read(terminal_state)?
            .session
            .ok_or_else(|| {
                EngineError::new(ErrorCode::NotSignedIn, "nobody is signed in on this till")
            })
    }

    // ---- catalog -----------------------------------------------------------------------

    pub fn categories(&self) -> Result<Vec<CategoryView>> {
        self.inner.store.read(catalog::categories)
    }

    pub fn payment_types(&self) -> Result<Vec<PaymentTypeView>> {
        self.inner.store.read(catalog::payment_types)
    }

    pub fn settings(&self) -> Result<Option<Settings>> {
        self.inner.store.read(load_settings)
    }

    pub fn products_in_category(&self, category_id: i64, limit: u32) -> Result<Vec<ProductView>> {
        self.inner
            .store
            .read(|c| catalog::products_in_category(c, category_id, limit))
    }

    /// Barcode / product code exact matches first, then products whose name has a word
    /// starting with every word typed (the first `limit` in catalog order, sorted by name).
    pub fn search_products(&self, text: &str, limit: u32) -> Result<Vec<ProductView>> {
        self.inner.store.read(|c| catalog::search(c, text, limit))
    }

    pub fn product_by_code(&self, code: &str) -> Result<Option<ProductView>> {
        self.inner.store.read(|c| catalog::product_by_code(c, code))
    }

    /// Applies one page of a full download to the mirror in one transaction; the path the
    /// sync takes, and how tools and tests seed a till. `first_page_token` is None for the
    /// first page (which empties the entities it carries, and whose token is where `changes`
    /// continues) and that first page's token for the pages after it. The last page
    /// (`has_more` false) stores the token, so an interrupted download starts again.
    pub fn apply_full_page(
        &self,
        page: &pos_protocol::sync::FullResponse,
        first_page_token: Option<&str>,
    ) -> Result<u64> {
        self.inner.store.write(|tx| {
            mirror::begin_full_page(tx, &page.data)?;
            if first_page_token.is_none() {
                mirror::clear_for_full(tx, &page.data)?;
            }
            let count = mirror::apply_full_data(tx, &page.data)?;
            if !page.has_more {
                mirror::end_full_download(tx)?;
                let token = first_page_token.unwrap_or(&page.sync_token);
                tx.execute(
                    "UPDATE terminal_state SET sync_token = ?1 WHERE id = 1",
                    [token],
                )?;
                sales::settle_confirmed(tx)?;
            }
            Ok(count)
        })
    }

    /// Applies one `changes` answer to the mirror and keeps its token, in one transaction.
    /// After the last page the mirror's stock includes every sale the server confirmed.
    pub fn apply_changes(&self, changes: &pos_protocol::sync::ChangesResponse) -> Result<u64> {
        self.inner.store.write(|tx| {
            // Changes land on an index that follows every row again.
            mirror::rebuild_name_index_if_stale(tx)?;
            let count = mirror::apply_changes(tx, &changes.data)?;
            tx.execute(
                "UPDATE terminal_state SET sync_token = ?1 WHERE id = 1",
                [&changes.sync_token],
            )?;
            if !changes.has_more {
                sales::settle_confirmed(tx)?;
            }
            Ok(count)
        })
    }

    // ---- cart --------------------------------------------------------------------------

    fn rules(&self, conn: &Connection) -> Result<pos_protocol::totals::PricingRules> {
        Ok(sales::require_settings(conn)?.pricing_rules())
    }

    fn cart_view_of(&self, conn: &Connection, cart: &Cart) -> Result<CartView> {
        let rules = self.rules(conn)?;
        let stock_ids = cart
            .lines
            .iter()
            .map(|l| catalog::stock_for_sale(conn, l.product_id))
            .collect::<Result<Vec<_>>>()?;
        let customer = cart.customer.map(|p| parties::party(conn, p)).transpose()?;
        cart.view(rules, &stock_ids, customer)
    }

    /// Tries `change` on a copy of the cart; keeps it only if the result still prices.
    fn change_cart(
        &self,
        change: impl FnOnce(&Connection, &mut Cart) -> Result<()>,
    ) -> Result<CartView> {
        let mut cart = self.lock_cart();
        let (next, view) = self.inner.store.write(|tx| {
            let mut next = cart.clone();
            change(tx, &mut next)?;
            let view = self.cart_view_of(tx, &next)?;
            cart::save_open(tx, &next)?;
            Ok((next, view))
        })?;
        *cart = next;
        Ok(view)
    }

    pub fn cart(&self) -> Result<CartView> {
        let cart = self.lock_cart();
        self.inner.store.read(|conn| self.cart_view_of(conn, &cart))
    }

    pub fn cart_add(&self, product_id: i64, quantity: Decimal) -> Result<CartView> {
        self.change_cart(|conn, cart| {
            let product = catalog::product(conn, product_id)?.ok_or_else(|| {
                EngineError::not_found(format!("product_id: no product {product_id}"))
            })?;
            cart.add(&product, quantity)
        })
    }

    /// Adds the product with this barcode or product code (what a scanner types).
    pub fn cart_add_code(&self, code: &str, quantity: Decimal) -> Result<CartView> {
        self.change_cart(|conn, cart| {
            let product = catalog::product_by_code(conn, code)?.ok_or_else(|| {
                EngineError::not_found(format!(
                    "code: no product has barcode or code '{}'",
                    code.trim()
                ))
            })?;
            cart.add(&product, quantity)
        })
    }

    pub fn cart_set_quantity(&self, line_no: u32, quantity: Decimal) -> Result<CartView> {
        self.change_cart(|_, cart| cart.set_quantity(line_no, quantity))
    }

    pub fn cart_set_line_discount(&self, line_no: u32, discount: Discount) -> Result<CartView> {
        self.change_cart(|_, cart| cart.set_line_discount(line_no, discount))
    }

    pub fn cart_void_line(&self, line_no: u32) -> Result<CartView> {
        self.change_cart(|_, cart| cart.void_line(line_no))
    }

    pub fn cart_set_discount(&self, discount: Discount) -> Result<CartView> {
        self.change_cart(|_, cart| cart.set_discount(discount))
    }

    pub fn cart_set_customer(&self, customer: Option<PartyRef>) -> Result<CartView> {
        self.change_cart(|conn, cart| {
            if let Some(party) = customer {
                parties::party(conn, party)?;
            }
            cart.customer = customer;
            Ok(())
        })
    }

    /// Cancels the cart.
    pub fn cart_clear(&self) -> Result<CartView> {
        self.change_cart(|_, cart| {
            *cart = Cart::default();
            Ok(())
        })
    }

    /// Puts the cart aside under `label` and starts an empty one.
    pub fn hold_cart(&self, label: &str) -> Result<HeldCartView> {
        let mut cart = self.lock_cart();
        if cart.is_empty() {
            return Err(EngineError::new(
                ErrorCode::EmptyCart,
                "the cart is empty: nothing to hold",
            ));
        }
        let view = self
            .inner
            .store
            .read(|conn| self.cart_view_of(conn, &cart))?;
        let label = match label.trim() {
            "" => format!("Cart of {}", chrono::Local::now().format("%H:%M")),
            l => l.to_string(),
        };
        let held_at = pos_protocol::time::now();
        let id = self.inner.store.write(|tx| {
            tx.execute(
                "INSERT INTO held_carts (label, cart, held_at) VALUES (?1, ?2, ?3)",
                params![label, serde_json::to_string(&*cart)?, time_text(&held_at)],
            )?;
            let id = tx.last_insert_rowid();
            cart::save_open(tx, &Cart::default())?;
            Ok(id)
        })?;
        *cart = Cart::default();
        Ok(HeldCartView {
            id,
            label,
            line_count: view.lines.len(),
            total: view.total,
            customer_name: view.customer.map(|c| c.name),
            held_at,
        })
    }

    pub fn held_carts(&self) -> Result<Vec<HeldCartView>> {
        self.inner.store.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, label, cart, held_at FROM held_carts ORDER BY id")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, label, cart, held_at)| {
                    let cart: Cart = serde_json::from_str(&cart)?;
                    let view = self.cart_view_of(conn, &cart)?;
                    Ok(HeldCartView {
                        id,
                        label,
                        line_count: view.lines.len(),
                        total: view.total,
                        customer_name: view.customer.map(|c| c.name),
                        held_at: parse_time(&held_at)?,
                    })
                })
                .collect()
        })
    }

    /// Brings a held cart back; the current cart must be empty (hold or cancel it first).
    pub fn resume_cart(&self, held_id: i64) -> Result<CartView> {
        let mut cart = self.lock_cart();
        if !cart.is_empty() {
            return Err(EngineError::new(
                ErrorCode::InvalidState,
                "the current cart has lines: hold or cancel it before resuming another",
            ));
        }
        let resumed: Cart = self.inner.store.write(|tx| {
            let text: String = tx
                .query_row(
                    "SELECT cart FROM held_carts WHERE id = ?1",
                    [held_id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| EngineError::not_found(format!("id: no held cart {held_id}")))?;
            tx.execute("DELETE FROM held_carts WHERE id = ?1", [held_id])?;
            let resumed: Cart = serde_json::from_str(&text)?;
            cart::save_open(tx, &resumed)?;
            Ok(resumed)
        })?;
        let view = self
            .inner
            .store
            .read(|conn| self.cart_view_of(conn, &resumed))?;
        *cart = resumed;
        Ok(view)
    }

    /// Completes the cart as a sale: one durable local transaction (sale, lines, outbox
    /// operation, offline number). The receipt can print as soon as this returns.
    pub fn complete_sale(&self, payment: PaymentInput) -> Result<CompletedSale> {
        let acting = self.acting()?;
        let stamp = self.stamp()?;
        let mut cart = self.lock_cart();
        let approval = self.lock_approval().clone();
        let seller = Seller {
            device_id: &self.inner.device_id,
            acting: &acting,
            approval: approval.as_ref(),
        };
        let completed = self.inner.store.write(|tx| {
            let shift = shifts::open_shift(tx)?;
            if shift.is_none() && sales::require_settings(tx)?.shifts_required {
                return Err(EngineError::new(
                    ErrorCode::NoOpenShift,
                    "this business sells only in an open shift: open one first \
                     (shift open --float AMOUNT)",
                ));
            }
            let completed = sales::complete(tx, &cart, &payment, &seller, shift.as_ref(), stamp)?;
            cart::save_open(tx, &Cart::default())?;
            Ok(completed)
        })?;
        *cart = Cart::default();
        drop(cart);
        self.approval_used(approval.as_ref());
        tracing::info!(offline_no = %completed.offline_invoice_no, total = %completed.total, "sale completed");
        self.after_local_change();
        Ok(completed)
    }

    // ---- customers ---------------------------------------------------------------------

    pub fn customers(&self, search: &str) -> Result<Vec<PartyView>> {
        self.inner.store.read(|c| parties::search(c, search, 100))
    }

    /// Creates a customer at the till; it can be used at once, and syncs as a `party` create.
    pub fn create_customer(&self, customer: NewCustomer) -> Result<PartyView> {
        let stamp = self.stamp()?;
        let view = self
            .inner
            .store
            .write(|tx| parties::create(tx, customer, stamp))?;
        self.after_local_change();
        Ok(view)
    }

    pub fn collect_due(
        &self,
        party: PartyRef,
        amount: Decimal,
        payment_type_id: Option<i64>,
        note: Option<String>,
    ) -> Result<DueCollectionView> {
        self.seller_session()?;
        let stamp = self.stamp()?;
        let view = self.inner.store.write(|tx| {
            let minor_units = sales::require_settings(tx)?.currency.minor_units;
            let (payment_type_id, _, _) = sales::resolve_payment_type(tx, payment_type_id)?;
            parties::collect_due(
                tx,
                DueInput {
                    party,
                    amount,
                    payment_type_id,
                    note,
                    shift: shifts::open_shift(tx)?,
                },
                minor_units,
                stamp,
            )
        })?;
        self.after_local_change();
        Ok(view)
    }

    // ---- sales -------------------------------------------------------------------------

    /// The latest sales, newest first.
    pub fn sales(&self, limit: u32) -> Result<Vec<SaleSummary>> {
        self.inner.store.read(|c| sales::list(c, limit))
    }

    pub fn sale(&self, local_id: i64) -> Result<SaleDetail> {
        self.inner.store.read(|c| sales::detail(c, local_id))
    }

    // ---- shifts and the cash drawer -----------------------------------------------------

    /// Runs `work` for the person working the till in one write transaction, with the
    /// currency's minor units; nudges the sync after it. With `guarded` (what it is, for the
    /// refusal) a manager must authorise it (see `cashiers`); `work` gets who did.
    fn cashier_write<T>(
        &self,
        guarded: Option<&str>,
        work: impl FnOnce(&rusqlite::Transaction<'_>, &Cashier<'_>, u32, Stamp) -> Result<T>,
    ) -> Result<T> {
        let acting = self.acting()?;
        let stamp = self.stamp()?;
        let approval = self.lock_approval().clone();
        let value = self.inner.store.write(|tx| {
            let minor_units = sales::require_settings(tx)?.currency.minor_units;
            let authorised_by = match guarded {
                Some(what) => Some(cashiers::authorise(tx, &acting, approval.as_ref(), what)?),
                None => None,
            };
            let cashier = Cashier {
                id: acting.id,
                name: &acting.name,
                authorised_by,
            };
            work(tx, &cashier, minor_units, stamp)
        })?;
        if guarded.is_some() {
            self.approval_used(approval.as_ref());
        }
        self.after_local_change();
        Ok(value)
    }

    /// Opens a shift with the counted float; refused while another is open.
    pub fn shift_open(&self, opening_float: Decimal) -> Result<ShiftView> {
        let shift = self.cashier_write(None, |tx, cashier, minor_units, stamp| {
            shifts::open(tx, opening_float, cashier, minor_units, stamp)
        })?;
        tracing::info!(shift = shift.local_id, float = %shift.opening_float, "shift opened");
        Ok(shift)
    }

    /// Cash put into the drawer of the open shift, with the reason.
    pub fn shift_pay_in(&self, amount: Decimal, reason: &str) -> Result<CashMovementView> {
        self.cashier_write(None, |tx, cashier, minor_units, stamp| {
            shifts::move_cash(
                tx,
                pos_protocol::store_ops::CashMovementKind::PayIn,
                amount,
                reason,
                cashier,
                minor_units,
                stamp,
            )
        })
    }

    /// Cash taken out of the drawer of the open shift, with the reason; a cashier needs a
    /// manager's PIN (`manager_authorise`) first.
    pub fn shift_pay_out(&self, amount: Decimal, reason: &str) -> Result<CashMovementView> {
        self.cashier_write(Some("a pay-out"), |tx, cashier, minor_units, stamp| {
            shifts::move_cash(
                tx,
                pos_protocol::store_ops::CashMovementKind::PayOut,
                amount,
                reason,
                cashier,
                minor_units,
                stamp,
            )
        })
    }

    /// Opens the drawer with no sale: logged as a `drawer_open` cash movement of the open shift
    /// with the reason (a cashier needs a manager's PIN first); the caller then pulses the
    /// drawer (`kick_drawer(DrawerEvent::NoSale)`).
    pub fn shift_drawer_open(&self, reason: &str) -> Result<CashMovementView> {
        self.cashier_write(
            Some("opening the drawer with no sale"),
            |tx, cashier, minor_units, stamp| {
                shifts::move_cash(
                    tx,
                    pos_protocol::store_ops::CashMovementKind::DrawerOpen,
                    Decimal::ZERO,
                    reason,
                    cashier,
                    minor_units,
                    stamp,
                )
            },
        )
    }

    /// The X report of the open shift, or the Z report of the last closed one.
    pub fn shift_report(&self) -> Result<ShiftReport> {
        self.inner.store.read(shifts::current_report)
    }

    /// Closes the open shift with the cash counted; returns its Z report. A closed shift never
    /// changes again.
    pub fn shift_close(&self, counted: CountedCash) -> Result<ShiftReport> {
        let report = self.cashier_write(None, |tx, cashier, minor_units, stamp| {
            shifts::close(tx, &counted, cashier, minor_units, stamp)
        })?;
        tracing::info!(shift = report.shift_local_id, expected = %report.expected_cash,
            difference = ?report.difference, "shift closed");
        Ok(report)
    }

    // ---- returns -----------------------------------------------------------------------

    /// Takes items of one of this till's sales back (INVOICE: its offline or server number):
    /// stock goes back, the refund is priced from the sale's lines and, when in cash, counted
    /// in the open shift. A cashier needs a manager's PIN (`manager_authorise`) first.
    pub fn return_sale(
        &self,
        invoice: &str,
        lines: Vec<ReturnLineInput>,
        refund: RefundInput,
    ) -> Result<ReturnView> {
        let view = self.cashier_write(Some("a return"), |tx, cashier, minor_units, stamp| {
            let shift = shifts::open_shift(tx)?;
            returns::return_sale(
                tx,
                invoice,
                &lines,
                refund,
                shift.as_ref(),
                cashier,
                minor_units,
                stamp,
            )
        })?;
        tracing::info!(sale = %view.offline_invoice_no, refund = %view.refund_amount, "return recorded");
        Ok(view)
    }

    // ---- cashiers and the manager's PIN ---------------------------------------------------

    fn lock_approval(&self) -> MutexGuard<'_, Option<Approval>> {
        self.inner
            .approval
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A guarded operation went through: the PIN given for it is spent.
    fn approval_used(&self, used: Option<&Approval>) {
        let mut approval = self.lock_approval();
        if approval.as_ref() == used {
            *approval = None;
        }
    }

    /// Who works the till: the person switched in by PIN, else the signed-in user.
    pub(crate) fn acting(&self) -> Result<Acting> {
        let session = self.seller_session()?;
        Ok(match self.inner.store.read(cashiers::switched_in)? {
            Some(c) => Acting {
                id: c.user_id,
                name: c.name,
                role: c.role,
            },
            None => Acting {
                id: session.user.id,
                name: session.user.name,
                role: session.user.role,
            },
        })
    }

    /// The person working the till now (operations are recorded under them).
    pub fn active_cashier(&self) -> Result<CashierView> {
        let acting = self.acting()?;
        Ok(CashierView {
            user_id: acting.id,
            name: acting.name,
            role: acting.role,
        })
    }

    /// The people with a PIN on this till (never their PINs).
    pub fn cashiers(&self) -> Result<Vec<CashierView>> {
        self.inner.store.read(cashiers::list)
    }

    /// This till's PIN key, from the OS credential store (made on first use).
    pub(crate) fn pin_key(&self) -> Result<pos_protocol::pin::DeviceKey> {
        crate::credentials::pin_key(&self.inner.credentials, &self.inner.device_id)
    }

    /// Sets a person's PIN on this till (4–6 digits for a cashier, 6–12 for a manager or
    /// owner). A manager or owner working the till sets anyone's; anybody may set their own
    /// (with their own role).
    pub fn cashier_set_pin(&self, who: CashierView, pin: &str) -> Result<CashierView> {
        let acting = self.acting()?;
        let own = who.user_id == acting.id && who.role == acting.role;
        if !own && !cashiers::is_manager(acting.role) {
            return Err(EngineError::new(
                ErrorCode::ManagerRequired,
                "setting another person's PIN needs a manager or owner working the till",
            ));
        }
        let now = pos_protocol::time::now();
        let key = self.pin_key()?;
        let till = cashiers::TillKey {
            key: &key,
            device_id: &self.inner.device_id,
        };
        let view = self
            .inner
            .store
            .write(|tx| cashiers::set_pin(tx, &till, &who, pin, &now))?;
        tracing::info!(user = view.user_id, by = acting.id, "PIN set");
        Ok(view)
    }

    /// The one person on this till, among the roles `wanted` accepts, whose PIN this is.
    /// Refused while PIN entry is locked; a wrong PIN is counted (see `cashiers`).
    fn person_with_pin(
        &self,
        pin: &str,
        wanted: impl Fn(pos_protocol::auth::Role) -> bool,
        wrong: &str,
    ) -> Result<CashierView> {
        self.seller_session()?;
        let now = pos_protocol::time::now();
        self.inner
            .store
            .read(|c| cashiers::ensure_unlocked(c, &now))?;
        let key = self.pin_key()?;
        let till = cashiers::TillKey {
            key: &key,
            device_id: &self.inner.device_id,
        };
        let mut found = self
            .inner
            .store
            .read(|c| cashiers::with_pin(c, &till, pin, wanted))?;
        if found.is_empty() {
            return Err(self
                .inner
                .store
                .write(|tx| cashiers::wrong_pin(tx, &now, wrong))?);
        }
        self.inner
            .store
            .write(|tx| cashiers::reset_wrong_pins(tx))?;
        if found.len() > 1 {
            return Err(EngineError::invalid(
                "pin: more than one person on this till has this PIN; a manager must give one \
                 of them another in the back office",
            ));
        }
        Ok(found.remove(0))
    }

    /// Switches the till to the person with this PIN, offline. What follows is recorded under
    /// them; a manager's PIN given earlier is dropped.
    pub fn cashier_switch(&self, pin: &str) -> Result<CashierView> {
        let cashier = self
            .person_with_pin(pin, |_| true, "pin: nobody on this till has it")
            .inspect_err(|_| tracing::warn!("cashier switch refused"))?;
        self.inner
            .store
            .write(|tx| cashiers::switch_to(tx, Some(cashier.user_id)))?;
        *self.lock_approval() = None;
        tracing::info!(user = cashier.user_id, "cashier switched in");
        Ok(cashier)
    }

    /// Back to the signed-in user.
    pub fn cashier_switch_off(&self) -> Result<CashierView> {
        self.inner.store.write(|tx| cashiers::switch_to(tx, None))?;
        *self.lock_approval() = None;
        self.active_cashier()
    }

    /// A manager's (or owner's) PIN, given for the next guarded operation: a return, a
    /// pay-out, a no-sale drawer opening or a discount above the business's limit. Recorded as
    /// that operation's `authorised_by`.
    pub fn manager_authorise(&self, pin: &str) -> Result<CashierView> {
        let manager = self
            .person_with_pin(
                pin,
                cashiers::is_manager,
                "pin: not a manager's PIN on this till",
            )
            .inspect_err(|_| tracing::warn!("manager authorisation refused"))?;
        *self.lock_approval() = Some(Approval {
            manager_id: manager.user_id,
            manager_name: manager.name.clone(),
        });
        tracing::info!(manager = manager.user_id, "manager authorisation given");
        Ok(manager)
    }

    /// Drops a manager's PIN given and not used.
    pub fn manager_authorisation_cancel(&self) {
        *self.lock_approval() = None;
    }

    // ---- receipts and the drawer --------------------------------------------------------

    pub fn printer_settings(&self) -> Result<PrinterSettings> {
        self.inner.store.read(printing::load)
    }

    pub fn set_printer_settings(&self, settings: PrinterSettings) -> Result<PrinterSettings> {
        self.inner.store.write(|tx| printing::save(tx, &settings))
    }

    /// The ESC/POS bytes of a sale's receipt (INVOICE: offline or server number). `copy` marks
    /// a reprint and never opens the drawer; the first print of a cash sale does, when a
    /// drawer is set up.
    pub fn sale_receipt_bytes(&self, invoice: &str, copy: bool) -> Result<(Vec<u8>, bool)> {
        self.inner.store.read(|c| {
            let settings = printing::load(c)?;
            let detail = sales::detail(c, returns::find_sale(c, invoice)?.local_id)?;
            let kick = !copy && settings.drawer && sales::paid_in_cash(c, &detail)?;
            Ok((
                printing::escpos::sale_receipt(&detail, settings.paper, copy, kick),
                kick,
            ))
        })
    }

    /// Prints a sale's receipt (a reprint with `copy`).
    pub fn print_sale(&self, invoice: &str, copy: bool) -> Result<PrintOutcome> {
        let settings = self.printer_settings()?;
        let (bytes, kicked) = self.sale_receipt_bytes(invoice, copy)?;
        printing::send(&settings, &bytes)?;
        tracing::info!(invoice, copy, bytes = bytes.len(), "receipt printed");
        Ok(PrintOutcome {
            printed: true,
            bytes: bytes.len(),
            drawer_kicked: kicked,
            copy,
        })
    }

    /// What follows a completed sale when a printer is set: its receipt (with the drawer kick
    /// for cash) when receipts print automatically, else the kick alone for a cash sale. None
    /// when this till has no printer.
    pub fn print_after_sale(&self, sale: &CompletedSale) -> Result<Option<PrintOutcome>> {
        let settings = self.printer_settings()?;
        if settings.kind == PrinterKind::None {
            return Ok(None);
        }
        if settings.auto_print {
            return self.print_sale(&sale.offline_invoice_no, false).map(Some);
        }
        let cash = self
            .inner
            .store
            .read(|c| sales::paid_in_cash(c, &sale.receipt))?;
        Ok(Some(PrintOutcome {
            printed: false,
            bytes: 0,
            drawer_kicked: cash && self.kick_drawer(DrawerEvent::CashSale)?,
            copy: false,
        }))
    }

    /// Prints the X report of the open shift, or the Z report of the last closed one.
    pub fn print_shift_report(&self) -> Result<PrintOutcome> {
        let settings = self.printer_settings()?;
        let report = self.shift_report()?;
        let (business, minor_units) = self.inner.store.read(|c| {
            let s = sales::require_settings(c)?;
            Ok((s.company_name, s.currency.minor_units))
        })?;
        let bytes = printing::escpos::shift_report(&report, &business, minor_units, settings.paper);
        printing::send(&settings, &bytes)?;
        Ok(PrintOutcome {
            printed: true,
            bytes: bytes.len(),
            drawer_kicked: false,
            copy: false,
        })
    }

    /// A test page: proves the printer, the paper width and the cutter.
    pub fn print_test_page(&self) -> Result<PrintOutcome> {
        let settings = self.printer_settings()?;
        let bytes = printing::escpos::test_page(settings.paper, &self.device()?.name);
        printing::send(&settings, &bytes)?;
        Ok(PrintOutcome {
            printed: true,
            bytes: bytes.len(),
            drawer_kicked: false,
            copy: false,
        })
    }

    /// Pulses the drawer for `event` when a printer with a drawer is set up; false when there
    /// is none. Every [`DrawerEvent`] opens it (`35-store-operations.md`); the caller decides
    /// that the sale or refund was in cash.
    pub fn kick_drawer(&self, event: DrawerEvent) -> Result<bool> {
        let settings = self.printer_settings()?;
        if settings.kind == PrinterKind::None || !settings.drawer {
            return Ok(false);
        }
        printing::send(&settings, &printing::escpos::drawer_kick())?;
        tracing::info!(?event, "drawer opened");
        Ok(true)
    }

    // ---- rescue ------------------------------------------------------------------------

    /// Writes every operation the server has not acknowledged (queued, sent, failed,
    /// conflict) to `path` as one checksummed JSON file. Needs no sign-in; holds no secret.
    pub fn rescue_export(&self, path: &std::path::Path) -> Result<RescueExportView> {
        let file = self
            .inner
            .store
            .read(|c| rescue::collect(c, &self.inner.device_id))?;
        rescue::write(&file, path)?;
        tracing::info!(path = %path.display(), operations = file.content.operations.len(), "rescue file written");
        Ok(RescueExportView {
            path: path.to_path_buf(),
            operations: file.content.operations.len(),
            sha256: file.sha256,
        })
    }

    // ---- queue and status --------------------------------------------------------------

    pub fn queue(&self) -> Result<Vec<QueuedOperation>> {
        self.inner.store.read(outbox::list)
    }

    /// Sends a failed or conflicting operation again (same idempotency key).
    pub fn queue_retry(&self, id: i64) -> Result<QueuedOperation> {
        let by = self.session().map(|s| s.user.email);
        let now = pos_protocol::time::now();
        let op = self.inner.store.write(|tx| {
            outbox::retry(tx, id, now, by.as_deref())?;
            outbox::get(tx, id)
        })?;
        self.after_local_change();
        Ok(op)
    }

    /// Takes an operation out of the queue for good; the reason is kept in the audit table.
    pub fn queue_discard(&self, id: i64, reason: &str) -> Result<QueuedOperation> {
        let by = self.session().map(|s| s.user.email);
        let now = pos_protocol::time::now();
        let op = self.inner.store.write(|tx| {
            outbox::discard(tx, id, reason, now, by.as_deref())?;
            outbox::get(tx, id)
        })?;
        tracing::warn!(id, reason, "queued operation discarded");
        self.refresh_status()?;
        Ok(op)
    }

    pub fn status(&self) -> SyncStatus {
        self.inner.status.borrow().clone()
    }

    pub fn subscribe_status(&self) -> watch::Receiver<SyncStatus> {
        self.inner.status.subscribe()
    }

    /// Re-reads counts and sync facts from the store into the status stream.
    pub(crate) fn refresh_status(&self) -> Result<()> {
        let ((pending, failed, conflicts), state) = self
            .inner
            .store
            .read(|c| Ok((outbox::counts(c)?, terminal_state(c)?)))?;
        let signed_in = state.session.is_some();
        self.inner.status.send_modify(|s| {
            s.pending = pending;
            s.failed = failed;
            s.conflicts = conflicts;
            s.online = state.last_contact_ok;
            s.last_sync_at = state.last_sync_at;
            s.client_too_old = state.client_too_old;
            s.signed_in = signed_in;
            s.last_error = state.last_error.clone();
            s.last_error_code = state.last_error_code;
        });
        Ok(())
    }

    /// After a sale or another queued change: update the status and nudge the sync.
    fn after_local_change(&self) {
        if let Err(e) = self.refresh_status() {
            tracing::warn!(error = %e, "status not refreshed");
        }
        self.inner.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>(_: &T) {}
    fn is_shareable<T: Clone + Send + Sync + 'static>() {}

    /// The desktop app runs these futures on a multi-threaded runtime (Tauri commands).
    #[test]
    fn the_facade_is_shareable_and_its_futures_are_send() {
        is_shareable::<Engine>();
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(EngineConfig::new(dir.path())).unwrap();
        is_send(&engine.login("http://127.0.0.1:9", "a@b.c", "pw", None));
        is_send(&engine.logout());
        is_send(&engine.sync_now());
    }
}
