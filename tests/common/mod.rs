//! Shared harness for the black-box tests: run the real `hrvault` binary, talk HTTP to it, and
//! inspect what it leaves on disk.
//!
//! - Every wait is a poll against a deadline; nothing sleeps for a fixed time hoping a timer
//!   fired.
//! - A server runs under a tiny `sh` watchdog that holds the test's end of a pipe: when the test
//!   process goes away for any reason (including a server kept in a `static`, whose destructor
//!   never runs), the pipe closes and the watchdog stops the server. No orphans, no `unsafe`.
//! - The server's stdout and stderr go to files so tests can scan everything it logged.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]
#![allow(unreachable_pub, reason = "a test helper module, not an API")]
#![allow(
    clippy::unwrap_used,
    reason = "test harness: a failed step must panic the test"
)]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hrvault");
/// The operator passphrase of every test vault.
pub const PASSPHRASE: &str = "correct horse battery staple";
/// The first admin's password of every test vault.
pub const ADMIN_PASSWORD: &str = "admin-password-0001";
/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Polling

/// Polls `f` every `every` until it returns `Some`, failing the test after `within`.
pub fn poll<T>(
    what: &str,
    within: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A `Command` for the binary with no `HRVAULT_*` variables inherited from the environment.
pub fn hrvault() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HRVAULT_") {
            c.env_remove(&k);
        }
    }
    c.env("NO_COLOR", "1");
    c
}

/// Runs a command to completion (stdin closed), failing the test after `WAIT`.
pub fn run(cmd: Command) -> Output {
    run_within(cmd, WAIT)
}

/// Runs a command to completion (stdin closed), failing the test after `within`.
pub fn run_within(mut cmd: Command, within: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hrvault");
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let status = wait_for_exit(&mut child, within).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("{cmd:?} did not finish within {within:?}");
    });
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn wait_for_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Output as text, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A vault created by `hrvault init` in a fresh temporary directory.
pub struct VaultDir {
    /// Holds the temporary directory (logs and config files go here too).
    pub root: tempfile::TempDir,
    /// The data dir (`root/data`).
    pub data: PathBuf,
}

impl VaultDir {
    /// `hrvault init` with the test passphrase and admin password; panics if it fails.
    pub fn init() -> Self {
        let root = tempfile::Builder::new()
            .prefix("hrvault-test-")
            .tempdir()
            .unwrap();
        let data = root.path().join("data");
        let mut c = hrvault();
        c.args(["init", "--data-dir"])
            .arg(&data)
            .env("HRVAULT_PASSPHRASE", PASSPHRASE)
            .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
        let out = run(c);
        assert!(out.status.success(), "init failed: {}", text(&out.stderr));
        Self { root, data }
    }

    /// Writes a file next to the data dir and returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.root.path().join(name);
        fs::write(&p, contents).unwrap();
        p
    }
}

/// How to stop a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: graceful shutdown.
    Graceful,
    /// SIGKILL: a crash.
    Crash,
}

/// The watchdog: runs the server in the background and stops it when told on stdin, or when
/// stdin reaches EOF (the test process is gone). Optionally deletes a directory afterwards.
const WATCHDOG: &str = r#"
"$0" "$@" </dev/null &
pid=$!
read -r cmd
if [ "$cmd" = kill ]; then kill -KILL "$pid" 2>/dev/null; else kill -TERM "$pid" 2>/dev/null; fi
wait "$pid"
rc=$?
if [ -n "$HRVAULT_TEST_CLEANUP" ]; then rm -rf "$HRVAULT_TEST_CLEANUP"; fi
exit $rc
"#;

/// Options of `Server::start_with`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServeOpts<'a> {
    /// `--config FILE`.
    pub config: Option<&'a Path>,
    /// `--passphrase-file FILE` instead of `HRVAULT_PASSPHRASE`.
    pub passphrase_file: Option<&'a Path>,
    /// Deleted by the watchdog once the server has stopped (for servers kept in a `static`,
    /// which are never dropped).
    pub cleanup: Option<&'a Path>,
}

/// A running `hrvault serve`, stopped when dropped.
pub struct Server {
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Where the server's stdout goes.
    pub stdout_path: PathBuf,
    /// Where the server's stderr goes.
    pub stderr_path: PathBuf,
    client: Client,
}

static LOG_SEQ: AtomicU64 = AtomicU64::new(0);

