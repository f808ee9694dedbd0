//! Security's pages: alerts (triage), the risk table, honeytokens and HR flags. Each action is
//! the service operation of its JSON route (`update_alert`, `risk`, `create_honeytoken`,
//! `create_flag`, `clear_flag`, ...), so roles, validation and audit entries are the same.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};

use super::layout::{csrf_field, error_page, error_text, notice, page};
use super::session::{Posted, Signed};
use crate::model::EmployeeDraft;
use crate::service::{
    AlertFilter, AlertPatch, AlertView, ConsoleSession, NewFlag, RequestCtx, ServiceError, Vault,
};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/ui/alerts", get(alerts))
        .route("/ui/alerts/honeytoken", post(honeytoken))
        .route("/ui/alerts/{id}", post(triage))
        .route("/ui/flags", get(flags).post(create_flag))
        .route("/ui/flags/{id}/clear", post(clear_flag))
}

#[derive(Debug, Default, serde::Deserialize)]
struct Done {
    done: Option<String>,
}

fn done(raw: Option<&str>) -> Option<String> {
    serde_urlencoded::from_str::<Done>(raw.unwrap_or(""))
        .ok()
        .and_then(|d| d.done)
}

/// Messages per field (`name` of the input → message) from a service error, or `None` when the
/// error is not about fields.
fn field_messages(e: &ServiceError) -> Option<Vec<(String, String)>> {
    match e {
        ServiceError::Invalid(errs) => Some(
            errs.0
                .iter()
                .map(|f| (f.field.clone(), capital(&f.message)))
                .collect(),
        ),
        ServiceError::Conflict {
            field: Some(field),
            message,
        } => Some(vec![((*field).to_owned(), capital(message))]),
        _ => None,
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        let mut out: String = f.to_uppercase().chain(c).collect();
        if !out.ends_with('.') {
            out.push('.');
        }
        out
    })
}

/// Evidence links shown per alert (an alert can gather a thousand).
const EVIDENCE_SHOWN: usize = 50;

/// Rank of a severity, most severe first.
fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}

/// Open alerts first, then by severity (critical first); the service's newest-first order
/// within each group (the sort is stable).
pub(super) fn sort_alerts(alerts: &mut [AlertView]) {
    alerts.sort_by_key(|a| (a.status != "open", severity_rank(a.severity)));
}

/// A text input with its label and its message (if refused) beside it.
fn input(
    id: &str,
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    required: bool,
    error: Option<&str>,
) -> Markup {
    let err_id = format!("{id}-err");
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type=(kind) value=(value) required[required]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| err_id.as_str())];
            @if let Some(m) = error { p.field-error id=(err_id) { (m) } }
        }
    }
}

fn badge(class_prefix: &str, value: &str) -> Markup {
    html! { span class={ "badge " (class_prefix) (value) } { (value) } }
}

/// What the honeytoken form shows after a submission.
enum Planted {
    None,
    Created { id: String, number: String },
    Refused(Vec<(String, String)>),
}

