//! Login, logout and the OAuth 2.0 client-credentials token endpoint.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::SecretString;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::error::ApiError;
use super::extract::{Auth, Body, Ctx, json, parse_json};
use crate::model::{FieldError, ValidationErrors};
use crate::service::{ServiceError, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/oauth/token", post(token))
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct Login {
    username: Option<String>,
    password: Option<String>,
}

async fn login(
    State(v): State<Vault>,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let req: Login = parse_json(body)?;
    let (Some(username), Some(password)) = (req.username.as_deref(), req.password.as_deref())
    else {
        let mut errs = Vec::new();
        for (f, present) in [
            ("username", req.username.is_some()),
            ("password", req.password.is_some()),
        ] {
            if !present {
                errs.push(FieldError {
                    field: f.into(),
                    message: "is required".into(),
                });
            }
        }
        return Err(ServiceError::Invalid(ValidationErrors(errs)).into());
    };
    let grant = v
        .login(&ctx, username, SecretString::from(password.to_owned()))
        .await?;
    Ok(json(StatusCode::OK, &grant))
}

async fn logout(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
) -> Result<Response, ApiError> {
    v.logout(&p, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// RFC 6749 §5.2 error body.
fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> Response {
    let mut r = json(
        status,
        &serde_json::json!({ "error": error, "error_description": description }),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

/// `POST /v1/oauth/token`, `application/x-www-form-urlencoded` (RFC 6749 §4.4).
async fn token(State(v): State<Vault>, Ctx(ctx): Ctx, Body(body): Body) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<TokenForm>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a form with grant_type, client_id and client_secret",
        );
    };
    match form.grant_type.as_deref() {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            );
        }
    }
    let (Some(id), Some(secret)) = (form.client_id.as_deref(), form.client_secret.as_deref())
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    match v
        .client_credentials(&ctx, id, SecretString::from(secret.to_owned()))
        .await
    {
        Ok(grant) => json(StatusCode::OK, &grant),
        Err(ServiceError::Unauthorized) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ),
        Err(ServiceError::RateLimited(secs)) => {
            let mut r = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                "too many failed attempts; retry later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
        Err(other) => ApiError(other).into_response(),
    }
}
