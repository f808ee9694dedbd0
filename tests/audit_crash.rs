//! Crash safety of the audit log, against the real binary: `kill -9` under concurrent load loses
//! no acknowledged entry and leaves a chain that verifies; a torn tail is cut and kept aside on
//! restart; damage inside the log is not mistaken for a torn tail.
//!
//! SIGKILL is a process crash, not a power cut: the kernel keeps what `write` handed it. So this
//! proves "appended before acknowledged" and that recovery keeps every complete entry; that the
//! append was also `fdatasync`ed before the response is proven by scripts/prove-group-commit.sh
//! (docs/design/audit-chain.md).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod audit_support;

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use audit_support::{Fixture, Server, USER_PASSWORD, segment_lines, try_call};
use serde_json::Value;

const THREADS: usize = 8;
/// Acknowledged requests to collect before the kill.
const ACKS_BEFORE_KILL: usize = 800;

fn request_ids(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["client_request_id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// Every request that got a 2xx/4xx before `kill -9` is in the log after restart, and the
/// chain verifies (offline and through the API).
#[test]
fn kill_9_under_load_loses_no_acknowledged_entry() {
    let mut f = Fixture::start();
    let readable = f.create_employee(1, None);
    let base = f.server.base.clone();
    let acked_count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut workers = Vec::new();
    for t in 0..THREADS {
        let (base, hr, payroll, readable) = (
            base.clone(),
            f.hr.clone(),
            f.payroll.clone(),
            readable.clone(),
        );
        let (acked_count, stop) = (acked_count.clone(), stop.clone());
        workers.push(std::thread::spawn(move || {
            let agent = audit_support::agent();
            let mut acked = Vec::new();
            let mut server_errors = Vec::new();
            for i in 0u32.. {
                if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    break;
                }
                let rid = format!("crash-{t}-{i}");
                let n = 10_000 + (t as u32) * 100_000 + i;
                let body = audit_support::employee_body(n);
                let result = match i % 4 {
                    0 => try_call(
                        &agent,
                        "POST",
                        &format!("{base}/v1/employees"),
                        Some(&hr),
                        Some(&rid),
                        Some(&body),
                    ),
                    1 => try_call(
                        &agent,
                        "GET",
                        &format!("{base}/v1/employees?limit=5"),
                        Some(&hr),
                        Some(&rid),
                        None,
                    ),
                    2 => try_call(
                        &agent,
                        "GET",
                        &format!("{base}/v1/employees/{readable}"),
                        Some(&payroll),
                        Some(&rid),
                        None,
                    ),
                    _ => try_call(
                        &agent,
                        "POST",
                        &format!("{base}/v1/employees"),
                        Some(&payroll),
                        Some(&rid),
                        Some(&body),
                    ),
                };
                match result {
                    Ok(r) if r.status < 500 => {
                        acked.push(rid);
                        acked_count.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => server_errors.push(format!("{rid}: {} {}", r.status, r.body)),
                    // Refused or reset: the server is gone.
                    Err(_) => break,
                }
            }
            (acked, server_errors)
        }));
    }
    while acked_count.load(Ordering::SeqCst) < ACKS_BEFORE_KILL {
        assert!(Instant::now() < deadline, "load did not get going");
        std::thread::sleep(Duration::from_millis(5));
    }
    f.server.kill(); // SIGKILL while the workers are mid-request
    stop.store(true, Ordering::SeqCst);
    let mut acked = Vec::new();
    for w in workers {
        let (a, errors) = w.join().unwrap();
        assert!(errors.is_empty(), "5xx under load: {errors:?}");
        acked.extend(a);
    }
    assert!(acked.len() >= ACKS_BEFORE_KILL);

    // Restart: recovery, then the chain continues.
    f.server = Server::start(f.vault.dir());
    let auditor = f.server.login("aud1", USER_PASSWORD);
    let v = f
        .server
        .get("/v1/audit/verify", Some(&auditor), None)
        .json();
    assert_eq!(v["ok"], true, "{v}");
    let head_before = v["head"]["seq"].as_u64().unwrap();
    let hr = f.server.login("hr1", USER_PASSWORD);
    let r = f
        .server
        .get("/v1/employees", Some(&hr), Some("after-restart"));
    assert_eq!(r.status, 200);
    let v = f
        .server
        .get("/v1/audit/verify", Some(&auditor), None)
        .json();
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["head"]["seq"].as_u64().unwrap() > head_before);
    f.server.kill();

    let (code, out) = audit_support::verify_dir(f.vault.dir());
    assert_eq!(code, 0, "{out}");
    let logged: HashSet<String> = request_ids(&segment_lines(&f.vault.audit_dir()))
        .into_iter()
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|r| !logged.contains(*r)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged requests are not in the log: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(logged.contains("after-restart"));
}

/// A torn write at the end of the last segment is cut on restart and kept for forensics; every
/// complete entry stays and the chain goes on from it.
#[test]
fn a_torn_tail_is_cut_and_kept_aside_on_restart() {
    let mut f = Fixture::start();
    for i in 0..5 {
        let r = f
            .server
            .get("/v1/employees", Some(&f.hr), Some(&format!("torn-{i}")));
        assert_eq!(r.status, 200);
    }
    f.server.kill();
    let before = segment_lines(&f.vault.audit_dir());
    let seg = audit_support::segments(&f.vault.audit_dir()).pop().unwrap();
    let last = before.last().unwrap();
    // Half of a line (the last one again: as long as a real next entry).
    let mut tail = last.as_bytes()[..last.len() / 2].to_vec();
    tail.extend_from_slice(&[0u8; 512]); // what a power cut can leave after a size update
    std::fs::OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(&tail)
        .unwrap();
    let (code, out) = audit_support::verify_dir(f.vault.dir());
    assert!(
        code == 0 && out.contains("torn write"),
        "offline, before recovery, verify agrees with start-up: a torn tail is not damage: {out}"
    );

    f.server = Server::start(f.vault.dir());
    let kept: Vec<_> = std::fs::read_dir(f.vault.audit_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("torn-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read(&kept[0]).unwrap(),
        tail,
        "the cut bytes are kept as they were"
    );
    assert_eq!(
        segment_lines(&f.vault.audit_dir()),
        before,
        "every complete entry stays"
    );
    let hr = f.server.login("hr1", USER_PASSWORD);
    assert_eq!(
        f.server
            .get("/v1/employees", Some(&hr), Some("after-torn"))
            .status,
        200
    );
    f.server.kill();
    let (code, out) = audit_support::verify_dir(f.vault.dir());
    assert_eq!(code, 0, "{out}");
    let ids = request_ids(&segment_lines(&f.vault.audit_dir()));
    for i in 0..5 {
        assert!(ids.contains(&format!("torn-{i}")));
    }
    assert!(ids.contains(&"after-torn".to_owned()));
}

/// Start-up recovery may only cut what a crash can tear: the unacknowledged tail. A complete,
/// well-formed entry that fails its hash, followed by more entries, is tampering or disk damage:
/// start-up must refuse (or keep the bytes in place) so that `audit verify` still names it.
#[test]
fn damage_inside_the_log_is_not_cut_as_a_torn_tail() {
    let mut f = Fixture::start();
    for i in 0..10 {
        let r = f
            .server
            .get("/v1/employees", Some(&f.hr), Some(&format!("kept-{i}")));
        assert_eq!(r.status, 200);
    }
    f.server.kill();
    let seg = audit_support::segments(&f.vault.audit_dir()).pop().unwrap();
    let text = std::fs::read_to_string(&seg).unwrap();
    let edited = text.replacen("(hr1, role hr)", "(hr1, role HR)", 1);
    assert_ne!(edited, text);
    std::fs::write(&seg, &edited).unwrap();
    let (code, out) = audit_support::verify_dir(f.vault.dir());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("seq 3:"), "{out}");

    match Server::try_start(f.vault.dir()) {
        Err(refused) => assert!(refused.contains("audit"), "{refused}"),
        Ok(mut s) => {
            s.kill();
            let (code, out) = audit_support::verify_dir(f.vault.dir());
            assert!(
                code == 1 && out.contains("seq 3:"),
                "the edit of entry 3 must stay visible: {out}"
            );
            let ids = request_ids(&segment_lines(&f.vault.audit_dir()));
            for i in 0..10 {
                assert!(
                    ids.contains(&format!("kept-{i}")),
                    "acknowledged kept-{i} was cut"
                );
            }
        }
    }
}
