//! Cluster mode (CONTRACT §6) through the real binary: several `hrvault serve --store URL`
//! processes over one real PostgreSQL database. What one node does, every other node sees at
//! the next request (records, revocations, the login limit); three writers make one audit chain;
//! a node killed with SIGKILL under load loses nothing it acknowledged; the insider-threat
//! monitor moves to a surviving node within 10 s; a node rides out its database going away;
//! and a `pg_dump` of the database holds no sensitive plaintext.
//!
//! Each test starts its own throw-away PostgreSQL (`hrvault::testing::pg::require`: SKIPPED
//! without one, a failure under `CI=true`), one database, `hrvault init --store URL`, then two or
//! three nodes on `127.0.0.1:0`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use hrvault::testing::pg::PgCluster;
use serde_json::{Value, json};

/// A database with an initialised vault and the nodes serving it. Fields drop in order: the
/// nodes stop (gracefully) before PostgreSQL does.
struct Cluster {
    nodes: Vec<Server>,
    logs: tempfile::TempDir,
    url: String,
    pg: PgCluster,
}

impl Cluster {
    /// A fresh PostgreSQL, database `vault`, `hrvault init --store`, and `n` nodes started one
    /// after the other (node 0 first). `None` when PostgreSQL is missing outside CI.
    fn start(test: &str, n: usize) -> Option<Self> {
        let pg = hrvault::testing::pg::require(test)?;
        let url = pg.create_database("vault").unwrap();
        let logs = tempfile::Builder::new()
            .prefix("hrvault-cluster-")
            .tempdir()
            .unwrap();
        let mut init = hrvault();
        init.args(["init", "--store", &url])
            .env("HRVAULT_PASSPHRASE", PASSPHRASE)
            .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
        let out = run(init);
        assert!(
            out.status.success(),
            "init --store failed: {}",
            text(&out.stderr)
        );
        let mut c = Self {
            nodes: Vec::new(),
            logs,
            url,
            pg,
        };
        for _ in 0..n {
            c.add_node();
        }
        Some(c)
    }

    /// Starts one more node; returns its index.
    fn add_node(&mut self) -> usize {
        let server = Server::start_with(
            Path::new("/nonexistent-data-dir"),
            self.logs.path(),
            ServeOpts {
                store: Some(&self.url),
                ..ServeOpts::default()
            },
        );
        self.nodes.push(server);
        self.nodes.len() - 1
    }

    /// The client of node `k`.
    fn node(&self, k: usize) -> &Client {
        self.nodes[k].client()
    }

    /// `hrvault audit verify --store URL`, asserting exit 0; returns (entries, head seq).
    #[track_caller]
    fn verify(&self) -> (u64, u64) {
        let mut c = hrvault();
        c.args(["audit", "verify", "--store", &self.url]);
        let out = run(c);
        let said = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "audit verify --store: stdout {said} stderr {}",
            text(&out.stderr)
        );
        // `ok: audit chain intact: N entries, head seq S hash H`
        let rest = said
            .strip_prefix("ok: audit chain intact: ")
            .unwrap_or_else(|| panic!("{said}"));
        let (entries, rest) = rest.split_once(" entries, head seq ").unwrap();
        let (seq, _) = rest.split_once(" hash ").unwrap();
        (entries.parse().unwrap(), seq.parse().unwrap())
    }

    /// Everything node `k` wrote to stdout and stderr, for failure messages.
    fn log_of(&self, k: usize) -> String {
        text(&self.nodes[k].output())
    }
}

/// `GET /v1/employees/{id}` on `c` as `token`.
fn read(c: &Client, token: &str, id: &str) -> Resp {
    c.get(&format!("/v1/employees/{id}")).token(token).send()
}

/// A request that needs a valid token (hr may list employees).
fn list(c: &Client, token: &str) -> Resp {
    c.get("/v1/employees?limit=1").token(token).send()
}

