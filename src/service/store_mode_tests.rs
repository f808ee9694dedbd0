//! A vault in a PostgreSQL store (cluster mode), opened as two nodes in one process: each
//! `Vault` has its own pool, writer thread, caches and keyring, as two `serve` processes would.

use std::sync::Arc;

use secrecy::SecretString;

use super::testing_support::{draft, user};
use super::{
    InitOptions, Location, RecordRef, RequestCtx, ServiceError, UserPatch, Vault, VaultError,
    VerifyReport,
};
use crate::clock::{FixedClock, SharedClock};
use crate::config::Settings;
use crate::crypto::{KdfParams, PasswordHasher};
use crate::monitor::Rule;
use crate::testing::pg::PgCluster;

const PASS: &str = "test passphrase";

fn clock() -> SharedClock {
    // Monday 10:00 UTC: inside business hours, so only the rules a test means can fire.
    Arc::new(FixedClock::new(
        "2026-03-16T10:00:00Z".parse().expect("a timestamp"),
    ))
}

fn hasher() -> Arc<PasswordHasher> {
    Arc::new(PasswordHasher::danger_insecure_fast().expect("hasher"))
}

fn opts() -> InitOptions {
    InitOptions {
        passphrase: SecretString::from(PASS.to_owned()),
        admin_password: Some(SecretString::from("admin-password".to_owned())),
        kdf: KdfParams::danger_insecure_fast().expect("kdf"),
        hasher: hasher(),
    }
}

async fn open(url: &str, pass: &str) -> Result<Vault, VaultError> {
    Vault::open_store(
        url,
        &SecretString::from(pass.to_owned()),
        Settings::default(),
        clock(),
        hasher(),
    )
    .await
}

/// A new vault in database `name`, opened as two nodes.
async fn two_nodes(pg: &PgCluster, name: &str) -> (String, Vault, Vault) {
    let url = pg.create_database(name).expect("database");
    Vault::init_store(&url, opts(), clock())
        .await
        .expect("init");
    let a = open(&url, PASS).await.expect("node a");
    let b = open(&url, PASS).await.expect("node b");
    (url, a, b)
}

