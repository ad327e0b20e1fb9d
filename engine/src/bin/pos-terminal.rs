//! `pos-terminal`: the terminal engine from scripts, support and tests.
//!
//! The contract (commands, flags, what `sell` prints, exit codes) is in the product spec
//! `30-terminal.md`; scripts outside this repository rely on it, so extend it, never change it.
//! Exit codes: 0 success; 1 refused or invalid (reason on stderr); 2 server unreachable (or,
//! for `sync`, operations it asked to send again later); 3 the server answered but some
//! operations were rejected (kept as failed).
//! Timings (ms) for scripts and tests: `POS_TERMINAL_CONNECT_TIMEOUT_MS`,
//! `POS_TERMINAL_REQUEST_TIMEOUT_MS`, `POS_TERMINAL_BACKOFF_INITIAL_MS`,
//! `POS_TERMINAL_BACKOFF_MAX_MS`, `POS_TERMINAL_PAGE_SIZE` (or the same as flags).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pos_engine::sync::trust::TrustConfirmation;
use pos_engine::{
    CashMovementView, CashierView, CountedCash, Discount, DrawerEvent, Engine, EngineConfig,
    EngineError, ErrorCode, NewCustomer, PaperWidth, PartyRef, PaymentInput, PrintOutcome,
    PrinterKind, PrinterSettings, RefundInput, RescueExportView, ReturnItem, ReturnLineInput,
    ShiftReport, ShiftReportKind, SyncStatus,
};
use pos_protocol::auth::Role;
use pos_protocol::store_ops::DenominationCount;
use pos_protocol::Decimal;

