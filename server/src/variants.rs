//! Product variants beyond their plain CRUD (`resources/catalog.rs`): variants generated from
//! attribute values, found by them, duplicated, changed in bulk, and their stock
//! (`/products/{id}/variants/*`, `/variants/{id}/stock`).
//!
//! A variant is made of attribute values (a size, a colour, ...), kept as their ids in
//! `attribute_values` (ascending, comma-separated), so one product never has two live
//! variants of the same set. A variant's stock lives in `stocks` rows carrying its
//! `variant_id`; every change goes through the same versioned rows terminals mirror, and each
//! write is audited in its own transaction.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use pos_protocol::auth::Role;
use pos_protocol::entities::Stock;
use pos_protocol::error::{ApiErrorBody, FieldErrors};
use pos_protocol::money::{exact, exact_opt};
use pos_protocol::office::{ProductVariant, VariantStock, VariantStockSummary, VariantStockUpdate};
use pos_protocol::DataResponse;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as JsonValue};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{self, Change};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::resources::spec::{self, ResourceSpec};
use crate::resources::{as_object, parse_fields, typed};
use crate::store::tx::SyncTx;
use crate::store::{Column, TxExec, Value};
use crate::trade::{bounded, int, Bound};
use crate::AppState;

/// At most this many variants are generated, or changed in bulk, by one request.
const MAX_VARIANTS: usize = 1000;

/// A set of attribute value ids as stored: ascending, without repeats, comma-separated.
pub fn attribute_key(values: &[i64]) -> String {
    let set: BTreeSet<i64> = values.iter().copied().collect();
    set.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Every combination taking one value of each attribute, in the order given.
pub fn combinations(attributes: &[Vec<i64>]) -> Vec<Vec<i64>> {
    attributes.iter().fold(vec![Vec::new()], |done, values| {
        done.iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(*v);
                    next
                })
            })
            .collect()
    })
}

/// A 422 naming `field` unless every id is a positive integer and there is at least one.
fn check_ids(field: &str, values: &[i64]) -> ApiResult<()> {
    if values.is_empty() {
        return Err(ApiError::invalid_field(field, "needs at least one value"));
    }
    if values.iter().any(|v| *v < 1) {
        return Err(ApiError::invalid_field(
            field,
            "must hold attribute value ids (positive integers)",
        ));
    }
    Ok(())
}

fn text_of(row: &[Value], i: usize) -> Option<String> {
    match row.get(i) {
        Some(Value::Text(v)) => v.clone(),
        _ => None,
    }
}

fn int_of(row: &[Value], i: usize) -> Option<i64> {
    match row.get(i) {
        Some(Value::Int(v)) => *v,
        _ => None,
    }
}

fn dec_of(row: &[Value], i: usize) -> Option<Decimal> {
    match row.get(i) {
        Some(Value::Decimal(v)) => *v,
        _ => None,
    }
}

/// What the routes need of a live product.
struct ProductRow {
    id: i64,
    name: String,
    code: Option<String>,
    purchase_price: Decimal,
    sale_price: Decimal,
}

async fn live_product(exec: &mut dyn TxExec, business_id: i64, id: i64) -> ApiResult<ProductRow> {
    let row = exec
        .fetch_all(
            "SELECT id, product_name, product_code, product_purchase_price, product_sale_price \
             FROM products WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
            &[int(business_id), int(id)],
            &[
                Column::Int,
                Column::Text,
                Column::Text,
                Column::Decimal,
                Column::Decimal,
            ],
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("Product"))?;
    Ok(ProductRow {
        id,
        name: text_of(&row, 1).unwrap_or_default(),
        code: text_of(&row, 2).filter(|c| !c.trim().is_empty()),
        purchase_price: dec_of(&row, 3).unwrap_or_default(),
        sale_price: dec_of(&row, 4).unwrap_or_default(),
    })
}

/// What the routes need of a live variant.
struct VariantRow {
    id: i64,
    product_id: i64,
    sku: String,
    barcode: Option<String>,
    price: Option<Decimal>,
    cost_price: Option<Decimal>,
    wholesale_price: Option<Decimal>,
    dealer_price: Option<Decimal>,
    weight: Option<Decimal>,
    image: Option<String>,
    is_active: bool,
    attribute_key: Option<String>,
}