/// Every alert `c` shows security.
fn alerts(c: &Client, security: &str) -> Vec<Value> {
    c.get("/v1/alerts")
        .token(security)
        .send()
        .expect(200)
        .json()["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

/// The alerts of `rule` about `username`.
fn alerts_for(all: &[Value], rule: &str, username: &str) -> usize {
    all.iter()
        .filter(|a| a["rule"] == rule && a["username"] == username)
        .count()
}

/// Asserts that no (rule, user, employee) has two alerts.
#[track_caller]
fn assert_no_doubled_alert(all: &[Value]) {
    let mut seen = BTreeMap::new();
    for a in all {
        let key = (
            a["rule"].to_string(),
            a["user_id"].to_string(),
            a["employee_id"].to_string(),
        );
        *seen.entry(key).or_insert(0_u32) += 1;
    }
    let doubled: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "alerts raised twice: {doubled:?}\n{all:#?}"
    );
}

/// A record created on A reads on B and C at once with the same fields; an update on B shows
/// the new version on A; a delete on C is a 404 on A (and B).
#[test]
fn a_record_reads_updates_and_deletes_across_nodes() {
    let Some(cl) = Cluster::start("a_record_reads_updates_and_deletes_across_nodes", 3) else {
        return;
    };
    let (a, b, c) = (cl.node(0), cl.node(1), cl.node(2));
    let staff = Staff::create(a, "xnode");
    let hr = &staff.hr.token;

    let body = draft();
    let created = create_employee(a, hr, &body);
    let id = created["id"].as_str().unwrap();
    let on_b = read(b, hr, id).expect(200).json();
    let on_c = read(c, hr, id).expect(200).json();
    assert_eq!(on_b, on_c, "B and C show the same record");
    for k in [
        "id",
        "employee_number",
        "first_name",
        "last_name",
        "work_email",
        "department",
        "hire_date",
        "ssn",
        "date_of_birth",
        "home_address",
        "bank_account",
        "version",
        "created_at",
    ] {
        assert_eq!(on_b[k], created[k], "field {k} on B vs the create on A");
    }
    assert_eq!(on_b["employee_number"], body["employee_number"]);
    assert_eq!(on_b["version"], json!(1));

    // Update on B (with If-Match on the version A created), new version on A.
    let updated = b
        .patch(&format!("/v1/employees/{id}"))
        .token(hr)
        .header("if-match", "\"1\"")
        .json(&json!({"job_title": "Principal Engineer"}))
        .send();
    let updated = updated.expect(200).json();
    assert_eq!(updated["version"], json!(2));
    let on_a = read(a, hr, id);
    on_a.expect(200);
    let on_a_v = on_a.json();
    assert_eq!(on_a_v["version"], json!(2), "A sees B's update: {on_a_v}");
    assert_eq!(on_a_v["job_title"], "Principal Engineer");
    // A stale If-Match on C (version 1) is refused: C knows version 2 too.
    c.patch(&format!("/v1/employees/{id}"))
        .token(hr)
        .header("if-match", "\"1\"")
        .json(&json!({"job_title": "Stale"}))
        .send()
        .expect(412);

    // Delete on C: 404 on A and B.
    c.delete(&format!("/v1/employees/{id}"))
        .token(hr)
        .send()
        .expect(204);
    read(a, hr, id).expect(404);
    read(b, hr, id).expect(404);
}

/// Logout, disable, role change and a termination flag on one node refuse the token on every
/// other node at its next request.
#[test]
fn revocation_holds_on_every_node_at_the_next_request() {
    let Some(cl) = Cluster::start("revocation_holds_on_every_node_at_the_next_request", 3) else {
        return;
    };
    let (a, b, c) = (cl.node(0), cl.node(1), cl.node(2));
    let staff = Staff::create(a, "revoke");
    let admin = &staff.admin.token;

    // Logout on A → 401 on B and C (and A).
    let u = create_user(a, admin, "logout-user", "hr");
    list(a, &u.token).expect(200);
    list(b, &u.token).expect(200);
    list(c, &u.token).expect(200);
    a.post("/v1/auth/logout").token(&u.token).send().expect(204);
    list(b, &u.token).expect(401);
    list(c, &u.token).expect(401);
    list(a, &u.token).expect(401);

    // Disabled by an admin on B → 401 on A; a new login is refused too.
    let u = create_user(a, admin, "disabled-user", "hr");
    list(a, &u.token).expect(200);
    b.patch(&format!("/v1/users/{}", u.id))
        .token(admin)
        .json(&json!({"enabled": false}))
        .send()
        .expect(200);
    list(a, &u.token).expect(401);
    list(c, &u.token).expect(401);
    a.login_raw(&u.username, &u.password).expect(401);

    // Role change hr → auditor on C → the old (hr) token refused on A, and on B.
    let u = create_user(a, admin, "demoted-user", "hr");
    list(a, &u.token).expect(200);
    c.patch(&format!("/v1/users/{}", u.id))
        .token(admin)
        .json(&json!({"role": "auditor"}))
        .send()
        .expect(200);
    list(a, &u.token).expect(401);
    let r = b.get("/v1/audit/head").token(&u.token).send();
    r.expect(401);
    // A new login carries the new role.
    let t = a.login(&u.username, &u.password);
    b.get("/v1/audit/head").token(&t).send().expect(200);
    list(b, &t).expect(403);

    // A termination flag (effective already) set by security on A → the linked user's token
    // refused on B, and the user disabled (login refused on C).
    let record = create_employee(a, &staff.hr.token, &draft());
    let emp = record["id"].as_str().unwrap();
    let password = "pw-leaver-8d2k";
    a.post("/v1/users")
        .token(admin)
        .json(
            &json!({"username": "leaver", "password": password, "role": "hr",
                      "employee_id": emp, "kind": "human"}),
        )
        .send()
        .expect(201);
    let leaver = b.login("leaver", password);
    list(b, &leaver).expect(200);
    let f = a
        .post("/v1/hr-flags")
        .token(&staff.security.token)
        .json(&json!({"employee_id": emp, "kind": "termination",
                      "effective_date": "2026-01-01", "note": "last day"}))
        .send();
    f.expect(201);
    assert_eq!(f.json()["active"], json!(true), "{}", f.text());
    list(b, &leaver).expect(401);
    list(c, &leaver).expect(401);
    c.login_raw("leaver", password).expect(401);
    let users = c.get("/v1/users").token(admin).send().expect(200).json();
    let row = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "leaver")
        .unwrap()
        .clone();
    assert_eq!(row["enabled"], json!(false), "{row}");

    // A console session from A refused on B once its user is disabled.
    let u = create_user(a, admin, "console-user", "hr");
    let on_a = ConsoleClient::signed_in(&cl.nodes[0].base, &u);
    let mut on_b = ConsoleClient::new(&cl.nodes[1].base);
    on_b.cookies.clone_from(&on_a.cookies);
    on_b.get("/ui/employees").expect(200);
    a.patch(&format!("/v1/users/{}", u.id))
        .token(admin)
        .json(&json!({"enabled": false}))
        .send()
        .expect(200);
    let after = on_b.get("/ui/employees");
    assert_eq!(
        after.status, 303,
        "a disabled user's console session on B: {}",
        after.body
    );
    assert!(
        after
            .header("location")
            .is_some_and(|l| l.starts_with("/ui/login")),
        "{:?}",
        after.headers
    );
}

