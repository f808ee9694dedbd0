//! The console's employee pages over plain HTTP, as a browser without script would use them:
//! sign in through `/ui/login`, take each form's hidden `csrf`, post forms, follow nothing
//! automatically. What they must show is checked in the HTML; what they must have done is
//! checked through the JSON API and the audit log.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::sync::OnceLock;

use common::{
    Page, Shared, aba, audit_entries, create_employee, draft, flag, linked_person, unique_number,
    unique_ssn,
};
use serde_json::json;

fn world() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("forms", None))
}

type Browser = common::ConsoleClient;

fn as_refs<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn location(p: &Page) -> String {
    p.header("location")
        .unwrap_or_else(|| panic!("no Location; status {}: {}", p.status, p.body))
        .to_owned()
}

#[test]
fn a_refused_new_hire_sends_back_no_sensitive_value_and_a_good_one_is_created() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.hr);
    let csrf = b.csrf_of("/ui/employees/new");
    let number = unique_number();
    let routing = aba("02100002");
    let mut fields = vec![
        ("csrf", csrf.clone()),
        ("employee_number", number.clone()),
        ("first_name", "Zelda".to_owned()),
        ("last_name", "Fitzgerald".to_owned()),
        ("work_email", "zelda@example.com".to_owned()),
        ("hire_date", "2026-02-02".to_owned()),
        ("status", "onboarding".to_owned()),
        ("ssn", "666-12-3456".to_owned()),
        ("date_of_birth", "1985-07-23".to_owned()),
        ("home_address.line1", "42 Quiet Lane".to_owned()),
        ("home_address.city", "Montgomery".to_owned()),
        ("home_address.postal_code", "36104".to_owned()),
        ("home_address.country", "US".to_owned()),
        ("bank_account.routing_number", routing.clone()),
        ("bank_account.account_number", "987654321012".to_owned()),
    ];
    let refused = b.post("/ui/employees/new", &as_refs(&fields));
    refused.expect(422);
    for secret in [
        "666-12-3456",
        "666123456",
        "1985-07-23",
        routing.as_str(),
        "987654321012",
        "42 Quiet Lane",
        "36104",
    ] {
        assert!(
            !refused.body.contains(secret),
            "the refused page sends back {secret}"
        );
    }
    assert!(refused.body.contains("value=\"Zelda\""), "first name kept");
    assert!(
        refused
            .body
            .contains("Enter again: sensitive values are not sent back")
    );
    assert!(refused.body.contains("role=\"alert\""));
    // The SSN input is marked and points at its message.
    let ssn_input = {
        let at = refused.body.find("name=\"ssn\"").unwrap();
        let start = refused.body[..at].rfind('<').unwrap();
        let end = at + refused.body[at..].find('>').unwrap();
        refused.body[start..=end].to_owned()
    };
    assert!(ssn_input.contains("aria-invalid=\"true\""), "{ssn_input}");
    assert!(ssn_input.contains("f-ssn-error"), "{ssn_input}");
    assert!(refused.body.contains("id=\"f-ssn-error\""));
    assert!(
        w.c()
            .get(&format!("/v1/employees?q={number}"))
            .token(&w.staff.hr.token)
            .send()
            .json()["employees"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was created"
    );

    let ssn = unique_ssn();
    fields.retain(|(k, _)| *k != "ssn");
    fields.push(("ssn", ssn.clone()));
    let created = b.post("/ui/employees/new", &as_refs(&fields));
    created.expect(303);
    let to = location(&created);
    assert!(to.ends_with("?notice=created"), "{to}");
    let id = to
        .trim_start_matches("/ui/employees/")
        .trim_end_matches("?notice=created")
        .to_owned();
    let rec = w
        .c()
        .get(&format!("/v1/employees/{id}"))
        .token(&w.staff.hr.token)
        .send();
    let rec = rec.expect(200).json();
    assert_eq!(rec["employee_number"], number.as_str());
    assert_eq!(rec["first_name"], "Zelda");
    assert_eq!(rec["ssn"], format!("***-**-{}", &ssn[7..]));
    assert_eq!(rec["home_address"]["city"], "Montgomery");
    let shown = b.get(&to);
    shown.expect(200);
    assert!(shown.body.contains("Employee created"));
    assert!(!shown.body.contains(&ssn), "the record page masks the SSN");

    // A second hire with the same number: 409 beside Employee number.
    let again = b.post("/ui/employees/new", &as_refs(&fields));
    again.expect(409);
    assert!(again.body.contains("id=\"f-employee_number-error\""));
    assert!(!again.body.contains(&ssn));
}

