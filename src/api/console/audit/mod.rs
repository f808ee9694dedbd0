//! Audit log (auditor, security): the timeline newest first with server-side filters, one
//! entry's every field, the chain status with **Verify now**, the signed checkpoint, exports of
//! the filtered view (JSONL, OCSF, CSV) and a chart of audited requests per hour.
//!
//! Everything goes through the service's audit operations (`query_audit`, `verify_audit`,
//! `audit_checkpoint`, `audit_hours`); nothing here opens the audit files. The downloads are in
//! `export`, the chart in `chart`.

mod chart;
mod export;
mod filters;

use std::fmt::Write as _;

use chart::chart_section;
use filters::{Filters, OUTCOMES};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};

use super::employees::form_urlencoded;
use super::layout::{csrf_field, error_page, notice, page};
use super::session::{Posted, Signed};
use crate::audit::{Action, AuditEntry, AuditQuery, ocsf_event};
use crate::clock::rfc3339;
use crate::service::{AuditHours, CHART_HOURS, ConsoleSession, ServiceError, Vault, VerifyReport};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/ui/audit", get(timeline))
        .route("/ui/audit/verify", post(verify))
        .route("/ui/audit/checkpoint", get(export::checkpoint))
        .route("/ui/audit/export", get(export::export))
        .route("/ui/audit/chart.svg", get(chart::chart))
        .route("/ui/audit/{seq}", get(detail))
}

/// Entries a page shows.
const PAGE: usize = 100;
/// Entries an export holds at most.
const EXPORT_MAX: usize = 10_000;

/// The words of an outcome and its badge class.
fn outcome_badge(o: &str) -> Markup {
    let (class, words) = match o {
        "success" => ("badge out-success", "Success"),
        "denied" => ("badge out-denied", "Denied"),
        _ => ("badge out-error", "Error"),
    };
    html! { span class=(class) { (words) } }
}

/// `GET /ui/audit`.
async fn timeline(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    RawQuery(raw): RawQuery,
) -> Response {
    audit_page(&v, &s, &ctx, &Filters::parse(raw.as_deref()), None).await
}

/// `POST /ui/audit/verify`: the whole chain now, shown on the audit page.
async fn verify(State(v): State<Vault>, p: Posted) -> Response {
    let report = match v.verify_audit(&p.session.principal, &p.ctx).await {
        Ok(r) => r,
        Err(e) => return error_page(&p.session, &e),
    };
    audit_page(&v, &p.session, &p.ctx, &Filters::default(), Some(report)).await
}