/// The per-username login limit counts every node's failures: failed logins spread round-robin
/// over 3 nodes, all at once; exactly `limit` are checked (401), the rest 429; then the right
/// password is 429 on every node.
#[test]
fn the_login_limit_counts_failures_on_every_node() {
    let Some(cl) = Cluster::start("the_login_limit_counts_failures_on_every_node", 3) else {
        return;
    };
    let staff = Staff::create(cl.node(0), "limit");
    let u = create_user(cl.node(0), &staff.admin.token, "limited-user", "hr");
    const LIMIT: usize = 10; // auth.login_attempts_per_minute's default
    const ATTEMPTS: usize = 36;
    let next = AtomicUsize::new(0);
    let statuses = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= ATTEMPTS {
                        return;
                    }
                    let r = cl.node(i % 3).login_raw(&u.username, "wrong-password-123");
                    statuses.lock().unwrap().push((i % 3, r.status));
                }
            });
        }
    });
    let statuses = statuses.into_inner().unwrap();
    let failed = statuses.iter().filter(|(_, s)| *s == 401).count();
    let limited = statuses.iter().filter(|(_, s)| *s == 429).count();
    assert_eq!(
        (failed, limited),
        (LIMIT, ATTEMPTS - LIMIT),
        "exactly the limit checked across 3 nodes: {statuses:?}"
    );
    for k in 0..3 {
        let r = cl.node(k).login_raw(&u.username, &u.password);
        assert_eq!(r.status, 429, "right password on node {k}: {}", r.text());
    }
}

