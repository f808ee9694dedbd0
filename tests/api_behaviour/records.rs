//! Records: ETag/If-Match, crypto-shredding, reveal, lookup, list, idempotency.

use serde_json::json;

use super::common::*;
use super::{id_of, world};

fn etag_version(r: &Resp) -> u64 {
    let tag = r
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag: {:?}", r.headers));
    tag.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .unwrap_or_else(|_| panic!("ETag {tag}"))
}

/// `ETag` is the record's version on create, GET and PATCH; a PATCH with a stale `If-Match` is a
/// 412 that changes nothing; with the current one it is a 200 with version + 1.
#[test]
fn etag_and_if_match() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let created = c.post("/v1/employees").token(hr).json(&draft()).send();
    created.expect(201);
    assert_eq!(etag_version(&created), 1);
    let id = id_of(&created.json());
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/employees/{id}").as_str())
    );
    let path = format!("/v1/employees/{id}");
    let r = c.get(&path).token(hr).send();
    assert_eq!(
        (etag_version(&r), r.json()["version"].as_u64()),
        (1, Some(1))
    );

    let stale = c
        .patch(&path)
        .token(hr)
        .header("if-match", "\"0\"")
        .json(&json!({"job_title": "Stale"}))
        .send();
    stale.problem(412);
    let r = c.get(&path).token(hr).send();
    assert_eq!(r.json()["version"], 1);
    assert_ne!(r.json()["job_title"], "Stale");

    let ok = c
        .patch(&path)
        .token(hr)
        .header("if-match", "\"1\"")
        .json(&json!({"job_title": "Fresh"}))
        .send();
    ok.expect(200);
    assert_eq!(
        (etag_version(&ok), ok.json()["version"].as_u64()),
        (2, Some(2))
    );
    assert_eq!(ok.json()["job_title"], "Fresh");
    c.patch(&path)
        .token(hr)
        .header("if-match", "\"1\"")
        .json(&json!({"job_title": "Late"}))
        .send()
        .problem(412);
    let r = c.get(&path).token(hr).send();
    assert_eq!(
        (etag_version(&r), r.json()["job_title"].as_str()),
        (2, Some("Fresh"))
    );
    // Without If-Match a PATCH applies to whatever is current.
    let r = c
        .patch(&path)
        .token(hr)
        .json(&json!({"job_title": "Blind"}))
        .send();
    assert_eq!(r.expect(200).json()["version"], 3);
}

/// DELETE crypto-shreds: 204, then 404 on every record route (read, PATCH, reveal, lookup, a
/// second DELETE), the record leaves the list, the SSN and employee number can be used again by a
/// new record, and the audit trail of the deleted record stays.
#[test]
fn delete_shreds_and_frees_the_indexes() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let body = draft();
    let id = id_of(&create_employee(c, hr, &body));
    let path = format!("/v1/employees/{id}");
    reveal(c, hr, &id, &["ssn"]).expect(200);
    let r = c.delete(&path).token(hr).send();
    r.expect(204);
    assert!(r.body.is_empty());
    c.get(&path).token(hr).send().problem(404);
    c.patch(&path)
        .token(hr)
        .json(&json!({"job_title": "x"}))
        .send()
        .problem(404);
    reveal(c, hr, &id, &["ssn"]).problem(404);
    c.post("/v1/employees/lookup")
        .token(hr)
        .json(&json!({"ssn": body["ssn"]}))
        .send()
        .problem(404);
    c.delete(&path).token(hr).send().problem(404);
    let list = c
        .get("/v1/employees?limit=500")
        .token(hr)
        .send()
        .expect(200)
        .json();
    assert!(!list.to_string().contains(&id));

    let again = create_employee(c, hr, &body);
    assert_ne!(id_of(&again), id, "a new record, not a resurrection");
    c.get(&path).token(hr).send().problem(404);

    let trail = audit_entries(c, &w.staff.auditor.token, &format!("employee_id={id}"), 0);
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["employee.create", "employee.reveal", "employee.delete"] {
        assert!(
            actions.contains(&a),
            "{a} missing from the trail of {id}: {actions:?}"
        );
    }
}