async fn audit_page(
    v: &Vault,
    s: &ConsoleSession,
    ctx: &crate::service::RequestCtx,
    f: &Filters,
    verified: Option<VerifyReport>,
) -> Response {
    let who = &s.principal;
    let (query, field_errors) = match f.query(true, PAGE) {
        Ok(q) => (Ok(q), Vec::new()),
        Err(errs) => (
            Err(ServiceError::invalid("filters", "see the fields")),
            errs,
        ),
    };
    let page_of = match &query {
        Ok(q) => match v.query_audit(who, ctx, Ok(q.clone())).await {
            Ok(p) => Some(p),
            Err(e) => return error_page(s, &e),
        },
        Err(_) => {
            // Still check the role first, so a forbidden user gets the 403 page.
            if let Err(e) = v.audit_checkpoint(who, ctx).await {
                return error_page(s, &e);
            }
            None
        }
    };
    let head = match v.audit_checkpoint(who, ctx).await {
        Ok(h) => h,
        Err(e) => return error_page(s, &e),
    };
    let last = match &verified {
        Some(r) => Some((String::new(), r.clone())),
        None => match v.last_audit_verification(who, ctx).await {
            Ok(l) => l,
            Err(e) => return error_page(s, &e),
        },
    };
    let hours = match v.audit_hours(who, ctx).await {
        Ok(h) => h,
        Err(e) => return error_page(s, &e),
    };
    let keep = form_urlencoded(&f.pairs());
    let older = page_of.as_ref().and_then(|p| p.next_before_seq).map(|b| {
        let mut qs = keep.clone();
        if !qs.is_empty() {
            qs.push('&');
        }
        let _ = write!(qs, "before={b}");
        format!("/ui/audit?{qs}")
    });
    let export = |fmt: &str| {
        if keep.is_empty() {
            format!("/ui/audit/export?format={fmt}")
        } else {
            format!("/ui/audit/export?format={fmt}&{keep}")
        }
    };
    let err_of = |id: &str| {
        field_errors
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, m)| m.as_str())
    };
    let entries = page_of.as_ref().map_or(&[][..], |p| &p.entries[..]);
    let status = if field_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = html! {
        @if !field_errors.is_empty() {
            (notice("Some filters could not be used; see the marked fields.", true))
        }
        section.card aria-labelledby="chain-h" {
            h2 id="chain-h" { "Chain status" }
            @match &last {
                Some((_, VerifyReport::Intact { entries, head, .. })) => {
                    (notice(&format!("Chain verified: {entries} entries, head seq {}, hash {}", head.seq, head.hash), false))
                }
                Some((_, VerifyReport::Broken { first_bad_seq, reason, .. })) => {
                    (notice(&format!("Chain broken at entry {first_bad_seq}: {reason}"), true))
                }
                None => { p { "Not verified since the server started: press Verify now to re-check the whole chain." } }
            }
            @if let Some((when, _)) = &last && !when.is_empty() {
                p.hint { "Last verified at " (when) " (entries added since are not covered)." }
            }
            dl {
                dt { "Head seq" } dd { (head.seq) }
                dt { "Head hash" } dd.mono { (head.hash) }
                dt { "Checkpoint time" } dd { (head.ts) }
            }
            form method="post" action="/ui/audit/verify" {
                (csrf_field(s))
                button type="submit" { "Verify now" }
            }
            p.downloads {
                a href="/ui/audit/checkpoint" download { "Download checkpoint" }
                " · " a href=(export("jsonl")) download { "Export JSONL" }
                " · " a href=(export("ocsf")) download { "Export OCSF" }
                " · " a href=(export("csv")) download { "Export CSV" }
                " (the filtered entries, oldest first, at most 10,000)"
            }
        }
        form.card.filters method="get" action="/ui/audit" role="search" aria-label="Filter the audit log" {
            (text_field("f-actor", "actor", "Actor", f.actor.as_deref(), Some("Username or user id"), err_of("f-actor")))
            div.field {
                label for="f-action" { "Action" }
                select id="f-action" name="action" aria-describedby=[err_of("f-action").map(|_| "f-action-err")] {
                    option value="" { "Any" }
                    @for a in Action::ALL {
                        @if f.action.as_deref() == Some(a.as_str()) {
                            option value=(a.as_str()) selected { (a.as_str()) }
                        } @else {
                            option value=(a.as_str()) { (a.as_str()) }
                        }
                    }
                }
                @if let Some(m) = err_of("f-action") { span.field-error id="f-action-err" { (m) } }
            }
            (text_field("f-employee", "employee_id", "Employee id", f.employee_id.as_deref(), None, None))
            div.field {
                label for="f-outcome" { "Outcome" }
                select id="f-outcome" name="outcome" aria-describedby=[err_of("f-outcome").map(|_| "f-outcome-err")] {
                    option value="" { "Any" }
                    @for (value, words) in OUTCOMES {
                        @if f.outcome.as_deref() == Some(value) {
                            option value=(value) selected { (words) }
                        } @else {
                            option value=(value) { (words) }
                        }
                    }
                }
                @if let Some(m) = err_of("f-outcome") { span.field-error id="f-outcome-err" { (m) } }
            }
            (time_field("f-from", "from", "From", f.from.as_deref(), err_of("f-from")))
            (time_field("f-to", "to", "To", f.to.as_deref(), err_of("f-to")))
            button type="submit" { "Filter" }
        }
        (table(entries))
        nav.pager aria-label="Pages" {
            @if f.before.is_some() {
                a href={ "/ui/audit" @if !keep.is_empty() { "?" (keep) } } { "Newest entries" }
            }
            @if let Some(href) = older { a href=(href) { "Older entries" } }
        }
        (chart_section(&hours))
    };
    (status, page("Audit log", s, "/ui/audit", body)).into_response()
}

fn text_field(
    id: &str,
    name: &str,
    label: &str,
    value: Option<&str>,
    hint: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-err");
    let described: Vec<&str> = [
        hint.map(|_| hint_id.as_str()),
        error.map(|_| err_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let described = (!described.is_empty()).then(|| described.join(" "));
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type="text" value=(value.unwrap_or("")) aria-describedby=[described] aria-invalid=[error.map(|_| "true")];
            @if let Some(h) = hint { span.hint id=(hint_id) { (h) } }
            @if let Some(m) = error { span.field-error id=(err_id) { (m) } }
        }
    }
}

