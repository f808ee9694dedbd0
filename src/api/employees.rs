//! `/v1/employees` routes.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::error::ApiError;
use super::extract::{Auth, Body, Ctx, json, parse_json, parse_query};
use crate::auth::Permission;
use crate::model::{EmployeeDraft, EmployeePatch};
use crate::service::{EmployeeView, ListQuery, RevealRequest, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/employees", post(create).get(list))
        .route("/v1/employees/lookup", post(lookup))
        .route("/v1/employees/{id}", get(read).patch(update).delete(remove))
        .route("/v1/employees/{id}/reveal", post(reveal))
}

fn with_etag(status: StatusCode, view: &EmployeeView) -> Response {
    let mut r = json(status, view);
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", view.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// 201 with `Location` and `ETag`; shared with `POST /v1/honeytokens`.
pub(super) fn created(view: &EmployeeView) -> Response {
    let mut r = with_etag(StatusCode::CREATED, view);
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/employees/{}", view.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn create(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::EmployeeCreate, None).await?;
    // The key binds to the exact body bytes; computed before parsing wipes the buffer.
    let idempotency = match headers.get("idempotency-key") {
        None => None,
        Some(h) => Some(v.idempotency_key(h.to_str().unwrap_or("\u{0}"), &body)?),
    };
    let draft: EmployeeDraft = parse_json(body)?;
    let view = v
        .create_employee(&p, &ctx, &grant, draft, false, idempotency)
        .await?;
    Ok(created(&view))
}

async fn list(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::EmployeeList, None).await?;
    let q: ListQuery = parse_query(q.as_deref())?;
    Ok(json(
        StatusCode::OK,
        &v.list_employees(&p, &ctx, &grant, q).await?,
    ))
}

async fn read(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let grant = v
        .guard(&p, &ctx, Permission::EmployeeRead, id.parse().ok())
        .await?;
    Ok(with_etag(
        StatusCode::OK,
        &v.get_employee(&p, &ctx, &grant, &id).await?,
    ))
}

async fn update(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v
        .guard(&p, &ctx, Permission::EmployeeUpdate, id.parse().ok())
        .await?;
    let patch: EmployeePatch = parse_json(body)?;
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|h| h.to_str().unwrap_or("\u{0}"));
    Ok(with_etag(
        StatusCode::OK,
        &v.update_employee(&p, &ctx, &grant, &id, if_match, patch)
            .await?,
    ))
}

async fn remove(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let grant = v
        .guard(&p, &ctx, Permission::EmployeeDelete, id.parse().ok())
        .await?;
    v.delete_employee(&p, &ctx, &grant, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reveal(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v
        .guard(&p, &ctx, Permission::EmployeeReveal, id.parse().ok())
        .await?;
    let req: RevealRequest = parse_json(body)?;
    let plaintext = v.reveal(&p, &ctx, &grant, &id, req).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        plaintext.to_vec(),
    )
        .into_response())
}

async fn lookup(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::EmployeeLookup, None).await?;
    let req = parse_json(body)?;
    Ok(with_etag(
        StatusCode::OK,
        &v.lookup(&p, &ctx, &grant, req).await?,
    ))
}
