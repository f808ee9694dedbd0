//! `/v1/audit` routes (auditor, security).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Auth, Ctx, json, parse_query};
use crate::audit::AuditQuery;
use crate::auth::Permission;
use crate::clock::rfc3339;
use crate::service::{ServiceError, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/audit", get(list))
        .route("/v1/audit/verify", get(verify))
        .route("/v1/audit/head", get(head))
        .route("/v1/audit/id-lists/{sha256}", get(id_list))
}

/// Field order as the contract lists it (a `json!` map would sort the keys).
#[derive(serde::Serialize)]
struct Page<'a> {
    entries: &'a [crate::audit::AuditEntry],
    next_after_seq: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    actor: Option<String>,
    employee_id: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    after_seq: Option<String>,
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

async fn list(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::AuditRead, None).await?;
    let q: Params = parse_query(q.as_deref())?;
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(l) => match l.parse::<usize>() {
            Ok(0) | Err(_) => {
                return Err(
                    ServiceError::invalid("limit", "must be an integer from 1 to 1000").into(),
                );
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
    if let Some(a) = q.action.as_deref()
        && crate::audit::Action::parse(a).is_none()
    {
        return Err(ServiceError::invalid("action", "is not an audit action name").into());
    }
    let query = AuditQuery {
        actor: q.actor,
        employee_id: q.employee_id,
        action: q.action,
        since: instant("since", q.since)?,
        until: instant("until", q.until)?,
        after_seq,
        limit,
    };
    let page = v.query_audit(&grant, query).await?;
    Ok(json(
        StatusCode::OK,
        &Page {
            entries: &page.entries,
            next_after_seq: page.next_after_seq,
        },
    ))
}

async fn verify(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::AuditRead, None).await?;
    Ok(json(StatusCode::OK, &v.verify_audit(&grant).await?))
}

async fn head(State(v): State<Vault>, Auth(p): Auth, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::AuditRead, None).await?;
    Ok(json(StatusCode::OK, &v.audit_checkpoint(&grant)))
}

/// The id list of a large export or import, named by its SHA-256 in the audit entry.
async fn id_list(
    State(v): State<Vault>,
    Auth(p): Auth,
    Ctx(ctx): Ctx,
    axum::extract::Path(digest): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let grant = v.guard(&p, &ctx, Permission::AuditRead, None).await?;
    let ids = v.id_list(&grant, &digest).await?;
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        ids,
    )))
}