#[test]
fn a_reveal_needs_a_reason_and_shows_the_values_with_the_reason_audited() {
    let w = world();
    let body = draft();
    let ssn = body["ssn"].as_str().unwrap().to_owned();
    let rec = create_employee(w.c(), &w.staff.hr.token, &body);
    let id = rec["id"].as_str().unwrap().to_owned();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.hr);
    let page = format!("/ui/employees/{id}");
    let csrf = b.csrf_of(&page);
    let reveal = format!("/ui/employees/{id}/reveal");

    let refused = b.post(
        &reveal,
        &[("csrf", &csrf), ("fields", "ssn"), ("reason", "short")],
    );
    refused.expect(422);
    assert!(refused.body.contains("id=\"reveal-reason-error\""));
    assert!(!refused.body.contains(&ssn));
    let none = b.post(
        &reveal,
        &[("csrf", &csrf), ("reason", "checking the tax form")],
    );
    none.expect(422);
    assert!(none.body.contains("id=\"reveal-fields-error\""));
    let successes = |entries: &[serde_json::Value]| {
        entries
            .iter()
            .filter(|e| e["employee_id"] == id.as_str() && e["outcome"] == "success")
            .count()
    };
    let before = audit_entries(w.c(), &w.staff.auditor.token, "action=employee.reveal", 0);
    assert_eq!(successes(&before), 0, "a refused reveal revealed nothing");

    let reason = "verifying the direct deposit form";
    let shown = b.post(
        &reveal,
        &[
            ("csrf", &csrf),
            ("fields", "ssn"),
            ("fields", "bank_account"),
            ("reason", reason),
        ],
    );
    shown.expect(200);
    assert!(shown.body.contains(&ssn), "the full SSN is shown");
    assert!(shown.body.contains("data-reveal-seconds=\"60\""));
    assert!(shown.body.contains("data-secret"));
    assert!(shown.body.contains("data-countdown"));
    assert!(shown.body.contains("000123456789"));
    assert!(
        !shown.body.contains("http-equiv=\"refresh\""),
        "no timed redirect (WCAG 2.2.1)"
    );
    assert!(
        shown
            .body
            .contains(&format!("href=\"/ui/employees/{id}\">Hide now")),
        "a way to hide the values at once"
    );
    assert_eq!(shown.header("pragma"), Some("no-cache"));
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    let after = audit_entries(w.c(), &w.staff.auditor.token, "action=employee.reveal", 0);
    let entry = after
        .iter()
        .find(|e| e["employee_id"] == id.as_str() && e["outcome"] == "success")
        .expect("the reveal's entry");
    assert_eq!(entry["reason"], reason);
    assert_eq!(successes(&after), 1);

    // Without the session's token nothing is revealed.
    let forged = b.post(&reveal, &[("fields", "ssn"), ("reason", reason)]);
    forged.expect(403);
    assert!(!forged.body.contains(&ssn));
}

