//! The service's error type: one variant per HTTP status the contract names.

use crate::audit::AuditError;
use crate::crypto::CryptoError;
use crate::model::ValidationErrors;
use crate::store::StoreError;

/// What went wrong, in terms a client can act on. Internal details are logged where they occur,
/// never carried here.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// 400: malformed input.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no, bad, expired or revoked token; bad credentials; disabled user.
    #[error("authentication required")]
    Unauthorized,
    /// 403: the role may not do this (already audited as `access.denied`).
    #[error("{0}")]
    Forbidden(String),
    /// 404: unknown or shredded id.
    #[error("not found")]
    NotFound,
    /// 409: a unique value is taken, or a key was reused with another body.
    #[error("{message}")]
    Conflict {
        /// The field concerned, if any.
        field: Option<&'static str>,
        /// What conflicts.
        message: String,
    },
    /// 415: the body is not of the media type the route takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 412: `If-Match` names a stale version.
    #[error("the record has changed since that version")]
    PreconditionFailed,
    /// 422: field rules.
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// 429: too many attempts; retry after the given seconds.
    #[error("too many attempts")]
    RateLimited(u64),
    /// 503: the audit log could not be written (fail closed) or the vault is sealed.
    #[error("service unavailable")]
    Unavailable,
    /// 500: a bug or a damaged store; details are in the server log.
    #[error("internal error")]
    Internal,
}

impl ServiceError {
    /// A 409 on one field.
    pub fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            field: Some(field),
            message: message.into(),
        }
    }

    /// A 422 on one field.
    pub fn invalid(field: &str, message: &str) -> Self {
        Self::Invalid(ValidationErrors::one(field, message))
    }
}

impl From<AuditError> for ServiceError {
    fn from(_: AuditError) -> Self {
        ServiceError::Unavailable
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        if let StoreError::Unavailable(_) = e {
            tracing::error!(error = %e, "store unavailable");
            return ServiceError::Unavailable;
        }
        tracing::error!(error = %e, "store failure");
        ServiceError::Internal
    }
}

impl From<CryptoError> for ServiceError {
    fn from(e: CryptoError) -> Self {
        tracing::error!(error = %e, "crypto failure");
        ServiceError::Internal
    }
}