/// Three nodes × 8 threads × 10 creates at once: every one 201; then one chain: `audit verify
/// --store` counts the head seq, `GET /v1/audit` shows seqs 1..head without a gap and one
/// `employee.create` success per created id, and every node reports the same head.
#[test]
fn three_writers_make_one_chain() {
    let Some(cl) = Cluster::start("three_writers_make_one_chain", 3) else {
        return;
    };
    let staff = Staff::create(cl.node(0), "chain");
    let hr = &staff.hr.token;
    let ids = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for k in 0..3 {
            for _ in 0..8 {
                let (ids, c) = (&ids, cl.node(k));
                s.spawn(move || {
                    for _ in 0..10 {
                        let r = c.post("/v1/employees").token(hr).json(&draft()).send();
                        assert_eq!(r.status, 201, "create on node {k}: {}", r.text());
                        ids.lock()
                            .unwrap()
                            .push(r.json()["id"].as_str().unwrap().to_owned());
                    }
                });
            }
        }
    });
    let ids: BTreeSet<String> = ids.into_inner().unwrap().into_iter().collect();
    assert_eq!(ids.len(), 240, "240 distinct ids");

    let auditor = &staff.auditor.token;
    let heads: Vec<Value> = (0..3)
        .map(|k| {
            cl.node(k)
                .get("/v1/audit/head")
                .token(auditor)
                .send()
                .expect(200)
                .json()
        })
        .collect();
    assert_eq!(heads[0]["seq"], heads[1]["seq"], "{heads:?}");
    assert_eq!(heads[0]["seq"], heads[2]["seq"], "{heads:?}");
    assert_eq!(heads[0]["hash"], heads[1]["hash"], "{heads:?}");
    assert_eq!(heads[0]["hash"], heads[2]["hash"], "{heads:?}");
    let head = heads[0]["seq"].as_u64().unwrap();

    let (entries, verified_head) = cl.verify();
    assert_eq!(
        entries, head,
        "verify counts every entry up to the API's head"
    );
    assert_eq!(verified_head, head, "verify's head is the API's head");

    let all = audit_entries(cl.node(1), auditor, "", 0);
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "seqs 1..head, no gap, in order");
    assert!(seqs.len() as u64 >= head);
    let mut creates = BTreeMap::new();
    for e in &all {
        if e["action"] == "employee.create" && e["outcome"] == "success" {
            *creates
                .entry(e["employee_id"].as_str().unwrap().to_owned())
                .or_insert(0_u32) += 1;
        }
    }
    let created: BTreeSet<String> = creates.keys().cloned().collect();
    assert_eq!(created, ids, "one employee.create success per created id");
    assert!(creates.values().all(|n| *n == 1), "{creates:?}");
    // Each entry links to the one before it.
    for w in all.windows(2) {
        assert_eq!(w[1]["prev_hash"], w[0]["hash"], "seq {}", w[1]["seq"]);
    }
}

