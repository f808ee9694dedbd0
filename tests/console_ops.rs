//! The console's operations pages over plain HTTP, through the real binary: the audit log
//! (filters, order, verify, checkpoint, exports, chart), alerts, HR flags and users. Each
//! action is checked where it lands: in the JSON API or with the offline CLI.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::sync::OnceLock;

use common::*;
use serde_json::{Value, json};

fn world() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("cops", None))
}

type Browser = common::ConsoleClient;

fn api(path: &str, token: &str) -> Value {
    world().c().get(path).token(token).send().expect(200).json()
}

fn seqs(v: &Value) -> Vec<u64> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

fn is_descending(s: &[u64]) -> bool {
    s.windows(2).all(|w| w[0] > w[1])
}

#[test]
fn audit_page_is_newest_first_and_the_action_filter_narrows_it() {
    let w = world();
    for _ in 0..3 {
        create_employee(w.c(), &w.staff.hr.token, &draft());
    }
    let mut b = Browser::signed_in(&world().server.base, &w.staff.auditor);
    let all = b.get("/ui/audit");
    assert_eq!(all.status, 200, "{}", all.body);
    let all_seqs = all.entry_links();
    assert!(all_seqs.len() >= 5 && all_seqs.len() <= 100);
    assert!(is_descending(&all_seqs), "{all_seqs:?}");
    let newest = seqs(&api(
        &format!(
            "/v1/audit?order=desc&limit=1&before_seq={}",
            all_seqs[0] + 1
        ),
        &w.staff.auditor.token,
    ));
    assert_eq!(newest, vec![all_seqs[0]]);
    let head = audit_head_seq(w.c(), &w.staff.auditor.token);
    assert!(all_seqs[0] <= head);

    let filtered = b.get("/ui/audit?action=employee.create");
    assert_eq!(filtered.status, 200);
    let got = filtered.entry_links();
    assert!(got.len() >= 3);
    // The same window of the API (other tests append concurrently: pin its top).
    let want = seqs(&api(
        &format!(
            "/v1/audit?action=employee.create&order=desc&limit=100&before_seq={}",
            got[0] + 1
        ),
        &w.staff.auditor.token,
    ));
    assert!(got.len() < all_seqs.len() || all_seqs.len() == 100);
    assert_eq!(got, want, "the same entries as the API, newest first");
}

#[test]
fn the_outcome_filter_shows_only_that_outcome() {
    let w = world();
    // hr may not read the audit log: a denied entry.
    w.c()
        .get("/v1/audit")
        .token(&w.staff.hr.token)
        .send()
        .expect(403);
    let mut b = Browser::signed_in(&world().server.base, &w.staff.security);
    let denied = b.get("/ui/audit?outcome=denied");
    assert_eq!(denied.status, 200);
    let got = denied.entry_links();
    assert!(!got.is_empty());
    let want = seqs(&api(
        &format!(
            "/v1/audit?outcome=denied&order=desc&limit=100&before_seq={}",
            got[0] + 1
        ),
        &w.staff.security.token,
    ));
    assert_eq!(got, want);
    let tbody = between(&denied.body, "<tbody>", "</tbody>").unwrap();
    assert!(tbody.contains("out-denied"));
    assert!(!tbody.contains("out-success") && !tbody.contains("out-error"));
    let bad = b.get("/ui/audit?outcome=maybe");
    assert_eq!(bad.status, 422);
}

#[test]
fn the_api_pages_newest_first_with_before_seq() {
    let w = world();
    let t = &w.staff.auditor.token;
    let first = api("/v1/audit?order=desc&limit=2", t);
    let s1 = seqs(&first);
    assert_eq!(s1.len(), 2);
    assert!(is_descending(&s1));
    assert!(first["next_after_seq"].is_null());
    let next = first["next_before_seq"].as_u64().unwrap();
    assert_eq!(next, s1[1]);
    let second = api(
        &format!("/v1/audit?order=desc&limit=2&before_seq={next}"),
        t,
    );
    let s2 = seqs(&second);
    assert_eq!(s2[0], s1[1] - 1);
    // Without `order` the body is as before: no `next_before_seq` key.
    let asc = api("/v1/audit?limit=2", t);
    assert!(asc.get("next_before_seq").is_none());
    assert_eq!(seqs(&asc), vec![1, 2]);
    let r = w.c().get("/v1/audit?order=sideways").token(t).send();
    r.problem(422);
    let r = w.c().get("/v1/audit?outcome=maybe").token(t).send();
    r.problem(422);
}

