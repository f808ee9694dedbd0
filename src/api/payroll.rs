//! `GET /v1/payroll/export`: the NDJSON stream for payroll integrations.

use axum::Router;
use axum::body::Body as HttpBody;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Auth, Ctx, parse_query};
use crate::auth::Permission;
use crate::service::Vault;

pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/payroll/export", get(export))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    updated_since: Option<String>,
}

async fn export(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::PayrollExport, None).await?;
    let params: Params = parse_query(q.as_deref())?;
    let mut rx = v
        .payroll_export(&p, &ctx, &grant, params.updated_since.as_deref())
        .await?;
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        HttpBody::from_stream(stream),
    )
        .into_response())
}