/// SIGKILL one of three nodes while all three take creates from several threads: every id
/// that got a 201 (the killed node's too) reads back on a survivor, the chain verifies, and
/// every `employee.create` success names a record that exists.
#[test]
fn a_node_killed_under_write_load_loses_nothing_acknowledged() {
    let Some(cl) = Cluster::start(
        "a_node_killed_under_write_load_loses_nothing_acknowledged",
        3,
    ) else {
        return;
    };
    let staff = Staff::create(cl.node(1), "kill");
    let hr = &staff.hr.token;
    let acked: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let unexpected: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    let killed = AtomicBool::new(false);
    let (mut at_kill, mut survivors_after) = (0, 0);
    std::thread::scope(|s| {
        for k in 0..3 {
            for _ in 0..3 {
                let (acked, unexpected, done, killed, c) =
                    (&acked, &unexpected, &done, &killed, cl.node(k));
                s.spawn(move || {
                    while !done.load(Ordering::SeqCst) {
                        match c.post("/v1/employees").token(hr).json(&draft()).try_send() {
                            Ok(r) if r.status == 201 => acked
                                .lock()
                                .unwrap()
                                .push((k, r.json()["id"].as_str().unwrap().to_owned())),
                            Ok(r) => unexpected.lock().unwrap().push(format!(
                                "node {k}: {} {}",
                                r.status,
                                r.text()
                            )),
                            Err(e) => {
                                if k == 0 && killed.load(Ordering::SeqCst) {
                                    return; // the node is gone
                                }
                                unexpected.lock().unwrap().push(format!("node {k}: {e}"));
                                return;
                            }
                        }
                    }
                });
            }
        }
        let count = |pred: &dyn Fn(usize) -> bool| {
            acked
                .lock()
                .unwrap()
                .iter()
                .filter(|(k, _)| pred(*k))
                .count()
        };
        poll(
            "30 creates before the kill (5 on node 0)",
            WAIT * 3,
            Duration::from_millis(20),
            || (count(&|_| true) >= 30 && count(&|k| k == 0) >= 5).then_some(()),
        );
        killed.store(true, Ordering::SeqCst);
        cl.nodes[0].stop(Stop::Crash);
        at_kill = count(&|k| k != 0);
        poll(
            "30 more creates on the survivors after the kill",
            WAIT * 3,
            Duration::from_millis(20),
            || {
                let n = count(&|k| k != 0);
                (n >= at_kill + 30).then_some(n)
            },
        );
        done.store(true, Ordering::SeqCst);
        survivors_after = count(&|k| k != 0);
    });
    let unexpected = unexpected.into_inner().unwrap();
    assert!(
        unexpected.is_empty(),
        "unexpected outcomes: {unexpected:#?}"
    );
    let acked = acked.into_inner().unwrap();
    let from_killed = acked.iter().filter(|(k, _)| *k == 0).count();
    assert!(from_killed >= 5 && survivors_after >= at_kill + 30);

    let survivor = cl.node(1);
    for (k, id) in &acked {
        let r = read(survivor, hr, id);
        assert_eq!(
            r.status,
            200,
            "id {id} acknowledged by node {k}: {}",
            r.text()
        );
    }
    let (entries, head) = cl.verify();
    assert_eq!(entries, head);

    let creates = audit_entries(
        cl.node(2),
        &staff.auditor.token,
        "action=employee.create",
        0,
    );
    let mut named = BTreeSet::new();
    for e in creates.iter().filter(|e| e["outcome"] == "success") {
        let id = e["employee_id"].as_str().unwrap();
        assert!(named.insert(id.to_owned()), "two create entries for {id}");
        let r = read(survivor, hr, id);
        assert_eq!(
            r.status,
            200,
            "seq {} says {id} was created: {}",
            e["seq"],
            r.text()
        );
    }
    for (_, id) in &acked {
        assert!(named.contains(id), "no create entry for acknowledged {id}");
    }
}