#[test]
fn a_stale_edit_says_the_record_changed_and_a_fresh_one_saves() {
    let w = world();
    let rec = create_employee(w.c(), &w.staff.hr.token, &draft());
    let id = rec["id"].as_str().unwrap().to_owned();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.hr);
    let edit = format!("/ui/employees/{id}/edit");
    let form = b.get(&edit);
    form.expect(200);
    let (csrf, version) = (form.hidden("csrf"), form.hidden("version"));
    assert_eq!(version, "1");
    assert!(form.body.contains("value=\"Grace\""), "prefilled");
    assert!(
        !form.body.contains("1990-04-01"),
        "sensitive inputs stay empty"
    );
    assert!(form.body.contains("Leave empty to keep the stored value"));

    // Someone else changes it through the API.
    w.c()
        .patch(&format!("/v1/employees/{id}"))
        .token(&w.staff.hr.token)
        .json(&json!({"job_title": "Admiral"}))
        .send()
        .expect(200);
    let number = rec["employee_number"].as_str().unwrap();
    let mine = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("employee_number", number),
        ("first_name", "Grace"),
        ("last_name", "Hopper"),
        ("preferred_name", "Amazing Grace"),
        ("work_email", "grace@example.com"),
        ("department", "R&D"),
        ("job_title", "Engineer"),
        ("location", "Arlington"),
        ("hire_date", "2026-01-15"),
        ("status", "onboarding"),
    ];
    let stale = b.post(&edit, &mine);
    assert!(matches!(stale.status, 409 | 412), "status {}", stale.status);
    assert!(stale.body.contains(
        "This record was changed by someone else since you opened it. Reload to see the new version."
    ));
    let now = w
        .c()
        .get(&format!("/v1/employees/{id}"))
        .token(&w.staff.hr.token)
        .send()
        .json();
    assert_eq!(
        now["job_title"], "Admiral",
        "the stale edit changed nothing"
    );
    assert!(now["preferred_name"].is_null());

    // Reloaded: the new version goes through, and only what changed is sent.
    let form = b.get(&edit);
    let version = form.hidden("version");
    assert_eq!(version, "2");
    let mut fresh = mine;
    fresh[1].1 = version.as_str();
    fresh[8].1 = "Admiral";
    let saved = b.post(&edit, &fresh);
    saved.expect(303);
    assert!(location(&saved).ends_with("?notice=saved"));
    let now = w
        .c()
        .get(&format!("/v1/employees/{id}"))
        .token(&w.staff.hr.token)
        .send()
        .json();
    assert_eq!(now["preferred_name"], "Amazing Grace");
    assert_eq!(now["version"], 3);
    let entries = audit_entries(w.c(), &w.staff.auditor.token, "action=employee.update", 0);
    let last = entries
        .iter()
        .rev()
        .find(|e| e["employee_id"] == id.as_str() && e["outcome"] == "success")
        .unwrap();
    assert_eq!(last["fields"], json!(["preferred_name"]), "{last}");
    assert!(b.get(&location(&saved)).body.contains("Changes saved"));
}

