//! Route declarations of the catalog and party resources. Each resource is one line of
//! `resource!`; the handlers it declares only call the generic code in `resources/mod.rs`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use pos_protocol::entities::{
    Brand, Category, Party, PaymentType, Product, Stock, Unit, Vat, Warehouse,
};
use pos_protocol::error::ApiErrorBody;
use pos_protocol::office::ProductVariant;
use pos_protocol::page::{PageQuery, Paged};
use pos_protocol::DataResponse;
use serde_json::Value as JsonValue;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::spec;
use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;

/// Declares list, create, show, update (PUT and PATCH) and delete for one resource.
macro_rules! resource {
    ($module:ident, $spec:path, $entity:ident, $tag:tt, $collection:tt, $item:tt) => {
        pub mod $module {
            use super::*;

            #[utoipa::path(get, path = $collection, tag = $tag, params(PageQuery),
                responses((status = 200, description = "One page of live records", body = Paged<$entity>)),
                security(("bearer" = [])))]
            pub async fn list(
                State(state): State<AppState>,
                user: AuthUser,
                ApiQuery(page): ApiQuery<PageQuery>,
            ) -> ApiResult<Json<Paged<$entity>>> {
                crate::resources::list(&state, &user, &$spec, page).await
            }

            #[utoipa::path(post, path = $collection, tag = $tag, request_body = Object,
                responses((status = 201, description = "Created", body = DataResponse<$entity>),
                          (status = 403, description = "The role may not change this", body = ApiErrorBody),
                          (status = 422, description = "A field is wrong", body = ApiErrorBody)),
                security(("bearer" = [])))]
            pub async fn create(
                State(state): State<AppState>,
                user: AuthUser,
                ApiJson(body): ApiJson<JsonValue>,
            ) -> ApiResult<(StatusCode, Json<DataResponse<$entity>>)> {
                crate::resources::create(&state, &user, &$spec, body).await
            }

            #[utoipa::path(get, path = $item, tag = $tag, params(("id" = i64, Path)),
                responses((status = 200, description = "The record", body = DataResponse<$entity>),
                          (status = 404, description = "Not in this business", body = ApiErrorBody)),
                security(("bearer" = [])))]
            pub async fn show(
                State(state): State<AppState>,
                user: AuthUser,
                ApiPath(id): ApiPath<i64>,
            ) -> ApiResult<Json<DataResponse<$entity>>> {
                crate::resources::show(&state, &user, &$spec, id).await
            }

            #[utoipa::path(put, path = $item, tag = $tag, params(("id" = i64, Path)), request_body = Object,
                responses((status = 200, description = "Updated", body = DataResponse<$entity>),
                          (status = 409, description = "Based on a stale version", body = ApiErrorBody)),
                security(("bearer" = [])))]
            pub async fn replace(
                State(state): State<AppState>,
                user: AuthUser,
                ApiPath(id): ApiPath<i64>,
                headers: HeaderMap,
                ApiJson(body): ApiJson<JsonValue>,
            ) -> ApiResult<Json<DataResponse<$entity>>> {
                crate::resources::update(&state, &user, &$spec, id, &headers, body).await
            }

            #[utoipa::path(patch, path = $item, tag = $tag, params(("id" = i64, Path)), request_body = Object,
                responses((status = 200, description = "Updated", body = DataResponse<$entity>),
                          (status = 409, description = "Based on a stale version", body = ApiErrorBody)),
                security(("bearer" = [])))]
            pub async fn patch(
                State(state): State<AppState>,
                user: AuthUser,
                ApiPath(id): ApiPath<i64>,
                headers: HeaderMap,
                ApiJson(body): ApiJson<JsonValue>,
            ) -> ApiResult<Json<DataResponse<$entity>>> {
                crate::resources::update(&state, &user, &$spec, id, &headers, body).await
            }

            #[utoipa::path(delete, path = $item, tag = $tag, params(("id" = i64, Path)),
                responses((status = 200, description = "Soft-deleted", body = DataResponse<$entity>),
                          (status = 404, description = "Not in this business", body = ApiErrorBody)),
                security(("bearer" = [])))]
            pub async fn delete(
                State(state): State<AppState>,
                user: AuthUser,
                ApiPath(id): ApiPath<i64>,
                headers: HeaderMap,
            ) -> ApiResult<Json<DataResponse<$entity>>> {
                crate::resources::delete(&state, &user, &$spec, id, &headers).await
            }

            pub fn router() -> OpenApiRouter<AppState> {
                OpenApiRouter::new()
                    .routes(routes!(list, create))
                    .routes(routes!(show, replace, patch, delete))
            }
        }
    };
}

