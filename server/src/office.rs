//! The back office: the web app built from `office/` into `office/dist`, answered at `/`
//! beside the API. A release build carries the files inside the binary, so one binary is still
//! the whole server; a debug build reads them from `office/dist` when asked, so a rebuilt app
//! shows without recompiling. Every path that is not a file of the app gets `index.html`, where
//! the app's router takes over; paths under `/api` never do (they answer the API's 404).

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use pos_protocol::error::ErrorCode;
use rust_embed::RustEmbed;

use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "../office/dist/"]
#[allow_missing = true]
struct Built;

/// What a server built without the app answers: how to build it, never a failure.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Back office not built</title></head><body style=\"font-family: sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em\">\
<h1>The back office is not built into this server</h1>\
<p>The API works (see <a href=\"/api/docs\">/api/docs</a>), but the web app was not built \
when this server was. Build it, then build the server again (a debug build picks it up on \
the next request):</p>\
<pre>cd office &amp;&amp; npm ci &amp;&amp; npm run build\ncargo build --release -p pos-server</pre>\
</body></html>";

/// Hashed file names (`assets/index-3f2a….js`) never change content, so browsers keep them;
/// `index.html` is asked for again each time, so a new server brings the new app.
fn cache_control(path: &str) -> &'static str {
    if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

fn file(path: &str) -> Option<Response> {
    let found = Built::get(path)?;
    let mime = found.metadata.mimetype().to_owned();
    let mut response = found.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(path)),
    );
    Some(response)
}

/// The router's fallback: the app's files, `index.html` for the app's own pages, the API's
/// JSON 404 for anything under `/api` or asked with a method that reads nothing.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let reads = method == Method::GET || method == Method::HEAD;
    if !reads || path == "api" || path.starts_with("api/") {
        return ApiError::new(ErrorCode::NotFound, "No such route").into_response();
    }
    if let Some(response) = file(path) {
        return response;
    }
    // A missing file (a stale hashed asset, a typo) is a 404, not the page in its place.
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "No such file").into_response();
    }
    file("index.html").unwrap_or_else(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CACHE_CONTROL, "no-cache")],
            Html(NOT_BUILT),
        )
            .into_response()
    })
}
