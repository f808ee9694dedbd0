//! Payroll export benchmark (issue 5): throughput (records/s, MB/s) of `GET /v1/payroll/export`
//! with every sensitive field decrypted, and the server's memory, for vaults of 100k and 1M
//! records. Also measured on the way, because each is a figure of its own: `hrvault import`
//! (time, rows/s, the importer's peak RSS), the vault's size on disk, and `hrvault serve`'s
//! start-up time (process start to the `listening` line) on a large vault.
//!
//! Everything runs through the real binary (`env!("CARGO_BIN_EXE_hrvault")`), as an operator
//! would: `init`, `import --csv` of a generated HRIS export (unique SSNs and employee numbers,
//! routing numbers with a valid ABA checksum, every field filled but the optional ones), then
//! `serve` as a child process; a payroll user is created as admin and one client streams the
//! export, counting lines and bytes without keeping the body. Memory is the server's
//! `/proc/PID/status`: `VmRSS` just before the export, the highest `VmRSS` sampled every 20 ms
//! during it, and `VmHWM` (peak since start) after it.
//!
//! `cargo bench --bench export`; environment:
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `HRVAULT_BENCH_EXPORT_SIZES` | 100000,1000000 | vault sizes (records) |
//! | `HRVAULT_BENCH_EXPORT_RUNS` | 3 | exports per vault (the table shows the median run) |

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_hrvault");
const PASSPHRASE: &str = "bench passphrase (not a secret)";
const ADMIN_PASSWORD: &str = "bench-admin-password-0001";

fn hrvault(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("HRVAULT_PASSPHRASE", PASSPHRASE)
        .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HRVAULT_LOG", "warn");
    c
}

/// A child process that is killed (by its pid) if the bench ends early.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// CPU time (user + system) of process `pid` so far.
fn cpu_time(pid: u32, ticks_per_sec: f64) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / ticks_per_sec)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Bytes the files under `dir` occupy on disk.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += disk_usage(&e.path()),
                Ok(m) => total += m.blocks() * 512,
                Err(_) => {}
            }
        }
    }
    total
}

