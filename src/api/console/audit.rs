//! Audit log (auditor, security): the timeline newest first with server-side filters, one
//! entry's every field, the chain status with **Verify now**, the signed checkpoint, exports of
//! the filtered view (JSONL, OCSF, CSV) and a chart of audited requests per hour.
//!
//! Everything goes through the service's audit operations (`query_audit`, `verify_audit`,
//! `audit_checkpoint`, `audit_hours`); nothing here opens the audit files.

use std::fmt::Write as _;

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
        .route("/ui/audit/checkpoint", get(checkpoint))
        .route("/ui/audit/export", get(export))
        .route("/ui/audit/chart.svg", get(chart))
        .route("/ui/audit/{seq}", get(detail))
}

/// Entries a page shows.
const PAGE: usize = 100;
/// Entries an export holds at most.
const EXPORT_MAX: usize = 10_000;

/// The timeline's query string, as the filter form sends it (empty means "any").
#[derive(Debug, Default, serde::Deserialize)]
struct Filters {
    actor: Option<String>,
    action: Option<String>,
    employee_id: Option<String>,
    outcome: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
    format: Option<String>,
}

fn nonempty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Filters {
    fn parse(raw: Option<&str>) -> Self {
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default()
    }

    /// The filter pairs (for links that keep the view: paging, exports).
    fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("actor", nonempty(self.actor.as_ref())),
            ("action", nonempty(self.action.as_ref())),
            ("employee_id", nonempty(self.employee_id.as_ref())),
            ("outcome", nonempty(self.outcome.as_ref())),
            ("from", nonempty(self.from.as_ref())),
            ("to", nonempty(self.to.as_ref())),
        ]
    }

    /// The service query, or the problems per field (`(input id, message)`).
    fn query(
        &self,
        descending: bool,
        limit: usize,
    ) -> Result<AuditQuery, Vec<(&'static str, String)>> {
        let mut errs = Vec::new();
        let action = nonempty(self.action.as_ref());
        if let Some(a) = &action
            && Action::parse(a).is_none()
        {
            errs.push(("f-action", "Not an audit action name.".to_owned()));
        }
        let outcome = nonempty(self.outcome.as_ref());
        if let Some(o) = &outcome
            && !OUTCOMES.iter().any(|(v, _)| v == o)
        {
            errs.push(("f-outcome", "Must be success, denied or error.".to_owned()));
        }
        let since = match nonempty(self.from.as_ref()).map(|s| instant(&s, false)) {
            Some(Err(m)) => {
                errs.push(("f-from", m));
                None
            }
            Some(Ok(t)) => Some(t),
            None => None,
        };
        let until = match nonempty(self.to.as_ref()).map(|s| instant(&s, true)) {
            Some(Err(m)) => {
                errs.push(("f-to", m));
                None
            }
            Some(Ok(t)) => Some(t),
            None => None,
        };
        // A paging link the person did not type: a broken one just starts from the newest.
        let before_seq = nonempty(self.before.as_ref()).and_then(|b| b.parse::<u64>().ok());
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(AuditQuery {
            actor: nonempty(self.actor.as_ref()),
            employee_id: nonempty(self.employee_id.as_ref()),
            action,
            since,
            until,
            after_seq: 0,
            before_seq,
            outcome,
            descending,
            limit,
        })
    }
}

const OUTCOMES: [(&str, &str); 3] = [
    ("success", "Success"),
    ("denied", "Denied"),
    ("error", "Error"),
];

/// A form's time (`datetime-local`, a date, or RFC 3339; a time without an offset is UTC) as
/// the entries' RFC 3339 UTC form. A bare date as the end of a range means the whole day.
fn instant(s: &str, end_of_range: bool) -> Result<String, String> {
    use jiff::civil::{Date, DateTime};
    use jiff::tz::TimeZone;
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(rfc3339(t));
    }
    let utc = |dt: DateTime| TimeZone::UTC.to_timestamp(dt).ok();
    if !s.contains(['T', 't', ' '])
        && let Ok(d) = s.parse::<Date>()
    {
        let dt = if end_of_range {
            d.at(23, 59, 59, 999_999_000)
        } else {
            d.at(0, 0, 0, 0)
        };
        if let Some(t) = utc(dt) {
            return Ok(rfc3339(t));
        }
    }
    if let Ok(dt) = s.parse::<DateTime>()
        && let Some(t) = utc(dt)
    {
        // `datetime-local` has minute precision: the end of a range takes the whole minute.
        let t = if end_of_range && dt.second() == 0 && dt.subsec_nanosecond() == 0 {
            t.checked_add(jiff::SignedDuration::from_micros(59_999_999))
                .unwrap_or(t)
        } else {
            t
        };
        return Ok(rfc3339(t));
    }
    Err("Must be a date and time, e.g. 2026-01-15T09:00 (UTC).".to_owned())
}

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

