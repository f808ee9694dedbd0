//! HTTP-level benchmarks (issues 2, 3 and 4), each printed as a Markdown table for
//! `docs/PERFORMANCE.md`:
//!
//! - **unseal** and **init**: `Vault::open` / `Vault::init` with `KdfParams::recommended()` and
//!   the OWASP password hasher, in-process, timed around the call;
//! - **login**: sequential `POST /v1/auth/login` (latency), then concurrent (logins/s, 429 share);
//! - **cost of auditing a read** (section `audit`): masked `GET /v1/employees/{id}` as `hr` at 1
//!   and 32 connections with the durable audit sink, then with a sink that does no I/O
//!   (`NullSink` through `Vault::danger_open_with_audit_sink`); monitor off in both, so only the
//!   sink differs. The same servers also run `/healthz`, reads as `security` and creates, which
//!   splits a request's cost into HTTP, auth + store + audit pipeline, decryption and audit I/O;
//! - **core**: `GET /healthz`, masked read as `hr` (decrypts ssn, address, bank account), read as
//!   `security` (no decryption: the fields are absent) and `POST /v1/employees`, at 32
//!   connections on one server, monitor running as in `hrvault serve`;
//! - **alert latency**: under the same read load, a probe reads a honeytoken every 100 ms and
//!   waits until the monitor has evaluated the audit head seen when the response arrived (alerts
//!   are committed atomically with the monitor's cursor, so that is when the alert is visible);
//! - **tls** (issue 10, not in the default set): masked read and create at 32 connections over
//!   plain HTTP and over HTTPS (TLS 1.3, a P-256 certificate from a throw-away rcgen CA, verified
//!   by the client) against the same vault in the same process, runs alternating, so the only
//!   difference is the transport.
//! - **console** (issue 11, not in the default set): the web console's employees list and audit
//!   log pages against `GET /v1/employees` and `GET /v1/audit?limit=100&order=desc`, at 32 connections on
//!   one server, alternating.
//! - **cluster** (issue 12, not in the default set; `http/cluster.rs`): masked read and create at
//!   32 connections on a sled data dir, on PostgreSQL with one node and with two nodes, in one
//!   process; then the audit chain's append rate on PostgreSQL from one and two writer nodes.
//!
//! Each section runs in a process of its own (the bench re-executes itself), on new vaults. The
//! server runs in that process on its own tokio runtime (threads `srv`, 2 workers); the
//! load generator on another (threads `load`, 1 worker), over HTTP/1.1 keep-alive connections
//! (one `hyper::client::conn::http1` connection per client). CPU time per request is split by
//! thread (`/proc/self/task/*/schedstat`) to show what costs the most.
//!
//! `cargo bench --bench http`; environment (defaults produce the real figures):
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `HRVAULT_BENCH_HTTP_SECS` | 30 | measured seconds per run |
//! | `HRVAULT_BENCH_HTTP_WARMUP_SECS` | 5 | unmeasured seconds before each run |
//! | `HRVAULT_BENCH_HTTP_CLIENTS` | 32 | connections of the core runs |
//! | `HRVAULT_BENCH_HTTP_AUDIT_CLIENTS` | 1,32 | connections of the audit-cost runs |
//! | `HRVAULT_BENCH_HTTP_RECORDS` | 10000 | records read (seeded with `Vault::import_csv`) |
//! | `HRVAULT_BENCH_HTTP_READERS` | 1 | hr users the read load is spread over |
//! | `HRVAULT_BENCH_HTTP_SERVER_THREADS` | 2 | server runtime workers |
//! | `HRVAULT_BENCH_HTTP_CLIENT_THREADS` | 1 | load generator runtime workers |
//! | `HRVAULT_BENCH_HTTP_UNSEAL_RUNS` | 10 | `Vault::open` repetitions |
//! | `HRVAULT_BENCH_HTTP_LOGINS` | 20 | sequential logins |
//! | `HRVAULT_BENCH_HTTP_LOGIN_SECS` | 10 | measured seconds of concurrent logins |
//! | `HRVAULT_BENCH_HTTP_ALERT_SECS` | 100 | alert-latency run (about 10 probes a second) |
//! | `HRVAULT_BENCH_HTTP_PROBE_MS` | 100 | time between probes |
//! | `HRVAULT_BENCH_HTTP_ALERT_TIMEOUT_SECS` | 30 | a probe not visible by then counts as lost |
//! | `HRVAULT_BENCH_HTTP_DRAIN_SECS` | 60 | longest wait for the monitor to catch up between runs |
//! | `HRVAULT_BENCH_HTTP_MONITOR` | 1 | 0: no monitor during the login and core runs |
//! | `HRVAULT_BENCH_HTTP_SETTINGS` | (none) | extra TOML settings, e.g. `[monitor]` keys (not `[auth]`) |
//! | `HRVAULT_BENCH_HTTP_LOG` | info | log filter, as `HRVAULT_LOG` of the binary (one line per request at info), written to /dev/null; `off`: no subscriber |
//! | `HRVAULT_BENCH_HTTP_ONLY` | unseal,login,audit,core,alert | sections to run (also `tls`, `console`, `cluster`) |
//! | `HRVAULT_BENCH_HTTP_CLUSTER_SEED_SECS` | 120 | cluster: longest PostgreSQL seeding before it stops at fewer records |
//! | `HRVAULT_BENCH_HTTP_CHAIN_SECS` | 10 | cluster: measured seconds per chain append run |
//! | `HRVAULT_BENCH_HTTP_CHAIN_APPENDERS` | 64 | cluster: concurrent appenders in total per chain run |

#[path = "http/cluster.rs"]
mod cluster;
mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use common::*;
use hrvault::audit::{FileSink, LogSink};
use hrvault::clock::{SharedClock, SystemClock};
use hrvault::config::Settings;
use hrvault::crypto::{KdfParams, PasswordHasher};
use hrvault::service::{InitOptions, Vault};

const PASSPHRASE: &str = "bench passphrase (not a secret)";
const ADMIN_PASSWORD: &str = "bench-admin-password-0001";
/// Thread-name prefixes CPU time is attributed to.
const GROUPS: [&str; 5] = ["srv", "load", "audit-writer", "monitor", "pg"];

struct Config {
    secs: Duration,
    warmup: Duration,
    clients: usize,
    audit_clients: Vec<usize>,
    records: usize,
    readers: usize,
    server_threads: usize,
    client_threads: usize,
    unseal_runs: usize,
    logins: usize,
    login_secs: Duration,
    alert_secs: Duration,
    probe_every: Duration,
    alert_timeout: Duration,
    drain: Duration,
    monitor: bool,
    log: Option<String>,
    only: String,
}

