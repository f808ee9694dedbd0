//! Login, logout and the OAuth 2.0 client-credentials token endpoint.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::error::ApiError;
use super::extract::{Auth, Body, Ctx, json, parse_json};
use super::openapi::{
    BadRequest, Internal, Invalid, PayloadTooLarge, TooManyRequests, Unauthorized, Unavailable,
};
use crate::auth::parse_token_request;
use crate::model::{FieldError, ValidationErrors};
use crate::service::{ServiceError, TokenGrant, Vault};

pub(super) fn router() -> OpenApiRouter<Vault> {
    OpenApiRouter::default()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(token))
        .routes(routes!(jwks))
}

/// The public key that verifies access tokens (RFC 7517 JWK Set; no auth).
///
/// One Ed25519 key (`kty` `OKP`, RFC 8037); its `kid` (the RFC 7638 thumbprint) is in every
/// token's header. Verify with any JOSE library: algorithm `EdDSA`, `iss` `hrvault`, `aud`
/// `hrvault-api`, `exp` required.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "auth",
    responses(
        (status = 200, description = "The JWK Set.", body = crate::auth::Jwks,
         content_type = "application/jwk-set+json"),
    )
)]
async fn jwks(State(v): State<Vault>) -> Response {
    match serde_json::to_vec(&v.jwks()) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/jwk-set+json")],
            body,
        )
            .into_response(),
        Err(_) => ApiError(ServiceError::Internal).into_response(),
    }
}

/// `POST /v1/auth/login` body. Holds a password: zeroized, no `Debug`.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LoginRequest, description = "A username and password.")]
struct Login {
    #[schema(required, nullable = false)]
    username: Option<String>,
    #[schema(required, nullable = false, format = Password)]
    password: Option<String>,
}

/// Sign in with a username and password.
///
/// Wrong credentials get the same 401 whether or not the user exists. Failed attempts are
/// limited per username (default 10 a minute); successful ones are not.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    operation_id = "login",
    tag = "auth",
    request_body = Login,
    responses(
        (status = 200, description = "Signed in.", body = TokenGrant),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
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

/// Revoke the token used for this request, at once.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    operation_id = "logout",
    tag = "auth",
    responses(
        (status = 204, description = "The token is revoked."),
        (status = 401, response = Unauthorized),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn logout(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
) -> Result<Response, ApiError> {
    v.logout(&p, &ctx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// RFC 6749 §5.2 error codes this endpoint uses.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum OAuthErrorCode {
    /// 400: a parameter is missing or the body is not a form.
    InvalidRequest,
    /// 400: `grant_type` is not `client_credentials`.
    UnsupportedGrantType,
    /// 401: unknown client, wrong secret, disabled or not a service account.
    InvalidClient,
    /// 429: too many failed attempts; see `Retry-After`.
    TemporarilyUnavailable,
}

/// RFC 6749 §5.2 error body.
#[derive(Serialize, ToSchema)]
struct OAuthError<'a> {
    error: OAuthErrorCode,
    #[schema(value_type = String)]
    error_description: &'a str,
}

/// RFC 6749 §5.2 error response; a 401 carries the `WWW-Authenticate: Basic` challenge
/// (§5.2: "MUST include the WWW-Authenticate response header field").
fn oauth_error(status: StatusCode, error: OAuthErrorCode, description: &str) -> Response {
    let mut r = json(
        status,
        &OAuthError {
            error,
            error_description: description,
        },
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="hrvault""#),
        );
    }
    r
}

/// RFC 6749 §5.1: every token endpoint response, success or error, is `no-store`/`no-cache`.
fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// The client-credentials form (RFC 6749 §4.4), for the OpenAPI document; requests are parsed
/// by `auth::parse_client_credentials`.
#[derive(ToSchema)]
#[allow(dead_code, reason = "describes the form in the OpenAPI document only")]
#[schema(
    as = TokenRequest,
    description = "Client credentials (RFC 6749 §4.4), as a form."
)]
struct TokenForm {
    /// `client_credentials`.
    #[schema(required, nullable = false, examples("client_credentials"))]
    grant_type: Option<String>,
    /// The service account's username (unless sent by HTTP Basic).
    client_id: Option<String>,
    /// The secret shown when the account was created or its secret rotated (unless sent by
    /// HTTP Basic).
    #[schema(format = Password)]
    client_secret: Option<String>,
    /// Accepted and ignored: the token carries the account's role.
    scope: Option<String>,
}

/// Get a token for a service account (OAuth 2.0 client credentials).
///
/// For payroll integrations: `client_id` is the service user's username, `client_secret` the
/// secret shown once at creation or rotation. The client authenticates by HTTP Basic
/// (`Authorization: Basic base64(urlencode(client_id):urlencode(client_secret))`, RFC 6749
/// §2.3.1) or by `client_id` and `client_secret` in the form, not both. The answer has the same
/// shape as a login; every answer carries `Cache-Control: no-store` and `Pragma: no-cache`; a
/// 401 carries `WWW-Authenticate: Basic realm="hrvault"`. Failed attempts are limited per
/// client like failed logins.
#[utoipa::path(
    post,
    path = "/v1/oauth/token",
    operation_id = "oauthToken",
    tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A token for the service account.", body = TokenGrant),
        (status = 400, description = "`invalid_request` or `unsupported_grant_type`.",
         body = OAuthError<'static>),
        (status = 401, description = "`invalid_client`: client authentication failed or missing.",
         body = OAuthError<'static>,
         headers(("WWW-Authenticate" = String, description = "`Basic realm=\"hrvault\"`."))),
        (status = 413, response = PayloadTooLarge),
        (status = 429, description = "`temporarily_unavailable`: too many failed attempts.",
         body = OAuthError<'static>,
         headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed."))),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn token(
    State(v): State<Vault>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    body: Result<Body, Response>,
) -> Response {
    match body {
        Ok(Body(body)) => no_store(token_response(&v, &ctx, &headers, &body).await),
        Err(rejected) => no_store(rejected),
    }
}

async fn token_response(
    v: &Vault,
    ctx: &crate::service::RequestCtx,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    // The same parser the fuzz target drives (`auth::parse_token_request`).
    let creds = match parse_token_request(body, authorization) {
        Ok(c) => c,
        Err(e) if e.is_client_error() => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                OAuthErrorCode::InvalidClient,
                e.description(),
            );
        }
        Err(e) => {
            let code = match e.code() {
                "unsupported_grant_type" => OAuthErrorCode::UnsupportedGrantType,
                _ => OAuthErrorCode::InvalidRequest,
            };
            return oauth_error(StatusCode::BAD_REQUEST, code, e.description());
        }
    };
    match v
        .client_credentials(ctx, &creds.client_id, creds.client_secret)
        .await
    {
        Ok(grant) => json(StatusCode::OK, &grant),
        Err(ServiceError::Unauthorized) => oauth_error(
            StatusCode::UNAUTHORIZED,
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        ),
        Err(ServiceError::RateLimited(secs)) => {
            let mut r = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                OAuthErrorCode::TemporarilyUnavailable,
                "too many failed attempts; retry later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
        Err(other) => ApiError(other).into_response(),
    }
}