#[test]
fn a_delete_needs_the_employee_number() {
    let w = world();
    let rec = create_employee(w.c(), &w.staff.hr.token, &draft());
    let id = rec["id"].as_str().unwrap().to_owned();
    let number = rec["employee_number"].as_str().unwrap().to_owned();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.hr);
    let path = format!("/ui/employees/{id}/delete");
    let csrf = b.csrf_of(&path);
    let wrong = b.post(&path, &[("csrf", &csrf), ("confirm", "E0")]);
    wrong.expect(422);
    assert!(wrong.body.contains("id=\"f-confirm-error\""));
    let api = |w: &Shared| {
        w.c()
            .get(&format!("/v1/employees/{id}"))
            .token(&w.staff.hr.token)
            .send()
            .status
    };
    assert_eq!(api(w), 200, "a wrong number deletes nothing");
    let done = b.post(&path, &[("csrf", &csrf), ("confirm", &number)]);
    done.expect(303);
    assert_eq!(location(&done), "/ui/employees?notice=deleted");
    assert_eq!(api(w), 404);
    assert!(
        b.get("/ui/employees?notice=deleted")
            .body
            .contains("Employee deleted")
    );

    // A record a vault user is linked to: 409, said on the page, nothing deleted.
    let (linked, _) = linked_person(w, "payroll", "console-linked-payroll");
    let path = format!("/ui/employees/{linked}/delete");
    let number = w
        .c()
        .get(&format!("/v1/employees/{linked}"))
        .token(&w.staff.hr.token)
        .send()
        .json()["employee_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = b.post(&path, &[("csrf", &csrf), ("confirm", &number)]);
    refused.expect(409);
    assert!(
        refused
            .body
            .contains("A vault user is linked to this record"),
        "{}",
        refused.body
    );
    w.c()
        .get(&format!("/v1/employees/{linked}"))
        .token(&w.staff.hr.token)
        .send()
        .expect(200);
}

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----hrvault-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn an_import_shows_the_count_and_the_rejected_lines() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.hr);
    let page = b.get("/ui/import");
    page.expect(200);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    let csrf = page.hidden("csrf");
    let (good, bad) = (unique_number(), unique_number());
    let csv = format!(
        "employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n\
         {good},Ida,Rhodes,2026-03-01,{},1980-05-05\n\
         {bad},Kay,Antonelli,2026-03-01,000-12-3456,1980-05-05\n",
        unique_ssn()
    );

    // Without the token first, nothing is imported.
    let (kind, body) = multipart(&[("file", Some("staff.csv"), csv.as_bytes())]);
    b.send("POST", "/ui/import", Some((&kind, body)))
        .expect(403);
    let (kind, body) = multipart(&[
        ("csrf", None, b"not-the-token"),
        ("file", Some("staff.csv"), csv.as_bytes()),
    ]);
    b.send("POST", "/ui/import", Some((&kind, body)))
        .expect(403);
    let count = |n: &str| {
        w.c()
            .get(&format!("/v1/employees?q={n}"))
            .token(&w.staff.hr.token)
            .send()
            .json()["employees"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(&good), 0);

    let (kind, body) = multipart(&[
        ("csrf", None, csrf.as_bytes()),
        ("file", Some("staff.csv"), csv.as_bytes()),
    ]);
    let result = b.send("POST", "/ui/import", Some((&kind, body)));
    result.expect(200);
    assert!(
        result.body.contains("Imported 1 employees"),
        "{}",
        result.body
    );
    assert!(result.body.contains("<caption>Rejected rows</caption>"));
    assert!(
        result.body.contains(&format!("<td>3</td><td>{bad}</td>")),
        "{}",
        result.body
    );
    assert!(!result.body.contains("000-12-3456"));
    assert_eq!(count(&good), 1);
    assert_eq!(count(&bad), 0);

    // Not CSV: a message, nothing imported.
    let (kind, body) = multipart(&[
        ("csrf", None, csrf.as_bytes()),
        ("file", Some("x.csv"), b"name,colour\nx,y\n"),
    ]);
    let refused = b.send("POST", "/ui/import", Some((&kind, body)));
    refused.expect(400);
    assert!(refused.body.contains("Nothing was imported"));
}

#[test]
fn the_record_page_shows_each_role_what_it_may_do() {
    let w = world();
    let body = draft();
    let ssn = body["ssn"].as_str().unwrap().to_owned();
    let rec = create_employee(w.c(), &w.staff.hr.token, &body);
    let id = rec["id"].as_str().unwrap().to_owned();
    let page = format!("/ui/employees/{id}");
    let links = |html: &str| {
        (
            html.contains(&format!("href=\"/ui/employees/{id}/edit\">Edit</a>")),
            html.contains(&format!("href=\"/ui/employees/{id}/delete\">Delete</a>")),
            html.contains(&format!("action=\"/ui/employees/{id}/reveal\"")),
        )
    };
    let hr = Browser::signed_in(&world().server.base, &w.staff.hr).get(&page);
    hr.expect(200);
    assert_eq!(links(&hr.body), (true, true, true));
    assert!(hr.body.contains(&format!("***-**-{}", &ssn[7..])));
    assert!(!hr.body.contains(&ssn));

    let mut payroll = Browser::signed_in(&world().server.base, &w.staff.payroll);
    let p = payroll.get(&page);
    p.expect(200);
    assert_eq!(links(&p.body), (false, false, true));
    payroll.get("/ui/employees/new").expect(403);
    payroll.get(&format!("{page}/edit")).expect(403);

    let s = Browser::signed_in(&world().server.base, &w.staff.security).get(&page);
    s.expect(200);
    assert_eq!(links(&s.body), (false, false, false));
    assert!(s.body.contains("Not shown to your role"));
    assert!(
        !s.body.contains("***-**-"),
        "security sees not even the masked SSN"
    );
}