/// The monitor runs on one node and moves: after node A is killed (whichever node held the
/// monitor), a new honeytoken alert raised through B appears within 10 s of the kill; the
/// alert from before the kill is still there once and nothing is doubled. A graceful stop
/// hands the monitor over at once.
#[test]
fn the_monitor_fails_over_within_ten_seconds() {
    let Some(mut cl) = Cluster::start("the_monitor_fails_over_within_ten_seconds", 2) else {
        return;
    };
    let staff = Staff::create(cl.node(0), "failover");
    let sec = staff.security.token.clone();
    let readers: Vec<User> = (1..=4)
        .map(|i| create_user(cl.node(0), &staff.admin.token, &format!("reader-{i}"), "hr"))
        .collect();
    let decoy = cl
        .node(0)
        .post("/v1/honeytokens")
        .token(&sec)
        .json(&draft())
        .send();
    let decoy = decoy.expect(201).json()["id"].as_str().unwrap().to_owned();

    // Before the kill: reader 1 on A raises one alert.
    read(cl.node(0), &readers[0].token, &decoy).expect(200);
    poll(
        "the first honeytoken alert",
        WAIT,
        Duration::from_millis(100),
        || {
            (alerts_for(&alerts(cl.node(1), &sec), "honeytoken_access", "reader-1") > 0)
                .then_some(())
        },
    );

    // Kill A; reader 2 reads on B; the alert must appear within 10 s of the kill.
    cl.nodes[0].stop(Stop::Crash);
    let killed_at = Instant::now();
    read(cl.node(1), &readers[1].token, &decoy).expect(200);
    let deadline = killed_at + Duration::from_secs(10);
    loop {
        if alerts_for(&alerts(cl.node(1), &sec), "honeytoken_access", "reader-2") > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no alert for a honeytoken read on B within 10 s of killing A; B's log:\n{}",
            cl.log_of(1)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let failover = killed_at.elapsed();
    eprintln!("monitor failover after SIGKILL: alert after {failover:?}");

    // A graceful stop of B (which now holds the monitor) hands it to a new node C at once.
    let c = cl.add_node();
    let all = alerts(cl.node(c), &sec);
    assert_eq!(
        alerts_for(&all, "honeytoken_access", "reader-1"),
        1,
        "{all:#?}"
    );
    assert_eq!(
        alerts_for(&all, "honeytoken_access", "reader-2"),
        1,
        "{all:#?}"
    );
    assert_no_doubled_alert(&all);
    cl.nodes[1].stop(Stop::Graceful);
    let stopped_at = Instant::now();
    read(cl.node(c), &readers[2].token, &decoy).expect(200);
    poll(
        "the alert after a graceful stop",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            (alerts_for(&alerts(cl.node(c), &sec), "honeytoken_access", "reader-3") > 0)
                .then_some(())
        },
    );
    let handover = stopped_at.elapsed();
    eprintln!("monitor handover after a graceful stop: alert after {handover:?}");
    // A lease left to expire takes 4-7 s; a handed-over one the standby's next poll (1 s) and
    // the monitor's next pass.
    assert!(
        handover < Duration::from_millis(3500),
        "graceful stop did not hand the monitor over at once: {handover:?}"
    );

    // A last alert as a barrier: everything before it has been evaluated.
    read(cl.node(c), &readers[3].token, &decoy).expect(200);
    poll(
        "the barrier alert",
        WAIT,
        Duration::from_millis(100),
        || {
            (alerts_for(&alerts(cl.node(c), &sec), "honeytoken_access", "reader-4") > 0)
                .then_some(())
        },
    );
    let all = alerts(cl.node(c), &sec);
    for r in ["reader-1", "reader-2", "reader-3", "reader-4"] {
        assert_eq!(alerts_for(&all, "honeytoken_access", r), 1, "{r}: {all:#?}");
    }
    assert_no_doubled_alert(&all);
}

