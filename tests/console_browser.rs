//! The web console in a real browser (CONTRACT §5, docs/console.md): headless Chromium driven
//! over WebDriver against the real binary, finding everything by the labels, button texts and
//! link texts the spec gives, as a person would.

#![allow(clippy::unwrap_used, reason = "tests: a failed step must panic")]

mod common;

use std::fs;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// The harness itself, on a local page: labels, buttons, typing, scripts, axe.
#[test]
fn harness_finds_fields_by_label_and_runs_axe() {
    let Some(b) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("form.html");
    std::fs::write(
        &page,
        r#"<!doctype html><html lang="en"><head><title>t</title></head><body><main>
<h1>Form</h1>
<form id="f"><label for="u">User name</label><input id="u" name="u">
<label>Wrapped <input id="w" name="w" type="date"></label>
<label for="s">Kind</label><select id="s"><option value="a">Alpha</option><option value="b">Beta</option></select>
<button type="button" id="go">Go now</button>
<label for="nf">Unmarked</label><input id="nf" style="outline: none"></form>
<p><a href="https://example.invalid/">Elsewhere</a></p>
<img src="x.png">
</main></body></html>"#,
    )
    .unwrap();
    b.goto(&format!("file://{}", page.display()));
    b.fill("User name", "O'Brien \"x\"");
    assert_eq!(b.field("User name").prop("value"), "O'Brien \"x\"");
    b.fill("Wrapped", "2026-01-15");
    assert_eq!(b.field("Wrapped").prop("value"), "2026-01-15");
    b.choose("Kind", "Beta");
    assert_eq!(b.field("Kind").prop("value"), "b");
    assert_eq!(b.button("Go now").attr("id").as_deref(), Some("go"));
    assert!(
        b.link("Elsewhere")
            .prop("href")
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    b.wait_for_text("Form");
    // Without a CSP an inline script runs (the console's pages are checked for the opposite).
    let ran = b.execute(
        "const s = document.createElement('script');
         s.textContent = 'window.__inlineRan = true;';
         document.head.appendChild(s);
         return window.__inlineRan === true;",
        &[],
    );
    assert_eq!(ran, true);
    let v = b.axe_violations();
    assert!(v.iter().any(|v| v.starts_with("image-alt")), "{v:?}");
    assert!(b.screenshot().starts_with(b"\x89PNG"));
    // Keyboard: Tab moves the focus; a control styled without a focus mark is seen as such.
    let unmarked = b.field("Unmarked");
    b.tab_to(&unmarked, 8);
    assert_eq!(focus_mark(&b), None);
    b.execute("document.getElementById('u').focus();", &[]);
    assert!(focus_mark(&b).is_some(), "Chromium's own focus ring counts");
}

// ---------------------------------------------------------------------------------------------
// The console.

/// The server of this test binary (default `[console]`).
fn w() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("ui", None))
}

/// Screenshots go to `docs/screenshots/` only when `HRVAULT_SCREENSHOTS=1`.
fn maybe_screenshot(b: &Browser, name: &str) {
    if screenshots() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/screenshots")
            .join(format!("{name}.png"));
        b.save_screenshot(&p);
        assert!(
            fs::read(&p).unwrap().starts_with(b"\x89PNG"),
            "{}",
            p.display()
        );
    }
}

/// Whether this run refreshes docs/screenshots/.
fn screenshots() -> bool {
    std::env::var("HRVAULT_SCREENSHOTS").as_deref() == Ok("1")
}

/// For the screenshots only: a few records and an open alert, so the pages are not empty.
fn seed_for_screenshots(w: &Shared) {
    let c = w.c();
    for (first, last, dept, title) in [
        ("Ada", "Lovelace", "R&D", "Engineer"),
        ("Grace", "Hopper", "R&D", "Rear Admiral"),
        ("Katherine", "Johnson", "Support", "Mathematician"),
        ("Alan", "Turing", "IT Operations/InfoSec", "Cryptanalyst"),
    ] {
        let mut d = draft();
        d["first_name"] = json!(first);
        d["last_name"] = json!(last);
        d["department"] = json!(dept);
        d["job_title"] = json!(title);
        create_employee(c, &w.staff.hr.token, &d);
    }
    let decoy = c
        .post("/v1/honeytokens")
        .token(&w.staff.security.token)
        .json(&draft())
        .send();
    let decoy = decoy.expect(201).json();
    let reader = create_user(c, &w.staff.admin.token, "hr-curious", "hr");
    c.get(&format!("/v1/employees/{}", decoy["id"].as_str().unwrap()))
        .token(&reader.token)
        .send()
        .expect(200);
    wait_for_alert(w, "honeytoken_access", &reader.username);
}

/// Signs in through the sign-in page as a person would; waits until it has left it.
#[track_caller]
fn sign_in(b: &Browser, base: &str, username: &str, password: &str) {
    b.goto(&format!("{base}/ui/login"));
    b.fill("Username", username);
    b.fill("Password", password);
    b.button("Sign in").click();
    b.wait_for_path("a page past sign-in", |p| !p.starts_with("/ui/login"));
}

/// Presses Sign out and waits for the sign-in form.
#[track_caller]
fn sign_out(b: &Browser) {
    b.button("Sign out").click();
    poll(
        "the sign-in form after Sign out",
        WAIT,
        Duration::from_millis(50),
        || {
            (b.has_field("Username") && b.try_find(&Browser::button_xpath("Sign in")).is_some())
                .then_some(())
        },
    );
}

