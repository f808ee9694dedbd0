//! The employee form of **New hire** and **Edit**: its fields and labels (docs/console.md), the
//! form → draft / patch mapping (through the same column mapping as the CSV importer,
//! `EmployeeDraft::set_column`), and where a refused field's message goes. No service calls
//! here, so all of it is unit-tested below.
//!
//! Sensitive values (SSN, date of birth, address, bank account) are never written back into a
//! page: [`Kept`] holds only the non-sensitive fields, and the renderer never gives a sensitive
//! input a value.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::employees::STATUSES;
use super::session::FormFields;
use crate::model::{EmployeeDraft, EmployeePatch, Patch};
use crate::service::{EmployeeView, ServiceError};

/// How an input is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Email,
    Date,
    Status,
}

/// One input: its `name` (the CSV column), its label, how it is drawn, whether it is required.
struct Field {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    required: bool,
}

const fn field(name: &'static str, label: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        label,
        kind,
        required,
    }
}

/// The non-sensitive fields, in page order.
const PUBLIC: [Field; 12] = [
    field("employee_number", "Employee number", Kind::Text, true),
    field("first_name", "First name", Kind::Text, true),
    field("last_name", "Last name", Kind::Text, true),
    field("preferred_name", "Preferred name", Kind::Text, false),
    field("work_email", "Work email", Kind::Email, false),
    field("department", "Department", Kind::Text, false),
    field("job_title", "Job title", Kind::Text, false),
    field("location", "Location", Kind::Text, false),
    field("manager_id", "Manager's record id", Kind::Text, false),
    field("hire_date", "Hire date", Kind::Date, true),
    field("status", "Status", Kind::Status, false),
    field("termination_date", "Termination date", Kind::Date, false),
];

/// SSN and date of birth.
const IDENTITY: [Field; 2] = [
    field("ssn", "SSN", Kind::Text, true),
    field("date_of_birth", "Date of birth", Kind::Date, true),
];

const ADDRESS: [Field; 6] = [
    field("home_address.line1", "Address line 1", Kind::Text, false),
    field("home_address.line2", "Address line 2", Kind::Text, false),
    field("home_address.city", "City", Kind::Text, false),
    field("home_address.state", "State", Kind::Text, false),
    field("home_address.postal_code", "Postal code", Kind::Text, false),
    field("home_address.country", "Country", Kind::Text, false),
];

const BANK: [Field; 2] = [
    field(
        "bank_account.routing_number",
        "Routing number",
        Kind::Text,
        false,
    ),
    field(
        "bank_account.account_number",
        "Account number",
        Kind::Text,
        false,
    ),
];

fn all_fields() -> impl Iterator<Item = &'static Field> {
    PUBLIC.iter().chain(&IDENTITY).chain(&ADDRESS).chain(&BANK)
}

/// Whether an input holds a sensitive value (never sent back to the browser).
pub(super) fn is_sensitive(name: &str) -> bool {
    matches!(name, "ssn" | "date_of_birth")
        || name.starts_with("home_address.")
        || name.starts_with("bank_account.")
}

/// The words for a field name of a service error (`home_address.city` → "City").
pub(super) fn label_of(name: &str) -> Option<&'static str> {
    all_fields().find(|f| f.name == name).map(|f| f.label)
}

/// The element id of an input.
pub(super) fn input_id(name: &str) -> String {
    format!("f-{}", name.replace('.', "-"))
}

/// The non-sensitive values a page may show in its inputs.
#[derive(Default)]
pub(super) struct Kept(BTreeMap<&'static str, String>);

impl Kept {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The empty New hire form (status preset to onboarding, as the service defaults it).
    pub(super) fn new_hire() -> Self {
        let mut k = Self::default();
        k.0.insert("status", "onboarding".to_owned());
        k
    }

    /// What a submitted form may show again: its non-sensitive fields only.
    pub(super) fn from_form(form: &FormFields) -> Self {
        Self(
            PUBLIC
                .iter()
                .filter_map(|f| form.text(f.name).map(|v| (f.name, v)))
                .collect(),
        )
    }

    /// A record's current non-sensitive values (Edit's prefill, and the base a patch is
    /// computed against).
    pub(super) fn from_view(v: &EmployeeView) -> Self {
        let pairs: [(&'static str, Option<&str>); 12] = [
            ("employee_number", Some(&v.employee_number)),
            ("first_name", Some(&v.first_name)),
            ("last_name", Some(&v.last_name)),
            ("preferred_name", v.preferred_name.as_deref()),
            ("work_email", v.work_email.as_deref()),
            ("department", v.department.as_deref()),
            ("job_title", v.job_title.as_deref()),
            ("location", v.location.as_deref()),
            ("manager_id", v.manager_id.as_deref()),
            ("hire_date", Some(&v.hire_date)),
            ("status", Some(v.status)),
            ("termination_date", v.termination_date.as_deref()),
        ];
        Self(
            pairs
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v.to_owned())))
                .collect(),
        )
    }
}