/// Reveal needs `fields` naming only sensitive fields and a reason of at least 10 characters
/// (422 otherwise, naming `fields` or `reason`); a valid reveal returns exactly the fields asked
/// for and is audited with the field names and the reason.
#[test]
fn reveal_requires_a_reason_and_known_fields() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let body = draft();
    let id = id_of(&create_employee(c, hr, &body));
    let path = format!("/v1/employees/{id}/reveal");
    let cases = [
        (json!({"fields": ["ssn"]}), "reason"),
        (json!({"fields": ["ssn"], "reason": ""}), "reason"),
        (json!({"fields": ["ssn"], "reason": "too short"}), "reason"),
        (
            json!({"fields": ["ssn"], "reason": "          x"}),
            "reason",
        ),
        (
            json!({"fields": ["salary"], "reason": "a good reason here"}),
            "fields",
        ),
        (
            json!({"fields": ["first_name"], "reason": "a good reason here"}),
            "fields",
        ),
        (
            json!({"fields": [], "reason": "a good reason here"}),
            "fields",
        ),
        (json!({"reason": "a good reason here"}), "fields"),
    ];
    for (req, field) in cases {
        let r = c.post(&path).token(hr).json(&req).send();
        assert_eq!(r.status, 422, "{req}: {}", r.text());
        assert!(
            r.error_fields().contains(&field.to_owned()),
            "{req}: {}",
            r.text()
        );
        assert!(!r.text().contains(body["ssn"].as_str().unwrap()));
    }
    let r = c
        .post(&path)
        .token(hr)
        .json(&json!({"fields": ["ssn", "bank_account"], "reason": "ten chars!"}))
        .send();
    let v = r.expect(200).json();
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    assert_eq!(v["ssn"], body["ssn"]);
    assert_eq!(v["bank_account"], body["bank_account"]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let e = audit_entries(
        c,
        &w.staff.auditor.token,
        &format!("employee_id={id}&action=employee.reveal"),
        0,
    );
    let e = e
        .iter()
        .find(|e| e["client_request_id"] == r.request_id.as_str())
        .expect("reveal audited");
    assert_eq!(e["fields"], json!(["ssn", "bank_account"]));
    assert_eq!(e["reason"], "ten chars!");
    assert_eq!(e["outcome"], "success");
}

/// Lookup by SSN finds the record from either form (masked), an unknown SSN is 404, an invalid
/// or missing one 422.
#[test]
fn lookup_by_either_form() {
    let w = world();
    let c = w.c();
    let body = draft();
    let id = id_of(&create_employee(c, &w.staff.hr.token, &body));
    let ssn = body["ssn"].as_str().unwrap();
    for token in [&w.staff.hr.token, &w.staff.payroll.token] {
        for form in [ssn.to_owned(), ssn.replace('-', "")] {
            let r = c
                .post("/v1/employees/lookup")
                .token(token)
                .json(&json!({"ssn": form}))
                .send();
            let v = r.expect(200).json();
            assert_eq!(v["id"], id.as_str());
            assert_eq!(v["ssn"], format!("***-**-{}", &ssn[7..]));
            assert!(!r.text().contains(ssn));
        }
    }
    let hr = &w.staff.hr.token;
    c.post("/v1/employees/lookup")
        .token(hr)
        .json(&json!({"ssn": "899-99-9999"}))
        .send()
        .problem(404);
    for bad in [
        json!({"ssn": "666-12-3456"}),
        json!({"ssn": "12"}),
        json!({}),
    ] {
        let r = c.post("/v1/employees/lookup").token(hr).json(&bad).send();
        assert_eq!(r.error_fields(), ["ssn"], "{bad}");
    }
}

