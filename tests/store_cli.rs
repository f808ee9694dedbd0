//! The command line on a PostgreSQL store (CONTRACT §6), through the real binary: `--store URL`
//! (or `HRVAULT_STORE_URL`) on every vault command, exactly one of it and `--data-dir`, the URL
//! never printed, `audit verify|export --store`, and `store copy` from a data dir with the same
//! audit head on both sides. Each test starts its own throw-away PostgreSQL
//! (`hrvault::testing::pg::require`: SKIPPED without one, a failure under `CI=true`).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use hrvault::testing::pg::PgCluster;
use serde_json::{Value, json};

#[track_caller]
fn assert_exit(out: &Output, expected: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(expected),
        "{what}: exit code; stdout: {} stderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `hrvault ARGS... --store URL` with the test passphrase and admin password.
fn on_store(args: &[&str], url: &str) -> Command {
    let mut c = hrvault();
    c.args(args)
        .args(["--store", url])
        .env("HRVAULT_PASSPHRASE", PASSPHRASE)
        .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
    c
}

/// Everything a command printed, for "never shows X" checks.
fn all_output(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// `psql -c SQL` on database `db` of `pg`.
fn psql(pg: &PgCluster, db: &str, sql: &str) -> String {
    let port = pg.port().to_string();
    let out = pg
        .tool_output(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "hrvault",
                "-d",
                db,
                "-tA",
                "-c",
                sql,
            ],
        )
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// The `ok: audit chain intact: ...` line of `audit verify`, asserting exit 0.
#[track_caller]
fn verified(cmd: Command) -> String {
    let out = run(cmd);
    assert_exit(&out, 0, "audit verify");
    let line = text(&out.stdout);
    assert!(line.starts_with("ok: audit chain intact: "), "{line}");
    line.lines().next().unwrap().to_owned()
}

fn verify_store(url: &str) -> Command {
    let mut c = hrvault();
    c.args(["audit", "verify", "--store", url]);
    c
}

fn verify_dir(dir: &Path) -> Command {
    let mut c = hrvault();
    c.args(["audit", "verify", "--data-dir"]).arg(dir);
    c
}

/// A server on `url`, logs in `logs`.
fn serve_store(url: &str, logs: &Path) -> Server {
    Server::start_with(
        Path::new("/nonexistent-data-dir"),
        logs,
        ServeOpts {
            store: Some(url),
            ..ServeOpts::default()
        },
    )
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("hrvault-store-cli-")
        .tempdir()
        .unwrap()
}

/// `init --store` (from `HRVAULT_STORE_URL`), a second `init` refused, `serve --store` serving
/// a record, `audit verify --store` (then exit 1 naming the seq after one line is altered in
/// the table) and `audit export --store` agreeing with the API.
#[test]
fn init_serve_verify_and_export_on_a_store() {
    let Some(pg) = hrvault::testing::pg::require("init_serve_verify_and_export_on_a_store") else {
        return;
    };
    let url = pg.create_database("vault").unwrap();
    let logs = tmp();

    // init from the environment variable alone.
    let mut init = hrvault();
    init.arg("init")
        .env("HRVAULT_STORE_URL", &url)
        .env("HRVAULT_PASSPHRASE", PASSPHRASE)
        .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let out = run(init);
    assert_exit(&out, 0, "init --store (HRVAULT_STORE_URL)");
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!(
            "created a new vault in database vault on 127.0.0.1:{}",
            pg.port()
        )),
        "{said}"
    );
    assert!(!all_output(&out).contains(&url), "the URL was printed");

    // A second init on the same store: refused, exit 2, nothing changed.
    let head_before = psql(&pg, "vault", "SELECT seq, hash FROM hrvault_chain_head");
    let out = run(on_store(&["init"], &url));
    assert_exit(&out, 2, "second init");
    assert!(
        text(&out.stderr).contains("already holds a vault"),
        "{}",
        text(&out.stderr)
    );
    assert!(!all_output(&out).contains(&url));
    assert_eq!(
        psql(&pg, "vault", "SELECT seq, hash FROM hrvault_chain_head"),
        head_before
    );

    // serve: admin logs in, hr creates a record, reads it back.
    let server = serve_store(&url, logs.path());
    let c = server.client();
    let admin = c.login("admin", ADMIN_PASSWORD);
    let hr = create_user(c, &admin, "store-hr", "hr");
    let auditor = create_user(c, &admin, "store-auditor", "auditor");
    let body = draft();
    let created = create_employee(c, &hr.token, &body);
    let id = created["id"].as_str().unwrap();
    let read = c
        .get(&format!("/v1/employees/{id}"))
        .token(&hr.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(read["employee_number"], created["employee_number"]);
    let api_entries = audit_entries(c, &auditor.token, "", 0);
    assert!(api_entries.len() >= 4, "{api_entries:?}");
    drop(server);

    // verify: ok, offline, without the passphrase; appends nothing.
    let line = verified(verify_store(&url));
    let head = psql(&pg, "vault", "SELECT seq, hash FROM hrvault_chain_head");
    let (seq, hash) = head.trim().split_once('|').unwrap();
    assert!(
        line.ends_with(&format!("head seq {seq} hash {hash}")),
        "{line} vs {head}"
    );
    assert_eq!(
        psql(&pg, "vault", "SELECT seq, hash FROM hrvault_chain_head"),
        head,
        "verify wrote nothing"
    );

    // export jsonl: what the API showed, line for line (the export also has the entries of
    // the API's own audit reads, after them).
    let mut export = hrvault();
    export.args(["audit", "export", "--format", "jsonl", "--store", &url]);
    let out = run(export);
    assert_exit(&out, 0, "audit export --store");
    let exported: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exported.len().to_string(), seq, "every entry exported");
    for e in &api_entries {
        let n = e["seq"].as_u64().unwrap() as usize;
        assert_eq!(&exported[n - 1], e, "entry {n}");
    }
    let mut ocsf = hrvault();
    ocsf.args(["audit", "export", "--format", "ocsf", "--store", &url]);
    let out = run(ocsf);
    assert_exit(&out, 0, "audit export --format ocsf --store");
    let first: Value = serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["class_uid"], 6003);

    // The offline commands that unseal, on the store: import, keys rotate, users recover.
    let csv = logs.path().join("rows.csv");
    std::fs::write(
        &csv,
        format!(
            "employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n\
             {},Ada,Lovelace,2026-01-15,{},1990-01-01\n",
            unique_number(),
            unique_ssn()
        ),
    )
    .unwrap();
    let mut import = on_store(&["import"], &url);
    import.arg("--csv").arg(&csv);
    let out = run(import);
    assert_exit(&out, 0, "import --store");
    assert!(
        text(&out.stdout).contains("imported 1 of 1 rows"),
        "{}",
        text(&out.stdout)
    );
    let out = run(on_store(&["keys", "rotate"], &url));
    assert_exit(&out, 0, "keys rotate --store");
    assert!(
        text(&out.stdout).contains("master key rotated to version 2"),
        "{}",
        text(&out.stdout)
    );
    let mut recover = on_store(&["users", "recover"], &url);
    recover.env("HRVAULT_ADMIN_PASSWORD", "recovered-admin-pw-1");
    let out = run(recover);
    assert_exit(&out, 0, "users recover --store");
    let server = serve_store(&url, logs.path());
    let c = server.client();
    c.login("admin", "recovered-admin-pw-1");
    let hr2 = c.login("store-hr", &hr.password);
    let again = c
        .post(&format!("/v1/employees/{id}/reveal"))
        .token(&hr2)
        .json(&json!({"fields": ["ssn"], "reason": "payroll correction ticket PAY-77"}))
        .send()
        .expect(200)
        .json();
    assert_eq!(again["ssn"], body["ssn"], "readable after the rotation");
    drop(server);
    verified(verify_store(&url));

    // One line altered in the table: verify fails (exit 1) naming its seq.
    psql(
        &pg,
        "vault",
        "UPDATE hrvault_audit SET line = replace(line, '\"outcome\":\"success\"', '\"outcome\":\"failure\"') WHERE seq = 2",
    );
    let out = run(verify_store(&url));
    assert_exit(&out, 1, "verify after an altered line");
    let said = text(&out.stdout);
    assert!(said.starts_with("FAILED: first bad entry seq 2"), "{said}");
}

