//! The Tauri commands: one per engine call, each taking the engine from the app state.
//! Amounts and quantities arrive as decimal text and are read exactly.

use pos_engine::*;
use pos_protocol::money::parse_decimal;
use pos_protocol::Decimal;
use tauri::{AppHandle, State};

type Reply<T> = Result<T, EngineError>;

/// Reads decimal text sent by the window, naming the field when it is not a number.
fn decimal(field: &str, text: &str) -> Reply<Decimal> {
    parse_decimal(text).map_err(|e| EngineError::invalid(format!("{field}: {e}")))
}

#[tauri::command]
async fn login(
    app: AppHandle,
    engine: State<'_, Engine>,
    server_url: String,
    email: String,
    password: String,
    device_name: Option<String>,
    trust: Option<pos_engine::sync::trust::TrustConfirmation>,
) -> Reply<SessionInfo> {
    let session = engine
        .login_confirming(
            &server_url,
            &email,
            &password,
            device_name,
            &trust.unwrap_or_default(),
        )
        .await?;
    crate::show_session_in_title(&app, Some(&session));
    Ok(session)
}

#[tauri::command]
async fn logout(app: AppHandle, engine: State<'_, Engine>) -> Reply<LogoutOutcome> {
    let outcome = engine.logout().await?;
    crate::show_session_in_title(&app, None);
    Ok(outcome)
}

#[tauri::command]
async fn session(engine: State<'_, Engine>) -> Reply<Option<SessionInfo>> {
    Ok(engine.session())
}

#[tauri::command]
async fn categories(engine: State<'_, Engine>) -> Reply<Vec<CategoryView>> {
    engine.categories()
}

#[tauri::command]
async fn payment_types(engine: State<'_, Engine>) -> Reply<Vec<PaymentTypeView>> {
    engine.payment_types()
}

#[tauri::command]
async fn products_in_category(
    engine: State<'_, Engine>,
    category_id: i64,
    limit: u32,
) -> Reply<Vec<ProductView>> {
    engine.products_in_category(category_id, limit)
}

#[tauri::command]
async fn search_products(
    engine: State<'_, Engine>,
    text: String,
    limit: u32,
) -> Reply<Vec<ProductView>> {
    engine.search_products(&text, limit)
}

#[tauri::command]
async fn cart(engine: State<'_, Engine>) -> Reply<CartView> {
    engine.cart()
}

#[tauri::command]
async fn cart_add(engine: State<'_, Engine>, product_id: i64, quantity: String) -> Reply<CartView> {
    engine.cart_add(product_id, decimal("quantity", &quantity)?)
}

#[tauri::command]
async fn cart_add_code(
    engine: State<'_, Engine>,
    code: String,
    quantity: String,
) -> Reply<CartView> {
    engine.cart_add_code(&code, decimal("quantity", &quantity)?)
}

#[tauri::command]
async fn cart_set_quantity(
    engine: State<'_, Engine>,
    line_no: u32,
    quantity: String,
) -> Reply<CartView> {
    engine.cart_set_quantity(line_no, decimal("quantity", &quantity)?)
}

#[tauri::command]
async fn cart_set_line_discount(
    engine: State<'_, Engine>,
    line_no: u32,
    discount: Discount,
) -> Reply<CartView> {
    engine.cart_set_line_discount(line_no, discount)
}

#[tauri::command]
async fn cart_void_line(engine: State<'_, Engine>, line_no: u32) -> Reply<CartView> {
    engine.cart_void_line(line_no)
}

#[tauri::command]
async fn cart_set_discount(engine: State<'_, Engine>, discount: Discount) -> Reply<CartView> {
    engine.cart_set_discount(discount)
}

#[tauri::command]
async fn cart_set_customer(engine: State<'_, Engine>, party: Option<PartyRef>) -> Reply<CartView> {
    engine.cart_set_customer(party)
}

#[tauri::command]
async fn cart_clear(engine: State<'_, Engine>) -> Reply<CartView> {
    engine.cart_clear()
}

#[tauri::command]
async fn hold_cart(engine: State<'_, Engine>, label: String) -> Reply<HeldCartView> {
    engine.hold_cart(&label)
}