impl Server {
    /// `hrvault serve --data-dir DATA --listen 127.0.0.1:0 [--config FILE]` with the passphrase in
    /// `HRVAULT_PASSPHRASE`; waits until the announced address answers `/healthz` with 200.
    pub fn start(vault: &VaultDir, config: Option<&Path>) -> Self {
        Self::start_with(
            &vault.data,
            vault.root.path(),
            ServeOpts {
                config,
                ..ServeOpts::default()
            },
        )
    }

    /// `serve` on `data` with `opts`; the server's output goes to files in `logs`.
    pub fn start_with(data: &Path, logs: &Path, opts: ServeOpts<'_>) -> Self {
        let n = LOG_SEQ.fetch_add(1, Ordering::SeqCst);
        let stdout_path = logs.join(format!("server-{n}.stdout"));
        let stderr_path = logs.join(format!("server-{n}.stderr"));
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(WATCHDOG).arg(BIN);
        cmd.args(["serve", "--data-dir"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0"]);
        if let Some(c) = opts.config {
            cmd.arg("--config").arg(c);
        }
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HRVAULT_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("NO_COLOR", "1");
        match opts.passphrase_file {
            Some(f) => {
                cmd.arg("--passphrase-file").arg(f);
            }
            None => {
                cmd.env("HRVAULT_PASSPHRASE", PASSPHRASE);
            }
        }
        if let Some(dir) = opts.cleanup {
            cmd.env("HRVAULT_TEST_CLEANUP", dir);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(File::create(&stdout_path).unwrap())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .expect("spawn the server watchdog");
        let stdin = child.stdin.take();
        let mut server = Self {
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            base: String::new(),
            stdout_path,
            stderr_path,
            client: Client::new(""),
        };
        let deadline = Instant::now() + WAIT;
        let addr = loop {
            let err = fs::read_to_string(&server.stderr_path).unwrap_or_default();
            if let Some(rest) = err.split("hrvault listening on http://").nth(1) {
                break rest.lines().next().unwrap_or("").trim().to_owned();
            }
            if Instant::now() >= deadline {
                server.stop(Stop::Graceful);
                panic!("server did not announce its address within {WAIT:?}; stderr:\n{err}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        server.base = format!("http://{addr}");
        server.client = Client::new(&server.base);
        let c = &server.client;
        poll(
            "/healthz to answer 200",
            WAIT,
            Duration::from_millis(10),
            || (c.get("/healthz").send().status == 200).then_some(()),
        );
        server
    }

    /// The HTTP client bound to this server.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A request to this server.
    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        self.client.req(method, path)
    }

    /// Stops the server and waits for it to exit; returns its exit status (None if it was
    /// already stopped).
    pub fn stop(&self, how: Stop) -> Option<ExitStatus> {
        let stdin = self.stdin.lock().unwrap().take()?;
        let mut stdin = stdin;
        let _ = stdin.write_all(if how == Stop::Crash {
            b"kill\n"
        } else {
            b"term\n"
        });
        drop(stdin);
        let mut child = self.child.lock().unwrap();
        match wait_for_exit(&mut child, WAIT) {
            Some(s) => Some(s),
            None => {
                let _ = child.kill();
                panic!("server did not stop within {WAIT:?}");
            }
        }
    }

    /// Everything the server wrote to stdout and stderr so far.
    pub fn output(&self) -> Vec<u8> {
        let mut v = fs::read(&self.stdout_path).unwrap_or_default();
        v.extend(fs::read(&self.stderr_path).unwrap_or_default());
        v
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Best effort; never panic inside a panic.
            if let Ok(mut s) = self.stdin.lock()
                && let Some(mut s) = s.take()
            {
                let _ = s.write_all(b"term\n");
            }
            return;
        }
        self.stop(Stop::Graceful);
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The `x-request-id` the request was sent with.
    pub request_id: String,
}

impl Resp {
    /// The body as text.
    pub fn text(&self) -> String {
        text(&self.body)
    }

    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }

    /// A header value (first one), case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status, showing the body if it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts an RFC 9457 problem body with this status and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type; body: {}",
            self.text()
        );
        let v = self.json();
        for k in ["type", "title", "detail"] {
            assert!(v[k].is_string(), "problem member {k} missing: {v}");
        }
        assert_eq!(v["status"], json!(status), "problem status member: {v}");
        v
    }

    /// The `field`s of a 422's `errors`.
    #[track_caller]
    pub fn error_fields(&self) -> Vec<String> {
        let v = self.problem(422);
        v["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("422 without errors[]: {v}"))
            .iter()
            .map(|e| e["field"].as_str().expect("errors[].field").to_owned())
            .collect()
    }
}

/// A plain-HTTP client for which non-2xx statuses are responses, not errors.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(0);

impl Client {
    /// A client for `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            base: base.to_owned(),
        }
    }

    /// A request; every request gets a unique `x-request-id` so tests can find its audit entry.
    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        let n = REQUEST_SEQ.fetch_add(1, Ordering::SeqCst);
        Req {
            client: self,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
            request_id: format!("t{}-{n}", std::process::id()),
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.req("GET", path)
    }

    pub fn post(&self, path: &str) -> Req<'_> {
        self.req("POST", path)
    }

