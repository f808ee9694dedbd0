//! Insider paths that need a vault prepared offline: an export too large to list its ids in the
//! audit entry still counts as a read of every record, and the break-glass `users recover`
//! gives operators a way back when every admin has been cut off.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// A server on `vault` with a staff of one user per role.
fn serve(vault: &VaultDir, config: Option<&str>) -> (Server, Staff) {
    let config = config.map(|c| vault.write_file("config.toml", c));
    let server = Server::start(vault, config.as_deref());
    let staff = Staff::create(server.client(), "off");
    (server, staff)
}

/// 10,001 records (one past the inline id limit) exported by payroll: the entry names them by
/// the digest of their id list, and the monitor still counts every one of them as read.
#[test]
fn an_export_too_large_to_list_inline_still_counts_as_reads() {
    let vault = VaultDir::init();
    let mut csv =
        String::from("employee_number,first_name,last_name,hire_date,ssn,date_of_birth\n");
    for _ in 0..10_001 {
        csv.push_str(&format!(
            "{},A,B,2026-01-15,{},1990-04-01\n",
            unique_number(),
            unique_ssn()
        ));
    }
    let file = vault.write_file("big.csv", &csv);
    let mut import = vault.command(&["import"]);
    import
        .arg("--csv")
        .arg(&file)
        .env("HRVAULT_PASSPHRASE", PASSPHRASE);
    let out = run_within(import, Duration::from_secs(600));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let (server, staff) = serve(&vault, None);
    let c = server.client();
    let export = c
        .get("/v1/payroll/export")
        .token(&staff.payroll.token)
        .send();
    assert_eq!(export.expect(200).text().lines().count(), 10_001);
    let entry = audit_entries(c, &staff.auditor.token, "action=employee.export", 0)
        .pop()
        .unwrap();
    assert!(entry["employee_ids"].is_null(), "{entry}");
    let alert = poll(
        "excessive_access for the export",
        WAIT,
        Duration::from_millis(100),
        || {
            c.get("/v1/alerts?rule=excessive_access")
                .token(&staff.security.token)
                .send()
                .json()["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["username"] == staff.payroll.username)
                .cloned()
        },
    );
    assert!(
        alert["summary"].as_str().unwrap().contains("10001"),
        "{alert}"
    );
    assert_eq!(alert["evidence_seqs"], json!([entry["seq"]]));
}

/// Every admin cut off (the default admin deleted, the other linked to an employee whom hr
/// then terminates): `users recover`, server stopped, brings that admin back with a new
/// password, unlinked, its old token dead, and the log says so.
#[test]
fn users_recover_is_the_way_back_when_every_admin_is_cut_off() {
    let vault = VaultDir::init();
    let (server, staff) = serve(&vault, None);
    let c = server.client();
    let person = create_employee(c, &staff.hr.token, &draft());
    let pid = person["id"].as_str().unwrap();
    let r = c
        .post("/v1/users")
        .token(&staff.admin.token)
        .json(
            &json!({"username": "ops-admin", "password": "ops-admin-pass-1", "role": "admin",
                      "employee_id": pid}),
        )
        .send();
    r.expect(201);
    let ops = c.login("ops-admin", "ops-admin-pass-1");
    let admin_id = &staff.admin.id;
    c.delete(&format!("/v1/users/{admin_id}"))
        .token(&ops)
        .send()
        .expect(204);
    c.post("/v1/hr-flags")
        .token(&staff.hr.token)
        .json(&json!({"employee_id": pid, "kind": "termination", "effective_date": "2026-01-01"}))
        .send()
        .expect(201);
    assert_eq!(c.get("/v1/users").token(&ops).send().status, 401, "cut off");
    assert_eq!(c.login_raw("ops-admin", "ops-admin-pass-1").status, 401);
    server.stop(Stop::Graceful);

    let recover = |pass: &str| {
        let mut cmd = vault.command(&["users", "recover"]);
        cmd.args(["--username", "ops-admin"])
            .env("HRVAULT_PASSPHRASE", pass)
            .env("HRVAULT_ADMIN_PASSWORD", "recovered-pass-77");
        run(cmd)
    };
    let before = vault.at_rest_digest();
    let wrong = recover("not the passphrase");
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong.stderr));
    assert_eq!(
        vault.at_rest_digest(),
        before,
        "a wrong passphrase changes nothing"
    );
    let out = recover(PASSPHRASE);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("recovered-pass-77"),
        "a given password is not echoed"
    );

    let server = Server::start(&vault, None);
    let c = server.client();
    assert_eq!(
        c.get("/v1/users").token(&ops).send().status,
        401,
        "old token dead"
    );
    let fresh = c.login("ops-admin", "recovered-pass-77");
    let users = c.get("/v1/users").token(&fresh).send().expect(200).json();
    let me = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "ops-admin")
        .unwrap()
        .clone();
    assert_eq!(
        (me["enabled"].as_bool(), me["role"].as_str()),
        (Some(true), Some("admin"))
    );
    assert!(
        me["employee_id"].is_null(),
        "unlinked, so the flag cannot cut it off again"
    );
    let auditor = create_user(c, &fresh, "aud-recover", "auditor");
    let e = audit_entries(c, &auditor.token, "action=user.recover", 0);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["outcome"], "success");
    assert_eq!(e[0]["employee_id"], pid);
    let verify = c
        .get("/v1/audit/verify")
        .token(&auditor.token)
        .send()
        .expect(200)
        .json();
    assert_eq!(verify["ok"], true);
}
