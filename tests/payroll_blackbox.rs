//! A payroll integration driven from outside: a service account gets tokens with client
//! credentials, pulls the NDJSON export in full and as deltas, and HR's creates are idempotent.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use common::*;
use serde_json::{Value, json};

/// One server for the file.
fn world() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("pay", None))
}

/// A service account: (user id, client_id, client_secret).
fn service_account(w: &Shared, name: &str) -> (String, String, String) {
    let r = w
        .c()
        .post("/v1/users")
        .token(&w.staff.admin.token)
        .json(&json!({"username": name, "role": "payroll", "kind": "service"}))
        .send();
    let v = r.expect(201).json();
    assert_eq!(v["kind"], "service");
    let secret = v["client_secret"]
        .as_str()
        .expect("the secret is shown once")
        .to_owned();
    (
        v["id"].as_str().unwrap().to_owned(),
        name.to_owned(),
        secret,
    )
}

fn token_request(w: &Shared, form: &str) -> Resp {
    w.c()
        .post("/v1/oauth/token")
        .raw(
            "application/x-www-form-urlencoded",
            form.as_bytes().to_vec(),
        )
        .send()
}

fn client_token(w: &Shared, id: &str, secret: &str) -> String {
    let r = token_request(
        w,
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
    );
    let v = r.expect(200).json();
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].as_u64().unwrap() > 0);
    v["access_token"].as_str().unwrap().to_owned()
}

/// The export as id → line.
fn export(w: &Shared, token: &str, query: &str) -> BTreeMap<String, Value> {
    let r = w
        .c()
        .get(&format!("/v1/payroll/export{query}"))
        .token(token)
        .send();
    r.expect(200);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let text = r.text();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "every line ends with a newline"
    );
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["id"].as_str().unwrap().to_owned(), v))
        .collect()
}

/// Client credentials, RFC 6749 errors, the full export (full values, no birth dates, no
/// honeytokens), a delta with only what changed (including a deletion), and 403 for hr.
#[test]
fn a_payroll_client_syncs_with_full_and_delta_exports() {
    let w = world();
    let (_, client_id, secret) = service_account(w, "payroll-sync");
    let wrong = token_request(
        w,
        &format!("grant_type=client_credentials&client_id={client_id}&client_secret=wrong-secret"),
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["error"], "invalid_client");
    let unknown = token_request(
        w,
        "grant_type=client_credentials&client_id=nobody&client_secret=wrong-secret",
    );
    assert_eq!(
        (unknown.status, unknown.json()["error"].clone()),
        (401, json!("invalid_client"))
    );
    let bad_grant = token_request(
        w,
        &format!("grant_type=password&client_id={client_id}&client_secret={secret}"),
    );
    assert_eq!(
        (bad_grant.status, bad_grant.json()["error"].clone()),
        (400, json!("unsupported_grant_type"))
    );
    let missing = token_request(w, "client_id=x");
    assert_eq!(
        (missing.status, missing.json()["error"].clone()),
        (400, json!("invalid_request"))
    );
    // A human's password does not work as a client secret, nor the reverse.
    let human = token_request(
        w,
        &format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            w.staff.hr.username, w.staff.hr.password
        ),
    );
    assert_eq!(human.status, 401);
    assert_eq!(w.c().login_raw(&client_id, &secret).status, 401);

    let token = client_token(w, &client_id, &secret);
    let mut created = BTreeMap::new();
    for _ in 0..3 {
        let body = draft();
        let rec = create_employee(w.c(), &w.staff.hr.token, &body);
        created.insert(rec["id"].as_str().unwrap().to_owned(), body);
    }
    let decoy = w
        .c()
        .post("/v1/honeytokens")
        .token(&w.staff.security.token)
        .json(&draft())
        .send()
        .expect(201)
        .json();

    let full = export(w, &token, "");
    for (id, body) in &created {
        let line = full
            .get(id)
            .unwrap_or_else(|| panic!("{id} missing from the export"));
        assert_eq!(line["ssn"], body["ssn"], "the full SSN");
        assert_eq!(
            line["bank_account"], body["bank_account"],
            "the full account"
        );
        assert_eq!(line["home_address"]["line1"], body["home_address"]["line1"]);
        assert_eq!(line["employee_number"], body["employee_number"]);
        assert!(
            line.get("date_of_birth").is_none(),
            "payroll does not need birth dates"
        );
    }
    assert!(
        !full.contains_key(decoy["id"].as_str().unwrap()),
        "no honeytokens"
    );

    // Delta sync: only what changed since the last run, deletions included.
    // `updated_since` is inclusive: ask for what changed strictly after the newest change seen.
    let newest: jiff::Timestamp = full
        .values()
        .filter_map(|l| l["updated_at"].as_str())
        .max()
        .unwrap()
        .parse()
        .unwrap();
    let since = (newest + jiff::SignedDuration::from_micros(1)).to_string();
    let ids: Vec<&String> = created.keys().collect();
    let (changed, removed, untouched) = (ids[0], ids[1], ids[2]);
    w.c()
        .patch(&format!("/v1/employees/{changed}"))
        .token(&w.staff.hr.token)
        .json(&json!({"status": "terminated", "termination_date": "2026-11-20"}))
        .send()
        .expect(200);
    w.c()
        .delete(&format!("/v1/employees/{removed}"))
        .token(&w.staff.hr.token)
        .send()
        .expect(204);
    let delta = export(
        w,
        &token,
        &format!("?updated_since={}", since.replace('+', "%2B")),
    );
    assert_eq!(delta[changed.as_str()]["status"], "terminated");
    assert_eq!(delta[removed.as_str()]["deleted"], true);
    assert!(delta[removed.as_str()]["deleted_at"].is_string());
    assert!(
        delta[removed.as_str()].get("ssn").is_none(),
        "a deletion carries no data"
    );
    assert!(
        !delta.contains_key(untouched.as_str()),
        "unchanged records are not resent"
    );
    let full_again = export(w, &token, "");
    assert!(
        !full_again.contains_key(removed.as_str()),
        "a full export lists live records only"
    );

    // One audit entry per export, naming the records it carried.
    let exports = audit_entries(w.c(), &w.staff.auditor.token, "action=employee.export", 0);
    let last = exports.last().unwrap();
    assert_eq!(last["actor"]["username"], client_id.as_str());
    assert_eq!(
        last["employee_ids"].as_array().unwrap().len(),
        full_again.len()
    );

    w.c()
        .get("/v1/payroll/export")
        .token(&w.staff.hr.token)
        .send()
        .problem(403);
    w.c()
        .get("/v1/payroll/export?updated_since=yesterday")
        .token(&token)
        .send()
        .problem(422);
}

