//! RFC 9457 problem details: every error response, never a stack trace or a secret.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::FieldError;
use crate::service::ServiceError;

/// An error response.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

/// An RFC 9457 problem (`application/problem+json`). Never a stack trace, never a secret.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "type": "urn:hrvault:problem:validation", "title": "Unprocessable Entity", "status": 422,
    "detail": "one or more fields are invalid",
    "errors": [{"field": "ssn", "message": "must be AAA-GG-SSSS or 9 digits"}]
})))]
pub(super) struct Problem<'a> {
    /// `urn:hrvault:problem:<slug>`, e.g. `urn:hrvault:problem:not-found`.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    kind: String,
    /// The status code's reason phrase.
    #[schema(value_type = String)]
    title: &'a str,
    /// The HTTP status code.
    status: u16,
    /// What went wrong, without any submitted value.
    detail: String,
    /// Validation (422) and some conflicts (409): one entry per rejected field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<FieldError>, nullable = false)]
    errors: Option<&'a [FieldError]>,
}

/// A problem+json response.
pub fn problem(
    status: StatusCode,
    slug: &str,
    detail: impl Into<String>,
    errors: Option<&[FieldError]>,
) -> Response {
    let body = Problem {
        kind: format!("urn:hrvault:problem:{slug}"),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail: detail.into(),
        errors,
    };
    let mut resp = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

/// The status, problem slug and detail of an error: one table for the JSON problem and the
/// console's error page, so both say the same thing.
pub(super) fn describe(e: &ServiceError) -> (StatusCode, &'static str, String) {
    match e {
        ServiceError::BadRequest(d) => (StatusCode::BAD_REQUEST, "bad-request", d.clone()),
        ServiceError::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing, invalid, expired or revoked credentials".into(),
        ),
        ServiceError::Forbidden(d) => (StatusCode::FORBIDDEN, "forbidden", d.clone()),
        ServiceError::NotFound => (
            StatusCode::NOT_FOUND,
            "not-found",
            "no such resource".into(),
        ),
        ServiceError::Conflict { message, .. } => {
            (StatusCode::CONFLICT, "conflict", message.clone())
        }
        ServiceError::UnsupportedMediaType(d) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            d.clone(),
        ),
        ServiceError::PreconditionFailed => (
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "the record has changed since the version in If-Match".into(),
        ),
        ServiceError::Invalid(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "one or more fields are invalid".into(),
        ),
        ServiceError::RateLimited(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "too many attempts; retry later".into(),
        ),
        ServiceError::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the audit log cannot be written; no data is returned".into(),
        ),
        ServiceError::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error (details are in the server log)".into(),
        ),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, detail) = describe(&self.0);
        let errors = match &self.0 {
            ServiceError::Invalid(errs) => Some(errs.0.clone()),
            ServiceError::Conflict {
                field: Some(f),
                message,
            } => Some(vec![FieldError {
                field: (*f).into(),
                message: message.clone(),
            }]),
            _ => None,
        };
        let mut r = problem(status, slug, detail, errors.as_deref());
        match self.0 {
            ServiceError::Unauthorized => {
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"hrvault\""),
                );
            }
            ServiceError::RateLimited(secs) => {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            _ => {}
        }
        r
    }
}