resource!(
    products,
    spec::PRODUCTS,
    Product,
    "products",
    "/api/v1/products",
    "/api/v1/products/{id}"
);
resource!(
    categories,
    spec::CATEGORIES,
    Category,
    "categories",
    "/api/v1/categories",
    "/api/v1/categories/{id}"
);
resource!(
    brands,
    spec::BRANDS,
    Brand,
    "brands",
    "/api/v1/brands",
    "/api/v1/brands/{id}"
);
resource!(
    units,
    spec::UNITS,
    Unit,
    "units",
    "/api/v1/units",
    "/api/v1/units/{id}"
);
resource!(
    vats,
    spec::VATS,
    Vat,
    "vats",
    "/api/v1/vats",
    "/api/v1/vats/{id}"
);
resource!(
    payment_types,
    spec::PAYMENT_TYPES,
    PaymentType,
    "payment-types",
    "/api/v1/payment-types",
    "/api/v1/payment-types/{id}"
);
resource!(
    warehouses,
    spec::WAREHOUSES,
    Warehouse,
    "warehouses",
    "/api/v1/warehouses",
    "/api/v1/warehouses/{id}"
);
resource!(
    parties,
    spec::PARTIES,
    Party,
    "parties",
    "/api/v1/parties",
    "/api/v1/parties/{id}"
);
resource!(
    stocks,
    spec::STOCKS,
    Stock,
    "stocks",
    "/api/v1/stocks",
    "/api/v1/stocks/{id}"
);

/// A scanned code: the product's barcode, or else its product code.
#[utoipa::path(get, path = "/api/v1/products/by-barcode/{code}", tag = "products",
    params(("code" = String, Path)),
    responses((status = 200, description = "The product", body = DataResponse<Product>),
              (status = 404, description = "No product has this code", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn product_by_barcode(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<DataResponse<Product>>> {
    crate::resources::find_by_code(
        &state,
        &user,
        &spec::PRODUCTS,
        &["barcode", "product_code"],
        &code,
    )
    .await
}

resource!(
    variants,
    spec::VARIANTS,
    ProductVariant,
    "variants",
    "/api/v1/variants",
    "/api/v1/variants/{id}"
);

/// The product's live variants.
#[utoipa::path(get, path = "/api/v1/products/{id}/variants", tag = "variants",
    params(("id" = i64, Path), PageQuery),
    responses((status = 200, description = "One page of the product's variants", body = Paged<ProductVariant>),
              (status = 404, description = "No such product in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn product_variants(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<ProductVariant>>> {
    crate::resources::list_of(
        &state,
        &user,
        &spec::VARIANTS,
        (&spec::PRODUCTS, "product_id", id),
        page,
    )
    .await
}

/// A new variant of the product named by the path.
#[utoipa::path(post, path = "/api/v1/products/{id}/variants", tag = "variants",
    params(("id" = i64, Path)), request_body = Object,
    responses((status = 201, description = "Created", body = DataResponse<ProductVariant>),
              (status = 403, description = "The role may not change this", body = ApiErrorBody),
              (status = 404, description = "No such product in this business", body = ApiErrorBody),
              (status = 422, description = "A field is wrong", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn create_product_variant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<JsonValue>,
) -> ApiResult<(StatusCode, Json<DataResponse<ProductVariant>>)> {
    crate::resources::create_under(
        &state,
        &user,
        &spec::VARIANTS,
        (&spec::PRODUCTS, "product_id", id),
        body,
    )
    .await
}

/// A scanned code: the variant's barcode, or else its SKU.
#[utoipa::path(get, path = "/api/v1/variants/by-barcode/{code}", tag = "variants",
    params(("code" = String, Path)),
    responses((status = 200, description = "The variant", body = DataResponse<ProductVariant>),
              (status = 404, description = "No variant has this code", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn variant_by_barcode(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<DataResponse<ProductVariant>>> {
    crate::resources::find_by_code(&state, &user, &spec::VARIANTS, &["barcode", "sku"], &code).await
}

/// Takes a variant off sale, or puts it back.
#[utoipa::path(patch, path = "/api/v1/variants/{id}/toggle-active", tag = "variants",
    params(("id" = i64, Path)),
    responses((status = 200, description = "Toggled", body = DataResponse<ProductVariant>),
              (status = 403, description = "The role may not change this", body = ApiErrorBody),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn toggle_variant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DataResponse<ProductVariant>>> {
    crate::resources::toggle(&state, &user, &spec::VARIANTS, id, "is_active").await
}

/// The original client's paged category list: the same pages as `GET /categories`.
#[utoipa::path(get, path = "/api/v1/categories/paginated", tag = "categories", params(PageQuery),
    responses((status = 200, description = "One page of live categories", body = Paged<Category>)),
    security(("bearer" = [])))]
pub async fn categories_paginated(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> ApiResult<Json<Paged<Category>>> {
    crate::resources::list(&state, &user, &spec::CATEGORIES, page).await
}

/// Brings a deleted party back, with the due it had; a live party is answered as it is.
#[utoipa::path(post, path = "/api/v1/parties/{id}/restore", tag = "parties",
    params(("id" = i64, Path)),
    responses((status = 200, description = "Restored", body = DataResponse<Party>),
              (status = 404, description = "Not in this business", body = ApiErrorBody)),
    security(("bearer" = [])))]
pub async fn restore_party(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<DataResponse<Party>>> {
    crate::resources::restore(&state, &user, &spec::PARTIES, id, &headers).await
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(categories_paginated))
        .routes(routes!(restore_party))
        .merge(variants::router())
        .routes(routes!(product_variants, create_product_variant))
        .routes(routes!(variant_by_barcode))
        .routes(routes!(toggle_variant))
        .merge(products::router())
        .routes(routes!(product_by_barcode))
        .merge(categories::router())
        .merge(brands::router())
        .merge(units::router())
        .merge(vats::router())
        .merge(payment_types::router())
        .merge(warehouses::router())
        .merge(parties::router())
        .merge(stocks::router())
}
