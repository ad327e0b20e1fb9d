//! The facade: one `Engine` per data folder, cheap to clone, safe to share between threads.

use std::sync::Arc;

use pos_protocol::Decimal;
use tokio::sync::watch;

use crate::error::{EngineError, ErrorCode, Result};
use crate::views::*;

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    config: EngineConfig,
    status: watch::Sender<SyncStatus>,
}

fn not_yet() -> EngineError {
    EngineError::new(ErrorCode::Internal, "not built yet")
}

impl Engine {
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let _ = config;
        Err(not_yet())
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    // ---- session ----
    pub async fn login(
        &self,
        server_url: &str,
        email: &str,
        password: &str,
        device_name: Option<String>,
    ) -> Result<SessionInfo> {
        let _ = (server_url, email, password, device_name);
        Err(not_yet())
    }
    pub async fn logout(&self) -> Result<LogoutOutcome> {
        Err(not_yet())
    }
    pub fn session(&self) -> Option<SessionInfo> {
        None
    }
    pub fn device(&self) -> DeviceView {
        unimplemented!()
    }

    // ---- catalog ----
    pub fn categories(&self) -> Result<Vec<CategoryView>> {
        Err(not_yet())
    }
    pub fn payment_types(&self) -> Result<Vec<PaymentTypeView>> {
        Err(not_yet())
    }
    pub fn products_in_category(&self, category_id: i64, limit: u32) -> Result<Vec<ProductView>> {
        let _ = (category_id, limit);
        Err(not_yet())
    }
    pub fn search_products(&self, text: &str, limit: u32) -> Result<Vec<ProductView>> {
        let _ = (text, limit);
        Err(not_yet())
    }
    pub fn product_by_code(&self, code: &str) -> Result<Option<ProductView>> {
        let _ = code;
        Err(not_yet())
    }

    // ---- cart ----
    pub fn cart(&self) -> Result<CartView> {
        Err(not_yet())
    }
    pub fn cart_add(&self, product_id: i64, quantity: Decimal) -> Result<CartView> {
        let _ = (product_id, quantity);
        Err(not_yet())
    }
    pub fn cart_add_code(&self, code: &str, quantity: Decimal) -> Result<CartView> {
        let _ = (code, quantity);
        Err(not_yet())
    }
    pub fn cart_set_quantity(&self, line_no: u32, quantity: Decimal) -> Result<CartView> {
        let _ = (line_no, quantity);
        Err(not_yet())
    }
    pub fn cart_set_line_discount(&self, line_no: u32, discount: Discount) -> Result<CartView> {
        let _ = (line_no, discount);
        Err(not_yet())
    }
    pub fn cart_void_line(&self, line_no: u32) -> Result<CartView> {
        let _ = line_no;
        Err(not_yet())
    }
    pub fn cart_set_discount(&self, discount: Discount) -> Result<CartView> {
        let _ = discount;
        Err(not_yet())
    }
    pub fn cart_set_customer(&self, customer: Option<PartyRef>) -> Result<CartView> {
        let _ = customer;
        Err(not_yet())
    }
    pub fn cart_clear(&self) -> Result<CartView> {
        Err(not_yet())
    }
    pub fn hold_cart(&self, label: &str) -> Result<HeldCartView> {
        let _ = label;
        Err(not_yet())
    }
    pub fn held_carts(&self) -> Result<Vec<HeldCartView>> {
        Err(not_yet())
    }
    pub fn resume_cart(&self, held_id: i64) -> Result<CartView> {
        let _ = held_id;
        Err(not_yet())
    }
    pub fn complete_sale(&self, payment: PaymentInput) -> Result<CompletedSale> {
        let _ = payment;
        Err(not_yet())
    }

    // ---- customers ----
    pub fn customers(&self, search: &str) -> Result<Vec<PartyView>> {
        let _ = search;
        Err(not_yet())
    }
    pub fn create_customer(&self, customer: NewCustomer) -> Result<PartyView> {
        let _ = customer;
        Err(not_yet())
    }
    pub fn collect_due(
        &self,
        party: PartyRef,
        amount: Decimal,
        payment_type_id: Option<i64>,
        note: Option<String>,
    ) -> Result<DueCollectionView> {
        let _ = (party, amount, payment_type_id, note);
        Err(not_yet())
    }

    // ---- sales ----
    pub fn sales(&self, limit: u32) -> Result<Vec<SaleSummary>> {
        let _ = limit;
        Err(not_yet())
    }
    pub fn sale(&self, local_id: i64) -> Result<SaleDetail> {
        let _ = local_id;
        Err(not_yet())
    }

    // ---- sync ----
    pub fn status(&self) -> SyncStatus {
        self.inner.status.borrow().clone()
    }
    pub fn subscribe_status(&self) -> watch::Receiver<SyncStatus> {
        self.inner.status.subscribe()
    }
    pub async fn sync_now(&self) -> Result<SyncReport> {
        Err(not_yet())
    }
    pub fn start_background_sync(&self) {}
    pub fn queue(&self) -> Result<Vec<QueuedOperation>> {
        Err(not_yet())
    }
    pub fn queue_retry(&self, id: i64) -> Result<QueuedOperation> {
        let _ = id;
        Err(not_yet())
    }
    pub fn queue_discard(&self, id: i64, reason: &str) -> Result<QueuedOperation> {
        let _ = (id, reason);
        Err(not_yet())
    }
}