/// Neither or both of `--data-dir` and `--store` (and for `audit verify`, `--file` too): exit 2
/// with a message saying so, on every command. Needs no database.
#[test]
fn exactly_one_location_or_exit_2() {
    let dir = tmp();
    let url = "postgresql://hrvault:do-not-print-me@127.0.0.1:1/none";
    let commands: &[&[&str]] = &[
        &["init"],
        &["serve"],
        &["audit", "verify"],
        &["audit", "export"],
        &["keys", "rotate"],
        &["import", "--csv", "x.csv"],
        &["users", "recover"],
    ];
    for args in commands {
        let mut neither = hrvault();
        neither.args(*args).env("HRVAULT_PASSPHRASE", PASSPHRASE);
        let out = run(neither);
        assert_exit(&out, 2, &format!("{args:?} with neither"));
        assert!(
            text(&out.stderr).contains("--data-dir"),
            "{args:?}: {}",
            text(&out.stderr)
        );

        let mut both = hrvault();
        both.args(*args)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--store", url])
            .env("HRVAULT_PASSPHRASE", PASSPHRASE);
        let out = run(both);
        assert_exit(&out, 2, &format!("{args:?} with both"));
        assert!(!all_output(&out).contains("do-not-print-me"), "{args:?}");

        // The environment variable counts as --store.
        let mut env_both = hrvault();
        env_both
            .args(*args)
            .arg("--data-dir")
            .arg(dir.path())
            .env("HRVAULT_STORE_URL", url)
            .env("HRVAULT_PASSPHRASE", PASSPHRASE);
        let out = run(env_both);
        assert_exit(
            &out,
            2,
            &format!("{args:?} with --data-dir and HRVAULT_STORE_URL"),
        );
        assert!(!all_output(&out).contains("do-not-print-me"), "{args:?}");
    }
    let mut file_and_store = hrvault();
    file_and_store.args(["audit", "verify", "--file", "x.jsonl", "--store", url]);
    let out = run(file_and_store);
    assert_exit(&out, 2, "verify --file --store");

    // The data-dir seams are refused on a store (before any connection).
    let out = run(on_store(
        &["serve", "--danger-accept-damaged-audit-log"],
        url,
    ));
    assert_exit(&out, 2, "serve --store --danger-accept-damaged-audit-log");
    assert!(!all_output(&out).contains("do-not-print-me"));

    // `--help` does not show the environment's URL.
    let mut help = hrvault();
    help.args(["serve", "--help"]).env("HRVAULT_STORE_URL", url);
    let out = run(help);
    assert_exit(&out, 0, "serve --help");
    assert!(text(&out.stdout).contains("--store"));
    assert!(!all_output(&out).contains("do-not-print-me"));
}

