//! The insider-threat monitor driven from outside, through the real binary: HR flags reach the
//! people they concern, termination cuts them off at once, honeytokens raise critical alerts,
//! and every alert reaches a webhook receiver as a correctly signed POST.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};

use common::*;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

const HOOK_SECRET: &str = "webhook-secret-for-tests";

/// A loopback HTTP receiver: answers the first request 500 (to prove retries), the rest 204,
/// and hands every request's headers and body to the test.
struct Hook {
    port: u16,
    requests: std::sync::Mutex<Receiver<Delivery>>,
}

/// One webhook request: lower-cased headers and the body.
type Delivery = (Vec<(String, String)>, Vec<u8>);

fn hook() -> &'static Hook {
    static H: OnceLock<Hook> = OnceLock::new();
    H.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = Vec::new();
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let status = if n == 0 {
                    "500 Internal Server Error"
                } else {
                    "204 No Content"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = tx.send((headers, body));
            }
        });
        Hook {
            port,
            requests: std::sync::Mutex::new(rx),
        }
    })
}

/// One server for the file, with the webhook configured.
fn world() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| {
        let config = format!(
            "[monitor]\nalert_webhook = \"http://127.0.0.1:{}/hook\"\nalert_webhook_secret = \"{HOOK_SECRET}\"\n",
            hook().port
        );
        Shared::start("mon", Some(&config))
    })
}

/// A server where restriction is switched off.
fn unrestricted() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("unr", Some("[monitor]\nrestrict_flagged = false\n")))
}

/// The sequence number of the audit entry of the request with this id.
fn seq_of(w: &Shared, request_id: &str) -> u64 {
    audit_entries(w.c(), &w.staff.auditor.token, "", 0)
        .into_iter()
        .find(|e| e["client_request_id"] == request_id)
        .unwrap_or_else(|| panic!("no entry for {request_id}"))["seq"]
        .as_u64()
        .unwrap()
}

/// A pip flag reaches its person through the user link: their read raises `hr_flagged_access`
/// (high, naming the flagged person and the read's audit entry) and their reveal is refused and
/// audited as a denial.
#[test]
fn a_pip_flagged_users_read_raises_an_alert_and_their_reveal_is_refused() {
    let w = world();
    let (me, bob) = linked_person(w, "hr", "bob-pip");
    let other = create_employee(w.c(), &w.staff.hr.token, &draft());
    let other_id = other["id"].as_str().unwrap();
    let f = flag(w, &w.staff.security.token, &me, "pip")
        .expect(201)
        .json();
    assert_eq!(
        (f["kind"].as_str(), f["active"].as_bool()),
        (Some("pip"), Some(true))
    );

    w.c()
        .get(&format!("/v1/employees/{other_id}"))
        .token(&bob.token)
        .header("x-request-id", "pip-read-1")
        .send()
        .expect(200);
    let alert = wait_for_alert(w, "hr_flagged_access", "bob-pip");
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["status"], "open");
    assert_eq!(
        alert["employee_id"].as_str(),
        Some(me.as_str()),
        "names the flagged person"
    );
    assert_eq!(alert["user_id"].as_str(), Some(bob.id.as_str()));
    let seq = seq_of(w, "pip-read-1");
    assert!(
        alert["evidence_seqs"]
            .as_array()
            .unwrap()
            .contains(&json!(seq)),
        "{alert}"
    );

    let r = w
        .c()
        .post(&format!("/v1/employees/{other_id}/reveal"))
        .token(&bob.token)
        .header("x-request-id", "pip-reveal-1")
        .json(&json!({"fields": ["ssn"], "reason": "checking a payroll problem"}))
        .send();
    let problem = r.problem(403);
    // The refusal does not tell the person they are flagged (CONTRACT rev 2).
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail == "not permitted for this account; contact your security team"
            && !detail.contains("flag")
            && !detail.contains("restrict"),
        "{problem}"
    );
    assert!(!r.text().contains(other["ssn"].as_str().unwrap_or("?")));
    let denied = audit_entries(w.c(), &w.staff.auditor.token, "action=access.denied", 0);
    assert!(
        denied
            .iter()
            .any(|e| e["client_request_id"] == "pip-reveal-1" && e["fields"] == json!(["ssn"]))
    );
}

/// With `restrict_flagged = false` the same reveal is allowed (the alert still fires).
#[test]
fn restriction_can_be_switched_off() {
    let w = unrestricted();
    let (me, eve) = linked_person(w, "hr", "eve-pip");
    let other = create_employee(w.c(), &w.staff.hr.token, &draft());
    flag(w, &w.staff.security.token, &me, "disciplinary").expect(201);
    reveal(w.c(), &eve.token, other["id"].as_str().unwrap(), &["ssn"]).expect(200);
    wait_for_alert(w, "hr_flagged_access", "eve-pip");
}