/// `GET /ui/audit/checkpoint`: the signed checkpoint as a JSON download.
async fn checkpoint(State(v): State<Vault>, Signed(s, ctx): Signed) -> Response {
    let c = match v.audit_checkpoint(&s.principal, &ctx).await {
        Ok(c) => c,
        Err(e) => return error_page(&s, &e),
    };
    let body = serde_json::to_vec_pretty(&c).unwrap_or_default();
    attachment(
        "application/json",
        &format!("hrvault-checkpoint-{}.json", c.seq),
        body,
    )
}

fn attachment(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The CSV header of an export.
pub(super) const CSV_HEADER: [&str; 15] = [
    "seq",
    "ts",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "action",
    "employee_id",
    "employee_ids",
    "fields",
    "reason",
    "outcome",
    "source_ip",
    "request_id",
    "prev_hash",
    "hash",
];

/// One entry as a CSV record, in [`CSV_HEADER`]'s order; lists are joined with `;`, a null is
/// an empty cell.
pub(super) fn csv_record(e: &AuditEntry) -> [String; 15] {
    let o = |v: &Option<std::borrow::Cow<'static, str>>| v.as_deref().unwrap_or("").to_owned();
    let l = |v: &Option<Vec<std::borrow::Cow<'static, str>>>| {
        v.as_ref().map_or_else(String::new, |l| l.join(";"))
    };
    [
        e.seq.to_string(),
        e.ts.to_string(),
        o(&e.actor.user_id),
        o(&e.actor.username),
        o(&e.actor.role),
        e.action.to_string(),
        o(&e.employee_id),
        l(&e.employee_ids),
        l(&e.fields),
        o(&e.reason),
        e.outcome.to_string(),
        o(&e.source_ip),
        o(&e.request_id),
        e.prev_hash.to_string(),
        e.hash.to_string(),
    ]
}

/// The entries as CSV with a header row.
pub(super) fn to_csv(entries: &[AuditEntry]) -> Result<Vec<u8>, ServiceError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)
        .map_err(|_| ServiceError::Internal)?;
    for e in entries {
        w.write_record(csv_record(e))
            .map_err(|_| ServiceError::Internal)?;
    }
    w.into_inner().map_err(|_| ServiceError::Internal)
}

/// `GET /ui/audit/export?format=jsonl|ocsf|csv&<filters>`: the filtered entries, oldest first.
async fn export(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    RawQuery(raw): RawQuery,
) -> Response {
    let f = Filters::parse(raw.as_deref());
    let q = match f.query(false, EXPORT_MAX) {
        Ok(q) => q,
        Err(errs) => {
            let text = errs
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            return error_page(&s, &ServiceError::invalid("filters", &text));
        }
    };
    let format = f.format.as_deref().unwrap_or("jsonl");
    if !matches!(format, "jsonl" | "ocsf" | "csv") {
        return error_page(
            &s,
            &ServiceError::invalid("format", "must be jsonl, ocsf or csv"),
        );
    }
    let page_of = match v.query_audit(&s.principal, &ctx, Ok(q)).await {
        Ok(p) => p,
        Err(e) => return error_page(&s, &e),
    };
    let mut out = Vec::new();
    let (ctype, ext) = match format {
        "csv" => match to_csv(&page_of.entries) {
            Ok(b) => {
                out = b;
                ("text/csv; charset=utf-8", "csv")
            }
            Err(e) => return error_page(&s, &e),
        },
        "ocsf" => {
            for e in &page_of.entries {
                if serde_json::to_writer(&mut out, &ocsf_event(e)).is_err() {
                    return error_page(&s, &ServiceError::Internal);
                }
                out.push(b'\n');
            }
            ("application/x-ndjson", "ocsf.jsonl")
        }
        _ => {
            for e in &page_of.entries {
                if serde_json::to_writer(&mut out, e).is_err() {
                    return error_page(&s, &ServiceError::Internal);
                }
                out.push(b'\n');
            }
            ("application/x-ndjson", "jsonl")
        }
    };
    let last = page_of.entries.last().map_or(0, |e| e.seq);
    attachment(ctype, &format!("hrvault-audit-to-{last}.{ext}"), out)
}

/// Colours of the chart, one per outcome, with their words (the legend says which is which).
const SERIES: [(&str, &str); 3] = [
    ("Success", "#1a7f37"),
    ("Denied", "#d4a72c"),
    ("Error", "#b42318"),
];

/// `GET /ui/audit/chart.svg`.
async fn chart(State(v): State<Vault>, Signed(s, ctx): Signed) -> Response {
    match v.audit_hours(&s.principal, &ctx).await {
        Ok(h) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "image/svg+xml")],
            chart_svg(&h),
        )
            .into_response(),
        Err(e) => error_page(&s, &e),
    }
}

