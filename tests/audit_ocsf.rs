//! Every event of `hrvault audit export --format ocsf` validates against the OCSF 1.1.0 API
//! Activity schema (CONTRACT §4 "OCSF"): a black-box run of the real binary through many kinds
//! of request — logins (one failed), creates, reads, a list, a lookup, a reveal, an update, a
//! delete, denials, HR flags, a honeytoken, a payroll export, a logout and an offline key
//! rotation — then the export, each line checked with `jsonschema` against the schema shipped
//! in `tests/data/ocsf/` (never fetched at run time).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::path::Path;

use common::{
    ADMIN_PASSWORD, PASSPHRASE, Server, Staff, Stop, VaultDir, create_employee, draft, reveal, run,
    text,
};
use serde_json::{Value, json};

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ocsf/api_activity-1.1.0.schema.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn validator() -> jsonschema::Validator {
    let s = schema();
    jsonschema::meta::validate(&s).expect("the shipped schema is valid JSON Schema 2020-12");
    jsonschema::draft202012::new(&s).unwrap()
}

/// Many kinds of audited request against a fresh vault; returns the stopped vault.
fn busy_vault() -> VaultDir {
    let vault = VaultDir::init();
    let server = Server::start(&vault, None);
    let c = server.client();
    let staff = Staff::create(c, "ocsf");
    let (hr, payroll, security) = (&staff.hr.token, &staff.payroll.token, &staff.security.token);
    assert_eq!(c.login_raw("admin", "wrong password").status, 401);
    assert_eq!(c.login_raw("nobody-at-all", "wrong password").status, 401);
    let body = draft();
    let a = create_employee(c, hr, &body)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = create_employee(c, hr, &draft())["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.get(&format!("/v1/employees/{a}"))
        .token(hr)
        .send()
        .expect(200);
    c.get(&format!("/v1/employees/{a}"))
        .token(payroll)
        .send()
        .expect(200);
    c.get("/v1/employees").token(hr).send().expect(200);
    c.post("/v1/employees/lookup")
        .token(hr)
        .json(&json!({"ssn": body["ssn"]}))
        .send()
        .expect(200);
    reveal(c, hr, &a, &["ssn", "bank_account"]).expect(200);
    c.patch(&format!("/v1/employees/{a}"))
        .token(hr)
        .json(&json!({"job_title": "Lead Engineer"}))
        .send()
        .expect(200);
    // Denials: a role that may not, and an admin reading employee data.
    c.get("/v1/audit").token(payroll).send().expect(403);
    c.get(&format!("/v1/employees/{a}"))
        .token(&staff.admin.token)
        .send()
        .expect(403);
    c.post("/v1/employees")
        .token(payroll)
        .json(&draft())
        .send()
        .expect(403);
    let flag = c
        .post("/v1/hr-flags")
        .token(security)
        .json(&json!({"employee_id": b, "kind": "pip", "effective_date": "2026-01-01"}))
        .send();
    let flag_id = flag.expect(201).json()["id"].as_str().unwrap().to_owned();
    c.delete(&format!("/v1/hr-flags/{flag_id}"))
        .token(security)
        .send()
        .expect(204);
    let honey = c
        .post("/v1/honeytokens")
        .token(security)
        .json(&draft())
        .send();
    let honey_id = honey.expect(201).json()["id"].as_str().unwrap().to_owned();
    c.get(&format!("/v1/employees/{honey_id}"))
        .token(hr)
        .send()
        .expect(200);
    c.get("/v1/payroll/export")
        .token(payroll)
        .send()
        .expect(200);
    c.delete(&format!("/v1/employees/{b}"))
        .token(hr)
        .send()
        .expect(204);
    c.post("/v1/auth/logout").token(hr).send().expect(204);
    // A revoked token of a known user is refused and audited.
    assert_eq!(c.get("/v1/employees").token(hr).send().status, 401);
    server.stop(Stop::Graceful);
    // An offline command: its entry has no source address and no request id.
    let mut rotate = vault.command(&["keys", "rotate"]);
    rotate
        .env("HRVAULT_PASSPHRASE", PASSPHRASE)
        .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let out = run(rotate);
    assert!(out.status.success(), "keys rotate: {}", text(&out.stderr));
    vault
}

fn export(vault: &VaultDir, format: &str) -> Vec<Value> {
    let out = run(vault.command(&["audit", "export", "--format", format]));
    assert!(out.status.success(), "export: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_ocsf_event_validates_against_the_ocsf_1_1_0_api_activity_schema() {
    let v = validator();
    let vault = busy_vault();
    let entries = export(&vault, "jsonl");
    let events = export(&vault, "ocsf");
    assert_eq!(events.len(), entries.len());
    let actions: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "employee.create",
        "employee.read",
        "employee.reveal",
        "access.denied",
        "hr_flag.create",
        "keys.rotate",
    ] {
        assert!(actions.contains(a), "the vault exercises {a}: {actions:?}");
    }
    assert!(
        entries
            .iter()
            .any(|e| e["source_ip"].is_null() && e["request_id"].is_null()),
        "an entry without source address or request id is exported too"
    );
    let mut failures = Vec::new();
    for (entry, event) in entries.iter().zip(&events) {
        for err in v.iter_errors(event) {
            failures.push(format!(
                "seq {} ({}): {} at {}",
                entry["seq"],
                entry["action"],
                err,
                err.instance_path()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} events fail OCSF 1.1.0:\n{}",
        failures.len(),
        events.len(),
        failures.join("\n")
    );
}

/// The schema is not vacuous: the shapes the exporter used to emit are refused.
#[test]
fn the_schema_refuses_null_strings_and_unknown_attributes() {
    let v = validator();
    let good = json!({
        "class_uid": 6003, "category_uid": 6, "activity_id": 99, "type_uid": 600399,
        "severity_id": 1, "time": 1, "actor": {"user": {"name": "admin"}},
        "api": {"operation": "auth.login", "service": {"name": "hrvault"}},
        "src_endpoint": {"ip": "127.0.0.1"},
        "metadata": {"version": "1.1.0", "product": {"name": "hrvault", "vendor_name": "hrvault"}},
    });
    assert!(v.is_valid(&good), "{:?}", v.validate(&good).err());
    let mut null_uid = good.clone();
    null_uid["actor"]["user"]["uid"] = Value::Null;
    assert!(!v.is_valid(&null_uid), "a null user uid");
    let mut null_request = good.clone();
    null_request["api"]["request"] = json!({"uid": null});
    assert!(!v.is_valid(&null_request), "a null request uid");
    let mut null_ip = good.clone();
    null_ip["src_endpoint"] = json!({"ip": null});
    assert!(!v.is_valid(&null_ip), "a null ip");
    let mut extra = good.clone();
    extra["hrvault_seq"] = json!(1);
    assert!(!v.is_valid(&extra), "an attribute outside the class");
    let mut missing = good;
    missing.as_object_mut().unwrap().remove("src_endpoint");
    assert!(!v.is_valid(&missing), "a required attribute missing");
}