const VARIANT_SELECT: &str = "SELECT id, product_id, sku, barcode, price, cost_price, \
     wholesale_price, dealer_price, weight, image, is_active, attribute_values \
     FROM product_variants WHERE business_id = $1 AND deleted_at IS NULL";
const VARIANT_READ: [Column; 12] = [
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Decimal,
    Column::Decimal,
    Column::Decimal,
    Column::Decimal,
    Column::Decimal,
    Column::Text,
    Column::Bool,
    Column::Text,
];

fn variant_of(row: &[Value]) -> VariantRow {
    VariantRow {
        id: int_of(row, 0).unwrap_or_default(),
        product_id: int_of(row, 1).unwrap_or_default(),
        sku: text_of(row, 2).unwrap_or_default(),
        barcode: text_of(row, 3),
        price: dec_of(row, 4),
        cost_price: dec_of(row, 5),
        wholesale_price: dec_of(row, 6),
        dealer_price: dec_of(row, 7),
        weight: dec_of(row, 8),
        image: text_of(row, 9),
        is_active: matches!(row.get(10), Some(Value::Bool(Some(true)))),
        attribute_key: text_of(row, 11).filter(|k| !k.is_empty()),
    }
}

/// The product's live variants, in their order.
async fn variants_of(
    exec: &mut dyn TxExec,
    business_id: i64,
    product_id: i64,
) -> ApiResult<Vec<VariantRow>> {
    let rows = exec
        .fetch_all(
            &format!("{VARIANT_SELECT} AND product_id = $2 ORDER BY sort_order, id"),
            &[int(business_id), int(product_id)],
            &VARIANT_READ,
        )
        .await?;
    Ok(rows.iter().map(|r| variant_of(r)).collect())
}

/// A live variant of the business, or 404.
async fn live_variant(exec: &mut dyn TxExec, business_id: i64, id: i64) -> ApiResult<VariantRow> {
    exec.fetch_all(
        &format!("{VARIANT_SELECT} AND id = $2"),
        &[int(business_id), int(id)],
        &VARIANT_READ,
    )
    .await?
    .first()
    .map(|r| variant_of(r))
    .ok_or_else(|| ApiError::not_found("Variant"))
}

struct NewVariant<'a> {
    business_id: i64,
    product_id: i64,
    sku: &'a str,
    barcode: Option<&'a str>,
    price: Option<Decimal>,
    cost_price: Option<Decimal>,
    wholesale_price: Option<Decimal>,
    dealer_price: Option<Decimal>,
    weight: Option<Decimal>,
    image: Option<&'a str>,
    sort_order: i64,
    attribute_key: &'a str,
}

async fn insert_variant(
    exec: &mut dyn TxExec,
    new: &NewVariant<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<i64> {
    let text = |v: Option<&str>| Value::Text(v.map(str::to_string));
    exec.fetch_all(
        "INSERT INTO product_variants (business_id, product_id, sku, barcode, price, cost_price, \
         wholesale_price, dealer_price, weight, image, is_active, sort_order, attribute_values, \
         version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14) RETURNING id",
        &[
            int(new.business_id),
            int(new.product_id),
            text(Some(new.sku)),
            text(new.barcode),
            Value::Decimal(new.price),
            Value::Decimal(new.cost_price),
            Value::Decimal(new.wholesale_price),
            Value::Decimal(new.dealer_price),
            Value::Decimal(new.weight),
            text(new.image),
            Value::Bool(Some(true)),
            int(new.sort_order),
            text(Some(new.attribute_key)),
            Value::Time(Some(now)),
        ],
        &[Column::Int],
    )
    .await?
    .first()
    .and_then(|r| int_of(r, 0))
    .ok_or_else(|| ApiError::internal("a variant insert returned nothing"))
}

/// The variants as the API shows them, read after their transaction committed.
async fn shown<E: serde::de::DeserializeOwned>(
    state: &AppState,
    business_id: i64,
    spec: &'static ResourceSpec,
    ids: &[i64],
) -> ApiResult<Vec<E>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let record = state
            .store
            .get_record(spec, business_id, *id)
            .await?
            .ok_or_else(|| ApiError::internal("a record written just now is gone"))?;
        out.push(typed(spec, record)?);
    }
    Ok(out)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GenerateVariants {
    /// The SKU's beginning; each variant's SKU adds its attribute value ids
    /// (default: the product code, else `P{product id}`).
    #[serde(default)]
    pub sku_format: Option<String>,
    /// The variants' price (default: the product's sale price).
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub default_price: Option<Decimal>,
    /// Per attribute, the value ids to combine: one variant per combination.
    pub attribute_values: Vec<Vec<i64>>,
}