/// A termination flag disables every linked user and kills their tokens before its 201: the
/// very next use of the token is refused, a password try too, and security is told.
#[test]
fn termination_cuts_an_existing_token_off_at_once() {
    let w = world();
    let (me, carol) = linked_person(w, "payroll", "carol-term");
    w.c()
        .get("/v1/employees")
        .token(&carol.token)
        .send()
        .expect(200);
    flag(w, &w.staff.hr.token, &me, "termination").expect(201);
    // No waiting: the refusal must already hold.
    w.c()
        .get("/v1/employees")
        .token(&carol.token)
        .send()
        .problem(401);
    let r = w.c().login_raw("carol-term", &carol.password);
    assert_eq!(r.status, 401);
    let users = w
        .c()
        .get("/v1/users")
        .token(&w.staff.admin.token)
        .send()
        .json();
    let u = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "carol-term")
        .unwrap()
        .clone();
    assert_eq!(u["enabled"], false);
    let alert = wait_for_alert(w, "terminated_user_access", "carol-term");
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["employee_id"].as_str(), Some(me.as_str()));
    assert!(
        alert["evidence_seqs"].as_array().unwrap().len() >= 2,
        "token and password tries: {alert}"
    );
}

/// Issue 9: anyone could raise `terminated_user_access` against a terminated person by typing
/// their username with any password. Now a wrong password for a terminated account is an
/// ordinary `auth.login_failed` (`wrong credentials`) and only the right one is evidence.
#[test]
fn only_the_right_password_of_a_terminated_account_raises_the_alert() {
    let w = world();
    let (me, dave) = linked_person(w, "hr", "dave-term");
    flag(w, &w.staff.hr.token, &me, "termination").expect(201);
    let wrong = w.c().login_raw("dave-term", "not-daves-password");
    assert_eq!(wrong.status, 401);
    let wrong_seq = seq_of(w, &wrong.request_id);
    let entry = audit_entries(w.c(), &w.staff.auditor.token, "action=auth.login_failed", 0)
        .into_iter()
        .find(|e| e["seq"] == wrong_seq)
        .unwrap();
    assert_eq!(entry["reason"], "wrong credentials", "{entry}");
    let right = w.c().login_raw("dave-term", &dave.password);
    assert_eq!(right.status, 401, "the account is disabled");
    let right_seq = seq_of(w, &right.request_id);
    let alert = wait_for_alert(w, "terminated_user_access", "dave-term");
    let evidence: Vec<u64> = alert["evidence_seqs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert!(evidence.contains(&right_seq), "{alert}");
    assert!(
        !evidence.contains(&wrong_seq),
        "a wrong password is evidence: {alert}"
    );
}

/// A honeytoken looks like any record to hr and payroll, is never exported, and a read of it
/// raises a critical alert naming the decoy.
#[test]
fn reading_a_honeytoken_raises_a_critical_alert() {
    let w = world();
    let mut body = draft();
    body["first_name"] = json!("Dana");
    let decoy = w
        .c()
        .post("/v1/honeytokens")
        .token(&w.staff.security.token)
        .json(&body)
        .send();
    let decoy = decoy.expect(201).json();
    let decoy_id = decoy["id"].as_str().unwrap().to_owned();
    let normal = create_employee(w.c(), &w.staff.hr.token, &draft());

    // Indistinguishable in hr's reads: same keys, same masking.
    let seen = w
        .c()
        .get(&format!("/v1/employees/{decoy_id}"))
        .token(&w.staff.hr.token)
        .send()
        .expect(200)
        .json();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let normal_seen = w
        .c()
        .get(&format!("/v1/employees/{}", normal["id"].as_str().unwrap()))
        .token(&w.staff.hr.token)
        .send()
        .json();
    assert_eq!(keys(&seen), keys(&normal_seen));
    assert!(seen["ssn"].as_str().unwrap().starts_with("***-**-"));

    let alert = wait_for_alert(w, "honeytoken_access", &w.staff.hr.username);
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["employee_id"].as_str(), Some(decoy_id.as_str()));

    // Never in a payroll export.
    let export = w
        .c()
        .get("/v1/payroll/export")
        .token(&w.staff.payroll.token)
        .send()
        .expect(200)
        .text();
    assert!(!export.contains(&decoy_id));
    assert!(export.contains(normal["id"].as_str().unwrap()));
}

