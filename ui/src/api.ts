// The one door from the screens to the terminal engine: every Tauri command and the sync status
// event, typed after the engine's views (engine/src/views.rs). Amounts arrive as exact decimals
// (see money.ts) and go back to the engine as decimal text.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { Amount } from "./money";

// ---- views -------------------------------------------------------------------------------

export type Role = "cashier" | "manager" | "owner";
export type SymbolPosition = "before" | "after";

export interface Currency {
  code: string;
  symbol: string;
  minor_units: number;
}

export interface Settings {
  company_name: string;
  currency: Currency;
  currency_position: SymbolPosition;
  vat_enabled: boolean;
  vat_inclusive: boolean;
  invoice_prefix: string;
  timezone: string;
  shifts_required: boolean;
  max_cashier_discount_percent: Amount | null;
  version: number;
  updated_at: string;
}

export interface UserView {
  id: number;
  name: string;
  email: string;
  role: Role;
  business_id: number;
}

export interface DeviceView {
  id: string;
  short_code: string;
  name: string;
}

export interface SessionInfo {
  server_url: string;
  business_name: string;
  user: UserView;
  device: DeviceView;
  settings: Settings | null;
}

export interface LogoutOutcome {
  queued_operations: number;
  signed_out_on_server: boolean;
}

export interface CategoryView {
  id: number;
  name: string;
  icon: string | null;
}

export interface PaymentTypeView {
  id: number;
  name: string;
  is_credit: boolean;
}

export interface ProductView {
  id: number;
  productCode: string | null;
  barcode: string | null;
  productName: string;
  productSalePrice: Amount;
  vat_rate: Amount;
  stock: Amount;
  category_id: number | null;
}

export type Discount =
  | { kind: "none" }
  | { kind: "amount"; value: Amount }
  | { kind: "percent"; value: Amount };

export type PartyRef = { server: number } | { local: number };

export interface PartyView {
  party_ref: PartyRef;
  id: number | null;
  local_id: number | null;
  name: string;
  phone: string | null;
  email: string | null;
  address: string | null;
  type: string;
  due: Amount;
}

export interface NewCustomer {
  name: string;
  phone?: string | null;
  email?: string | null;
  address?: string | null;
  type?: string | null;
}

export interface CartLineView {
  line_no: number;
  product_id: number;
  stock_id: number | null;
  name: string;
  product_code: string | null;
  quantity: Amount;
  unit_price: Amount;
  discount: Discount;
  gross: Amount;
  line_discount: Amount;
  cart_discount_share: Amount;
  vat_rate: Amount;
  vat_amount: Amount;
  total: Amount;
}

export interface CartView {
  lines: CartLineView[];
  discount: Discount;
  subtotal: Amount;
  line_discount: Amount;
  cart_discount: Amount;
  vat_amount: Amount;
  total: Amount;
  vat_inclusive: boolean;
  customer: PartyView | null;
}

export interface HeldCartView {
  id: number;
  label: string;
  line_count: number;
  total: Amount;
  customer_name: string | null;
  held_at: string;
}

export interface PaymentInput {
  payment_type_id: number | null;
  /** Decimal text; null means exactly the total. */
  tendered: string | null;
}

export type SyncState = "queued" | "sent" | "confirmed" | "failed" | "conflict" | "discarded";

export type Warning =
  | {
      type: "stock_discrepancy";
      product_id: number;
      stock_id: number;
      expected: Amount;
      available: Amount;
      discrepancy: Amount;
      action: string;
    }
  | { type: "totals_mismatch"; client_total: Amount; server_total: Amount }
  | { type: "overpayment"; party_id: number; excess: Amount }
  | { type: string; [field: string]: unknown };

export interface SaleLineView {
  line_no: number;
  product_id: number;
  stock_id: number;
  name: string;
  quantity: Amount;
  unit_price: Amount;
  discount: Amount;
  vat_rate: Amount;
  vat_amount: Amount;
  total: Amount;
  /** Already returned against this line. */
  returned: Amount;
}