#[test]
fn older_entries_link_continues_below_the_page() {
    let w = world();
    // At least 101 entries.
    for _ in 0..60 {
        w.c()
            .get("/v1/audit")
            .token(&w.staff.hr.token)
            .send()
            .expect(403);
    }
    let mut b = Browser::signed_in(&world().server.base, &w.staff.auditor);
    let p1 = b.get("/ui/audit");
    let s1 = p1.entry_links();
    assert_eq!(s1.len(), 100);
    let href = between(&p1.body, "<a href=\"", "\">Older entries</a>")
        .map(|h| h.rsplit("href=\"").next().unwrap().replace("&amp;", "&"))
        .expect("an Older entries link");
    let p2 = b.get(&href);
    let s2 = p2.entry_links();
    assert!(!s2.is_empty());
    assert_eq!(s2[0], s1[99] - 1, "continues right below the first page");
}

#[test]
fn verify_now_reports_the_verified_chain() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.auditor);
    let r = b.submit("/ui/audit", "/ui/audit/verify", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Chain verified: "), "{}", r.body);
    let again = b.get("/ui/audit");
    assert!(
        again.body.contains("Chain verified: ") && again.body.contains("Last verified at "),
        "the last result stays on the page"
    );
    let no_csrf = b.post("/ui/audit/verify", &[]);
    assert_eq!(no_csrf.status, 403);
}

#[test]
fn checkpoint_download_is_signed_json() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.auditor);
    let r = b.get("/ui/audit/checkpoint");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = serde_json::from_str(&r.body).unwrap();
    let seq = v["seq"].as_u64().unwrap();
    assert!(v["signature"].as_str().unwrap().len() > 40);
    assert!(v["public_key"].is_string() && v["hash"].is_string());
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"hrvault-checkpoint-{seq}.json\"").as_str())
    );
}

#[test]
fn the_jsonl_export_of_the_whole_log_passes_the_offline_verifier() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.auditor);
    let r = b.get("/ui/audit/export?format=jsonl");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let lines: Vec<&str> = r.body.lines().collect();
    assert!(lines.len() > 5);
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["seq"], 1, "oldest first, from the start");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &r.body).unwrap();
    let mut cmd = hrvault();
    cmd.args(["audit", "verify", "--file", file.to_str().unwrap()]);
    let out = run(cmd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn ocsf_and_csv_exports_of_a_filtered_view() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.security);
    let r = b.get("/ui/audit/export?format=ocsf&action=auth.login");
    assert_eq!(r.status, 200);
    let events: Vec<Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(e["class_uid"], 6003);
        assert_eq!(e["api"]["operation"], "auth.login");
    }
    let r = b.get("/ui/audit/export?format=csv&outcome=success");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    let mut lines = r.body.lines();
    assert_eq!(
        lines.next(),
        Some(
            "seq,ts,actor_user_id,actor_username,actor_role,action,employee_id,employee_ids,fields,reason,outcome,source_ip,request_id,prev_hash,hash"
        )
    );
    let mut rows = csv::Reader::from_reader(r.body.as_bytes());
    let mut n = 0;
    for row in rows.records() {
        assert_eq!(&row.unwrap()[10], "success");
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn the_chart_is_an_svg_image_with_its_numbers_on_the_page() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.auditor);
    let r = b.get("/ui/audit/chart.svg");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(r.body.starts_with("<svg"));
    assert!(r.body.contains("Success") && r.body.contains("Denied") && r.body.contains("Error"));
    let p = b.get("/ui/audit");
    assert!(p.body.contains("<img src=\"/ui/audit/chart.svg\""));
    assert!(p.body.contains("All 7 days"));
}

#[test]
fn an_entry_page_shows_every_field() {
    let w = world();
    let mut b = Browser::signed_in(&world().server.base, &w.staff.auditor);
    let r = b.get("/ui/audit/1");
    assert_eq!(r.status, 200);
    let e = &api("/v1/audit?limit=1", &w.staff.auditor.token)["entries"][0];
    for key in [
        "prev_hash",
        "hash",
        "request_id",
        "source_ip",
        "employee_ids",
        "fields",
    ] {
        assert!(r.body.contains(&format!("<dt>{key}</dt>")), "{key}");
    }
    assert!(r.body.contains(e["hash"].as_str().unwrap()));
    assert_eq!(b.get("/ui/audit/999999999").status, 404);
}