/// The texts of the links in the navigation bar.
fn nav_links(b: &Browser) -> Vec<String> {
    b.find_all("//nav[.//button[normalize-space(.)='Sign out']]//a")
        .iter()
        .map(El::text)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Clicks `button` and waits until the message tied to the field `label` (aria-describedby)
/// changes to a new, non-empty text (a field's hint alone is not a refusal); returns it.
#[track_caller]
fn submit_for_message(b: &Browser, button: &str, label: &str) -> String {
    let before = b.field_message(label);
    b.button(button).click();
    poll(
        &format!("a message beside {label} (it read {before:?} before)"),
        WAIT,
        Duration::from_millis(50),
        || {
            let m = b.field_message(label);
            (!m.trim().is_empty() && m != before).then_some(m)
        },
    )
}

/// The record id at the end of a `/ui/employees/{id}` path.
fn record_id(path: &str) -> String {
    let id = path
        .strip_prefix("/ui/employees/")
        .unwrap_or_else(|| panic!("not a record page: {path}"));
    let id = id.split(['/', '?', '#']).next().unwrap();
    assert_eq!(id.len(), 36, "a record id in {path}");
    id.to_owned()
}

/// Each role signs in and sees exactly its links (docs/console.md), then Sign out, and lands on
/// its first link; a wrong password says "Invalid username or password" and signs nobody in.
/// With `HRVAULT_SCREENSHOTS=1`, each role's main page is saved to docs/screenshots/.
#[test]
fn each_role_signs_in_to_exactly_its_links() {
    let Some(b) = browser() else { return };
    let w = w();
    let base = &w.server.base;
    if screenshots() {
        seed_for_screenshots(w);
    }
    for (role, links, landing, main) in [
        (
            "hr",
            &["Employees", "New hire", "Import"][..],
            "/ui/employees",
            None,
        ),
        ("payroll", &["Employees"][..], "/ui/employees", None),
        ("auditor", &["Audit log"][..], "/ui/audit", None),
        (
            "security",
            &["Employees", "Audit log", "Alerts", "HR flags"][..],
            "/ui/employees",
            Some("Alerts"),
        ),
        ("admin", &["Users"][..], "/ui/users", None),
    ] {
        let u = w.staff.of(role);
        sign_in(&b, base, &u.username, &u.password);
        let path = b.path();
        assert!(
            path.starts_with(landing),
            "{role} lands on {path}, not {landing}"
        );
        assert_eq!(nav_links(&b), links, "{role}'s navigation links");
        let sign_out_button = b.button("Sign out");
        assert!(
            sign_out_button
                .find("the navigation bar", "./ancestor::nav")
                .displayed(),
            "Sign out is in the navigation bar"
        );
        if role != "payroll" {
            if let Some(link) = main {
                b.link(link).click();
                b.wait_for_path(link, |p| p.starts_with("/ui/alerts"));
            }
            maybe_screenshot(
                &b,
                &format!(
                    "{role}-{}",
                    main.unwrap_or(links[0]).to_lowercase().replace(' ', "-")
                ),
            );
        }
        sign_out(&b);
        assert!(
            b.cookie("hrvault_session").is_none_or(|v| v.is_empty()),
            "{role}: the session cookie is gone"
        );
    }

    // A wrong password.
    b.goto(&format!("{base}/ui/login"));
    b.fill("Username", &w.staff.hr.username);
    b.fill("Password", "not-the-password-1");
    b.button("Sign in").click();
    b.wait_for_text("Invalid username or password");
    assert!(b.has_field("Password"), "still the sign-in form");
    assert!(b.path().starts_with("/ui/login"), "{}", b.path());
    assert!(
        b.find_all("//nav[.//button[normalize-space(.)='Sign out']]//a")
            .is_empty(),
        "no navigation when signed out"
    );
    // An unknown user gets the same words.
    b.fill("Username", "nobody-here");
    b.fill("Password", "not-the-password-1");
    b.button("Sign in").click();
    b.wait_for_text("Invalid username or password");
}

/// The values a person types into the New hire form, by label.
fn new_hire_values(number: &str, ssn: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Employee number", number.to_owned()),
        ("First name", "Dorothy".into()),
        ("Last name", "Vaughan".into()),
        ("Preferred name", "Dot".into()),
        ("Work email", "dorothy.vaughan@example.com".into()),
        ("Department", "Support".into()),
        ("Job title", "Supervisor".into()),
        ("Location", "Hampton".into()),
        ("Hire date", "2026-02-02".into()),
        ("SSN", ssn.to_owned()),
        ("Date of birth", "1990-09-20".into()),
        ("Address line 1", "12 West Area Rd".into()),
        ("Address line 2", "Apt 3".into()),
        ("City", "Newport News".into()),
        ("State", "VA".into()),
        ("Postal code", "23601".into()),
        ("Country", "US".into()),
        ("Routing number", aba("02100002")),
        ("Account number", "000555666777".into()),
    ]
}

/// A new hire typed into the form (every labelled field) is created, opens its record page, and
/// the JSON API returns exactly what was typed (sensitive values through reveal).
#[test]
fn a_new_hire_from_the_form_is_in_the_api() {
    let Some(b) = browser() else { return };
    let w = w();
    let hr = &w.staff.hr;
    sign_in(&b, &w.server.base, &hr.username, &hr.password);
    b.link("New hire").click();
    b.wait_for_path("the New hire form", |p| p.starts_with("/ui/employees/new"));
    let number = unique_number();
    let ssn = unique_ssn();
    let values = new_hire_values(&number, &ssn);
    for (label, value) in &values {
        b.fill(label, value);
    }
    b.choose("Status", "active");
    b.button("Create employee").click();
    let path = b.wait_for_path("the new record's page", |p| {
        p.starts_with("/ui/employees/") && !p.starts_with("/ui/employees/new")
    });
    let id = record_id(&path);
    b.wait_for_text(&number);
    assert!(
        !b.page_text().contains(&ssn),
        "the record page masks the SSN"
    );

    let r = w
        .c()
        .get(&format!("/v1/employees/{id}"))
        .token(&hr.token)
        .send();
    let v = r.expect(200).json();
    let get = |label: &str| values.iter().find(|(l, _)| *l == label).unwrap().1.clone();
    for (field, label) in [
        ("employee_number", "Employee number"),
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("preferred_name", "Preferred name"),
        ("work_email", "Work email"),
        ("department", "Department"),
        ("job_title", "Job title"),
        ("location", "Location"),
        ("hire_date", "Hire date"),
    ] {
        assert_eq!(v[field], get(label), "{field}: {v}");
    }
    assert_eq!(v["status"], "active", "{v}");
    assert_eq!(v["ssn"], format!("***-**-{}", &ssn[7..]), "{v}");
    let full = reveal(
        w.c(),
        &hr.token,
        &id,
        &["ssn", "date_of_birth", "home_address", "bank_account"],
    )
    .expect(200)
    .json();
    assert_eq!(full["ssn"], ssn);
    assert_eq!(full["date_of_birth"], get("Date of birth"));
    let addr = &full["home_address"];
    for (field, label) in [
        ("line1", "Address line 1"),
        ("line2", "Address line 2"),
        ("city", "City"),
        ("state", "State"),
        ("postal_code", "Postal code"),
        ("country", "Country"),
    ] {
        assert_eq!(addr[field], get(label), "home_address.{field}: {full}");
    }
    assert_eq!(
        full["bank_account"]["routing_number"],
        get("Routing number")
    );
    assert_eq!(
        full["bank_account"]["account_number"],
        get("Account number")
    );
}

