//! The command line's promises: exit codes (0 ok, 1 check failed, 2 usage / unseal / config),
//! secrets only from the environment or a file, and nothing on disk changed by a refused command.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use serde_json::json;

/// How long a command that must fail at start-up may take.
const QUICK: Duration = Duration::from_secs(10);

/// `hrvault ARGS...` with `--data-dir DIR` appended.
fn cmd(args: &[&str], dir: &Path) -> Command {
    let mut c = hrvault();
    c.args(args).arg("--data-dir").arg(dir);
    c
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[track_caller]
fn assert_exit(out: &Output, expected: i32, what: &str) {
    assert_eq!(
        code(out),
        Some(expected),
        "{what}: exit code; stdout: {} stderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A vault that has been served once and holds a user and a record, so its store and audit
/// log have real content.
fn populated_vault() -> VaultDir {
    let vault = VaultDir::init();
    let server = Server::start(&vault, None);
    let c = server.client();
    let admin = c.login("admin", ADMIN_PASSWORD);
    let hr = create_user(c, &admin, "cli-hr", "hr");
    create_employee(c, &hr.token, &draft());
    drop(server);
    vault
}

/// A wrong passphrase, whether from `HRVAULT_PASSPHRASE` or `--passphrase-file`, to any command
/// that unseals (`serve`, `keys rotate`, `import`): exit 2, a message saying the passphrase is
/// wrong (without repeating it), and every file and directory under the data dir byte-identical.
#[test]
fn wrong_passphrase_exits_2_and_changes_nothing() {
    let vault = populated_vault();
    let wrong = "not-the-passphrase-42";
    let pass_file = vault.write_file("wrong.pass", &format!("{wrong}\n"));
    let csv = vault.write_file(
        "rows.csv",
        "employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n\
         E9,A,B,2026-01-15,123-45-6789,1990-01-01\n",
    );
    let before = tree_digest(&vault.data);
    let with_env = |args: &[&str]| {
        let mut c = cmd(args, &vault.data);
        c.env("HRVAULT_PASSPHRASE", wrong);
        c
    };
    let mut serve_file = cmd(&["serve", "--listen", "127.0.0.1:0"], &vault.data);
    serve_file.arg("--passphrase-file").arg(&pass_file);
    let mut import = with_env(&["import"]);
    import.arg("--csv").arg(&csv);
    let cases = [
        (
            "serve (env)",
            with_env(&["serve", "--listen", "127.0.0.1:0"]),
        ),
        ("serve (file)", serve_file),
        ("keys rotate", with_env(&["keys", "rotate"])),
        ("import", import),
    ];
    for (what, c) in cases {
        let out = run_within(c, QUICK);
        assert_exit(&out, 2, what);
        let err = text(&out.stderr).to_lowercase();
        assert!(
            err.contains("passphrase") && err.contains("wrong"),
            "{what}: {err}"
        );
        assert!(
            !err.contains(wrong) && !text(&out.stdout).contains(wrong),
            "{what} echoes it"
        );
        assert_eq!(
            tree_digest(&vault.data),
            before,
            "{what} changed the data dir"
        );
    }
}

/// No passphrase at all (no `HRVAULT_PASSPHRASE`, no `--passphrase-file`), an empty passphrase
/// file or a missing one: exit 2 with a message about the passphrase, nothing changed, and `init`
/// creates no directory.
#[test]
fn missing_passphrase_exits_2() {
    let vault = VaultDir::init();
    let before = tree_digest(&vault.data);
    let fresh = vault.root.path().join("never-created");
    let empty = vault.write_file("empty.pass", "");
    let mut import = cmd(&["import"], &vault.data);
    import
        .arg("--csv")
        .arg(vault.write_file("x.csv", "employee_number\n"));
    let mut empty_file = cmd(&["serve", "--listen", "127.0.0.1:0"], &vault.data);
    empty_file.arg("--passphrase-file").arg(&empty);
    let mut missing_file = cmd(&["serve", "--listen", "127.0.0.1:0"], &vault.data);
    missing_file
        .arg("--passphrase-file")
        .arg(vault.root.path().join("no-such-file"));
    let cases = [
        (
            "serve",
            cmd(&["serve", "--listen", "127.0.0.1:0"], &vault.data),
        ),
        ("keys rotate", cmd(&["keys", "rotate"], &vault.data)),
        ("import", import),
        ("init", cmd(&["init"], &fresh)),
        ("empty passphrase file", empty_file),
        ("missing passphrase file", missing_file),
    ];
    for (what, c) in cases {
        let out = run_within(c, QUICK);
        assert_exit(&out, 2, what);
        assert!(
            text(&out.stderr).to_lowercase().contains("passphrase"),
            "{what}: {}",
            text(&out.stderr)
        );
        assert_eq!(tree_digest(&vault.data), before, "{what} changed the vault");
    }
    assert!(
        !fresh.exists(),
        "init without a passphrase created {fresh:?}"
    );
}

/// `init` on a directory that already holds a vault fails (exit 2) with a clear message and
/// leaves the vault byte-identical (even with another passphrase and admin password); the
/// original passphrase and admin password still work afterwards.
#[test]
fn init_refuses_an_existing_vault() {
    let vault = populated_vault();
    let before = tree_digest(&vault.data);
    for (pass, admin) in [
        (PASSPHRASE, ADMIN_PASSWORD),
        ("another passphrase", "another-admin-pw"),
    ] {
        let mut c = cmd(&["init"], &vault.data);
        c.env("HRVAULT_PASSPHRASE", pass)
            .env("HRVAULT_ADMIN_PASSWORD", admin);
        let out = run_within(c, QUICK);
        assert_exit(&out, 2, "init on a vault");
        assert!(
            text(&out.stderr).contains("already holds a vault"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(tree_digest(&vault.data), before, "init touched the vault");
    }
    let server = Server::start(&vault, None);
    server.client().login("admin", ADMIN_PASSWORD);
}

/// `init` on a directory that is not empty but holds no vault fails and adds nothing to it.
#[test]
fn init_refuses_a_non_empty_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("stuff");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
    let before = tree_digest(&dir);
    let mut c = cmd(&["init"], &dir);
    c.env("HRVAULT_PASSPHRASE", PASSPHRASE)
        .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let out = run_within(c, QUICK);
    assert_ne!(code(&out), Some(0), "init on a non-empty dir must fail");
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(tree_digest(&dir), before);
}

/// `serve --config` with an unknown key, an unknown section, a value of the wrong type, an out of
/// range or unparsable value: exit 2 before serving, with a message naming the key (never
/// echoing a secret value); broken TOML: exit 2 naming the file. The contract's own example
/// config starts fine (and its webhook secret is not logged), so the failures are about the keys.
#[test]
fn bad_config_exits_2_naming_the_key() {
    let vault = VaultDir::init();
    let cases = [
        ("[auth]\ntoken_ttl_secs = 900\nbogus_key = 1\n", "bogus_key"),
        ("[nope]\nx = 1\n", "nope"),
        ("[auth]\ntoken_ttl_secs = 0\n", "auth.token_ttl_secs"),
        ("[auth]\ntoken_ttl_secs = \"long\"\n", "token_ttl_secs"),
        (
            "[auth]\nlogin_attempts_per_minute = -3\n",
            "auth.login_attempts_per_minute",
        ),
        (
            "[monitor]\nbusiness_hours = \"8-18\"\n",
            "monitor.business_hours",
        ),
        (
            "[monitor]\nbusiness_days = \"Funday\"\n",
            "monitor.business_days",
        ),
        (
            "[monitor]\ntimezone = \"Mars/Olympus\"\n",
            "monitor.timezone",
        ),
        (
            "[monitor]\nrestrict_flagged = \"yes\"\n",
            "restrict_flagged",
        ),
        (
            "[monitor]\nalert_webhook_secret = 987654321\n",
            "monitor.alert_webhook_secret",
        ),
        ("[monitor.groups]\nSales = \"on\"\n", "Sales"),
    ];
    for (i, (config, key)) in cases.iter().enumerate() {
        let file = vault.write_file(&format!("bad-{i}.toml"), config);
        let mut c = cmd(&["serve", "--listen", "127.0.0.1:0"], &vault.data);
        c.arg("--config")
            .arg(&file)
            .env("HRVAULT_PASSPHRASE", PASSPHRASE);
        let out = run_within(c, QUICK);
        assert_exit(&out, 2, config);
        let err = text(&out.stderr);
        assert!(err.contains(key), "{config:?} -> {err}");
        assert!(
            !err.contains("987654321"),
            "a secret value is echoed: {err}"
        );
        assert!(
            !err.contains("listening"),
            "{config:?} started serving: {err}"
        );
    }
    // Broken TOML has no key to name: the message names the file instead.
    let broken = vault.write_file("broken.toml", "[auth\ntoken_ttl_secs = 900\n");
    let mut c = cmd(&["serve", "--listen", "127.0.0.1:0"], &vault.data);
    c.arg("--config")
        .arg(&broken)
        .env("HRVAULT_PASSPHRASE", PASSPHRASE);
    let out = run_within(c, QUICK);
    assert_exit(&out, 2, "broken TOML");
    assert!(
        text(&out.stderr).contains("broken.toml"),
        "{}",
        text(&out.stderr)
    );

    let example = vault.write_file(
        "example.toml",
        r#"
[auth]
token_ttl_secs = 900
login_attempts_per_minute = 10

[monitor]
window_secs = 3600
excessive_access_threshold = 50
denied_probing_threshold = 5
bulk_reveal_threshold = 10
business_hours = "08:00-18:00"
business_days = "Mon-Fri"
timezone = "UTC"
restrict_flagged = true
alert_webhook = "http://127.0.0.1:9000/hook"
alert_webhook_secret = "s3cret-value"

[monitor.groups]
"R&D" = true
"Sales" = true
"Executives" = true
"IT Operations/InfoSec" = true
"Support" = true
"#,
    );
    let server = Server::start(&vault, Some(&example));
    let out = text(&server.output());
    assert!(
        !out.contains("s3cret-value"),
        "the webhook secret is logged: {out}"
    );
}

/// `--passphrase-file` works for `init` and `serve` without `HRVAULT_PASSPHRASE`; a trailing
/// newline (LF or CRLF) is not part of the passphrase.
#[test]
fn passphrase_file_works() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let lf = root.path().join("lf.pass");
    let crlf = root.path().join("crlf.pass");
    std::fs::write(&lf, format!("{PASSPHRASE}\n")).unwrap();
    std::fs::write(&crlf, format!("{PASSPHRASE}\r\n")).unwrap();
    let mut c = cmd(&["init"], &data);
    c.arg("--passphrase-file")
        .arg(&lf)
        .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let out = run_within(c, QUICK);
    assert_exit(&out, 0, "init --passphrase-file");
    let server = Server::start_with(
        &data,
        root.path(),
        ServeOpts {
            passphrase_file: Some(&crlf),
            ..ServeOpts::default()
        },
    );
    server.client().login("admin", ADMIN_PASSWORD);
    drop(server);
    // And the environment variable opens what the file created.
    let vault_root = root.path();
    let server = Server::start_with(&data, vault_root, ServeOpts::default());
    server.client().login("admin", ADMIN_PASSWORD);
}

/// `init` without `HRVAULT_ADMIN_PASSWORD` generates a strong password and prints it exactly once,
/// on stdout, as `role=admin username=admin password=...`; it is not on stderr nor anywhere under
/// the data dir, and it logs in.
#[test]
fn init_prints_a_generated_admin_password_once() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut c = cmd(&["init"], &data);
    c.env("HRVAULT_PASSPHRASE", PASSPHRASE);
    let out = run_within(c, QUICK);
    assert_exit(&out, 0, "init");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout: {stdout:?}");
    let password = lines[0]
        .strip_prefix("role=admin username=admin password=")
        .unwrap_or_else(|| panic!("unexpected line {:?}", lines[0]));
    assert!(
        password.len() >= 16,
        "a strong password, got {} chars",
        password.len()
    );
    assert!(!password.contains(char::is_whitespace));
    assert!(!text(&out.stderr).contains(password), "password on stderr");
    for f in files_under(&data) {
        assert!(
            !contains(&std::fs::read(&f).unwrap(), password.as_bytes()),
            "{f:?}"
        );
    }
    let server = Server::start_with(&data, root.path(), ServeOpts::default());
    server.client().login("admin", password);
    let r = server.client().login_raw("admin", ADMIN_PASSWORD);
    r.problem(401);
    assert!(
        !text(&server.output()).contains(password),
        "password in the server log"
    );
}

/// `audit verify --data-dir` exits 0 on an intact chain; `audit export` then `audit verify --file`
/// re-checks the export independently; both are read-only (the data dir is byte-identical). An
/// entry changed on disk makes `verify` exit 1 naming its sequence number.
#[test]
fn audit_verify_and_export_are_read_only_and_detect_tampering() {
    let vault = populated_vault();
    let before = tree_digest(&vault.data);
    let out = run_within(cmd(&["audit", "verify"], &vault.data), QUICK);
    assert_exit(&out, 0, "audit verify");
    assert!(text(&out.stdout).contains("ok"), "{}", text(&out.stdout));

    let export = vault.root.path().join("export.jsonl");
    let mut c = cmd(&["audit", "export", "--format", "jsonl"], &vault.data);
    c.arg("--out").arg(&export);
    assert_exit(&run_within(c, QUICK), 0, "audit export");
    let exported = std::fs::read_to_string(&export).unwrap();
    let entries: Vec<serde_json::Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(entries.len() >= 5, "{exported}");
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], json!(i + 1));
    }
    let mut c = hrvault();
    c.args(["audit", "verify", "--file"]).arg(&export);
    assert_exit(&run_within(c, QUICK), 0, "audit verify --file");
    assert_eq!(
        tree_digest(&vault.data),
        before,
        "offline read-only commands changed the vault"
    );

    // Change one character of entry 3 (a user name in the actor) on disk.
    let seg = files_under(&vault.data.join("audit"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let log = std::fs::read_to_string(&seg).unwrap();
    let mut lines: Vec<String> = log.lines().map(str::to_owned).collect();
    let third: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    let original = third["actor"]["username"].as_str().unwrap().to_owned();
    lines[2] = lines[2].replacen(&format!("\"{original}\""), "\"mallory\"", 1);
    std::fs::write(&seg, lines.join("\n") + "\n").unwrap();
    let out = run_within(cmd(&["audit", "verify"], &vault.data), QUICK);
    assert_exit(&out, 1, "audit verify on a tampered log");
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("seq 3") || said.contains("entry 3"), "{said}");
}

/// A vault can be opened by one process only: while a server runs, a second `serve` and a
/// `keys rotate` exit 2 saying the vault is in use; `serve` on a directory without a vault exits 2.
#[test]
fn a_vault_in_use_or_missing_exits_2() {
    let vault = VaultDir::init();
    let _server = Server::start(&vault, None);
    for args in [
        &["serve", "--listen", "127.0.0.1:0"][..],
        &["keys", "rotate"][..],
    ] {
        let mut c = cmd(args, &vault.data);
        c.env("HRVAULT_PASSPHRASE", PASSPHRASE);
        let out = run_within(c, QUICK);
        assert_exit(&out, 2, &args.join(" "));
        assert!(
            text(&out.stderr).contains("in use"),
            "{}",
            text(&out.stderr)
        );
    }
    let mut c = cmd(
        &["serve", "--listen", "127.0.0.1:0"],
        &vault.root.path().join("nothing"),
    );
    c.env("HRVAULT_PASSPHRASE", PASSPHRASE);
    let out = run_within(c, QUICK);
    assert_exit(&out, 2, "serve without a vault");
    assert!(
        text(&out.stderr).contains("does not hold a vault"),
        "{}",
        text(&out.stderr)
    );
}