#[test]
fn an_import_over_10_mib_is_refused_with_a_message() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.hr);
    let csrf = b.csrf_of("/ui/import");
    let mut csv = b"employee_number,first_name\n".to_vec();
    csv.resize(10 * 1024 * 1024 + 1, b'x');
    let (kind, body) = multipart(&[
        ("csrf", None, csrf.as_bytes()),
        ("file", Some("big.csv"), &csv),
    ]);
    let r = b.send("POST", "/ui/import", Some((&kind, body)));
    r.expect(413);
    assert!(r.body.contains("larger than 10 MiB"), "{}", r.body);

    // Well over the API's 64 KiB body limit but under 10 MiB: the route's own limit applies
    // (blank lines are skipped by the CSV reader).
    let number = unique_number();
    let csv = format!(
        "employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n{}{number},Ida,Rhodes,2026-03-01,{},1980-05-05\n",
        "\n".repeat(300 * 1024),
        unique_ssn()
    );
    let (kind, body) = multipart(&[
        ("csrf", None, csrf.as_bytes()),
        ("file", Some("padded.csv"), csv.as_bytes()),
    ]);
    let r = b.send("POST", "/ui/import", Some((&kind, body)));
    r.expect(200);
    assert!(r.body.contains("Imported 1 employees"), "{}", r.body);
}

/// The restriction (CONTRACT §2 monitor) holds on the console's door to plaintext too: an hr user
/// whose own record carries a `pip` flag is refused a reveal from the console with the service's
/// message (which does not say a flag exists), the value is not on the page, and the refusal is
/// an audited `access.denied` — the console adds no way around the policy.
#[test]
fn a_restricted_user_is_refused_a_reveal_from_the_console_as_from_the_api() {
    let w = world();
    let (own, person) = linked_person(w, "hr", "hr-restricted-console");
    flag(w, &w.staff.security.token, &own, "pip").expect(201);
    let body = draft();
    let ssn = body["ssn"].as_str().unwrap().to_owned();
    let target = create_employee(w.c(), &w.staff.hr.token, &body);
    let id = target["id"].as_str().unwrap().to_owned();

    let mut b = Browser::signed_in(&world().server.base, &person);
    let csrf = b.csrf_of(&format!("/ui/employees/{id}"));
    let refused = b.post(
        &format!("/ui/employees/{id}/reveal"),
        &[
            ("csrf", &csrf),
            ("fields", "ssn"),
            ("reason", "checking the tax withholding form"),
        ],
    );
    refused.expect(403);
    assert!(!refused.body.contains(&ssn), "no value on a refused page");
    assert!(
        refused
            .body
            .contains("not permitted for this account; contact your security team"),
        "the service's message: {}",
        refused.body
    );
    assert!(
        !refused.body.to_lowercase().contains("pip"),
        "no hint of a flag"
    );
    let denied = audit_entries(w.c(), &w.staff.auditor.token, "action=access.denied", 0);
    assert!(
        denied
            .iter()
            .any(|e| e["actor"]["username"] == "hr-restricted-console"
                && e["employee_id"] == id.as_str()),
        "the refusal is audited"
    );
}