/// A refused SSN is marked beside the SSN field with the server's message; the non-sensitive
/// values are kept, the sensitive ones are not sent back (the SSN input is empty), and nothing
/// was created.
#[test]
fn a_refused_ssn_is_shown_beside_its_field_and_the_rest_is_kept() {
    let Some(b) = browser() else { return };
    let w = w();
    let hr = &w.staff.hr;
    sign_in(&b, &w.server.base, &hr.username, &hr.password);
    b.goto(&format!("{}/ui/employees/new", w.server.base));
    let number = unique_number();
    let values = new_hire_values(&number, "000-12-3456");
    for (label, value) in &values {
        b.fill(label, value);
    }
    let message = submit_for_message(&b, "Create employee", "SSN");
    // The server's message: the one the API gives for the same SSN.
    let mut body = draft();
    body["ssn"] = json!("000-12-3456");
    let api = w
        .c()
        .post("/v1/employees")
        .token(&hr.token)
        .json(&body)
        .send();
    let api = api.problem(422);
    let api_message = api["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "ssn")
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("the API's ssn error: {api}"))
        .to_owned();
    assert!(
        message.contains(&api_message),
        "beside SSN: {message:?}, the server's message: {api_message:?}"
    );
    assert!(
        !message.contains("000-12-3456"),
        "the message echoes the SSN: {message}"
    );
    assert!(b.path().starts_with("/ui/employees/new"), "{}", b.path());
    assert_eq!(b.field("SSN").prop("value"), "", "the SSN input is empty");
    for (label, value) in values.iter().take(9) {
        assert_eq!(
            b.field(label).prop("value"),
            value.as_str(),
            "{label} was kept"
        );
    }
    // Sensitive values are never sent back to the browser.
    let html = b.source();
    for label in [
        "SSN",
        "Date of birth",
        "Address line 1",
        "Routing number",
        "Account number",
    ] {
        let v = &values.iter().find(|(l, _)| *l == label).unwrap().1;
        assert!(
            !html.contains(v.as_str()),
            "{label}'s value {v} came back in the page"
        );
    }
    // Only SSN is marked.
    assert!(
        !b.field_message("First name").contains(&api_message),
        "First name is not marked"
    );
    let list = w.c().get("/v1/employees?limit=500").token(&hr.token).send();
    assert!(
        !list.text().contains(&number),
        "a refused new hire was created"
    );
}

/// Creates a record through the API as hr; returns it.
fn api_employee(w: &Shared) -> Value {
    create_employee(w.c(), &w.staff.hr.token, &draft())
}

/// Reveal: refused without a reason (the message beside Reason, no value shown); with a reason
/// the value is shown, then masked again after `console.reveal_seconds` (2 here); the audit log
/// has the `employee.reveal` entry with that reason.
#[test]
fn reveal_needs_a_reason_and_masks_again_after_the_timeout() {
    let Some(b) = browser() else { return };
    let w = Shared::start("reveal", Some("[console]\nreveal_seconds = 2\n"));
    let hr = &w.staff.hr;
    let rec = api_employee(&w);
    let id = rec["id"].as_str().unwrap();
    let ssn = reveal(w.c(), &hr.token, id, &["ssn"]).expect(200).json()["ssn"]
        .as_str()
        .unwrap()
        .to_owned();
    sign_in(&b, &w.server.base, &hr.username, &hr.password);
    b.goto(&format!("{}/ui/employees/{id}", w.server.base));
    b.wait_for_text(&format!("***-**-{}", &ssn[7..]));
    assert!(!b.page_text().contains(&ssn));

    // No reason: refused beside Reason by the server. If the form also checks in the browser
    // (required, minlength), that refusal is noted and then bypassed, so the server's own
    // refusal is what is tested.
    b.check("SSN", true);
    let reason_field = b.field("Reason");
    let native = reason_field.prop("validationMessage");
    if native.as_str().is_some_and(|m| !m.is_empty()) {
        b.execute(
            "arguments[0].form.noValidate = true;",
            &[reason_field.json()],
        );
    }
    let why = submit_for_message(&b, "Reveal", "Reason");
    assert!(
        !b.page_text().contains(&ssn),
        "revealed without a reason ({why})"
    );

    let reason = "I-9 re-verification ticket HR-2231";
    b.check("SSN", true);
    b.fill("Reason", reason);
    b.button("Reveal").click();
    b.wait_for_text(&ssn);
    // Masked again by the page after 2 s (polled, not slept).
    b.wait_for_text_gone(&ssn, WAIT);

    let entries = audit_entries(
        w.c(),
        &w.staff.auditor.token,
        &format!("action=employee.reveal&employee_id={id}"),
        0,
    );
    let by_console: Vec<&Value> = entries.iter().filter(|e| e["reason"] == reason).collect();
    assert_eq!(
        by_console.len(),
        1,
        "one reveal entry with the reason: {entries:?}"
    );
    let e = by_console[0];
    assert_eq!(e["actor"]["username"], hr.username.as_str(), "{e}");
    assert_eq!(e["outcome"], "success", "{e}");
    assert!(
        e["fields"].as_array().unwrap().iter().any(|f| f == "ssn"),
        "{e}"
    );
}

