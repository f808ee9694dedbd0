//! Insider-threat routes: HR flags, alerts, risk, honeytokens.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};

use super::employees::created;
use super::error::ApiError;
use super::extract::{Auth, Body, Ctx, json, parse_json, parse_query};
use crate::auth::Permission;
use crate::model::EmployeeDraft;
use crate::service::{AlertFilter, AlertPatch, AlertView, FlagView, NewFlag, RiskRow, Vault};

// Typed wrappers keep each object's field order (a `json!` map would sort the keys).
#[derive(serde::Serialize)]
struct Flags {
    flags: Vec<FlagView>,
}

#[derive(serde::Serialize)]
struct Alerts {
    alerts: Vec<AlertView>,
}

#[derive(serde::Serialize)]
struct Risk {
    users: Vec<RiskRow>,
}

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/hr-flags", post(create_flag).get(list_flags))
        .route("/v1/hr-flags/{id}", delete(clear_flag))
        .route("/v1/alerts", get(list_alerts))
        .route("/v1/alerts/{id}", patch(update_alert))
        .route("/v1/risk", get(risk))
        .route("/v1/honeytokens", post(create_honeytoken))
}

async fn create_flag(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::HrFlagCreate, None).await?;
    let req: NewFlag = parse_json(body)?;
    Ok(json(
        StatusCode::CREATED,
        &v.create_flag(&p, &ctx, &grant, req).await?,
    ))
}

async fn list_flags(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::HrFlagRead, None).await?;
    Ok(json(
        StatusCode::OK,
        &Flags {
            flags: v.list_flags(&grant),
        },
    ))
}

async fn clear_flag(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::HrFlagDelete, None).await?;
    v.clear_flag(&p, &ctx, &grant, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_alerts(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::AlertsRead, None).await?;
    let filter: AlertFilter = parse_query(q.as_deref())?;
    Ok(json(
        StatusCode::OK,
        &Alerts {
            alerts: v.list_alerts(&grant, filter)?,
        },
    ))
}

async fn update_alert(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::AlertsUpdate, None).await?;
    let req: AlertPatch = parse_json(body)?;
    Ok(json(
        StatusCode::OK,
        &v.update_alert(&p, &ctx, &grant, &id, req).await?,
    ))
}

async fn risk(State(v): State<Vault>, Auth(p): Auth, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::RiskRead, None).await?;
    Ok(json(
        StatusCode::OK,
        &Risk {
            users: v.risk(&grant)?,
        },
    ))
}

async fn create_honeytoken(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v
        .guard(&p, &ctx, Permission::HoneytokenCreate, None)
        .await?;
    let draft: EmployeeDraft = parse_json(body)?;
    Ok(created(
        &v.create_employee(&p, &ctx, &grant, draft, true, None)
            .await?,
    ))
}
