//! What tests act with: one logged-in user per role, valid and unique employee data, and audit
//! queries.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use std::time::Duration;

use serde_json::{Value, json};

use super::{ADMIN_PASSWORD, Client, Resp, ServeOpts, Server, VaultDir, WAIT, poll};

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password: String,
    pub token: String,
}

/// One user per role on a running server.
pub struct Staff {
    pub admin: User,
    pub hr: User,
    pub payroll: User,
    pub auditor: User,
    pub security: User,
}

impl Staff {
    /// Logs in as admin and creates (and logs in) one user per other role. `tag` keeps the
    /// usernames unique when several tests share a server.
    pub fn create(c: &Client, tag: &str) -> Self {
        let token = c.login("admin", ADMIN_PASSWORD);
        let users = c.get("/v1/users").token(&token).send();
        let admin_id = users.expect(200).json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "admin")
            .expect("the admin user")["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let admin = User {
            id: admin_id,
            username: "admin".into(),
            password: ADMIN_PASSWORD.into(),
            token,
        };
        let mk = |role: &str| create_user(c, &admin.token, &format!("{role}-{tag}"), role);
        Self {
            hr: mk("hr"),
            payroll: mk("payroll"),
            auditor: mk("auditor"),
            security: mk("security"),
            admin,
        }
    }

    /// The user of a role by name.
    pub fn of(&self, role: &str) -> &User {
        match role {
            "admin" => &self.admin,
            "hr" => &self.hr,
            "payroll" => &self.payroll,
            "auditor" => &self.auditor,
            "security" => &self.security,
            other => panic!("no such role {other}"),
        }
    }
}

/// A vault, its server and one user per role, kept for the whole test binary (for a `static`):
/// the watchdog stops the server and deletes the temporary directory when the process ends.
pub struct Shared {
    pub server: Server,
    pub staff: Staff,
    /// The temporary directory holding the data dir and the server's logs.
    pub root: PathBuf,
}

impl Shared {
    /// `init` + `serve` (with `config` as the TOML config file, if any) + `Staff::create`.
    pub fn start(tag: &str, config: Option<&str>) -> Self {
        let vault = VaultDir::init();
        let config_path = config.map(|c| vault.write_file("config.toml", c));
        let root = vault.root.keep();
        let server = Server::start_with(
            &root.join("data"),
            &root,
            ServeOpts {
                config: config_path.as_deref(),
                passphrase_file: None,
                cleanup: Some(&root),
                ..ServeOpts::default()
            },
        );
        let staff = Staff::create(server.client(), tag);
        Self {
            server,
            staff,
            root,
        }
    }

    /// The server's client.
    pub fn c(&self) -> &Client {
        self.server.client()
    }
}

/// Every role of the contract.
pub const ROLES: [&str; 5] = ["admin", "hr", "payroll", "auditor", "security"];

