//! The console's only assets, compiled into the binary: no CDN, works offline, and the CSP can
//! say `'self'` for scripts and styles.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// `GET /ui/assets/{name}`.
pub(super) async fn serve(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, kind)], body).into_response()
}
