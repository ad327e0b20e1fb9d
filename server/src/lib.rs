//! pos-server: the point-of-sale backend.
//!
//! `app(state)` builds the HTTP application from one route table (which also yields the
//! OpenAPI document); `launch(settings, listener, shutdown)` opens the database, applies the
//! migrations and serves until `shutdown` resolves. Tests bind `127.0.0.1:0` and call
//! `launch`, so they never wait on a fixed port or a sleep.
//!
//! Layers, outermost first: trace → CORS → server timestamp → body limit → idempotency →
//! handler → domain rules (`auth`, `resources`) → `store` (one trait, one SQL module per
//! database).

pub mod audit;
pub mod auth;
pub mod batches;
pub mod business;
pub mod conflicts;
pub mod devices;
pub mod discrepancies;
pub mod error;
pub mod extract;
pub mod maintenance;
pub mod middleware;
pub mod resources;
pub mod seed;
pub mod settings;
pub mod statistics;
pub mod store;
pub mod sync;
pub mod users;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use pos_protocol::error::ErrorCode;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignInLimiter;
use crate::error::ApiError;
pub use crate::settings::Settings;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub sign_in_limiter: Arc<SignInLimiter>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        let sign_in_limiter = Arc::new(SignInLimiter::new(
            settings.sign_in_window,
            settings.sign_in_failures_per_account,
            settings.sign_in_failures_per_address,
        ));
        Self {
            store,
            settings: Arc::new(settings),
            sign_in_limiter,
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "pos-server", description = "Offline-first point of sale: backend API"),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// Every route, declared once: the router and the OpenAPI document both come from here.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::sign_in))
        .routes(routes!(auth::sign_out))
        .routes(routes!(auth::refresh_token_get, auth::refresh_token_post))
        .routes(routes!(sync::health))
        .routes(routes!(sync::register))
        .routes(routes!(sync::full))
        .routes(routes!(sync::changes))
        .routes(routes!(sync::batch::batch))
        .routes(routes!(devices::list))
        .routes(routes!(conflicts::list))
        .routes(routes!(conflicts::resolve))
        .routes(routes!(discrepancies::list))
        .routes(routes!(discrepancies::resolve))
        .merge(resources::catalog::router())
        // Back office.
        .routes(routes!(users::list, users::create))
        .routes(routes!(
            users::show,
            users::replace,
            users::patch,
            users::delete
        ))
        .routes(routes!(
            users::profile,
            users::profile_post,
            users::profile_put
        ))
        .routes(routes!(business::show))
        .routes(routes!(business::update))
        .routes(routes!(
            business::settings,
            business::settings_put,
            business::settings_patch
        ))
        .routes(routes!(business::invoice_settings_show))
        .routes(routes!(business::invoice_settings_update))
        .routes(routes!(business::new_invoice))
        .routes(routes!(business::currencies))
        .routes(routes!(business::business_categories))
        .routes(routes!(batches::of_product))
        .routes(routes!(batches::select_batches))
        .routes(routes!(batches::expiring))
        .routes(routes!(batches::expired))
        .routes(routes!(batches::show))
        .routes(routes!(batches::movements_of))
        .routes(routes!(statistics::summary))
        .routes(routes!(statistics::dashboard))
        .routes(routes!(statistics::invoices))
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

async fn route_not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "No such route")
}

async fn method_not_allowed() -> impl IntoResponse {
    let mut response =
        ApiError::new(ErrorCode::NotFound, "This route does not take this method").into_response();
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers(Any)
}

pub fn app(state: AppState) -> Router {
    let (router, document) = api_routes().split_for_parts();
    let document = Arc::new(document);
    router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::idempotency,
        ))
        .layer(DefaultBodyLimit::max(state.settings.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::body_limit,
        ))
        .layer(axum::middleware::from_fn(middleware::server_timestamp))
        .layer(cors(&state.settings.cors_origins))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Opens the database, applies its migrations and serves on `listener` until `shutdown`
/// resolves; requests in flight are finished first.
pub async fn launch(
    settings: Settings,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = store::connect(&settings.database_url).await?;
    store.migrate().await?;
    let cleanup = tokio::spawn(maintenance::daily_cleanup(
        store.clone(),
        settings.cleanup_days,
        settings.stale_device_days,
    ));
    let state = AppState::new(store, settings);
    tracing::info!(address = %listener.local_addr()?, "serving");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    cleanup.abort();
    Ok(())
}