/// The list pages with `limit` and `cursor` (no record twice, none missed) and filters by
/// `department` and `status`; `limit` outside 1..=500 and foreign cursors are refused, and an
/// over-large `limit` is capped at 500.
#[test]
fn list_pages_and_filters() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let dept = format!("Dept-{}", unique_number());
    let mut ids = Vec::new();
    for status in ["active", "active", "on_leave", "active", "onboarding"] {
        let mut d = draft();
        d["department"] = json!(dept);
        d["status"] = json!(status);
        ids.push(id_of(&create_employee(c, hr, &d)));
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let r = c
            .get(&format!("/v1/employees?department={dept}&limit=2{cursor}"))
            .token(hr)
            .send();
        let v = r.expect(200).json();
        let page = v["employees"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(id_of));
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => break,
        }
        assert!(pages < 10);
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    assert_eq!(pages, 3);
    let active = c
        .get(&format!("/v1/employees?department={dept}&status=active"))
        .token(hr)
        .send()
        .expect(200)
        .json();
    assert_eq!(active["employees"].as_array().unwrap().len(), 3);
    assert!(active["next_cursor"].is_null());
    for bad in ["limit=0", "limit=-1", "limit=abc", "status=retired"] {
        c.get(&format!("/v1/employees?{bad}"))
            .token(hr)
            .send()
            .problem(422);
    }
    c.get("/v1/employees?cursor=bm90LWFuLWlk")
        .token(hr)
        .send()
        .problem(400);
    c.get("/v1/employees?colour=red")
        .token(hr)
        .send()
        .problem(400);
    let big = c
        .get("/v1/employees?limit=100000")
        .token(hr)
        .send()
        .expect(200)
        .json();
    assert!(big["employees"].as_array().unwrap().len() <= 500);
}

/// `Idempotency-Key` on `POST /v1/employees` is honoured (CONTRACT §2 Employees and the 409 row):
/// the same key and body again returns the first record instead of creating or refusing one;
/// the same key with another body is a 409.
#[test]
fn idempotency_key_is_honoured() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let key = format!("idem-{}", unique_number());
    let body = draft();
    let first = c
        .post("/v1/employees")
        .token(hr)
        .header("idempotency-key", &key)
        .json(&body)
        .send();
    let first_id = id_of(&first.expect(201).json());
    let replay = c
        .post("/v1/employees")
        .token(hr)
        .header("idempotency-key", &key)
        .json(&body)
        .send();
    assert!(
        replay.status == 201 || replay.status == 200,
        "replay: {} {}",
        replay.status,
        replay.text()
    );
    assert_eq!(
        id_of(&replay.json()),
        first_id,
        "the replay returns the original record"
    );
    let other = c
        .post("/v1/employees")
        .token(hr)
        .header("idempotency-key", &key)
        .json(&draft())
        .send();
    other.problem(409);
}

/// PATCH is partial: absent fields stay, `null` clears an optional field, and the merged record is
/// validated by the create rules (a required field set to `null`, an invalid SSN, or a
/// `hire_date` that makes the stored birth date impossible are 422 and change nothing);
/// `created_at` stays and `updated_at` moves forward.
#[test]
fn patch_is_partial_and_revalidated() {
    let w = world();
    let c = w.c();
    let hr = &w.staff.hr.token;
    let created = create_employee(c, hr, &draft());
    let path = format!("/v1/employees/{}", id_of(&created));
    let patch = |body: serde_json::Value| c.patch(&path).token(hr).json(&body).send();

    let v = patch(json!({"preferred_name": "Gigi"})).expect(200).json();
    assert_eq!(v["preferred_name"], "Gigi");
    for k in [
        "first_name",
        "last_name",
        "employee_number",
        "ssn",
        "home_address",
        "hire_date",
    ] {
        assert_eq!(v[k], created[k], "{k} is untouched");
    }
    assert_eq!(v["created_at"], created["created_at"]);
    let ts =
        |v: &serde_json::Value, k: &str| v[k].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert!(ts(&v, "updated_at") >= ts(&created, "updated_at"));
    let v = patch(json!({"preferred_name": null})).expect(200).json();
    assert!(v["preferred_name"].is_null());
    let version = v["version"].clone();

    for (body, field) in [
        (json!({"first_name": null}), "first_name"),
        (json!({"ssn": null}), "ssn"),
        (json!({"ssn": "666-11-2222"}), "ssn"),
        (json!({"date_of_birth": "2020-01-01"}), "date_of_birth"),
        // Compared with the stored birth date: the error is on the field supplied (rev 2).
        (json!({"hire_date": "1950-01-01"}), "hire_date"),
        (
            json!({"bank_account": {"routing_number": "123456789", "account_number": "1234"}}),
            "bank_account.routing_number",
        ),
    ] {
        let r = patch(body.clone());
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        assert!(
            r.error_fields().contains(&field.to_owned()),
            "{body}: {}",
            r.text()
        );
        assert!(!r.text().contains("666-11-2222"));
    }
    let now = c.get(&path).token(hr).send().expect(200).json();
    assert_eq!(now["version"], version, "refused PATCHes change nothing");
    assert_eq!(now["first_name"], created["first_name"]);
}