impl Config {
    fn from_env() -> Self {
        Self {
            secs: env_secs("HRVAULT_BENCH_HTTP_SECS", 30.0),
            warmup: env_secs("HRVAULT_BENCH_HTTP_WARMUP_SECS", 5.0),
            clients: env_num("HRVAULT_BENCH_HTTP_CLIENTS", 32),
            audit_clients: env_list("HRVAULT_BENCH_HTTP_AUDIT_CLIENTS", "1,32"),
            records: env_num("HRVAULT_BENCH_HTTP_RECORDS", 10_000),
            readers: env_num::<usize>("HRVAULT_BENCH_HTTP_READERS", 1).max(1),
            server_threads: env_num("HRVAULT_BENCH_HTTP_SERVER_THREADS", 2),
            client_threads: env_num("HRVAULT_BENCH_HTTP_CLIENT_THREADS", 1),
            unseal_runs: env_num("HRVAULT_BENCH_HTTP_UNSEAL_RUNS", 10),
            logins: env_num("HRVAULT_BENCH_HTTP_LOGINS", 20),
            login_secs: env_secs("HRVAULT_BENCH_HTTP_LOGIN_SECS", 10.0),
            alert_secs: env_secs("HRVAULT_BENCH_HTTP_ALERT_SECS", 100.0),
            probe_every: Duration::from_millis(env_num("HRVAULT_BENCH_HTTP_PROBE_MS", 100)),
            alert_timeout: env_secs("HRVAULT_BENCH_HTTP_ALERT_TIMEOUT_SECS", 30.0),
            drain: env_secs("HRVAULT_BENCH_HTTP_DRAIN_SECS", 60.0),
            monitor: env_num("HRVAULT_BENCH_HTTP_MONITOR", 1) != 0,
            log: Some(std::env::var("HRVAULT_BENCH_HTTP_LOG").unwrap_or_else(|_| "info".into()))
                .filter(|s| !s.is_empty() && s != "off"),
            only: std::env::var("HRVAULT_BENCH_HTTP_ONLY")
                .unwrap_or_else(|_| "unseal,login,audit,core,alert".into()),
        }
    }

    fn runs(&self, section: &str) -> bool {
        self.only.split(',').any(|s| s.trim() == section)
    }
}

// ------------------------------------------------------------------------------------------
// The vault and the in-process server.

fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

fn hasher() -> Arc<PasswordHasher> {
    Arc::new(PasswordHasher::owasp().expect("hasher"))
}

/// Production settings, except a token lifetime that outlasts the whole run, plus
/// `HRVAULT_BENCH_HTTP_SETTINGS` (TOML, to try other monitor settings).
fn settings() -> Settings {
    let extra = std::env::var("HRVAULT_BENCH_HTTP_SETTINGS").unwrap_or_default();
    Settings::parse(&format!("{extra}\n[auth]\ntoken_ttl_secs = 86400\n")).expect("settings")
}

fn passphrase() -> SecretString {
    SecretString::from(PASSPHRASE.to_owned())
}

/// `Vault::init` with the binary's parameters; returns how long it took.
/// What every bench vault is created with: the real KDF and hasher, the bench's secrets.
fn init_options() -> InitOptions {
    InitOptions {
        passphrase: passphrase(),
        admin_password: Some(SecretString::from(ADMIN_PASSWORD.to_owned())),
        kdf: KdfParams::recommended().expect("kdf"),
        hasher: hasher(),
    }
}

fn init(rt: &Runtime, dir: &Path) -> Duration {
    let t = Instant::now();
    rt.block_on(Vault::init(dir, init_options(), clock()))
        .expect("init");
    t.elapsed()
}

/// Which audit sink a vault writes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// The real segment files, one `fdatasync` per group commit.
    Durable,
    /// `NullSink`: the writer thread, chaining and group commit, but no I/O.
    Null,
}

fn open(rt: &Runtime, dir: &Path, sink: Sink) -> Vault {
    rt.block_on(async {
        match sink {
            Sink::Durable => Vault::open(dir, &passphrase(), settings(), clock(), hasher()).await,
            Sink::Null => {
                let wrap: Box<dyn FnOnce(FileSink) -> Box<dyn LogSink> + Send> =
                    Box::new(|_| Box::new(NullSink));
                Vault::danger_open_with_audit_sink(
                    dir,
                    &passphrase(),
                    settings(),
                    clock(),
                    hasher(),
                    wrap,
                )
                .await
            }
        }
    })
    .expect("open the vault")
}

/// A new vault in a temporary directory, seeded with `cfg.records` records.
struct Fresh {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    ids: Arc<Vec<String>>,
}

impl Fresh {
    fn new(cfg: &Config, rt: &Runtime) -> Self {
        Self::with(cfg.records, rt)
    }

    fn with(records: usize, rt: &Runtime) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        init(rt, &data);
        let t = Instant::now();
        let vault = open(rt, &data, Sink::Durable);
        let ids = Arc::new(seed(rt, &vault, 0..records as u64));
        drop(vault);
        println!(
            "\n(a new vault: {} records seeded with `Vault::import_csv` in {})",
            ids.len(),
            ms(t.elapsed())
        );
        Self {
            _dir: dir,
            data,
            ids,
        }
    }
}

/// Seeds records `range` through `Vault::import_csv` (the path `hrvault import` takes).
fn seed(rt: &Runtime, vault: &Vault, range: std::ops::Range<u64>) -> Vec<String> {
    let mut csv = Vec::with_capacity((range.end - range.start) as usize * 300);
    write_csv(&mut csv, range).expect("csv");
    let report = rt
        .block_on(vault.import_csv(csv.as_slice(), "bench-seed.csv", false))
        .expect("import");
    assert!(report.rejected.is_empty(), "{:?}", &report.rejected[..1]);
    report.ids.iter().map(|id| id.to_string()).collect()
}

struct Server {
    rt: Runtime,
    addr: SocketAddr,
    vault: Vault,
    monitor: bool,
    /// The PostgreSQL store behind the vault (cluster section): its committed chain head and
    /// its server processes' CPU are sampled with the vault's counters.
    pg: Option<Arc<cluster::PgSide>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Serves `vault` on 127.0.0.1 from its own runtime; `monitor` also starts the background
    /// tasks (insider-threat monitor, webhook sender, housekeeping) as `hrvault serve` does.
    fn start(vault: Vault, threads: usize, monitor: bool) -> Self {
        let opts = hrvault::api::ServeOptions::new(&vault.settings().server);
        Self::start_with(vault, threads, monitor, opts)
    }

    /// `start` with explicit serving options (TLS).
    fn start_with(
        vault: Vault,
        threads: usize,
        monitor: bool,
        opts: hrvault::api::ServeOptions,
    ) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("srv")
            .enable_all()
            .build()
            .expect("server runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        if monitor {
            rt.block_on(async { hrvault::service::spawn_background_tasks(&vault) });
        }
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = rt.spawn(hrvault::api::serve_with(
            vault.clone(),
            listener,
            opts,
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            rt,
            addr,
            vault,
            monitor,
            pg: None,
            stop: Some(stop),
            task,
        }
    }

    /// Stops serving (graceful, bounded) and ends the runtime.
    fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let task = self.task;
        let _ = self
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), task).await });
        self.rt.shutdown_timeout(Duration::from_secs(2));
    }
}

// ------------------------------------------------------------------------------------------
// The HTTP client.

type Sender = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Sender {
    connect_over(addr, None).await
}

/// A keep-alive connection, over TLS (verifying the server) when `tls` is given.
async fn connect_over(addr: SocketAddr, tls: Option<&tokio_rustls::TlsConnector>) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    match tls {
        None => handshake(TokioIo::new(stream)).await,
        Some(connector) => {
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let tls = connector
                .connect(name, stream)
                .await
                .expect("TLS handshake");
            handshake(TokioIo::new(tls)).await
        }
    }
}

async fn handshake<T>(io: TokioIo<T>) -> Sender
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

fn request(
    addr: SocketAddr,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<Bytes>,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, addr.to_string());
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    b.body(Full::new(body.unwrap_or_default()))
        .expect("request")
}

