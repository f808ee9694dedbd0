//! **Reveal**: the record page's form and `POST /ui/employees/{id}/reveal`, which calls the
//! service's `reveal` (audited with the fields and the reason) and shows the values for
//! `console.reveal_seconds`, after which `console.js` masks them again. There is no timed
//! `<meta http-equiv="refresh">` fallback: a timed redirect fails WCAG 2.2.1 (axe's
//! `meta-refresh` rule), and the page is `no-store`, so leaving it ("Hide now") is final.
//!
//! The plaintext is parsed from the service's zeroizing buffer into zeroizing types, and the page
//! that holds it is handed to hyper as a zeroizing buffer too.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::{Deserialize, Deserializer};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::form::{self, Problems};
use super::layout::{csrf_field, error_page, error_text, page_with_head};
use super::record::record_page;
use super::session::Posted;
use crate::model::{BankAccount, HomeAddress, MAX_KEPT_DIGITS, Ssn};
use crate::service::{ConsoleSession, RecordRef, RevealRequest, ServiceError, Vault};

/// The checkboxes: (value = the API's field name, label).
const FIELDS: [(&str, &str); 4] = [
    ("ssn", "SSN"),
    ("date_of_birth", "Date of birth"),
    ("home_address", "Home address"),
    ("bank_account", "Bank account"),
];

const HINT: &str = "At least 10 characters; kept in the audit log";

/// A refused reveal shown again: the messages, the boxes that were ticked, the reason.
#[derive(Default)]
pub(super) struct Retry {
    problems: Problems,
    chosen: Vec<String>,
    reason: String,
}

fn checkbox_id(value: &str) -> String {
    format!("reveal-{value}")
}

/// The reveal form of the record page (hr and payroll).
pub(super) fn form(s: &ConsoleSession, id: &str, retry: &Retry) -> Markup {
    let fields_error = retry.problems.message_of("fields");
    let reason_error = retry.problems.message_of("reason");
    let fields_described = fields_error.map(|_| "reveal-fields-error");
    let reason_described = if reason_error.is_some() {
        "reveal-reason-hint reveal-reason-error"
    } else {
        "reveal-reason-hint"
    };
    html! {
        h2 { "Reveal" }
        @for t in &retry.problems.other { p.field-error role="alert" { (t) } }
        form.card method="post" action={ "/ui/employees/" (id) "/reveal" } autocomplete="off" novalidate {
            (csrf_field(s))
            fieldset {
                legend { "Fields to reveal" }
                div.checks {
                    @for (value, label) in FIELDS {
                        label for=(checkbox_id(value)) {
                            input id=(checkbox_id(value)) type="checkbox" name="fields" value=(value)
                                autocomplete="off"
                                checked[retry.chosen.iter().any(|c| c == value)]
                                aria-invalid=[fields_error.map(|_| "true")]
                                aria-describedby=[fields_described];
                            (label)
                        }
                    }
                }
                @if let Some(e) = fields_error { p.field-error id="reveal-fields-error" { (e) } }
            }
            div.field {
                label for="reveal-reason" { "Reason" }
                textarea id="reveal-reason" name="reason" rows="2" autocomplete="off"
                    aria-invalid=[reason_error.map(|_| "true")]
                    aria-describedby=(reason_described) { (retry.reason) }
                span.hint id="reveal-reason-hint" { (HINT) }
                @if let Some(e) = reason_error { p.field-error id="reveal-reason-error" { (e) } }
            }
            button type="submit" { "Reveal" }
        }
    }
}

/// The service's reveal body, held zeroizing.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct Shown {
    #[serde(default)]
    ssn: Option<String>,
    #[serde(default)]
    date_of_birth: Option<String>,
    #[serde(default, deserialize_with = "present")]
    home_address: Option<Option<HomeAddress>>,
    #[serde(default, deserialize_with = "present")]
    bank_account: Option<Option<BankAccount>>,
}

/// A member that is present (`null` = the record has none), as opposed to left out.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn address_text(a: &HomeAddress) -> String {
    let mut parts: Vec<&str> = vec![&a.line1];
    parts.extend(a.line2.as_deref());
    parts.push(&a.city);
    parts.extend(a.state.as_deref());
    parts.extend(a.postal_code.as_deref());
    parts.push(&a.country);
    parts.join(", ")
}

