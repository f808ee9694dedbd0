//! Black-box harness for the audit tests: runs the real `hrvault` binary (`init`, `serve`,
//! `audit ...`) and talks HTTP to it. Self-contained on purpose (no shared `tests/common`).
//!
//! Everything is bounded: the server must announce its address and answer `/healthz` before a
//! deadline, and the child is killed (SIGKILL) when the handle drops.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]
#![allow(
    unreachable_pub,
    reason = "shared by several test crates through `mod audit_support`"
)]

pub mod chain;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The operator passphrase of every test vault.
pub const PASSPHRASE: &str = "correct horse battery staple, audit tests";
/// The first admin's password.
pub const ADMIN_PASSWORD: &str = "Admin-Pass-for-tests-1";
/// The password of every user the fixture creates.
pub const USER_PASSWORD: &str = "User-Pass-for-tests-1";

/// How long a server may take to start and answer `/healthz`.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// The binary under test, with the secrets it reads from the environment.
pub fn hrvault() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hrvault"));
    c.env("HRVAULT_PASSPHRASE", PASSPHRASE)
        .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HRVAULT_LOG", "warn")
        .env_remove("HRVAULT_CONFIG");
    c
}

/// Runs `hrvault ARGS` to completion.
pub fn run(args: &[&str]) -> Output {
    hrvault()
        .args(args)
        .output()
        .expect("the hrvault binary runs")
}

