//! `/v1/users` routes (admin).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};

use super::error::ApiError;
use super::extract::{Auth, Body, Ctx, json, parse_json};
use crate::auth::Permission;
use crate::service::{NewUser, UserPatch, UserView, Vault};

/// Keeps each user's field order (a `json!` map would sort the keys).
#[derive(serde::Serialize)]
struct Users {
    users: Vec<UserView>,
}

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/users", get(list).post(create))
        .route("/v1/users/{id}", patch(update).delete(remove))
        .route(
            "/v1/users/{id}/client-secret",
            post(rotate_secret).delete(revoke_secret),
        )
}

async fn create(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::UsersManage, None).await?;
    let req: NewUser = parse_json(body)?;
    Ok(json(
        StatusCode::CREATED,
        &v.create_user(&p, &ctx, &grant, req).await?,
    ))
}

async fn list(State(v): State<Vault>, Auth(p): Auth, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::UsersManage, None).await?;
    let users = v.list_users(&grant).await?;
    Ok(json(StatusCode::OK, &Users { users }))
}

async fn update(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::UsersManage, None).await?;
    let patch: UserPatch = parse_json(body)?;
    Ok(json(
        StatusCode::OK,
        &v.update_user(&p, &ctx, &grant, &id, patch).await?,
    ))
}

async fn remove(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::UsersManage, None).await?;
    v.delete_user(&p, &ctx, &grant, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_secret(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::UsersManage, None).await?;
    Ok(json(
        StatusCode::OK,
        &v.rotate_client_secret(&p, &ctx, &grant, &id).await?,
    ))
}

async fn revoke_secret(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::UsersManage, None).await?;
    v.revoke_client_secret(&p, &ctx, &grant, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
