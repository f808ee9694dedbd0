//! Unvalidated employee input, exactly as a client sent it.
//!
//! Every field is optional here so that a missing required field becomes a 422 naming it, while a
//! wrong JSON type or an unknown field stays a 400 (serde). Drafts hold plaintext sensitive values,
//! so they zeroize on drop and have no `Debug`.

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{EmployeeStatus, SensitiveFields, validate::PublicFields};

/// A create request body (and one CSV row).
// The OpenAPI schema (`ToSchema`) states the contract's rules; the server still accepts any
// string here and answers 422 naming the field, so that a broken rule is never a 400.
#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "A new employee record. A missing required field or a broken rule is a \
422 naming the field; an unknown field is a 400."
)]
#[schema(examples(json!({
    "employee_number": "E10001", "first_name": "Ada", "last_name": "Lovelace",
    "work_email": "ada@example.com", "department": "R&D", "job_title": "Engineer",
    "location": "London", "hire_date": "2026-01-15", "status": "onboarding",
    "ssn": "123-45-6789", "date_of_birth": "1990-04-01",
    "home_address": {"line1": "1 Main St", "city": "Springfield", "state": "IL",
                     "postal_code": "62701", "country": "US"},
    "bank_account": {"routing_number": "011000015", "account_number": "000123456789"}
})))]
pub struct EmployeeDraft {
    /// 1–32 of `[A-Za-z0-9-]`; unique.
    #[schema(required, nullable = false, pattern = "^[A-Za-z0-9-]{1,32}$")]
    pub employee_number: Option<String>,
    #[schema(required, nullable = false)]
    pub first_name: Option<String>,
    #[schema(required, nullable = false)]
    pub last_name: Option<String>,
    pub preferred_name: Option<String>,
    /// An e-mail address.
    #[schema(format = Email)]
    pub work_email: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    /// Id of another employee record.
    #[schema(format = "uuid")]
    pub manager_id: Option<String>,
    pub location: Option<String>,
    #[schema(required, nullable = false, format = Date)]
    pub hire_date: Option<String>,
    /// Default `onboarding`.
    #[schema(value_type = Option<EmployeeStatus>)]
    pub status: Option<String>,
    #[schema(format = Date)]
    pub termination_date: Option<String>,
    /// `AAA-GG-SSSS` or 9 digits; area not 000, 666 or 900–999, group not 00, serial not 0000.
    /// Unique.
    #[schema(
        required,
        nullable = false,
        pattern = "^([0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{9})$"
    )]
    pub ssn: Option<String>,
    /// A real date; age 14–120 at `hire_date`.
    #[schema(required, nullable = false, format = Date)]
    pub date_of_birth: Option<String>,
    #[serde(default, deserialize_with = "object_only")]
    pub home_address: Option<AddressDraft>,
    #[serde(default, deserialize_with = "object_only")]
    pub bank_account: Option<BankDraft>,
}

/// An address as sent.
#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDraft {
    #[schema(required, nullable = false)]
    pub line1: Option<String>,
    pub line2: Option<String>,
    #[schema(required, nullable = false)]
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    #[schema(required, nullable = false)]
    pub country: Option<String>,
}

/// A bank account as sent.
#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankDraft {
    /// 9 digits with a valid ABA checksum.
    #[schema(required, nullable = false, pattern = "^[0-9]{9}$")]
    pub routing_number: Option<String>,
    #[schema(required, nullable = false)]
    pub account_number: Option<String>,
}

/// One field of a PATCH body: left out, set to `null`, or given a value.
#[derive(Default)]
pub enum Patch<T> {
    /// Not in the body: keep the current value.
    #[default]
    Absent,
    /// `null`: clear it (refused for required fields).
    Null,
    /// A new value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

/// A nested object that must be a JSON object (or `null`): serde's derived structs also accept
/// an array and read it field by position, so `["1 Main St", null, "Springfield", …]` would pass
/// as an address. Only `visit_map` is implemented: anything else is "invalid type".
fn object_only<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Opt<T>(std::marker::PhantomData<T>);
    struct Obj<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Obj<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Opt<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object or null")
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(Obj(std::marker::PhantomData)).map(Some)
        }
    }
    d.deserialize_option(Opt(std::marker::PhantomData))
}