/// The alerts page (`status`: of the response; `message`: a notice on top).
async fn alerts_page(
    v: &Vault,
    s: &ConsoleSession,
    ctx: &RequestCtx,
    status: StatusCode,
    message: Option<(String, bool)>,
    planted: Planted,
    kept: Option<&super::session::FormFields>,
) -> Response {
    let who = &s.principal;
    let mut list = match v.list_alerts(who, ctx, AlertFilter::default()).await {
        Ok(a) => a,
        Err(e) => return error_page(s, &e),
    };
    sort_alerts(&mut list);
    let risk = match v.risk(who, ctx).await {
        Ok(r) => r,
        Err(e) => return error_page(s, &e),
    };
    let open = list.iter().filter(|a| a.status == "open").count();
    let refused = match &planted {
        Planted::Refused(f) => f.as_slice(),
        _ => &[],
    };
    let err = |name: &str| {
        refused
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.as_str())
    };
    // Sensitive values (SSN, date of birth) are never written back into the page.
    let keep = |name: &str| kept.and_then(|f| f.get(name)).unwrap_or("").to_owned();
    let body = html! {
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        section aria-labelledby="alerts-h" {
            h2 id="alerts-h" { "Alerts" }
            p { (open) " open, " (list.len()) " in all. Open alerts come first, most severe first." }
            @if list.is_empty() { p { "No alerts." } }
            @for a in &list {
                article.card aria-labelledby={ "al-" (a.id) } {
                    h3 id={ "al-" (a.id) } {
                        (badge("sev-", a.severity)) " " (a.rule) " — " (a.status)
                    }
                    dl.record {
                        dt { "Rule" } dd { (a.rule) }
                        dt { "Severity" } dd { (a.severity) }
                        dt { "User" } dd { (a.username.as_deref().unwrap_or("(none)")) }
                        dt { "Employee id" } dd.mono { (a.employee_id.as_deref().unwrap_or("")) }
                        dt { "Summary" } dd { (a.summary) }
                        dt { "Created" } dd { (a.created_at) }
                        dt { "Status" } dd { (a.status) }
                        @if let Some(n) = &a.note { dt { "Note" } dd { (n) } }
                        dt { "Evidence" } dd {
                            @for (i, seq) in a.evidence_seqs.iter().take(EVIDENCE_SHOWN).enumerate() {
                                @if i > 0 { ", " }
                                a href={ "/ui/audit/" (seq) } { "entry " (seq) }
                            }
                            @if a.evidence_total > EVIDENCE_SHOWN as u64 {
                                " (" (a.evidence_total) " entries in all"
                                @if let Some(u) = &a.username {
                                    "; " a href={ "/ui/audit?" (super::employees::form_urlencoded(&[("actor", Some(u.clone()))])) } { "all entries by " (u) }
                                }
                                ")"
                            }
                        }
                    }
                    form.actions method="post" action={ "/ui/alerts/" (a.id) } {
                        (csrf_field(s))
                        div.field {
                            label for={ "note-" (a.id) } { "Note" }
                            input id={ "note-" (a.id) } name="note" type="text" maxlength="2000";
                        }
                        button type="submit" name="status" value="acknowledged" { "Acknowledge" }
                        " "
                        button type="submit" name="status" value="resolved" { "Resolve" }
                    }
                }
            }
        }
        section.card aria-labelledby="risk-h" {
            h2 id="risk-h" { "Risk" }
            div.table-wrap {
                table {
                    caption { "Risk score per user with any alert (a user not listed scores 0)" }
                    thead { tr { th scope="col" { "User" } th scope="col" { "Score" } th scope="col" { "Open alerts" } } }
                    tbody {
                        @if risk.is_empty() { tr { td colspan="3" { "No user has an alert." } } }
                        @for r in &risk {
                            tr {
                                td { (r.username.as_deref().unwrap_or(&r.user_id)) }
                                td { (format!("{:.1}", r.score)) }
                                td { (r.open_alerts) }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="ht-h" {
            h2 id="ht-h" { "Create honeytoken" }
            p.hint { "A decoy employee record: any read, reveal, lookup, update, delete or export of it raises a critical alert." }
            @if let Planted::Created { id, number } = &planted {
                (notice(&format!("Honeytoken created: employee number {number}, id {id}"), false))
            }
            @if let Some(m) = err("") { (notice(m, true)) }
            form method="post" action="/ui/alerts/honeytoken" {
                (csrf_field(s))
                (input("ht-employee_number", "employee_number", "Employee number", "text", &keep("employee_number"), true, err("employee_number")))
                (input("ht-first_name", "first_name", "First name", "text", &keep("first_name"), true, err("first_name")))
                (input("ht-last_name", "last_name", "Last name", "text", &keep("last_name"), true, err("last_name")))
                (input("ht-hire_date", "hire_date", "Hire date", "date", &keep("hire_date"), true, err("hire_date")))
                (input("ht-ssn", "ssn", "SSN", "text", "", true, err("ssn")))
                (input("ht-date_of_birth", "date_of_birth", "Date of birth", "date", "", true, err("date_of_birth")))
                button type="submit" { "Create honeytoken" }
            }
        }
    };
    (status, page("Alerts", s, "/ui/alerts", body)).into_response()
}

/// `GET /ui/alerts`.
async fn alerts(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    RawQuery(raw): RawQuery,
) -> Response {
    let message = match done(raw.as_deref()).as_deref() {
        Some("acknowledged") => Some(("Alert acknowledged.".to_owned(), false)),
        Some("resolved") => Some(("Alert resolved.".to_owned(), false)),
        Some("noted") => Some(("Note saved.".to_owned(), false)),
        _ => None,
    };
    alerts_page(&v, &s, &ctx, StatusCode::OK, message, Planted::None, None).await
}

/// `POST /ui/alerts/{id}`: status (from the button pressed) and note.
async fn triage(State(v): State<Vault>, Path(id): Path<String>, p: Posted) -> Response {
    let status = p.form.text("status");
    let patch = AlertPatch {
        status: status.clone(),
        note: p.form.text("note"),
    };
    match v
        .update_alert(&p.session.principal, &p.ctx, &id, Ok(patch))
        .await
    {
        Ok(_) => {
            let what = status.as_deref().unwrap_or("noted");
            Redirect::to(&format!("/ui/alerts?done={what}")).into_response()
        }
        Err(e) => {
            let (code, text) = error_text(&e);
            alerts_page(
                &v,
                &p.session,
                &p.ctx,
                code,
                Some((text, true)),
                Planted::None,
                None,
            )
            .await
        }
    }
}

/// `POST /ui/alerts/honeytoken`: plants a decoy with the minimal fields.
async fn honeytoken(State(v): State<Vault>, p: Posted) -> Response {
    let mut d = EmployeeDraft::default();
    d.employee_number = p.form.text("employee_number");
    d.first_name = p.form.text("first_name");
    d.last_name = p.form.text("last_name");
    d.hire_date = p.form.text("hire_date");
    d.ssn = p.form.text("ssn");
    d.date_of_birth = p.form.text("date_of_birth");
    match v
        .create_honeytoken(&p.session.principal, &p.ctx, Ok(d))
        .await
    {
        Ok(view) => {
            let planted = Planted::Created {
                id: view.id.to_string(),
                number: view.employee_number.to_string(),
            };
            alerts_page(
                &v,
                &p.session,
                &p.ctx,
                StatusCode::CREATED,
                None,
                planted,
                None,
            )
            .await
        }
        Err(e) => {
            let (code, text) = error_text(&e);
            let fields = field_messages(&e).unwrap_or_else(|| vec![(String::new(), text)]);
            alerts_page(
                &v,
                &p.session,
                &p.ctx,
                code,
                Some((
                    "The honeytoken was not created; see the marked fields.".to_owned(),
                    true,
                )),
                Planted::Refused(fields),
                Some(&p.form),
            )
            .await
        }
    }
}

/// The HR flag kinds, with words.
const KINDS: [(&str, &str); 5] = [
    ("pip", "Performance improvement plan (pip)"),
    ("disciplinary", "Disciplinary"),
    ("layoff", "Layoff"),
    ("resignation", "Resignation"),
    ("termination", "Termination"),
];

fn kind_words(k: &str) -> &str {
    KINDS.iter().find(|(v, _)| *v == k).map_or(k, |(_, w)| w)
}

/// The flags page.
async fn flags_page(
    v: &Vault,
    s: &ConsoleSession,
    ctx: &RequestCtx,
    status: StatusCode,
    message: Option<(String, bool)>,
    refused: &[(String, String)],
    kept: Option<&super::session::FormFields>,
) -> Response {
    let list = match v.list_flags(&s.principal, ctx).await {
        Ok(f) => f,
        Err(e) => return error_page(s, &e),
    };
    let err = |name: &str| {
        refused
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.as_str())
    };
    let keep = |name: &str| kept.and_then(|f| f.get(name)).unwrap_or("").to_owned();
    let kind_kept = keep("kind");
    let body = html! {
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        div.table-wrap {
            table {
                caption { (list.len()) " HR flags, newest first (cleared ones stay, inactive)" }
                thead {
                    tr {
                        th scope="col" { "Employee id" }
                        th scope="col" { "Kind" }
                        th scope="col" { "Effective date" }
                        th scope="col" { "Active" }
                        th scope="col" { "Created" }
                        th scope="col" { "Note" }
                        th scope="col" { "Action" }
                    }
                }
                tbody {
                    @if list.is_empty() { tr { td colspan="7" { "No HR flags." } } }
                    @for f in &list {
                        tr {
                            td.mono { (f.employee_id) }
                            td { (kind_words(f.kind)) }
                            td { (f.effective_date) }
                            td {
                                @if f.active { "Yes" }
                                @else if f.cleared_at.is_some() { "No (cleared)" }
                                @else { "No (not yet effective)" }
                            }
                            td { (f.created_at) }
                            td { (f.note.as_deref().unwrap_or("")) }
                            td {
                                @if f.cleared_at.is_none() {
                                    form method="post" action={ "/ui/flags/" (f.id) "/clear" } {
                                        (csrf_field(s))
                                        button type="submit" { "Clear" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="new-flag-h" {
            h2 id="new-flag-h" { "Create flag" }
            @if let Some(m) = err("") { (notice(m, true)) }
            form method="post" action="/ui/flags" {
                (csrf_field(s))
                (input("fl-employee_id", "employee_id", "Employee id", "text", &keep("employee_id"), true, err("employee_id")))
                div.field {
                    label for="fl-kind" { "Kind" }
                    select id="fl-kind" name="kind" required
                        aria-invalid=[err("kind").map(|_| "true")] aria-describedby=[err("kind").map(|_| "fl-kind-err")] {
                        @for (value, words) in KINDS {
                            @if kind_kept == value {
                                option value=(value) selected { (words) }
                            } @else {
                                option value=(value) { (words) }
                            }
                        }
                    }
                    @if let Some(m) = err("kind") { p.field-error id="fl-kind-err" { (m) } }
                }
                (input("fl-effective_date", "effective_date", "Effective date", "date", &keep("effective_date"), true, err("effective_date")))
                (input("fl-note", "note", "Note", "text", &keep("note"), false, err("note")))
                button type="submit" { "Create flag" }
            }
        }
    };
    (status, page("HR flags", s, "/ui/flags", body)).into_response()
}

/// `GET /ui/flags`.
async fn flags(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    RawQuery(raw): RawQuery,
) -> Response {
    let message = match done(raw.as_deref()).as_deref() {
        Some("created") => Some(("Flag created.".to_owned(), false)),
        Some("cleared") => Some(("Flag cleared.".to_owned(), false)),
        _ => None,
    };
    flags_page(&v, &s, &ctx, StatusCode::OK, message, &[], None).await
}

/// `POST /ui/flags`.
async fn create_flag(State(v): State<Vault>, p: Posted) -> Response {
    let req = NewFlag {
        employee_id: p.form.text("employee_id"),
        kind: p.form.text("kind"),
        effective_date: p.form.text("effective_date"),
        note: p.form.text("note"),
    };
    match v.create_flag(&p.session.principal, &p.ctx, Ok(req)).await {
        Ok(_) => Redirect::to("/ui/flags?done=created").into_response(),
        Err(e) => {
            let (code, text) = error_text(&e);
            let fields = match &e {
                ServiceError::NotFound => vec![(
                    "employee_id".to_owned(),
                    "No such employee record.".to_owned(),
                )],
                _ => field_messages(&e).unwrap_or_else(|| vec![(String::new(), text)]),
            };
            flags_page(
                &v,
                &p.session,
                &p.ctx,
                code,
                Some(("The flag was not created.".to_owned(), true)),
                &fields,
                Some(&p.form),
            )
            .await
        }
    }
}

/// `POST /ui/flags/{id}/clear`.
async fn clear_flag(State(v): State<Vault>, Path(id): Path<String>, p: Posted) -> Response {
    match v.clear_flag(&p.session.principal, &p.ctx, &id).await {
        Ok(()) => Redirect::to("/ui/flags?done=cleared").into_response(),
        Err(e) => {
            let (code, text) = error_text(&e);
            flags_page(&v, &p.session, &p.ctx, code, Some((text, true)), &[], None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: &str, severity: &'static str, status: &'static str) -> AlertView {
        AlertView {
            id: id.into(),
            rule: "excessive_access",
            severity,
            user_id: None,
            username: None,
            employee_id: None,
            summary: String::new(),
            evidence_seqs: vec![],
            evidence_total: 0,
            status,
            created_at: String::new(),
            updated_at: String::new(),
            note: None,
        }
    }

    #[test]
    fn open_alerts_first_then_most_severe_keeping_newest_first() {
        let mut a = vec![
            alert("1", "low", "open"),
            alert("2", "critical", "resolved"),
            alert("3", "high", "open"),
            alert("4", "critical", "open"),
            alert("5", "high", "open"),
            alert("6", "medium", "acknowledged"),
        ];
        sort_alerts(&mut a);
        let ids: Vec<&str> = a.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["4", "3", "5", "1", "2", "6"]);
    }

    #[test]
    fn kinds_have_words() {
        assert_eq!(kind_words("pip"), "Performance improvement plan (pip)");
        assert_eq!(kind_words("other"), "other");
    }
}
