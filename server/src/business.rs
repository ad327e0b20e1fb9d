//! The caller's business: its profile (`/business`), the settings terminals mirror
//! (`/business-settings`), invoice settings, the next document number (`/new-invoice`) and the
//! reference lists a business is set up from (`/currencies`, `/business-categories`).
//!
//! Every change bumps the business row's `version`; the database stamps the row with the
//! change cursor, so `GET /sync/changes` hands the new settings to every terminal. Only an
//! owner changes the business.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::entities::Settings;
use pos_protocol::error::{ApiErrorBody, FieldErrors, VersionConflict};
use pos_protocol::office::{
    Business, BusinessCategory, CurrencyEntry, InvoicePreview, InvoiceSettings,
    InvoiceSettingsResponse,
};
use pos_protocol::DataResponse;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value as JsonValue};
use utoipa::IntoParams;

use crate::audit::{self, Change};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::resources::spec::{Field, ResourceSpec};
use crate::resources::{as_object, expected_version, parse_fields};
use crate::store::tx::SyncTx;
use crate::store::{Column, StoreError, StoreResult, TxExec, Value};
use crate::AppState;

const MONEY: u32 = pos_protocol::money::MAX_MINOR_UNITS;
const INVOICE_SIZES: &[&str] = &["a4", "3_inch_80mm", "2_inch_58mm"];
const ROUNDING: &[&str] = &[
    "none",
    "round_up",
    "nearest_whole_number",
    "nearest_0.05",
    "nearest_0.1",
    "nearest_0.5",
];

/// The fields of `PUT /business/{id}`, by the original backend's names. The table is only
/// read by the input checks (`parse_fields`), never by the generic catalog store.
static BUSINESS_FIELDS: ResourceSpec = ResourceSpec {
    table: "businesses",
    entity_type: "business",
    label: "Business",
    fields: &[
        Field::text("companyName", "company_name", 250).required(),
        Field::text("address", "address", 250).optional(),
        Field::text("email", "email", 255).optional(),
        Field::text("phoneNumber", "phone_number", 64).optional(),
        Field::integer("business_category_id", "business_category_id").optional(),
        Field::text("vat_name", "vat_name", 64).optional(),
        Field::text("vat_no", "vat_no", 64).optional(),
        Field::decimal("shopOpeningBalance", "shop_opening_balance", MONEY),
        Field::choice("invoice_size", "invoice_size", INVOICE_SIZES),
        Field::choice("sale_rounding_option", "sale_rounding_option", ROUNDING),
        Field::text("gratitude_message", "gratitude_message", 100).optional(),
        Field::text("invoice_note", "invoice_note", 1000).optional(),
    ],
    write_role: Role::Owner,
    initial_copies: &[],
    with_stock_total: false,
};

/// The fields of `PUT /business-settings`: the flat names of the settings object (its
/// `currency` object may be sent as it is read; it is flattened first).
static SETTINGS_FIELDS: ResourceSpec = ResourceSpec {
    table: "businesses",
    entity_type: "settings",
    label: "Settings",
    fields: &[
        Field::text("company_name", "company_name", 250).required(),
        Field::text("currency_code", "currency_code", 3).required(),
        Field::text("currency_symbol", "currency_symbol", 8).required(),
        Field::integer("currency_minor_units", "currency_minor_units"),
        Field::choice(
            "currency_position",
            "currency_position",
            &["before", "after"],
        ),
        Field::boolean("vat_enabled", "vat_enabled"),
        Field::boolean("vat_inclusive", "vat_inclusive"),
        Field::text("invoice_prefix", "invoice_prefix", 16),
        Field::text("timezone", "timezone", 64).required(),
        Field::boolean("shifts_required", "shifts_required"),
        Field::decimal(
            "max_cashier_discount_percent",
            "max_cashier_discount_percent",
            2,
        )
        .optional(),
    ],
    write_role: Role::Owner,
    initial_copies: &[],
    with_stock_total: false,
};