/// The draft a New hire form describes: every column through `EmployeeDraft::set_column`, an
/// empty input absent.
pub(super) fn draft_of(form: &FormFields) -> EmployeeDraft {
    let mut d = EmployeeDraft::default();
    for col in EmployeeDraft::COLUMNS {
        if let Some(v) = form.text(col) {
            d.set_column(col, v);
        }
    }
    d
}

fn public_slot<'a>(p: &'a mut EmployeePatch, name: &str) -> Option<&'a mut Patch<String>> {
    Some(match name {
        "employee_number" => &mut p.employee_number,
        "first_name" => &mut p.first_name,
        "last_name" => &mut p.last_name,
        "preferred_name" => &mut p.preferred_name,
        "work_email" => &mut p.work_email,
        "department" => &mut p.department,
        "job_title" => &mut p.job_title,
        "location" => &mut p.location,
        "manager_id" => &mut p.manager_id,
        "hire_date" => &mut p.hire_date,
        "status" => &mut p.status,
        "termination_date" => &mut p.termination_date,
        _ => return None,
    })
}

/// The patch an Edit form describes against the record as it is now: a non-sensitive field only
/// if it changed (emptied → `null`, as the API's `null` clears it), a sensitive one only if
/// something was entered (an address or a bank account is replaced whole, as in the API).
/// Unchanged fields stay out, so the audit entry lists only what changed, and an unchanged hire
/// date is not compared with the stored birth date.
pub(super) fn patch_of(form: &FormFields, current: &Kept) -> EmployeePatch {
    let mut p = EmployeePatch::default();
    for f in &PUBLIC {
        let new = form.text(f.name);
        if new.as_deref() == current.get(f.name) {
            continue;
        }
        if let Some(slot) = public_slot(&mut p, f.name) {
            *slot = new.map_or(Patch::Null, Patch::Value);
        }
    }
    let mut d = draft_of(form);
    if let Some(v) = d.ssn.take() {
        p.ssn = Patch::Value(v);
    }
    if let Some(v) = d.date_of_birth.take() {
        p.date_of_birth = Patch::Value(v);
    }
    if let Some(v) = d.home_address.take() {
        p.home_address = Patch::Value(v);
    }
    if let Some(v) = d.bank_account.take() {
        p.bank_account = Patch::Value(v);
    }
    p
}

/// The names of the sensitive inputs a form had something in (names only, never values).
pub(super) fn entered_sensitive(form: &FormFields) -> Vec<&'static str> {
    all_fields()
        // `get`, not `text`: no copy of a sensitive value is made just to look at it.
        .filter(|f| is_sensitive(f.name) && form.get(f.name).is_some_and(|v| !v.trim().is_empty()))
        .map(|f| f.name)
        .collect()
}

/// A refusal, placed: messages beside the inputs they concern, the rest in the summary only.
#[derive(Default)]
pub(super) struct Problems {
    /// (input name, message in words).
    pub(super) beside: Vec<(String, String)>,
    /// Messages that concern no input of the page.
    pub(super) other: Vec<String>,
}

impl Problems {
    /// One message beside one input.
    pub(super) fn one(name: &str, text: impl Into<String>) -> Self {
        Self {
            beside: vec![(name.to_owned(), text.into())],
            other: Vec::new(),
        }
    }

    pub(super) fn message_of(&self, name: &str) -> Option<&str> {
        self.beside
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    }

    /// Whether anything was refused.
    pub(super) fn any(&self) -> bool {
        !self.beside.is_empty() || !self.other.is_empty()
    }
}

/// "SSN must be AAA-GG-SSSS or 9 digits" from (`ssn`, "must be …"); a message that starts with
/// the field's own name gets the label instead ("employee_number is already in use").
fn in_words(label: &str, field: &str, message: &str) -> String {
    match message.strip_prefix(field) {
        Some(rest) if rest.starts_with(' ') => format!("{label}{rest}"),
        _ => format!("{label} {message}"),
    }
}

/// Places a service refusal (422 field rules, 409 on a unique field) on the inputs of a page
/// whose inputs are `labels` (name → label); `None` for any other error.
pub(super) fn place(
    e: &ServiceError,
    labels: &dyn Fn(&str) -> Option<&'static str>,
) -> Option<Problems> {
    let mut p = Problems::default();
    let mut put = |field: &str, message: &str| match labels(field) {
        Some(label) => p
            .beside
            .push((field.to_owned(), in_words(label, field, message))),
        None => p.other.push(format!("{field}: {message}")),
    };
    match e {
        ServiceError::Invalid(errs) => {
            for f in &errs.0 {
                put(&f.field, &f.message);
            }
        }
        ServiceError::Conflict {
            field: Some(field),
            message,
        } => put(field, message),
        _ => return None,
    }
    Some(p)
}

