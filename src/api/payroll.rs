//! `GET /v1/payroll/export`: the NDJSON stream for payroll integrations.

use axum::body::Body as HttpBody;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{Auth, Ctx, parse_query};
use super::openapi::{
    BadRequest, Forbidden, Internal, Invalid, PayrollExportLine, Unauthorized, Unavailable,
};
use crate::service::Vault;

/// The export's content type: one JSON object per line.
const NDJSON: &str = "application/x-ndjson";

pub(super) fn router() -> OpenApiRouter<Vault> {
    OpenApiRouter::default().routes(routes!(export))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Params {
    /// Delta sync: only records changed at or after this instant (RFC 3339, inclusive), plus
    /// records deleted since. Encode `+` in an offset as `%2B`, or use `Z`.
    #[param(format = DateTime, example = "2026-03-01T00:00:00Z")]
    updated_since: Option<String>,
}

/// Export every record with what pay needs, in full, as NDJSON (role `payroll`).
///
/// One JSON object per line (`PayrollExportLine`): every non-honeytoken record with all its
/// fields but `date_of_birth`, ordered by last change, then id. A terminated employee comes as an
/// updated record with `status: terminated`. With `updated_since`, a record deleted since then
/// is a line `{"id", "deleted": true, "deleted_at"}`. One `employee.export` audit entry names the
/// records sent.
#[utoipa::path(
    get,
    path = "/v1/payroll/export",
    operation_id = "exportPayroll",
    tag = "payroll",
    params(Params),
    responses(
        (status = 200, description = "An NDJSON stream: one `PayrollExportLine` per line.",
         body = PayrollExportLine, content_type = "application/x-ndjson"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn export(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let since = parse_query::<Params>(q.as_deref())
        .map(|p| p.updated_since)
        .map_err(|e| e.0);
    let mut rx = v.payroll_export(&p, &ctx, since).await?;
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, NDJSON)],
        HttpBody::from_stream(stream),
    )
        .into_response())
}
