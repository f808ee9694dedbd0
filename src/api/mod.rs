//! The HTTP API (axum only). `app(vault)` builds the router; `serve` runs it; `openapi()` is the
//! OpenAPI document that `GET /openapi.json` serves, built from the same routes (see `openapi`).
//!
//! Layers, outermost first: request id (sanitised or generated, echoed back), tracing (method,
//! route, status, latency, request id; never bodies, headers or tokens), `Cache-Control:
//! no-store` and `nosniff` on every response, a 30 s timeout, and the 64 KiB body limit.

mod audit;
mod connection;
mod employees;
mod error;
mod extract;
mod listener;
mod monitor;
mod openapi;
mod payroll;
mod session;
mod users;

use std::future::Future;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use connection::Transport;
pub use error::{ApiError, problem};
pub use extract::RequestId;
pub use listener::ServeOptions;

use crate::service::Vault;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route, each registered together with its OpenAPI operation (`utoipa_axum::routes!`).
fn routes() -> OpenApiRouter<Vault> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .routes(routes!(openapi::openapi_json))
        .merge(session::router())
        .merge(users::router())
        .merge(employees::router())
        .merge(audit::router())
        .merge(monitor::router())
        .merge(payroll::router())
}

/// The OpenAPI 3.1 document of [`app`], exactly as `GET /openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The whole API.
pub fn app(vault: Vault) -> Router {
    let (router, doc) = routes().split_for_parts();
    router
        .layer(Extension(openapi::Document::new(&doc)))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(vault.clone(), count_request))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
                .layer(middleware::from_fn(problem_for_bare_errors))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
                    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
                    tracing::info_span!("http", method = %req.method(), route = %route, request_id = %id)
                })
                .on_request(())
                .on_response(|resp: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(status = resp.status().as_u16(), latency_us = latency.as_micros() as u64, "response");
                }),
        )
        .layer(middleware::from_fn(request_id))
        .with_state(vault)
}

/// Keeps a client's `x-request-id` if it is a short token of safe characters (it ends up in the
/// audit log), otherwise assigns a UUID; either way it is echoed in the response.
async fn request_id(mut req: Request, next: Next) -> Response {
    let supplied = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| {
            (1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
    let id = supplied
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    resp
}

/// `GET /healthz` body.
#[derive(Serialize, ToSchema)]
struct Health {
    /// `ok`, `audit log unavailable`, or `disk space low`.
    #[schema(value_type = String, examples("ok"))]
    status: &'static str,
}

/// Liveness and audit-log health (no auth).
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses(
        (status = 200, description = "Serving.", body = Health),
        (status = 503, description = "The audit log cannot be written (or the data dir's file system is below `server.min_free_disk_mb`): data requests fail closed.",
         body = Health, example = json!({"status": "audit log unavailable"}))
    )
)]
async fn healthz(State(v): State<Vault>) -> Response {
    if v.audit_log().is_poisoned() {
        return extract::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &Health {
                status: "audit log unavailable",
            },
        );
    }
    if v.audit_log().disk_low() {
        return extract::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &Health {
                status: "disk space low",
            },
        );
    }
    extract::json(StatusCode::OK, &Health { status: "ok" })
}

/// Counts every response by route template (never the raw path: it holds ids).
async fn count_request(State(v): State<Vault>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    v.metrics().http(
        &route,
        &method,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// The OpenMetrics content type, for scrapers that ask for it.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic Prometheus text format, the default.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prometheus / OpenMetrics text (no auth).
///
/// Counts by route template and rule, never an id or a value; bind the server to a private
/// address.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses(
                        (status = 200, description = "Prometheus text exposition (format 0.0.4), or OpenMetrics 1.0 when the `Accept` header asks for `application/openmetrics-text`.",
         content(
             (String = "text/plain; version=0.0.4; charset=utf-8"),
             (String = "application/openmetrics-text; version=1.0.0; charset=utf-8")
         ))
    )
)]
async fn metrics(State(v): State<Vault>, headers: axum::http::HeaderMap) -> Response {
    let body = v.metrics().render(v.audit_log().head().seq);
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if openmetrics {
        (StatusCode::OK, [(header::CONTENT_TYPE, OPENMETRICS)], body).into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            crate::service::Metrics::to_prometheus_text(&body),
        )
            .into_response()
    }
}

/// Gives error responses that axum or tower produced without a body (405, the timeout's 503)
/// the same problem+json shape as every other error.
async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if status.as_u16() < 400 || resp.headers().contains_key(header::CONTENT_TYPE) {
        return resp;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this route does not accept that method",
        StatusCode::SERVICE_UNAVAILABLE => "the request took too long and was abandoned",
        _ => "the request failed",
    };
    let mut p = problem(status, "http", detail, None);
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = resp.headers().get(&name) {
            p.headers_mut().insert(name, v.clone());
        }
    }
    p
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "not-found", "no such route", None)
}

/// Serves `app(vault)` over plain HTTP on `listener`, with the limits of the vault's `[server]`
/// settings, until `shutdown` completes.
pub async fn serve(
    vault: Vault,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let opts = ServeOptions::new(&vault.settings().server);
    serve_with(vault, listener, opts, shutdown).await
}

/// Serves `app(vault)` on `listener` as `opts` says (TLS, connection limits) until `shutdown`
/// completes; every request carries `ConnectInfo<SocketAddr>` and a [`Transport`].
pub async fn serve_with(
    vault: Vault,
    listener: tokio::net::TcpListener,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::run(listener, app(vault), opts, shutdown).await
}
