//! `/v1/users` routes (admin).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::{Auth, Body, Ctx, json, parse_json};
use super::openapi::{
    BadRequest, Conflict, Forbidden, Internal, Invalid, NotFound, PayloadTooLarge, Unauthorized,
    Unavailable,
};
use crate::service::{NewUser, UserPatch, UserView, Vault};

/// Keeps each user's field order (a `json!` map would sort the keys).
#[derive(serde::Serialize, ToSchema)]
#[schema(as = UserList, description = "Every vault user.")]
struct Users {
    users: Vec<UserView>,
}

pub(super) fn router() -> OpenApiRouter<Vault> {
    OpenApiRouter::default()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
        .routes(routes!(rotate_secret, revoke_secret))
}

/// Create a user.
///
/// `kind: "service"` takes no password: the answer holds a generated `client_secret`, shown only
/// this once (its `client_id` is the username).
#[utoipa::path(
    post,
    path = "/v1/users",
    operation_id = "createUser",
    tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created.", body = UserView),
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
async fn create(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let req = parse_json::<NewUser>(body).map_err(|e| e.0);
    Ok(json(
        StatusCode::CREATED,
        &v.create_user(&p, &ctx, req).await?,
    ))
}

/// List every user (never a secret or a hash).
#[utoipa::path(
    get,
    path = "/v1/users",
    operation_id = "listUsers",
    tag = "users",
    responses(
        (status = 200, description = "Every user.", body = Users),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn list(State(v): State<Vault>, Auth(p): Auth, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    let users = v.list_users(&p, &ctx).await?;
    Ok(json(StatusCode::OK, &Users { users }))
}

/// Enable, disable or change the role of a user.
///
/// Disabling or changing the role invalidates the user's tokens at once. Nobody may disable or
/// demote their own account (409).
#[utoipa::path(
    patch,
    path = "/v1/users/{id}",
    operation_id = "updateUser",
    tag = "users",
    params(("id" = String, Path, format = "uuid", description = "User id.")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The user as changed.", body = UserView),
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
async fn update(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let patch = parse_json::<UserPatch>(body).map_err(|e| e.0);
    Ok(json(
        StatusCode::OK,
        &v.update_user(&p, &ctx, &id, patch).await?,
    ))
}

/// Delete a user; their tokens stop working at once. Nobody may delete themselves (409).
#[utoipa::path(
    delete,
    path = "/v1/users/{id}",
    operation_id = "deleteUser",
    tag = "users",
    params(("id" = String, Path, format = "uuid", description = "User id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn remove(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    v.delete_user(&p, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Rotate a service account's client secret.
///
/// The old secret stops working at once; the new one is in `client_secret`, shown only this
/// once. 409 for a human user.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/client-secret",
    operation_id = "rotateClientSecret",
    tag = "users",
    params(("id" = String, Path, format = "uuid", description = "User id.")),
    responses(
        (status = 200, description = "The user with its new `client_secret`.", body = UserView),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn rotate_secret(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &v.rotate_client_secret(&p, &ctx, &id).await?,
    ))
}

/// Revoke a service account's client secret (no new one): it can no longer get tokens, and its
/// tokens stop working. 409 for a human user.
#[utoipa::path(
    delete,
    path = "/v1/users/{id}/client-secret",
    operation_id = "revokeClientSecret",
    tag = "users",
    params(("id" = String, Path, format = "uuid", description = "User id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn revoke_secret(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    v.revoke_client_secret(&p, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
