//! `/v1/employees` routes.

use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::extract::{Auth, Body, Ctx, json, parse_json, parse_query};
use super::openapi::{
    BadRequest, Conflict, Forbidden, Internal, Invalid, NotFound, PayloadTooLarge,
    PreconditionFailed, Unauthorized, Unavailable,
};
use crate::model::{EmployeeDraft, EmployeePatch};
use crate::service::{
    EmployeeView, IMPORT_BODY_LIMIT, ImportResult, ListPage, ListQuery, LookupRequest, RecordRef,
    RevealRequest, RevealedFields, ServiceError, Vault,
};

pub(super) fn router() -> OpenApiRouter<Vault> {
    let import = OpenApiRouter::default()
        .routes(routes!(import))
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    OpenApiRouter::default()
        .merge(import)
        .routes(routes!(create, list))
        .routes(routes!(lookup))
        .routes(routes!(read, update, remove))
        .routes(routes!(reveal))
}

/// A body parsed at the edge; a malformed one reaches the service as its 400, so the policy
/// still decides first (a caller without the role gets 403 whatever they send).
fn parsed<T: serde::de::DeserializeOwned>(body: bytes::Bytes) -> Result<T, ServiceError> {
    parse_json(body).map_err(|e| e.0)
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

/// Create a record (role `hr`).
///
/// With an `Idempotency-Key`, a retry with the same key and the same body returns the record the
/// first request created (201 again, nothing new is created); the same key with another body is
/// a 409. Keys are scoped per user and expire after 24 hours.
#[utoipa::path(
    post,
    path = "/v1/employees",
    operation_id = "createEmployee",
    tag = "employees",
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false,
         description = "Makes a retried create safe: 1–255 visible ASCII characters.")
    ),
    request_body = EmployeeDraft,
    responses(
        (status = 201, description = "Created; the record as the caller may see it.",
         body = EmployeeView,
         headers(
            ("Location" = String, description = "`/v1/employees/{id}`"),
            ("ETag" = String, description = "The version, quoted: `\"1\"`.")
         )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "The `Idempotency-Key` names a record deleted since.",
         body = Problem<'static>, content_type = "application/problem+json"),
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
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    // The key binds to the exact body bytes; computed before parsing wipes the buffer.
    let idempotency = headers
        .get("idempotency-key")
        .map(|h| v.idempotency_key(h.to_str().unwrap_or("\u{0}"), &body))
        .transpose();
    let draft = parsed::<EmployeeDraft>(body);
    let view = v.create_employee(&p, &ctx, draft, idempotency).await?;
    Ok(created(&view))
}

/// List records, masked by role (roles `hr`, `payroll`, `security`).
///
/// Pages in a stable order; follow `next_cursor` until it is null. A list page does not count as
/// a read of each record for the monitor.
#[utoipa::path(
    get,
    path = "/v1/employees",
    operation_id = "listEmployees",
    tag = "employees",
    params(ListQuery),
    responses(
        (status = 200, description = "One page.", body = ListPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn list(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = parse_query::<ListQuery>(q.as_deref()).map_err(|e| e.0);
    Ok(json(StatusCode::OK, &v.list_employees(&p, &ctx, q).await?))
}

/// Read one record, masked by role (roles `hr`, `payroll`, `security`).
#[utoipa::path(
    get,
    path = "/v1/employees/{id}",
    operation_id = "getEmployee",
    tag = "employees",
    params(("id" = String, Path, format = "uuid", description = "Employee id.")),
    responses(
        (status = 200, description = "The record as the caller may see it.", body = EmployeeView,
         headers(("ETag" = String, description = "The version, quoted: `\"3\"`."))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn read(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = RecordRef::parse(&id);
    Ok(with_etag(
        StatusCode::OK,
        &v.get_employee(&p, &ctx, id).await?,
    ))
}

/// Change some fields of a record (role `hr`).
///
/// A field left out is kept, `null` clears it (422 for a required field); `home_address` and
/// `bank_account` are replaced whole. The result is validated like a create.
#[utoipa::path(
    patch,
    path = "/v1/employees/{id}",
    operation_id = "updateEmployee",
    tag = "employees",
    params(
        ("id" = String, Path, format = "uuid", description = "Employee id."),
        ("If-Match" = Option<String>, Header, nullable = false,
         description = "Apply only at this version (the `ETag`: `\"3\"`, `W/\"3\"`, `3` or `*`).")
    ),
    request_body = EmployeePatch,
    responses(
        (status = 200, description = "The record as changed.", body = EmployeeView,
         headers(("ETag" = String, description = "The new version, quoted."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
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
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let patch = parsed::<EmployeePatch>(body);
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|h| h.to_str().unwrap_or("\u{0}").to_owned());
    let id = RecordRef::parse(&id);
    Ok(with_etag(
        StatusCode::OK,
        &v.update_employee(&p, &ctx, id, if_match, patch).await?,
    ))
}

/// Crypto-shred a record (role `hr`): its key is destroyed, it is 404 from then on; the audit
/// trail stays.
#[utoipa::path(
    delete,
    path = "/v1/employees/{id}",
    operation_id = "deleteEmployee",
    tag = "employees",
    params(("id" = String, Path, format = "uuid", description = "Employee id.")),
    responses(
        (status = 204, description = "Shredded."),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
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
    v.delete_employee(&p, &ctx, RecordRef::parse(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Reveal sensitive fields in full, with a reason (roles `hr`, `payroll`).
///
/// Audited with the fields and the reason. Refused (403) while the caller's own employee record
/// has an active `pip`, `disciplinary` or `layoff` flag (`monitor.restrict_flagged`).
#[utoipa::path(
    post,
    path = "/v1/employees/{id}/reveal",
    operation_id = "revealEmployee",
    tag = "employees",
    params(("id" = String, Path, format = "uuid", description = "Employee id.")),
    request_body = RevealRequest,
    responses(
        (status = 200, description = "The fields asked for, in full.", body = RevealedFields<'static>),
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
async fn reveal(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let req = parsed::<RevealRequest>(body);
    let plaintext = v.reveal(&p, &ctx, RecordRef::parse(&id), req).await?;
    // The zeroizing buffer itself becomes the body (no copy): wiped when hyper drops it.
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        bytes::Bytes::from_owner(plaintext),
    )
        .into_response())
}

/// Find the record with this SSN (roles `hr`, `payroll`), via a keyed blind index: no record is
/// decrypted to search.
#[utoipa::path(
    post,
    path = "/v1/employees/lookup",
    operation_id = "lookupEmployee",
    tag = "employees",
    request_body = LookupRequest,
    responses(
        (status = 200, description = "The matching record, masked.", body = EmployeeView,
         headers(("ETag" = String, description = "The version, quoted."))),
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
async fn lookup(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let req = parsed::<LookupRequest>(body);
    Ok(with_etag(StatusCode::OK, &v.lookup(&p, &ctx, req).await?))
}

/// Bulk onboarding: the CSV of `hrvault import` (role `hr`).
///
/// Header = the record's field names, nested ones dotted (`home_address.line1`,
/// `bank_account.routing_number`); an empty cell is absent. Up to 10 MiB. Every row is validated
/// like a create; valid rows are kept, refused ones reported by line (header = line 1) and
/// employee number with what is wrong, never a value. One `employee.import` audit entry lists
/// the created ids. A header that names an unknown or repeated column: 400, nothing imported.
#[utoipa::path(
    post,
    path = "/v1/employees/import",
    operation_id = "importEmployees",
    tag = "employees",
    request_body(content = String, content_type = "text/csv",
                 description = "An HRIS CSV export."),
    responses(
        (status = 200, description = "What was imported and what was refused.", body = ImportResult),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, description = "The body is not `text/csv`.",
         body = Problem<'static>, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn import(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let csv_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let body = match csv_type.as_deref() {
        None | Some("text/csv" | "text/plain") => Ok(body),
        Some(_) => Err(ServiceError::UnsupportedMediaType(
            "the body must be text/csv (an HRIS CSV export)".into(),
        )),
    };
    let result: ImportResult = v.import_employees(&p, &ctx, body).await?;
    Ok(json(StatusCode::OK, &result))
}
