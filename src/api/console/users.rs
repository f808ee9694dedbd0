//! Users (admin): the list, per-user actions (enable/disable, change role, delete) and the
//! create form. A service account's client secret, or a password generated for a human, is
//! shown once on the page that answers the create and never again.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::layout::{csrf_field, error_page, error_text, notice, page};
use super::session::{FormFields, Posted, Signed};
use crate::service::{
    ConsoleSession, NewUser, RequestCtx, ServiceError, UserPatch, Vault, generate_password,
};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/ui/users", get(list).post(create))
        .route("/ui/users/{id}", post(act))
}

const ROLES: [(&str, &str); 5] = [
    ("admin", "Admin"),
    ("hr", "HR"),
    ("payroll", "Payroll"),
    ("auditor", "Auditor"),
    ("security", "Security"),
];

fn role_options(selected: &str) -> Markup {
    html! {
        @for (value, words) in ROLES {
            @if value == selected {
                option value=(value) selected { (words) }
            } @else {
                option value=(value) { (words) }
            }
        }
    }
}

/// What the create form shows after a submission.
enum Created {
    None,
    /// The new user and the credential to show once (a client secret or a generated password).
    Done {
        username: String,
        kind: &'static str,
        secret: Option<Zeroizing<String>>,
    },
    Refused(Vec<(String, String)>),
}