/// Every alert reaches the webhook as JSON signed with HMAC-SHA256 of the body; a failed
/// delivery (the receiver's first answer is a 500) is retried.
#[test]
fn the_webhook_receiver_gets_correctly_signed_alerts() {
    let w = world();
    let (me, dave) = linked_person(w, "hr", "dave-hook");
    flag(w, &w.staff.security.token, &me, "layoff").expect(201);
    let other = create_employee(w.c(), &w.staff.hr.token, &draft());
    w.c()
        .get(&format!("/v1/employees/{}", other["id"].as_str().unwrap()))
        .token(&dave.token)
        .send()
        .expect(200);
    wait_for_alert(w, "layoff_watchlist_access", "dave-hook");

    // Only this test reads the receiver; other tests' alerts arrive too, all must be signed.
    let rx = hook().requests.lock().unwrap();
    let (mut first_id, mut first_retried, mut dave_delivered) = (None, false, false);
    while !(first_retried && dave_delivered) {
        let (headers, body) = rx.recv_timeout(WAIT).expect("a webhook delivery");
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
        mac.update(&body);
        let want = format!("sha256={}", hex(&mac.finalize().into_bytes()));
        assert_eq!(
            header("x-hrvault-signature").as_deref(),
            Some(want.as_str()),
            "signature over the exact body"
        );
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        let alert: Value = serde_json::from_slice(&body).unwrap();
        for key in [
            "id",
            "rule",
            "severity",
            "user_id",
            "username",
            "employee_id",
            "summary",
            "evidence_seqs",
            "status",
            "created_at",
        ] {
            assert!(alert.get(key).is_some(), "{key} missing from {alert}");
        }
        let id = alert["id"].as_str().unwrap().to_owned();
        assert_eq!(header("x-hrvault-alert-id"), Some(id.clone()));
        // The receiver answered the very first delivery 500: that alert must come again.
        match &first_id {
            None => first_id = Some(id),
            Some(f) if *f == id => first_retried = true,
            Some(_) => {}
        }
        dave_delivered |=
            alert["username"] == "dave-hook" && alert["rule"] == "layoff_watchlist_access";
    }
}

/// Nobody may flag, or clear a flag on, their own record; bad input is refused.
#[test]
fn flags_on_oneself_and_bad_flags_are_refused() {
    let w = world();
    let (me, erin) = linked_person(w, "hr", "erin-self");
    let r = flag(w, &erin.token, &me, "pip");
    r.problem(403);
    let denied = audit_entries(w.c(), &w.staff.auditor.token, "action=access.denied", 0);
    assert!(
        denied.iter().any(|e| e["actor"]["username"] == "erin-self"
            && e["employee_id"].as_str() == Some(me.as_str()))
    );
    flag(
        w,
        &w.staff.hr.token,
        "00000000-0000-4000-8000-000000000000",
        "pip",
    )
    .problem(404);
    let bad = flag(w, &w.staff.hr.token, &me, "vacation");
    assert_eq!(bad.problem(422)["errors"][0]["field"], "kind");
    // hr may create flags but not list or clear them.
    w.c()
        .get("/v1/hr-flags")
        .token(&w.staff.hr.token)
        .send()
        .problem(403);
    let id = flag(w, &w.staff.security.token, &me, "resignation")
        .expect(201)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.c()
        .delete(&format!("/v1/hr-flags/{id}"))
        .token(&w.staff.hr.token)
        .send()
        .problem(403);
    w.c()
        .delete(&format!("/v1/hr-flags/{id}"))
        .token(&w.staff.security.token)
        .send()
        .expect(204);
    let flags = w
        .c()
        .get("/v1/hr-flags")
        .token(&w.staff.security.token)
        .send()
        .expect(200)
        .json();
    let cleared = flags["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        cleared["active"], false,
        "cleared flags stay in the history, inactive"
    );
}

/// Security triages alerts (audited) and sees who carries risk.
#[test]
fn alerts_are_triaged_and_scored() {
    let w = world();
    let (me, fay) = linked_person(w, "hr", "fay-risk");
    flag(w, &w.staff.security.token, &me, "pip").expect(201);
    let other = create_employee(w.c(), &w.staff.hr.token, &draft());
    w.c()
        .get(&format!("/v1/employees/{}", other["id"].as_str().unwrap()))
        .token(&fay.token)
        .send()
        .expect(200);
    let alert = wait_for_alert(w, "hr_flagged_access", "fay-risk");
    let risk = w
        .c()
        .get("/v1/risk")
        .token(&w.staff.security.token)
        .send()
        .expect(200)
        .json();
    let row = risk["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "fay-risk")
        .unwrap()
        .clone();
    assert!(
        row["score"].as_f64().unwrap() > 0.0 && row["open_alerts"].as_u64().unwrap() >= 1,
        "{row}"
    );

    let id = alert["id"].as_str().unwrap();
    let r = w
        .c()
        .patch(&format!("/v1/alerts/{id}"))
        .token(&w.staff.security.token)
        .json(&json!({"status": "resolved", "note": "spoke with the manager"}))
        .send();
    assert_eq!(r.expect(200).json()["status"], "resolved");
    let resolved = w
        .c()
        .get("/v1/alerts?status=resolved")
        .token(&w.staff.security.token)
        .send()
        .json();
    assert!(
        resolved["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id)
    );
    let updates = audit_entries(w.c(), &w.staff.auditor.token, "action=alert.update", 0);
    assert!(
        updates
            .iter()
            .any(|e| e["reason"].as_str().unwrap_or("").contains(id))
    );
    w.c()
        .get("/v1/alerts?severity=urgent")
        .token(&w.staff.security.token)
        .send()
        .problem(422);
    w.c()
        .get("/v1/alerts")
        .token(&w.staff.hr.token)
        .send()
        .problem(403);
    w.c()
        .get("/v1/risk")
        .token(&w.staff.auditor.token)
        .send()
        .problem(403);
}