/// Rotating a client secret kills the old secret and its tokens; revoking leaves no way in.
#[test]
fn client_secrets_rotate_and_revoke() {
    let w = world();
    let (id, client_id, secret) = service_account(w, "payroll-rotate");
    let old_token = client_token(w, &client_id, &secret);
    let r = w
        .c()
        .post(&format!("/v1/users/{id}/client-secret"))
        .token(&w.staff.admin.token)
        .send();
    let new_secret = r.expect(200).json()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, secret);
    w.c()
        .get("/v1/payroll/export")
        .token(&old_token)
        .send()
        .problem(401);
    assert_eq!(
        token_request(
            w,
            &format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}")
        )
        .status,
        401
    );
    let new_token = client_token(w, &client_id, &new_secret);
    w.c()
        .delete(&format!("/v1/users/{id}/client-secret"))
        .token(&w.staff.admin.token)
        .send()
        .expect(204);
    w.c()
        .get("/v1/payroll/export")
        .token(&new_token)
        .send()
        .problem(401);
    assert_eq!(
        token_request(
            w,
            &format!(
                "grant_type=client_credentials&client_id={client_id}&client_secret={new_secret}"
            )
        )
        .status,
        401
    );
    // Humans have no client secret.
    w.c()
        .post(&format!("/v1/users/{}/client-secret", w.staff.hr.id))
        .token(&w.staff.admin.token)
        .send()
        .problem(409);
    let listed = w
        .c()
        .get("/v1/users")
        .token(&w.staff.admin.token)
        .send()
        .text();
    assert!(!listed.contains(&new_secret) && !listed.contains("client_secret"));
}

/// A retried create with the same Idempotency-Key returns the original record and stores one;
/// the same key with another body is a 409; keys are per user.
#[test]
fn creates_are_idempotent() {
    let w = world();
    let body = draft();
    let first = w
        .c()
        .post("/v1/employees")
        .token(&w.staff.hr.token)
        .header("idempotency-key", "onboard-42")
        .json(&body)
        .send();
    let first = first.expect(201).json();
    let again = w
        .c()
        .post("/v1/employees")
        .token(&w.staff.hr.token)
        .header("idempotency-key", "onboard-42")
        .json(&body)
        .send();
    assert_eq!(again.status, 201);
    assert_eq!(
        again.json()["id"],
        first["id"],
        "the original record, not a new one"
    );
    let found = w
        .c()
        .post("/v1/employees/lookup")
        .token(&w.staff.hr.token)
        .json(&json!({"ssn": body["ssn"]}))
        .send();
    assert_eq!(
        found.expect(200).json()["id"],
        first["id"],
        "one record holds the SSN"
    );
    let mut other = draft();
    other["first_name"] = json!("Someone else");
    let conflict = w
        .c()
        .post("/v1/employees")
        .token(&w.staff.hr.token)
        .header("idempotency-key", "onboard-42")
        .json(&other)
        .send();
    conflict.problem(409);
    let other_hr = create_user(w.c(), &w.staff.admin.token, "hr-idem-2", "hr");
    let separate = w
        .c()
        .post("/v1/employees")
        .token(&other_hr.token)
        .header("idempotency-key", "onboard-42")
        .json(&other)
        .send();
    assert_ne!(
        separate.expect(201).json()["id"],
        first["id"],
        "keys are scoped to their user"
    );
    w.c()
        .post("/v1/employees")
        .token(&w.staff.hr.token)
        .header("idempotency-key", "")
        .json(&draft())
        .send()
        .problem(400);
}

/// `/metrics` is Prometheus-readable and counts by route template, never by id.
#[test]
fn metrics_count_requests_by_route() {
    let w = world();
    let rec = create_employee(w.c(), &w.staff.hr.token, &draft());
    let id = rec["id"].as_str().unwrap();
    w.c()
        .get(&format!("/v1/employees/{id}"))
        .token(&w.staff.hr.token)
        .send()
        .expect(200);
    // Classic Prometheus text by default, OpenMetrics when asked for.
    let r = w.c().get("/metrics").send();
    let text = r.expect(200).text();
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(text.contains("# TYPE hrvault_http_requests_total counter") && !text.contains("# EOF"));
    let om = w
        .c()
        .get("/metrics")
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send();
    assert!(
        om.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(om.text().trim_end().ends_with("# EOF"));
    assert!(text.contains("hrvault_http_requests_total{route=\"/v1/employees/{id}\",method=\"GET\",status=\"200\"}"), "{text}");
    assert!(text.contains("hrvault_audit_batch_size_bucket"));
    assert!(text.contains("hrvault_audit_commit_seconds_count"));
    assert!(!text.contains(id), "no ids in metrics");
}