/// `object_only` for a PATCH field (present: an object or `null`).
fn object_only_patch<'de, D, T>(d: D) -> Result<Patch<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(match object_only(d)? {
        None => Patch::Null,
        Some(v) => Patch::Value(v),
    })
}

impl<T: Zeroize> Zeroize for Patch<T> {
    fn zeroize(&mut self) {
        if let Patch::Value(v) = self {
            v.zeroize();
        }
        *self = Patch::Absent;
    }
}

/// A PATCH body: the same fields as a draft, each absent, null or set. Nested objects are
/// replaced whole.
#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"job_title": "Senior Engineer", "preferred_name": null})))]
pub struct EmployeePatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub employee_number: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub first_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub last_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub preferred_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Email)]
    pub work_email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub department: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub job_title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = "uuid")]
    pub manager_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub location: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub hire_date: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<EmployeeStatus>)]
    pub status: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub termination_date: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ssn: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Patch<String>,
    #[serde(default, deserialize_with = "object_only_patch")]
    #[schema(value_type = Option<AddressDraft>)]
    pub home_address: Patch<AddressDraft>,
    #[serde(default, deserialize_with = "object_only_patch")]
    #[schema(value_type = Option<BankDraft>)]
    pub bank_account: Patch<BankDraft>,
}

fn take<T>(slot: &mut Option<T>, patch: &mut Patch<T>) {
    match std::mem::take(patch) {
        Patch::Absent => {}
        Patch::Null => *slot = None,
        Patch::Value(v) => *slot = Some(v),
    }
}

impl EmployeeDraft {
    /// The flat names of every draft field: the CSV header of `hrvault import` and the input
    /// names of the console's forms (nested ones dotted).
    pub const COLUMNS: [&'static str; 22] = [
        "employee_number",
        "first_name",
        "last_name",
        "preferred_name",
        "work_email",
        "department",
        "job_title",
        "manager_id",
        "location",
        "hire_date",
        "status",
        "termination_date",
        "ssn",
        "date_of_birth",
        "home_address.line1",
        "home_address.line2",
        "home_address.city",
        "home_address.state",
        "home_address.postal_code",
        "home_address.country",
        "bank_account.routing_number",
        "bank_account.account_number",
    ];

    /// Sets the field a column names (one of [`Self::COLUMNS`]); a nested column creates its
    /// object. `false`, and nothing set, for a name that is no column. The one column → field
    /// mapping, shared by the CSV importer and the console's forms.
    pub fn set_column(&mut self, column: &str, value: String) -> bool {
        let slot = match column {
            "employee_number" => &mut self.employee_number,
            "first_name" => &mut self.first_name,
            "last_name" => &mut self.last_name,
            "preferred_name" => &mut self.preferred_name,
            "work_email" => &mut self.work_email,
            "department" => &mut self.department,
            "job_title" => &mut self.job_title,
            "manager_id" => &mut self.manager_id,
            "location" => &mut self.location,
            "hire_date" => &mut self.hire_date,
            "status" => &mut self.status,
            "termination_date" => &mut self.termination_date,
            "ssn" => &mut self.ssn,
            "date_of_birth" => &mut self.date_of_birth,
            c => {
                if let Some(part) = c.strip_prefix("home_address.") {
                    if !matches!(
                        part,
                        "line1" | "line2" | "city" | "state" | "postal_code" | "country"
                    ) {
                        return false;
                    }
                    let a = self.home_address.get_or_insert_with(AddressDraft::default);
                    match part {
                        "line1" => &mut a.line1,
                        "line2" => &mut a.line2,
                        "city" => &mut a.city,
                        "state" => &mut a.state,
                        "postal_code" => &mut a.postal_code,
                        _ => &mut a.country,
                    }
                } else if let Some(part) = c.strip_prefix("bank_account.") {
                    if !matches!(part, "routing_number" | "account_number") {
                        return false;
                    }
                    let b = self.bank_account.get_or_insert_with(BankDraft::default);
                    if part == "routing_number" {
                        &mut b.routing_number
                    } else {
                        &mut b.account_number
                    }
                } else {
                    return false;
                }
            }
        };
        *slot = Some(value);
        true
    }