/// Edit is version-checked: a change made through the API after the form was opened makes the
/// form's save say the record changed, and the API keeps the other change.
#[test]
fn a_stale_edit_says_the_record_changed() {
    let Some(b) = browser() else { return };
    let w = w();
    let hr = &w.staff.hr;
    let rec = api_employee(w);
    let id = rec["id"].as_str().unwrap();
    sign_in(&b, &w.server.base, &hr.username, &hr.password);
    b.goto(&format!("{}/ui/employees/{id}", w.server.base));
    b.link("Edit").click();
    b.wait_for_path("the edit form", |p| p.ends_with("/edit"));
    assert_eq!(b.field("Job title").prop("value"), "Engineer", "prefilled");
    assert_eq!(
        b.field("SSN").prop("value"),
        "",
        "sensitive fields start empty"
    );
    b.fill("Job title", "Staff Engineer");

    w.c()
        .patch(&format!("/v1/employees/{id}"))
        .token(&hr.token)
        .json(&json!({"job_title": "Principal Engineer"}))
        .send()
        .expect(200);

    b.button("Save changes").click();
    b.wait_for_text("This record was changed by someone else since you opened it");
    let v = w
        .c()
        .get(&format!("/v1/employees/{id}"))
        .token(&hr.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(
        v["job_title"], "Principal Engineer",
        "the stale edit did not win"
    );
    assert_eq!(v["version"], 2, "{v}");

    // Opened afresh, the same edit goes through.
    b.goto(&format!("{}/ui/employees/{id}/edit", w.server.base));
    b.fill("Job title", "Staff Engineer");
    b.button("Save changes").click();
    b.wait_for_path("the record page", |p| {
        p.split('?').next() == Some(format!("/ui/employees/{id}").as_str())
    });
    b.wait_for_text("Staff Engineer");
    let v = w
        .c()
        .get(&format!("/v1/employees/{id}"))
        .token(&hr.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(v["job_title"], "Staff Engineer");
}

/// Import: a CSV with one good and one bad row → "Imported 1 employees" and a rejected-rows
/// table naming line 3 and its employee number; the good row is in the API.
#[test]
fn import_reports_the_rejected_row_by_line() {
    let Some(b) = browser() else { return };
    let w = w();
    let hr = &w.staff.hr;
    let good = unique_number();
    let bad = unique_number();
    let csv = format!(
        "employee_number,first_name,last_name,work_email,hire_date,ssn,date_of_birth,\
         home_address.line1,home_address.city,home_address.state,home_address.postal_code,\
         home_address.country,bank_account.routing_number,bank_account.account_number\n\
         {good},Mary,Jackson,mj@example.com,2026-03-01,{},1991-04-09,\
         3 Wind Tunnel Way,Hampton,VA,23666,US,{},000111222333\n\
         {bad},Annie,Easley,ae@example.com,2026-03-01,000-12-3456,1992-04-23,\
         4 Lewis Field,Cleveland,OH,44135,US,{},000444555666\n",
        unique_ssn(),
        aba("01100001"),
        aba("01100001"),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hris-export.csv");
    fs::write(&file, csv).unwrap();

    sign_in(&b, &w.server.base, &hr.username, &hr.password);
    b.link("Import").click();
    b.wait_for_path("the import page", |p| p.starts_with("/ui/import"));
    b.field("CSV file").send_keys(&file.display().to_string());
    b.button("Import").click();
    b.wait_for_text("Imported 1 employees");
    let row = b.find(
        "the rejected row",
        &format!(
            "//table//tr[td[normalize-space(.)='3'] and td[normalize-space(.)={}]]",
            xpath_lit(&bad)
        ),
    );
    let row_text = row.text();
    assert!(
        row_text.to_lowercase().contains("ssn"),
        "the problem names the field: {row_text}"
    );
    assert!(
        !row_text.contains("000-12-3456"),
        "the problem echoes the SSN: {row_text}"
    );
    let headers: Vec<String> = b
        .find_all("//table//th")
        .iter()
        .map(|h| h.text().trim().to_owned())
        .collect();
    for h in ["Line", "Employee number", "Problem"] {
        assert!(headers.iter().any(|x| x == h), "column {h}: {headers:?}");
    }
    assert!(
        b.try_find(&format!(
            "//table//td[normalize-space(.)={}]",
            xpath_lit(&good)
        ))
        .is_none(),
        "the good row is not rejected"
    );
    let list = w.c().get("/v1/employees?limit=500").token(&hr.token).send();
    let list = list.expect(200).json();
    let numbers: Vec<&str> = list["employees"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["employee_number"].as_str())
        .collect();
    assert!(
        numbers.contains(&good.as_str()),
        "the good row was imported"
    );
    assert!(!numbers.contains(&bad.as_str()), "the bad row was not");
}

/// Delete is confirmed by typing the employee number: a wrong number is refused and deletes
/// nothing; the right one deletes (API 404) and the list says "Employee deleted".
#[test]
fn delete_is_confirmed_by_typing_the_employee_number() {
    let Some(b) = browser() else { return };
    let w = w();
    let hr = &w.staff.hr;
    let rec = api_employee(w);
    let id = rec["id"].as_str().unwrap();
    let number = rec["employee_number"].as_str().unwrap();
    sign_in(&b, &w.server.base, &hr.username, &hr.password);
    b.goto(&format!("{}/ui/employees/{id}", w.server.base));
    b.link("Delete").click();
    b.wait_for_path("the delete confirmation", |p| p.ends_with("/delete"));
    b.fill("Type the employee number to confirm", "E000000");
    submit_for_message(&b, "Delete employee", "Type the employee number to confirm");
    let get = || {
        w.c()
            .get(&format!("/v1/employees/{id}"))
            .token(&hr.token)
            .send()
            .status
    };
    assert_eq!(get(), 200, "a wrong number deleted the record");
    b.fill("Type the employee number to confirm", number);
    b.button("Delete employee").click();
    b.wait_for_text("Employee deleted");
    assert!(b.path().starts_with("/ui/employees"), "{}", b.path());
    assert_eq!(get(), 404, "deleted");
}

/// The seqs of the audit entries linked from the page (`/ui/audit/{seq}`), in page order.
fn entry_seqs(b: &Browser) -> Vec<u64> {
    b.find_all("//a[contains(@href, '/ui/audit/')]")
        .iter()
        .filter_map(|a| {
            let href = a.attr("href")?;
            let tail = href.split("/ui/audit/").nth(1)?;
            tail.split(['?', '#']).next()?.parse().ok()
        })
        .collect()
}

/// Fills a text field or picks an option, whichever the field labelled `label` is.
fn set_field(b: &Browser, label: &str, value: &str) {
    if b.field(label).prop("tagName") == "SELECT" {
        b.choose(label, value);
    } else {
        b.fill(label, value);
    }
}

/// A download linked from the page, fetched with the browser's session cookie.
fn download(b: &Browser, base: &str, link: &str) -> Resp {
    let href = b.link(link).prop("href");
    let href = href.as_str().unwrap();
    let path = href
        .strip_prefix(base)
        .unwrap_or_else(|| panic!("{link} goes elsewhere: {href}"));
    let cookie = b.cookie("hrvault_session").expect("the session cookie");
    let r = Client::no_redirects(base)
        .get(path)
        .header("cookie", &format!("hrvault_session={cookie}"))
        .send();
    assert_eq!(r.status, 200, "{link} ({path}): {}", r.text());
    assert!(
        r.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment")),
        "{link} is a download: {:?}",
        r.header("content-disposition")
    );
    r
}

/// The audit log: newest first; filters narrow the timeline (Action, then Employee id); an
/// entry's page shows its fields; Verify now shows the chain verified; the checkpoint and the
/// JSONL/OCSF/CSV exports download with the session, JSONL re-verifies offline, the filtered
/// export holds only the filtered entries.
#[test]
fn the_audit_log_filters_verifies_and_exports() {
    let Some(b) = browser() else { return };
    let w = w();
    let base = &w.server.base;
    let rec = api_employee(w);
    let id = rec["id"].as_str().unwrap().to_owned();
    let auditor = &w.staff.auditor;
    let creates = audit_entries(w.c(), &auditor.token, "action=employee.create", 0);
    let create_seqs: Vec<u64> = creates.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let ours = creates
        .iter()
        .find(|e| e["employee_id"] == id.as_str())
        .expect("the create entry")
        .clone();

    sign_in(&b, base, &auditor.username, &auditor.password);
    b.wait_for_path("the audit log", |p| p.starts_with("/ui/audit"));
    let all = entry_seqs(&b);
    assert!(all.len() > 1, "the timeline lists entries: {all:?}");
    assert!(all.windows(2).all(|p| p[0] > p[1]), "newest first: {all:?}");
    assert!(
        all.iter().any(|s| !create_seqs.contains(s)),
        "the unfiltered timeline has other actions"
    );

    set_field(&b, "Action", "employee.create");
    b.button("Filter").click();
    b.wait_for_path("the filtered view", |p| {
        p.contains("action=employee.create")
    });
    let shown = entry_seqs(&b);
    assert!(!shown.is_empty(), "the filter shows the creates");
    // Other tests create records meanwhile: ask again now.
    let create_seqs: Vec<u64> = audit_entries(w.c(), &auditor.token, "action=employee.create", 0)
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(
        shown.iter().all(|s| create_seqs.contains(s)),
        "only employee.create entries: {shown:?} vs {create_seqs:?}"
    );
    let filtered_jsonl = download(&b, base, "Export JSONL").text();
    for line in filtered_jsonl.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            e["action"], "employee.create",
            "the export is of the filtered view: {e}"
        );
    }
    set_field(&b, "Employee id", &id);
    b.button("Filter").click();
    b.wait_for_path("the view filtered by employee", |p| p.contains(&id));
    assert_eq!(entry_seqs(&b), [ours["seq"].as_u64().unwrap()], "one entry");

    // The entry's page: every field.
    let seq = ours["seq"].as_u64().unwrap();
    b.find(
        "the entry link",
        &format!("//a[contains(@href, '/ui/audit/{seq}')]"),
    )
    .click();
    b.wait_for_path("the entry page", |p| p == format!("/ui/audit/{seq}"));
    let page = b.page_text();
    for k in ["action", "hash", "prev_hash", "request_id", "outcome", "ts"] {
        let v = ours[k].as_str().unwrap();
        assert!(page.contains(v), "the entry page shows {k} {v}:\n{page}");
    }
    assert!(page.contains(ours["actor"]["username"].as_str().unwrap()));
    assert!(page.contains(&id));

    // Verify now.
    b.goto(&format!("{base}/ui/audit"));
    b.button("Verify now").click();
    let entries = audit_entries(w.c(), &auditor.token, "", 0);
    let verified = poll(
        "the chain verified",
        WAIT,
        Duration::from_millis(50),
        || {
            let t = b.page_text();
            t.to_lowercase().contains("verified").then_some(t)
        },
    );
    assert!(
        !verified.to_lowercase().contains("first bad"),
        "an intact chain has no bad seq:\n{verified}"
    );
    let hashes: Vec<&str> = entries.iter().filter_map(|e| e["hash"].as_str()).collect();
    assert!(
        verified
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|word| word.len() == 64 && hashes.contains(&word)),
        "the chain status shows the head hash:\n{verified}"
    );

    // Downloads of the unfiltered view.
    let checkpoint = download(&b, base, "Download checkpoint").json();
    for k in ["seq", "hash", "ts", "signature", "public_key"] {
        assert!(!checkpoint[k].is_null(), "checkpoint {k}: {checkpoint}");
    }
    let jsonl = download(&b, base, "Export JSONL").text();
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("JSONL line {l}: {e}")))
        .collect();
    assert!(lines.len() > 1, "{jsonl}");
    assert_eq!(
        lines[0]["seq"], 1,
        "the export starts at the beginning of the chain"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    fs::write(&file, &jsonl).unwrap();
    let mut verify = hrvault();
    verify.args(["audit", "verify", "--file"]).arg(&file);
    let out = run(verify);
    assert!(
        out.status.success(),
        "hrvault audit verify --file rejects the console's JSONL export: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let ocsf = download(&b, base, "Export OCSF").text();
    // One event per entry; other tests may append entries between the two downloads.
    let head = audit_head_seq(w.c(), &auditor.token);
    let events = u64::try_from(ocsf.lines().count()).unwrap();
    assert!(
        (lines.len() as u64..=head).contains(&events),
        "one OCSF event per entry: {events} events, {} JSONL entries, head {head}",
        lines.len()
    );
    for l in ocsf.lines() {
        let e: Value = serde_json::from_str(l).unwrap();
        assert_eq!(e["class_uid"], 6003, "{e}");
    }
    let csv = download(&b, base, "Export CSV").text();
    let header = csv.lines().next().unwrap_or("");
    for col in ["seq", "ts", "action", "outcome", "hash"] {
        assert!(
            header.split(',').any(|c| c.trim_matches('"') == col),
            "CSV header {header}"
        );
    }
    assert!(
        csv.lines().count() > lines.len(),
        "a header row plus one row per entry"
    );
}

/// Alerts: a honeytoken read raises an alert; security acknowledges it with a note in the
/// Alerts page; the page shows it acknowledged and the API agrees.
#[test]
fn security_acknowledges_an_alert_with_a_note() {
    let Some(b) = browser() else { return };
    let w = w();
    let c = w.c();
    let decoy = c
        .post("/v1/honeytokens")
        .token(&w.staff.security.token)
        .json(&draft())
        .send();
    let decoy = decoy.expect(201).json();
    let reader = create_user(c, &w.staff.admin.token, "hr-honey-ui", "hr");
    c.get(&format!("/v1/employees/{}", decoy["id"].as_str().unwrap()))
        .token(&reader.token)
        .send()
        .expect(200);
    let alert = wait_for_alert(w, "honeytoken_access", &reader.username);
    let alert_id = alert["id"].as_str().unwrap().to_owned();

    let sec = &w.staff.security;
    sign_in(&b, &w.server.base, &sec.username, &sec.password);
    b.link("Alerts").click();
    b.wait_for_path("the alerts page", |p| p.starts_with("/ui/alerts"));
    let scope = format!("//form[contains(@action, '/ui/alerts/{alert_id}')]");
    let note = "checked with the reader's manager, SEC-881";
    b.find("the alert's Note", &Browser::field_xpath(&scope, "Note"))
        .set(note);
    b.find(
        "the alert's Acknowledge button",
        &format!("{scope}//button[normalize-space(.)='Acknowledge']"),
    )
    .click();
    poll(
        "the alert acknowledged in the API",
        WAIT,
        Duration::from_millis(50),
        || {
            let r = c
                .get("/v1/alerts?status=acknowledged")
                .token(&sec.token)
                .send();
            r.expect(200).json()["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == alert_id.as_str())
                .then_some(())
        },
    );
    b.wait_for_path("back on the alerts page", |p| p.starts_with("/ui/alerts"));
    let block = b.find(
        "the alert on the page",
        &format!(
            "//*[@href[contains(., '/ui/audit/{}')] or @action[contains(., '/ui/alerts/{alert_id}')]]\
             /ancestor::*[contains(., 'honeytoken_access')][1]",
            alert["evidence_seqs"][0]
        ),
    );
    let t = block.text().to_lowercase();
    assert!(
        t.contains("acknowledged"),
        "the page shows the alert acknowledged: {t}"
    );
    let updates = audit_entries(c, &w.staff.auditor.token, "action=alert.update", 0);
    assert!(
        updates
            .iter()
            .any(|e| e["actor"]["username"] == sec.username.as_str() && e["outcome"] == "success"),
        "the acknowledgement is audited: {updates:?}"
    );
}

/// Strings on the page a person could copy as a secret: long, no spaces, not an id.
fn secret_candidates(b: &Browser) -> Vec<String> {
    let mut out: Vec<String> = b
        .find_all("//code | //samp | //kbd | //pre | //output | //dd | //td | //strong | //p")
        .iter()
        .map(El::text)
        .chain(
            b.find_all("//input[@readonly]")
                .iter()
                .map(|i| i.prop("value").as_str().unwrap_or("").to_owned()),
        )
        .flat_map(|t| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|t| t.len() >= 20 && !(t.len() == 36 && t.matches('-').count() == 4))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Users: admin creates a human user (who can then sign in) and a service account, whose
/// secret is shown once, works at `POST /v1/oauth/token`, and is not on the page after reload.
#[test]
fn admin_creates_users_and_a_service_secret_is_shown_once() {
    let Some(b) = browser() else { return };
    let w = w();
    let base = &w.server.base;
    let admin = &w.staff.admin;
    sign_in(&b, base, &admin.username, &admin.password);
    b.wait_for_path("the users page", |p| p.starts_with("/ui/users"));

    let human = "ui-made-human";
    let password = "pw-ui-made-human-42x";
    b.fill("Username", human);
    b.choose("Role", "hr");
    b.choose("Account type", "Human");
    b.fill("Password", password);
    b.button("Create user").click();
    b.wait_for_text(human);
    let users = w
        .c()
        .get("/v1/users")
        .token(&admin.token)
        .send()
        .expect(200)
        .json();
    let u = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == human)
        .unwrap_or_else(|| panic!("{human} in the API: {users}"))
        .clone();
    assert_eq!(u["role"], "hr", "{u}");
    assert_eq!(u["kind"], "human", "{u}");
    w.c().login(human, password);

    let svc = "ui-made-payroll-svc";
    b.goto(&format!("{base}/ui/users"));
    b.fill("Username", svc);
    b.choose("Role", "payroll");
    b.choose("Account type", "Service");
    b.button("Create user").click();
    b.wait_for_text(svc);
    let token_with = |secret: &str| {
        w.c()
            .post("/v1/oauth/token")
            .raw(
                "application/x-www-form-urlencoded",
                serde_urlencoded::to_string([
                    ("grant_type", "client_credentials"),
                    ("client_id", svc),
                    ("client_secret", secret),
                ])
                .unwrap(),
            )
            .send()
    };
    let candidates = secret_candidates(&b);
    let secret = candidates
        .iter()
        .find(|s| token_with(s).status == 200)
        .unwrap_or_else(|| {
            panic!(
                "no secret on the page works for {svc} (candidates {candidates:?}):\n{}",
                b.page_text()
            )
        })
        .clone();
    let v = token_with(&secret).json();
    assert_eq!(v["token_type"], "Bearer", "{v}");
    assert!(v["access_token"].is_string());
    let users = w
        .c()
        .get("/v1/users")
        .token(&admin.token)
        .send()
        .expect(200)
        .json();
    let s = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == svc)
        .unwrap()
        .clone();
    assert_eq!(s["kind"], "service", "{s}");
    assert_eq!(s["role"], "payroll", "{s}");

    b.goto(&format!("{base}/ui/users"));
    b.wait_for_text(svc);
    assert!(
        !b.source().contains(&secret),
        "the secret is shown again after reload"
    );
    b.execute("location.reload();", &[]);
    b.wait_for_text(svc);
    assert!(
        !b.source().contains(&secret),
        "the secret is shown again after reload"
    );
}

/// Sign out ends the session on the server: the old cookie, replayed, is sent to the sign-in
/// page instead of being served; the audit log has the `auth.logout`.
#[test]
fn sign_out_kills_the_session() {
    let Some(b) = browser() else { return };
    let w = w();
    let base = &w.server.base;
    let u = create_user(w.c(), &w.staff.admin.token, "hr-signout-ui", "hr");
    sign_in(&b, base, &u.username, &u.password);
    let cookie = b.cookie("hrvault_session").expect("a session cookie");
    let replay = || {
        Client::no_redirects(base)
            .get("/ui/employees")
            .header("cookie", &format!("hrvault_session={cookie}"))
            .send()
    };
    assert_eq!(
        replay().status,
        200,
        "the cookie is a session while signed in"
    );
    sign_out(&b);
    let r = replay();
    assert!(
        (300..400).contains(&r.status),
        "the old cookie after sign-out: {} {}",
        r.status,
        r.text()
    );
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/ui/login")),
        "to the sign-in page: {:?}",
        r.header("location")
    );
    assert!(
        !r.text().contains("Grace"),
        "no employee data for a dead session"
    );
    let out = audit_entries(
        w.c(),
        &w.staff.auditor.token,
        &format!("action=auth.logout&actor={}", u.username),
        0,
    );
    assert_eq!(out.len(), 1, "{out:?}");
}

