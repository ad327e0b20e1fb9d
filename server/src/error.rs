//! The one error type of every handler. It always answers with the shared JSON error body
//! (`pos_protocol::error::ApiErrorBody`), never with text or HTML.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pos_protocol::error::{ApiErrorBody, ErrorCode, FieldErrors, VersionConflict};

use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    // Boxed: errors travel through every `Result` of the handlers, successes should stay small.
    body: Box<ApiErrorBody>,
    /// Seconds a refused client should wait (`Retry-After`).
    retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn from_body(body: ApiErrorBody) -> Self {
        Self {
            body: Box::new(body),
            retry_after: None,
        }
    }

    /// Tells the client when to come back (`Retry-After`, in seconds).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::from_body(ApiErrorBody::new(code, message))
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn invalid_field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::from_body(ApiErrorBody::invalid_field(field, problem))
    }

    /// A 422 listing every field that is wrong, not only the first.
    pub fn invalid_fields(errors: FieldErrors) -> Self {
        let summary = errors
            .iter()
            .map(|(field, problems)| format!("{field}: {}", problems.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        let mut body = ApiErrorBody::new(ErrorCode::ValidationFailed, summary);
        body.errors = Some(errors);
        Self::from_body(body)
    }

    /// The problems per field of a 422 (its message under `body` when it names no field), so
    /// a caller checking a list can file them under each item's position.
    pub fn field_errors(self) -> FieldErrors {
        let body = *self.body;
        body.errors
            .unwrap_or_else(|| FieldErrors::from([("body".to_string(), vec![body.message])]))
    }

    pub fn version_conflict(conflict: VersionConflict) -> Self {
        Self::from_body(ApiErrorBody::version_conflict(conflict))
    }

    /// Logs the cause for the operator; the client only learns that it was our fault.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::Internal, "Internal server error")
    }

    pub fn code(&self) -> ErrorCode {
        self.body.error
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.body.error.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(*self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Duplicate(what) => {
                Self::new(ErrorCode::Conflict, format!("{what} already exists"))
            }
            other => Self::internal(other),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.body.error, self.body.message)
    }
}

impl std::error::Error for ApiError {}