/// The hour's label: `MM-DD HH:00`.
fn hour_label(h: &AuditHours, i: usize) -> String {
    let t = h
        .start
        .checked_add(jiff::SignedDuration::from_hours(i as i64))
        .unwrap_or(h.start);
    t.strftime("%m-%d %H:00").to_string()
}

/// A stacked column per hour, axes labelled, legend in words. Colours are `fill` attributes
/// (no `style`), so the image needs no CSP exception.
pub(super) fn chart_svg(h: &AuditHours) -> String {
    const W: usize = 960;
    const LEFT: usize = 56;
    const TOP: usize = 36;
    const PLOT_H: usize = 220;
    const BAR: usize = 5;
    let max = h
        .counts
        .iter()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = TOP + PLOT_H + 60;
    let base = TOP + PLOT_H;
    let mut s = String::with_capacity(32 * 1024);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" role="img" aria-labelledby="t d"><title id="t">Audited requests per hour, last 7 days, by outcome</title><desc id="d">Stacked columns, one per hour from {} UTC; the page has the same numbers as a table.</desc><rect x="0" y="0" width="{W}" height="{height}" fill="#ffffff"/>"##,
        hour_label(h, 0)
    );
    // Legend.
    let mut x = LEFT;
    for (name, colour) in SERIES {
        let _ = write!(
            s,
            r##"<rect x="{x}" y="8" width="14" height="14" fill="{colour}"/><text x="{}" y="20" font-family="sans-serif" font-size="13" fill="#1f2328">{name}</text>"##,
            x + 20
        );
        x += 110;
    }
    // Y axis with four gridlines.
    for i in 0..=4u64 {
        let value = max * i / 4;
        let y = base - (PLOT_H as u64 * i / 4) as usize;
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#d0d7de" stroke-width="1"/><text x="{}" y="{}" text-anchor="end" font-family="sans-serif" font-size="11" fill="#1f2328">{value}</text>"##,
            LEFT + CHART_HOURS * BAR,
            LEFT - 6,
            y + 4
        );
    }
    let _ = write!(
        s,
        r##"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#1f2328">Requests per hour</text>"##,
        TOP + PLOT_H / 2,
        TOP + PLOT_H / 2
    );
    // Columns.
    for (i, c) in h.counts.iter().enumerate() {
        let x = LEFT + i * BAR;
        let mut y = base as u64 * max;
        for (k, (name, colour)) in SERIES.iter().enumerate() {
            if c[k] == 0 {
                continue;
            }
            let hgt = c[k] * PLOT_H as u64;
            y -= hgt;
            let _ = write!(
                s,
                r##"<rect x="{x}" y="{:.2}" width="{}" height="{:.2}" fill="{colour}"><title>{} UTC: {} {name}</title></rect>"##,
                y as f64 / max as f64,
                BAR - 1,
                hgt as f64 / max as f64,
                hour_label(h, i),
                c[k],
            );
        }
    }
    // X axis: a tick and a label at each day's first hour in the window.
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#1f2328" stroke-width="1"/>"##,
        LEFT + CHART_HOURS * BAR
    );
    for i in (0..CHART_HOURS).step_by(24) {
        let x = LEFT + i * BAR;
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{base}" x2="{x}" y2="{}" stroke="#1f2328" stroke-width="1"/><text x="{x}" y="{}" font-family="sans-serif" font-size="11" fill="#1f2328">{}</text>"##,
            base + 5,
            base + 18,
            hour_label(h, i)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#1f2328">Hour (UTC)</text></svg>"##,
        LEFT + CHART_HOURS * BAR / 2,
        base + 40
    );
    s
}

/// Per-day totals of the chart's hours (the window's 7 days of 24 hours each).
pub(super) fn day_totals(h: &AuditHours) -> Vec<(String, [u64; 3])> {
    h.counts
        .chunks(24)
        .enumerate()
        .map(|(d, hours)| {
            let mut t = [0u64; 3];
            for c in hours {
                for k in 0..3 {
                    t[k] += c[k];
                }
            }
            let from = hour_label(h, d * 24);
            let to = hour_label(h, d * 24 + hours.len() - 1);
            (format!("{from} to {to}"), t)
        })
        .collect()
}

