//! The insider paths of CONTRACT rev 2 §2, each tried as an adversarial insider would against the
//! real binary, and each now refused, limited or alerted with the audit entry the contract
//! names: a restricted user's other doors to plaintext (export, comparing PATCH, lookup), the
//! lookup limit, records and the people behind them, honeytokens as decoys to everyone, alert
//! self-triage, masks that never show a whole value, and the break-glass way back.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::sync::OnceLock;

use common::*;
use serde_json::{Value, json};

/// One server for the file; a small lookup limit keeps the limit test far from the minute.
fn world() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| {
        Shared::start(
            "ins",
            Some("[auth]\nlookups_per_minute = 4\n[monitor]\nlookup_miss_threshold = 2\n"),
        )
    })
}

/// The entries of the request with this id.
fn entries_of(w: &Shared, request_id: &str) -> Vec<Value> {
    audit_entries(w.c(), &w.staff.auditor.token, "", 0)
        .into_iter()
        .filter(|e| e["client_request_id"] == request_id)
        .collect()
}

/// A payroll user under a PIP is refused the export too, not only reveal: 403 with the
/// message that says nothing of a flag, audited as `access.denied`, and no record line.
#[test]
fn a_restricted_payroll_user_cannot_export() {
    let w = world();
    let c = w.c();
    create_employee(c, &w.staff.hr.token, &draft());
    let (me, pay) = linked_person(w, "payroll", "pay-pip");
    c.get("/v1/payroll/export")
        .token(&pay.token)
        .send()
        .expect(200);
    flag(w, &w.staff.hr.token, &me, "pip").expect(201);
    let r = c
        .get("/v1/payroll/export")
        .token(&pay.token)
        .header("x-request-id", "pip-export-1")
        .send();
    let p = r.problem(403);
    assert!(!p["detail"].as_str().unwrap().contains("flag"), "{p}");
    assert!(!r.text().contains("ssn"));
    let e = entries_of(w, "pip-export-1");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["action"], "access.denied");
    assert_eq!(e[0]["outcome"], "denied");
}

/// A PATCH of `hire_date` tests the new date against the stored birth date: refused while
/// restricted (403, `fields` names `date_of_birth`); otherwise its failure says only that it
/// conflicts, its entry names `date_of_birth` and it counts as a read — so probing a decoy this
/// way raises the honeytoken alert.
#[test]
fn a_patch_that_compares_with_the_stored_birth_date_is_an_access() {
    let w = world();
    let c = w.c();
    let target = create_employee(c, &w.staff.hr.token, &draft());
    let path = format!("/v1/employees/{}", target["id"].as_str().unwrap());

    let (me, mallory) = linked_person(w, "hr", "hr-pip-probe");
    flag(w, &w.staff.security.token, &me, "disciplinary").expect(201);
    let r = c
        .patch(&path)
        .token(&mallory.token)
        .header("x-request-id", "probe-restricted")
        .json(&json!({"hire_date": "2000-01-01"}))
        .send();
    r.problem(403);
    let e = entries_of(w, "probe-restricted");
    assert_eq!(e[0]["action"], "access.denied");
    assert_eq!(e[0]["fields"], json!(["date_of_birth"]));

    // An hr user without a flag: the refused probe names the stored field, never the value.
    let hr = &w.staff.hr;
    let r = c
        .patch(&path)
        .token(&hr.token)
        .header("x-request-id", "probe-open")
        .json(&json!({"hire_date": "1995-01-01"}))
        .send();
    let p = r.problem(422);
    assert_eq!(
        p["errors"][0]["message"],
        "conflicts with the stored date_of_birth"
    );
    assert!(!r.text().contains("1990"), "{}", r.text());
    let e = entries_of(w, "probe-open");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["action"], "employee.update");
    assert_eq!(e[0]["outcome"], "error");
    assert!(
        e[0]["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("date_of_birth")),
        "{e:?}"
    );

    // The same probe on a decoy alerts security.
    let decoy = c
        .post("/v1/honeytokens")
        .token(&w.staff.security.token)
        .json(&draft())
        .send()
        .expect(201)
        .json();
    let (_, prober) = linked_person(w, "hr", "hr-decoy-probe");
    c.patch(&format!("/v1/employees/{}", decoy["id"].as_str().unwrap()))
        .token(&prober.token)
        .json(&json!({"hire_date": "1995-01-01"}))
        .send()
        .problem(422);
    let alert = wait_for_alert(w, "honeytoken_access", "hr-decoy-probe");
    assert_eq!(alert["employee_id"], decoy["id"]);
}

/// Lookups are limited per user (here 4 a minute): past it 429, and however many are refused,
/// one `employee.lookup` `denied` entry says so; lookups that miss raise `lookup_probing`.
#[test]
fn lookups_are_limited_and_misses_alert() {
    let w = world();
    let c = w.c();
    let (_, guesser) = linked_person(w, "hr", "hr-guesser");
    let lookup = |rid: &str| {
        c.post("/v1/employees/lookup")
            .token(&guesser.token)
            .header("x-request-id", rid)
            .json(&json!({"ssn": unique_ssn()}))
            .send()
    };
    for i in 0..4 {
        lookup(&format!("guess-{i}")).problem(404);
    }
    for i in 4..12 {
        let r = lookup(&format!("guess-{i}"));
        assert_eq!(r.status, 429, "{}", r.text());
    }
    let refused: Vec<Value> = audit_entries(c, &w.staff.auditor.token, "action=employee.lookup", 0)
        .into_iter()
        .filter(|e| e["actor"]["username"] == "hr-guesser" && e["outcome"] == "denied")
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "one entry for eight refusals: {refused:?}"
    );
    let alert = wait_for_alert(w, "lookup_probing", "hr-guesser");
    assert_eq!(alert["severity"], "medium");
    assert!(alert["evidence_seqs"].as_array().unwrap().len() >= 3);
}