#[test]
fn acknowledging_an_alert_through_the_form_changes_it_in_the_api() {
    let w = world();
    let mut sec = Browser::signed_in(&world().server.base, &w.staff.security);
    let number = unique_number();
    let ssn = unique_ssn();
    let r = sec.submit(
        "/ui/alerts",
        "/ui/alerts/honeytoken",
        &[
            ("employee_number", number.as_str()),
            ("first_name", "Decoy"),
            ("last_name", "Person"),
            ("hire_date", "2026-01-15"),
            ("ssn", ssn.as_str()),
            ("date_of_birth", "1990-04-01"),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!r.body.contains(&ssn), "the SSN is not sent back");
    let id =
        between(&r.body, &format!("employee number {number}, id "), "<").expect("the decoy's id");
    // hr touches the decoy: a critical alert about hr.
    w.c()
        .get(&format!("/v1/employees/{id}"))
        .token(&w.staff.hr.token)
        .send()
        .expect(200);
    let alert = wait_for_alert(w, "honeytoken_access", &w.staff.hr.username);
    let alert_id = alert["id"].as_str().unwrap();
    let page = sec.get("/ui/alerts");
    assert!(
        page.body
            .contains(&format!("action=\"/ui/alerts/{alert_id}\""))
    );
    let r = sec.submit(
        "/ui/alerts",
        &format!("/ui/alerts/{alert_id}"),
        &[("status", "acknowledged"), ("note", "checked with hr")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let now = api("/v1/alerts?rule=honeytoken_access", &w.staff.security.token);
    let a = now["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == alert_id)
        .unwrap()
        .clone();
    assert_eq!(a["status"], "acknowledged");
    assert_eq!(a["note"], "checked with hr");
    let page = sec.get("/ui/alerts");
    assert!(page.body.contains("Risk"));
    assert!(page.body.contains(&w.staff.hr.username));
}

#[test]
fn a_flag_created_through_the_form_is_in_the_api_and_clear_clears_it() {
    let w = world();
    let record = create_employee(w.c(), &w.staff.hr.token, &draft());
    let emp = record["id"].as_str().unwrap();
    let mut sec = Browser::signed_in(&world().server.base, &w.staff.security);
    let r = sec.submit(
        "/ui/flags",
        "/ui/flags",
        &[
            ("employee_id", emp),
            ("kind", "layoff"),
            ("effective_date", "2026-01-01"),
            ("note", "console test"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let flags = api("/v1/hr-flags", &w.staff.security.token);
    let f = flags["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["employee_id"] == emp)
        .unwrap()
        .clone();
    assert_eq!(f["kind"], "layoff");
    assert_eq!(f["active"], true);
    let fid = f["id"].as_str().unwrap();
    let r = sec.submit("/ui/flags", &format!("/ui/flags/{fid}/clear"), &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    let flags = api("/v1/hr-flags", &w.staff.security.token);
    let f = flags["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == fid)
        .unwrap()
        .clone();
    assert_eq!(f["active"], false);

    let missing = sec.submit(
        "/ui/flags",
        "/ui/flags",
        &[
            ("employee_id", "6f1c2b9e-8a43-4d0b-9a53-0f5d1c2e7a10"),
            ("kind", "pip"),
            ("effective_date", "2026-01-01"),
        ],
    );
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("No such employee record."));
    assert!(
        missing
            .body
            .contains("6f1c2b9e-8a43-4d0b-9a53-0f5d1c2e7a10"),
        "kept"
    );
    let bad = sec.submit(
        "/ui/flags",
        "/ui/flags",
        &[
            ("employee_id", emp),
            ("kind", "pip"),
            ("effective_date", "soon"),
        ],
    );
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("fl-effective_date-err"));
}

#[test]
fn a_service_account_made_in_the_form_shows_its_secret_once_and_it_works() {
    let w = world();
    let mut admin = Browser::signed_in(&world().server.base, &w.staff.admin);
    let name = format!("svc-{}", unique_number().to_lowercase());
    let r = admin.submit(
        "/ui/users",
        "/ui/users",
        &[
            ("username", name.as_str()),
            ("role", "payroll"),
            ("kind", "service"),
            ("password", ""),
            ("employee_id", ""),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.contains("Copy it now: it is not shown again"));
    assert!(
        r.header("cache-control").unwrap_or("").contains("no-store"),
        "a page with a secret is not cached"
    );
    let secret = between(&r.body, "<code class=\"secret\">", "</code>").expect("the secret");
    assert!(secret.len() >= 24);
    let token = w
        .c()
        .post("/v1/oauth/token")
        .raw(
            "application/x-www-form-urlencoded",
            serde_urlencoded::to_string([
                ("grant_type", "client_credentials"),
                ("client_id", name.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .unwrap(),
        )
        .send();
    token.expect(200);
    assert!(token.json()["access_token"].is_string());
    let list = admin.get("/ui/users");
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&name));
    assert!(!list.body.contains(&secret), "never shown again");
    assert!(!list.body.contains("class=\"secret\""));
}

#[test]
fn a_human_without_a_password_gets_a_generated_one_and_can_be_disabled() {
    let w = world();
    let mut admin = Browser::signed_in(&world().server.base, &w.staff.admin);
    let name = format!("h-{}", unique_number().to_lowercase());
    let r = admin.submit(
        "/ui/users",
        "/ui/users",
        &[
            ("username", name.as_str()),
            ("role", "auditor"),
            ("kind", "human"),
            ("password", ""),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let password = between(&r.body, "<code class=\"secret\">", "</code>").unwrap();
    w.c().login(&name, &password);
    let users = api("/v1/users", &w.staff.admin.token);
    let id = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = admin.submit(
        "/ui/users",
        &format!("/ui/users/{id}"),
        &[("op", "disable")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    w.c().login_raw(&name, &password).expect(401);
    let r = admin.submit(
        "/ui/users",
        &format!("/ui/users/{id}"),
        &[("op", "role"), ("role", "security")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = admin.submit("/ui/users", &format!("/ui/users/{id}"), &[("op", "delete")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let users = api("/v1/users", &w.staff.admin.token);
    assert!(
        !users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == json!(name))
    );
    // Refusals come back beside the field.
    let r = admin.submit(
        "/ui/users",
        "/ui/users",
        &[
            ("username", "x y"),
            ("role", "hr"),
            ("kind", "human"),
            ("password", "short"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("nu-password-err"));
}

#[test]
fn pages_refuse_roles_that_may_not_use_them() {
    let w = world();
    let mut auditor = Browser::signed_in(&world().server.base, &w.staff.auditor);
    assert_eq!(auditor.get("/ui/users").status, 403);
    assert_eq!(auditor.get("/ui/alerts").status, 403);
    assert_eq!(auditor.get("/ui/flags").status, 403);
    let mut hr = Browser::signed_in(&world().server.base, &w.staff.hr);
    assert_eq!(hr.get("/ui/audit").status, 403);
    assert_eq!(hr.get("/ui/audit/export?format=jsonl").status, 403);
    assert_eq!(hr.get("/ui/audit/chart.svg").status, 403);
}

#[test]
fn nobody_triages_an_alert_about_themselves() {
    let w = world();
    let mut sec = Browser::signed_in(&world().server.base, &w.staff.security);
    let number = unique_number();
    let ssn = unique_ssn();
    let r = sec.submit(
        "/ui/alerts",
        "/ui/alerts/honeytoken",
        &[
            ("employee_number", number.as_str()),
            ("first_name", "Bait"),
            ("last_name", "Record"),
            ("hire_date", "2026-01-15"),
            ("ssn", ssn.as_str()),
            ("date_of_birth", "1990-04-01"),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = between(&r.body, &format!("employee number {number}, id "), "<").unwrap();
    // The security analyst touches the decoy: an alert about themselves.
    w.c()
        .get(&format!("/v1/employees/{id}"))
        .token(&w.staff.security.token)
        .send()
        .expect(200);
    let alert = wait_for_alert(w, "honeytoken_access", &w.staff.security.username);
    let alert_id = alert["id"].as_str().unwrap();
    let r = sec.submit(
        "/ui/alerts",
        &format!("/ui/alerts/{alert_id}"),
        &[("status", "resolved"), ("note", "nothing to see")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""), "the refusal is shown");
    let now = api("/v1/alerts?rule=honeytoken_access", &w.staff.security.token);
    let a = now["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == alert_id)
        .unwrap()
        .clone();
    assert_eq!(a["status"], "open", "unchanged");
    // A wrong honeytoken is refused beside its field, the SSN not sent back.
    let r = sec.submit(
        "/ui/alerts",
        "/ui/alerts/honeytoken",
        &[
            ("employee_number", "bad number!"),
            ("first_name", "Bait"),
            ("last_name", "Record"),
            ("hire_date", "2026-01-15"),
            ("ssn", "000-12-3456"),
            ("date_of_birth", "1990-04-01"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("ht-employee_number-err") && r.body.contains("ht-ssn-err"));
    assert!(!r.body.contains("000-12-3456"));
}