export interface SaleDetail {
  local_id: number;
  offline_invoice_no: string;
  invoice_number: string | null;
  client_reference: string;
  business_name: string;
  cashier_name: string | null;
  sale_date: string;
  customer: PartyView | null;
  lines: SaleLineView[];
  subtotal: Amount;
  line_discount: Amount;
  cart_discount: Amount;
  vat_amount: Amount;
  vat_inclusive: boolean;
  total: Amount;
  tendered: Amount;
  paid: Amount;
  due: Amount;
  change: Amount;
  payment_type_id: number;
  payment_type_name: string;
  currency: Currency | null;
  sync_state: SyncState;
  warnings: Warning[];
  sync_error: string | null;
}

export interface CompletedSale {
  local_id: number;
  offline_invoice_no: string;
  client_reference: string;
  total: Amount;
  paid: Amount;
  due: Amount;
  change: Amount;
  receipt: SaleDetail;
}

export interface SaleSummary {
  local_id: number;
  offline_invoice_no: string;
  invoice_number: string | null;
  total: Amount;
  due: Amount;
  customer_name: string | null;
  sale_date: string;
  sync_state: SyncState;
  sync_error: string | null;
  warnings: Warning[];
}

export interface DueCollectionView {
  local_id: number;
  client_reference: string;
  party: PartyRef;
  party_name: string;
  amount: Amount;
  payment_type_id: number;
  note: string | null;
  collected_at: string;
  sync_state: SyncState;
}

export type SyncActivity =
  | "idle"
  | "signing_in"
  | "registering"
  | "pushing"
  | "full_sync"
  | "pulling"
  | "backing_off";

export interface SyncStatus {
  online: boolean;
  pending: number;
  failed: number;
  conflicts: number;
  last_sync_at: string | null;
  activity: SyncActivity;
  progress: { done: number; total: number | null } | null;
  client_too_old: boolean;
  signed_in: boolean;
  last_error: string | null;
}

export interface SyncReport {
  pushed: number;
  acknowledged: number;
  rejected: number;
  conflicts: number;
  still_pending: number;
  pulled_records: number;
  full_sync: boolean;
}

export interface QueuedOperation {
  id: number;
  idempotency_key: string;
  entity: string;
  action: string;
  state: SyncState;
  summary: string;
  attempts: number;
  next_attempt_at: string | null;
  error_code: string | null;
  last_error: string | null;
  created_at: string;
  payload: unknown;
}

// ---- errors ------------------------------------------------------------------------------

/** The certificate a server presented that the till did not accept (SHA-256 fingerprints). */
export interface CertificateSeen {
  presented_sha256: string;
  pinned_sha256: string | null;
}

/** What the person signing in confirmed about the server (see `login`). */
export interface TrustConfirmation {
  certificate_sha256: string | null;
  allow_plain_http: boolean;
}

/** An engine error: `code` is stable (branch on it), `message` is for people. */
export class EngineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** On `server_certificate_unknown` and `server_certificate_changed`. */
    readonly certificate: CertificateSeen | null = null,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    if (e && typeof e === "object" && "code" in e && "message" in e) {
      const certificate = "certificate" in e && e.certificate ? (e.certificate as CertificateSeen) : null;
      throw new EngineError(String(e.code), String(e.message), certificate);
    }
    throw new EngineError("internal", String(e));
  }
}

// ---- store operations (35-store-operations.md) ---------------------------------------------

export interface CashierView {
  user_id: number;
  name: string;
  role: Role;
}

export interface ShiftView {
  local_id: number;
  client_reference: string;
  cashier_name: string | null;
  opened_at: string;
  opening_float: Amount;
  closed_at: string | null;
}

export type CashMovementKind = "pay_in" | "pay_out" | "drawer_open";

export interface CashMovementView {
  local_id: number;
  client_reference: string;
  shift_local_id: number;
  kind: CashMovementKind;
  amount: Amount;
  reason: string | null;
  created_at: string;
}

