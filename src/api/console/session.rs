//! Cookies, sign-in and sign-out, and the extractors every console handler starts from:
//! [`Signed`] (a GET from a signed-in user) and [`Posted`] (a form POST with its CSRF token
//! checked before the handler runs).

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::{Markup, html};
use secrecy::SecretString;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::layout::{self, bare, error_text, notice};
use crate::api::Transport;
use crate::api::extract::ctx_of;
use crate::crypto::SessionSecret;
use crate::service::{ConsoleSession, RequestCtx, ServiceError, SessionEnded, Vault};

const SESSION: &str = "hrvault_session";
const SESSION_TLS: &str = "__Host-hrvault_session";
const LOGIN: &str = "hrvault_login";
const LOGIN_TLS: &str = "__Host-hrvault_login";

fn tls(parts_ext: &axum::http::Extensions) -> bool {
    parts_ext.get::<Transport>() == Some(&Transport::Tls)
}

fn cookie_names(tls: bool) -> (&'static str, &'static str) {
    if tls {
        (SESSION_TLS, LOGIN_TLS)
    } else {
        (SESSION, LOGIN)
    }
}

/// The value of cookie `name`, if the request sent it (first one wins).
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// `Set-Cookie` for a console cookie: HttpOnly, SameSite=Strict, Path=/, and Secure under TLS.
/// `max_age` `Some(0)` deletes it; `None` makes a browser-session cookie.
fn set_cookie(name: &str, value: &str, tls: bool, max_age: Option<u64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if tls {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    let v = HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""));
    c.zeroize();
    v
}

/// A signed-in user on a GET. No session → 303 to the sign-in page.
pub(super) struct Signed(pub(super) ConsoleSession, pub(super) RequestCtx);

/// Opens the request's session, or says why not.
async fn open(parts: &mut Parts, vault: &Vault) -> Result<(ConsoleSession, RequestCtx), Ended> {
    let ctx = ctx_of(parts);
    let (name, _) = cookie_names(tls(&parts.extensions));
    let Some(value) = cookie(&parts.headers, name) else {
        return Err(Ended::Ended(SessionEnded::Unknown));
    };
    match vault.console_session(&ctx, value).await {
        Ok(Ok(s)) => Ok((s, ctx)),
        Ok(Err(why)) => Err(Ended::Ended(why)),
        Err(e) => Err(Ended::Error(e)),
    }
}

enum Ended {
    Ended(SessionEnded),
    Error(ServiceError),
}

fn ended_page(e: Ended, status_if_ended: StatusCode) -> Response {
    match e {
        Ended::Ended(why) if status_if_ended == StatusCode::SEE_OTHER => {
            let to = match why {
                SessionEnded::Unknown => "/ui/login",
                SessionEnded::Expired => "/ui/login?ended=expired",
                SessionEnded::Revoked => "/ui/login?ended=revoked",
            };
            Redirect::to(to).into_response()
        }
        Ended::Ended(_) => (
            status_if_ended,
            bare(
                "Session ended",
                html! {
                    (notice("Your session has ended or this form could not be verified, so nothing was changed.", true))
                    p { a href="/ui/login" { "Sign in again" } }
                },
            ),
        )
            .into_response(),
        Ended::Error(e) => {
            let (status, text) = error_text(&e);
            (status, bare("Error", notice(&text, true))).into_response()
        }
    }
}

impl FromRequestParts<Vault> for Signed {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Response> {
        open(parts, vault)
            .await
            .map(|(s, c)| Signed(s, c))
            .map_err(|e| ended_page(e, StatusCode::SEE_OTHER))
    }
}

