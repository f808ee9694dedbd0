//! Insider-threat routes: HR flags, alerts, risk, honeytokens.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::employees::created;
use super::error::ApiError;
use super::extract::{Auth, Body, Ctx, json, parse_json, parse_query};
use super::openapi::{
    BadRequest, Conflict, Forbidden, Internal, Invalid, NotFound, PayloadTooLarge, Unauthorized,
    Unavailable,
};
use crate::model::EmployeeDraft;
use crate::service::{
    AlertFilter, AlertPatch, AlertView, EmployeeView, FlagView, NewFlag, RiskRow, Vault,
};

// Typed wrappers keep each object's field order (a `json!` map would sort the keys).
#[derive(serde::Serialize, ToSchema)]
#[schema(as = FlagList)]
struct Flags {
    flags: Vec<FlagView>,
}

#[derive(serde::Serialize, ToSchema)]
#[schema(as = AlertList)]
struct Alerts {
    alerts: Vec<AlertView>,
}

/// Every user with any alert; a user not listed scores 0.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = RiskList)]
struct Risk {
    users: Vec<RiskRow>,
}

pub(super) fn router() -> OpenApiRouter<Vault> {
    OpenApiRouter::default()
        .routes(routes!(create_flag, list_flags))
        .routes(routes!(clear_flag))
        .routes(routes!(list_alerts))
        .routes(routes!(update_alert))
        .routes(routes!(risk))
        .routes(routes!(create_honeytoken))
}

/// Flag an employee (roles `hr`, `security`).
///
/// Active from `effective_date` (a future date schedules it). A `termination` flag disables
/// every vault user linked to that employee and revokes their tokens. Nobody may flag their own
/// linked employee (403).
#[utoipa::path(
    post,
    path = "/v1/hr-flags",
    operation_id = "createHrFlag",
    tag = "monitor",
    request_body = NewFlag,
    responses(
        (status = 201, description = "Flagged.", body = FlagView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn create_flag(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let req = parse_json::<NewFlag>(body).map_err(|e| e.0);
    Ok(json(
        StatusCode::CREATED,
        &v.create_flag(&p, &ctx, req).await?,
    ))
}

/// Every HR flag, cleared ones included (role `security`).
#[utoipa::path(
    get,
    path = "/v1/hr-flags",
    operation_id = "listHrFlags",
    tag = "monitor",
    responses(
        (status = 200, description = "Every flag.", body = Flags),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn list_flags(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &Flags {
            flags: v.list_flags(&p, &ctx).await?,
        },
    ))
}

/// Clear a flag; it stays in the history (role `security`). Nobody may clear a flag on their own
/// linked employee (403).
#[utoipa::path(
    delete,
    path = "/v1/hr-flags/{id}",
    operation_id = "deleteHrFlag",
    tag = "monitor",
    params(("id" = String, Path, format = "uuid", description = "Flag id.")),
    responses(
        (status = 204, description = "Cleared."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn clear_flag(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    v.clear_flag(&p, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Insider-threat alerts, newest first (role `security`).
#[utoipa::path(
    get,
    path = "/v1/alerts",
    operation_id = "listAlerts",
    tag = "monitor",
    params(AlertFilter),
    responses(
        (status = 200, description = "The matching alerts.", body = Alerts),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn list_alerts(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filter: AlertFilter = parse_query(q.as_deref())?;
    Ok(json(
        StatusCode::OK,
        &Alerts {
            alerts: v.list_alerts(&p, &ctx, filter).await?,
        },
    ))
}

/// Triage an alert: set its status, add a note, or both (role `security`).
#[utoipa::path(
    patch,
    path = "/v1/alerts/{id}",
    operation_id = "updateAlert",
    tag = "monitor",
    params(("id" = String, Path, format = "uuid", description = "Alert id.")),
    request_body = AlertPatch,
    responses(
        (status = 200, description = "The alert as changed.", body = AlertView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn update_alert(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let req = parse_json::<AlertPatch>(body).map_err(|e| e.0);
    Ok(json(
        StatusCode::OK,
        &v.update_alert(&p, &ctx, &id, req).await?,
    ))
}

/// Risk score per user, from their alerts (role `security`).
#[utoipa::path(
    get,
    path = "/v1/risk",
    operation_id = "listRisk",
    tag = "monitor",
    responses(
        (status = 200, description = "Every user with any alert.", body = Risk),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn risk(State(v): State<Vault>, Auth(p): Auth, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &Risk {
            users: v.risk(&p, &ctx).await?,
        },
    ))
}

/// Plant a decoy record (role `security`).
///
/// hr and payroll see it in lists and reads like any other record; it never appears in the
/// payroll export. Any read, reveal, lookup or export touching it raises a critical
/// `honeytoken_access` alert.
#[utoipa::path(
    post,
    path = "/v1/honeytokens",
    operation_id = "createHoneytoken",
    tag = "monitor",
    request_body = EmployeeDraft,
    responses(
        (status = 201, description = "Planted; the record as the caller may see it.",
         body = EmployeeView,
         headers(
            ("Location" = String, description = "`/v1/employees/{id}`"),
            ("ETag" = String, description = "The version, quoted: `\"1\"`.")
         )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn create_honeytoken(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let draft = parse_json::<EmployeeDraft>(body).map_err(|e| e.0);
    Ok(created(&v.create_honeytoken(&p, &ctx, draft).await?))
}