/// The fields of `POST /invoice-settings/update`.
static INVOICE_FIELDS: ResourceSpec = ResourceSpec {
    table: "businesses",
    entity_type: "invoice_settings",
    label: "Invoice settings",
    fields: &[
        Field::choice("invoice_size", "invoice_size", INVOICE_SIZES).required(),
        Field::text("invoice_prefix", "invoice_prefix", 16),
        Field::choice("sale_rounding_option", "sale_rounding_option", ROUNDING),
        Field::text("gratitude_message", "gratitude_message", 100).optional(),
        Field::text("invoice_note", "invoice_note", 1000).optional(),
    ],
    write_role: Role::Owner,
    initial_copies: &[],
    with_stock_total: false,
};

const BUSINESS_COLUMNS: &str = "id, business_category_id, company_name, address, email, \
     phone_number, vat_name, vat_no, shop_opening_balance, invoice_size, sale_rounding_option, \
     gratitude_message, invoice_note, version, created_at, updated_at, invoice_prefix";
const BUSINESS_READ: [Column; 17] = [
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Decimal,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::Time,
    Column::Time,
    Column::Text,
];

/// The business row and its invoice prefix.
fn decode(row: Vec<Value>) -> StoreResult<(Business, String)> {
    let corrupt = || StoreError::Corrupt("a business row".into());
    let int = |i: usize| match row.get(i) {
        Some(Value::Int(v)) => Ok(*v),
        _ => Err(corrupt()),
    };
    let text = |i: usize| match row.get(i) {
        Some(Value::Text(v)) => Ok(v.clone()),
        _ => Err(corrupt()),
    };
    let time = |i: usize| match row.get(i) {
        Some(Value::Time(Some(v))) => Ok(*v),
        _ => Err(corrupt()),
    };
    let business = Business {
        id: int(0)?.ok_or_else(corrupt)?,
        business_category_id: int(1)?,
        company_name: text(2)?.ok_or_else(corrupt)?,
        address: text(3)?,
        email: text(4)?,
        phone_number: text(5)?,
        vat_name: text(6)?,
        vat_no: text(7)?,
        shop_opening_balance: match row.get(8) {
            Some(Value::Decimal(v)) => v.unwrap_or(Decimal::ZERO),
            _ => return Err(corrupt()),
        },
        invoice_size: text(9)?.ok_or_else(corrupt)?,
        sale_rounding_option: text(10)?.ok_or_else(corrupt)?,
        gratitude_message: text(11)?,
        invoice_note: text(12)?,
        version: int(13)?.ok_or_else(corrupt)?,
        created_at: time(14)?,
        updated_at: time(15)?,
    };
    Ok((business, text(16)?.unwrap_or_default()))
}

async fn read_business(exec: &mut dyn TxExec, business_id: i64) -> ApiResult<(Business, String)> {
    let row = exec
        .fetch_all(
            &format!("SELECT {BUSINESS_COLUMNS} FROM businesses WHERE id = $1 FOR UPDATE"),
            &[Value::Int(Some(business_id))],
            &BUSINESS_READ,
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("Business"))?;
    Ok(decode(row)?)
}

async fn current_business(state: &AppState, business_id: i64) -> ApiResult<(Business, String)> {
    let mut tx = state.store.begin_write().await?;
    let found = read_business(tx.as_mut(), business_id).await?;
    tx.commit().await?;
    Ok(found)
}

fn invoice_settings(business: &Business, prefix: String) -> InvoiceSettings {
    InvoiceSettings {
        invoice_size: business.invoice_size.clone(),
        invoice_prefix: prefix,
        sale_rounding_option: business.sale_rounding_option.clone(),
        gratitude_message: business.gratitude_message.clone(),
        invoice_note: business.invoice_note.clone(),
    }
}

fn json_of(value: &Value) -> JsonValue {
    match value {
        Value::Text(Some(v)) | Value::Json(Some(v)) => JsonValue::String(v.clone()),
        Value::Int(Some(v)) => JsonValue::from(*v),
        Value::Bool(Some(v)) => JsonValue::Bool(*v),
        Value::Decimal(Some(v)) => {
            pos_protocol::money::exact::serialize(v, serde_json::value::Serializer)
                .unwrap_or(JsonValue::Null)
        }
        Value::Time(Some(v)) => JsonValue::String(pos_protocol::time::format(v)),
        _ => JsonValue::Null,
    }
}

