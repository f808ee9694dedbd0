//! Helpers for the service's own unit tests: a vault on a fixed clock, its users and records.

use std::sync::Arc;

use secrecy::SecretString;

use super::{InitOptions, NewUser, Principal, RequestCtx, Vault};
use crate::audit::{Action, Outcome, Recorded};
use crate::clock::FixedClock;
use crate::config::Settings;
use crate::crypto::{KdfParams, PasswordHasher};
use crate::model::EmployeeDraft;
use crate::store::StoredEmployee;

/// A record draft with every required field.
pub(crate) fn draft(number: &str, ssn: &str) -> EmployeeDraft {
    serde_json::from_value(serde_json::json!({
        "employee_number": number, "first_name": "A", "last_name": "B", "department": "R&D",
        "hire_date": "2026-01-15", "ssn": ssn, "date_of_birth": "1990-04-01"
    }))
    .expect("a valid draft")
}

/// A vault on a fixed clock (Monday 10:00 UTC, inside business hours), with `settings`.
pub(crate) async fn vault_with(dir: &std::path::Path, settings: &str) -> (Vault, FixedClock) {
    let clock = FixedClock::new("2026-03-16T10:00:00Z".parse().expect("a timestamp"));
    let hasher = Arc::new(PasswordHasher::danger_insecure_fast().expect("hasher"));
    let pass = SecretString::from("test passphrase".to_owned());
    let opts = InitOptions {
        passphrase: SecretString::from("test passphrase".to_owned()),
        admin_password: Some(SecretString::from("admin-password".to_owned())),
        kdf: KdfParams::danger_insecure_fast().expect("kdf"),
        hasher: hasher.clone(),
    };
    Vault::init(dir, opts, Arc::new(clock.clone()))
        .await
        .expect("init");
    let settings = Settings::parse(settings).expect("settings");
    let v = Vault::open(dir, &pass, settings, Arc::new(clock.clone()), hasher)
        .await
        .expect("open");
    (v, clock)
}

/// A new user of `role` (linked to `employee` if given), as a principal.
pub(crate) async fn user(v: &Vault, name: &str, role: &str, employee: Option<String>) -> Principal {
    let admin = v.principal_named("admin").expect("admin");
    let kind = (role == "payroll").then(|| "service".to_owned());
    let req = NewUser {
        username: Some(name.into()),
        password: kind.is_none().then(|| "password-1".to_owned()),
        role: Some(role.into()),
        employee_id: employee,
        kind,
    };
    v.create_user(&admin, &RequestCtx::default(), Ok(req))
        .await
        .expect("user");
    v.principal_named(name).expect("just created")
}

/// A vault with an hr user `hr` and a payroll service account `pay`.
pub(crate) async fn hr_and_payroll() -> (Vault, tempfile::TempDir, Principal, Principal) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (v, _) = vault_with(&dir.path().join("v"), "").await;
    let hr = user(&v, "hr", "hr", None).await;
    let pay = user(&v, "pay", "payroll", None).await;
    (v, dir, hr, pay)
}

/// Creates a record as `hr` and returns it as stored.
pub(crate) async fn new_record(
    v: &Vault,
    hr: &Principal,
    number: &str,
    ssn: &str,
) -> StoredEmployee {
    let view = v
        .create_employee(hr, &RequestCtx::default(), Ok(draft(number, ssn)), Ok(None))
        .await
        .expect("create");
    let id = view.id.parse().expect("an id");
    v.load_live(&id).expect("load").expect("live").1
}

impl Vault {
    /// Writes an `employee.read` entry about `rec` by `who` and returns its proof.
    pub(crate) async fn record_read_of(&self, who: &Principal, rec: &StoredEmployee) -> Recorded {
        let mut e = self.entry(
            who,
            &RequestCtx::default(),
            Action::EmployeeRead,
            Outcome::Success,
        );
        e.employee_id = Some(rec.id);
        self.record(e).await.expect("recorded")
    }
}
