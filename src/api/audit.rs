//! `/v1/audit` routes (auditor, security).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::extract::{Auth, Ctx, json, parse_query};
use super::openapi::{BadRequest, Forbidden, Internal, Invalid, Unauthorized, Unavailable};
use crate::audit::{AuditEntry, AuditQuery};
use crate::clock::rfc3339;
use crate::service::{AuditCheckpoint, ServiceError, Vault, VerifyReport};

pub(super) fn router() -> OpenApiRouter<Vault> {
    OpenApiRouter::default()
        .routes(routes!(list))
        .routes(routes!(verify))
        .routes(routes!(head))
        .routes(routes!(id_list))
}

/// Field order as the contract lists it (a `json!` map would sort the keys).
#[derive(serde::Serialize, ToSchema)]
#[schema(
    as = AuditPage,
    description = "One page of audit entries, oldest first (newest first with `order=desc`)."
)]
struct Page<'a> {
    #[schema(value_type = Vec<AuditEntry>)]
    entries: &'a [AuditEntry],
    /// Pass as `after_seq` for the next page; null when there is none (always null with
    /// `order=desc`).
    #[schema(required)]
    next_after_seq: Option<u64>,
    /// Only with `order=desc`: pass as `before_seq` for the next (older) page; null when there
    /// is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>)]
    next_before_seq: Option<Option<u64>>,
}

/// `GET /v1/audit` filters, all optional and combined with AND.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Params {
    /// A username or a user id.
    actor: Option<String>,
    /// Entries about this record (alone or in `employee_ids`).
    #[param(format = "uuid")]
    employee_id: Option<String>,
    /// An action name, e.g. `employee.reveal`.
    action: Option<String>,
    /// Entries at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Entries before this instant (RFC 3339).
    #[param(format = DateTime)]
    until: Option<String>,
    /// Entries after this `seq` (exclusive).
    #[param(value_type = Option<u64>)]
    after_seq: Option<String>,
    /// Entries before this `seq` (exclusive): the next older page with `order=desc`.
    #[param(value_type = Option<u64>)]
    before_seq: Option<String>,
    /// Entries with this outcome: `success`, `denied` or `error`.
    #[param(pattern = "^(success|denied|error)$")]
    outcome: Option<String>,
    /// `asc` (default: oldest first, paged by `after_seq`) or `desc` (newest first, paged by
    /// `before_seq`).
    #[param(pattern = "^(asc|desc)$")]
    order: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

fn instant(name: &str, v: Option<String>) -> Result<Option<String>, ServiceError> {
    v.map(|s| {
        s.parse::<jiff::Timestamp>().map(rfc3339).map_err(|_| {
            ServiceError::invalid(
                name,
                "must be an RFC 3339 timestamp, e.g. 2026-01-15T09:00:00Z",
            )
        })
    })
    .transpose()
}

/// Read the audit log, oldest first or newest first (roles `auditor`, `security`).
///
/// Reading the log is not itself audited; a denied attempt is.
#[utoipa::path(
    get,
    path = "/v1/audit",
    operation_id = "listAuditEntries",
    tag = "audit",
    params(Params),
    responses(
        (status = 200, description = "One page of entries.", body = Page<'static>),
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
    let query = audit_query(q.as_deref());
    let descending = query.as_ref().is_ok_and(|q| q.descending);
    let page = v.query_audit(&p, &ctx, query).await?;
    Ok(json(
        StatusCode::OK,
        &Page {
            entries: &page.entries,
            next_after_seq: page.next_after_seq,
            next_before_seq: descending.then_some(page.next_before_seq),
        },
    ))
}

/// Parses the query string of `GET /v1/audit` at the edge.
fn audit_query(q: Option<&str>) -> Result<AuditQuery, ServiceError> {
    let q: Params = parse_query(q).map_err(|e| e.0)?;
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(l) => match l.parse::<usize>() {
            Ok(0) | Err(_) => {
                return Err(ServiceError::invalid(
                    "limit",
                    "must be an integer from 1 to 1000",
                ));
            }
            Ok(n) => n.min(1000),
        },
    };
    let after_seq = match q.after_seq.as_deref() {
        None => 0,
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| ServiceError::invalid("after_seq", "must be a non-negative integer"))?,
    };
    let before_seq =
        match q.before_seq.as_deref() {
            None => None,
            Some(s) => Some(s.parse::<u64>().map_err(|_| {
                ServiceError::invalid("before_seq", "must be a non-negative integer")
            })?),
        };
    if let Some(o) = q.outcome.as_deref()
        && !matches!(o, "success" | "denied" | "error")
    {
        return Err(ServiceError::invalid(
            "outcome",
            "must be success, denied or error",
        ));
    }
    let descending = match q.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ServiceError::invalid("order", "must be asc or desc")),
    };
    if let Some(a) = q.action.as_deref()
        && crate::audit::Action::parse(a).is_none()
    {
        return Err(ServiceError::invalid(
            "action",
            "is not an audit action name",
        ));
    }
    Ok(AuditQuery {
        actor: q.actor,
        employee_id: q.employee_id,
        action: q.action,
        since: instant("since", q.since)?,
        until: instant("until", q.until)?,
        after_seq,
        before_seq,
        outcome: q.outcome,
        descending,
        limit,
    })
}

/// Re-check the whole hash chain up to the committed head (roles `auditor`, `security`).
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    operation_id = "verifyAuditChain",
    tag = "audit",
    responses(
        (status = 200, description = "`ok: true` with the head, or `ok: false` with the first bad \
                                      entry.", body = VerifyReport),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn verify(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &v.verify_audit(&p, &ctx).await?))
}

/// A signed checkpoint of the head, to keep outside the vault (roles `auditor`, `security`).
#[utoipa::path(
    get,
    path = "/v1/audit/head",
    operation_id = "getAuditHead",
    tag = "audit",
    responses(
        (status = 200, description = "Ed25519-signed `{seq, hash, ts}`.", body = AuditCheckpoint),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn head(State(v): State<Vault>, Auth(p): Auth, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &v.audit_checkpoint(&p, &ctx).await?))
}

/// The id list of a large export or import, named by its SHA-256 in the audit entry (roles
/// `auditor`, `security`).
///
/// An entry whose action covered more records than it can list inline names this digest
/// instead; the body hashes to it.
#[utoipa::path(
    get,
    path = "/v1/audit/id-lists/{sha256}",
    operation_id = "getAuditIdList",
    tag = "audit",
    params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$",
            description = "Lower-case hex SHA-256 of the list, as named in the audit entry.")),
    responses(
        (status = 200, description = "One employee id per line.", body = String,
         content_type = "text/plain; charset=utf-8"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No kept list has this digest.", body = Problem<'static>,
         content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
    security(("bearerAuth" = []))
)]
async fn id_list(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    axum::extract::Path(digest): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let ids = v.id_list(&p, &ctx, &digest).await?;
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        ids,
    )))
}
