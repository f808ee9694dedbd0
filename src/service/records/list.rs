//! `GET /v1/employees`: id order, cursor-paged, filtered; sensitive fields masked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::EmployeeView;
use super::plaintext::masked_view;
use crate::audit::{Action, Outcome};
use crate::model::{EmployeeId, EmployeeStatus};
use crate::service::access::List;
use crate::service::{Principal, RequestCtx, ServiceError, Vault};
use crate::store::EmployeeEntry;

/// `GET /v1/employees` parameters, as received.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1–500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only records of this department (exact match).
    pub department: Option<String>,
    /// Only records with this status.
    #[param(value_type = Option<EmployeeStatus>)]
    pub status: Option<String>,
    /// Only records whose employee number, first, last or preferred name contains this text
    /// (case-insensitive; 1–100 characters). Names and numbers are not sensitive fields: the
    /// search never touches an encrypted value.
    pub q: Option<String>,
}

/// One page of records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListPage {
    pub employees: Vec<EmployeeView>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required)]
    pub next_cursor: Option<String>,
}

/// A parsed `ListQuery`.
struct Filter {
    limit: usize,
    after: Option<EmployeeId>,
    department: Option<String>,
    status: Option<EmployeeStatus>,
    /// Lower-cased search text.
    q: Option<String>,
}

impl Filter {
    fn parse(q: ListQuery) -> Result<Self, ServiceError> {
        let limit = match q.limit.as_deref() {
            None => 50,
            Some(l) => match l.parse::<usize>() {
                Ok(0) | Err(_) => {
                    return Err(ServiceError::invalid(
                        "limit",
                        "must be an integer from 1 to 500",
                    ));
                }
                Ok(n) => n.min(500),
            },
        };
        let after = match q.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(
                B64URL
                    .decode(c)
                    .ok()
                    .and_then(|b| EmployeeId::from_slice(&b).ok())
                    .ok_or_else(|| {
                        ServiceError::BadRequest("cursor is not one this server issued".into())
                    })?,
            ),
        };
        let status = match q.status.as_deref() {
            None => None,
            Some(s) => Some(s.parse::<EmployeeStatus>().map_err(|()| {
                ServiceError::invalid(
                    "status",
                    "must be one of onboarding, active, on_leave, terminated",
                )
            })?),
        };
        let text = match q.q.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) if t.chars().count() > 100 => {
                return Err(ServiceError::invalid("q", "must be at most 100 characters"));
            }
            Some(t) => Some(t.to_lowercase()),
        };
        Ok(Self {
            limit,
            after,
            department: q.department,
            status,
            q: text,
        })
    }
}

/// Whether a record's number or names contain `q` (already lower-cased).
fn matches_text(p: &crate::model::PublicFields, q: &str) -> bool {
    [
        Some(p.employee_number.as_str()),
        Some(p.first_name.as_str()),
        Some(p.last_name.as_str()),
        p.preferred_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|v| v.to_lowercase().contains(q))
        || format!("{} {}", p.first_name, p.last_name)
            .to_lowercase()
            .contains(q)
}

impl Vault {
    /// One page of records, masked per role. Payroll's pages never hold a honeytoken (so they
    /// cannot be diffed against the export); everyone else sees decoys like any other record.
    pub async fn list_employees(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        q: Result<ListQuery, ServiceError>,
    ) -> Result<ListPage, ServiceError> {
        let grant = self.authorize::<List>(who, ctx, None, None).await?;
        let f = Filter::parse(q?)?;
        let mut page = Vec::with_capacity(f.limit);
        let mut more = false;
        for entry in self.inner.store.employees_after(f.after.as_ref()) {
            let EmployeeEntry::Live(rec) = entry? else {
                continue;
            };
            if !Self::shows_in_bulk(&grant, &rec) {
                continue;
            }
            if f.department
                .as_deref()
                .is_some_and(|d| rec.public.department.as_deref() != Some(d))
            {
                continue;
            }
            if f.status.is_some_and(|s| rec.public.status != s) {
                continue;
            }
            if f.q
                .as_deref()
                .is_some_and(|q| !matches_text(&rec.public, q))
            {
                continue;
            }
            if page.len() == f.limit {
                more = true;
                break;
            }
            page.push(rec);
        }
        let mut e = self.entry(who, ctx, Action::EmployeeList, Outcome::Success);
        e.employee_ids = Some(page.iter().map(|r| r.id).collect());
        let recorded = self.record(e).await?;
        let next_cursor = if more {
            page.last().map(|r| B64URL.encode(r.id.as_bytes()))
        } else {
            None
        };
        let employees = page
            .iter()
            .map(|r| masked_view(self, &grant, &recorded, r))
            .collect::<Result<_, _>>()?;
        Ok(ListPage {
            employees,
            next_cursor,
        })
    }
}
