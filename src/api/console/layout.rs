//! The page shell (header, navigation by role, main, footer), flash messages and error pages.
//!
//! Accessibility (WCAG 2.1 AA): one `<main>` with the page's `<h1>`, a skip link, landmarks for
//! everything, `lang`, visible focus (in the stylesheet), and labels on every control.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::model::Role;
use crate::service::{ConsoleSession, ServiceError};

/// One navigation link.
pub(super) struct Link {
    pub(super) label: &'static str,
    pub(super) href: &'static str,
}

const fn l(label: &'static str, href: &'static str) -> Link {
    Link { label, href }
}

/// The links a role may use, in order; the first is the role's home page.
pub(super) fn nav_for(role: Role) -> &'static [Link] {
    const HR: &[Link] = &[
        l("Employees", "/ui/employees"),
        l("New hire", "/ui/employees/new"),
        l("Import", "/ui/import"),
    ];
    const PAYROLL: &[Link] = &[l("Employees", "/ui/employees")];
    const AUDITOR: &[Link] = &[l("Audit log", "/ui/audit")];
    const SECURITY: &[Link] = &[
        l("Employees", "/ui/employees"),
        l("Audit log", "/ui/audit"),
        l("Alerts", "/ui/alerts"),
        l("HR flags", "/ui/flags"),
    ];
    const ADMIN: &[Link] = &[l("Users", "/ui/users")];
    match role {
        Role::Hr => HR,
        Role::Payroll => PAYROLL,
        Role::Auditor => AUDITOR,
        Role::Security => SECURITY,
        Role::Admin => ADMIN,
    }
}

/// A page for a signed-in user. `current` is the path of the nav link to mark as current.
pub(super) fn page(title: &str, s: &ConsoleSession, current: &str, content: Markup) -> Markup {
    page_with_head(title, s, current, html! {}, content)
}

/// [`page`] with extra elements at the end of `<head>` (a reveal's `<meta http-equiv="refresh">`).
pub(super) fn page_with_head(
    title: &str,
    s: &ConsoleSession,
    current: &str,
    head: Markup,
    content: Markup,
) -> Markup {
    let p = &s.principal;
    shell(
        title,
        head,
        html! {
            nav aria-label="Main" {
                ul.nav {
                    @for link in nav_for(p.role) {
                        li {
                            @if link.href == current {
                                a href=(link.href) aria-current="page" { (link.label) }
                            } @else {
                                a href=(link.href) { (link.label) }
                            }
                        }
                    }
                }
                div.who {
                    span { "Signed in as " strong { (p.username) } " (" (p.role.as_str()) ")" }
                    form method="post" action="/ui/logout" {
                        (csrf_field(s))
                        button type="submit" { "Sign out" }
                    }
                }
            }
        },
        content,
    )
}

/// A page with no session (sign-in, errors before sign-in).
pub(super) fn bare(title: &str, content: Markup) -> Markup {
    shell(title, html! {}, html! {}, content)
}

fn shell(title: &str, head: Markup, nav: Markup, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · hrvault" }
                link rel="stylesheet" href="/ui/assets/console.css";
                script src="/ui/assets/console.js" defer {}
                (head)
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "hrvault" }
                    (nav)
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (content)
                }
                footer { p { "hrvault · every access is recorded in the audit log" } }
            }
        }
    }
}

/// The hidden CSRF input every form of a session carries.
pub(super) fn csrf_field(s: &ConsoleSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf_token()); }
}

/// A status message (`role="status"`), or an error one (`role="alert"`).
pub(super) fn notice(text: &str, error: bool) -> Markup {
    html! {
        @if error {
            p.notice.error role="alert" { (text) }
        } @else {
            p.notice role="status" { (text) }
        }
    }
}

/// The message a person should read for a service error, and its status.
pub(super) fn error_text(e: &ServiceError) -> (StatusCode, String) {
    let (status, _, detail) = super::super::error::describe(e);
    let text = match e {
        ServiceError::NotFound => "No such record (it may have been deleted).".to_owned(),
        ServiceError::Unavailable => {
            "The audit log cannot be written right now, so nothing was done and no data is shown. Try again later.".to_owned()
        }
        ServiceError::Internal => "Something went wrong on the server; the details are in its log.".to_owned(),
        ServiceError::RateLimited(secs) => format!("Too many attempts; try again in {secs} seconds."),
        ServiceError::Invalid(errs) => errs
            .0
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        // The service's own words, verbatim: a person (or their helpdesk) can search for them,
        // and the restriction's message must read exactly as the API's.
        ServiceError::Forbidden(d) => d.clone(),
        _ => capitalise(&detail),
    };
    (status, text)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => {
            f.to_uppercase().chain(c).collect::<String>() + if s.ends_with('.') { "" } else { "." }
        }
        None => String::new(),
    }
}

/// A full error page for a signed-in user.
pub(super) fn error_page(s: &ConsoleSession, e: &ServiceError) -> Response {
    let (status, text) = error_text(e);
    let title = status.canonical_reason().unwrap_or("Error");
    (status, page(title, s, "", notice(&text, true))).into_response()
}

/// `/ui/*` that is no page.
pub(super) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        bare(
            "Page not found",
            html! { p { "There is no such page. " a href="/ui/" { "Go to the start page" } } },
        ),
    )
        .into_response()
}
