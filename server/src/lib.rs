//! pos-server: the point-of-sale backend.
//!
//! `app(state)` builds the HTTP application from one route table (which also yields the
//! OpenAPI document); `launch(settings, listener, shutdown)` opens the database, applies the
//! migrations and serves until `shutdown` resolves. Tests bind `127.0.0.1:0` and call
//! `launch`, so they never wait on a fixed port or a sleep.
//!
//! Layers, outermost first (each runs after routing, so it knows the route): trace → CORS →
//! server timestamp → bearer token (before any body is read) → NUL in the URL refused →
//! body limit → run to completion (writes survive a client hanging up) → idempotency →
//! handler → domain rules (`auth`, `resources`) → `store` (one trait, one SQL module per
//! database).

pub mod audit;
pub mod auth;
pub mod backup;
pub mod batches;
pub mod business;
pub mod conflicts;
pub mod devices;
pub mod discrepancies;
pub mod error;
pub mod extract;
pub mod maintenance;
pub mod middleware;
pub mod office;
pub mod resources;
pub mod review_queue;
pub mod seed;
pub mod settings;
pub mod shifts;
pub mod statistics;
pub mod store;
pub mod sync;
pub mod tls;
pub mod trade;
pub mod users;
pub mod variants;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use axum_server::tls_rustls::RustlsConfig;
use pos_protocol::error::ErrorCode;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_scalar::{Scalar, Servable};

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
    pub sale_turns: Arc<sync::batch::SaleTurns>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        let sign_in_limiter = Arc::new(SignInLimiter::new(&settings));
        Self {
            store,
            settings: Arc::new(settings),
            sign_in_limiter,
            sale_turns: Arc::default(),
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
        // Store operations: shift reports and the rescue import.
        .routes(routes!(shifts::list))
        .routes(routes!(shifts::show))
        .routes(routes!(sync::rescue::rescue))
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
        .routes(routes!(business::show, business::store))
        .routes(routes!(business::delete_business))
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
        .routes(routes!(business::currency))
        .routes(routes!(business::business_categories))
        .routes(routes!(batches::of_product))
        .routes(routes!(batches::of_variant))
        .routes(routes!(batches::select_batches))
        .routes(routes!(batches::expiring))
        .routes(routes!(batches::expired))
        .routes(routes!(batches::show))
        .routes(routes!(batches::movements_of))
        .routes(routes!(statistics::summary))
        .routes(routes!(statistics::dashboard))
        .routes(routes!(statistics::invoices))
        .merge(trade::router())
        .merge(variants::router())
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = api_routes().split_for_parts().1;
    document_common_errors(&mut document);
    document
}

/// Adds the error answers every route shares (each the shared error body), where a route did
/// not document them itself: 401 behind a token, 404 for an id in the path (another
/// business's row answers it too), 422 and 413 for a body, 422 for parameters, 409 for a
/// write's idempotency key still in progress, 500 for everything.
fn document_common_errors(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ApiErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in document.paths.paths.iter_mut() {
        let has_path_id = path.contains('{');
        for (write, operation) in [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (false, item.delete.as_mut()),
        ] {
            let Some(operation) = operation else { continue };
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_body = operation.request_body.is_some();
            let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let answers = &mut operation.responses.responses;
            let mut add = |code: &str, description: &str| {
                answers
                    .entry(code.to_string())
                    .or_insert_with(|| error(description));
            };
            if secured {
                add("401", "No valid token (`unauthenticated`)");
            }
            if has_path_id {
                add(
                    "404",
                    "No such record in the caller's business (`not_found`)",
                );
            }
            if has_body || has_params {
                add(
                    "422",
                    "A field or parameter is wrong; `errors` names it (`validation_failed`)",
                );
            }
            if has_body {
                add(
                    "413",
                    "The body is larger than the limit (`payload_too_large`)",
                );
            }
            if write && secured {
                add(
                    "409",
                    "The same idempotency key is still being answered (`idempotency_key_in_progress`)",
                );
            }
            add("500", "The server failed (`internal`); nothing was applied");
        }
    }
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
    let (router, mut document) = api_routes().split_for_parts();
    document_common_errors(&mut document);
    // The interactive reference page; the document itself stays at /api/v1/openapi.json.
    let docs: Router<AppState> = Scalar::with_url("/api/docs", document.clone()).into();
    let document = Arc::new(document);
    router
        .merge(docs)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        // The back office's web app answers every path the API does not.
        .fallback(office::serve)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::idempotency,
        ))
        .layer(axum::middleware::from_fn(middleware::run_to_completion))
        .layer(DefaultBodyLimit::max(state.settings.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::body_limit,
        ))
        .layer(axum::middleware::from_fn(middleware::refuse_nul_in_url))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::require_token,
        ))
        .layer(axum::middleware::from_fn(middleware::server_timestamp))
        .layer(cors(&state.settings.cors_origins))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Opens the database, applies its migrations and serves on `listener` until `shutdown`
/// resolves; requests in flight are finished first. Speaks HTTPS when `tls::uses_tls` says so
/// for the listener's address, printing the certificate's fingerprint.
pub async fn launch(
    settings: Settings,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    large_blocks_from_the_kernel();
    let store = store::connect(&settings.database_url).await?;
    store.migrate().await?;
    let cleanup = tokio::spawn(maintenance::daily_cleanup(
        store.clone(),
        settings.cleanup_days,
        settings.stale_device_days,
    ));
    let address = listener.local_addr()?;
    let identity = tls::uses_tls(&settings, address)
        .then(|| tls::load_or_create_identity(&settings))
        .transpose()?;
    let service =
        app(AppState::new(store, settings)).into_make_service_with_connect_info::<SocketAddr>();
    match identity {
        None => {
            tracing::info!(%address, "serving plain http");
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        Some(identity) => {
            // On standard output whatever the log format: the owner compares this with what
            // the till shows at its first sign-in.
            println!(
                "serving https on {address}; certificate SHA-256 fingerprint {}",
                identity.fingerprint
            );
            tracing::info!(%address, fingerprint = %identity.fingerprint,
                certificate = %identity.source.display(), "serving https");
            let config = RustlsConfig::from_config(tls::server_config(identity)?);
            let handle = axum_server::Handle::new();
            let stopping = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopping.graceful_shutdown(None);
            });
            axum_server::from_tcp_rustls(listener.into_std()?, config)?
                .handle(handle)
                .serve(service)
                .await?;
        }
    }
    cleanup.abort();
    Ok(())
}

/// Blocks of a mebibyte or more are mapped from the kernel for each allocation and given back
/// when freed, instead of staying in glibc's per-thread arenas.
///
/// glibc raises its mmap threshold (up to 32 MiB) each time a mapped block is freed, so after
/// the first argon2 hash (19 MiB, see `auth::argon2_work`) every later one is carved out of the
/// arena of whichever blocking thread runs it, and a freed hash stays resident there: after
/// fifty terminals signed in, four arenas held 57 MiB each (289 MiB resident, under 55 MiB in
/// use), and each further thread that hashes can fill one more. A fixed threshold turns that
/// adjustment off.
fn large_blocks_from_the_kernel() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 1024 * 1024;
        // SAFETY: mallopt only changes allocator parameters; glibc takes its own lock.
        let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
        if set != 1 {
            tracing::warn!("cannot set the allocator's mmap threshold");
        }
    }
}
