//! Extractors that answer every rejection with the shared JSON error body, naming the field
//! that is wrong.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use pos_protocol::error::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Unknown fields are ignored (old clients send extras); a syntax error, a wrong
/// type or a missing field is a 422 naming where it is.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON, naming the path of the first problem (`products[2].quantities`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_field("body", "a JSON body is required"));
    }
    if let Some(field) = nul_inside(bytes) {
        return Err(ApiError::invalid_field(
            field,
            "text may not contain NUL characters",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        // A syntax error spoils the whole body; a data error belongs to the field at `path`.
        let message = err.inner().to_string();
        let field = if err.inner().is_syntax() || err.inner().is_eof() {
            "body".to_string()
        } else {
            field_at(&path, &message)
        };
        ApiError::invalid_field(field, message)
    })
}

/// The field a data error belongs to: the one at `path`, or the one serde says is missing
/// there (it names a missing field only in its message).
fn field_at(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .filter(|name| !name.is_empty());
    match (path, missing) {
        (".", Some(name)) => name.to_string(),
        (".", None) => "body".to_string(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_string(),
    }
}

/// The parameter a query string rejection names (`... query string: per_page: invalid
/// digit`), else `query`.
fn query_field(text: &str) -> String {
    text.strip_prefix("Failed to deserialize query string: ")
        .and_then(|rest| rest.split_once(": "))
        .map(|(name, _)| name)
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '[' || c == ']')
        })
        .unwrap_or("query")
        .to_string()
}

/// Where a JSON body holds a string with a NUL character, which PostgreSQL cannot store as
/// text (SQLite would, so the two databases would disagree): `operations[0].data.name`.
/// JSON can carry NUL only escaped, so bodies without `\u0000` are not walked.
fn nul_inside(bytes: &[u8]) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => Some(path.to_string()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.contains('\0') {
                    Some(at)
                } else {
                    walk(item, &at)
                }
            }),
            _ => None,
        }
    }
    const ESCAPED_NUL: &[u8] = b"\\u0000";
    if !bytes.windows(ESCAPED_NUL.len()).any(|w| w == ESCAPED_NUL) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, "").map(|path| if path.is_empty() { "body".into() } else { path })
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection: BytesRejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large")
            } else {
                ApiError::invalid_field("body", rejection.body_text())
            }
        })
}

/// Query parameters; a bad one is a 422 naming it.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection: QueryRejection| {
                let text = rejection.body_text();
                ApiError::invalid_field(query_field(&text), text)
            })
    }
}

/// Path parameters; `/products/abc` is a 422 naming the id, not a plain-text 400.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection: PathRejection| {
                ApiError::invalid_field("path", rejection.body_text())
            })
    }
}

/// Reads a JSON value already parsed (a body taken as `ApiJson<Value>` so that the caller's
/// role is checked before its shape), naming the field that is wrong.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let message = err.inner().to_string();
        ApiError::invalid_field(field_at(&err.path().to_string(), &message), message)
    })
}

#[cfg(test)]
mod field_tests {
    #[test]
    fn a_missing_field_is_named() {
        assert_eq!(
            super::field_at(".", "missing field `new_sku` at line 1"),
            "new_sku"
        );
        assert_eq!(
            super::field_at("products[1]", "missing field `quantities`"),
            "products[1].quantities"
        );
        assert_eq!(super::field_at("price", "invalid type: string"), "price");
        assert_eq!(super::field_at(".", "invalid type: string"), "body");
    }

    #[test]
    fn a_wrong_query_parameter_is_named() {
        assert_eq!(
            super::query_field(
                "Failed to deserialize query string: per_page: invalid digit found in string"
            ),
            "per_page"
        );
        assert_eq!(super::query_field("something else"), "query");
    }
}

#[cfg(test)]
mod nul_tests {
    #[test]
    fn a_nul_in_text_is_named_by_its_path() {
        let body = br#"{"operations": [{"data": {"name": "a\u0000b"}}]}"#;
        assert_eq!(
            super::nul_inside(body).as_deref(),
            Some("operations[0].data.name")
        );
        assert_eq!(
            super::nul_inside(br#"{"name": "plain \\u0000 text"}"#),
            None
        );
        assert_eq!(super::nul_inside(br#"{"name": "plain"}"#), None);
    }
}
