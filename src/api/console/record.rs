//! One employee record: **New hire**, the record page, **Edit** and **Delete**. Each action is
//! the service operation of its JSON route (`create_employee`, `get_employee`,
//! `update_employee` with the version as `If-Match`, `delete_employee`), so roles, validation,
//! masking and audit entries are the API's.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};

use super::employees::status_label;
use super::form::{self, Kept, Mode, Problems};
use super::layout::{csrf_field, error_page, error_text, notice, page};
use super::reveal;
use super::session::{Posted, Signed};
use crate::model::Role;
use crate::service::{ConsoleSession, EmployeeView, RecordRef, ServiceError, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/ui/employees/new", get(new_form).post(create))
        .route("/ui/employees/{id}", get(show))
        .route(
            "/ui/employees/{id}/reveal",
            axum::routing::post(reveal::reveal),
        )
        .route("/ui/employees/{id}/edit", get(edit_form).post(save))
        .route("/ui/employees/{id}/delete", get(delete_form).post(delete))
}

const NEW: &str = "/ui/employees/new";

fn new_page(
    s: &ConsoleSession,
    mode: Mode,
    kept: &Kept,
    problems: &Problems,
    entered: &[&str],
) -> Markup {
    page(
        "New hire",
        s,
        NEW,
        html! {
            @if problems.any() {
                (form::summary("The employee was not created. Correct the fields below; sensitive values must be entered again.", problems))
            }
            form.card method="post" action=(NEW) novalidate {
                (csrf_field(s))
                (form::fields(mode, kept, problems, entered))
                button type="submit" { "Create employee" }
            }
        },
    )
}

/// `GET /ui/employees/new`.
async fn new_form(Signed(s, _): Signed) -> Response {
    if s.principal.role != Role::Hr {
        // The service decides on POST; the page itself is only of use to hr.
        return error_page(
            &s,
            &ServiceError::Forbidden(format!(
                "role {} may not create employee records",
                s.principal.role
            )),
        );
    }
    new_page(&s, Mode::New, &Kept::new_hire(), &Problems::default(), &[]).into_response()
}

/// `POST /ui/employees/new`.
async fn create(State(v): State<Vault>, p: Posted) -> Response {
    let Posted {
        session: s,
        ctx,
        form: f,
        ..
    } = p;
    let draft = form::draft_of(&f);
    match v
        .create_employee(&s.principal, &ctx, Ok(draft), Ok(None))
        .await
    {
        Ok(view) => {
            Redirect::to(&format!("/ui/employees/{}?notice=created", view.id)).into_response()
        }
        Err(e) => match form::place_on_form(&e) {
            Some(problems) => {
                let (status, _) = error_text(&e);
                let kept = Kept::from_form(&f);
                let entered = form::entered_sensitive(&f);
                (
                    status,
                    new_page(&s, Mode::NewAgain, &kept, &problems, &entered),
                )
                    .into_response()
            }
            None => error_page(&s, &e),
        },
    }
}

fn or_none(v: Option<&str>) -> Markup {
    html! {
        @match v {
            Some(t) => (t),
            None => span.hint { "Not given" },
        }
    }
}

const NOT_SHOWN: &str = "Not shown to your role";

/// The record's fields in words; sensitive ones as the service masked them.
fn record_fields(view: &EmployeeView) -> Markup {
    html! {
        h2 { "Employment" }
        dl.record {
            dt { "Employee number" } dd { (view.employee_number) }
            dt { "First name" } dd { (view.first_name) }
            dt { "Last name" } dd { (view.last_name) }
            dt { "Preferred name" } dd { (or_none(view.preferred_name.as_deref())) }
            dt { "Work email" } dd { (or_none(view.work_email.as_deref())) }
            dt { "Department" } dd { (or_none(view.department.as_deref())) }
            dt { "Job title" } dd { (or_none(view.job_title.as_deref())) }
            dt { "Location" } dd { (or_none(view.location.as_deref())) }
            dt { "Manager's record id" } dd {
                @match &view.manager_id {
                    Some(m) => a href={ "/ui/employees/" (m) } { (m) },
                    None => span.hint { "Not given" },
                }
            }
            dt { "Hire date" } dd { (view.hire_date) }
            dt { "Status" } dd { (status_label(view.status)) }
            dt { "Termination date" } dd { (or_none(view.termination_date.as_deref())) }
            dt { "Version" } dd { (view.version) }
            dt { "Created" } dd { (view.created_at) }
            dt { "Last changed" } dd { (view.updated_at) }
        }
        h2 { "Sensitive fields" }
        p.hint { "Masked; the full values are only shown by a reveal, which is audited with its reason." }
        dl.record {
            dt { "SSN" }
            dd.mono { (view.ssn.as_deref().unwrap_or(NOT_SHOWN)) }
            dt { "Date of birth" }
            dd.mono { (view.date_of_birth.unwrap_or(NOT_SHOWN)) }
            dt { "Home address" }
            dd {
                @match &view.home_address {
                    None => (NOT_SHOWN),
                    Some(None) => span.hint { "None on file" },
                    Some(Some(a)) => {
                        (a.city) @if let Some(st) = &a.state { ", " (st) } ", " (a.country)
                        span.hint { " (street and postal code masked)" }
                    }
                }
            }
            dt { "Bank account" }
            dd {
                @match &view.bank_account {
                    None => (NOT_SHOWN),
                    Some(None) => span.hint { "None on file" },
                    Some(Some(b)) => {
                        "Account " span.mono { (b.account_number) }
                        span.hint { " (routing number masked)" }
                    }
                }
            }
        }
    }
}