fn intact_entries(r: VerifyReport) -> u64 {
    match r {
        VerifyReport::Intact { entries, .. } => entries,
        broken => panic!("the chain should verify: {broken:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_on_a_store_then_open_refuses_a_wrong_passphrase_and_a_second_init() {
    let Some(pg) = crate::testing::pg::require("store_init_open") else {
        return;
    };
    let url = pg.create_database("lifecycle").unwrap();
    assert!(
        matches!(open(&url, PASS).await, Err(VaultError::NotAVault(_))),
        "an empty database holds no vault"
    );
    // Two inits racing on one database: exactly one wins (the key file is compare-and-set).
    let location = Location::Store(url.clone());
    let (x, y) = tokio::join!(
        Vault::init_at(&location, opts(), clock()),
        Vault::init_at(&location, opts(), clock())
    );
    assert_eq!(
        [&x, &y].iter().filter(|r| r.is_ok()).count(),
        1,
        "one init wins"
    );
    let refused = x.err().or(y.err()).unwrap();
    assert!(
        matches!(
            refused,
            VaultError::AlreadyExists(_) | VaultError::NotEmpty(_)
        ),
        "{refused}"
    );
    let secret = Location::Store("postgresql://u:hunter22@db.example:5433/hr".to_owned());
    for shown in [format!("{secret}"), format!("{secret:?}")] {
        assert!(!shown.contains("hunter22"), "{shown}");
        assert!(shown.contains("database hr on db.example:5433"), "{shown}");
    }
    let again = Vault::init_store(&url, opts(), clock())
        .await
        .err()
        .unwrap();
    assert!(matches!(again, VaultError::AlreadyExists(_)), "{again}");
    assert!(
        again
            .to_string()
            .contains("database lifecycle on 127.0.0.1:"),
        "{again}"
    );

    let wrong = open(&url, "not the passphrase").await.err().unwrap();
    assert!(matches!(wrong, VaultError::WrongPassphrase(_)), "{wrong}");
    assert!(wrong.to_string().contains("database lifecycle"), "{wrong}");

    let v = Vault::open_at(
        &location,
        &SecretString::from(PASS.to_owned()),
        Settings::default(),
        clock(),
        hasher(),
    )
    .await
    .unwrap();
    assert!(v.data_dir().is_none());
    let ctx = RequestCtx::default();
    let grant = v
        .login(
            &ctx,
            "admin",
            SecretString::from("admin-password".to_owned()),
        )
        .await
        .unwrap();
    let admin = v.authenticate(&ctx, &grant.access_token).await.unwrap();
    assert_eq!(admin.username, "admin");
    // The first admin was audited exactly like a data dir's: entry 1, by the vault itself.
    let chain = v.shared_chain().unwrap();
    assert_eq!(
        chain.head().unwrap().seq,
        2,
        "init's entry, then this login"
    );
    let aud = user(&v, "aud", "auditor", None).await;
    let first = v.inner.reader.read_range(0, 1, 1).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].action, "user.create");
    assert!(first[0].actor.user_id.is_none());
    assert_eq!(
        intact_entries(v.verify_audit(&aud, &ctx).await.unwrap()),
        3,
        "init, login, the auditor's creation"
    );
    // An altered line in the database is found, by the position where the chain breaks.
    let port = pg.port().to_string();
    pg.tool_output(
        "psql",
        &[
            "-h", "127.0.0.1", "-p", &port, "-U", "hrvault", "-d", "lifecycle", "-c",
            "UPDATE hrvault_audit SET line = replace(line, '\"success\"', '\"denied\"') WHERE seq = 2",
        ],
    )
    .unwrap();
    match v.verify_audit(&aud, &ctx).await.unwrap() {
        VerifyReport::Broken { first_bad_seq, .. } => assert_eq!(first_bad_seq, 2),
        intact => panic!("an altered entry must not verify: {intact:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_records_users_revocation_and_one_chain() {
    let Some(pg) = crate::testing::pg::require("store_two_nodes") else {
        return;
    };
    let (_url, a, b) = two_nodes(&pg, "nodes").await;
    let ctx = RequestCtx::default();
    let hr_a = user(&a, "hr", "hr", None).await;
    let aud_a = user(&a, "aud", "auditor", None).await;

    // A record created on A reads on B at once.
    let created = a
        .create_employee(&hr_a, &ctx, Ok(draft("E-1", "123-45-6789")), Ok(None))
        .await
        .unwrap();
    let hr_b = b.principal_named("hr").unwrap();
    let read = b
        .get_employee(&hr_b, &ctx, RecordRef::parse(&created.id))
        .await
        .unwrap();
    assert_eq!(read.employee_number, "E-1");

    // A user disabled on A is refused on B at its next request.
    let grant = b
        .login(&ctx, "hr", SecretString::from("password-1".to_owned()))
        .await
        .unwrap();
    b.authenticate(&ctx, &grant.access_token).await.unwrap();
    let admin_a = a.principal_named("admin").unwrap();
    a.update_user(
        &admin_a,
        &ctx,
        &hr_a.user_id.to_string(),
        Ok(UserPatch {
            enabled: Some(false),
            role: None,
        }),
    )
    .await
    .unwrap();
    assert!(matches!(
        b.authenticate(&ctx, &grant.access_token).await,
        Err(ServiceError::Unauthorized)
    ));

    // Concurrent creates on both nodes: one gap-free chain, intact from either node.
    let hr2 = user(&a, "hr2", "hr", None).await;
    let hr2_b = b.principal_named("hr2").unwrap();
    let before = a.shared_chain().unwrap().head().unwrap().seq;
    let per_node = 10u64;
    let mut tasks = Vec::new();
    for i in 0..per_node {
        for (node, who, tag) in [(&a, &hr2, "a"), (&b, &hr2_b, "b")] {
            let (v, p) = (node.clone(), who.clone());
            tasks.push(tokio::spawn(async move {
                let ssn = format!("{}{:02}-11-1111", if tag == "a" { 2 } else { 3 }, i);
                v.create_employee(
                    &p,
                    &RequestCtx::default(),
                    Ok(draft(&format!("{tag}-{i}"), &ssn)),
                    Ok(None),
                )
                .await
                .map(|_| ())
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let head = b.shared_chain().unwrap().head().unwrap().seq;
    assert_eq!(
        head,
        before + 2 * per_node,
        "one entry per create, none lost"
    );
    let aud_b = b.principal_named("aud").unwrap();
    assert_eq!(
        intact_entries(a.verify_audit(&aud_a, &ctx).await.unwrap()),
        head
    );
    assert_eq!(
        intact_entries(b.verify_audit(&aud_b, &ctx).await.unwrap()),
        head
    );
    // B's signed checkpoint and queries name the whole chain's head, A's entries included.
    a.create_employee(&hr2, &ctx, Ok(draft("last", "401-22-3333")), Ok(None))
        .await
        .unwrap();
    let head = head + 1;
    assert_eq!(b.audit_checkpoint(&aud_b, &ctx).await.unwrap().seq, head);
    let page = b.inner.reader.read_range(0, head, usize::MAX).unwrap();
    let seqs: Vec<u64> = page.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "gap-free, one order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_honeytoken_planted_on_one_node_alerts_when_read_on_another() {
    let Some(pg) = crate::testing::pg::require("store_honeytoken") else {
        return;
    };
    let (_url, a, b) = two_nodes(&pg, "decoys").await;
    let ctx = RequestCtx::default();
    let sec = user(&a, "sec", "security", None).await;
    let hr = user(&a, "hr", "hr", None).await;
    let decoy = a
        .create_honeytoken(&sec, &ctx, Ok(draft("D-1", "487-65-4321")))
        .await
        .unwrap();
    let id: crate::model::EmployeeId = decoy.id.parse().unwrap();
    assert!(b.inner.honeytokens.snapshot(&b.inner.store).contains(&id));

    b.get_employee(&hr, &ctx, RecordRef::parse(&decoy.id))
        .await
        .unwrap();
    // B's monitor, tailing the shared chain, sees B's read of A's decoy.
    let mut runner = super::monitor_task::Runner::start(&b).unwrap();
    assert!(runner.catch_up().unwrap() >= 1);
    let alerts: Vec<_> = a
        .inner
        .store
        .alerts()
        .unwrap()
        .into_iter()
        .filter(|al| al.rule == Rule::HoneytokenAccess)
        .collect();
    assert_eq!(alerts.len(), 1, "raised once, visible on every node");
    assert_eq!(alerts[0].employee_id, Some(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_and_its_entry_commit_together_or_not_at_all() {
    let Some(pg) = crate::testing::pg::require("store_change_with_entry") else {
        return;
    };
    let (_url, a, b) = two_nodes(&pg, "atomic").await;
    let hr_a = user(&a, "hr", "hr", None).await;
    let hr_b = b.principal_named("hr").unwrap();
    // Both nodes race to create the same employee numbers: each node's own pre-check passes,
    // so only the transaction that commits the record with its entry decides.
    let rounds = 12;
    let mut tasks = Vec::new();
    for i in 0..rounds {
        for (node, who, ssn_area) in [(&a, &hr_a, 2), (&b, &hr_b, 3)] {
            let (v, p) = (node.clone(), who.clone());
            tasks.push(tokio::spawn(async move {
                let ssn = format!("{ssn_area}{i:02}-22-2222");
                v.create_employee(
                    &p,
                    &RequestCtx::default(),
                    Ok(draft(&format!("RACE-{i}"), &ssn)),
                    Ok(None),
                )
                .await
                .map(|view| view.id)
            }));
        }
    }
    let mut created = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => created.push(id),
            Err(ServiceError::Conflict { .. }) => {}
            Err(e) => panic!("a create failed otherwise: {e:?}"),
        }
    }
    assert_eq!(created.len(), rounds, "one winner per employee number");
    let head = a.shared_chain().unwrap().head().unwrap().seq;
    let entries = a.inner.reader.read_range(0, head, usize::MAX).unwrap();
    let creates: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "employee.create")
        .collect();
    let success: Vec<String> = creates
        .iter()
        .filter(|e| e.outcome == "success")
        .map(|e| e.employee_id.clone().unwrap().into_owned())
        .collect();
    let mut want = created.clone();
    want.sort();
    let mut got = success.clone();
    got.sort();
    assert_eq!(
        got, want,
        "a success entry for exactly the records that exist: none for a refused change"
    );
    assert_eq!(
        creates.iter().filter(|e| e.outcome == "error").count(),
        rounds,
        "each loser is recorded as an error"
    );
    let stored = a
        .inner
        .store
        .employees_after(None)
        .filter(|r| r.as_ref().is_ok_and(|e| e.live().is_some()))
        .count();
    assert_eq!(stored, rounds);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_runs_on_one_node_and_a_node_that_lost_it_cannot_commit() {
    let Some(pg) = crate::testing::pg::require("store_monitor_duty") else {
        return;
    };
    let (_url, a, b) = two_nodes(&pg, "duty").await;
    let ctx = RequestCtx::default();
    let sec = user(&a, "sec", "security", None).await;
    let hr = user(&a, "hr", "hr", None).await;
    let (mut duty_a, mut duty_b) = (a.duty(super::duty::MONITOR), b.duty(super::duty::MONITOR));
    assert!(duty_a.hold(), "the first node to ask takes the monitor");
    assert!(!duty_b.hold(), "the other stands by");
    let decoy = |n: &'static str, ssn: &'static str| {
        let (a, sec) = (a.clone(), sec.clone());
        async move {
            a.create_honeytoken(&sec, &RequestCtx::default(), Ok(draft(n, ssn)))
                .await
                .unwrap()
                .id
        }
    };
    let first = decoy("D-1", "487-65-4321").await;
    b.get_employee(&hr, &ctx, RecordRef::parse(&first))
        .await
        .unwrap();
    let mut on_a = super::monitor_task::Runner::start(&a).unwrap();
    on_a.set_fence(duty_a.fence());
    assert_eq!(
        on_a.catch_up().unwrap(),
        1,
        "A raises the alert for B's read"
    );

    // A steps down (a clean shutdown); B takes over at once, from the committed cursor.
    a.step_down();
    assert!(duty_b.hold(), "B takes the monitor over");
    assert!(!duty_a.hold(), "a node stepping down takes no duty");
    // Another reader: an open alert for the same user would only gain evidence.
    let hr2 = user(&a, "hr2", "hr", None).await;
    let second = decoy("D-2", "487-65-4322").await;
    a.get_employee(&hr2, &ctx, RecordRef::parse(&second))
        .await
        .unwrap();
    // A's runner still thinks it is the monitor: its commit is refused by the fence.
    assert!(
        on_a.catch_up().is_err(),
        "the old holder's fence refuses it"
    );
    let mut on_b = super::monitor_task::Runner::start(&b).unwrap();
    on_b.set_fence(duty_b.fence());
    assert_eq!(on_b.catch_up().unwrap(), 1, "B raises only the new alert");
    let alerts: Vec<_> = b
        .inner
        .store
        .alerts()
        .unwrap()
        .into_iter()
        .filter(|al| al.rule == Rule::HoneytokenAccess)
        .collect();
    assert_eq!(
        alerts.len(),
        2,
        "one alert per decoy read: none lost, none doubled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_lists_are_kept_in_the_store_and_served_by_every_node() {
    let Some(pg) = crate::testing::pg::require("store_id_lists") else {
        return;
    };
    let (_url, a, b) = two_nodes(&pg, "lists").await;
    let ctx = RequestCtx::default();
    let aud = user(&a, "aud", "auditor", None).await;
    let ids: Vec<crate::model::EmployeeId> = (0..50)
        .map(|_| uuid::Uuid::new_v4().to_string().parse().unwrap())
        .collect();
    let digest = a.keep_id_list(&ids).unwrap();
    assert_eq!(b.kept_ids(&digest).unwrap(), ids);
    let bytes = b.id_list(&aud, &ctx, &digest).await.unwrap();
    let text: String = ids.iter().map(|i| format!("{i}\n")).collect();
    assert_eq!(bytes, text.into_bytes());
    assert_eq!(
        a.keep_id_list(&ids).unwrap(),
        digest,
        "keeping it again is a no-op"
    );
    // A tampered value is refused, never served.
    a.inner
        .store
        .set_meta(&format!("id-list/{digest}"), b"not the list\n")
        .unwrap();
    assert!(matches!(
        b.id_list(&aud, &ctx, &digest).await,
        Err(ServiceError::Internal)
    ));
    assert!(matches!(
        b.id_list(&aud, &ctx, &"0".repeat(64)).await,
        Err(ServiceError::NotFound)
    ));
    let left: Vec<_> = std::fs::read_dir(a.local_dir()).unwrap().collect();
    assert!(
        left.is_empty(),
        "nothing left in the node's temp dir: {left:?}"
    );

    // The import spool is a local temporary file too.
    let csv = "employee_number,first_name,last_name,department,hire_date,ssn,date_of_birth\n\
               I-1,A,B,R&D,2026-01-15,555-12-3456,1990-04-01\n";
    let report = a
        .import_csv(csv.as_bytes(), "test.csv", false)
        .await
        .unwrap();
    assert_eq!(report.imported, 1);
    let hr_b = user(&b, "hr", "hr", None).await;
    b.get_employee(&hr_b, &ctx, RecordRef::from(report.ids[0]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_on_a_store_replaces_the_key_file_and_a_restarted_node_reads_everything() {
    let Some(pg) = crate::testing::pg::require("store_keys_rotate") else {
        return;
    };
    let (url, a, b) = two_nodes(&pg, "rotate").await;
    let ctx = RequestCtx::default();
    let hr = user(&a, "hr", "hr", None).await;
    let rec = a
        .create_employee(&hr, &ctx, Ok(draft("E-1", "123-45-6789")), Ok(None))
        .await
        .unwrap();
    let before = a.key_file_bytes().unwrap();
    let report = a
        .rotate_master_key(&SecretString::from(PASS.to_owned()))
        .await
        .unwrap();
    assert_eq!(report.version, 2);
    assert_eq!(report.rewrapped, 1);
    let after = b.key_file_bytes().unwrap();
    assert_ne!(before, after, "the key file in the store was replaced");
    // Every node sees the new key file; a node started after the rotation reads every record.
    let c = open(&url, PASS).await.unwrap();
    let hr_c = c.principal_named("hr").unwrap();
    let read = c
        .get_employee(&hr_c, &ctx, RecordRef::parse(&rec.id))
        .await
        .unwrap();
    assert_eq!(read.employee_number, "E-1");
    // A node unsealed before the rotation holds the old keyring (the passphrase is not kept, so
    // it cannot unwrap master key v2): it refuses the re-wrapped record rather than serving
    // anything wrong, until it is restarted (docs/design/cluster.md: restart every node after
    // `keys rotate`).
    let hr_b = b.principal_named("hr").unwrap();
    assert!(
        b.get_employee(&hr_b, &ctx, RecordRef::parse(&rec.id))
            .await
            .is_err()
    );
    // A rotation racing another from a stale key file loses its compare-and-set.
    let stale = a
        .inner
        .store
        .replace_meta(super::lifecycle::KEY_FILE_META, Some(&before), b"x");
    assert!(stale.is_err());
    assert_eq!(c.key_file_bytes().unwrap(), after);
}

/// An import and a payroll export past `INLINE_IDS` on a store: their id lists are store
/// values named by the entries, served by the other node, and nothing is left on local disk.
/// Slow (about 2 minutes on 2 cores: the import stores 10 001 rows one transaction each), so
/// ignored by default; `id_lists_are_kept_in_the_store_and_served_by_every_node` covers the same
/// code cheaply. Run with `cargo test --lib store_mode -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: 10 001 rows imported into PostgreSQL; run with --ignored"]
async fn large_imports_and_exports_keep_their_id_lists_in_the_store() {
    let Some(pg) = crate::testing::pg::require("store_large_id_lists") else {
        return;
    };
    let (_url, a, b) = two_nodes(&pg, "large").await;
    let n = super::INLINE_IDS + 1;
    let mut csv =
        String::from("employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n");
    for i in 0..n {
        csv.push_str(&format!(
            "E{i},A,B,2026-01-15,{:03}-{:02}-{:04},1990-04-01\n",
            100 + i / 9000,
            1 + (i / 100) % 90,
            1 + i % 9999
        ));
    }
    let report = a
        .import_csv(csv.as_bytes(), "big.csv", false)
        .await
        .unwrap();
    assert_eq!((report.imported, report.rejected.len()), (n, 0));
    let ctx = RequestCtx::default();
    let _ = user(&a, "pay", "payroll", None).await;
    let aud = user(&a, "aud", "auditor", None).await;
    let pay_b = b.principal_named("pay").unwrap();
    let mut rx = b.payroll_export(&pay_b, &ctx, Ok(None)).await.unwrap();
    let mut lines = 0;
    while let Some(chunk) = rx.recv().await {
        lines += chunk.unwrap().iter().filter(|&&c| c == b'\n').count();
    }
    assert_eq!(lines, n);

    let head = a.shared_chain().unwrap().head().unwrap().seq;
    let entries = a.inner.reader.read_range(0, head, usize::MAX).unwrap();
    for action in ["employee.import", "employee.export"] {
        let e = entries.iter().rev().find(|e| e.action == action).unwrap();
        assert!(e.employee_ids.is_none(), "{action}: too many ids to inline");
        let digest = e
            .reason
            .as_deref()
            .unwrap()
            .rsplit("sha256 ")
            .next()
            .unwrap()
            .trim_end_matches(')')
            .to_owned();
        // Kept by the node that wrote the entry, served by the other.
        let list = a.id_list(&aud, &ctx, &digest).await.unwrap();
        assert_eq!(list.iter().filter(|&&c| c == b'\n').count(), n, "{action}");
        assert_eq!(b.kept_ids(&digest).unwrap().len(), n, "{action}");
    }
    for v in [&a, &b] {
        let left: Vec<_> = std::fs::read_dir(v.local_dir()).unwrap().collect();
        assert!(left.is_empty(), "plans and spools are removed: {left:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_refused_without_showing_its_password() {
    // Port 1: nothing listens; no PostgreSQL needed.
    let url = "postgresql://u:hunter22@127.0.0.1:1/hr";
    let err = open(url, PASS).await.err().unwrap();
    assert!(matches!(err, VaultError::Store(_)), "{err}");
    assert!(!err.to_string().contains("hunter22"), "{err}");
    let err = Vault::init_store(url, opts(), clock()).await.err().unwrap();
    assert!(!err.to_string().contains("hunter22"), "{err}");
}
