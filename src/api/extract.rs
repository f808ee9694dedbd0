//! Extractors: the authenticated principal, the request context, and bodies parsed so that a
//! rejection never echoes a value (serde messages quote the offending input, which could be an
//! SSN sent as a number).

use std::net::SocketAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use zeroize::Zeroize;

use super::error::{ApiError, problem};
use crate::service::{Principal, RequestCtx, ServiceError, Vault};

/// The server's own id of the request, assigned by the request-id middleware (unique).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's `x-request-id`, when it is 1–64 of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone)]
pub struct ClientRequestId(pub String);

/// Who is calling, re-checked against the store on this request.
pub(super) struct Auth(pub(super) Principal);

/// Where the request came from.
pub(super) struct Ctx(pub(super) RequestCtx);

pub(super) fn ctx_of(parts: &Parts) -> RequestCtx {
    RequestCtx {
        request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        client_request_id: parts
            .extensions
            .get::<ClientRequestId>()
            .map(|r| r.0.clone()),
        source_ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
    }
}

impl FromRequestParts<Vault> for Ctx {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &Vault) -> Result<Self, Self::Rejection> {
        Ok(Ctx(ctx_of(parts)))
    }
}

impl FromRequestParts<Vault> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ServiceError::Unauthorized)?;
        let (scheme, token) = value.split_once(' ').ok_or(ServiceError::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ServiceError::Unauthorized.into());
        }
        Ok(Auth(
            vault.authenticate(&ctx_of(parts), token.trim()).await?,
        ))
    }
}

/// The raw body, limited by `DefaultBodyLimit` (413 as problem+json).
pub(super) struct Body(pub(super) Bytes);

impl FromRequest<Vault> for Body {
    type Rejection = Response;
    async fn from_request(req: Request, state: &Vault) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(Body(b)),
            Err(BytesRejection::FailedToBufferBody(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    "the request body is over the limit (64 KiB)",
                    None,
                ))
            }
            Err(e) => Err(problem(
                e.status(),
                "bad-request",
                "could not read the request body",
                None,
            )),
        }
    }
}

/// Describes a serde error by field path and kind, without the offending value.
fn describe(path: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("field `{path}`: ")
    };
    match e.classify() {
        Category::Syntax | Category::Eof => {
            format!("malformed JSON at line {} column {}", e.line(), e.column())
        }
        Category::Io => "could not read the request body".into(),
        Category::Data => {
            let msg = e.to_string();
            if let Some(rest) = msg.strip_prefix("unknown field `") {
                let name: String = rest
                    .split('`')
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(64)
                    .collect();
                format!("unknown field `{name}` (unknown fields are rejected, not ignored)")
            } else if msg.starts_with("invalid type") {
                let expected = msg
                    .split(", expected ")
                    .nth(1)
                    .and_then(|s| s.split(" at line").next())
                    .unwrap_or("another type");
                format!("{at}wrong type, expected {expected}")
            } else if msg.starts_with("missing field") {
                format!(
                    "{at}{}",
                    msg.split(" at line").next().unwrap_or("missing field")
                )
            } else {
                format!("{at}invalid value")
            }
        }
    }
}

/// Parses JSON (400 on anything but exactly one object, a key given twice, malformed JSON,
/// wrong types or unknown fields) and then wipes the body buffer, which may hold plaintext
/// sensitive values. The shape check (`strict::check_json_body`) runs first, so serde never
/// reads a struct from an array.
pub(super) fn parse_json<T: DeserializeOwned>(body: Bytes) -> Result<T, ApiError> {
    let parsed = match super::strict::check_json_body(&body) {
        Err(shape) => Err(ServiceError::BadRequest(shape.to_string())),
        Ok(()) => {
            let de = &mut serde_json::Deserializer::from_slice(&body);
            let result: Result<T, _> = serde_path_to_error::deserialize(de);
            result.map_err(|e| {
                let path = e.path().to_string();
                ServiceError::BadRequest(describe(&path, e.inner()))
            })
        }
    };
    if let Ok(mut owned) = body.try_into_mut() {
        owned.zeroize();
    }
    Ok(parsed?)
}

/// Parses a query string into `T` (400 on unknown or malformed parameters).
pub(super) fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| {
        let msg = e.to_string();
        let detail = match msg.strip_prefix("unknown field `") {
            Some(rest) => format!(
                "unknown query parameter `{}`",
                rest.split('`')
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(64)
                    .collect::<String>()
            ),
            None => "malformed query string".to_owned(),
        };
        ApiError(ServiceError::BadRequest(detail))
    })
}

/// A JSON response with a status.
pub(super) fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => ApiError(ServiceError::Internal).into_response(),
    }
}