    /// The draft of an existing record, so that a patch can be applied and the whole result
    /// validated again by the same rules as a create.
    pub fn from_parts(public: &PublicFields, sensitive: &SensitiveFields) -> Self {
        Self {
            employee_number: Some(public.employee_number.clone()),
            first_name: Some(public.first_name.clone()),
            last_name: Some(public.last_name.clone()),
            preferred_name: public.preferred_name.clone(),
            work_email: public.work_email.clone(),
            department: public.department.clone(),
            job_title: public.job_title.clone(),
            manager_id: public.manager_id.map(|m| m.to_string()),
            location: public.location.clone(),
            hire_date: Some(public.hire_date.to_string()),
            status: Some(public.status.as_str().to_owned()),
            termination_date: public.termination_date.map(|d| d.to_string()),
            ssn: Some(sensitive.ssn.formatted().to_string()),
            date_of_birth: Some(sensitive.date_of_birth.as_str().to_owned()),
            home_address: sensitive.home_address.as_ref().map(|a| AddressDraft {
                line1: Some(a.line1.clone()),
                line2: a.line2.clone(),
                city: Some(a.city.clone()),
                state: a.state.clone(),
                postal_code: a.postal_code.clone(),
                country: Some(a.country.clone()),
            }),
            bank_account: sensitive.bank_account.as_ref().map(|b| BankDraft {
                routing_number: Some(b.routing_number.clone()),
                account_number: Some(b.account_number.clone()),
            }),
        }
    }

    /// Applies a patch in place (nested objects are replaced whole).
    pub fn apply(&mut self, mut patch: EmployeePatch) {
        take(&mut self.employee_number, &mut patch.employee_number);
        take(&mut self.first_name, &mut patch.first_name);
        take(&mut self.last_name, &mut patch.last_name);
        take(&mut self.preferred_name, &mut patch.preferred_name);
        take(&mut self.work_email, &mut patch.work_email);
        take(&mut self.department, &mut patch.department);
        take(&mut self.job_title, &mut patch.job_title);
        take(&mut self.manager_id, &mut patch.manager_id);
        take(&mut self.location, &mut patch.location);
        take(&mut self.hire_date, &mut patch.hire_date);
        take(&mut self.status, &mut patch.status);
        take(&mut self.termination_date, &mut patch.termination_date);
        take(&mut self.ssn, &mut patch.ssn);
        take(&mut self.date_of_birth, &mut patch.date_of_birth);
        take(&mut self.home_address, &mut patch.home_address);
        take(&mut self.bank_account, &mut patch.bank_account);
    }
}

impl<T> Patch<T> {
    fn is_present(&self) -> bool {
        !matches!(self, Patch::Absent)
    }
}

impl EmployeePatch {
    /// Names of the fields this patch changes (recorded in the audit entry; never values).
    pub fn touched_fields(&self) -> Vec<&'static str> {
        let fields = [
            ("employee_number", self.employee_number.is_present()),
            ("first_name", self.first_name.is_present()),
            ("last_name", self.last_name.is_present()),
            ("preferred_name", self.preferred_name.is_present()),
            ("work_email", self.work_email.is_present()),
            ("department", self.department.is_present()),
            ("job_title", self.job_title.is_present()),
            ("manager_id", self.manager_id.is_present()),
            ("location", self.location.is_present()),
            ("hire_date", self.hire_date.is_present()),
            ("status", self.status.is_present()),
            ("termination_date", self.termination_date.is_present()),
            ("ssn", self.ssn.is_present()),
            ("date_of_birth", self.date_of_birth.is_present()),
            ("home_address", self.home_address.is_present()),
            ("bank_account", self.bank_account.is_present()),
        ];
        fields
            .into_iter()
            .filter(|(_, present)| *present)
            .map(|(name, _)| name)
            .collect()
    }
}