/// axe-core (WCAG 2.0/2.1 A and AA) finds no violation on any page: sign-in, employees,
/// new hire (also with a refused field), record, reveal result, edit, delete confirmation,
/// import (also its result), audit log, audit entry, alerts, HR flags, users. Script injected
/// through WebDriver runs despite the page's CSP (checked on the sign-in page first).
#[test]
fn axe_finds_no_wcag_aa_violation_on_any_page() {
    let Some(b) = browser() else { return };
    let w = w();
    let base = &w.server.base;
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    let mut check = |b: &Browser, page: &str| {
        found.push((format!("{page} ({})", b.path()), b.axe_violations()));
    };

    b.goto(&format!("{base}/ui/login"));
    b.wait_for_text("Sign in");
    check(&b, "sign-in");
    // WebDriver's scripts ran (axe loaded) while the page's own CSP holds: an inline script
    // the page itself would carry does not run.
    let ran = b.execute(
        "const s = document.createElement('script');
         s.textContent = 'window.__inlineRan = true;';
         document.head.appendChild(s);
         return window.__inlineRan === true;",
        &[],
    );
    assert_eq!(ran, false, "the CSP blocks inline script in the page");
    // A failed sign-in shows its message.
    b.fill("Username", "nobody-here");
    b.fill("Password", "wrong-password-00");
    b.button("Sign in").click();
    b.wait_for_text("Invalid username or password");
    check(&b, "sign-in, refused");

    let hr = &w.staff.hr;
    let rec = api_employee(w);
    let id = rec["id"].as_str().unwrap();
    sign_in(&b, base, &hr.username, &hr.password);
    check(&b, "employees");
    b.goto(&format!("{base}/ui/employees/new"));
    check(&b, "new hire");
    b.fill("Employee number", &unique_number());
    b.fill("SSN", "000-12-3456");
    submit_for_message(&b, "Create employee", "SSN");
    check(&b, "new hire, refused");
    b.goto(&format!("{base}/ui/employees/{id}"));
    check(&b, "record");
    b.check("SSN", true);
    b.fill("Reason", "accessibility review ticket A11Y-1");
    b.button("Reveal").click();
    b.wait_for_path("the reveal result", |p| p.ends_with("/reveal"));
    check(&b, "reveal result");
    b.goto(&format!("{base}/ui/employees/{id}/edit"));
    check(&b, "edit");
    b.goto(&format!("{base}/ui/employees/{id}/delete"));
    check(&b, "delete confirmation");
    b.goto(&format!("{base}/ui/import"));
    check(&b, "import");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one-bad-row.csv");
    fs::write(
        &file,
        format!(
            "employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n\
             {},Ann,Bad,2026-01-01,000-12-3456,1990-01-01\n",
            unique_number()
        ),
    )
    .unwrap();
    b.field("CSV file").send_keys(&file.display().to_string());
    b.button("Import").click();
    b.wait_for_text("Imported 0 employees");
    check(&b, "import result");
    sign_out(&b);

    let auditor = &w.staff.auditor;
    sign_in(&b, base, &auditor.username, &auditor.password);
    b.goto(&format!("{base}/ui/audit"));
    check(&b, "audit log");
    let seq = audit_head_seq(w.c(), &auditor.token);
    b.goto(&format!("{base}/ui/audit/{seq}"));
    check(&b, "audit entry");
    sign_out(&b);

    let sec = &w.staff.security;
    sign_in(&b, base, &sec.username, &sec.password);
    b.goto(&format!("{base}/ui/alerts"));
    check(&b, "alerts");
    b.goto(&format!("{base}/ui/flags"));
    check(&b, "HR flags");
    sign_out(&b);

    let admin = &w.staff.admin;
    sign_in(&b, base, &admin.username, &admin.password);
    b.goto(&format!("{base}/ui/users"));
    check(&b, "users");

    let bad: Vec<String> = found
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(page, v)| format!("{page}:\n  {}", v.join("\n  ")))
        .collect();
    assert!(
        bad.is_empty(),
        "axe-core WCAG 2.1 AA violations:\n{}",
        bad.join("\n")
    );
    assert_eq!(found.len(), 16, "every page was checked");
}