/// Samples `/proc/PID/status` `VmRSS` every 20 ms until stopped; returns the highest (KiB).
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = proc_status_kib(pid, "VmRSS") {
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

struct Import {
    took: Duration,
    peak_kib: u64,
}

/// `hrvault import`, sampling the importer's memory while it runs.
fn import(data: &Path, csv: &Path, n: usize) -> Import {
    let t = Instant::now();
    let child = hrvault(&[
        "import",
        "--data-dir",
        data.to_str().expect("utf-8 path"),
        "--csv",
        csv.to_str().expect("utf-8 path"),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn import");
    let sampler = RssSampler::start(child.id());
    let out = child.wait_with_output().expect("import");
    let took = t.elapsed();
    let peak_kib = sampler.finish();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("imported {n} of {n} rows")),
        "import failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    Import { took, peak_kib }
}

struct Serving {
    guard: Guard,
    addr: SocketAddr,
    startup: Duration,
}

/// `hrvault serve` on a free port; returns once it prints its `listening` line.
fn serve(data: &Path) -> Serving {
    let t = Instant::now();
    let mut child = hrvault(&[
        "serve",
        "--data-dir",
        data.to_str().expect("utf-8 path"),
        "--listen",
        "127.0.0.1:0",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let guard = Guard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    // Keeps reading stderr for the server's whole life (a full pipe would block it).
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("hrvault listening on http://")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(Ok(addr.trim().to_owned()));
            } else if line.contains("ERROR") || line.starts_with("error") {
                eprintln!("server: {line}");
                if let Some(tx) = tx.take() {
                    let _ = tx.send(Err(line));
                }
            }
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(600)) {
        Ok(Ok(a)) => a.parse().expect("listen address"),
        Ok(Err(line)) => panic!("the server did not start: {line}"),
        Err(e) => panic!("the server did not start: {e}"),
    };
    Serving {
        guard,
        addr,
        startup: t.elapsed(),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    )
}

fn post(agent: &ureq::Agent, url: &str, token: Option<&str>, body: &Value, want: u16) -> Value {
    let mut req = agent.post(url);
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.send_json(body).expect("request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, want, "POST {url}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn login(agent: &ureq::Agent, base: &str, username: &str, password: &str) -> String {
    let v = post(
        agent,
        &format!("{base}/v1/auth/login"),
        None,
        &json!({"username": username, "password": password}),
        200,
    );
    v["access_token"].as_str().expect("token").to_owned()
}

struct Export {
    records: u64,
    bytes: u64,
    first_byte: Duration,
    took: Duration,
    server_cpu: Duration,
    rss_before_kib: u64,
    rss_peak_kib: u64,
    hwm_after_kib: u64,
}

/// One full export, streamed and counted.
fn export(agent: &ureq::Agent, base: &str, token: &str, pid: u32, ticks: f64) -> Export {
    let rss_before_kib = proc_status_kib(pid, "VmRSS").unwrap_or(0);
    let cpu_before = cpu_time(pid, ticks);
    let sampler = RssSampler::start(pid);
    let t = Instant::now();
    let resp = agent
        .get(format!("{base}/v1/payroll/export"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .expect("export");
    let first_byte = t.elapsed();
    assert_eq!(resp.status().as_u16(), 200, "export status");
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("application/x-ndjson"),
        "{content_type}"
    );
    let mut reader = resp.into_body().into_with_config().limit(u64::MAX).reader();
    let mut buf = vec![0u8; 256 * 1024];
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut first_line = Vec::new();
    loop {
        let n = reader.read(&mut buf).expect("reading the export");
        if n == 0 {
            break;
        }
        if records == 0 && first_line.len() < 4096 {
            first_line.extend_from_slice(&buf[..n.min(4096)]);
        }
        records += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        bytes += n as u64;
    }
    let took = t.elapsed();
    let server_cpu = cpu_time(pid, ticks).saturating_sub(cpu_before);
    let rss_peak_kib = sampler.finish();
    // The export must carry every sensitive field payroll gets, decrypted and in full.
    let line = first_line.split(|&b| b == b'\n').next().unwrap_or_default();
    let v: Value = serde_json::from_slice(line).expect("first export line is JSON");
    let ssn = v["ssn"].as_str().unwrap_or("");
    assert!(
        ssn.len() == 11 && !ssn.contains('*'),
        "the export's ssn is not in full"
    );
    assert!(
        v["home_address"]["line1"].is_string() && v["bank_account"]["routing_number"].is_string(),
        "the export lacks the address or bank account"
    );
    Export {
        records,
        bytes,
        first_byte,
        took,
        server_cpu,
        rss_before_kib,
        rss_peak_kib,
        hwm_after_kib: proc_status_kib(pid, "VmHWM").unwrap_or(0),
    }
}

struct SizeResult {
    n: usize,
    csv_bytes: u64,
    import: Import,
    disk: u64,
    startup: Duration,
    median: Export,
}

fn run_size(n: usize, runs: usize, ticks: f64) -> SizeResult {
    println!("\n### {n} records\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("employees.csv");

    let out = hrvault(&["init", "--data-dir", data.to_str().expect("utf-8 path")])
        .output()
        .expect("init");
    assert!(
        out.status.success(),
        "init: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let t = Instant::now();
    {
        let mut w = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&csv).expect("create csv"),
        );
        write_csv(&mut w, 0..n as u64).expect("write csv");
        std::io::Write::flush(&mut w).expect("flush csv");
    }
    let csv_bytes = std::fs::metadata(&csv).expect("csv").len();
    println!(
        "- generated the CSV: {:.0} MB in {}",
        csv_bytes as f64 / 1e6,
        ms(t.elapsed())
    );

    let import = import(&data, &csv, n);
    println!(
        "- `hrvault import`: {} ({:.0} rows/s), importer peak RSS {}",
        ms(import.took),
        n as f64 / import.took.as_secs_f64(),
        mib(import.peak_kib)
    );
    std::fs::remove_file(&csv).expect("remove csv");
    let disk = disk_usage(&data);
    println!(
        "- vault on disk: {:.0} MB ({:.0} bytes per record)",
        disk as f64 / 1e6,
        disk as f64 / n as f64
    );

    let server = serve(&data);
    let pid = server.guard.0.id();
    println!(
        "- `hrvault serve` start-up (spawn to `listening` line): {}; RSS then {}",
        ms(server.startup),
        mib(proc_status_kib(pid, "VmRSS").unwrap_or(0))
    );
    let base = format!("http://{}", server.addr);
    let agent = agent();
    let admin = login(&agent, &base, "admin", ADMIN_PASSWORD);
    let password = "pw-payroll-bench-0001";
    post(
        &agent,
        &format!("{base}/v1/users"),
        Some(&admin),
        &json!({"username": "payroll-bench", "password": password, "role": "payroll", "kind": "human"}),
        201,
    );
    let token = login(&agent, &base, "payroll-bench", password);

    let mut exports = Vec::new();
    for run in 1..=runs {
        let e = export(&agent, &base, &token, pid, ticks);
        assert_eq!(e.records, n as u64, "export line count");
        println!(
            "- export {run}: {} lines, {:.1} MB in {} (first byte after {}): {:.0} records/s, \
             {:.1} MB/s; server CPU {:.2} s ({:.0} µs per record, {:.2} cores); server RSS \
             before {}, peak during {}, VmHWM after {}",
            e.records,
            e.bytes as f64 / 1e6,
            ms(e.took),
            ms(e.first_byte),
            e.records as f64 / e.took.as_secs_f64(),
            e.bytes as f64 / 1e6 / e.took.as_secs_f64(),
            e.server_cpu.as_secs_f64(),
            e.server_cpu.as_secs_f64() * 1e6 / e.records as f64,
            e.server_cpu.as_secs_f64() / e.took.as_secs_f64(),
            mib(e.rss_before_kib),
            mib(e.rss_peak_kib),
            mib(e.hwm_after_kib)
        );
        exports.push(e);
    }
    let startup = server.startup;
    drop(server);
    exports.sort_by_key(|e| e.took);
    let median = exports.swap_remove(exports.len() / 2);
    SizeResult {
        n,
        csv_bytes,
        import,
        disk,
        startup,
        median,
    }
}

fn main() {
    let sizes = env_list("HRVAULT_BENCH_EXPORT_SIZES", "100000,1000000");
    let runs = env_num::<usize>("HRVAULT_BENCH_EXPORT_RUNS", 3).max(1);
    print_header("hrvault payroll export benchmark");
    println!("- binary: {BIN}");
    println!(
        "- setup: `hrvault serve` as a child process (its own default runtime, all cores), one \
         client (ureq) in this process; sizes {sizes:?}, {runs} export(s) per size"
    );
    let ticks = clock_ticks();
    let started = Instant::now();
    let results: Vec<SizeResult> = sizes.iter().map(|&n| run_size(n, runs, ticks)).collect();

    println!("\n## Payroll export\n");
    println!(
        "Method: per size, a new vault (`hrvault init`), a generated CSV imported with `hrvault \
         import`, then `hrvault serve` as a child process; one `payroll` client streams `GET \
         /v1/payroll/export` {runs} time(s), counting lines and bytes as they arrive; the row \
         is the median run. Time runs from sending the request to the last byte (the first \
         byte waits for the plan pass over every record and the audit entry). MB = 10^6 bytes \
         of response body. RSS from `/proc/PID/status` of the server: `VmRSS` right before the \
         export, the highest `VmRSS` sampled every 20 ms during it, `VmHWM` after it.\n"
    );
    println!(
        "| records | records/s | MB/s | time (first byte) | server CPU per record | RSS before | \
         peak RSS during | VmHWM after |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &results {
        let e = &r.median;
        println!(
            "| {} | {:.0} | {:.1} | {} ({}) | {:.1} µs | {} | {} | {} |",
            r.n,
            e.records as f64 / e.took.as_secs_f64(),
            e.bytes as f64 / 1e6 / e.took.as_secs_f64(),
            ms(e.took),
            ms(e.first_byte),
            e.server_cpu.as_secs_f64() * 1e6 / e.records as f64,
            mib(e.rss_before_kib),
            mib(e.rss_peak_kib),
            mib(e.hwm_after_kib)
        );
    }
    println!("\nTarget (issue 5): >= 50,000 records/s, RSS independent of the record count.");

    println!("\n## Import and start-up on the same vaults\n");
    println!(
        "| records | CSV | `hrvault import` | rows/s | importer peak RSS | vault on disk | `serve` start-up |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in &results {
        println!(
            "| {} | {:.0} MB | {} | {:.0} | {} | {:.0} MB | {} |",
            r.n,
            r.csv_bytes as f64 / 1e6,
            ms(r.import.took),
            r.n as f64 / r.import.took.as_secs_f64(),
            mib(r.import.peak_kib),
            r.disk as f64 / 1e6,
            ms(r.startup)
        );
    }
    println!(
        "\n(total bench time {:.0} s)",
        started.elapsed().as_secs_f64()
    );
}