/// Fields of a submitted form. Values may be sensitive (SSN, password): wiped on drop, no
/// `Debug`.
pub(super) struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Parses `application/x-www-form-urlencoded` bytes, then wipes them.
    pub(super) fn parse(body: Bytes) -> Result<Self, ServiceError> {
        let parsed: Result<Vec<(String, String)>, _> = serde_urlencoded::from_bytes(&body);
        if let Ok(mut owned) = body.try_into_mut() {
            owned.zeroize();
        }
        parsed
            .map(Self)
            .map_err(|_| ServiceError::BadRequest("malformed form".into()))
    }

    /// The first value of `name`, if present.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, `None` if absent or empty.
    pub(super) fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Every value of `name` (checkbox groups).
    pub(super) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every (name, value) pair, in order.
    #[allow(dead_code, reason = "no page needs the raw pairs yet")]
    pub(super) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

impl Drop for FormFields {
    fn drop(&mut self) {
        for (k, v) in &mut self.0 {
            k.zeroize();
            v.zeroize();
        }
    }
}

/// A form POST from a signed-in user whose `csrf` field is the session's token. A POST without
/// a session, without the token or with a wrong one is refused with 403 before any handler runs.
pub(super) struct Posted {
    pub(super) session: ConsoleSession,
    pub(super) ctx: RequestCtx,
    pub(super) form: FormFields,
    /// Whether the request came over TLS (cookie names and flags).
    pub(super) tls: bool,
}

impl FromRequest<Vault> for Posted {
    type Rejection = Response;
    async fn from_request(req: Request, vault: &Vault) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let is_tls = tls(&parts.extensions);
        let (session, ctx) = open(&mut parts, vault)
            .await
            .map_err(|e| ended_page(e, StatusCode::FORBIDDEN))?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, vault).await.map_err(|_| {
            layout::error_page(
                &session,
                &ServiceError::BadRequest("the form is too large or could not be read".into()),
            )
        })?;
        let form = if is_form {
            FormFields::parse(bytes).map_err(|e| layout::error_page(&session, &e))?
        } else {
            FormFields(Vec::new())
        };
        if !form.get("csrf").is_some_and(|t| session.csrf_matches(t)) {
            return Err(csrf_refused());
        }
        Ok(Posted {
            session,
            ctx,
            form,
            tls: is_tls,
        })
    }
}

/// The 403 for a state change without the session's CSRF token.
pub(super) fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        bare(
            "Request refused",
            html! {
                (notice("This form could not be verified (its security token is missing or wrong), so nothing was changed. Go back, reload the page and try again.", true))
                p { a href="/ui/" { "Back to the console" } }
            },
        ),
    )
        .into_response()
}

/// Opens the session of a request whose body the handler reads itself (the import's multipart
/// upload): 403 without a session; the handler must check the CSRF token with
/// `ConsoleSession::csrf_matches` before it acts.
pub(super) struct SignedForPost(pub(super) ConsoleSession, pub(super) RequestCtx);

impl FromRequestParts<Vault> for SignedForPost {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Response> {
        open(parts, vault)
            .await
            .map(|(s, c)| SignedForPost(s, c))
            .map_err(|e| ended_page(e, StatusCode::FORBIDDEN))
    }
}

/// `GET /ui/`: the role's first page.
pub(super) async fn home(Signed(s, _): Signed) -> Response {
    let to = layout::nav_for(s.principal.role)
        .first()
        .map_or("/ui/login", |l| l.href);
    Redirect::to(to).into_response()
}