/// A store URL with a password that does not get in (a database that does not exist, a port
/// nobody listens on): exit 2 naming the store as `database D on host:port`, and neither the
/// password nor the URL anywhere in the output.
#[test]
fn a_store_url_and_its_password_are_never_printed() {
    let Some(pg) = hrvault::testing::pg::require("a_store_url_and_its_password_are_never_printed")
    else {
        return;
    };
    let secret = "wrong-s3cret-pw";
    let urls = [
        format!(
            "postgresql://hrvault:{secret}@127.0.0.1:{}/missing",
            pg.port()
        ),
        format!("postgresql://hrvault:{secret}@127.0.0.1:1/missing"),
        format!(
            "host=127.0.0.1 port={} user=hrvault password={secret} dbname=missing",
            pg.port()
        ),
    ];
    for url in &urls {
        for args in [
            &["init"][..],
            &["serve"][..],
            &["audit", "verify"][..],
            &["audit", "export"][..],
            &["keys", "rotate"][..],
            &["users", "recover"][..],
        ] {
            let out = run(on_store(args, url));
            assert_exit(&out, 2, &format!("{args:?}"));
            let said = all_output(&out);
            assert!(
                !said.contains(secret),
                "{args:?} printed the password: {said}"
            );
            assert!(
                !said.contains(url.as_str()),
                "{args:?} printed the URL: {said}"
            );
            assert!(
                said.contains("database missing on 127.0.0.1:"),
                "{args:?}: {said}"
            );
        }
        let dir = tmp();
        let mut copy = hrvault();
        copy.args(["store", "copy", "--from-data-dir"])
            .arg(dir.path())
            .args(["--to", url]);
        let out = run(copy);
        assert_exit(&out, 2, "store copy");
        assert!(!all_output(&out).contains(secret));
    }
}