/// The error summary at the top of a refused form: each message links to its input.
pub(super) fn summary(intro: &str, p: &Problems) -> Markup {
    html! {
        div.notice.error role="alert" {
            p { (intro) }
            ul {
                @for (name, text) in &p.beside {
                    li { a href={ "#" (input_id(name)) } { (text) } }
                }
                @for text in &p.other { li { (text) } }
            }
        }
    }
}

/// Which form, and so which hints the sensitive inputs get.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// New hire, first shown.
    New,
    /// New hire shown again after a refusal: every sensitive value must be entered again.
    NewAgain,
    /// Edit: a sensitive input left empty keeps the stored value.
    Edit,
}

pub(super) const HINT_AGAIN: &str = "Enter again: sensitive values are not sent back";
pub(super) const HINT_KEEP: &str = "Leave empty to keep the stored value";

/// Every input of the employee form, with values, hints and messages.
pub(super) fn fields(mode: Mode, kept: &Kept, problems: &Problems, entered: &[&str]) -> Markup {
    let sensitive_hint = |name: &str| -> Option<String> {
        match mode {
            Mode::New => None,
            Mode::NewAgain => Some(HINT_AGAIN.to_owned()),
            Mode::Edit if entered.contains(&name) && problems.any() => {
                Some(format!("{HINT_KEEP}. {HINT_AGAIN}."))
            }
            Mode::Edit => Some(HINT_KEEP.to_owned()),
        }
    };
    let one = |f: &Field| -> Markup {
        let hint = if is_sensitive(f.name) {
            sensitive_hint(f.name)
        } else {
            None
        };
        let required = f.required && !(mode == Mode::Edit && is_sensitive(f.name));
        input(
            f,
            kept,
            problems.message_of(f.name),
            hint.as_deref(),
            required,
        )
    };
    let group_hint = match mode {
        Mode::Edit => "Optional. To change it, enter it whole: it replaces the stored one.",
        _ => "Optional.",
    };
    html! {
        div.grid {
            @for f in &PUBLIC { (one(f)) }
        }
        div.grid {
            @for f in &IDENTITY { (one(f)) }
        }
        fieldset aria-describedby="home_address-hint" {
            legend { "Home address" }
            p.hint id="home_address-hint" { (group_hint) " If given, Address line 1, City and Country are required." }
            div.grid {
                @for f in &ADDRESS { (one(f)) }
            }
        }
        fieldset aria-describedby="bank_account-hint" {
            legend { "Bank account" }
            p.hint id="bank_account-hint" { (group_hint) " If given, both numbers are required." }
            div.grid {
                @for f in &BANK { (one(f)) }
            }
        }
    }
}

fn input(
    f: &Field,
    kept: &Kept,
    error: Option<&str>,
    hint: Option<&str>,
    required: bool,
) -> Markup {
    let id = input_id(f.name);
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let sensitive = is_sensitive(f.name);
    // Structural: a sensitive input never gets a value, whatever `kept` holds.
    let value = if sensitive { None } else { kept.get(f.name) };
    let required_id = format!("{id}-required");
    let mut ids: Vec<String> = Vec::new();
    if required {
        ids.push(required_id.clone());
    }
    if hint.is_some() {
        ids.push(hint_id.clone());
    }
    if error.is_some() {
        ids.push(error_id.clone());
    }
    let describedby = (!ids.is_empty()).then(|| ids.join(" "));
    let kind = match f.kind {
        Kind::Email => "email",
        Kind::Date => "date",
        Kind::Text | Kind::Status => "text",
    };
    let autocomplete = if sensitive { Some("off") } else { None };
    html! {
        div.field {
            label for=(id) { (f.label) }
            @if f.kind == Kind::Status {
                select id=(id) name=(f.name) aria-invalid=[error.map(|_| "true")] aria-describedby=[describedby.as_deref()] {
                    @for (v, label) in STATUSES {
                        option value=(v) selected[value == Some(v)] { (label) }
                    }
                }
            } @else {
                input id=(id) name=(f.name) type=(kind) value=[value]
                    autocomplete=[autocomplete]
                    aria-required=[required.then_some("true")]
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[describedby.as_deref()];
            }
            @if required { span.hint id=(required_id) { "Required" } }
            @if let Some(h) = hint { span.hint id=(hint_id) { (h) } }
            @if let Some(e) = error { p.field-error id=(error_id) { (e) } }
        }
    }
}

/// [`place`] for the employee form's inputs.
pub(super) fn place_on_form(e: &ServiceError) -> Option<Problems> {
    place(e, &label_of)
}

#[cfg(test)]
mod tests;