#[tauri::command]
async fn held_carts(engine: State<'_, Engine>) -> Reply<Vec<HeldCartView>> {
    engine.held_carts()
}

#[tauri::command]
async fn resume_cart(engine: State<'_, Engine>, id: i64) -> Reply<CartView> {
    engine.resume_cart(id)
}

#[tauri::command]
async fn complete_sale(engine: State<'_, Engine>, payment: PaymentInput) -> Reply<CompletedSale> {
    engine.complete_sale(payment)
}

#[tauri::command]
async fn customers(engine: State<'_, Engine>, search: String) -> Reply<Vec<PartyView>> {
    engine.customers(&search)
}

#[tauri::command]
async fn create_customer(engine: State<'_, Engine>, customer: NewCustomer) -> Reply<PartyView> {
    engine.create_customer(customer)
}

#[tauri::command]
async fn collect_due(
    engine: State<'_, Engine>,
    party: PartyRef,
    amount: String,
    payment_type_id: Option<i64>,
    note: Option<String>,
) -> Reply<DueCollectionView> {
    engine.collect_due(party, decimal("amount", &amount)?, payment_type_id, note)
}

#[tauri::command]
async fn sales(engine: State<'_, Engine>, limit: u32) -> Reply<Vec<SaleSummary>> {
    engine.sales(limit)
}

#[tauri::command]
async fn sale(engine: State<'_, Engine>, local_id: i64) -> Reply<SaleDetail> {
    engine.sale(local_id)
}

#[tauri::command]
async fn status(engine: State<'_, Engine>) -> Reply<SyncStatus> {
    Ok(engine.status())
}

#[tauri::command]
async fn sync_now(engine: State<'_, Engine>) -> Reply<SyncReport> {
    engine.sync_now().await
}

#[tauri::command]
async fn queue(engine: State<'_, Engine>) -> Reply<Vec<QueuedOperation>> {
    engine.queue()
}

#[tauri::command]
async fn queue_retry(engine: State<'_, Engine>, id: i64) -> Reply<QueuedOperation> {
    engine.queue_retry(id)
}

#[tauri::command]
async fn queue_discard(
    engine: State<'_, Engine>,
    id: i64,
    reason: String,
) -> Reply<QueuedOperation> {
    engine.queue_discard(id, &reason)
}

// ---- cashiers and the manager's PIN ---------------------------------------------------------

#[tauri::command]
async fn active_cashier(engine: State<'_, Engine>) -> Reply<CashierView> {
    engine.active_cashier()
}

#[tauri::command]
async fn cashiers(engine: State<'_, Engine>) -> Reply<Vec<CashierView>> {
    engine.cashiers()
}

#[tauri::command]
async fn cashier_set_pin(
    engine: State<'_, Engine>,
    who: CashierView,
    pin: String,
) -> Reply<CashierView> {
    blocking(&engine, move |e| e.cashier_set_pin(who, &pin)).await
}

#[tauri::command]
async fn cashier_switch(engine: State<'_, Engine>, pin: String) -> Reply<CashierView> {
    blocking(&engine, move |e| e.cashier_switch(&pin)).await
}

#[tauri::command]
async fn cashier_switch_off(engine: State<'_, Engine>) -> Reply<CashierView> {
    engine.cashier_switch_off()
}

#[tauri::command]
async fn manager_authorise(engine: State<'_, Engine>, pin: String) -> Reply<CashierView> {
    blocking(&engine, move |e| e.manager_authorise(&pin)).await
}

#[tauri::command]
async fn manager_authorisation_cancel(engine: State<'_, Engine>) -> Reply<()> {
    engine.manager_authorisation_cancel();
    Ok(())
}

// ---- shifts, cash and returns --------------------------------------------------------------

/// The X report of the open shift or the Z report of the last closed one; None before the
/// till's first shift.
#[tauri::command]
async fn shift_report(engine: State<'_, Engine>) -> Reply<Option<ShiftReport>> {
    match engine.shift_report() {
        Ok(report) => Ok(Some(report)),
        Err(e) if e.code == ErrorCode::NoOpenShift => Ok(None),
        Err(e) => Err(e),
    }
}

#[tauri::command]
async fn shift_open(engine: State<'_, Engine>, opening_float: String) -> Reply<ShiftView> {
    engine.shift_open(decimal("float", &opening_float)?)
}

