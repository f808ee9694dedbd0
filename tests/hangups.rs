//! Clients that hang up right after sending a write: the audit log's `success` is the truth.
//! Before rev 2, 120 creates whose clients hung up left 68 `employee.create` `success` entries,
//! 65 of them naming a record that did not exist (the handler was dropped with the connection
//! after its entry was written). Now a write runs to its end once started.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// Sends one request on a fresh connection and closes it, reading nothing, after `after` (0 to
/// a few ms: the hang-up lands anywhere from before the body is read to after the entry is
/// written; the invariants must hold wherever it lands).
fn fire_and_hang_up(base: &str, method: &str, path: &str, token: &str, body: &Value, after: u64) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let body = body.to_string();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(after));
    drop(s);
}

#[test]
fn every_success_entry_names_a_change_that_exists() {
    let w = Shared::start("hang", None);
    let c = w.c();
    let hr = &w.staff.hr.token;
    let existing: Vec<String> = (0..30)
        .map(|_| {
            create_employee(c, hr, &draft())["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let start_seq = audit_head_seq(c, &w.staff.auditor.token);

    std::thread::scope(|s| {
        for t in 0..4 {
            let (base, existing) = (&w.server.base, &existing);
            s.spawn(move || {
                for i in 0..30 {
                    let after = (i % 4) as u64;
                    fire_and_hang_up(base, "POST", "/v1/employees", hr, &draft(), after);
                    let id = &existing[(t * 30 + i) % existing.len()];
                    let path = format!("/v1/employees/{id}");
                    if i % 3 == 0 {
                        fire_and_hang_up(base, "DELETE", &path, hr, &json!({}), after);
                    } else {
                        let patch = json!({"job_title": format!("Title {t}-{i}")});
                        fire_and_hang_up(base, "PATCH", &path, hr, &patch, after);
                    }
                }
            });
        }
    });

    // Quiet: the head stops moving once every detached write has finished.
    let auditor = &w.staff.auditor.token;
    let mut last = 0;
    poll(
        "the writes to finish",
        WAIT,
        Duration::from_millis(200),
        || {
            let head = audit_head_seq(c, auditor);
            let quiet = head == last && head > start_seq;
            last = head;
            quiet.then_some(())
        },
    );
    let entries = audit_entries(c, auditor, "", start_seq);
    let ok = |e: &&Value| e["outcome"] == "success";
    let created: BTreeSet<String> = entries
        .iter()
        .filter(ok)
        .filter(|e| e["action"] == "employee.create")
        .map(|e| e["employee_id"].as_str().unwrap().to_owned())
        .collect();
    let deleted: BTreeSet<String> = entries
        .iter()
        .filter(ok)
        .filter(|e| e["action"] == "employee.delete")
        .map(|e| e["employee_id"].as_str().unwrap().to_owned())
        .collect();
    let mut updates: BTreeMap<String, u64> = BTreeMap::new();
    for e in entries
        .iter()
        .filter(ok)
        .filter(|e| e["action"] == "employee.update")
    {
        *updates
            .entry(e["employee_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    // Errors after a success would say a write "did not apply": there must be none.
    let undone: Vec<&Value> = entries
        .iter()
        .filter(|e| e["outcome"] == "error")
        .filter(|e| {
            entries
                .iter()
                .any(|s| s["outcome"] == "success" && s["request_id"] == e["request_id"])
        })
        .collect();
    assert!(undone.is_empty(), "a success was taken back: {undone:?}");
    assert!(
        !created.is_empty() && !updates.is_empty(),
        "some writes got through before their clients left ({} entries)",
        entries.len()
    );

    for id in &created {
        c.get(&format!("/v1/employees/{id}"))
            .token(hr)
            .send()
            .expect(200);
    }
    for id in &deleted {
        c.get(&format!("/v1/employees/{id}"))
            .token(hr)
            .send()
            .problem(404);
    }
    for (id, n) in &updates {
        if deleted.contains(id) {
            continue;
        }
        let v = c
            .get(&format!("/v1/employees/{id}"))
            .token(hr)
            .send()
            .expect(200)
            .json();
        assert_eq!(
            v["version"].as_u64().unwrap(),
            1 + n,
            "{id}: one version per success"
        );
    }
    // And nothing exists without its entry.
    let listed = audit_entries(c, auditor, "action=employee.create", 0)
        .into_iter()
        .filter(|e| e["outcome"] == "success")
        .map(|e| e["employee_id"].as_str().unwrap().to_owned())
        .collect::<BTreeSet<_>>();
    let mut cursor = String::new();
    loop {
        let page = c
            .get(&format!("/v1/employees?limit=500{cursor}"))
            .token(hr)
            .send()
            .expect(200)
            .json();
        for e in page["employees"].as_array().unwrap() {
            assert!(
                listed.contains(e["id"].as_str().unwrap()),
                "{e}: no create entry"
            );
        }
        match page["next_cursor"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => break,
        }
    }
}