/// PostgreSQL stopped under two running nodes: `/healthz` says 503 `store unavailable` within
/// seconds and an audited request fails closed with 503; PostgreSQL started again: `/healthz`
/// 200 and requests work, without restarting the nodes.
#[test]
fn nodes_ride_out_the_database_going_away() {
    let Some(cl) = Cluster::start("nodes_ride_out_the_database_going_away", 2) else {
        return;
    };
    let staff = Staff::create(cl.node(0), "pgdown");
    let hr = &staff.hr.token;
    let record = create_employee(cl.node(0), hr, &draft());
    let id = record["id"].as_str().unwrap();
    read(cl.node(1), hr, id).expect(200);

    cl.pg.stop_server().unwrap();
    for k in 0..2 {
        let health = poll(
            "/healthz to report the store unavailable",
            Duration::from_secs(10),
            Duration::from_millis(100),
            || {
                let r = cl.node(k).get("/healthz").send();
                (r.status == 503).then_some(r)
            },
        );
        assert_eq!(health.json(), json!({"status": "store unavailable"}));
        let started = Instant::now();
        let r = read(cl.node(k), hr, id);
        assert_eq!(
            r.status,
            503,
            "a read with the database down, node {k}: {}\nnode log:\n{}",
            r.text(),
            cl.log_of(k)
        );
        assert!(!r.text().contains(&record["ssn"].as_str().unwrap()[7..]));
        assert!(started.elapsed() < Duration::from_secs(30));
        let r = cl
            .node(k)
            .post("/v1/employees")
            .token(hr)
            .json(&draft())
            .send();
        assert_eq!(
            r.status,
            503,
            "a create with the database down: {}",
            r.text()
        );
    }

    cl.pg.start_server().unwrap();
    for k in 0..2 {
        poll(
            "/healthz 200 again",
            WAIT,
            Duration::from_millis(100),
            || (cl.node(k).get("/healthz").send().status == 200).then_some(()),
        );
        let r = read(cl.node(k), hr, id);
        assert_eq!(
            r.status,
            200,
            "a read after the database is back, node {k}: {}",
            r.text()
        );
        let r = cl
            .node(k)
            .post("/v1/employees")
            .token(hr)
            .json(&draft())
            .send();
        assert_eq!(
            r.status,
            201,
            "a create after the database is back: {}",
            r.text()
        );
    }
    let (entries, head) = cl.verify();
    assert_eq!(entries, head);
}

/// Base64 forms of `value` whatever its offset in a larger encoded buffer: for each of the
/// three alignments, the characters that depend on `value`'s bytes alone.
fn base64_forms(value: &[u8]) -> Vec<String> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    let mut out = Vec::new();
    for e in &engines {
        for pad in 0..3 {
            let mut buf = vec![0_u8; pad];
            buf.extend_from_slice(value);
            let enc = e.encode(&buf);
            // Skip the chars touched by the padding bytes, and the last (partial) group.
            let skip = if pad == 0 { 0 } else { 4 };
            let whole = (buf.len() / 3) * 4;
            if whole > skip + 4 {
                out.push(enc[skip..whole].to_owned());
            }
        }
    }
    out
}

