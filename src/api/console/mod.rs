//! The web console (CONTRACT §5, DESIGN §9): server-rendered pages for the people who are not
//! API clients. Every handler calls the same service operation as its JSON route, so roles,
//! validation, masking and audit entries are the same; nothing here touches the store, the keys
//! or the audit files.
//!
//! Invariants kept by this room:
//! - no inline script or style, every asset embedded (`assets`), so the CSP below holds;
//! - every response carries the CSP, `X-Frame-Options`, `Referrer-Policy` (and the app's
//!   `no-store`);
//! - every POST goes through `session::Posted`, which refuses (403) a request without the
//!   session's CSRF token before any service operation runs;
//! - sensitive values submitted in a form are never written back into a page.

mod assets;
mod audit;
mod employees;
mod form;
mod import;
mod layout;
mod monitor;
mod record;
mod reveal;
mod session;
mod users;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::service::Vault;

/// The console's Content-Security-Policy: nothing inline, nothing from another origin.
pub(super) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Every console route.
pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(session::home))
        .route("/ui/login", get(session::login_page).post(session::login))
        .route("/ui/logout", axum::routing::post(session::logout))
        .route("/ui/assets/{name}", get(assets::serve))
        .merge(employees::router())
        .merge(record::router())
        .merge(import::router())
        .merge(audit::router())
        .merge(monitor::router())
        .merge(users::router())
        .route(
            "/ui/{*rest}",
            get(layout::not_found).post(layout::not_found),
        )
        .layer(middleware::from_fn(headers))
}

/// The security headers of every console response.
async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    resp.into_response()
}