    pub fn patch(&self, path: &str) -> Req<'_> {
        self.req("PATCH", path)
    }

    pub fn delete(&self, path: &str) -> Req<'_> {
        self.req("DELETE", path)
    }

    /// `POST /v1/auth/login`; returns the access token (panics unless 200).
    #[track_caller]
    pub fn login(&self, username: &str, password: &str) -> String {
        let r = self.login_raw(username, password);
        r.expect(200);
        let v = r.json();
        assert_eq!(v["token_type"], "Bearer");
        v["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `POST /v1/auth/login`, any outcome.
    pub fn login_raw(&self, username: &str, password: &str) -> Resp {
        self.post("/v1/auth/login")
            .json(&json!({"username": username, "password": password}))
            .send()
    }
}

/// A request being built.
pub struct Req<'a> {
    client: &'a Client,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    request_id: String,
}

impl Req<'_> {
    /// `Authorization: Bearer TOKEN`.
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Any header (replaces the generated `x-request-id` if that is the name).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if name.eq_ignore_ascii_case("x-request-id") {
            value.clone_into(&mut self.request_id);
        } else {
            self.headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// A JSON body.
    pub fn json(self, v: &Value) -> Self {
        self.raw("application/json", serde_json::to_vec(v).unwrap())
    }

    /// A body with a content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers
            .push(("content-type".into(), content_type.to_owned()));
        self.body = Some(body.into());
        self
    }

    /// Sends it and reads the whole response.
    #[track_caller]
    pub fn send(self) -> Resp {
        let url = format!("{}{}", self.client.base, self.path);
        let mut b = ureq::http::Request::builder()
            .method(self.method.as_str())
            .uri(&url);
        if !self.request_id.is_empty() {
            b = b.header("x-request-id", &self.request_id);
        }
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        let result = match self.body {
            Some(body) => self.client.agent.run(b.body(body).unwrap()),
            None => self.client.agent.run(b.body(()).unwrap()),
        };
        let mut resp = result
            .unwrap_or_else(|e| panic!("{} {} failed at the transport: {e}", self.method, url));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("reading the body of {} {url}: {e}", self.method));
        Resp {
            status,
            headers,
            body,
            request_id: self.request_id,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A vault with one logged-in user per role

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

// ---------------------------------------------------------------------------------------------
// Employee data

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

// ---------------------------------------------------------------------------------------------
// Audit

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

// ---------------------------------------------------------------------------------------------
// Files

/// Every regular file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Path (relative) → SHA-256 of every file under `dir`, plus every directory (hash of "").
pub fn tree_digest(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            if e.file_type().unwrap().is_dir() {
                out.insert(rel, "<dir>".to_owned());
                stack.push(e.path());
            } else {
                out.insert(rel, hex(&Sha256::digest(fs::read(e.path()).unwrap())));
            }
        }
    }
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The encodings of `value` a careless implementation might store instead of ciphertext: the
/// raw bytes, lower- and upper-case hex, and base64 at each of the three alignments.
pub fn encodings(value: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let raw = value.as_bytes();
    let mut out = vec![
        ("raw".to_owned(), raw.to_vec()),
        ("hex".to_owned(), hex(raw).into_bytes()),
        ("HEX".to_owned(), hex(raw).to_uppercase().into_bytes()),
    ];
    for skip in 0..3usize {
        // Wherever the value sits in a base64 stream, one of these three cuts starts on a 3-byte
        // group boundary; its whole groups then encode to exactly these characters.
        let part = &raw[skip.min(raw.len())..];
        let whole = part.len() / 3 * 3;
        if whole >= 6 {
            out.push((
                format!("base64@{skip}"),
                STANDARD.encode(&part[..whole]).into_bytes(),
            ));
        }
    }
    out
}