fn time_field(
    id: &str,
    name: &str,
    label: &str,
    value: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-err");
    let described = match error {
        Some(_) => format!("{hint_id} {err_id}"),
        None => hint_id.clone(),
    };
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type="datetime-local" step="1" value=(value.unwrap_or("")) aria-describedby=(described) aria-invalid=[error.map(|_| "true")];
            span.hint id=(hint_id) { "UTC" }
            @if let Some(m) = error { span.field-error id=(err_id) { (m) } }
        }
    }
}

fn table(entries: &[AuditEntry]) -> Markup {
    html! {
        div.table-wrap {
            table.audit {
                caption { (entries.len()) " entries on this page, newest first" }
                thead {
                    tr {
                        th scope="col" { "Seq" }
                        th scope="col" { "Time (UTC)" }
                        th scope="col" { "Actor" }
                        th scope="col" { "Action" }
                        th scope="col" { "Employee id" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "Reason" }
                    }
                }
                tbody {
                    @if entries.is_empty() {
                        tr { td colspan="7" { "No entries match." } }
                    }
                    @for e in entries {
                        tr {
                            td { a href={ "/ui/audit/" (e.seq) } { (e.seq) } }
                            td { (e.ts) }
                            td {
                                (e.actor.username.as_deref().unwrap_or("(none)"))
                                @if let Some(r) = e.actor.role.as_deref() { " (" (r) ")" }
                            }
                            td { (e.action) }
                            td.mono { (e.employee_id.as_deref().unwrap_or("")) }
                            td { (outcome_badge(&e.outcome)) }
                            td { (e.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /ui/audit/{seq}`: one entry, every field.
async fn detail(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    Path(seq): Path<String>,
) -> Response {
    let Ok(seq) = seq.parse::<u64>() else {
        return error_page(&s, &ServiceError::NotFound);
    };
    let q = AuditQuery {
        after_seq: seq.saturating_sub(1),
        limit: 1,
        ..AuditQuery::default()
    };
    let entry = match v.query_audit(&s.principal, &ctx, Ok(q)).await {
        Ok(p) => p.entries.into_iter().find(|e| e.seq == seq),
        Err(e) => return error_page(&s, &e),
    };
    let Some(e) = entry else {
        return error_page(&s, &ServiceError::NotFound);
    };
    let list = |v: &Option<Vec<std::borrow::Cow<'static, str>>>| {
        v.as_ref()
            .map_or_else(|| "null".to_owned(), |l| l.join(", "))
    };
    let opt =
        |v: &Option<std::borrow::Cow<'static, str>>| v.as_deref().unwrap_or("null").to_owned();
    let body = html! {
        div.card {
            dl.entry {
                dt { "seq" } dd { (e.seq) }
                dt { "ts" } dd { (e.ts) }
                dt { "actor.user_id" } dd.mono { (opt(&e.actor.user_id)) }
                dt { "actor.username" } dd { (opt(&e.actor.username)) }
                dt { "actor.role" } dd { (opt(&e.actor.role)) }
                dt { "action" } dd { (e.action) }
                dt { "employee_id" } dd.mono {
                    @if let Some(id) = e.employee_id.as_deref() {
                        a href={ "/ui/audit?employee_id=" (id) } { (id) }
                    } @else { "null" }
                }
                dt { "employee_ids" } dd.mono { (list(&e.employee_ids)) }
                dt { "fields" } dd { (list(&e.fields)) }
                dt { "reason" } dd { (opt(&e.reason)) }
                dt { "outcome" } dd { (outcome_badge(&e.outcome)) " " (e.outcome) }
                dt { "source_ip" } dd { (opt(&e.source_ip)) }
                dt { "request_id" } dd.mono { (opt(&e.request_id)) }
                @if let Some(c) = e.client_request_id.as_deref() {
                    dt { "client_request_id" } dd.mono { (c) }
                }
                dt { "prev_hash" } dd.mono { (e.prev_hash) }
                dt { "hash" } dd.mono { (e.hash) }
            }
        }
        nav.pager aria-label="Neighbouring entries" {
            @if e.seq > 1 { a href={ "/ui/audit/" (e.seq - 1) } { "Previous entry" } }
            a href={ "/ui/audit/" (e.seq + 1) } { "Next entry" }
            a href="/ui/audit" { "Back to the audit log" }
        }
    };
    page(&format!("Audit entry {}", e.seq), &s, "/ui/audit", body).into_response()
}
