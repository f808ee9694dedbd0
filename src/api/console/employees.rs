//! Employees: the list (server-side search, filters, paging).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};

use super::layout::{error_page, notice, page};
use super::session::Signed;
use crate::service::{EmployeeView, ListQuery, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new().route("/ui/employees", get(list))
}

/// The list's query string, as a person's form sends it (empty fields mean "any").
#[derive(Debug, Default, serde::Deserialize)]
struct ListParams {
    q: Option<String>,
    department: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    notice: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(super) const STATUSES: [(&str, &str); 4] = [
    ("onboarding", "Onboarding"),
    ("active", "Active"),
    ("on_leave", "On leave"),
    ("terminated", "Terminated"),
];

/// `GET /ui/employees`.
async fn list(State(v): State<Vault>, Signed(s, ctx): Signed, RawQuery(raw): RawQuery) -> Response {
    let p: ListParams =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let q = ListQuery {
        limit: None,
        cursor: nonempty(&p.cursor),
        department: nonempty(&p.department),
        status: nonempty(&p.status),
        q: nonempty(&p.q),
    };
    let page_of = match v.list_employees(&s.principal, &ctx, Ok(q)).await {
        Ok(page) => page,
        Err(e) => return error_page(&s, &e),
    };
    let next = page_of.next_cursor.as_ref().map(|c| {
        let mut qs = form_urlencoded(&[
            ("q", nonempty(&p.q)),
            ("department", nonempty(&p.department)),
            ("status", nonempty(&p.status)),
        ]);
        if !qs.is_empty() {
            qs.push('&');
        }
        qs.push_str(&serde_urlencoded::to_string([("cursor", c)]).unwrap_or_default());
        format!("/ui/employees?{qs}")
    });
    let shows_ssn = page_of.employees.iter().any(|e| e.ssn.is_some());
    let message = match p.notice.as_deref() {
        Some("deleted") => Some(
            "Employee deleted. Its sensitive fields were crypto-shredded; the audit trail stays.",
        ),
        _ => None,
    };
    let body = html! {
        @if let Some(m) = message { (notice(m, false)) }
        form.card.filters method="get" action="/ui/employees" role="search" aria-label="Find employees" {
            div.field {
                label for="q" { "Search" }
                input id="q" name="q" type="search" value=(p.q.as_deref().unwrap_or("")) aria-describedby="q-hint";
                span.hint id="q-hint" { "Name or employee number" }
            }
            div.field {
                label for="department" { "Department" }
                input id="department" name="department" type="text" value=(p.department.as_deref().unwrap_or(""));
            }
            div.field {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "Any" }
                    @for (value, label) in STATUSES {
                        @if p.status.as_deref() == Some(value) {
                            option value=(value) selected { (label) }
                        } @else {
                            option value=(value) { (label) }
                        }
                    }
                }
            }
            button type="submit" { "Apply" }
        }
        (table(&page_of.employees, shows_ssn))
        nav.pager aria-label="Pages" {
            @if p.cursor.is_some() { a href="/ui/employees" { "First page" } }
            @if let Some(href) = next { a href=(href) { "Next page" } }
        }
    };
    page("Employees", &s, "/ui/employees", body).into_response()
}

fn table(rows: &[EmployeeView], shows_ssn: bool) -> Markup {
    html! {
        div.table-wrap {
            table {
                caption { (rows.len()) " employees on this page" }
                thead {
                    tr {
                        th scope="col" { "Employee number" }
                        th scope="col" { "Name" }
                        th scope="col" { "Department" }
                        th scope="col" { "Job title" }
                        th scope="col" { "Status" }
                        @if shows_ssn { th scope="col" { "SSN" } }
                    }
                }
                tbody {
                    @if rows.is_empty() {
                        tr { td colspan=(if shows_ssn { 6 } else { 5 }) { "No employees match." } }
                    }
                    @for e in rows {
                        tr {
                            td { a href={ "/ui/employees/" (e.id) } { (e.employee_number) } }
                            td { (e.first_name) " " (e.last_name) }
                            td { (e.department.as_deref().unwrap_or("")) }
                            td { (e.job_title.as_deref().unwrap_or("")) }
                            td { (status_label(e.status)) }
                            @if shows_ssn { td.mono { (e.ssn.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
    }
}

/// The words for a status value.
pub(super) fn status_label(s: &str) -> &str {
    STATUSES.iter().find(|(v, _)| *v == s).map_or(s, |(_, l)| l)
}

/// `k=v&...` of the pairs that have a value.
pub(super) fn form_urlencoded(pairs: &[(&str, Option<String>)]) -> String {
    let present: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    serde_urlencoded::to_string(present).unwrap_or_default()
}