/// Sends one request on `sender`; returns the status and the whole body.
async fn send(sender: &mut Sender, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    sender.ready().await.expect("connection ready");
    let resp = sender.send_request(req).await.expect("response");
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

/// One request on a fresh connection (setup steps); panics unless `want`.
async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    want: StatusCode,
) -> Value {
    let mut s = connect(addr).await;
    let body = body.map(|v| Bytes::from(v.to_string()));
    let (status, bytes) = send(&mut s, request(addr, &method, path, token, body)).await;
    assert_eq!(
        status,
        want,
        "{method} {path}: {}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

async fn login(addr: SocketAddr, username: &str, password: &str) -> String {
    let v = call(
        addr,
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
        StatusCode::OK,
    )
    .await;
    v["access_token"].as_str().expect("token").to_owned()
}

/// Creates a human user with `role` (as admin) and logs them in; returns the token.
async fn user(addr: SocketAddr, admin: &str, username: &str, role: &str) -> String {
    let password = format!("pw-{username}-bench-0001");
    call(
        addr,
        Method::POST,
        "/v1/users",
        Some(admin),
        Some(json!({"username": username, "password": password, "role": role, "kind": "human"})),
        StatusCode::CREATED,
    )
    .await;
    login(addr, username, &password).await
}

// ------------------------------------------------------------------------------------------
// The load generator.

/// What every client of a run sends.
#[derive(Clone)]
enum Work {
    /// `GET path` (no token).
    Plain(&'static str),
    /// `GET /v1/employees/{id}` of a uniformly random id.
    Read(Arc<Vec<String>>),
    /// `POST /v1/employees` of a fresh record numbered from the counter.
    Create(Arc<AtomicU64>),
    /// `POST /v1/auth/login` of this user.
    Login(String, String),
    /// `GET path` with the token (JSON route) or, if `cookie` is set, with that console session
    /// cookie instead (the page).
    Get(&'static str, Option<Arc<String>>),
}

#[derive(Clone)]
struct Job {
    work: Work,
    /// Client `i` authenticates with `tokens[i % len]`.
    tokens: Arc<Vec<String>>,
    want: StatusCode,
    /// Connect over TLS with this client.
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Job {
    /// The same work over TLS.
    fn over_tls(mut self, connector: &tokio_rustls::TlsConnector) -> Self {
        self.tls = Some(connector.clone());
        self
    }

    fn healthz() -> Self {
        Self {
            work: Work::Plain("/healthz"),
            tokens: Arc::new(Vec::new()),
            want: StatusCode::OK,
            tls: None,
        }
    }

    fn read(ids: &Arc<Vec<String>>, tokens: &Arc<Vec<String>>) -> Self {
        Self {
            work: Work::Read(ids.clone()),
            tokens: tokens.clone(),
            want: StatusCode::OK,
            tls: None,
        }
    }

    fn create(first: u64, tokens: &Arc<Vec<String>>) -> Self {
        Self {
            work: Work::Create(Arc::new(AtomicU64::new(first))),
            tokens: tokens.clone(),
            want: StatusCode::CREATED,
            tls: None,
        }
    }

    fn request(&self, addr: SocketAddr, client: usize, rng: &mut u64) -> Request<Full<Bytes>> {
        let token =
            (!self.tokens.is_empty()).then(|| self.tokens[client % self.tokens.len()].as_str());
        match &self.work {
            Work::Plain(path) => request(addr, &Method::GET, path, None, None),
            Work::Read(ids) => {
                // xorshift64*
                *rng ^= *rng >> 12;
                *rng ^= *rng << 25;
                *rng ^= *rng >> 27;
                let r = rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
                let id = &ids[(r % ids.len() as u64) as usize];
                request(
                    addr,
                    &Method::GET,
                    &format!("/v1/employees/{id}"),
                    token,
                    None,
                )
            }
            Work::Create(next) => {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = Bytes::from(employee_json(i));
                request(addr, &Method::POST, "/v1/employees", token, Some(body))
            }
            Work::Login(u, p) => {
                let body = Bytes::from(json!({"username": u, "password": p}).to_string());
                request(addr, &Method::POST, "/v1/auth/login", None, Some(body))
            }
            Work::Get(path, None) => request(addr, &Method::GET, path, token, None),
            Work::Get(path, Some(cookie)) => {
                let mut r = request(addr, &Method::GET, path, None, None);
                r.headers_mut().insert(
                    header::COOKIE,
                    header::HeaderValue::from_str(cookie).expect("cookie header"),
                );
                r
            }
        }
    }
}

#[derive(Default)]
struct ClientResult {
    latencies: Vec<Duration>,
    /// Unexpected statuses in the measured window.
    other: BTreeMap<u16, u64>,
    first_error: Option<String>,
}

/// One keep-alive connection sending `job` until `end`; requests completed in
/// `[measure_from, end)` are measured.
async fn client_loop(
    addr: SocketAddr,
    job: Job,
    client: usize,
    measure_from: Instant,
    end: Instant,
) -> ClientResult {
    let mut out = ClientResult::default();
    let mut sender = connect_over(addr, job.tls.as_ref()).await;
    let mut rng =
        0x9e37_79b9_7f4a_7c15u64 ^ (client as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    loop {
        let req = job.request(addr, client, &mut rng);
        let t = Instant::now();
        let (status, body) = send(&mut sender, req).await;
        let done = Instant::now();
        if done >= end {
            break;
        }
        if done < measure_from {
            continue;
        }
        if status == job.want {
            out.latencies.push(done - t);
        } else {
            *out.other.entry(status.as_u16()).or_default() += 1;
            if out.first_error.is_none() {
                out.first_error = Some(format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                ));
            }
        }
    }
    out
}

/// What the vaults' counters and the threads' CPU clocks say at one instant.
struct Sample {
    at: Instant,
    cpu: ThreadCpu,
    /// CPU of the PostgreSQL server processes, if the vaults are on one.
    pg_cpu: Option<cluster::ProcCpu>,
    /// Transactions committed or rolled back in the store's database (`pg_stat_database`).
    pg_xacts: Option<u64>,
    /// Audit entries and group commits, summed over the vaults.
    entries: u64,
    batches: u64,
    head: u64,
    monitored: u64,
}

/// The audit head the monitor must reach (a store's committed chain head, else the writer's)
/// and how far the furthest monitor has got (in a store only the `monitor` lease holder runs).
fn heads(servers: &[&Server]) -> (u64, u64) {
    let monitored = servers
        .iter()
        .map(|s| s.vault.metrics().monitor_processed_seq())
        .max()
        .unwrap_or(0);
    let head = match servers.iter().find_map(|s| s.pg.as_ref()) {
        Some(pg) => pg.committed_head(),
        None => servers
            .iter()
            .map(|s| s.vault.audit_log().head().seq)
            .max()
            .unwrap_or(0),
    };
    (head, monitored)
}

fn sample(servers: &[&Server]) -> Sample {
    let at = Instant::now();
    let cpu = ThreadCpu::snapshot();
    let pg = servers.iter().find_map(|s| s.pg.as_ref());
    let pg_cpu = pg.map(|pg| pg.server_cpu());
    let pg_xacts = pg.and_then(|pg| pg.xacts());
    let (mut entries, mut batches) = (0, 0);
    for s in servers {
        let stats = s.vault.audit_log().stats();
        entries += stats.entries.load(Ordering::Relaxed);
        batches += stats.batches.load(Ordering::Relaxed);
    }
    let (head, monitored) = heads(servers);
    Sample {
        at,
        cpu,
        pg_cpu,
        pg_xacts,
        entries,
        batches,
        head,
        monitored,
    }
}

/// A measured run.
struct Run {
    ok: u64,
    secs: f64,
    lat: Summary,
    other: BTreeMap<u16, u64>,
    first_error: Option<String>,
    /// CPU by thread group over the measured window.
    cpu: Vec<(String, Duration)>,
    /// Audit entries committed and group commits, measured window.
    entries: u64,
    batches: u64,
    /// Audit entries not yet evaluated by the monitor at the end of the window (if it runs).
    monitor_lag: Option<u64>,
    /// PostgreSQL transactions in the window (store runs; `pg_stat_database`, approximate).
    pg_xacts: Option<u64>,
}

impl Run {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    fn mean_batch(&self) -> String {
        if self.batches == 0 {
            "-".into()
        } else {
            format!("{:.1}", self.entries as f64 / self.batches as f64)
        }
    }

    fn errors(&self) -> String {
        if self.other.is_empty() {
            "0".into()
        } else {
            self.other
                .iter()
                .map(|(s, n)| format!("{n}×{s}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    }

    /// CPU µs per successful request, by group, e.g. `srv 180 · load 40 · audit-writer 15`.
    fn cpu_per_request(&self) -> String {
        let n = self.ok.max(1) as f64;
        self.cpu
            .iter()
            .filter(|(_, d)| !d.is_zero())
            .map(|(g, d)| format!("{g} {:.0}", d.as_secs_f64() * 1e6 / n))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    fn cores_busy(&self) -> f64 {
        self.cpu.iter().map(|(_, d)| d.as_secs_f64()).sum::<f64>() / self.secs
    }
}

/// Runs `job` from `clients` connections: warm-up, then `secs` measured. With several servers
/// (nodes), client `i` connects to `servers[i % n]`; the audit counters are summed over them.
fn load(
    client_rt: &Runtime,
    servers: &[&Server],
    job: &Job,
    clients: usize,
    warmup: Duration,
    secs: Duration,
) -> Run {
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    let monitor = servers.iter().any(|s| s.monitor);
    let (results, first, last) = client_rt.block_on(async move {
        let measure_from = Instant::now() + warmup;
        let end = measure_from + secs;
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let addr = addrs[c % addrs.len()];
                tokio::spawn(client_loop(addr, job.clone(), c, measure_from, end))
            })
            .collect();
        tokio::time::sleep_until(measure_from.into()).await;
        let first = sample(servers);
        tokio::time::sleep_until(end.into()).await;
        let last = sample(servers);
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("client task"));
        }
        (results, first, last)
    });
    let mut lat = Vec::new();
    let mut other = BTreeMap::new();
    let mut first_error = None;
    for r in results {
        lat.extend(r.latencies);
        for (s, n) in r.other {
            *other.entry(s).or_default() += n;
        }
        first_error = first_error.or(r.first_error);
    }
    let mut cpu = last.cpu.since(&first.cpu, &GROUPS);
    if let (Some(before), Some(after)) = (&first.pg_cpu, &last.pg_cpu) {
        cpu.push(("postgres".to_owned(), after.since(before)));
    }
    Run {
        ok: lat.len() as u64,
        secs: (last.at - first.at).as_secs_f64(),
        lat: summarize(lat),
        other,
        first_error,
        cpu,
        entries: last.entries - first.entries,
        batches: last.batches - first.batches,
        monitor_lag: monitor.then(|| last.head.saturating_sub(last.monitored)),
        pg_xacts: first
            .pg_xacts
            .zip(last.pg_xacts)
            .map(|(a, b)| b.saturating_sub(a)),
    }
}

/// Waits (bounded) until the monitor has evaluated every committed entry; returns how long.
fn drain_monitor(servers: &[&Server], limit: Duration) -> (Duration, u64) {
    let t = Instant::now();
    loop {
        let (head, done) = heads(servers);
        if done >= head || t.elapsed() > limit {
            return (t.elapsed(), head.saturating_sub(done));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn print_run_details(name: &str, r: &Run) {
    println!(
        "- {name}: {} ok in {:.1} s; errors {}; mean latency {}; max {}; CPU busy {:.2} cores; \
         CPU µs/request: {}; audit entries {} in {} commits (mean batch {}){}",
        r.ok,
        r.secs,
        r.errors(),
        ms(r.lat.mean),
        ms(r.lat.max),
        r.cores_busy(),
        r.cpu_per_request(),
        r.entries,
        r.batches,
        r.mean_batch(),
        r.monitor_lag.map_or(String::new(), |n| format!(
            "; monitor {n} entries behind the audit head at the end"
        ))
    );
    if let Some(e) = &r.first_error {
        println!("  - first unexpected response: {e}");
    }
}

// ------------------------------------------------------------------------------------------
// Sections.

fn section_unseal(cfg: &Config, rt: &Runtime) {
    println!("\n## Unseal time\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let init_took = init(rt, &data);
    let mut opens = Vec::new();
    for _ in 0..cfg.unseal_runs {
        let t = Instant::now();
        let v = open(rt, &data, Sink::Durable);
        opens.push(t.elapsed());
        drop(v);
    }
    let s = summarize(opens);
    println!(
        "Method: in-process `Vault::init` once, then `Vault::open` {} times on the new vault \
         (no records, a 1-entry log) with `KdfParams::recommended()` (argon2id 64 MiB, t=3, p=1) \
         and `PasswordHasher::owasp()`; each timed around the call.\n",
        cfg.unseal_runs
    );
    println!("| metric | value |");
    println!("| --- | --- |");
    println!(
        "| `Vault::init` (KDF, admin password hash, sled, fsyncs) | {} |",
        ms(init_took)
    );
    println!("| median unseal time (`Vault::open`) | {} |", ms(s.p50));
    println!("| slowest unseal | {} |", ms(s.max));
}

struct Staff {
    admin: String,
}

fn admin(rt: &Runtime, addr: SocketAddr) -> Staff {
    Staff {
        admin: rt.block_on(login(addr, "admin", ADMIN_PASSWORD)),
    }
}

fn readers(rt: &Runtime, addr: SocketAddr, staff: &Staff, tag: &str, n: usize) -> Arc<Vec<String>> {
    Arc::new(
        (0..n)
            .map(|i| rt.block_on(user(addr, &staff.admin, &format!("hr-{tag}-{i}"), "hr")))
            .collect(),
    )
}

/// Attribution, monitor off: `/healthz`, then reads as `security` (no decryption) and `hr`
/// (masked), with the durable audit sink and with `NullSink`; the audit-cost table compares the
/// `hr` reads at each client count.
fn section_audit(cfg: &Config, client_rt: &Runtime, data: &Path, ids: &Arc<Vec<String>>) {
    println!("\n## Cost of auditing a read, and what a read costs\n");
    let mut runs: Vec<(Sink, &'static str, usize, Run)> = Vec::new();
    for sink in [Sink::Durable, Sink::Null] {
        let vault = open(client_rt, data, sink);
        let server = Server::start(vault, cfg.server_threads, false);
        let staff = admin(client_rt, server.addr);
        let tag = if sink == Sink::Durable { "ad" } else { "an" };
        let hr = readers(client_rt, server.addr, &staff, tag, cfg.readers);
        let security = Arc::new(vec![client_rt.block_on(user(
            server.addr,
            &staff.admin,
            &format!("security-{tag}"),
            "security",
        ))]);
        let mut jobs: Vec<(&'static str, usize, Job)> = Vec::new();
        if sink == Sink::Durable {
            jobs.push(("healthz", cfg.clients, Job::healthz()));
        }
        for &c in &cfg.audit_clients {
            jobs.push(("hr", c, Job::read(ids, &hr)));
        }
        jobs.push(("security", cfg.clients, Job::read(ids, &security)));
        let creator = Arc::new(vec![client_rt.block_on(user(
            server.addr,
            &staff.admin,
            &format!("hr-create-{tag}"),
            "hr",
        ))]);
        let first = if sink == Sink::Durable {
            10_000_000
        } else {
            11_000_000
        };
        jobs.push(("create", cfg.clients, Job::create(first, &creator)));
        for (who, clients, job) in jobs {
            let r = load(client_rt, &[&server], &job, clients, cfg.warmup, cfg.secs);
            let sink_name = match (who, sink) {
                ("healthz", _) => "",
                (_, Sink::Durable) => ", durable sink",
                (_, Sink::Null) => ", NullSink",
            };
            print_run_details(&format!("{who}{sink_name}, {clients} connections"), &r);
            runs.push((sink, who, clients, r));
        }
        server.stop();
    }
    let find = |sink: Sink, who: &str, clients: usize| {
        runs.iter()
            .find(|(s, w, c, _)| (*s == sink || who == "healthz") && *w == who && *c == clients)
            .map(|(_, _, _, r)| r)
    };
    println!(
        "\nMethod: masked `GET /v1/employees/{{id}}` as `hr` over {} records, uniformly random \
         ids, {:.0} s measured after {:.0} s warm-up per row; first with the durable segment sink \
         (`Vault::open`), then on the same data dir with `NullSink` (chaining and group commit \
         without I/O, `Vault::danger_open_with_audit_sink`). The monitor is not started in \
         either, so only the sink differs. Mean batch = audit entries / group commits \
         (`AuditLog::stats()`) over the measured window.\n",
        ids.len(),
        cfg.secs.as_secs_f64(),
        cfg.warmup.as_secs_f64()
    );
    println!(
        "| connections | audited reads/s | unaudited reads/s | audited / unaudited | p50 audited | \
         p50 unaudited | p99 audited | p99 unaudited | mean batch (audited) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for &c in &cfg.audit_clients {
        let (Some(d), Some(n)) = (find(Sink::Durable, "hr", c), find(Sink::Null, "hr", c)) else {
            continue;
        };
        println!(
            "| {c} | {:.0} | {:.0} | {:.2} | {} | {} | {} | {} | {} |",
            d.rps(),
            n.rps(),
            d.rps() / n.rps(),
            ms(d.lat.p50),
            ms(n.lat.p50),
            ms(d.lat.p99),
            ms(n.lat.p99),
            d.mean_batch()
        );
    }
    println!(
        "\nTarget (issue 3): at 32 connections the audited read within 2x the unaudited one, i.e. \
         audited / unaudited >= 0.50."
    );

    let c = cfg.clients;
    println!("\n### What a request costs ({c} connections, monitor off)\n");
    println!(
        "Each step adds one thing to the one above: `/healthz` is HTTP alone; a `security` read \
         adds token verification (EdDSA), the user and revocation lookups, the record load, the \
         audit entry through the writer and the JSON response, but no decryption (the sensitive \
         fields are absent for that role); `hr` adds unwrapping the record key and decrypting \
         ssn, address and bank account for the mask; the durable sink adds the segment write \
         and its group-committed fdatasync. A create validates, seals the four fields under a \
         new record key, audits, writes to sled and waits for the store sync (sled flush + \
         fdatasync, group-committed by the audit writer); with NullSink only the audit write \
         goes. CPU = thread CPU time per request (schedstat): `srv` \
         server runtime and its blocking pool, `load` the load generator, `audit-writer` the \
         writer thread (including the store syncs of creates), `other` sled's threads and the \
         rest. Time spent waiting for fdatasync is not CPU time.\n"
    );
    println!("| read | requests/s | % of /healthz | p50 | p99 | p99.9 | CPU µs per request |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let health = find(Sink::Durable, "healthz", c).map_or(f64::NAN, Run::rps);
    for (name, r) in [
        ("`GET /healthz`", find(Sink::Durable, "healthz", c)),
        ("security, NullSink", find(Sink::Null, "security", c)),
        ("security, durable sink", find(Sink::Durable, "security", c)),
        ("hr (masked), NullSink", find(Sink::Null, "hr", c)),
        ("hr (masked), durable sink", find(Sink::Durable, "hr", c)),
        (
            "`POST /v1/employees`, NullSink",
            find(Sink::Null, "create", c),
        ),
        (
            "`POST /v1/employees`, durable sink",
            find(Sink::Durable, "create", c),
        ),
    ] {
        let Some(r) = r else { continue };
        println!(
            "| {name} | {:.0} | {:.0} % | {} | {} | {} | {} |",
            r.rps(),
            100.0 * r.rps() / health,
            ms(r.lat.p50),
            ms(r.lat.p99),
            ms(r.lat.p999),
            r.cpu_per_request()
        );
    }
}

/// Sequential then concurrent logins.
fn section_login(cfg: &Config, client_rt: &Runtime, server: &Server, staff: &Staff) {
    println!("\n## Login time\n");
    let addr = server.addr;
    let password = "pw-login-bench-0001";
    client_rt.block_on(call(
        addr,
        Method::POST,
        "/v1/users",
        Some(&staff.admin),
        Some(
            json!({"username": "login-bench", "password": password, "role": "hr", "kind": "human"}),
        ),
        StatusCode::CREATED,
    ));
    let job = Job {
        work: Work::Login("login-bench".into(), password.into()),
        tokens: Arc::new(Vec::new()),
        want: StatusCode::OK,
        tls: None,
    };
    let sequential = client_rt.block_on(async {
        let mut s = connect(addr).await;
        let mut lat = Vec::new();
        let mut rng = 1;
        for _ in 0..cfg.logins {
            let t = Instant::now();
            let (status, _) = send(&mut s, job.request(addr, 0, &mut rng)).await;
            assert_eq!(status, StatusCode::OK);
            lat.push(t.elapsed());
        }
        summarize(lat)
    });
    let conc = load(
        client_rt,
        &[server],
        &job,
        cfg.clients,
        Duration::from_secs(1).min(cfg.warmup),
        cfg.login_secs,
    );
    print_run_details(&format!("logins, {} connections", cfg.clients), &conc);
    let limited = conc.other.get(&429).copied().unwrap_or(0);
    println!(
        "\nMethod: `POST /v1/auth/login` (argon2id verify at OWASP's 19 MiB, t=2, p=1 on a \
         blocking thread behind the hashing limit, then the audit entry and an EdDSA token) on \
         one keep-alive connection, {} times in a row; then {} connections for {:.0} s.\n",
        cfg.logins, cfg.clients, conc.secs
    );
    println!("| metric | value |");
    println!("| --- | --- |");
    println!(
        "| latency p50 / p99, 1 client ({} logins) | {} / {} |",
        sequential.n,
        ms(sequential.p50),
        ms(sequential.p99)
    );
    println!("| logins/s, {} clients | {:.1} |", cfg.clients, conc.rps());
    println!(
        "| latency p50 / p99, {} clients | {} / {} |",
        cfg.clients,
        ms(conc.lat.p50),
        ms(conc.lat.p99)
    );
    println!(
        "| 429 share, {} clients | {:.1} % |",
        cfg.clients,
        100.0 * limited as f64 / (conc.ok + limited).max(1) as f64
    );
}

/// healthz, hr read, security read and create at `clients` connections on one server.
fn section_core(
    cfg: &Config,
    client_rt: &Runtime,
    server: &Server,
    staff: &Staff,
    ids: &Arc<Vec<String>>,
) {
    let addr = server.addr;
    let hr = readers(client_rt, addr, staff, "core", cfg.readers);
    let security = Arc::new(vec![client_rt.block_on(user(
        addr,
        &staff.admin,
        "security-core",
        "security",
    ))]);
    let creator = Arc::new(vec![client_rt.block_on(user(
        addr,
        &staff.admin,
        "hr-create",
        "hr",
    ))]);
    let runs: Vec<(&str, Job)> = vec![
        ("`GET /healthz`", Job::healthz()),
        (
            "`GET /v1/employees/{id}` as hr (masked)",
            Job::read(ids, &hr),
        ),
        (
            "`GET /v1/employees/{id}` as security (no decryption)",
            Job::read(ids, &security),
        ),
        ("`POST /v1/employees`", Job::create(10_000_000, &creator)),
    ];
    println!("\n## Request throughput at {} connections\n", cfg.clients);
    let mut table = Vec::new();
    for (name, job) in runs {
        let r = load(
            client_rt,
            &[server],
            &job,
            cfg.clients,
            cfg.warmup,
            cfg.secs,
        );
        print_run_details(name, &r);
        if server.monitor && r.entries > 0 {
            let (took, left) = drain_monitor(&[server], cfg.drain);
            if left == 0 {
                println!("  - the monitor caught up {} after the run", ms(took));
            } else {
                println!(
                    "  - WARNING: after waiting {} the monitor is still {left} entries behind; \
                     it competes with the next run for the CPU",
                    ms(took)
                );
            }
        }
        table.push((name, r));
    }
    let health = table[0].1.rps();
    println!(
        "\nMethod: {} keep-alive HTTP/1.1 connections per route, {:.0} s measured after {:.0} s \
         warm-up, one route after the other on the same in-process server ({}); {} records, reads uniformly over their ids; creates with unique numbers and SSNs. \
         CPU = thread CPU time (schedstat) per successful request over the measured window: \
         `srv` = server runtime incl. its blocking pool (HTTP, auth, crypto, JSON, sled reads), \
         `load` = the load generator, `audit-writer` = chaining + write + fdatasync (and the \
         store sync of writes), `monitor` = insider-threat rules, `other` = sled's threads.\n",
        cfg.clients,
        cfg.secs.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        if server.monitor {
            "monitor running as in `hrvault serve`; after each run the bench waits for it to \
             catch up"
        } else {
            "monitor not started"
        },
        ids.len()
    );
    println!("| route | requests/s | % of /healthz | p50 | p99 | p99.9 | CPU µs per request |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, r) in &table {
        println!(
            "| {name} | {:.0} | {:.0} % | {} | {} | {} | {} |",
            r.rps(),
            100.0 * r.rps() / health,
            ms(r.lat.p50),
            ms(r.lat.p99),
            ms(r.lat.p999),
            r.cpu_per_request()
        );
    }
    println!("\nTarget (issue 2): masked read >= 20 % of /healthz throughput.");
}

/// Alert latency: honeytoken probes under the read load.
fn section_alert(
    cfg: &Config,
    client_rt: &Runtime,
    server: &Server,
    staff: &Staff,
    ids: &Arc<Vec<String>>,
) {
    println!("\n## Alert latency\n");
    let addr = server.addr;
    let hr = readers(client_rt, addr, staff, "alert", cfg.readers);
    let security = client_rt.block_on(user(addr, &staff.admin, "security-alert", "security"));
    let prober = client_rt.block_on(user(addr, &staff.admin, "hr-probe", "hr"));
    let decoy = client_rt.block_on(call(
        addr,
        Method::POST,
        "/v1/honeytokens",
        Some(&security),
        Some(serde_json::from_str(&employee_json(20_000_000)).expect("json")),
        StatusCode::CREATED,
    ));
    let decoy = decoy["id"].as_str().expect("decoy id").to_owned();
    let (took, left) = drain_monitor(&[server], cfg.drain);
    println!(
        "- before the run the monitor needed {} to catch up{}",
        ms(took),
        if left > 0 {
            format!(" and is still {left} entries behind")
        } else {
            String::new()
        }
    );

    let job = Job {
        work: Work::Read(ids.clone()),
        tokens: hr,
        want: StatusCode::OK,
        tls: None,
    };
    let vault = server.vault.clone();
    let (every, timeout, secs, clients, warmup) = (
        cfg.probe_every,
        cfg.alert_timeout,
        cfg.alert_secs,
        cfg.clients,
        cfg.warmup,
    );
    // The read load runs in its own thread (it blocks on the client runtime); the probes run
    // alongside it on the same runtime.
    let (latencies, lost, load_run) = std::thread::scope(|s| {
        let background = s.spawn(|| load(client_rt, &[server], &job, clients, warmup, secs));
        let probes = client_rt.block_on(async {
            tokio::time::sleep(warmup).await;
            let end = Instant::now() + secs;
            let mut sender = connect(addr).await;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut waiters = Vec::new();
            let path = format!("/v1/employees/{decoy}");
            while Instant::now() < end {
                tick.tick().await;
                let (status, _) = send(
                    &mut sender,
                    request(addr, &Method::GET, &path, Some(&prober), None),
                )
                .await;
                let t0 = Instant::now();
                assert_eq!(status, StatusCode::OK, "probe read");
                // The probe's entry was durable before its response: the head now covers it.
                let seq = vault.audit_log().head().seq;
                let vault = vault.clone();
                waiters.push(tokio::spawn(async move {
                    loop {
                        if vault.metrics().monitor_processed_seq() >= seq {
                            return Some(t0.elapsed());
                        }
                        if t0.elapsed() > timeout {
                            return None;
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }));
            }
            let mut got = Vec::new();
            let mut lost = 0;
            for w in waiters {
                match w.await.expect("waiter") {
                    Some(d) => got.push(d),
                    None => lost += 1,
                }
            }
            (got, lost)
        });
        (probes.0, probes.1, background.join().expect("load thread"))
    });
    print_run_details("read load during the probes", &load_run);
    let probes = latencies.len() + lost;
    // Quantiles over every probe, a lost one counting as slower than any visible one.
    let quantile = |q: f64| -> String {
        let rank = ((probes as f64 * q).ceil() as usize).clamp(1, probes.max(1));
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        match sorted.get(rank - 1) {
            Some(d) => ms(*d),
            None => format!("> {} (lost)", ms(timeout)),
        }
    };
    let (p50, p99) = (quantile(0.50), quantile(0.99));
    let s = summarize(latencies.clone());
    // The alert itself: one open honeytoken_access alert for the probing user, one piece of
    // evidence per probe (counted in `evidence_total`: the stored list is capped, and counts
    // past it are written within a second, so the check polls for up to 5 s).
    drain_monitor(&[server], cfg.alert_timeout);
    let counted = Instant::now();
    let evidence = loop {
        let alerts = client_rt.block_on(call(
            addr,
            Method::GET,
            "/v1/alerts?rule=honeytoken_access",
            Some(&security),
            None,
            StatusCode::OK,
        ));
        let evidence: u64 = alerts["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .filter(|a| a["username"] == "hr-probe")
            .map(|a| a["evidence_total"].as_u64().unwrap_or(0))
            .sum();
        if evidence >= probes as u64 || counted.elapsed() > Duration::from_secs(5) {
            break evidence;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    println!(
        "- check: the probing user's honeytoken_access alert(s) count {evidence} audit entries \
         for {probes} probes (`evidence_total`; `evidence_seqs` keeps the first 1000)"
    );
    println!(
        "\nMethod: while {clients} connections read masked records as hr (the core read load), \
         a separate hr user reads a honeytoken every {} ms for {:.0} s. t0 = when the probe's \
         response has arrived; the audit head seq read then is >= the probe's own entry; the \
         alert is visible once `metrics().monitor_processed_seq()` reaches that seq (the monitor \
         commits alerts and its cursor atomically), polled every 1 ms. A probe not visible \
         within {:.0} s counts as lost.\n",
        every.as_millis(),
        secs.as_secs_f64(),
        timeout.as_secs_f64()
    );
    println!("| metric | value |");
    println!("| --- | --- |");
    println!("| probes (lost) | {probes} ({lost}) |");
    if probes == 0 {
        println!("| alert latency p50 / p99 | n/a: no probe was sent |");
    } else {
        println!("| alert latency p50 / p99 (lost probes count as slowest) | {p50} / {p99} |");
        if s.n > 0 {
            println!("| slowest visible probe | {} |", ms(s.max));
        }
    }
    println!("| read load meanwhile | {:.0} reads/s |", load_run.rps());
    println!("\nTarget (issue 4): p99 < 1 s.");
}

/// Every section, in the order they run.
const SECTIONS: [&str; 8] = [
    "unseal", "audit", "login", "core", "alert", "tls", "console", "cluster",
];

/// Signs in to the web console as a person does (the sign-in page's CSRF cookie and field, then
/// the form); returns the `Cookie` header value of the session.
async fn console_login(addr: SocketAddr, username: &str, password: &str) -> String {
    let mut s = connect(addr).await;
    let resp = {
        s.ready().await.expect("ready");
        s.send_request(request(addr, &Method::GET, "/ui/login", None, None))
            .await
            .expect("login page")
    };
    let login_cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("login cookie")
        .to_owned();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let html = String::from_utf8_lossy(&body);
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf field")
        .to_owned();
    let form = serde_urlencoded::to_string([
        ("csrf", csrf.as_str()),
        ("username", username),
        ("password", password),
    ])
    .expect("form");
    let mut req = request(
        addr,
        &Method::POST,
        "/ui/login",
        None,
        Some(Bytes::from(form)),
    );
    let h = req.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    h.insert(
        header::COOKIE,
        header::HeaderValue::from_str(&login_cookie).expect("cookie"),
    );
    s.ready().await.expect("ready");
    let resp = s.send_request(req).await.expect("sign in");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "console sign-in");
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hrvault_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned()
}

/// Console pages against the JSON routes they mirror (issue 11): the employees list (50 masked
/// records) and the audit log (100 entries), each page and its route at the same connections on
/// the same server, alternating.
fn section_console(cfg: &Config, client_rt: &Runtime, server: &Server, staff: &Staff) {
    let addr = server.addr;
    let hr_pw = "pw-hr-console-bench-0001";
    let auditor_pw = "pw-auditor-console-bench-0001";
    for (name, role, pw) in [
        ("hr-console", "hr", hr_pw),
        ("auditor-console", "auditor", auditor_pw),
    ] {
        client_rt.block_on(call(
            addr,
            Method::POST,
            "/v1/users",
            Some(&staff.admin),
            Some(json!({"username": name, "password": pw, "role": role, "kind": "human"})),
            StatusCode::CREATED,
        ));
    }
    let hr_token = Arc::new(vec![client_rt.block_on(login(addr, "hr-console", hr_pw))]);
    let auditor_token = Arc::new(vec![client_rt.block_on(login(
        addr,
        "auditor-console",
        auditor_pw,
    ))]);
    let hr_cookie = Arc::new(client_rt.block_on(console_login(addr, "hr-console", hr_pw)));
    let auditor_cookie =
        Arc::new(client_rt.block_on(console_login(addr, "auditor-console", auditor_pw)));
    let job = |work: Work, tokens: &Arc<Vec<String>>| Job {
        work,
        tokens: tokens.clone(),
        want: StatusCode::OK,
        tls: None,
    };
    let runs: Vec<(&str, &str, Job)> = vec![
        (
            "employees list (50 records)",
            "`GET /v1/employees`",
            job(Work::Get("/v1/employees", None), &hr_token),
        ),
        (
            "employees list (50 records)",
            "page `/ui/employees`",
            job(
                Work::Get("/ui/employees", Some(hr_cookie.clone())),
                &hr_token,
            ),
        ),
        (
            "audit log (100 entries)",
            "`GET /v1/audit?limit=100&order=desc`",
            job(
                Work::Get("/v1/audit?limit=100&order=desc", None),
                &auditor_token,
            ),
        ),
        (
            "audit log (100 entries)",
            "page `/ui/audit`",
            job(
                Work::Get("/ui/audit", Some(auditor_cookie.clone())),
                &auditor_token,
            ),
        ),
    ];
    println!(
        "\n## Console pages against their JSON routes at {} connections\n",
        cfg.clients
    );
    let mut table = Vec::new();
    for (what, route, job) in runs {
        let r = load(
            client_rt,
            &[server],
            &job,
            cfg.clients,
            cfg.warmup,
            cfg.secs,
        );
        print_run_details(&format!("{what}: {route}"), &r);
        if server.monitor && r.entries > 0 {
            drain_monitor(&[server], cfg.drain);
        }
        table.push((what, route, r));
    }
    println!(
        "\nMethod: one vault of {} records, {} keep-alive HTTP/1.1 connections per run, {:.0} s \
         measured after {:.0} s warm-up; the JSON route with a bearer token, the page with a \
         console session cookie of the same user; the list is the first page (50 records, \
         masked) and is audited (`employee.list`) on both; the audit log is read as `auditor`, newest first on both (the page's order), and its newest entries are the list runs' `employee.list` entries with 50 ids each.\n",
        cfg.records,
        cfg.clients,
        cfg.secs.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
    );
    println!("| what | served as | requests/s | page vs JSON | p50 | p99 | CPU µs per request |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (i, (what, route, r)) in table.iter().enumerate() {
        let base = table[i - i % 2].2.rps();
        println!(
            "| {what} | {route} | {:.0} | {:.0} % | {} | {} | {} |",
            r.rps(),
            100.0 * r.rps() / base,
            ms(r.lat.p50),
            ms(r.lat.p99),
            r.cpu_per_request()
        );
    }
}

/// A throw-away CA and a server certificate for 127.0.0.1, written to `dir`; returns the
/// server's TLS configuration and a client that trusts only that CA.
fn test_tls(dir: &Path) -> (Arc<rustls::ServerConfig>, tokio_rustls::TlsConnector) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA");
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).expect("leaf params");
    leaf.subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf.signed_by(&key, &ca).expect("leaf");
    let (cert_file, key_file) = (dir.join("bench-cert.pem"), dir.join("bench-key.pem"));
    std::fs::write(&cert_file, cert.pem()).expect("write cert");
    std::fs::write(&key_file, key.serialize_pem()).expect("write key");
    let server = hrvault::tls::server_config(&cert_file, &key_file, None).expect("server TLS");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    (server, tokio_rustls::TlsConnector::from(Arc::new(client)))
}

/// Masked read and create over plain HTTP and HTTPS, alternating, against one vault.
fn section_tls(cfg: &Config, client_rt: &Runtime, dir: &Path, ids: &Arc<Vec<String>>) {
    let vault = open(client_rt, &dir.join("data"), Sink::Durable);
    let (server_tls, connector) = test_tls(dir);
    let plain = Server::start(vault.clone(), cfg.server_threads, cfg.monitor);
    let opts = hrvault::api::ServeOptions::new(&vault.settings().server).with_tls(server_tls);
    let tls = Server::start_with(vault, cfg.server_threads, false, opts);
    let staff = admin(client_rt, plain.addr);
    let hr = readers(client_rt, plain.addr, &staff, "tls", cfg.readers);
    let creator = Arc::new(vec![client_rt.block_on(user(
        plain.addr,
        &staff.admin,
        "hr-create-tls",
        "hr",
    ))]);
    let runs: Vec<(&str, &str, &Server, Job)> = vec![
        ("`GET /healthz`", "HTTP", &plain, Job::healthz()),
        (
            "`GET /healthz`",
            "HTTPS",
            &tls,
            Job::healthz().over_tls(&connector),
        ),
        (
            "`GET /v1/employees/{id}` as hr (masked)",
            "HTTP",
            &plain,
            Job::read(ids, &hr),
        ),
        (
            "`GET /v1/employees/{id}` as hr (masked)",
            "HTTPS",
            &tls,
            Job::read(ids, &hr).over_tls(&connector),
        ),
        (
            "`POST /v1/employees`",
            "HTTP",
            &plain,
            Job::create(20_000_000, &creator),
        ),
        (
            "`POST /v1/employees`",
            "HTTPS",
            &tls,
            Job::create(30_000_000, &creator).over_tls(&connector),
        ),
    ];
    println!(
        "\n## HTTPS against plain HTTP at {} connections\n",
        cfg.clients
    );
    let mut table = Vec::new();
    for (name, transport, server, job) in runs {
        let r = load(
            client_rt,
            &[server],
            &job,
            cfg.clients,
            cfg.warmup,
            cfg.secs,
        );
        print_run_details(&format!("{name} over {transport}"), &r);
        if plain.monitor && r.entries > 0 {
            drain_monitor(&[&plain], cfg.drain);
        }
        table.push((name, transport, r));
    }
    println!(
        "\nMethod: one vault, two listeners in the same process, each on its own server runtime \
         of {} workers (only one is loaded at a time): `api::serve` (plain) and \
         `api::serve_with` + `ServeOptions::with_tls` (rustls/ring, TLS 1.3, ECDSA P-256 \
         certificate from an rcgen CA, verified by the client). {} keep-alive HTTP/1.1 \
         connections per run (the TLS handshake happens once per connection, in the warm-up), \
         {:.0} s measured after {:.0} s warm-up, HTTP and HTTPS runs alternating; {}.\n",
        cfg.server_threads,
        cfg.clients,
        cfg.secs.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        if plain.monitor {
            "monitor running"
        } else {
            "monitor not started"
        }
    );
    println!(
        "| route | transport | requests/s | vs HTTP | p50 | p99 | p99.9 | CPU µs per request |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (i, (name, transport, r)) in table.iter().enumerate() {
        let base = table[i - i % 2].2.rps();
        println!(
            "| {name} | {transport} | {:.0} | {:.0} % | {} | {} | {} | {} |",
            r.rps(),
            100.0 * r.rps() / base,
            ms(r.lat.p50),
            ms(r.lat.p99),
            ms(r.lat.p999),
            r.cpu_per_request()
        );
    }
    tls.stop();
    plain.stop();
}

/// Installs the log subscriber `hrvault serve` would have (writing to /dev/null); describes it.
fn logging(cfg: &Config, install: bool) -> String {
    let Some(filter) = &cfg.log else {
        return "no tracing subscriber installed (HRVAULT_BENCH_HTTP_LOG=off): the cost of \
                `hrvault serve`'s one log line per request is left out"
            .to_owned();
    };
    if install {
        let devnull = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .expect("/dev/null");
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::sync::Mutex::new(devnull))
            .with_ansi(false)
            .with_target(false)
            .init();
    }
    format!(
        "logging as `hrvault serve` does (filter `{filter}`: one line per request at info), \
         written to /dev/null"
    )
}

/// One section, in this process, on vaults of its own.
fn run_section(cfg: &Config, section: &str) {
    logging(cfg, true);
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.client_threads)
        .thread_name("load")
        .enable_all()
        .build()
        .expect("client runtime");
    let served = |monitor: bool| {
        let v = Fresh::new(cfg, &client_rt);
        let server = Server::start(
            open(&client_rt, &v.data, Sink::Durable),
            cfg.server_threads,
            monitor,
        );
        let staff = admin(&client_rt, server.addr);
        (v, server, staff)
    };
    match section {
        "unseal" => section_unseal(cfg, &client_rt),
        "audit" => {
            let v = Fresh::new(cfg, &client_rt);
            section_audit(cfg, &client_rt, &v.data, &v.ids);
        }
        "login" => {
            let (_v, server, staff) = served(cfg.monitor);
            section_login(cfg, &client_rt, &server, &staff);
            server.stop();
        }
        "core" => {
            let (v, server, staff) = served(cfg.monitor);
            section_core(cfg, &client_rt, &server, &staff, &v.ids);
            server.stop();
        }
        "alert" => {
            let (v, server, staff) = served(true);
            section_alert(cfg, &client_rt, &server, &staff, &v.ids);
            server.stop();
        }
        "console" => {
            let (_v, server, staff) = served(cfg.monitor);
            section_console(cfg, &client_rt, &server, &staff);
            server.stop();
        }
        "cluster" => cluster::section_cluster(cfg, &client_rt),
        "tls" => {
            let v = Fresh::new(cfg, &client_rt);
            let dir = v
                .data
                .parent()
                .expect("the data dir is in a temp dir")
                .to_owned();
            section_tls(cfg, &client_rt, &dir, &v.ids);
        }
        other => panic!("no section {other:?}; sections are {SECTIONS:?}"),
    }
}

fn main() {
    let cfg = Config::from_env();
    if let Ok(section) = std::env::var("HRVAULT_BENCH_HTTP_SECTION") {
        run_section(&cfg, &section);
        return;
    }
    print_header("hrvault HTTP benchmarks");
    println!(
        "- setup: server in the bench process on its own tokio runtime ({} workers, threads \
         `srv`), load generator on another ({} worker(s), threads `load`), HTTP/1.1 keep-alive, \
         one hyper connection per client; {}; each section runs in a process of its own on new \
         vaults (nothing one section leaves running, such as a monitor still catching up, can \
         reach the next)",
        cfg.server_threads,
        cfg.client_threads,
        logging(&cfg, false)
    );
    println!(
        "- durations: {:.0} s measured + {:.0} s warm-up per run; sections: {}",
        cfg.secs.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        cfg.only
    );
    if let Ok(extra) = std::env::var("HRVAULT_BENCH_HTTP_SETTINGS") {
        println!("- settings beyond the defaults: {extra:?}");
    }
    let started = Instant::now();
    let exe = std::env::current_exe().expect("this bench's executable");
    for section in SECTIONS.iter().filter(|s| cfg.runs(s)) {
        let status = std::process::Command::new(&exe)
            .args(std::env::args_os().skip(1))
            .env("HRVAULT_BENCH_HTTP_SECTION", section)
            .status()
            .expect("run a section");
        assert!(status.success(), "section {section} failed: {status}");
    }
    println!(
        "\n(total bench time {:.0} s)",
        started.elapsed().as_secs_f64()
    );
}