#[allow(
    clippy::too_many_lines,
    reason = "one page: the table, its per-user forms and the create form"
)]
async fn users_page(
    v: &Vault,
    s: &ConsoleSession,
    ctx: &RequestCtx,
    status: StatusCode,
    message: Option<(String, bool)>,
    created: Created,
    kept: Option<&FormFields>,
) -> Response {
    let mut users = match v.list_users(&s.principal, ctx).await {
        Ok(u) => u,
        Err(e) => return error_page(s, &e),
    };
    users.sort_by(|a, b| a.username.cmp(&b.username));
    let refused = match &created {
        Created::Refused(f) => f.as_slice(),
        _ => &[],
    };
    let err = |name: &str| {
        refused
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.as_str())
    };
    let keep = |name: &str| kept.and_then(|f| f.get(name)).unwrap_or("").to_owned();
    let kept_role = keep("role");
    let kept_kind = keep("kind");
    let field = |id: &str, name: &str, label: &str, kind: &str, value: &str, hint: Option<&str>| {
        let hint_id = format!("{id}-hint");
        let err_id = format!("{id}-err");
        let e = err(name);
        let described: Vec<&str> = [hint.map(|_| hint_id.as_str()), e.map(|_| err_id.as_str())]
            .into_iter()
            .flatten()
            .collect();
        let described = (!described.is_empty()).then(|| described.join(" "));
        html! {
            div.field {
                label for=(id) { (label) }
                input id=(id) name=(name) type=(kind) value=(value)
                    aria-invalid=[e.map(|_| "true")] aria-describedby=[described];
                @if let Some(h) = hint { span.hint id=(hint_id) { (h) } }
                @if let Some(m) = e { p.field-error id=(err_id) { (m) } }
            }
        }
    };
    let body = html! {
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        @if let Created::Done { username, kind, secret } = &created {
            section.card aria-labelledby="created-h" {
                h2 id="created-h" { "User " (username) " created" }
                @if let Some(secret) = secret {
                    p {
                        @if *kind == "service" {
                            "Client id: " code { (username) } ". Client secret: "
                        } @else {
                            "Generated password: "
                        }
                        code.secret { (secret.as_str()) }
                    }
                    p role="alert" { strong { "Copy it now: it is not shown again" } }
                }
            }
        }
        section.card aria-labelledby="new-user-h" {
            h2 id="new-user-h" { "Create user" }
            @if let Some(m) = err("") { (notice(m, true)) }
            form method="post" action="/ui/users" {
                (csrf_field(s))
                (field("nu-username", "username", "Username", "text", &keep("username"), None))
                div.field {
                    label for="nu-role" { "Role" }
                    select id="nu-role" name="role" aria-invalid=[err("role").map(|_| "true")]
                        aria-describedby=[err("role").map(|_| "nu-role-err")] {
                        (role_options(&kept_role))
                    }
                    @if let Some(m) = err("role") { p.field-error id="nu-role-err" { (m) } }
                }
                div.field {
                    label for="nu-kind" { "Account type" }
                    select id="nu-kind" name="kind" aria-describedby=[err("kind").map(|_| "nu-kind-err")] {
                        @if kept_kind == "service" {
                            option value="human" { "Human" }
                            option value="service" selected { "Service" }
                        } @else {
                            option value="human" selected { "Human" }
                            option value="service" { "Service" }
                        }
                    }
                    @if let Some(m) = err("kind") { p.field-error id="nu-kind-err" { (m) } }
                }
                (field("nu-password", "password", "Password", "password", "",
                    Some("For human users; at least 8 characters. Leave empty to generate one (shown once). A service account gets a generated client secret instead.")))
                (field("nu-employee_id", "employee_id", "Linked employee id", "text", &keep("employee_id"),
                    Some("Optional: the employee record of the person behind this user")))
                button type="submit" { "Create user" }
            }
        }
        div.table-wrap {
            table {
                caption { (users.len()) " users" }
                thead {
                    tr {
                        th scope="col" { "Username" }
                        th scope="col" { "Role" }
                        th scope="col" { "Type" }
                        th scope="col" { "Enabled" }
                        th scope="col" { "Linked employee" }
                        th scope="col" { "Created" }
                        th scope="col" { "Actions" }
                    }
                }
                tbody {
                    @for u in &users {
                        tr {
                            th scope="row" { (u.username) }
                            td { (u.role) }
                            td { @if u.kind == "service" { "Service" } @else { "Human" } }
                            td { @if u.enabled { "Yes" } @else { "No" } }
                            td.mono { (u.employee_id.as_deref().unwrap_or("")) }
                            td { (u.created_at) }
                            td.actions {
                                form method="post" action={ "/ui/users/" (u.id) } {
                                    (csrf_field(s))
                                    @if u.enabled {
                                        input type="hidden" name="op" value="disable";
                                        button type="submit" { "Disable" }
                                    } @else {
                                        input type="hidden" name="op" value="enable";
                                        button type="submit" { "Enable" }
                                    }
                                }
                                form method="post" action={ "/ui/users/" (u.id) } {
                                    (csrf_field(s))
                                    input type="hidden" name="op" value="role";
                                    label for={ "role-" (u.id) } { "Role" }
                                    " "
                                    select id={ "role-" (u.id) } name="role" { (role_options(u.role)) }
                                    " "
                                    button type="submit" { "Change role" }
                                }
                                form method="post" action={ "/ui/users/" (u.id) } {
                                    (csrf_field(s))
                                    input type="hidden" name="op" value="delete";
                                    button.danger type="submit" { "Delete user" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    (status, page("Users", s, "/ui/users", body)).into_response()
}

#[derive(Debug, Default, serde::Deserialize)]
struct Done {
    done: Option<String>,
}

/// `GET /ui/users`.
async fn list(State(v): State<Vault>, Signed(s, ctx): Signed, RawQuery(raw): RawQuery) -> Response {
    let done = serde_urlencoded::from_str::<Done>(raw.as_deref().unwrap_or(""))
        .ok()
        .and_then(|d| d.done);
    let message = match done.as_deref() {
        Some("enabled") => Some(("User enabled.".to_owned(), false)),
        Some("disabled") => Some((
            "User disabled; their sessions and tokens stopped working.".to_owned(),
            false,
        )),
        Some("role") => Some((
            "Role changed; the user's sessions and tokens stopped working.".to_owned(),
            false,
        )),
        Some("deleted") => Some(("User deleted.".to_owned(), false)),
        _ => None,
    };
    users_page(&v, &s, &ctx, StatusCode::OK, message, Created::None, None).await
}

/// `POST /ui/users`: creates a user; the answer shows a generated credential once.
async fn create(State(v): State<Vault>, p: Posted) -> Response {
    let kind = p.form.text("kind").unwrap_or_else(|| "human".to_owned());
    let mut generated = None;
    let password = match (kind.as_str(), p.form.get("password")) {
        ("human", None | Some("")) => match generate_password() {
            Ok(pw) => {
                let pw = pw.expose_secret().to_owned();
                generated = Some(Zeroizing::new(pw.clone()));
                Some(pw)
            }
            Err(e) => return error_page(&p.session, &e),
        },
        (_, None | Some("")) => None,
        (_, Some(pw)) => Some(pw.to_owned()),
    };
    let req = NewUser {
        username: p.form.text("username"),
        password,
        role: p.form.text("role"),
        employee_id: p.form.text("employee_id"),
        kind: Some(kind),
    };
    match v.create_user(&p.session.principal, &p.ctx, Ok(req)).await {
        Ok(mut view) => {
            let secret = view.client_secret.take().map(Zeroizing::new).or(generated);
            let created = Created::Done {
                username: view.username.clone(),
                kind: view.kind,
                secret,
            };
            users_page(
                &v,
                &p.session,
                &p.ctx,
                StatusCode::CREATED,
                None,
                created,
                None,
            )
            .await
        }
        Err(e) => {
            let (code, text) = error_text(&e);
            let fields = match &e {
                ServiceError::Invalid(errs) => errs
                    .0
                    .iter()
                    .map(|f| (f.field.clone(), sentence(&f.message)))
                    .collect(),
                ServiceError::Conflict {
                    field: Some(f),
                    message,
                } => vec![((*f).to_owned(), sentence(message))],
                _ => vec![(String::new(), text)],
            };
            users_page(
                &v,
                &p.session,
                &p.ctx,
                code,
                Some((
                    "The user was not created; see the marked fields.".to_owned(),
                    true,
                )),
                Created::Refused(fields),
                Some(&p.form),
            )
            .await
        }
    }
}

fn sentence(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        let mut out: String = f.to_uppercase().chain(c).collect();
        if !out.ends_with('.') {
            out.push('.');
        }
        out
    })
}

/// `POST /ui/users/{id}`: `op` = enable, disable, role (with `role`) or delete.
async fn act(State(v): State<Vault>, Path(id): Path<String>, p: Posted) -> Response {
    let who = &p.session.principal;
    let result = match p.form.get("op") {
        Some("enable") | Some("disable") => {
            let enabled = p.form.get("op") == Some("enable");
            v.update_user(
                who,
                &p.ctx,
                &id,
                Ok(UserPatch {
                    enabled: Some(enabled),
                    role: None,
                }),
            )
            .await
            .map(|_| if enabled { "enabled" } else { "disabled" })
        }
        Some("role") => v
            .update_user(
                who,
                &p.ctx,
                &id,
                Ok(UserPatch {
                    enabled: None,
                    role: p.form.text("role"),
                }),
            )
            .await
            .map(|_| "role"),
        Some("delete") => v.delete_user(who, &p.ctx, &id).await.map(|()| "deleted"),
        _ => Err(ServiceError::BadRequest("unknown action".into())),
    };
    match result {
        Ok(done) => Redirect::to(&format!("/ui/users?done={done}")).into_response(),
        Err(e) => {
            let (code, text) = error_text(&e);
            users_page(
                &v,
                &p.session,
                &p.ctx,
                code,
                Some((text, true)),
                Created::None,
                None,
            )
            .await
        }
    }
}