/// A `pg_dump` (plain format) of the database after records with distinctive sensitive values
/// were created (and one updated) on two nodes holds none of those values: not as text, not the
/// SSN without dashes, not as hex of their bytes, not as base64. It is a real dump: the
/// `hrvault_kv` rows and the audit lines are in it.
#[test]
fn a_pg_dump_holds_no_sensitive_plaintext() {
    let Some(cl) = Cluster::start("a_pg_dump_holds_no_sensitive_plaintext", 2) else {
        return;
    };
    let staff = Staff::create(cl.node(0), "dump");
    let hr = &staff.hr.token;
    let people = [
        (
            "287-65-4321",
            "1983-07-19",
            "4821 Quillfeather Lane",
            "731904586215",
            "07100001",
        ),
        (
            "318-42-9075",
            "1977-11-23",
            "96 Marzipan Crescent Apt 7",
            "5520193847",
            "02600959",
        ),
        (
            "402-17-6638",
            "1995-02-28",
            "1313 Zwieback Boulevard",
            "884400172633",
            "12100035",
        ),
    ];
    let mut secrets: Vec<String> = Vec::new();
    for (i, (ssn, dob, line1, account, routing8)) in people.iter().enumerate() {
        let routing = aba(routing8);
        let mut body = draft();
        body["ssn"] = json!(ssn);
        body["date_of_birth"] = json!(dob);
        body["home_address"]["line1"] = json!(line1);
        body["bank_account"] = json!({"routing_number": routing, "account_number": account});
        let created = create_employee(cl.node(i % 2), hr, &body);
        let id = created["id"].as_str().unwrap();
        // A reveal (audited with its reason) and a read on the other node.
        reveal(cl.node((i + 1) % 2), hr, id, &["ssn", "bank_account"]).expect(200);
        read(cl.node((i + 1) % 2), hr, id).expect(200);
        secrets.extend([
            (*ssn).to_owned(),
            ssn.replace('-', ""),
            (*dob).to_owned(),
            (*line1).to_owned(),
            (*account).to_owned(),
            routing,
        ]);
    }
    // An update of a bank account: the new value is as secret as the old.
    let mut body = draft();
    let new_account = "660011223344";
    body["bank_account"] =
        json!({"routing_number": aba("02100002"), "account_number": "390000111122"});
    let created = create_employee(cl.node(0), hr, &body);
    cl.node(1)
        .patch(&format!("/v1/employees/{}", created["id"].as_str().unwrap()))
        .token(hr)
        .json(&json!({"bank_account": {"routing_number": aba("02100002"), "account_number": new_account}}))
        .send()
        .expect(200);
    secrets.extend(["390000111122".to_owned(), new_account.to_owned()]);

    let port = cl.pg.port().to_string();
    let dump = cl
        .pg
        .tool_output(
            "pg_dump",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "hrvault",
                "-d",
                "vault",
                "--format=plain",
            ],
        )
        .unwrap();
    let dump = String::from_utf8(dump).expect("a plain dump is text");

    // Non-trivial: the tables, their rows and the audit lines are there.
    assert!(
        dump.contains("COPY public.hrvault_kv"),
        "no hrvault_kv data"
    );
    assert!(dump.contains("COPY public.hrvault_audit"), "no audit data");
    assert!(
        dump.contains("COPY public.hrvault_keyslots"),
        "no key slots"
    );
    let kv_rows = dump
        .split("COPY public.hrvault_kv")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| *l != "\\.")
        .count();
    assert!(kv_rows >= 10, "only {kv_rows} hrvault_kv rows");
    let create_lines = dump.matches("employee.create").count();
    assert!(
        create_lines >= 4,
        "{create_lines} employee.create audit lines"
    );
    assert!(dump.contains("employee.reveal"));
    // A control for the scan itself: a value that is not sensitive (the record's
    // `employee_number`, stored in the clear for its unique index) is found by the same forms.
    let number = created["employee_number"].as_str().unwrap();
    assert!(
        dump.contains(number) || dump.contains(&hex::encode(number.as_bytes())),
        "the scan does not even find the non-sensitive employee_number {number}"
    );

    for s in &secrets {
        let mut forms = vec![s.clone(), hex::encode(s.as_bytes())];
        forms.extend(base64_forms(s.as_bytes()));
        for f in forms {
            assert!(!dump.contains(&f), "the dump holds {s:?} (as {f:?})");
        }
    }
}