/// Creates a human user (as admin) and logs them in.
#[track_caller]
pub fn create_user(c: &Client, admin_token: &str, username: &str, role: &str) -> User {
    let password = format!("pw-{username}-9f3k");
    let r = c
        .post("/v1/users")
        .token(admin_token)
        .json(&json!({"username": username, "password": password, "role": role, "kind": "human"}))
        .send();
    let v = r.expect(201).json();
    assert_eq!(v["username"], username);
    assert_eq!(v["role"], role);
    let token = c.login(username, &password);
    User {
        id: v["id"].as_str().unwrap().to_owned(),
        username: username.to_owned(),
        password,
        token,
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(1);

/// A valid SSN no other call in this process returns (area 100–499, never 666/9xx/000).
pub fn unique_ssn() -> String {
    let n = UNIQUE.fetch_add(1, Ordering::SeqCst);
    let area = 100 + n % 400;
    let group = 10 + (n / 400) % 89;
    let serial = 1000 + (n / (400 * 89)) % 8999;
    format!("{area:03}-{group:02}-{serial:04}")
}

/// An employee number no other call in this process returns.
pub fn unique_number() -> String {
    format!("E{}", 100_000 + UNIQUE.fetch_add(1, Ordering::SeqCst))
}

/// A routing number `prefix8` + its ABA check digit.
pub fn aba(prefix8: &str) -> String {
    assert_eq!(prefix8.len(), 8);
    let d: Vec<u32> = prefix8.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
    format!("{prefix8}{}", (10 - sum % 10) % 10)
}

/// A valid create body with a fresh SSN and employee number.
pub fn draft() -> Value {
    json!({
        "employee_number": unique_number(),
        "first_name": "Grace",
        "last_name": "Hopper",
        "work_email": "grace@example.com",
        "department": "R&D",
        "job_title": "Engineer",
        "location": "Arlington",
        "hire_date": "2026-01-15",
        "ssn": unique_ssn(),
        "date_of_birth": "1990-04-01",
        "home_address": {"line1": "1 Main St", "city": "Springfield", "state": "IL",
                         "postal_code": "62701", "country": "US"},
        "bank_account": {"routing_number": aba("01100001"), "account_number": "000123456789"}
    })
}

/// `POST /v1/employees` as `token`; returns the created record (panics unless 201).
#[track_caller]
pub fn create_employee(c: &Client, token: &str, body: &Value) -> Value {
    let r = c.post("/v1/employees").token(token).json(body).send();
    r.expect(201).json()
}

/// `POST /v1/employees/{id}/reveal` of `fields`, returning the response.
pub fn reveal(c: &Client, token: &str, id: &str, fields: &[&str]) -> Resp {
    c.post(&format!("/v1/employees/{id}/reveal"))
        .token(token)
        .json(&json!({"fields": fields, "reason": "payroll correction ticket PAY-77"}))
        .send()
}

/// Every audit entry with `seq > after_seq` matching `filter` (a query string without
/// `after_seq`/`limit`, e.g. `action=access.denied`), following `next_after_seq`.
pub fn audit_entries(c: &Client, token: &str, filter: &str, after_seq: u64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = after_seq;
    loop {
        let sep = if filter.is_empty() { "" } else { "&" };
        let r = c
            .get(&format!(
                "/v1/audit?{filter}{sep}after_seq={after}&limit=1000"
            ))
            .token(token)
            .send();
        let v = r.expect(200).json();
        out.extend(v["entries"].as_array().unwrap().iter().cloned());
        match v["next_after_seq"].as_u64() {
            Some(n) if n > after => after = n,
            _ => return out,
        }
    }
}

/// The current audit head sequence number.
pub fn audit_head_seq(c: &Client, token: &str) -> u64 {
    c.get("/v1/audit/head")
        .token(token)
        .send()
        .expect(200)
        .json()["seq"]
        .as_u64()
        .unwrap()
}

/// An employee record (created by hr) plus a vault user of `role` linked to it, logged in;
/// returns the record's id and the user.
pub fn linked_person(w: &Shared, role: &str, name: &str) -> (String, User) {
    let c = w.c();
    let record = create_employee(c, &w.staff.hr.token, &draft());
    let id = record["id"].as_str().unwrap().to_owned();
    let password = format!("pw-{name}-x7q2");
    c.post("/v1/users")
        .token(&w.staff.admin.token)
        .json(&json!({"username": name, "password": password, "role": role, "employee_id": id}))
        .send()
        .expect(201);
    let token = c.login(name, &password);
    let user_id = c.get("/v1/users").token(&w.staff.admin.token).send().json()["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (
        id,
        User {
            id: user_id,
            username: name.into(),
            password,
            token,
        },
    )
}

/// `POST /v1/hr-flags` of `kind` on `employee`, effective since 2026-01-01.
pub fn flag(w: &Shared, token: &str, employee: &str, kind: &str) -> Resp {
    w.c()
        .post("/v1/hr-flags")
        .token(token)
        .json(&json!({"employee_id": employee, "kind": kind, "effective_date": "2026-01-01", "note": "test"}))
        .send()
}

/// Polls `GET /v1/alerts?rule=RULE` until an alert for `username` shows up.
pub fn wait_for_alert(w: &Shared, rule: &str, username: &str) -> Value {
    poll(
        &format!("{rule} alert for {username}"),
        WAIT,
        Duration::from_millis(50),
        || {
            let r = w
                .c()
                .get(&format!("/v1/alerts?rule={rule}"))
                .token(&w.staff.security.token)
                .send();
            r.expect(200).json()["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["username"] == username)
                .cloned()
        },
    )
}