#[tauri::command]
async fn shift_pay_in(
    engine: State<'_, Engine>,
    amount: String,
    reason: String,
) -> Reply<CashMovementView> {
    engine.shift_pay_in(decimal("amount", &amount)?, &reason)
}

#[tauri::command]
async fn shift_pay_out(
    engine: State<'_, Engine>,
    amount: String,
    reason: String,
) -> Reply<CashMovementView> {
    engine.shift_pay_out(decimal("amount", &amount)?, &reason)
}

#[tauri::command]
async fn shift_drawer_open(engine: State<'_, Engine>, reason: String) -> Reply<CashMovementView> {
    engine.shift_drawer_open(&reason)
}

#[tauri::command]
async fn shift_close(engine: State<'_, Engine>, counted: String) -> Reply<ShiftReport> {
    engine.shift_close(CountedCash::Total(decimal("counted", &counted)?))
}

#[tauri::command]
async fn return_sale(
    engine: State<'_, Engine>,
    invoice: String,
    lines: Vec<ReturnLineInput>,
    refund: RefundInput,
) -> Reply<ReturnView> {
    engine.return_sale(&invoice, lines, refund)
}

// ---- printer and drawer (blocking I/O: off the async workers) ------------------------------

/// Runs engine work that waits on a device or a slow hash on the blocking pool.
async fn blocking<T: Send + 'static>(
    engine: &Engine,
    work: impl FnOnce(&Engine) -> Reply<T> + Send + 'static,
) -> Reply<T> {
    let engine = engine.clone();
    tauri::async_runtime::spawn_blocking(move || work(&engine))
        .await
        .map_err(|e| EngineError::internal(format!("background work: {e}")))?
}

#[tauri::command]
async fn printer_settings(engine: State<'_, Engine>) -> Reply<PrinterSettings> {
    engine.printer_settings()
}

#[tauri::command]
async fn set_printer_settings(
    engine: State<'_, Engine>,
    settings: PrinterSettings,
) -> Reply<PrinterSettings> {
    engine.set_printer_settings(settings)
}

#[tauri::command]
async fn print_test_page(engine: State<'_, Engine>) -> Reply<PrintOutcome> {
    blocking(&engine, |e| e.print_test_page()).await
}

#[tauri::command]
async fn print_sale(engine: State<'_, Engine>, invoice: String, copy: bool) -> Reply<PrintOutcome> {
    blocking(&engine, move |e| e.print_sale(&invoice, copy)).await
}

#[tauri::command]
async fn print_after_sale(
    engine: State<'_, Engine>,
    sale: CompletedSale,
) -> Reply<Option<PrintOutcome>> {
    blocking(&engine, move |e| e.print_after_sale(&sale)).await
}

#[tauri::command]
async fn print_shift_report(engine: State<'_, Engine>) -> Reply<PrintOutcome> {
    blocking(&engine, |e| e.print_shift_report()).await
}

#[tauri::command]
async fn kick_drawer(engine: State<'_, Engine>, event: DrawerEvent) -> Reply<bool> {
    blocking(&engine, move |e| e.kick_drawer(event)).await
}

pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        login,
        logout,
        session,
        categories,
        payment_types,
        products_in_category,
        search_products,
        cart,
        cart_add,
        cart_add_code,
        cart_set_quantity,
        cart_set_line_discount,
        cart_void_line,
        cart_set_discount,
        cart_set_customer,
        cart_clear,
        hold_cart,
        held_carts,
        resume_cart,
        complete_sale,
        customers,
        create_customer,
        collect_due,
        sales,
        sale,
        status,
        sync_now,
        queue,
        queue_retry,
        queue_discard,
        active_cashier,
        cashiers,
        cashier_set_pin,
        cashier_switch,
        cashier_switch_off,
        manager_authorise,
        manager_authorisation_cancel,
        shift_report,
        shift_open,
        shift_pay_in,
        shift_pay_out,
        shift_drawer_open,
        shift_close,
        return_sale,
        printer_settings,
        set_printer_settings,
        print_test_page,
        print_sale,
        print_after_sale,
        print_shift_report,
        kick_drawer,
    ]
}