/// The record page; `reveal` carries a refused reveal's state (its messages and choices).
pub(super) fn record_page(
    s: &ConsoleSession,
    view: &EmployeeView,
    message: Option<&str>,
    reveal: &reveal::Retry,
) -> Markup {
    let role = s.principal.role;
    let base = format!("/ui/employees/{}", view.id);
    page(
        &format!("{} {}", view.first_name, view.last_name),
        s,
        "",
        html! {
            @if let Some(m) = message { (notice(m, false)) }
            @if role == Role::Hr {
                div.actions {
                    a.button href={ (base) "/edit" } { "Edit" }
                    a.button.secondary href={ (base) "/delete" } { "Delete" }
                }
            }
            (record_fields(view))
            @if matches!(role, Role::Hr | Role::Payroll) {
                (reveal::form(s, &view.id, reveal))
            }
            p { a href="/ui/employees" { "Back to the list" } }
        },
    )
}

#[derive(serde::Deserialize, Default)]
struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /ui/employees/{id}`.
async fn show(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q: NoticeQuery =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let message = match q.notice.as_deref() {
        Some("created") => Some("Employee created"),
        Some("saved") => Some("Changes saved"),
        _ => None,
    };
    match v
        .get_employee(&s.principal, &ctx, RecordRef::parse(&id))
        .await
    {
        Ok(view) => record_page(&s, &view, message, &reveal::Retry::default()).into_response(),
        Err(e) => error_page(&s, &e),
    }
}

pub(super) const STALE: &str =
    "This record was changed by someone else since you opened it. Reload to see the new version.";

fn edit_page(
    s: &ConsoleSession,
    view_id: &str,
    number: &str,
    version: &str,
    kept: &Kept,
    problems: &Problems,
    entered: &[&str],
) -> Markup {
    page(
        &format!("Edit {number}"),
        s,
        "",
        html! {
            @if problems.any() {
                (form::summary("The changes were not saved. Correct the fields below; sensitive values must be entered again.", problems))
            }
            form.card method="post" action={ "/ui/employees/" (view_id) "/edit" } novalidate {
                (csrf_field(s))
                input type="hidden" name="version" value=(version);
                (form::fields(Mode::Edit, kept, problems, entered))
                div.actions {
                    button type="submit" { "Save changes" }
                    a href={ "/ui/employees/" (view_id) } { "Cancel" }
                }
            }
        },
    )
}

/// `GET /ui/employees/{id}/edit`.
async fn edit_form(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    Path(id): Path<String>,
) -> Response {
    if s.principal.role != Role::Hr {
        return error_page(
            &s,
            &ServiceError::Forbidden(format!(
                "role {} may not change employee records",
                s.principal.role
            )),
        );
    }
    match v
        .get_employee(&s.principal, &ctx, RecordRef::parse(&id))
        .await
    {
        Ok(view) => edit_page(
            &s,
            &view.id,
            &view.employee_number,
            &view.version.to_string(),
            &Kept::from_view(&view),
            &Problems::default(),
            &[],
        )
        .into_response(),
        Err(e) => error_page(&s, &e),
    }
}

/// The `If-Match` value for the version a form carried, as the API passes the header on: a
/// version that is no number can match nothing (412), it never skips the check.
fn if_match_of(version: Option<&str>) -> String {
    match version.map(str::trim).and_then(|v| v.parse::<u64>().ok()) {
        Some(n) => format!("\"{n}\""),
        None => "\u{0}".to_owned(),
    }
}

/// `POST /ui/employees/{id}/edit`.
async fn save(State(v): State<Vault>, Path(id): Path<String>, p: Posted) -> Response {
    let Posted {
        session: s,
        ctx,
        form: f,
        ..
    } = p;
    let r = RecordRef::parse(&id);
    // The record as it is now, to send only what the form changed.
    let current = match v.get_employee(&s.principal, &ctx, r).await {
        Ok(view) => view,
        Err(e) => return error_page(&s, &e),
    };
    let patch = form::patch_of(&f, &Kept::from_view(&current));
    let if_match = Some(if_match_of(f.get("version")));
    match v
        .update_employee(&s.principal, &ctx, r, if_match, Ok(patch))
        .await
    {
        Ok(view) => {
            Redirect::to(&format!("/ui/employees/{}?notice=saved", view.id)).into_response()
        }
        Err(ServiceError::PreconditionFailed) => (
            StatusCode::PRECONDITION_FAILED,
            page(
                &format!("Edit {}", current.employee_number),
                &s,
                "",
                html! {
                    (notice(STALE, true))
                    p { a href={ "/ui/employees/" (current.id) "/edit" } { "Reload the record" } }
                },
            ),
        )
            .into_response(),
        Err(e) => match form::place_on_form(&e) {
            Some(problems) => {
                let (status, _) = error_text(&e);
                let version = f.get("version").unwrap_or("").to_owned();
                let entered = form::entered_sensitive(&f);
                (
                    status,
                    edit_page(
                        &s,
                        &current.id,
                        &current.employee_number,
                        &version,
                        &Kept::from_form(&f),
                        &problems,
                        &entered,
                    ),
                )
                    .into_response()
            }
            None => error_page(&s, &e),
        },
    }
}

const CONFIRM: &str = "confirm";

fn delete_page(s: &ConsoleSession, view: &EmployeeView, problems: &Problems) -> Markup {
    let error = problems.beside.first().map(|(_, t)| t.as_str());
    let id = form::input_id(CONFIRM);
    let described = if error.is_some() {
        format!("{id}-hint {id}-error")
    } else {
        format!("{id}-hint")
    };
    page(
        &format!("Delete {}", view.employee_number),
        s,
        "",
        html! {
            @for t in &problems.other { (notice(t, true)) }
            p {
                "Deleting " strong { (view.first_name) " " (view.last_name) }
                " crypto-shreds the record: its key is destroyed and its sensitive fields can never be read again. The audit trail stays."
            }
            form.card method="post" action={ "/ui/employees/" (view.id) "/delete" } novalidate {
                (csrf_field(s))
                div.field {
                    label for=(id) { "Type the employee number to confirm" }
                    input id=(id) name=(CONFIRM) type="text" autocomplete="off" spellcheck="false"
                        aria-invalid=[error.map(|_| "true")] aria-describedby=(described);
                    span.hint id={ (id) "-hint" } { "The employee number is " strong { (view.employee_number) } "." }
                    @if let Some(e) = error { p.field-error id={ (id) "-error" } { (e) } }
                }
                div.actions {
                    button.danger type="submit" { "Delete employee" }
                    a href={ "/ui/employees/" (view.id) } { "Cancel" }
                }
            }
        },
    )
}

/// `GET /ui/employees/{id}/delete`.
async fn delete_form(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    Path(id): Path<String>,
) -> Response {
    if s.principal.role != Role::Hr {
        return error_page(
            &s,
            &ServiceError::Forbidden(format!(
                "role {} may not delete employee records",
                s.principal.role
            )),
        );
    }
    match v
        .get_employee(&s.principal, &ctx, RecordRef::parse(&id))
        .await
    {
        Ok(view) => delete_page(&s, &view, &Problems::default()).into_response(),
        Err(e) => error_page(&s, &e),
    }
}

/// `POST /ui/employees/{id}/delete`: only when the typed number is the record's.
async fn delete(State(v): State<Vault>, Path(id): Path<String>, p: Posted) -> Response {
    let Posted {
        session: s,
        ctx,
        form: f,
        ..
    } = p;
    let r = RecordRef::parse(&id);
    let view = match v.get_employee(&s.principal, &ctx, r).await {
        Ok(view) => view,
        Err(e) => return error_page(&s, &e),
    };
    if f.get(CONFIRM).map(str::trim) != Some(view.employee_number.as_str()) {
        let problems = Problems::one(
            CONFIRM,
            "That is not this record's employee number, so nothing was deleted.",
        );
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            delete_page(&s, &view, &problems),
        )
            .into_response();
    }
    match v.delete_employee(&s.principal, &ctx, r).await {
        Ok(()) => Redirect::to("/ui/employees?notice=deleted").into_response(),
        Err(e @ ServiceError::Conflict { .. }) => {
            let (status, text) = error_text(&e);
            let problems = Problems {
                beside: Vec::new(),
                other: vec![text],
            };
            (status, delete_page(&s, &view, &problems)).into_response()
        }
        Err(e) => error_page(&s, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::if_match_of;

    #[test]
    fn a_form_version_becomes_an_if_match_that_cannot_skip_the_check() {
        assert_eq!(if_match_of(Some("3")), "\"3\"");
        assert_eq!(if_match_of(Some(" 12 ")), "\"12\"");
        for bad in [None, Some(""), Some("*"), Some("\"3\""), Some("3, 4")] {
            assert_eq!(if_match_of(bad), "\u{0}", "{bad:?}");
        }
    }
}