export interface PaymentTypeTotals {
  payment_type_id: number | null;
  name: string;
  is_cash: boolean;
  sales_count: number;
  sales: Amount;
  due_collections: Amount;
  refunds: Amount;
}

export interface ShiftReport {
  kind: "x" | "z";
  shift_local_id: number;
  client_reference: string;
  cashier_name: string | null;
  opened_at: string;
  closed_at: string | null;
  sales_count: number;
  sales_total: Amount;
  discounts: Amount;
  vat: Amount;
  due: Amount;
  refunds_count: number;
  refunds: Amount;
  refunds_vat: Amount;
  by_payment_type: PaymentTypeTotals[];
  opening_float: Amount;
  cash_sales: Amount;
  cash_due_collections: Amount;
  cash_refunds: Amount;
  pay_ins: Amount;
  pay_outs: Amount;
  expected_cash: Amount;
  counted_cash: Amount | null;
  counted_denominations: Array<{ value: Amount; count: number }> | null;
  difference: Amount | null;
}

export type ReturnItem = { code: string } | { line_no: number };
export interface ReturnLineInput {
  item: ReturnItem;
  quantity: string;
}
export type RefundInput = "cash" | "due" | { payment_type: number };

export interface ReturnView {
  local_id: number;
  client_reference: string;
  sale_local_id: number;
  offline_invoice_no: string;
  lines: Array<{ line_no: number; product_id: number; name: string; quantity: Amount; amount: Amount }>;
  refund_method: "cash" | "payment_type" | "due";
  payment_type_id: number | null;
  refund_is_cash: boolean;
  refund_amount: Amount;
  shift_local_id: number | null;
  returned_at: string;
  sync_state: SyncState;
}

export type PrinterKind = "none" | "network" | "windows" | "cups";
export type PaperWidth = "80mm" | "58mm";

export interface PrinterSettings {
  kind: PrinterKind;
  target: string | null;
  port: number;
  paper: PaperWidth;
  auto_print: boolean;
  drawer: boolean;
}

export interface PrintOutcome {
  printed: boolean;
  bytes: number;
  drawer_kicked: boolean;
  copy: boolean;
}

export type DrawerEvent = "cash_sale" | "cash_refund" | "pay_in" | "pay_out" | "shift_open" | "shift_close" | "no_sale";

// ---- commands ----------------------------------------------------------------------------