fn secret(value: &str, mask: &str) -> Markup {
    html! { span.secret data-secret data-mask=(mask) { (value) } }
}

/// The head and the content of the page of revealed values.
fn shown_parts(id: &str, seconds: u64, shown: &Shown) -> (Markup, Markup) {
    let back = format!("/ui/employees/{id}");
    let none = html! { span.hint { "None on file" } };
    (
        html! {},
        html! {
            div.card data-reveal-seconds=(seconds) data-revealed="true" {
                p data-countdown role="status" { "Shown for " (seconds) " seconds, then masked again." }
                dl.record {
                    @if let Some(v) = &shown.ssn {
                        dt { "SSN" }
                        dd { (secret(v, &Ssn::parse(v).map_or_else(|_| "***-**-****".to_owned(), |x| x.masked()))) }
                    }
                    @if let Some(v) = &shown.date_of_birth {
                        dt { "Date of birth" }
                        dd { (secret(v, "****-**-**")) }
                    }
                    @if let Some(a) = &shown.home_address {
                        dt { "Home address" }
                        dd {
                            @match a {
                                Some(a) => {
                                    @let m = a.masked();
                                    @let mask = match &m.state {
                                        Some(st) => format!("{}, {st}, {}", m.city, m.country),
                                        None => format!("{}, {}", m.city, m.country),
                                    };
                                    @let text = Zeroizing::new(address_text(a));
                                    (secret(&text, &mask))
                                }
                                None => (none),
                            }
                        }
                    }
                    @if let Some(b) = &shown.bank_account {
                        dt { "Routing number" }
                        dd {
                            @match b {
                                Some(b) => (secret(&b.routing_number, "*********")),
                                None => (none),
                            }
                        }
                        dt { "Account number" }
                        dd {
                            @match b {
                                Some(b) => (secret(&b.account_number, &b.masked().account_number)),
                                None => (none),
                            }
                        }
                    }
                }
            }
            p.actions { a.button href=(back) { "Hide now" } span.hint { "This page is not stored by your browser." } }
        },
    )
}

/// `POST /ui/employees/{id}/reveal`.
pub(super) async fn reveal(State(v): State<Vault>, Path(id): Path<String>, p: Posted) -> Response {
    let Posted {
        session: s,
        ctx,
        form: f,
        ..
    } = p;
    let r = RecordRef::parse(&id);
    let chosen: Vec<String> = f.all("fields").into_iter().map(str::to_owned).collect();
    let reason = f.get("reason").unwrap_or("").to_owned();
    let req = RevealRequest {
        fields: Some(chosen.clone()),
        reason: Some(reason.clone()),
    };
    let body = match v.reveal(&s.principal, &ctx, r, Ok(req)).await {
        Ok(body) => body,
        Err(e) => {
            let Some(problems) = form::place(&e, &|name| match name {
                "fields" => Some("Fields to reveal:"),
                "reason" => Some("Reason"),
                _ => None,
            }) else {
                return error_page(&s, &e);
            };
            let (status, _) = error_text(&e);
            // The record page again, its reveal form showing why. A reason holding a long
            // number (a pasted SSN?) is not sent back.
            let digits = reason.chars().filter(|c| c.is_numeric()).count();
            let retry = Retry {
                problems,
                chosen,
                reason: if digits > MAX_KEPT_DIGITS {
                    String::new()
                } else {
                    reason
                },
            };
            return match v.get_employee(&s.principal, &ctx, r).await {
                Ok(view) => (status, record_page(&s, &view, None, &retry)).into_response(),
                Err(e) => error_page(&s, &e),
            };
        }
    };
    let (Some(record), Ok(shown)) = (r.id(), serde_json::from_slice::<Shown>(&body)) else {
        tracing::error!("a reveal body the console cannot read");
        return error_page(&s, &ServiceError::Internal);
    };
    drop(body);
    let seconds = v.settings().console.reveal_seconds;
    let (head, content) = shown_parts(&record.to_string(), seconds, &shown);
    let html = page_with_head("Revealed values", &s, "", head, content).into_string();
    drop(shown);
    let bytes = Zeroizing::new(html.into_bytes());
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        bytes::Bytes::from_owner(bytes),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests;