fn chart_section(h: &AuditHours) -> Markup {
    let days = day_totals(h);
    let total: [u64; 3] = days.iter().fold([0; 3], |mut a, (_, t)| {
        for k in 0..3 {
            a[k] += t[k];
        }
        a
    });
    html! {
        section.card aria-labelledby="chart-h" {
            h2 id="chart-h" { "Audited requests per hour, last 7 days" }
            div.chart {
                img src="/ui/audit/chart.svg" width="960" height="316" alt={
                    "Chart of audited requests per hour over the last 7 days by outcome: "
                    (total[0]) " success, " (total[1]) " denied, " (total[2]) " error in all. The same numbers are in the table below."
                };
            }
            @if h.partial {
                p.hint { "The log is too long to count every hour of the week at once; the oldest hours may be undercounted." }
            }
            div.table-wrap {
                table {
                    caption { "Audited requests per day (UTC) by outcome" }
                    thead {
                        tr {
                            th scope="col" { "Day (hours, UTC)" }
                            th scope="col" { "Success" }
                            th scope="col" { "Denied" }
                            th scope="col" { "Error" }
                        }
                    }
                    tbody {
                        @for (label, t) in &days {
                            tr { th scope="row" { (label) } td { (t[0]) } td { (t[1]) } td { (t[2]) } }
                        }
                        tr { th scope="row" { "All 7 days" } td { (total[0]) } td { (total[1]) } td { (total[2]) } }
                    }
                }
            }
            details {
                summary { "Every hour with audited requests" }
                div.table-wrap {
                    table {
                        caption { "Audited requests per hour (UTC) by outcome; hours with none are left out" }
                        thead {
                            tr {
                                th scope="col" { "Hour (UTC)" }
                                th scope="col" { "Success" }
                                th scope="col" { "Denied" }
                                th scope="col" { "Error" }
                            }
                        }
                        tbody {
                            @for (i, c) in h.counts.iter().enumerate() {
                                @if c.iter().any(|n| *n > 0) {
                                    tr { th scope="row" { (hour_label(h, i)) } td { (c[0]) } td { (c[1]) } td { (c[2]) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        let line = r#"{"seq":7,"ts":"2026-12-02T04:00:00.000000Z","actor":{"user_id":"u-1","username":"ann","role":"hr"},"action":"employee.export","employee_id":null,"employee_ids":["e1","e2"],"fields":["ssn"],"reason":"payroll, \"monthly\"","outcome":"success","source_ip":"127.0.0.1","request_id":null,"prev_hash":"aa","hash":"bb"}"#;
        serde_json::from_str::<crate::audit::EntryRef<'_>>(line)
            .expect("an entry")
            .into_owned()
    }

    #[test]
    fn csv_has_the_header_and_quotes_cells() {
        let out = String::from_utf8(to_csv(&[entry()]).expect("csv")).expect("utf-8");
        let mut lines = out.lines();
        assert_eq!(
            lines.next(),
            Some(
                "seq,ts,actor_user_id,actor_username,actor_role,action,employee_id,employee_ids,fields,reason,outcome,source_ip,request_id,prev_hash,hash"
            )
        );
        assert_eq!(
            lines.next(),
            Some(
                "7,2026-12-02T04:00:00.000000Z,u-1,ann,hr,employee.export,,e1;e2,ssn,\"payroll, \"\"monthly\"\"\",success,127.0.0.1,,aa,bb"
            )
        );
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn form_times_become_utc_instants() {
        assert_eq!(
            instant("2026-01-15T09:00", false).as_deref(),
            Ok("2026-01-15T09:00:00.000000Z")
        );
        assert_eq!(
            instant("2026-01-15T09:00", true).as_deref(),
            Ok("2026-01-15T09:00:59.999999Z")
        );
        assert_eq!(
            instant("2026-01-15", true).as_deref(),
            Ok("2026-01-15T23:59:59.999999Z")
        );
        assert_eq!(
            instant("2026-01-15T09:00:00+02:00", false).as_deref(),
            Ok("2026-01-15T07:00:00.000000Z")
        );
        assert!(instant("yesterday", false).is_err());
    }

    #[test]
    fn chart_has_a_column_part_per_nonzero_count_and_a_legend() {
        let mut counts = vec![[0u64; 3]; CHART_HOURS];
        counts[0] = [1, 0, 0];
        counts[167] = [3, 2, 1];
        let h = AuditHours {
            start: "2026-11-25T05:00:00Z".parse().expect("time"),
            counts,
            partial: false,
        };
        let svg = chart_svg(&h);
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("style="));
        assert_eq!(
            svg.matches("<rect x=").count(),
            1 + 3 + 4,
            "background, legend, bars"
        );
        for word in [
            "Success",
            "Denied",
            "Error",
            "Requests per hour",
            "Hour (UTC)",
        ] {
            assert!(svg.contains(word), "{word}");
        }
        let days = day_totals(&h);
        assert_eq!(days.len(), 7);
        assert_eq!(days[0].1, [1, 0, 0]);
        assert_eq!(days[6].1, [3, 2, 1]);
    }
}
