//! **Import**: upload an HRIS CSV (multipart) → `Vault::import_employees`, the importer of
//! `POST /v1/employees/import` and `hrvault import` (same header, rules and one
//! `employee.import` entry) → how many rows were imported and a table of the rejected ones.
//!
//! The multipart body is read here, so the CSRF check is too: the form sends the hidden `csrf`
//! field first, and nothing of the file is read before it matched.

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};

use super::form;
use super::layout::{csrf_field, error_text, notice, page};
use super::session::{Signed, SignedForPost, csrf_refused};
use crate::model::Role;
use crate::service::{
    ConsoleSession, IMPORT_BODY_LIMIT, ImportResult, RejectedRow, ServiceError, Vault,
};

const PATH: &str = "/ui/import";

/// Room for the multipart framing and the CSRF field around a file of the full 10 MiB.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route(PATH, get(upload_form).post(upload))
        .layer(DefaultBodyLimit::max(
            IMPORT_BODY_LIMIT + MULTIPART_OVERHEAD,
        ))
}

fn upload_card(s: &ConsoleSession) -> Markup {
    html! {
        form.card method="post" action=(PATH) enctype="multipart/form-data" {
            (csrf_field(s))
            div.field {
                label for="csv-file" { "CSV file" }
                input id="csv-file" name="file" type="file" accept=".csv,text/csv" aria-describedby="csv-file-hint";
                span.hint id="csv-file-hint" {
                    "Up to 10 MiB. The header names the record's fields, as for " code { "hrvault import" }
                    " (e.g. employee_number, first_name, home_address.line1); an empty cell is absent."
                }
            }
            button type="submit" { "Import" }
        }
    }
}

fn upload_page(s: &ConsoleSession, message: Option<&str>) -> Markup {
    page(
        "Import",
        s,
        PATH,
        html! {
            @if let Some(m) = message { (notice(m, true)) }
            (upload_card(s))
        },
    )
}

/// `GET /ui/import`.
async fn upload_form(Signed(s, _): Signed) -> Response {
    if s.principal.role != Role::Hr {
        let e = ServiceError::Forbidden(format!(
            "role {} may not import employee records",
            s.principal.role
        ));
        return super::layout::error_page(&s, &e);
    }
    upload_page(&s, None).into_response()
}

fn problem_text(r: &RejectedRow) -> String {
    r.errors
        .iter()
        .map(|e| match form::label_of(&e.field) {
            Some(label) => format!("{label} {}", e.message),
            None => format!("{}: {}", e.field, e.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn result_page(s: &ConsoleSession, result: &ImportResult) -> Markup {
    page(
        "Import",
        s,
        PATH,
        html! {
            (result_table(result))
            h2 { "Import another file" }
            (upload_card(s))
        },
    )
}

/// The count and the table of rejected rows.
fn result_table(result: &ImportResult) -> Markup {
    html! {
            (notice(&format!("Imported {} employees", result.imported), false))
            h2 { "Rejected rows" }
            div.table-wrap {
                table {
                    caption { "Rejected rows" }
                    thead {
                        tr {
                            th scope="col" { "Line" }
                            th scope="col" { "Employee number" }
                            th scope="col" { "Problem" }
                        }
                    }
                    tbody {
                        @if result.rejected.is_empty() {
                            tr { td colspan="3" { "No rows were rejected." } }
                        }
                        @for r in &result.rejected {
                            tr {
                                td { (r.line) }
                                td { (r.employee_number.as_deref().unwrap_or("")) }
                                td { (problem_text(r)) }
                            }
                        }
                    }
                }
            }
    }
}

fn refused(s: &ConsoleSession, status: StatusCode, message: &str) -> Response {
    (status, upload_page(s, Some(message))).into_response()
}

/// `POST /ui/import`: `csrf` first, then the file.
async fn upload(
    State(v): State<Vault>,
    SignedForPost(s, ctx): SignedForPost,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(mut parts) = multipart else {
        // Not multipart: not this page's form, so not verifiable either.
        return csrf_refused();
    };
    let csrf_ok = match parts.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => {
            field.text().await.is_ok_and(|t| s.csrf_matches(&t))
        }
        _ => false,
    };
    if !csrf_ok {
        return csrf_refused();
    }
    let file = loop {
        match parts.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => break field.bytes().await,
            Ok(Some(_)) => continue,
            Ok(None) => {
                return refused(&s, StatusCode::BAD_REQUEST, "Choose a CSV file to import.");
            }
            Err(e) => break Err(e),
        }
    };
    let bytes = match file {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refused(
                &s,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The file is larger than 10 MiB; nothing was imported. Split it and import the parts.",
            );
        }
        Err(_) => {
            return refused(
                &s,
                StatusCode::BAD_REQUEST,
                "The upload could not be read; nothing was imported. Try again.",
            );
        }
    };
    if bytes.len() > IMPORT_BODY_LIMIT {
        return refused(
            &s,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The file is larger than 10 MiB; nothing was imported. Split it and import the parts.",
        );
    }
    if bytes.is_empty() {
        return refused(
            &s,
            StatusCode::BAD_REQUEST,
            "Choose a CSV file to import (the one chosen is empty).",
        );
    }
    match v.import_employees(&s.principal, &ctx, Ok(bytes)).await {
        Ok(result) => result_page(&s, &result).into_response(),
        Err(e @ ServiceError::BadRequest(_)) => {
            let (status, text) = error_text(&e);
            refused(&s, status, &format!("Nothing was imported: {text}"))
        }
        Err(e) => super::layout::error_page(&s, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldError;

    #[test]
    fn the_result_names_each_rejected_line_and_its_problems_in_words() {
        let result = ImportResult {
            imported: 2,
            rejected: vec![RejectedRow {
                line: 4,
                employee_number: Some("E7".into()),
                errors: vec![
                    FieldError {
                        field: "ssn".into(),
                        message: "group number may not be 00".into(),
                    },
                    FieldError {
                        field: "bank_account.routing_number".into(),
                        message: "fails the ABA checksum".into(),
                    },
                ],
            }],
        };
        let html = result_table(&result).into_string();
        assert!(html.contains("Imported 2 employees"));
        assert!(html.contains("<caption>Rejected rows</caption>"));
        assert!(html.contains(
            "<td>4</td><td>E7</td><td>SSN group number may not be 00; Routing number fails the ABA checksum</td>"
        ));
        let none = result_table(&ImportResult {
            imported: 0,
            rejected: vec![],
        })
        .into_string();
        assert!(none.contains("No rows were rejected."));
    }
}