/// The sign-in form. `message`: why it is shown again.
fn login_form(csrf: &str, username: &str, message: Option<(&str, bool)>) -> Markup {
    bare(
        "Sign in",
        html! {
            @if let Some((text, error)) = message {
                (notice(text, error))
            }
            form.card method="post" action="/ui/login" {
                input type="hidden" name="csrf" value=(csrf);
                div.field {
                    label for="username" { "Username" }
                    input id="username" name="username" type="text" autocomplete="username" required value=(username);
                }
                div.field {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A sign-in page with a fresh pre-session CSRF cookie (login CSRF: a forged cross-site
/// sign-in has neither the cookie nor the field).
fn login_response(
    tls: bool,
    status: StatusCode,
    username: &str,
    message: Option<(&str, bool)>,
) -> Response {
    let token = match SessionSecret::generate() {
        Ok(t) => t.to_cookie(),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "rng unavailable").into_response(),
    };
    let (_, login) = cookie_names(tls);
    let mut resp = (status, login_form(&token, username, message)).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(login, &token, tls, Some(3600)),
    );
    resp
}

#[derive(serde::Deserialize)]
pub(super) struct LoginQuery {
    ended: Option<String>,
}

/// `GET /ui/login`.
pub(super) async fn login_page(parts: axum::http::request::Parts) -> Response {
    let q: Option<LoginQuery> = parts
        .uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok());
    let message = match q.and_then(|q| q.ended).as_deref() {
        Some("expired") => Some(("Your session expired. Sign in again.", false)),
        Some("revoked") => Some((
            "Your session was ended because your account changed. Sign in again.",
            true,
        )),
        Some("out") => Some(("You are signed out.", false)),
        _ => None,
    };
    login_response(tls(&parts.extensions), StatusCode::OK, "", message)
}

/// `POST /ui/login`.
pub(super) async fn login(State(v): State<Vault>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let is_tls = tls(&parts.extensions);
    let ctx = ctx_of(&parts);
    let (session_name, login_name) = cookie_names(is_tls);
    let expected = cookie(&parts.headers, login_name).map(|c| Zeroizing::new(c.to_owned()));
    let bytes = match Bytes::from_request(Request::from_parts(parts, body), &v).await {
        Ok(b) => b,
        Err(_) => {
            return login_response(
                is_tls,
                StatusCode::BAD_REQUEST,
                "",
                Some(("The form could not be read.", true)),
            );
        }
    };
    let form = match FormFields::parse(bytes) {
        Ok(f) => f,
        Err(_) => {
            return login_response(
                is_tls,
                StatusCode::BAD_REQUEST,
                "",
                Some(("The form could not be read.", true)),
            );
        }
    };
    let csrf_ok = match (expected.as_deref(), form.get("csrf")) {
        (Some(want), Some(got)) => {
            want.len() == got.len() && bool::from(want.as_bytes().ct_eq(got.as_bytes()))
        }
        _ => false,
    };
    if !csrf_ok {
        return login_response(
            is_tls,
            StatusCode::FORBIDDEN,
            "",
            Some((
                "The sign-in form expired or did not come from this site. Try again.",
                true,
            )),
        );
    }
    let username = form.get("username").unwrap_or("").trim().to_owned();
    let password = SecretString::from(form.get("password").unwrap_or("").to_owned());
    match v.console_sign_in(&ctx, &username, password).await {
        Ok((_session, cookie_value)) => {
            let mut resp = Redirect::to("/ui/").into_response();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(session_name, &cookie_value, is_tls, None),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(login_name, "", is_tls, Some(0)),
            );
            resp
        }
        Err(ServiceError::Unauthorized) => login_response(
            is_tls,
            StatusCode::UNAUTHORIZED,
            &username,
            Some(("Invalid username or password", true)),
        ),
        Err(e) => {
            let (status, text) = error_text(&e);
            login_response(is_tls, status, &username, Some((&text, true)))
        }
    }
}

/// `POST /ui/logout`: the session ends on every node before the response.
pub(super) async fn logout(State(v): State<Vault>, p: Posted) -> Response {
    let Posted {
        session, ctx, tls, ..
    } = p;
    match v.console_sign_out(session, &ctx).await {
        Ok(()) => {
            let mut resp = Redirect::to("/ui/login?ended=out").into_response();
            let (name, _) = cookie_names(tls);
            resp.headers_mut()
                .append(header::SET_COOKIE, set_cookie(name, "", tls, Some(0)));
            resp
        }
        Err(e) => {
            let (status, text) = error_text(&e);
            (status, bare("Error", notice(&text, true))).into_response()
        }
    }
}