#[cfg(test)]
mod column_tests {
    use super::*;

    #[test]
    fn every_column_sets_its_own_field_and_nothing_else_is_a_column() {
        for (i, col) in EmployeeDraft::COLUMNS.iter().enumerate() {
            let mut d = EmployeeDraft::default();
            assert!(d.set_column(col, format!("v{i}")), "{col}");
            let a = d.home_address.as_ref();
            let b = d.bank_account.as_ref();
            let got = match *col {
                "employee_number" => d.employee_number.clone(),
                "first_name" => d.first_name.clone(),
                "last_name" => d.last_name.clone(),
                "preferred_name" => d.preferred_name.clone(),
                "work_email" => d.work_email.clone(),
                "department" => d.department.clone(),
                "job_title" => d.job_title.clone(),
                "manager_id" => d.manager_id.clone(),
                "location" => d.location.clone(),
                "hire_date" => d.hire_date.clone(),
                "status" => d.status.clone(),
                "termination_date" => d.termination_date.clone(),
                "ssn" => d.ssn.clone(),
                "date_of_birth" => d.date_of_birth.clone(),
                "home_address.line1" => a.and_then(|a| a.line1.clone()),
                "home_address.line2" => a.and_then(|a| a.line2.clone()),
                "home_address.city" => a.and_then(|a| a.city.clone()),
                "home_address.state" => a.and_then(|a| a.state.clone()),
                "home_address.postal_code" => a.and_then(|a| a.postal_code.clone()),
                "home_address.country" => a.and_then(|a| a.country.clone()),
                "bank_account.routing_number" => b.and_then(|b| b.routing_number.clone()),
                "bank_account.account_number" => b.and_then(|b| b.account_number.clone()),
                other => panic!("untested column {other}"),
            };
            assert_eq!(got.as_deref(), Some(format!("v{i}").as_str()), "{col}");
            assert_eq!(d.home_address.is_some(), col.starts_with("home_address."));
            assert_eq!(d.bank_account.is_some(), col.starts_with("bank_account."));
        }
        let mut d = EmployeeDraft::default();
        for bad in [
            "",
            "id",
            "home_address",
            "home_address.street",
            "bank_account.iban",
            "ssn ",
        ] {
            assert!(!d.set_column(bad, "x".into()), "{bad}");
        }
        assert!(d.home_address.is_none() && d.bank_account.is_none());
    }
}

#[cfg(test)]
mod object_only_tests {
    use super::*;

    #[test]
    fn nested_objects_must_be_objects_not_arrays() {
        let ok: EmployeeDraft = serde_json::from_str(
            r#"{"home_address": {"line1": "1 Main St"}, "bank_account": null}"#,
        )
        .unwrap();
        assert!(ok.home_address.is_some() && ok.bank_account.is_none());
        let absent: EmployeeDraft = serde_json::from_str("{}").unwrap();
        assert!(absent.home_address.is_none());
        for body in [
            r#"{"home_address": ["1 Main St", null, "Springfield", "IL", "62701", "US"]}"#,
            r#"{"bank_account": ["011000015", "000123456789"]}"#,
            r#"{"bank_account": "011000015"}"#,
        ] {
            assert!(
                serde_json::from_str::<EmployeeDraft>(body).is_err(),
                "{body}"
            );
            assert!(
                serde_json::from_str::<EmployeePatch>(body).is_err(),
                "{body}"
            );
        }
        let cleared: EmployeePatch = serde_json::from_str(r#"{"bank_account": null}"#).unwrap();
        assert!(matches!(cleared.bank_account, Patch::Null));
        let kept: EmployeePatch = serde_json::from_str("{}").unwrap();
        assert!(matches!(kept.bank_account, Patch::Absent));
    }
}