/// One variant per combination of the attribute values; combinations the product already has
/// a live variant of are left as they are.
#[utoipa::path(post, path = "/api/v1/products/{id}/variants/generate", tag = "variants",
    params(("id" = i64, Path)), request_body = GenerateVariants,
    responses((status = 201, description = "The variants made (none when every combination existed)", body = DataResponse<Vec<ProductVariant>>),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "No such product in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn generate(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(product_id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<(StatusCode, Json<DataResponse<Vec<ProductVariant>>>)> {
    user.require(Role::Manager, "generate variants")?;
    let request: GenerateVariants = crate::extract::parse_json(body.to_string().as_bytes())?;
    if request.attribute_values.is_empty() {
        return Err(ApiError::invalid_field(
            "attribute_values",
            "needs at least one attribute",
        ));
    }
    for (i, values) in request.attribute_values.iter().enumerate() {
        check_ids(&format!("attribute_values[{i}]"), values)?;
    }
    let count = request
        .attribute_values
        .iter()
        .try_fold(1usize, |n, values| n.checked_mul(values.len()))
        .filter(|n| *n <= MAX_VARIANTS);
    if count.is_none() {
        return Err(ApiError::invalid_field(
            "attribute_values",
            format!("makes more than {MAX_VARIANTS} variants"),
        ));
    }
    let prefix = request.sku_format.as_deref().map(str::trim);
    if prefix.is_some_and(|p| p.chars().count() > 80) {
        return Err(ApiError::invalid_field(
            "sku_format",
            "must be at most 80 characters",
        ));
    }
    if let Some(price) = request.default_price {
        bounded("default_price", price, Bound::Amount)?;
        if price < Decimal::ZERO {
            return Err(ApiError::invalid_field(
                "default_price",
                "must not be negative",
            ));
        }
    }
    let now = pos_protocol::time::now();
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let product = live_product(tx.exec(), business_id, product_id).await?;
    let existing = variants_of(tx.exec(), business_id, product_id).await?;
    let mut taken: BTreeSet<String> = existing
        .iter()
        .filter_map(|v| v.attribute_key.clone())
        .collect();
    let prefix = match prefix.filter(|p| !p.is_empty()) {
        Some(p) => p.to_string(),
        None => product
            .code
            .clone()
            .unwrap_or_else(|| format!("P{}", product.id)),
    };
    let mut created = Vec::new();
    for combination in combinations(&request.attribute_values) {
        let key = attribute_key(&combination);
        if !taken.insert(key.clone()) {
            continue;
        }
        let sku = format!("{prefix}-{}", key.replace(',', "-"));
        let id = insert_variant(
            tx.exec(),
            &NewVariant {
                business_id,
                product_id,
                sku: &sku,
                barcode: None,
                price: Some(request.default_price.unwrap_or(product.sale_price)),
                cost_price: Some(product.purchase_price),
                wholesale_price: None,
                dealer_price: None,
                weight: None,
                image: None,
                sort_order: i64::try_from(existing.len() + created.len()).unwrap_or(i64::MAX),
                attribute_key: &key,
            },
            now,
        )
        .await?;
        created.push(id);
    }
    audit::record(
        &mut tx,
        &user,
        &headers,
        Change {
            entity: "variant",
            action: "generate",
            entity_id: product_id,
            after: &json!({"request": body, "created": created}),
            before: None,
        },
    )
    .await?;
    tx.commit().await?;
    let data = shown(&state, business_id, &spec::VARIANTS, &created).await?;
    Ok((
        StatusCode::CREATED,
        Json(DataResponse::new(
            format!("{} variants generated", data.len()),
            data,
        )),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FindVariant {
    /// The attribute value ids the variant is made of (in any order).
    pub attribute_values: Vec<i64>,
}

#[utoipa::path(post, path = "/api/v1/products/{id}/variants/find", tag = "variants",
    params(("id" = i64, Path)), request_body = FindVariant,
    responses((status = 200, description = "The product's live variant of exactly these values, or null", body = DataResponse<Option<ProductVariant>>),
              (status = 404, description = "No such product in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn find(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(product_id): ApiPath<i64>,
    ApiJson(request): ApiJson<FindVariant>,
) -> ApiResult<Json<DataResponse<Option<ProductVariant>>>> {
    check_ids("attribute_values", &request.attribute_values)?;
    let key = attribute_key(&request.attribute_values);
    let mut exec = state.store.begin_write().await?;
    live_product(exec.as_mut(), user.business_id, product_id).await?;
    let found = variants_of(exec.as_mut(), user.business_id, product_id)
        .await?
        .into_iter()
        .find(|v| v.attribute_key.as_deref() == Some(key.as_str()))
        .map(|v| v.id);
    exec.commit().await?;
    let data = match found {
        Some(id) => shown(&state, user.business_id, &spec::VARIANTS, &[id])
            .await?
            .pop(),
        None => None,
    };
    let message = if data.is_some() {
        "Variant found"
    } else {
        "No variant of these values"
    };
    Ok(Json(DataResponse::new(message, data)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DuplicateVariant {
    pub source_variant_id: i64,
    pub new_sku: String,
    #[serde(default)]
    pub new_barcode: Option<String>,
    /// Added to the source's prices (negative lowers them).
    #[serde(with = "exact_opt", default)]
    #[schema(value_type = Option<f64>)]
    pub price_adjustment: Option<Decimal>,
    /// Also make the source's stock rows (warehouse, batch, prices, dates) for the copy.
    /// Their quantity starts at zero: goods are counted in, never copied.
    #[serde(default)]
    pub copy_stock: Option<bool>,
    pub new_attribute_values: Vec<i64>,
}

#[utoipa::path(post, path = "/api/v1/products/{id}/variants/duplicate", tag = "variants",
    params(("id" = i64, Path)), request_body = DuplicateVariant,
    responses((status = 201, description = "The copy", body = DataResponse<ProductVariant>),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "No such product in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn duplicate(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(product_id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<(StatusCode, Json<DataResponse<ProductVariant>>)> {
    user.require(Role::Manager, "duplicate a variant")?;
    let request: DuplicateVariant = crate::extract::parse_json(body.to_string().as_bytes())?;
    let sku = request.new_sku.trim();
    if sku.is_empty() || sku.chars().count() > 100 {
        return Err(ApiError::invalid_field("new_sku", "1 to 100 characters"));
    }
    let barcode = request
        .new_barcode
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    if barcode.is_some_and(|b| b.chars().count() > 100) {
        return Err(ApiError::invalid_field(
            "new_barcode",
            "must be at most 100 characters",
        ));
    }
    check_ids("new_attribute_values", &request.new_attribute_values)?;
    let adjustment = request.price_adjustment.unwrap_or_default();
    bounded("price_adjustment", adjustment, Bound::Amount)?;
    let key = attribute_key(&request.new_attribute_values);
    let now = pos_protocol::time::now();
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    live_product(tx.exec(), business_id, product_id).await?;
    let siblings = variants_of(tx.exec(), business_id, product_id).await?;
    let source = siblings
        .iter()
        .find(|v| v.id == request.source_variant_id)
        .ok_or_else(|| {
            ApiError::invalid_field("source_variant_id", "no live variant of this product")
        })?;
    if siblings
        .iter()
        .any(|v| v.attribute_key.as_deref() == Some(key.as_str()))
    {
        return Err(ApiError::invalid_field(
            "new_attribute_values",
            "the product already has a variant of these values",
        ));
    }
    let adjust = |price: Option<Decimal>| -> ApiResult<Option<Decimal>> {
        match price.map(|p| p + adjustment) {
            Some(p) if p < Decimal::ZERO => Err(ApiError::invalid_field(
                "price_adjustment",
                "would make a price negative",
            )),
            other => Ok(other),
        }
    };
    let id = insert_variant(
        tx.exec(),
        &NewVariant {
            business_id,
            product_id,
            sku,
            barcode,
            price: adjust(source.price)?,
            cost_price: source.cost_price,
            wholesale_price: adjust(source.wholesale_price)?,
            dealer_price: adjust(source.dealer_price)?,
            weight: source.weight,
            image: source.image.as_deref(),
            sort_order: i64::try_from(siblings.len()).unwrap_or(i64::MAX),
            attribute_key: &key,
        },
        now,
    )
    .await?;
    if request.copy_stock.unwrap_or(false) {
        tx.exec()
            .execute(
                "INSERT INTO stocks (business_id, product_id, variant_id, warehouse_id, batch_no, \
                 product_stock, product_purchase_price, product_sale_price, product_wholesale_price, \
                 product_dealer_price, mfg_date, expire_date, version, created_at, updated_at) \
                 SELECT business_id, product_id, $2, warehouse_id, batch_no, $3, \
                 product_purchase_price, product_sale_price, product_wholesale_price, \
                 product_dealer_price, mfg_date, expire_date, 1, $4, $4 FROM stocks \
                 WHERE business_id = $1 AND variant_id = $5 AND deleted_at IS NULL ORDER BY id",
                &[
                    int(business_id),
                    int(id),
                    Value::Decimal(Some(Decimal::ZERO)),
                    Value::Time(Some(now)),
                    int(source.id),
                ],
            )
            .await?;
    }
    audit::record(
        &mut tx,
        &user,
        &headers,
        Change {
            entity: "variant",
            action: "duplicate",
            entity_id: id,
            after: &body,
            before: None,
        },
    )
    .await?;
    tx.commit().await?;
    let data = shown(&state, business_id, &spec::VARIANTS, &[id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("a variant written just now is gone"))?;
    Ok((
        StatusCode::CREATED,
        Json(DataResponse::new("Variant duplicated", data)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkVariants {
    /// Each names a variant of the product by `id` and carries the fields to change
    /// (`sku`, `barcode`, `price`, `cost_price`, `wholesale_price`, `dealer_price`,
    /// `is_active`, `sort_order`, ...).
    #[schema(value_type = Vec<Object>)]
    pub variants: Vec<JsonValue>,
}

/// Changes several variants of the product at once: all of them or none.
#[utoipa::path(put, path = "/api/v1/products/{id}/variants/bulk", tag = "variants",
    params(("id" = i64, Path)), request_body = BulkVariants,
    responses((status = 200, description = "The variants as changed", body = DataResponse<Vec<ProductVariant>>),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "No such product in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong; `variants[i].field` names it", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn bulk(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(product_id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<Vec<ProductVariant>>>> {
    user.require(Role::Manager, "change variants")?;
    let request: BulkVariants = crate::extract::parse_json(body.to_string().as_bytes())?;
    if request.variants.is_empty() || request.variants.len() > MAX_VARIANTS {
        return Err(ApiError::invalid_field(
            "variants",
            format!("1 to {MAX_VARIANTS} variants"),
        ));
    }
    let mut changes = Vec::new();
    let mut errors = FieldErrors::new();
    for (i, item) in request.variants.into_iter().enumerate() {
        let mut item = match as_object(item) {
            Ok(item) => item,
            Err(_) => {
                errors.insert(format!("variants[{i}]"), vec!["must be an object".into()]);
                continue;
            }
        };
        let Some(id) = item.get("id").and_then(JsonValue::as_i64) else {
            errors.insert(
                format!("variants[{i}].id"),
                vec!["is required: the id of a variant of this product".into()],
            );
            continue;
        };
        // A variant stays with its product.
        item.remove("product_id");
        match parse_fields(&spec::VARIANTS, &item, false) {
            Ok(values) => changes.push((i, id, values)),
            Err(err) => {
                for (field, problems) in err.field_errors() {
                    errors.insert(format!("variants[{i}].{field}"), problems);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let now = pos_protocol::time::now();
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    live_product(tx.exec(), business_id, product_id).await?;
    let own: BTreeSet<i64> = variants_of(tx.exec(), business_id, product_id)
        .await?
        .iter()
        .map(|v| v.id)
        .collect();
    let mut ids = Vec::new();
    for (i, id, values) in &changes {
        if !own.contains(id) {
            return Err(ApiError::invalid_field(
                format!("variants[{i}].id"),
                "no live variant of this product",
            ));
        }
        let mut assignments = vec![
            "version = version + 1".to_string(),
            "updated_at = $3".into(),
        ];
        let mut args = vec![int(business_id), int(*id), Value::Time(Some(now))];
        for (field, value) in values {
            // Columns come from the variant table's spec, never from the client.
            assignments.push(format!("{} = ${}", field.column, args.len() + 1));
            args.push(value.clone());
        }
        tx.exec()
            .execute(
                &format!(
                    "UPDATE product_variants SET {} WHERE business_id = $1 AND id = $2",
                    assignments.join(", ")
                ),
                &args,
            )
            .await?;
        ids.push(*id);
    }
    audit::record(
        &mut tx,
        &user,
        &headers,
        Change {
            entity: "variant",
            action: "bulk_update",
            entity_id: product_id,
            after: &body,
            before: None,
        },
    )
    .await?;
    tx.commit().await?;
    let data = shown(&state, business_id, &spec::VARIANTS, &ids).await?;
    Ok(Json(DataResponse::new("Variants updated", data)))
}

/// Each live stock row of the variant: (quantity, purchase price).
async fn variant_stock(
    exec: &mut dyn TxExec,
    business_id: i64,
    variant_id: i64,
) -> ApiResult<Vec<(Decimal, Decimal)>> {
    let rows = exec
        .fetch_all(
            "SELECT product_stock, product_purchase_price FROM stocks \
             WHERE business_id = $1 AND variant_id = $2 AND deleted_at IS NULL",
            &[int(business_id), int(variant_id)],
            &[Column::Decimal, Column::Decimal],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                dec_of(r, 0).unwrap_or_default(),
                dec_of(r, 1).unwrap_or_default(),
            )
        })
        .collect())
}

/// Each live variant's stock and its value at purchase price, and the product's totals.
#[utoipa::path(get, path = "/api/v1/products/{id}/variants/stock-summary", tag = "variants",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The product's stock per variant", body = DataResponse<VariantStockSummary>),
              (status = 404, description = "No such product in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn stock_summary(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(product_id): ApiPath<i64>,
) -> ApiResult<Json<DataResponse<VariantStockSummary>>> {
    let mut exec = state.store.begin_write().await?;
    let product = live_product(exec.as_mut(), user.business_id, product_id).await?;
    let mut variants = Vec::new();
    for variant in variants_of(exec.as_mut(), user.business_id, product_id).await? {
        let rows = variant_stock(exec.as_mut(), user.business_id, variant.id).await?;
        variants.push(VariantStock {
            id: variant.id,
            sku: variant.sku,
            barcode: variant.barcode,
            price: variant.price,
            is_active: variant.is_active,
            stock: rows.iter().map(|(q, _)| *q).sum(),
            stock_value: rows.iter().map(|(q, p)| *q * *p).sum(),
        });
    }
    exec.commit().await?;
    Ok(Json(DataResponse::new(
        "Variant stock",
        VariantStockSummary {
            product_id,
            product_name: product.name,
            total_variants: variants.len(),
            total_stock: variants.iter().map(|v| v.stock).sum(),
            total_stock_value: variants.iter().map(|v| v.stock_value).sum(),
            variants,
        },
    )))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StockOperation {
    Set,
    Increment,
    Decrement,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VariantStockChange {
    #[serde(with = "exact")]
    #[schema(value_type = f64)]
    pub quantity: Decimal,
    pub operation: StockOperation,
    /// The batch and warehouse of the stock row (made when the variant has none there yet).
    #[serde(default)]
    pub batch_no: Option<String>,
    #[serde(default)]
    pub warehouse_id: Option<i64>,
    /// Why: kept in the audit log with the count before and after.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Counts a variant's stock in one warehouse and batch: set to, or added to or taken from.
#[utoipa::path(put, path = "/api/v1/variants/{id}/stock", tag = "variants",
    params(("id" = i64, Path)), request_body = VariantStockChange,
    responses((status = 200, description = "The stock row and the variant's total", body = DataResponse<VariantStockUpdate>),
              (status = 403, description = "Managers only", body = ApiErrorBody),
              (status = 404, description = "No such variant in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong, or more is taken than is there", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn set_stock(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(variant_id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<Json<DataResponse<VariantStockUpdate>>> {
    user.require(Role::Manager, "count stock")?;
    let request: VariantStockChange = crate::extract::parse_json(body.to_string().as_bytes())?;
    bounded("quantity", request.quantity, Bound::Quantity)?;
    if request.quantity < Decimal::ZERO {
        return Err(ApiError::invalid_field("quantity", "must not be negative"));
    }
    if !pos_protocol::money::fits_scale(request.quantity, pos_protocol::money::QUANTITY_SCALE) {
        return Err(ApiError::invalid_field(
            "quantity",
            format!(
                "must have at most {} decimal places",
                pos_protocol::money::QUANTITY_SCALE
            ),
        ));
    }
    let batch = request
        .batch_no
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    if batch.is_some_and(|b| b.chars().count() > 100) {
        return Err(ApiError::invalid_field(
            "batch_no",
            "must be at most 100 characters",
        ));
    }
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 255) {
        return Err(ApiError::invalid_field(
            "reason",
            "must be at most 255 characters",
        ));
    }
    let now = pos_protocol::time::now();
    let business_id = user.business_id;
    let mut tx = SyncTx::new(state.store.begin_write().await?);
    let variant = live_variant(tx.exec(), business_id, variant_id).await?;
    if let Some(warehouse) = request.warehouse_id {
        let live = tx
            .exec()
            .fetch_all(
                "SELECT id FROM warehouses WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL",
                &[int(business_id), int(warehouse)],
                &[Column::Int],
            )
            .await?;
        if live.is_empty() {
            return Err(ApiError::invalid_field(
                "warehouse_id",
                format!("no warehouse {warehouse} in this business"),
            ));
        }
    }
    let existing = tx
        .exec()
        .fetch_all(
            "SELECT id FROM stocks WHERE business_id = $1 AND variant_id = $2 AND deleted_at IS NULL \
             AND COALESCE(warehouse_id, 0) = COALESCE($3, 0) AND COALESCE(batch_no, '') = COALESCE($4, '') \
             ORDER BY id LIMIT 1",
            &[
                int(business_id),
                int(variant_id),
                Value::Int(request.warehouse_id),
                Value::Text(batch.map(str::to_string)),
            ],
            &[Column::Int],
        )
        .await?;
    let stock_id = match existing.first().and_then(|r| int_of(r, 0)) {
        Some(id) => id,
        None => tx
            .exec()
            .fetch_all(
                "INSERT INTO stocks (business_id, product_id, variant_id, warehouse_id, batch_no, \
                 product_stock, product_purchase_price, product_sale_price, \
                 product_wholesale_price, product_dealer_price, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11) RETURNING id",
                &[
                    int(business_id),
                    int(variant.product_id),
                    int(variant_id),
                    Value::Int(request.warehouse_id),
                    Value::Text(batch.map(str::to_string)),
                    Value::Decimal(Some(Decimal::ZERO)),
                    Value::Decimal(Some(variant.cost_price.unwrap_or_default())),
                    Value::Decimal(Some(variant.price.unwrap_or_default())),
                    Value::Decimal(Some(variant.wholesale_price.unwrap_or_default())),
                    Value::Decimal(Some(variant.dealer_price.unwrap_or_default())),
                    Value::Time(Some(now)),
                ],
                &[Column::Int],
            )
            .await?
            .first()
            .and_then(|r| int_of(r, 0))
            .ok_or_else(|| ApiError::internal("a stock insert returned nothing"))?,
    };
    let stock = tx
        .stock_for_update(business_id, stock_id)
        .await?
        .ok_or_else(|| ApiError::internal("a stock row vanished"))?;
    let after = match request.operation {
        StockOperation::Set => request.quantity,
        StockOperation::Increment => stock.quantity + request.quantity,
        StockOperation::Decrement => {
            if request.quantity > stock.quantity {
                return Err(ApiError::invalid_field(
                    "quantity",
                    format!("only {} in stock here", stock.quantity.normalize()),
                ));
            }
            stock.quantity - request.quantity
        }
    };
    tx.set_stock(stock.id, after, now).await?;
    audit::record(
        &mut tx,
        &user,
        &headers,
        Change {
            entity: "stock",
            action: "variant_stock",
            entity_id: stock.id,
            after: &json!({
                "variant_id": variant_id,
                "operation": request.operation,
                "quantity": crate::trade::money(request.quantity)?,
                "reason": reason,
                "productStock": {
                    "before": crate::trade::money(stock.quantity)?,
                    "after": crate::trade::money(after)?,
                },
            }),
            before: None,
        },
    )
    .await?;
    let total: Decimal = variant_stock(tx.exec(), business_id, variant_id)
        .await?
        .iter()
        .map(|(q, _)| *q)
        .sum();
    tx.commit().await?;
    let stock_record: Stock = shown(&state, business_id, &spec::STOCKS, &[stock.id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("a stock row written just now is gone"))?;
    Ok(Json(DataResponse::new(
        "Variant stock updated",
        VariantStockUpdate {
            variant_id,
            total_stock: total,
            stock_record,
        },
    )))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate))
        .routes(routes!(find))
        .routes(routes!(duplicate))
        .routes(routes!(bulk))
        .routes(routes!(stock_summary))
        .routes(routes!(set_stock))
}