#[derive(Parser)]
#[command(
    name = "pos-terminal",
    version,
    about = "Offline-first point of sale terminal"
)]
struct Cli {
    /// Data folder (default: the OS's per-user app data folder).
    #[arg(long, global = true, env = "POS_TERMINAL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Server address (remembered after `login`).
    #[arg(long, global = true, env = "POS_TERMINAL_SERVER")]
    server: Option<String>,
    /// Print data as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Connect timeout of each request to the server (ms).
    #[arg(long, global = true, env = "POS_TERMINAL_CONNECT_TIMEOUT_MS")]
    connect_timeout_ms: Option<u64>,
    /// Whole-request timeout (ms).
    #[arg(long, global = true, env = "POS_TERMINAL_REQUEST_TIMEOUT_MS")]
    request_timeout_ms: Option<u64>,
    /// First retry delay after a failed push (ms).
    #[arg(long, global = true, env = "POS_TERMINAL_BACKOFF_INITIAL_MS")]
    backoff_initial_ms: Option<u64>,
    /// Longest retry delay (ms).
    #[arg(long, global = true, env = "POS_TERMINAL_BACKOFF_MAX_MS")]
    backoff_max_ms: Option<u64>,
    /// Records per page of a download.
    #[arg(long, global = true, env = "POS_TERMINAL_PAGE_SIZE")]
    page_size: Option<u32>,
    /// A manager's PIN authorising this command (a return, a pay-out, a no-sale drawer
    /// opening, a discount above the business's limit) when a cashier works the till.
    #[arg(long, global = true, env = "POS_TERMINAL_MANAGER_PIN")]
    manager_pin: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in, register this device and run the first full sync.
    Login {
        #[arg(long)]
        email: String,
        #[arg(long, env = "POS_TERMINAL_PASSWORD")]
        password: String,
        /// How the server lists this terminal (default: the host name).
        #[arg(long)]
        device_name: Option<String>,
        /// The server certificate's SHA-256 fingerprint, compared with what `pos-server`
        /// printed: trusts it at the first sign-in, or replaces the trusted one (owner only).
        #[arg(long, value_name = "SHA256")]
        trust_certificate: Option<String>,
        /// Allow plain http to this server although it is not on this machine (owner only;
        /// remembered for the address).
        #[arg(long)]
        allow_plain_http: bool,
    },
    /// Sign out; queued work is kept and syncs after the next sign-in.
    Logout,
    /// Ring up and complete a sale; prints its offline invoice number. Works offline.
    Sell {
        /// CODE:QTY, CODE a barcode or product code; repeat for more lines.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// Cart discount: an amount (5.00) or a percentage (10%).
        #[arg(long)]
        discount: Option<String>,
        /// Payment type by name (default: the first non-credit one).
        #[arg(long)]
        pay: Option<String>,
        /// Amount handed over (default: exactly the total). Less leaves a due.
        #[arg(long)]
        paid: Option<String>,
        /// Customer: a server id or local:N.
        #[arg(long)]
        customer: Option<String>,
    },
    /// Push queued operations, then pull changes.
    Sync,
    /// Online state, pending and failed counts, last sync.
    Status,
    /// The outbox and its failed operations.
    Queue {
        #[command(subcommand)]
        action: Option<QueueAction>,
    },
    /// Catalog look-ups.
    Products {
        #[command(subcommand)]
        action: ProductsAction,
    },
    /// Local sales with offline number, server invoice number and sync state.
    Sales {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Customers (the server's and those created here); `customers add` creates one offline.
    Customers {
        #[command(subcommand)]
        action: Option<CustomersAction>,
        /// Name, phone or email contains this.
        #[arg(long, default_value = "")]
        search: String,
    },
    /// Payment types known to this till (names for `--pay`).
    PaymentTypes,
    /// Money a customer pays against what they owe, recorded offline.
    Due {
        #[command(subcommand)]
        action: DueAction,
    },
    /// The shift and its cash drawer: open, pay-in, pay-out, report, close.
    Shift {
        #[command(subcommand)]
        action: ShiftAction,
    },
    /// Take items of a sale back (INVOICE: its offline or server number); prints the refund.
    Return {
        invoice: String,
        /// CODE:QTY (CODE a barcode or product code, or line:N for the sale's line N); repeat
        /// for more lines.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// cash (default), due, or payment-type:NAME.
        #[arg(long, default_value = "cash")]
        refund: String,
    },
    /// Everything not yet acknowledged by the server, for an owner to import there.
    Rescue {
        #[command(subcommand)]
        action: RescueAction,
    },
    /// Print a sale's receipt (INVOICE: its offline or server number); --copy for a reprint.
    Print {
        invoice: String,
        #[arg(long)]
        copy: bool,
    },
    /// The receipt printer of this till: show, set, test.
    Printer {
        #[command(subcommand)]
        action: Option<PrinterAction>,
    },
    /// Open the cash drawer with no sale (logged with the reason; a cashier needs
    /// --manager-pin).
    Drawer {
        #[command(subcommand)]
        action: DrawerAction,
    },
    /// People who work this till with a PIN: list, set-pin, switch, off.
    Cashier {
        #[command(subcommand)]
        action: Option<CashierAction>,
    },
}

#[derive(Subcommand)]
enum PrinterAction {
    /// Where receipts go (kind none|network|windows|cups).
    Set {
        #[arg(long)]
        kind: String,
        /// Host (network), printer name (windows) or queue (cups).
        #[arg(long)]
        target: Option<String>,
        #[arg(long, default_value_t = 9100)]
        port: u16,
        /// Paper width in mm: 80 or 58.
        #[arg(long, default_value_t = 80)]
        paper: u16,
        /// Print a receipt after each sale (true/false).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        auto_print: bool,
        /// A cash drawer hangs on the printer (true/false).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        drawer: bool,
    },
    /// Print a test page.
    Test,
    /// Print the X report of the open shift or the Z report of the last closed one.
    Report,
}

#[derive(Subcommand)]
enum DrawerAction {
    Open {
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum CashierAction {
    /// Set a person's PIN on this till: 4-6 digits for a cashier, 6-12 for a manager or owner (a
    /// manager sets anyone's; a cashier their own).
    SetPin {
        /// The person's user id on the server.
        #[arg(long)]
        user_id: i64,
        #[arg(long)]
        name: String,
        /// cashier, manager or owner.
        #[arg(long, default_value = "cashier")]
        role: String,
        #[arg(long, env = "POS_TERMINAL_PIN")]
        pin: String,
    },
    /// Hand the till to the person with this PIN (offline).
    Switch {
        #[arg(long, env = "POS_TERMINAL_PIN")]
        pin: String,
    },
    /// Back to the signed-in user.
    Off,
}

#[derive(Subcommand)]
enum ShiftAction {
    /// Open a shift with the counted float.
    Open {
        #[arg(long = "float")]
        opening_float: String,
    },
    /// Cash put into the drawer.
    PayIn {
        amount: String,
        #[arg(long)]
        reason: String,
    },
    /// Cash taken out of the drawer.
    PayOut {
        amount: String,
        #[arg(long)]
        reason: String,
    },
    /// Open the drawer with no sale (logged with the reason).
    OpenDrawer {
        #[arg(long)]
        reason: String,
    },
    /// X report of the open shift, or Z report of the last closed one.
    Report,
    /// Close the open shift with the cash counted (a total, or --count VALUE:COUNT per
    /// denomination); prints the Z report.
    Close {
        #[arg(long, required_unless_present = "count", conflicts_with = "count")]
        counted: Option<String>,
        /// VALUE:COUNT of one denomination (e.g. 20:5); repeat for each.
        #[arg(long)]
        count: Vec<String>,
    },
}

#[derive(Subcommand)]
enum RescueAction {
    /// Write every unsynced operation to FILE (JSON with a SHA-256 checksum; no secret in it).
    Export {
        file: PathBuf,
        /// Read another till database file instead of this data folder's, e.g. one moved aside
        /// as damaged (`pos-terminal.db.damaged-<time>`); it is only read.
        #[arg(long)]
        from: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CustomersAction {
    /// Create a customer at the till; prints how to name it (`local:N`).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        address: Option<String>,
    },
}

#[derive(Subcommand)]
enum DueAction {
    /// Record a payment of AMOUNT by a customer (server id or local:N).
    Collect {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        amount: String,
        /// Payment type by name (default: the first non-credit one).
        #[arg(long)]
        pay: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
enum QueueAction {
    /// Send a failed operation again (same idempotency key).
    Retry { id: i64 },
    /// Take an operation out of the queue for good (audited).
    Discard {
        id: i64,
        #[arg(long, default_value = "discarded from the command line")]
        reason: String,
    },
}

#[derive(Subcommand)]
enum ProductsAction {
    /// Name prefix, barcode or product code.
    Search {
        text: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Prints one line on stdout. A reader that went away (`pos-terminal sales | head`) ends the
/// program quietly instead of with a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        emit(format_args!($($arg)*))
    };
}

fn emit(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// Exit code of a refusal.
fn exit_code_of(e: &EngineError) -> u8 {
    match e.code {
        ErrorCode::ServerUnreachable => 2,
        _ => 1,
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), EngineError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| EngineError::internal(format!("JSON output: {e}")))?;
    out!("{text}");
    Ok(())
}

fn parse_amount(field: &str, text: &str) -> Result<Decimal, EngineError> {
    pos_protocol::money::parse_decimal(text)
        .map_err(|e| EngineError::invalid(format!("{field}: {e}")))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(EngineConfig::default_data_dir);
    // Logging is best effort: a till that cannot write its log still sells.
    let _ = pos_engine::logging::init(&data_dir);
    match run(cli, data_dir).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!(
                "error ({}): {}",
                serde_json::to_value(e.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                e.message
            );
            ExitCode::from(exit_code_of(&e))
        }
    }
}

async fn run(cli: Cli, data_dir: PathBuf) -> Result<u8, EngineError> {
    let mut config = EngineConfig::new(data_dir);
    config.server_url = cli.server.clone();
    let timings = &mut config.timings;
    timings.connect_timeout_ms = cli.connect_timeout_ms.unwrap_or(timings.connect_timeout_ms);
    timings.request_timeout_ms = cli.request_timeout_ms.unwrap_or(timings.request_timeout_ms);
    timings.backoff_initial_ms = cli.backoff_initial_ms.unwrap_or(timings.backoff_initial_ms);
    timings.backoff_max_ms = cli.backoff_max_ms.unwrap_or(timings.backoff_max_ms);
    timings.page_size = cli.page_size.unwrap_or(timings.page_size);
    // A rescue from another database file must work whatever state this folder is in.
    if let Command::Rescue {
        action: RescueAction::Export {
            file,
            from: Some(from),
        },
    } = &cli.command
    {
        let written = pos_engine::rescue_export_from_file(from, file)?;
        print_rescue_export(&written, cli.json)?;
        return Ok(0);
    }
    let engine = Engine::open(config)?;
    let json = cli.json;
    if let Some(pin) = &cli.manager_pin {
        engine.manager_authorise(pin)?;
    }
    match cli.command {
        Command::Login {
            email,
            password,
            device_name,
            trust_certificate,
            allow_plain_http,
        } => {
            let server = cli.server.or(engine.remembered_server()?).ok_or_else(|| {
                EngineError::invalid("server: give --server URL for the first sign-in")
            })?;
            let confirmation = TrustConfirmation {
                certificate_sha256: trust_certificate,
                allow_plain_http,
            };
            let session = engine
                .login_confirming(&server, &email, &password, device_name, &confirmation)
                .await
                .map_err(|mut e| {
                    if e.code == ErrorCode::ServerCertificateUnknown {
                        e.message
                            .push_str(" (run again with --trust-certificate FINGERPRINT)");
                    }
                    e
                })?;
            if json {
                print_json(&session)?;
            } else {
                out!(
                    "signed in as {} ({}) at {} on device {} ({})",
                    session.user.name,
                    session.user.role.as_str(),
                    session.business_name,
                    session.device.short_code,
                    session.device.name
                );
            }
            Ok(0)
        }
        Command::Logout => {
            let outcome = engine.logout().await?;
            if json {
                print_json(&outcome)?;
            } else if outcome.queued_operations > 0 {
                out!(
                    "signed out; {} operation(s) stay queued and sync after the next sign-in",
                    outcome.queued_operations
                );
            } else {
                out!("signed out");
            }
            Ok(0)
        }
        Command::Sell {
            items,
            discount,
            pay,
            paid,
            customer,
        } => {
            engine.cart_clear()?;
            for item in &items {
                let (code, quantity) = item.rsplit_once(':').ok_or_else(|| {
                    EngineError::invalid(format!("item: '{item}' is not CODE:QTY"))
                })?;
                engine.cart_add_code(code, parse_amount("item quantity", quantity)?)?;
            }
            if let Some(discount) = discount {
                engine.cart_set_discount(discount.parse::<Discount>()?)?;
            }
            if let Some(customer) = customer {
                engine.cart_set_customer(Some(customer.parse::<PartyRef>()?))?;
            }
            let payment_type_id = payment_type_named(&engine, "pay", pay.as_deref())?;
            let tendered = paid.map(|p| parse_amount("paid", &p)).transpose()?;
            let sale = engine.complete_sale(PaymentInput {
                payment_type_id,
                tendered,
            })?;
            out!("{}", sale.offline_invoice_no);
            // The sale is kept whatever the printer does.
            warn_if_unprinted(engine.print_after_sale(&sale));
            Ok(0)
        }
        Command::Sync => {
            let report = engine.sync_now().await?;
            let status = engine.status();
            if json {
                print_json(&report)?;
            } else {
                out!(
                    "pushed {}, acknowledged {}, rejected {}, conflicts {}, pulled {} record(s); {} pending, {} failed",
                    report.pushed,
                    report.acknowledged,
                    report.rejected,
                    report.conflicts,
                    report.pulled_records,
                    status.pending,
                    status.failed
                );
            }
            if status.failed + status.conflicts > 0 {
                eprintln!(
                    "{} operation(s) rejected and {} in conflict: see `pos-terminal queue`",
                    status.failed, status.conflicts
                );
                Ok(3)
            } else if status.pending > 0 {
                // The server answered but asked for some operations again later (its own
                // trouble): not everything is acknowledged yet.
                eprintln!("{} operation(s) still queued", status.pending);
                Ok(2)
            } else {
                Ok(0)
            }
        }
        Command::Status => {
            let status = engine.status();
            if json {
                print_json(&status)?;
            } else {
                print_status(&status);
            }
            Ok(0)
        }
        Command::Queue { action: None } => {
            let queue = engine.queue()?;
            if json {
                print_json(&queue)?;
            } else if queue.is_empty() {
                out!("the queue is empty");
            } else {
                for op in queue {
                    out!(
                        "{:>6}  {:<9}  {}{}",
                        op.id,
                        state_name(op.state),
                        op.summary,
                        op.last_error
                            .map(|e| format!("  [{}: {e}]", op.error_code.unwrap_or_default()))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(0)
        }
        Command::Queue {
            action: Some(QueueAction::Retry { id }),
        } => {
            let op = engine.queue_retry(id)?;
            if json {
                print_json(&op)?;
            } else {
                out!("operation {id} queued again");
            }
            Ok(0)
        }
        Command::Queue {
            action: Some(QueueAction::Discard { id, reason }),
        } => {
            let op = engine.queue_discard(id, &reason)?;
            if json {
                print_json(&op)?;
            } else {
                out!("operation {id} discarded");
            }
            Ok(0)
        }
        Command::Products {
            action: ProductsAction::Search { text, limit },
        } => {
            let found = engine.search_products(&text, limit)?;
            if json {
                print_json(&found)?;
            } else {
                for p in found {
                    out!(
                        "{:>8}  {:<16}  {:<40}  {:>12}  stock {}",
                        p.id,
                        p.product_code.unwrap_or_default(),
                        p.product_name,
                        p.product_sale_price,
                        p.stock
                    );
                }
            }
            Ok(0)
        }
        Command::Sales { limit } => {
            let sales = engine.sales(limit)?;
            if json {
                print_json(&sales)?;
            } else {
                for s in sales {
                    out!(
                        "{:<20}  {:<14}  {:>12}  {}{}",
                        s.offline_invoice_no,
                        s.invoice_number.unwrap_or_else(|| "-".into()),
                        s.total,
                        state_name(s.sync_state),
                        s.sync_error.map(|e| format!("  ({e})")).unwrap_or_default()
                    );
                }
            }
            Ok(0)
        }
        Command::Customers {
            action: None,
            search,
        } => {
            let found = engine.customers(&search)?;
            if json {
                print_json(&found)?;
            } else {
                for c in found {
                    out!(
                        "{:<10}  {:<30}  {:<16}  due {}",
                        c.party_ref.to_string(),
                        c.name,
                        c.phone.unwrap_or_default(),
                        c.due
                    );
                }
            }
            Ok(0)
        }
        Command::Customers {
            action:
                Some(CustomersAction::Add {
                    name,
                    phone,
                    email,
                    address,
                }),
            ..
        } => {
            let customer = engine.create_customer(NewCustomer {
                name,
                phone,
                email,
                address,
                party_type: None,
            })?;
            if json {
                print_json(&customer)?;
            } else {
                out!("{}", customer.party_ref);
            }
            Ok(0)
        }
        Command::PaymentTypes => {
            let types = engine.payment_types()?;
            if json {
                print_json(&types)?;
            } else {
                for t in types {
                    out!(
                        "{:>4}  {}{}",
                        t.id,
                        t.name,
                        if t.is_credit {
                            "  (credit: all due)"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(0)
        }
        Command::Due {
            action:
                DueAction::Collect {
                    customer,
                    amount,
                    pay,
                    note,
                },
        } => {
            let payment_type_id = payment_type_named(&engine, "pay", pay.as_deref())?;
            let collected = engine.collect_due(
                customer.parse::<PartyRef>()?,
                parse_amount("amount", &amount)?,
                payment_type_id,
                note,
            )?;
            if json {
                print_json(&collected)?;
            } else {
                out!(
                    "collected {} from {} (due collection {})",
                    collected.amount,
                    collected.party_name,
                    collected.local_id
                );
            }
            Ok(0)
        }
        Command::Shift { action } => run_shift(&engine, action, json),
        Command::Return {
            invoice,
            items,
            refund,
        } => {
            let lines = items
                .iter()
                .map(|item| return_line(item))
                .collect::<Result<Vec<_>, _>>()?;
            let refund = match refund.trim() {
                "cash" => RefundInput::Cash,
                "due" => RefundInput::Due,
                other => match other.strip_prefix("payment-type:") {
                    Some(name) => RefundInput::PaymentType(
                        payment_type_named(&engine, "refund", Some(name))?.unwrap_or_default(),
                    ),
                    None => {
                        return Err(EngineError::invalid(format!(
                            "refund: '{other}' is not cash, due or payment-type:NAME"
                        )))
                    }
                },
            };
            let returned = engine.return_sale(&invoice, lines, refund)?;
            if returned.refund_is_cash {
                warn_if_unprinted(engine.kick_drawer(DrawerEvent::CashRefund));
            }
            if json {
                print_json(&returned)?;
            } else {
                out!(
                    "refund {} {} for {} (return {})",
                    returned.refund_amount,
                    returned.refund_method.as_str(),
                    returned.offline_invoice_no,
                    returned.local_id
                );
            }
            Ok(0)
        }
        Command::Print { invoice, copy } => {
            let outcome = engine.print_sale(&invoice, copy)?;
            print_outcome(&outcome, json)?;
            Ok(0)
        }
        Command::Printer { action } => run_printer(&engine, action, json),
        Command::Drawer {
            action: DrawerAction::Open { reason },
        } => {
            let movement = engine.shift_drawer_open(&reason)?;
            warn_if_unprinted(engine.kick_drawer(DrawerEvent::NoSale));
            print_movement(&movement, json)?;
            Ok(0)
        }
        Command::Cashier { action } => run_cashier(&engine, action, json),
        Command::Rescue {
            action: RescueAction::Export { file, .. },
        } => {
            let written = engine.rescue_export(&file)?;
            print_rescue_export(&written, json)?;
            Ok(0)
        }
    }
}

fn print_rescue_export(written: &RescueExportView, json: bool) -> Result<(), EngineError> {
    if json {
        print_json(written)?;
    } else {
        out!(
            "{} unsynced operation(s) written to {} (sha256 {})",
            written.operations,
            written.path.display(),
            written.sha256
        );
    }
    Ok(())
}

fn run_shift(engine: &Engine, action: ShiftAction, json: bool) -> Result<u8, EngineError> {
    match action {
        ShiftAction::Open { opening_float } => {
            let shift = engine.shift_open(parse_amount("float", &opening_float)?)?;
            warn_if_unprinted(engine.kick_drawer(DrawerEvent::ShiftOpen));
            if json {
                print_json(&shift)?;
            } else {
                out!(
                    "shift {} opened with a float of {}",
                    shift.local_id,
                    shift.opening_float
                );
            }
        }
        ShiftAction::PayIn { amount, reason } => {
            let movement = engine.shift_pay_in(parse_amount("amount", &amount)?, &reason)?;
            warn_if_unprinted(engine.kick_drawer(DrawerEvent::PayIn));
            print_movement(&movement, json)?;
        }
        ShiftAction::PayOut { amount, reason } => {
            let movement = engine.shift_pay_out(parse_amount("amount", &amount)?, &reason)?;
            warn_if_unprinted(engine.kick_drawer(DrawerEvent::PayOut));
            print_movement(&movement, json)?;
        }
        ShiftAction::OpenDrawer { reason } => {
            let movement = engine.shift_drawer_open(&reason)?;
            warn_if_unprinted(engine.kick_drawer(DrawerEvent::NoSale));
            print_movement(&movement, json)?;
        }
        ShiftAction::Report => {
            let report = engine.shift_report()?;
            if json {
                print_json(&report)?;
            } else {
                print_report(&report);
            }
        }
        ShiftAction::Close { counted, count } => {
            let counted = match counted {
                Some(total) => CountedCash::Total(parse_amount("counted", &total)?),
                None => CountedCash::Denominations(
                    count
                        .iter()
                        .map(|c| denomination(c))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            let report = engine.shift_close(counted)?;
            warn_if_unprinted(engine.kick_drawer(DrawerEvent::ShiftClose));
            if json {
                print_json(&report)?;
            } else {
                print_report(&report);
            }
        }
    }
    Ok(0)
}

/// After an operation that is already kept: a printer or drawer failure is only a warning.
fn warn_if_unprinted<T>(result: Result<T, EngineError>) {
    if let Err(e) = result {
        eprintln!("warning: {}", e.message);
    }
}

fn print_outcome(outcome: &PrintOutcome, json: bool) -> Result<(), EngineError> {
    if json {
        print_json(outcome)
    } else {
        out!(
            "printed {} bytes{}{}",
            outcome.bytes,
            if outcome.copy { " (copy)" } else { "" },
            if outcome.drawer_kicked {
                ", drawer opened"
            } else {
                ""
            }
        );
        Ok(())
    }
}

fn run_printer(
    engine: &Engine,
    action: Option<PrinterAction>,
    json: bool,
) -> Result<u8, EngineError> {
    match action {
        None => {
            let settings = engine.printer_settings()?;
            print_printer(&settings, json)?;
        }
        Some(PrinterAction::Set {
            kind,
            target,
            port,
            paper,
            auto_print,
            drawer,
        }) => {
            let kind = match kind.trim() {
                "none" => PrinterKind::None,
                "network" => PrinterKind::Network,
                "windows" => PrinterKind::Windows,
                "cups" => PrinterKind::Cups,
                other => {
                    return Err(EngineError::invalid(format!(
                        "kind: '{other}' is not none, network, windows or cups"
                    )))
                }
            };
            let paper = match paper {
                80 => PaperWidth::Mm80,
                58 => PaperWidth::Mm58,
                other => {
                    return Err(EngineError::invalid(format!(
                        "paper: {other} mm is not 80 or 58"
                    )))
                }
            };
            let settings = engine.set_printer_settings(PrinterSettings {
                kind,
                target,
                port,
                paper,
                auto_print,
                drawer,
            })?;
            print_printer(&settings, json)?;
        }
        Some(PrinterAction::Test) => print_outcome(&engine.print_test_page()?, json)?,
        Some(PrinterAction::Report) => print_outcome(&engine.print_shift_report()?, json)?,
    }
    Ok(0)
}

fn print_printer(settings: &PrinterSettings, json: bool) -> Result<(), EngineError> {
    if json {
        return print_json(settings);
    }
    out!(
        "printer {} {}{} paper {} auto-print {} drawer {}",
        settings.kind.as_str(),
        settings.target.as_deref().unwrap_or("-"),
        if settings.kind == PrinterKind::Network {
            format!(":{}", settings.port)
        } else {
            String::new()
        },
        match settings.paper {
            PaperWidth::Mm80 => "80mm",
            PaperWidth::Mm58 => "58mm",
        },
        settings.auto_print,
        settings.drawer
    );
    Ok(())
}

fn run_cashier(
    engine: &Engine,
    action: Option<CashierAction>,
    json: bool,
) -> Result<u8, EngineError> {
    let print_one = |c: &CashierView| -> Result<(), EngineError> {
        if json {
            print_json(c)
        } else {
            out!("{}  {}  ({})", c.user_id, c.name, c.role.as_str());
            Ok(())
        }
    };
    match action {
        None => {
            let active = engine.active_cashier()?;
            let all = engine.cashiers()?;
            if json {
                print_json(&serde_json::json!({ "active": active, "cashiers": all }))?;
            } else {
                out!(
                    "working the till: {} ({})",
                    active.name,
                    active.role.as_str()
                );
                for c in &all {
                    print_one(c)?;
                }
            }
        }
        Some(CashierAction::SetPin {
            user_id,
            name,
            role,
            pin,
        }) => {
            let role = match role.trim() {
                "cashier" => Role::Cashier,
                "manager" => Role::Manager,
                "owner" => Role::Owner,
                other => {
                    return Err(EngineError::invalid(format!(
                        "role: '{other}' is not cashier, manager or owner"
                    )))
                }
            };
            print_one(&engine.cashier_set_pin(
                CashierView {
                    user_id,
                    name,
                    role,
                },
                &pin,
            )?)?;
        }
        Some(CashierAction::Switch { pin }) => print_one(&engine.cashier_switch(&pin)?)?,
        Some(CashierAction::Off) => print_one(&engine.cashier_switch_off()?)?,
    }
    Ok(0)
}

fn print_movement(movement: &CashMovementView, json: bool) -> Result<(), EngineError> {
    if json {
        print_json(movement)?;
    } else {
        out!(
            "{} {} recorded in shift {}",
            movement.kind.as_str().replace('_', "-"),
            movement.amount,
            movement.shift_local_id
        );
    }
    Ok(())
}

/// `CODE:QTY` or `line:N:QTY` of `return --item`.
fn return_line(item: &str) -> Result<ReturnLineInput, EngineError> {
    let (what, quantity) = item
        .rsplit_once(':')
        .ok_or_else(|| EngineError::invalid(format!("item: '{item}' is not CODE:QTY")))?;
    let item_ref = match what.strip_prefix("line:") {
        Some(n) => ReturnItem::LineNo(n.trim().parse().map_err(|_| {
            EngineError::invalid(format!("item: '{n}' in '{item}' is not a line number"))
        })?),
        None => ReturnItem::Code(what.to_string()),
    };
    Ok(ReturnLineInput {
        item: item_ref,
        quantity: parse_amount("item quantity", quantity)?,
    })
}

/// `VALUE:COUNT` of `shift close --count`.
fn denomination(text: &str) -> Result<DenominationCount, EngineError> {
    let (value, count) = text
        .split_once(':')
        .ok_or_else(|| EngineError::invalid(format!("count: '{text}' is not VALUE:COUNT")))?;
    Ok(DenominationCount {
        value: parse_amount("count value", value)?,
        count: count.trim().parse().map_err(|_| {
            EngineError::invalid(format!(
                "count: '{count}' in '{text}' is not a whole number"
            ))
        })?,
    })
}

fn print_report(r: &ShiftReport) {
    let title = match r.kind {
        ShiftReportKind::X => "X report (shift open)",
        ShiftReportKind::Z => "Z report (shift closed)",
    };
    out!(
        "{title}: shift {}, {}",
        r.shift_local_id,
        r.cashier_name.clone().unwrap_or_default()
    );
    out!(
        "opened:          {}",
        pos_protocol::time::format(&r.opened_at)
    );
    if let Some(closed) = r.closed_at {
        out!("closed:          {}", pos_protocol::time::format(&closed));
    }
    out!("sales:           {} for {}", r.sales_count, r.sales_total);
    out!("discounts:       {}", r.discounts);
    out!("VAT:             {}", r.vat);
    out!(
        "refunds:         {} for {} (VAT {})",
        r.refunds_count,
        r.refunds,
        r.refunds_vat
    );
    for t in &r.by_payment_type {
        out!(
            "  {:<14} {} sale(s) {}, due collected {}, refunded {}",
            t.name,
            t.sales_count,
            t.sales,
            t.due_collections,
            t.refunds
        );
    }
    out!("opening float:   {}", r.opening_float);
    out!("cash sales:      {}", r.cash_sales);
    out!("cash due coll.:  {}", r.cash_due_collections);
    out!("cash refunds:    {}", r.cash_refunds);
    out!("pay-ins:         {}", r.pay_ins);
    out!("pay-outs:        {}", r.pay_outs);
    out!("expected cash:   {}", r.expected_cash);
    if let (Some(counted), Some(difference)) = (r.counted_cash, r.difference) {
        out!("counted cash:    {counted}");
        out!("difference:      {difference}");
    }
}

/// The id of the payment type called `name` (any case); None for none given.
fn payment_type_named(
    engine: &Engine,
    field: &str,
    name: Option<&str>,
) -> Result<Option<i64>, EngineError> {
    let Some(name) = name else {
        return Ok(None);
    };
    engine
        .payment_types()?
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
        .map(|p| Some(p.id))
        .ok_or_else(|| EngineError::invalid(format!("{field}: no payment type named '{name}'")))
}

fn state_name(state: pos_engine::SyncState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn print_status(status: &SyncStatus) {
    out!("online:      {}", status.online);
    out!("signed in:   {}", status.signed_in);
    out!("pending:     {}", status.pending);
    out!("failed:      {}", status.failed);
    out!("conflicts:   {}", status.conflicts);
    out!(
        "last sync:   {}",
        status
            .last_sync_at
            .map(|t| pos_protocol::time::format(&t))
            .unwrap_or_else(|| "never".into())
    );
    if status.client_too_old {
        out!("UPDATE NEEDED: the server needs a newer terminal; the queue is kept");
    }
    if let Some(error) = &status.last_error {
        out!("last error:  {error}");
    }
}