/// Nobody updates or deletes the record linked to their own account (so a flagged person cannot
/// move themselves out of a monitored department or erase themselves), and a record someone is
/// linked to cannot be deleted at all until that user goes.
#[test]
fn the_record_behind_an_account_is_out_of_its_own_reach() {
    let w = world();
    let c = w.c();
    let (me, self_editor) = linked_person(w, "hr", "hr-self-edit");
    let path = format!("/v1/employees/{me}");
    let r = c
        .patch(&path)
        .token(&self_editor.token)
        .header("x-request-id", "self-move")
        .json(&json!({"department": "Unmonitored"}))
        .send();
    r.problem(403);
    assert_eq!(entries_of(w, "self-move")[0]["action"], "access.denied");
    c.delete(&path)
        .token(&self_editor.token)
        .send()
        .problem(403);

    let r = c
        .delete(&path)
        .token(&w.staff.hr.token)
        .header("x-request-id", "delete-linked")
        .send();
    let p = r.problem(409);
    assert!(p["detail"].as_str().unwrap().contains("linked"), "{p}");
    let e = entries_of(w, "delete-linked");
    assert_eq!(
        (e[0]["action"].as_str(), e[0]["outcome"].as_str()),
        (Some("employee.delete"), Some("error"))
    );
    let now = c
        .get(&path)
        .token(&w.staff.hr.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(now["department"], "R&D", "nothing changed");

    // Once the user is gone, the record can be deleted.
    c.delete(&format!("/v1/users/{}", self_editor.id))
        .token(&w.staff.admin.token)
        .send()
        .expect(204);
    c.delete(&path).token(&w.staff.hr.token).send().expect(204);
}

/// A honeytoken is in hr's lists like any record but never in payroll's, so a payroll user
/// cannot diff the list against the export to find it; a payroll read by id still works and
/// alerts.
#[test]
fn payroll_cannot_find_decoys_by_diffing_lists_against_the_export() {
    let w = world();
    let c = w.c();
    let decoy = c
        .post("/v1/honeytokens")
        .token(&w.staff.security.token)
        .json(&draft())
        .send()
        .expect(201)
        .json();
    let id = decoy["id"].as_str().unwrap();
    let ids_in = |token: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let v = c
                .get(&format!("/v1/employees?limit=500{cursor}"))
                .token(token)
                .send()
                .expect(200)
                .json();
            for e in v["employees"].as_array().unwrap() {
                out.push(e["id"].as_str().unwrap().to_owned());
            }
            match v["next_cursor"].as_str() {
                Some(n) => cursor = format!("&cursor={n}"),
                None => return out,
            }
        }
    };
    assert!(ids_in(&w.staff.hr.token).contains(&id.to_owned()));
    let (_, pay) = linked_person(w, "payroll", "pay-differ");
    let listed = ids_in(&pay.token);
    assert!(
        !listed.contains(&id.to_owned()),
        "payroll's list holds no decoy"
    );
    let export = c.get("/v1/payroll/export").token(&pay.token).send();
    let exported: Vec<String> = export
        .expect(200)
        .text()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let only_in_list: Vec<_> = listed.iter().filter(|i| !exported.contains(i)).collect();
    assert!(
        only_in_list.is_empty(),
        "list and export agree: {only_in_list:?}"
    );
    c.get(&format!("/v1/employees/{id}"))
        .token(&pay.token)
        .send()
        .expect(200);
    wait_for_alert(w, "honeytoken_access", "pay-differ");
}

/// Alerts about a user cannot be triaged by that user.
#[test]
fn nobody_triages_alerts_about_themselves() {
    let w = world();
    let c = w.c();
    let analyst = create_user(c, &w.staff.admin.token, "sec-self-triage", "security");
    for _ in 0..6 {
        c.get("/v1/users").token(&analyst.token).send().problem(403);
    }
    let alert = wait_for_alert(w, "denied_probing", "sec-self-triage");
    let path = format!("/v1/alerts/{}", alert["id"].as_str().unwrap());
    let r = c
        .patch(&path)
        .token(&analyst.token)
        .json(&json!({"status": "resolved", "note": "nothing to see"}))
        .send();
    r.problem(403);
    c.patch(&path)
        .token(&w.staff.security.token)
        .json(&json!({"status": "acknowledged", "note": "looking"}))
        .send()
        .expect(200);
}

/// An account number of four digits or fewer shows only its last two.
#[test]
fn a_short_account_number_is_never_shown_whole() {
    let w = world();
    let mut body = draft();
    body["bank_account"]["account_number"] = json!("4821");
    let created = create_employee(w.c(), &w.staff.hr.token, &body);
    assert_eq!(created["bank_account"]["account_number"], "****21");
    let read = w
        .c()
        .get(&format!(
            "/v1/employees/{}",
            created["id"].as_str().unwrap()
        ))
        .token(&w.staff.payroll.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(read["bank_account"]["account_number"], "****21");
}