/// Checks what the fields' types cannot say.
fn check_ranges(values: &[(&'static Field, Value)]) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    for (field, value) in values {
        let problem = match (field.column, value) {
            ("currency_minor_units", Value::Int(Some(n))) if !(0..=3).contains(n) => {
                Some("must be 0, 1, 2 or 3")
            }
            ("currency_code", Value::Text(Some(code)))
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                Some("must be three capital letters (ISO 4217)")
            }
            ("timezone", Value::Text(Some(zone)))
                if !zone
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b)) =>
            {
                Some("must be an IANA time zone name such as Europe/Berlin")
            }
            ("invoice_prefix", Value::Text(Some(prefix)))
                if !prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_/#.".contains(&b)) =>
            {
                Some("may hold letters, digits and - _ / # . only")
            }
            ("max_cashier_discount_percent", Value::Decimal(Some(p)))
                if *p > Decimal::ONE_HUNDRED =>
            {
                Some("must be at most 100")
            }
            ("business_category_id", Value::Int(Some(id))) if category(*id).is_none() => {
                Some("must be the id of a business category")
            }
            _ => None,
        };
        if let Some(problem) = problem {
            errors.insert(field.wire.into(), vec![problem.into()]);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(errors))
    }
}

/// Applies checked values to the caller's business in one transaction: the version check,
/// the update (which stamps the row for sync) and its audit row.
async fn apply(
    state: &AppState,
    user: &AuthUser,
    headers: &HeaderMap,
    what: &'static str,
    values: Vec<(&'static Field, Value)>,
    expected: Option<i64>,
) -> ApiResult<(Business, String)> {
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let (current, _) = read_business(tx.exec(), user.business_id).await?;
    if let Some(expected) = expected.filter(|v| *v != current.version) {
        return Err(ApiError::version_conflict(VersionConflict {
            entity_type: what.into(),
            entity_id: user.business_id,
            client_version: Some(expected),
            server_version: current.version,
            server_data: serde_json::to_value(&current).map_err(ApiError::internal)?,
        }));
    }
    let now = pos_protocol::time::now();
    let mut assignments = vec![
        "version = version + 1".to_string(),
        "updated_at = $2".into(),
    ];
    let mut args = vec![Value::Int(Some(user.business_id)), Value::Time(Some(now))];
    let mut changed = Map::new();
    for (field, value) in values {
        // Columns come from the static field tables above, never from the client.
        assignments.push(format!("{} = ${}", field.column, args.len() + 1));
        changed.insert(field.wire.into(), json_of(&value));
        args.push(value);
    }
    tx.exec()
        .execute(
            &format!(
                "UPDATE businesses SET {} WHERE id = $1",
                assignments.join(", ")
            ),
            &args,
        )
        .await?;
    let updated = read_business(tx.exec(), user.business_id).await?;
    audit::record(
        &mut tx,
        user,
        headers,
        Change {
            entity: what,
            action: "update",
            entity_id: user.business_id,
            after: &JsonValue::Object(changed),
            before: Some(&serde_json::to_value(&current).map_err(ApiError::internal)?),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

#[utoipa::path(get, path = "/api/v1/business", tag = "business",
    responses((status = 200, description = "The caller's business", body = DataResponse<Business>)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataResponse<Business>>> {
    let (business, _) = current_business(&state, user.business_id).await?;
    Ok(Json(DataResponse::new("Business", business)))
}

/// Partial update of the caller's business; another business's id is a 404.
#[utoipa::path(put, path = "/api/v1/business/{id}", tag = "business", params(("id" = i64, Path)),
    request_body = Object,
    responses((status = 200, description = "Updated", body = DataResponse<Business>),
              (status = 403, description = "Owners only", body = ApiErrorBody),
              (status = 404, description = "Not the caller's business", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<Business>>> {
    user.require(Role::Owner, "change the business")?;
    if id != user.business_id {
        return Err(ApiError::not_found("Business"));
    }
    let body = as_object(body)?;
    let expected = expected_version(&user, &headers, Some(&body))?;
    let values = parse_fields(&BUSINESS_FIELDS, &body, false)?;
    check_ranges(&values)?;
    let (business, _) = apply(&state, &user, &headers, "business", values, expected).await?;
    Ok(Json(DataResponse::new("Business updated", business)))
}

#[utoipa::path(get, path = "/api/v1/business-settings", tag = "business",
    responses((status = 200, description = "The settings terminals mirror", body = DataResponse<Settings>)),
    security(("bearer" = [])))]
pub async fn settings(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataResponse<Settings>>> {
    let settings = state
        .store
        .business_settings(user.business_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Business"))?;
    Ok(Json(DataResponse::new("Business settings", settings)))
}

/// The settings object as read, with its `currency` object flattened into the column names.
fn flatten_currency(body: &mut Map<String, JsonValue>) {
    if let Some(JsonValue::Object(currency)) = body.remove("currency") {
        for (from, to) in [
            ("code", "currency_code"),
            ("symbol", "currency_symbol"),
            ("minor_units", "currency_minor_units"),
        ] {
            if let Some(value) = currency.get(from) {
                body.entry(to).or_insert_with(|| value.clone());
            }
        }
    }
}

async fn update_settings(
    state: &AppState,
    user: &AuthUser,
    headers: &HeaderMap,
    body: JsonValue,
) -> ApiResult<Json<DataResponse<Settings>>> {
    user.require(Role::Owner, "change the business settings")?;
    let mut body = as_object(body)?;
    let expected = expected_version(user, headers, Some(&body))?;
    flatten_currency(&mut body);
    let values = parse_fields(&SETTINGS_FIELDS, &body, false)?;
    check_ranges(&values)?;
    apply(state, user, headers, "settings", values, expected).await?;
    let settings = state
        .store
        .business_settings(user.business_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Business"))?;
    Ok(Json(DataResponse::new(
        "Business settings updated",
        settings,
    )))
}

#[utoipa::path(put, path = "/api/v1/business-settings", tag = "business", request_body = Object,
    responses((status = 200, description = "Updated; terminals receive it through sync changes", body = DataResponse<Settings>),
              (status = 403, description = "Owners only", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn settings_put(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<Settings>>> {
    update_settings(&state, &user, &headers, body).await
}

#[utoipa::path(patch, path = "/api/v1/business-settings", tag = "business", request_body = Object,
    responses((status = 200, description = "Updated; terminals receive it through sync changes", body = DataResponse<Settings>),
              (status = 403, description = "Owners only", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn settings_patch(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<Settings>>> {
    update_settings(&state, &user, &headers, body).await
}

#[utoipa::path(get, path = "/api/v1/invoice-settings", tag = "business",
    responses((status = 200, description = "How invoices are printed", body = InvoiceSettingsResponse)),
    security(("bearer" = [])))]
pub async fn invoice_settings_show(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<InvoiceSettingsResponse>> {
    let (business, prefix) = current_business(&state, user.business_id).await?;
    Ok(Json(InvoiceSettingsResponse {
        message: "Invoice settings".into(),
        invoice_size: business.invoice_size.clone(),
        data: invoice_settings(&business, prefix),
    }))
}

/// The original client sends no version here; one given (body or header) is checked.
#[utoipa::path(post, path = "/api/v1/invoice-settings/update", tag = "business",
    request_body = Object,
    responses((status = 200, description = "Updated", body = InvoiceSettingsResponse),
              (status = 403, description = "Owners only", body = ApiErrorBody),
              (status = 409, description = "Based on a stale version", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn invoice_settings_update(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<InvoiceSettingsResponse>> {
    user.require(Role::Owner, "change the invoice settings")?;
    let body = as_object(body)?;
    let versioned = body.get("version").is_some_and(|v| !v.is_null())
        || headers.contains_key(crate::resources::ENTITY_VERSION_HEADER)
        || headers.contains_key(crate::resources::FORCE_UPDATE_HEADER);
    let expected = if versioned {
        expected_version(&user, &headers, Some(&body))?
    } else {
        None
    };
    let values = parse_fields(&INVOICE_FIELDS, &body, true)?;
    check_ranges(&values)?;
    let (business, prefix) = apply(
        &state,
        &user,
        &headers,
        "invoice_settings",
        values,
        expected,
    )
    .await?;
    Ok(Json(InvoiceSettingsResponse {
        message: "Invoice settings updated".into(),
        invoice_size: business.invoice_size.clone(),
        data: invoice_settings(&business, prefix),
    }))
}

/// Each kind of document: its `platform` name, its counter and its number's prefix (the
/// business's invoice prefix for sales).
const DOCUMENT_KINDS: &[(&str, &str, Option<&str>)] = &[
    ("sales", "sale", None),
    ("purchases", "purchase", Some("PUR-")),
    ("due_collects", "due_collect", Some("DUE-")),
    ("sales_return", "sale_return", Some("SR-")),
    ("purchases_return", "purchase_return", Some("PR-")),
];

/// How a document number is written: the prefix and the counter on six digits.
pub fn document_number(prefix: &str, number: i64) -> String {
    format!("{prefix}{number:06}")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NewInvoiceQuery {
    /// `sales` (default), `purchases`, `due_collects`, `sales_return` or `purchases_return`.
    pub platform: Option<String>,
}

/// The number the next document of a kind would get. Nothing is taken: the number is given
/// out only inside the transaction that writes the document, so the sequence has no gaps.
#[utoipa::path(get, path = "/api/v1/new-invoice", tag = "business", params(NewInvoiceQuery),
    responses((status = 200, description = "The next number", body = DataResponse<InvoicePreview>),
              (status = 422, description = "Unknown platform", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn new_invoice(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<NewInvoiceQuery>,
) -> ApiResult<Json<DataResponse<InvoicePreview>>> {
    let platform = query.platform.unwrap_or_else(|| "sales".into());
    let (_, kind, prefix) = DOCUMENT_KINDS
        .iter()
        .find(|(name, _, _)| *name == platform)
        .ok_or_else(|| {
            ApiError::invalid_field(
                "platform",
                "must be sales, purchases, due_collects, sales_return or purchases_return",
            )
        })?;
    let mut tx = state.store.begin_write().await?;
    let (_, invoice_prefix) = read_business(tx.as_mut(), user.business_id).await?;
    let last = tx
        .fetch_all(
            "SELECT last_number FROM invoice_counters WHERE business_id = $1 AND kind = $2",
            &[
                Value::Int(Some(user.business_id)),
                Value::Text(Some((*kind).into())),
            ],
            &[Column::Int],
        )
        .await?
        .into_iter()
        .next()
        .and_then(|row| match row.first() {
            Some(Value::Int(Some(n))) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    tx.commit().await?;
    let prefix = prefix.unwrap_or(&invoice_prefix);
    Ok(Json(DataResponse::new(
        "Next invoice number",
        InvoicePreview {
            platform,
            invoice_number: document_number(prefix, last + 1),
        },
    )))
}

/// (name, ISO code, symbol, minor units): the currencies a business can be set up with.
const CURRENCIES: &[(&str, &str, &str, u32)] = &[
    ("US Dollar", "USD", "$", 2),
    ("Euro", "EUR", "€", 2),
    ("Pound Sterling", "GBP", "£", 2),
    ("Swiss Franc", "CHF", "CHF", 2),
    ("Japanese Yen", "JPY", "¥", 0),
    ("Chinese Yuan", "CNY", "¥", 2),
    ("Indian Rupee", "INR", "₹", 2),
    ("Bangladeshi Taka", "BDT", "৳", 2),
    ("Pakistani Rupee", "PKR", "₨", 2),
    ("Canadian Dollar", "CAD", "$", 2),
    ("Australian Dollar", "AUD", "$", 2),
    ("New Zealand Dollar", "NZD", "$", 2),
    ("Swedish Krona", "SEK", "kr", 2),
    ("Norwegian Krone", "NOK", "kr", 2),
    ("Danish Krone", "DKK", "kr", 2),
    ("Polish Zloty", "PLN", "zł", 2),
    ("Czech Koruna", "CZK", "Kč", 2),
    ("Turkish Lira", "TRY", "₺", 2),
    ("UAE Dirham", "AED", "د.إ", 2),
    ("Saudi Riyal", "SAR", "﷼", 2),
    ("Kuwaiti Dinar", "KWD", "د.ك", 3),
    ("Bahraini Dinar", "BHD", ".د.ب", 3),
    ("South African Rand", "ZAR", "R", 2),
    ("Nigerian Naira", "NGN", "₦", 2),
    ("Kenyan Shilling", "KES", "KSh", 2),
    ("Brazilian Real", "BRL", "R$", 2),
    ("Mexican Peso", "MXN", "$", 2),
    ("Singapore Dollar", "SGD", "$", 2),
    ("Malaysian Ringgit", "MYR", "RM", 2),
    ("Indonesian Rupiah", "IDR", "Rp", 2),
    ("Philippine Peso", "PHP", "₱", 2),
    ("South Korean Won", "KRW", "₩", 0),
];

fn currency_entries() -> impl Iterator<Item = CurrencyEntry> {
    CURRENCIES
        .iter()
        .zip(1..)
        .map(|((name, code, symbol, minor_units), id)| CurrencyEntry {
            id,
            name: (*name).into(),
            code: (*code).into(),
            symbol: (*symbol).into(),
            minor_units: *minor_units,
        })
}

#[utoipa::path(get, path = "/api/v1/currencies", tag = "business",
    responses((status = 200, description = "Every currency a business can use", body = DataResponse<Vec<CurrencyEntry>>)),
    security(("bearer" = [])))]
pub async fn currencies(_user: AuthUser) -> Json<DataResponse<Vec<CurrencyEntry>>> {
    Json(DataResponse::new(
        "Currencies",
        currency_entries().collect(),
    ))
}

/// The kinds of shop a business can say it is.
const CATEGORIES: &[&str] = &[
    "Grocery",
    "Supermarket",
    "Pharmacy",
    "Clothing",
    "Electronics",
    "Hardware",
    "Bakery",
    "Restaurant",
    "Cafe",
    "Bookshop",
    "Cosmetics",
    "Stationery",
    "Furniture",
    "Mobile shop",
    "Other",
];

fn category(id: i64) -> Option<BusinessCategory> {
    let name = CATEGORIES.get(usize::try_from(id).ok()?.checked_sub(1)?)?;
    Some(BusinessCategory {
        id,
        name: (*name).into(),
    })
}

#[utoipa::path(get, path = "/api/v1/business-categories", tag = "business",
    responses((status = 200, description = "The kinds of shop", body = DataResponse<Vec<BusinessCategory>>)),
    security(("bearer" = [])))]
pub async fn business_categories(_user: AuthUser) -> Json<DataResponse<Vec<BusinessCategory>>> {
    let all = (1..=CATEGORIES.len() as i64).filter_map(category).collect();
    Json(DataResponse::new("Business categories", all))
}

#[utoipa::path(get, path = "/api/v1/currencies/{id}", tag = "business", params(("id" = i64, Path)),
    responses((status = 200, description = "The currency", body = DataResponse<CurrencyEntry>),
              (status = 404, description = "No currency has this id", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn currency(
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DataResponse<CurrencyEntry>>> {
    currency_entries()
        .find(|c| c.id == id)
        .map(|c| Json(DataResponse::new("Currency", c)))
        .ok_or_else(|| ApiError::not_found("Currency"))
}

/// The fields of `POST /business`, the setup form a new owner fills in.
static SETUP_FIELDS: ResourceSpec = ResourceSpec {
    table: "businesses",
    entity_type: "business",
    label: "Business",
    fields: &[
        Field::text("companyName", "company_name", 250).required(),
        Field::integer("business_category_id", "business_category_id").required(),
        Field::text("address", "address", 250).optional(),
        Field::text("phoneNumber", "phone_number", 64).optional(),
        Field::decimal("shopOpeningBalance", "shop_opening_balance", MONEY).optional(),
    ],
    write_role: Role::Owner,
    initial_copies: &[],
    with_stock_total: false,
};

/// The owner's setup of the business every account already belongs to: its name, kind of
/// shop, address, phone and opening cash. Sent again, it sets them again.
#[utoipa::path(post, path = "/api/v1/business", tag = "business", request_body = Object,
    responses((status = 200, description = "Set up", body = DataResponse<Business>),
              (status = 403, description = "Owners only", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn store(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<Business>>> {
    user.require(Role::Owner, "set up the business")?;
    let body = as_object(body)?;
    let mut values = parse_fields(&SETUP_FIELDS, &body, true)?;
    // A form left empty means no opening cash.
    for (field, value) in values.iter_mut() {
        if field.column == "shop_opening_balance" && *value == Value::Decimal(None) {
            *value = Value::Decimal(Some(Decimal::ZERO));
        }
    }
    check_ranges(&values)?;
    let (business, _) = apply(&state, &user, &headers, "business", values, None).await?;
    Ok(Json(DataResponse::new("Business set up", business)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeleteBusiness {
    /// The owner's password, asked again. Read after the role check, so that anyone but the
    /// owner is told "owners only" whatever they send.
    #[serde(default)]
    pub password: String,
}

/// Closes the caller's business for good: the owner confirms with their password; the business
/// is soft-deleted (its records stay for the books), every account of it is deactivated and
/// signed out, so no one signs in to it again. No other business is touched.
#[utoipa::path(post, path = "/api/v1/business-delete", tag = "business", request_body = DeleteBusiness,
    responses((status = 200, description = "Closed", body = crate::auth::MessageResponse),
              (status = 403, description = "Owners only", body = ApiErrorBody),
              (status = 422, description = "The password is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_business(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(request): ApiJson<DeleteBusiness>,
) -> ApiResult<Json<crate::auth::MessageResponse>> {
    user.require(Role::Owner, "delete the business")?;
    if request.password.is_empty() {
        return Err(ApiError::invalid_field(
            "password",
            "is required: the owner's password, to confirm",
        ));
    }
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let (current, _) = read_business(tx.exec(), user.business_id).await?;
    let stored = tx
        .exec()
        .fetch_all(
            "SELECT password_hash FROM users WHERE id = $1 AND business_id = $2",
            &[
                Value::Int(Some(user.user_id)),
                Value::Int(Some(user.business_id)),
            ],
            &[Column::Text],
        )
        .await?
        .into_iter()
        .next()
        .and_then(|row| match row.into_iter().next() {
            Some(Value::Text(Some(hash))) => Some(hash),
            _ => None,
        })
        .ok_or_else(|| ApiError::internal("the signed-in owner has no password"))?;
    let password = request.password;
    let matches =
        crate::auth::argon2_work(move || crate::auth::password_matches(&password, &stored))
            .await
            .map_err(ApiError::internal)?;
    if !matches {
        return Err(ApiError::invalid_field("password", "is wrong"));
    }
    let now = pos_protocol::time::now();
    let business = Value::Int(Some(user.business_id));
    tx.exec()
        .execute(
            "UPDATE businesses SET deleted_at = $2, updated_at = $2, version = version + 1 \
             WHERE id = $1 AND deleted_at IS NULL",
            &[business.clone(), Value::Time(Some(now))],
        )
        .await?;
    tx.exec()
        .execute(
            "UPDATE users SET is_active = $3, updated_at = $2, version = version + 1 \
             WHERE business_id = $1 AND is_active = $4",
            &[
                business.clone(),
                Value::Time(Some(now)),
                Value::Bool(Some(false)),
                Value::Bool(Some(true)),
            ],
        )
        .await?;
    tx.exec()
        .execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE revoked_at IS NULL \
             AND user_id IN (SELECT id FROM users WHERE business_id = $1)",
            &[business, Value::Time(Some(now))],
        )
        .await?;
    audit::record(
        &mut tx,
        &user,
        &headers,
        Change {
            entity: "business",
            action: "delete",
            entity_id: user.business_id,
            after: &serde_json::json!({"deleted_at": pos_protocol::time::format(&now)}),
            before: Some(&serde_json::to_value(&current).map_err(ApiError::internal)?),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(crate::auth::MessageResponse {
        message: "Business deleted".into(),
    }))
}