/// A cluster that asks for a password (scram over TCP): a URL without one is refused (exit 2),
/// `PGPASSWORD` or a 0600 password file supplies it, a group-readable password file is ignored
/// with a warning, and a wrong password in the URL is never printed.
#[test]
fn a_password_comes_from_pgpassword_or_a_password_file() {
    let Some(pg) =
        hrvault::testing::pg::require("a_password_comes_from_pgpassword_or_a_password_file")
    else {
        return;
    };
    let url = pg.create_database("locked").unwrap();
    // Through the unix socket (still trusted): set a password and require it over TCP.
    let socket = pg.dir().to_string_lossy().into_owned();
    let port = pg.port().to_string();
    let local = |sql: &str| {
        pg.tool_output(
            "psql",
            &[
                "-h", &socket, "-p", &port, "-U", "hrvault", "-d", "locked", "-tA", "-c", sql,
            ],
        )
        .unwrap()
    };
    local("ALTER ROLE hrvault PASSWORD 'the-right-pw-7'");
    std::fs::write(
        pg.dir().join("data").join("pg_hba.conf"),
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    local("SELECT pg_reload_conf()");

    let dir = tmp();
    let nofile = dir.path().join("no-such-pgpass");
    let plain = |args: &[&str], u: &str| {
        let mut c = on_store(args, u);
        c.env_remove("PGPASSWORD").env("PGPASSFILE", &nofile);
        c
    };
    let out = run(plain(&["audit", "verify"], &url));
    assert_exit(&out, 2, "no password at all");
    assert!(
        text(&out.stderr).contains("password"),
        "refused for want of a password: {}",
        text(&out.stderr)
    );

    let wrong = url.replacen("hrvault@", "hrvault:wrong-s3cret-pw@", 1);
    let out = run(plain(&["init"], &wrong));
    assert_exit(&out, 2, "a wrong password in the URL");
    let said = all_output(&out);
    assert!(!said.contains("wrong-s3cret-pw"), "{said}");
    assert!(said.contains("database locked on 127.0.0.1:"), "{said}");

    let mut init = plain(&["init"], &url);
    init.env("PGPASSWORD", "the-right-pw-7");
    let out = run(init);
    assert_exit(&out, 0, "init with PGPASSWORD");
    assert!(!all_output(&out).contains("the-right-pw-7"));

    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("# hrvault\n127.0.0.1:{port}:other:hrvault:nope\n*:{port}:locked:hrvault:the-right-pw-7\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut verify = plain(&["audit", "verify"], &url);
    verify.env("PGPASSFILE", &pgpass);
    let out = run(verify);
    assert_exit(&out, 0, "verify with a 0600 password file");

    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut verify = plain(&["audit", "verify"], &url);
    verify.env("PGPASSFILE", &pgpass);
    let out = run(verify);
    assert_exit(&out, 2, "a group-readable password file is ignored");
    assert!(
        text(&out.stderr).contains("group or world access"),
        "{}",
        text(&out.stderr)
    );
    assert!(!all_output(&out).contains("the-right-pw-7"));
}

/// `store copy`: a data-dir vault with records, users, a flag, an alert (a honeytoken read) and
/// an import, stopped, copied; `audit verify` prints the same head on both; `serve --store`
/// reads every record and has the alert. Copy into a non-empty target, and while the data-dir
/// server runs: refused.
#[test]
fn store_copy_round_trip() {
    let Some(pg) = hrvault::testing::pg::require("store_copy_round_trip") else {
        return;
    };
    let vault = VaultDir::init();
    let server = Server::start(&vault, None);
    let c = server.client();
    let staff = Staff::create(c, "copy");
    let mut ids = Vec::new();
    let mut ssns = Vec::new();
    for _ in 0..5 {
        let body = draft();
        let r = create_employee(c, &staff.hr.token, &body);
        ids.push(r["id"].as_str().unwrap().to_owned());
        ssns.push(body["ssn"].as_str().unwrap().to_owned());
    }
    c.post("/v1/hr-flags")
        .token(&staff.hr.token)
        .json(&json!({"employee_id": ids[0], "kind": "pip", "effective_date": "2026-01-01", "note": "test"}))
        .send()
        .expect(201);
    let decoy = c
        .post("/v1/honeytokens")
        .token(&staff.security.token)
        .json(&draft())
        .send()
        .expect(201)
        .json();
    let decoy_id = decoy["id"].as_str().unwrap().to_owned();
    c.get(&format!("/v1/employees/{decoy_id}"))
        .token(&staff.hr.token)
        .send()
        .expect(200);
    let alert = poll(
        "the honeytoken alert",
        WAIT,
        std::time::Duration::from_millis(50),
        || {
            c.get("/v1/alerts?rule=honeytoken_access")
                .token(&staff.security.token)
                .send()
                .json()["alerts"]
                .as_array()
                .and_then(|a| a.first().cloned())
        },
    );

    // A copy while the data-dir server runs: refused (the vault is in use), nothing written.
    let url = pg.create_database("copy").unwrap();
    let copy = |from: &Path, to: &str| {
        let mut c = hrvault();
        c.args(["store", "copy", "--from-data-dir"])
            .arg(from)
            .args(["--to", to]);
        run(c)
    };
    let out = copy(&vault.data, &url);
    assert_exit(&out, 2, "copy while the server runs");
    assert!(
        text(&out.stderr).contains("in use"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        psql(
            &pg,
            "copy",
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'hrvault%'"
        )
        .trim(),
        "0",
        "nothing written to the target"
    );
    drop(server);

    // An import, offline.
    let csv = vault.write_file(
        "rows.csv",
        &format!(
            "employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n\
             {},Ada,Lovelace,2026-01-15,{},1990-01-01\n",
            unique_number(),
            unique_ssn()
        ),
    );
    let mut import = hrvault();
    import
        .args(["import", "--data-dir"])
        .arg(&vault.data)
        .arg("--csv")
        .arg(&csv)
        .env("HRVAULT_PASSPHRASE", PASSPHRASE);
    assert_exit(&run(import), 0, "import");

    let source_head = verified(verify_dir(&vault.data));
    let out = copy(&vault.data, &url);
    assert_exit(&out, 0, "store copy");
    assert!(!all_output(&out).contains(&url));
    assert_eq!(
        verified(verify_store(&url)),
        source_head,
        "same head on both"
    );

    // A second copy into the now non-empty target: refused, nothing changed.
    let rows = psql(&pg, "copy", "SELECT count(*) FROM hrvault_kv");
    let out = copy(&vault.data, &url);
    assert_exit(&out, 2, "copy into a non-empty target");
    assert_eq!(psql(&pg, "copy", "SELECT count(*) FROM hrvault_kv"), rows);
    // Also a target that holds only rows (no key file yet): refused.
    let partial = pg.create_database("partial").unwrap();
    let mut init_other = on_store(&["init"], &partial);
    init_other.env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
    assert_exit(&run(init_other), 0, "init of another store");
    psql(
        &pg,
        "partial",
        "DELETE FROM hrvault_kv WHERE tree = 0 AND k = 'vault.keys'::bytea",
    );
    let out = copy(&vault.data, &partial);
    assert_exit(&out, 2, "copy into a store with rows but no key file");
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );

    // The store serves every record with the same passphrase, and has the alert.
    let logs = tmp();
    let server = serve_store(&url, logs.path());
    let c = server.client();
    let hr = c.login(&staff.hr.username, &staff.hr.password);
    for (id, ssn) in ids.iter().zip(&ssns) {
        let r = c
            .post(&format!("/v1/employees/{id}/reveal"))
            .token(&hr)
            .json(&json!({"fields": ["ssn"], "reason": "payroll correction ticket PAY-77"}))
            .send();
        let v = r.expect(200).json();
        assert_eq!(v["ssn"].as_str(), Some(ssn.as_str()), "{id}: {v}");
    }
    let listed = c
        .get("/v1/employees?limit=100")
        .token(&hr)
        .send()
        .expect(200)
        .json();
    let listed_ids: Vec<&str> = listed["employees"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    for id in &ids {
        assert!(
            listed_ids.contains(&id.as_str()),
            "{id} not listed: {listed}"
        );
    }
    assert!(
        listed_ids.len() > ids.len(),
        "the imported record is listed too: {listed}"
    );
    let security = c.login(&staff.security.username, &staff.security.password);
    let alerts = c
        .get("/v1/alerts?rule=honeytoken_access")
        .token(&security)
        .send()
        .expect(200)
        .json();
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == alert["id"]),
        "{alerts}"
    );
    let flags = c
        .get("/v1/hr-flags")
        .token(&security)
        .send()
        .expect(200)
        .json();
    assert!(flags.to_string().contains(&ids[0]), "{flags}");
    // A new record on the store: a fresh key slot, not one of the copied ones.
    let hr_user = c.login(&staff.hr.username, &staff.hr.password);
    let fresh = create_employee(c, &hr_user, &draft());
    let fresh_id = fresh["id"].as_str().unwrap();
    c.post(&format!("/v1/employees/{fresh_id}/reveal"))
        .token(&hr_user)
        .json(&json!({"fields": ["ssn"], "reason": "payroll correction ticket PAY-77"}))
        .send()
        .expect(200);
    c.post(&format!("/v1/employees/{}/reveal", ids[0]))
        .token(&hr_user)
        .json(&json!({"fields": ["ssn"], "reason": "payroll correction ticket PAY-77"}))
        .send()
        .expect(200);
    drop(server);
    verified(verify_store(&url));
}