/// The rows of the employees table: (employee number, record path).
fn list_rows(b: &Browser) -> Vec<(String, String)> {
    b.find_all("//table//tbody//tr//a[contains(@href, '/ui/employees/')]")
        .iter()
        .map(|a| {
            (
                a.text().trim().to_owned(),
                a.attr("href").unwrap_or_default(),
            )
        })
        .collect()
}

/// The Employees list: search by name and by employee number, filter by department and
/// status, 50 rows a page with a Next page link, each row opening its record.
#[test]
fn the_employees_list_searches_filters_and_pages() {
    let Some(b) = browser() else { return };
    let w = w();
    let hr = &w.staff.hr;
    let dept = "Paging Team";
    let mut ids = Vec::new();
    for _ in 0..51 {
        let mut d = draft();
        d["department"] = json!(dept);
        ids.push(
            create_employee(w.c(), &hr.token, &d)["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut odd = draft();
    odd["last_name"] = json!("Zzyzxwood");
    let odd = create_employee(w.c(), &hr.token, &odd);
    let odd_number = odd["employee_number"].as_str().unwrap().to_owned();
    w.c()
        .patch(&format!("/v1/employees/{}", ids[0]))
        .token(&hr.token)
        .json(&json!({"status": "active"}))
        .send()
        .expect(200);

    sign_in(&b, &w.server.base, &hr.username, &hr.password);
    b.wait_for_path("the employees list", |p| p.starts_with("/ui/employees"));
    b.fill("Search", "Zzyzxwood");
    b.button("Apply").click();
    b.wait_for_path("the search", |p| p.contains("q=Zzyzxwood"));
    assert_eq!(
        list_rows(&b)
            .iter()
            .map(|r| r.0.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&odd_number),
        "search by name"
    );
    b.fill("Search", &odd_number);
    b.button("Apply").click();
    b.wait_for_path("the search", |p| p.contains(&format!("q={odd_number}")));
    let rows = list_rows(&b);
    assert_eq!(rows.len(), 1, "search by employee number: {rows:?}");
    b.link(&odd_number).click();
    b.wait_for_path("the record page", |p| {
        p.starts_with(&format!("/ui/employees/{}", odd["id"].as_str().unwrap()))
    });

    b.goto(&format!("{}/ui/employees", w.server.base));
    b.fill("Department", dept);
    b.button("Apply").click();
    b.wait_for_path("the department filter", |p| p.contains("department="));
    let first = list_rows(&b);
    assert_eq!(first.len(), 50, "50 rows a page");
    b.link("Next page").click();
    b.wait_for_path("the next page", |p| p.contains("cursor="));
    let second = list_rows(&b);
    assert_eq!(
        second.len(),
        1,
        "the 51st record on the next page: {second:?}"
    );
    let mut seen: Vec<String> = first.iter().chain(&second).map(|r| r.1.clone()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 51, "every record once across the pages");
    for id in &ids {
        assert!(seen.iter().any(|p| p.ends_with(id.as_str())), "{id} listed");
    }

    b.goto(&format!("{}/ui/employees", w.server.base));
    b.fill("Department", dept);
    b.choose("Status", "Active");
    b.button("Apply").click();
    b.wait_for_path("the status filter", |p| p.contains("status=active"));
    let rows = list_rows(&b);
    assert_eq!(rows.len(), 1, "department and status: {rows:?}");
    assert!(rows[0].1.ends_with(ids[0].as_str()));
}

/// HR flags: security creates a flag in the form (Employee id, Kind, Effective date, Note), the
/// API has it active; Clear in its row clears it.
#[test]
fn security_creates_and_clears_an_hr_flag() {
    let Some(b) = browser() else { return };
    let w = w();
    let rec = api_employee(w);
    let id = rec["id"].as_str().unwrap();
    let sec = &w.staff.security;
    sign_in(&b, &w.server.base, &sec.username, &sec.password);
    b.link("HR flags").click();
    b.wait_for_path("the HR flags page", |p| p.starts_with("/ui/flags"));
    b.fill("Employee id", id);
    b.choose("Kind", "layoff");
    b.fill("Effective date", "2026-01-01");
    b.fill("Note", "restructuring wave 2");
    b.button("Create flag").click();
    let flags = || {
        w.c()
            .get("/v1/hr-flags")
            .token(&sec.token)
            .send()
            .expect(200)
            .json()["flags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["employee_id"] == id)
            .cloned()
            .collect::<Vec<Value>>()
    };
    let created = poll(
        "the flag in the API",
        WAIT,
        Duration::from_millis(50),
        || flags().into_iter().find(|f| f["active"] == true),
    );
    assert_eq!(created["kind"], "layoff", "{created}");
    assert_eq!(created["effective_date"], "2026-01-01", "{created}");
    let flag_id = created["id"].as_str().unwrap();
    let row = format!("//tr[td[normalize-space(.)={}]]", xpath_lit(id));
    b.find("the flag's row", &row);
    b.find(
        "the flag's Clear button",
        &format!("//form[contains(@action, '/ui/flags/{flag_id}/clear')]//button[normalize-space(.)='Clear']"),
    )
    .click();
    poll(
        "the flag cleared in the API",
        WAIT,
        Duration::from_millis(50),
        || {
            flags()
                .iter()
                .find(|f| f["id"] == flag_id)
                .is_none_or(|f| f["active"] == false)
                .then_some(())
        },
    );
}

/// Users, row by row: Disable, Enable, Change role and Delete user each do what the API says.
#[test]
fn admin_disables_enables_reroles_and_deletes_a_user() {
    let Some(b) = browser() else { return };
    let w = w();
    let admin = &w.staff.admin;
    let u = create_user(w.c(), &admin.token, "ui-row-ops", "hr");
    let api_user = || {
        w.c()
            .get("/v1/users")
            .token(&admin.token)
            .send()
            .expect(200)
            .json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == u.id.as_str())
            .cloned()
    };
    sign_in(&b, &w.server.base, &admin.username, &admin.password);
    b.wait_for_path("the users page", |p| p.starts_with("/ui/users"));
    let scope = format!("//form[contains(@action, '/ui/users/{}')]", u.id);
    let press = |text: &str| {
        b.find(
            &format!("{text} in {}'s row", u.username),
            &format!("{scope}//button[normalize-space(.)={}]", xpath_lit(text)),
        )
        .click();
    };
    let wait_api = |what: &str, ok: &dyn Fn(&Value) -> bool| {
        poll(what, WAIT, Duration::from_millis(50), || {
            api_user().filter(|x| ok(x)).map(drop)
        });
    };
    press("Disable");
    wait_api("disabled", &|x| x["enabled"] == false);
    assert_eq!(
        w.c().login_raw(&u.username, &u.password).status,
        401,
        "a disabled user cannot sign in"
    );
    press("Enable");
    wait_api("enabled", &|x| x["enabled"] == true);
    let select = b.find(
        "the row's Role select",
        &format!("({})[self::select]", Browser::field_xpath(&scope, "Role")),
    );
    select
        .find("the auditor option", ".//option[@value='auditor']")
        .click();
    press("Change role");
    wait_api("role auditor", &|x| x["role"] == "auditor");
    press("Delete user");
    poll("the user deleted", WAIT, Duration::from_millis(50), || {
        api_user().is_none().then_some(())
    });
}

/// A honeytoken planted from the Alerts page is a decoy: hr lists it like any record, payroll
/// does not, and reading it raises a critical honeytoken alert.
#[test]
fn security_plants_a_honeytoken_from_the_alerts_page() {
    let Some(b) = browser() else { return };
    let w = w();
    let sec = &w.staff.security;
    sign_in(&b, &w.server.base, &sec.username, &sec.password);
    b.link("Alerts").click();
    b.wait_for_path("the alerts page", |p| p.starts_with("/ui/alerts"));
    let number = unique_number();
    let scope = "//form[contains(@action, '/ui/alerts/honeytoken')]";
    for (label, value) in [
        ("Employee number", number.clone()),
        ("First name", "Decoy".into()),
        ("Last name", "Record".into()),
        ("Hire date", "2026-01-05".into()),
        ("SSN", unique_ssn()),
        ("Date of birth", "1985-05-05".into()),
    ] {
        b.find(label, &Browser::field_xpath(scope, label))
            .set(&value);
    }
    b.button("Create honeytoken").click();
    b.wait_for_text(&format!("Honeytoken created: employee number {number}"));

    let listed = |token: &str| {
        let v = w
            .c()
            .get("/v1/employees?limit=500")
            .token(token)
            .send()
            .expect(200)
            .json();
        v["employees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["employee_number"] == number.as_str())
            .cloned()
    };
    let decoy = listed(&w.staff.hr.token).expect("hr lists the decoy like any record");
    assert!(
        listed(&w.staff.payroll.token).is_none(),
        "payroll never lists a decoy"
    );
    let reader = create_user(w.c(), &w.staff.admin.token, "hr-decoy-reader", "hr");
    w.c()
        .get(&format!("/v1/employees/{}", decoy["id"].as_str().unwrap()))
        .token(&reader.token)
        .send()
        .expect(200);
    let alert = wait_for_alert(w, "honeytoken_access", &reader.username);
    assert_eq!(alert["severity"], "critical", "{alert}");
    assert_eq!(alert["employee_id"], decoy["id"], "{alert}");
}

/// How the focused element is marked: its outline or box shadow, `None` if it is not.
fn focus_mark(b: &Browser) -> Option<String> {
    let v = b.execute(
        "const s = getComputedStyle(document.activeElement);
         return [s.outlineStyle, s.outlineWidth, s.boxShadow];",
        &[],
    );
    let (style, width, shadow) = (
        v[0].as_str().unwrap_or(""),
        v[1].as_str().unwrap_or(""),
        v[2].as_str().unwrap_or(""),
    );
    if style != "none" && width != "0px" {
        Some(format!("outline {style} {width}"))
    } else if shadow != "none" {
        Some(format!("box-shadow {shadow}"))
    } else {
        None
    }
}

/// Usable without a mouse: from a fresh sign-in page, Tab reaches Username (visibly focused),
/// typing, Tab, typing and Enter sign in; Tab and Enter follow a navigation link; on a record,
/// Space ticks a Reveal checkbox, and Tab to Reveal and Enter reveal.
#[test]
fn the_console_works_from_the_keyboard() {
    let Some(b) = browser() else { return };
    let w = w();
    let hr = &w.staff.hr;
    let base = &w.server.base;
    b.goto(&format!("{base}/ui/login"));
    let user = b.field("Username");
    b.tab_to(&user, 6);
    assert!(
        focus_mark(&b).is_some(),
        "the focused Username field is not marked"
    );
    b.keys(&hr.username);
    b.keys(&Browser::TAB.to_string());
    assert!(
        b.same(&b.focused(), &b.field("Password")),
        "Tab goes to Password"
    );
    assert!(
        focus_mark(&b).is_some(),
        "the focused Password field is not marked"
    );
    b.keys(&format!("{}{}", hr.password, Browser::ENTER));
    b.wait_for_path("past sign-in", |p| !p.starts_with("/ui/login"));

    let new_hire = b.link("New hire");
    b.tab_to(&new_hire, 12);
    assert!(
        focus_mark(&b).is_some(),
        "the focused New hire link is not marked"
    );
    b.keys(&Browser::ENTER.to_string());
    b.wait_for_path("the New hire form", |p| p.starts_with("/ui/employees/new"));

    let rec = api_employee(w);
    let id = rec["id"].as_str().unwrap();
    b.goto(&format!("{base}/ui/employees/{id}"));
    let ssn_box = b.field("SSN");
    b.tab_to(&ssn_box, 40);
    assert!(
        focus_mark(&b).is_some(),
        "the focused SSN checkbox is not marked"
    );
    b.keys(&Browser::SPACE.to_string());
    assert!(ssn_box.selected(), "Space ticks the checkbox");
    let reason = b.field("Reason");
    b.tab_to(&reason, 10);
    b.keys("keyboard-only review KB-1");
    let button = b.button("Reveal");
    b.tab_to(&button, 5);
    assert!(
        focus_mark(&b).is_some(),
        "the focused Reveal button is not marked"
    );
    b.keys(&Browser::ENTER.to_string());
    b.wait_for_path("the reveal result", |p| p.ends_with("/reveal"));
    let full = reveal(w.c(), &hr.token, id, &["ssn"]).expect(200).json()["ssn"]
        .as_str()
        .unwrap()
        .to_owned();
    b.wait_for_text(&full);
}