export const api = {
  session: () => call<SessionInfo | null>("session"),
  login: (serverUrl: string, email: string, password: string, deviceName: string | null, trust: TrustConfirmation | null = null) =>
    call<SessionInfo>("login", { serverUrl, email, password, deviceName, trust }),
  logout: () => call<LogoutOutcome>("logout"),

  categories: () => call<CategoryView[]>("categories"),
  productsInCategory: (categoryId: number, limit: number) =>
    call<ProductView[]>("products_in_category", { categoryId, limit }),
  searchProducts: (text: string, limit: number) =>
    call<ProductView[]>("search_products", { text, limit }),
  paymentTypes: () => call<PaymentTypeView[]>("payment_types"),

  cart: () => call<CartView>("cart"),
  cartAdd: (productId: number, quantity: string) =>
    call<CartView>("cart_add", { productId, quantity }),
  cartAddCode: (code: string, quantity: string) =>
    call<CartView>("cart_add_code", { code, quantity }),
  cartSetQuantity: (lineNo: number, quantity: string) =>
    call<CartView>("cart_set_quantity", { lineNo, quantity }),
  cartSetLineDiscount: (lineNo: number, discount: Discount) =>
    call<CartView>("cart_set_line_discount", { lineNo, discount }),
  cartVoidLine: (lineNo: number) => call<CartView>("cart_void_line", { lineNo }),
  cartSetDiscount: (discount: Discount) => call<CartView>("cart_set_discount", { discount }),
  cartSetCustomer: (party: PartyRef | null) => call<CartView>("cart_set_customer", { party }),
  cartClear: () => call<CartView>("cart_clear"),
  holdCart: (label: string) => call<HeldCartView>("hold_cart", { label }),
  heldCarts: () => call<HeldCartView[]>("held_carts"),
  resumeCart: (id: number) => call<CartView>("resume_cart", { id }),
  completeSale: (payment: PaymentInput) => call<CompletedSale>("complete_sale", { payment }),

  customers: (search: string) => call<PartyView[]>("customers", { search }),
  createCustomer: (customer: NewCustomer) => call<PartyView>("create_customer", { customer }),
  collectDue: (party: PartyRef, amount: string, paymentTypeId: number | null, note: string | null) =>
    call<DueCollectionView>("collect_due", { party, amount, paymentTypeId, note }),

  sales: (limit: number) => call<SaleSummary[]>("sales", { limit }),
  sale: (localId: number) => call<SaleDetail>("sale", { localId }),

  status: () => call<SyncStatus>("status"),
  syncNow: () => call<SyncReport>("sync_now"),
  queue: () => call<QueuedOperation[]>("queue"),
  queueRetry: (id: number) => call<QueuedOperation>("queue_retry", { id }),
  queueDiscard: (id: number, reason: string) => call<QueuedOperation>("queue_discard", { id, reason }),

  activeCashier: () => call<CashierView>("active_cashier"),
  cashiers: () => call<CashierView[]>("cashiers"),
  cashierSetPin: (who: CashierView, pin: string) => call<CashierView>("cashier_set_pin", { who, pin }),
  cashierSwitch: (pin: string) => call<CashierView>("cashier_switch", { pin }),
  cashierSwitchOff: () => call<CashierView>("cashier_switch_off"),
  managerAuthorise: (pin: string) => call<CashierView>("manager_authorise", { pin }),
  managerAuthorisationCancel: () => call<void>("manager_authorisation_cancel"),

  shiftReport: () => call<ShiftReport | null>("shift_report"),
  shiftOpen: (openingFloat: string) => call<ShiftView>("shift_open", { openingFloat }),
  shiftPayIn: (amount: string, reason: string) => call<CashMovementView>("shift_pay_in", { amount, reason }),
  shiftPayOut: (amount: string, reason: string) => call<CashMovementView>("shift_pay_out", { amount, reason }),
  shiftDrawerOpen: (reason: string) => call<CashMovementView>("shift_drawer_open", { reason }),
  shiftClose: (counted: string) => call<ShiftReport>("shift_close", { counted }),
  returnSale: (invoice: string, lines: ReturnLineInput[], refund: RefundInput) =>
    call<ReturnView>("return_sale", { invoice, lines, refund }),

  printerSettings: () => call<PrinterSettings>("printer_settings"),
  setPrinterSettings: (settings: PrinterSettings) => call<PrinterSettings>("set_printer_settings", { settings }),
  printTestPage: () => call<PrintOutcome>("print_test_page"),
  printSale: (invoice: string, copy: boolean) => call<PrintOutcome>("print_sale", { invoice, copy }),
  printAfterSale: (sale: CompletedSale) => call<PrintOutcome | null>("print_after_sale", { sale }),
  printShiftReport: () => call<PrintOutcome>("print_shift_report"),
  kickDrawer: (event: DrawerEvent) => call<boolean>("kick_drawer", { event }),
};

/** The sync status event the app forwards from the engine's status channel. */
export const STATUS_EVENT = "sync-status";

export function onStatus(handler: (status: SyncStatus) => void): Promise<UnlistenFn> {
  return listen<SyncStatus>(STATUS_EVENT, (event) => handler(event.payload));
}

/** The currency settings of a session, for money.ts. */
export function currencyOf(session: SessionInfo | null) {
  const s = session?.settings;
  return {
    code: s?.currency.code ?? "",
    symbol: s?.currency.symbol ?? "",
    minorUnits: s?.currency.minor_units ?? 2,
    position: s?.currency_position ?? ("before" as SymbolPosition),
  };
}

export function partyRefText(ref: PartyRef): string {
  return "server" in ref ? String(ref.server) : `local:${ref.local}`;
}