/// `hrvault audit verify --file F`: (exit code, stdout).
pub fn verify_file(path: &Path) -> (i32, String) {
    let out = run(&["audit", "verify", "--file", path.to_str().unwrap()]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `hrvault audit verify --data-dir D`: (exit code, stdout).
pub fn verify_dir(dir: &Path) -> (i32, String) {
    let out = run(&["audit", "verify", "--data-dir", dir.to_str().unwrap()]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A fresh vault in a temporary directory (`hrvault init`).
pub struct TestVault {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl TestVault {
    /// `hrvault init --data-dir TMP/vault`.
    pub fn init() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        let out = run(&["init", "--data-dir", dir.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { _tmp: tmp, dir }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DATA_DIR/audit`.
    pub fn audit_dir(&self) -> PathBuf {
        self.dir.join("audit")
    }

    /// Every complete line of every segment, oldest first, with its `\n`.
    pub fn segment_lines(&self) -> Vec<String> {
        segment_lines(&self.audit_dir())
    }
}

/// Segment files (`<20 digits>.jsonl`) of an audit directory, oldest first.
pub fn segments(audit_dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(audit_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".jsonl"))
                .is_some_and(|s| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    out.sort();
    out
}

/// Every complete line of every segment, oldest first, each ending in `\n`.
pub fn segment_lines(audit_dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for p in segments(audit_dir) {
        let text = std::fs::read_to_string(&p).unwrap();
        lines.extend(
            text.split_inclusive('\n')
                .filter(|l| l.ends_with('\n'))
                .map(str::to_owned),
        );
    }
    lines
}

/// A running `hrvault serve`; SIGKILLed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stderr: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

/// An HTTP response, read fully.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: String,
    pub request_id: Option<String>,
}

impl Resp {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// A ureq agent that returns 4xx/5xx as responses, with a global timeout.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

impl Server {
    /// `hrvault serve --data-dir DIR --listen 127.0.0.1:0`, waiting (bounded) until it answers.
    pub fn start(dir: &Path) -> Self {
        Self::try_start(dir).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like `start`, but returns the exit status and stderr if the server does not come up.
    pub fn try_start(dir: &Path) -> Result<Self, String> {
        let mut child = hrvault()
            .env("HRVAULT_LOG", "warn")
            .args([
                "serve",
                "--data-dir",
                dir.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        {
            let pipe = child.stderr.take().unwrap();
            let log = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line.strip_prefix("hrvault listening on ") {
                        let _ = tx.send(addr.trim().to_owned());
                    }
                    log.lock().unwrap().push_str(&line);
                    log.lock().unwrap().push('\n');
                }
            });
        }
        let deadline = Instant::now() + START_DEADLINE;
        let base = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => break addr,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait().unwrap() {
                        // Give the reader thread the last lines.
                        let _ = rx.recv_timeout(Duration::from_millis(200));
                        return Err(format!(
                            "serve exited with {status}: {}",
                            stderr.lock().unwrap()
                        ));
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!(
                            "serve did not announce its address: {}",
                            stderr.lock().unwrap()
                        ));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().unwrap();
                    return Err(format!(
                        "serve exited with {status}: {}",
                        stderr.lock().unwrap()
                    ));
                }
            }
        };
        let server = Self {
            child,
            base,
            stderr,
            agent: agent(),
        };
        loop {
            if let Ok(r) = server.agent.get(format!("{}/healthz", server.base)).call()
                && r.status() == 200
            {
                return Ok(server);
            }
            assert!(Instant::now() < deadline, "/healthz did not answer in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A full URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`.
    pub fn get(&self, path: &str, token: Option<&str>, request_id: Option<&str>) -> Resp {
        call(&self.agent, "GET", &self.url(path), token, request_id, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(
        &self,
        path: &str,
        token: Option<&str>,
        request_id: Option<&str>,
        body: &Value,
    ) -> Resp {
        call(
            &self.agent,
            "POST",
            &self.url(path),
            token,
            request_id,
            Some(body),
        )
    }

    /// `POST /v1/auth/login`.
    pub fn login_resp(&self, username: &str, password: &str, request_id: Option<&str>) -> Resp {
        self.post(
            "/v1/auth/login",
            None,
            request_id,
            &json!({"username": username, "password": password}),
        )
    }

    /// Logs in and returns the access token.
    pub fn login(&self, username: &str, password: &str) -> String {
        let r = self.login_resp(username, password, None);
        assert_eq!(r.status, 200, "login {username}: {}", r.body);
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// As `admin_token`, creates a user; returns its id.
    pub fn create_user(&self, admin_token: &str, username: &str, role: &str) -> String {
        let r = self.post(
            "/v1/users",
            Some(admin_token),
            None,
            &json!({"username": username, "password": USER_PASSWORD, "role": role}),
        );
        assert_eq!(r.status, 201, "create user {username}: {}", r.body);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// Every entry of the log, paged through `GET /v1/audit` as `token`.
    pub fn all_entries(&self, token: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = 0u64;
        loop {
            let r = self.get(
                &format!("/v1/audit?after_seq={after}&limit=1000"),
                Some(token),
                None,
            );
            assert_eq!(r.status, 200, "{}", r.body);
            let page = r.json();
            out.extend(page["entries"].as_array().unwrap().iter().cloned());
            match page["next_after_seq"].as_u64() {
                Some(n) => after = n,
                None => return out,
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP call with optional bearer token and `x-request-id`.
pub fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    request_id: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    try_call(agent, method, url, token, request_id, body)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// Like `call`, but a transport error (refused, reset, timeout) is returned, not a panic.
pub fn try_call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    request_id: Option<&str>,
    body: Option<&Value>,
) -> Result<Resp, ureq::Error> {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut resp = match method {
        "GET" => {
            let mut rb = agent.get(url);
            if let Some(b) = &bearer {
                rb = rb.header("authorization", b);
            }
            if let Some(id) = request_id {
                rb = rb.header("x-request-id", id);
            }
            rb.call()?
        }
        "POST" => {
            let mut rb = agent.post(url);
            if let Some(b) = &bearer {
                rb = rb.header("authorization", b);
            }
            if let Some(id) = request_id {
                rb = rb.header("x-request-id", id);
            }
            match body {
                Some(v) => rb.send_json(v)?,
                None => rb.send_empty()?,
            }
        }
        other => panic!("unsupported method {other}"),
    };
    let status = resp.status().as_u16();
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.body_mut().read_to_string()?;
    Ok(Resp {
        status,
        body,
        request_id,
    })
}

/// A valid `POST /v1/employees` body; `n` makes `employee_number` and `ssn` unique.
pub fn employee_body(n: u32) -> Value {
    // Area 100-899 (never 000/666/9xx), group 01-99, serial 0001-9999: all valid and distinct.
    let area = 100 + (n / (99 * 9999)) % 566;
    let group = 1 + (n / 9999) % 99;
    let serial = 1 + n % 9999;
    json!({
        "employee_number": format!("E{n:06}"),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "work_email": "ada@example.com",
        "department": "R&D",
        "hire_date": "2026-01-15",
        "ssn": format!("{area:03}-{group:02}-{serial:04}"),
        "date_of_birth": "1990-04-01",
        "home_address": {"line1": "1 Main St", "city": "Springfield", "state": "IL",
                         "postal_code": "62701", "country": "US"},
        "bank_account": {"routing_number": "011000015", "account_number": "000123456789"}
    })
}

/// A vault with a running server and one logged-in user per role.
pub struct Fixture {
    pub server: Server,
    pub vault: TestVault,
    pub admin: String,
    pub hr: String,
    pub payroll: String,
    pub auditor: String,
    pub security: String,
    /// User ids by username (`hr1`, `pay1`, `aud1`, `sec1`).
    pub ids: Vec<(String, String)>,
}

impl Fixture {
    /// `init`, `serve`, then users `hr1`, `pay1`, `aud1`, `sec1` created and logged in.
    pub fn start() -> Self {
        let vault = TestVault::init();
        let server = Server::start(vault.dir());
        let admin = server.login("admin", ADMIN_PASSWORD);
        let mut ids = Vec::new();
        let mut tokens = Vec::new();
        for (name, role) in [
            ("hr1", "hr"),
            ("pay1", "payroll"),
            ("aud1", "auditor"),
            ("sec1", "security"),
        ] {
            ids.push((name.to_owned(), server.create_user(&admin, name, role)));
            tokens.push(server.login(name, USER_PASSWORD));
        }
        let mut t = tokens.into_iter();
        Self {
            admin,
            hr: t.next().unwrap(),
            payroll: t.next().unwrap(),
            auditor: t.next().unwrap(),
            security: t.next().unwrap(),
            ids,
            server,
            vault,
        }
    }

    /// The id of a user the fixture created.
    pub fn user_id(&self, username: &str) -> &str {
        &self.ids.iter().find(|(n, _)| n == username).unwrap().1
    }

    /// As hr, creates employee `n`; returns its id.
    pub fn create_employee(&self, n: u32, request_id: Option<&str>) -> String {
        let r = self.server.post(
            "/v1/employees",
            Some(&self.hr),
            request_id,
            &employee_body(n),
        );
        assert_eq!(r.status, 201, "create employee: {}", r.body);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// Every entry, as the auditor sees it.
    pub fn entries(&self) -> Vec<Value> {
        self.server.all_entries(&self.auditor)
    }
}

/// Entries of the request the client sent with `x-request-id: id` (the entry's
/// `client_request_id`; its `request_id` is the server's own).
pub fn with_request_id<'a>(entries: &'a [Value], id: &str) -> Vec<&'a Value> {
    entries
        .iter()
        .filter(|e| e["client_request_id"].as_str() == Some(id))
        .collect()
}
