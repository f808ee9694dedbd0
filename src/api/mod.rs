//! The HTTP API (axum only). `app(vault)` builds the router; `serve` runs it; `openapi()` is the
//! OpenAPI document that `GET /openapi.json` serves, built from the same routes (see `openapi`).
//!
//! Layers, outermost first: request id (sanitised or generated, echoed back), tracing (method,
//! route, status, latency, request id; never bodies, headers or tokens), `Cache-Control:
//! no-store` and `nosniff` on every response, a 30 s timeout, and the 64 KiB body limit.

mod audit;
mod connection;
mod console;
mod employees;
mod error;
mod extract;
mod listener;
mod monitor;
mod openapi;
mod payroll;
pub mod route_table;
mod session;
mod strict;
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
pub use extract::{ClientRequestId, RequestId};
pub use listener::ServeOptions;
pub use strict::{BodyShapeError, check_json_body};

use crate::service::Vault;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_SERVER_REQUEST_ID: HeaderName = HeaderName::from_static("x-server-request-id");

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
        .merge(console::router())
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
                // One line per request is the access log of an HTTP server, but here the audit
                // log already records every request that matters, and an info line per request
                // cost ~10 % of throughput and let an unauthenticated flood grow the log without
                // bound: responses are logged at debug, server errors at warn.
                .on_response(|resp: &Response, latency: Duration, _span: &tracing::Span| {
                    let (status, latency_us) = (resp.status().as_u16(), latency.as_micros() as u64);
                    if status >= 500 {
                        tracing::warn!(status, latency_us, "response");
                    } else {
                        tracing::debug!(status, latency_us, "response");
                    }
                }),
        )
        .layer(middleware::from_fn(request_id))
        .with_state(vault)
}

/// Gives every request the server's own unique id (a UUID, the audit entry's `request_id`), and
/// keeps a client's `x-request-id` only if it is 1–64 of `[A-Za-z0-9._:-]` (the entry's
/// `client_request_id`): a client must not be able to pair its entries with others'. The
/// response's `x-request-id` echoes the client's valid id, else the server's; the server's id is
/// always in `x-server-request-id` too.
async fn request_id(mut req: Request, next: Next) -> Response {
    let client = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| valid_client_request_id(s))
        .map(str::to_owned);
    let server = uuid::Uuid::new_v4().to_string();
    req.extensions_mut().insert(RequestId(server.clone()));
    if let Some(c) = &client {
        req.extensions_mut().insert(ClientRequestId(c.clone()));
    }
    let mut resp = next.run(req).await;
    let echoed = client.as_deref().unwrap_or(&server);
    if let Ok(v) = HeaderValue::from_str(echoed) {
        resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    if let Ok(v) = HeaderValue::from_str(&server) {
        resp.headers_mut().insert(X_SERVER_REQUEST_ID.clone(), v);
    }
    resp
}

/// 1–64 of `[A-Za-z0-9._:-]` (CONTRACT §4).
fn valid_client_request_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
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
    if !v.store_reachable().await {
        return extract::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &Health {
                status: "store unavailable",
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

/// Prometheus / OpenMetrics text (no auth for the HTTP and audit figures).
///
/// Counts by route template, method and status, never an id or a value. The monitor's figures
/// (alerts raised by rule, monitor progress, webhook deliveries) are included only when the
/// scraper sends `Authorization: Bearer` with a valid token of role `security` or `admin`; any
/// other token, valid or not, gets the same view as no token (never a 401, so a scraper
/// misconfiguration cannot look like an outage). Bind the server to a private address.
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
async fn metrics(
    State(v): State<Vault>,
    extract::Ctx(ctx): extract::Ctx,
    headers: axum::http::HeaderMap,
) -> Response {
    let monitor = monitor_scraper(&v, &ctx, &headers).await;
    let body = v.metrics().render(v.audit_log().head().seq, monitor);
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

/// Whether the scraper presented a valid token of a role that may see monitor figures.
async fn monitor_scraper(
    v: &Vault,
    ctx: &crate::service::RequestCtx,
    headers: &axum::http::HeaderMap,
) -> bool {
    let Some((scheme, token)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
    else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    match v.authenticate(ctx, token.trim()).await {
        Ok(p) => matches!(
            p.role,
            crate::model::Role::Security | crate::model::Role::Admin
        ),
        Err(_) => false,
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
