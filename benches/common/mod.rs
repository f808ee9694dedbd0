//! Shared helpers of the benchmarks: a realistic audit log, written fast (no fsync), and simple
//! latency statistics.

#![allow(dead_code, reason = "each bench uses part of this module")]
#![allow(unreachable_pub, reason = "a bench helper module, not an API")]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hrvault::audit::{
    Action, Actor, AuditLog, FileSink, Head, LogSink, NewEntry, Outcome, SegmentDir,
};
use hrvault::clock::SystemClock;
use hrvault::model::{EmployeeId, Role, UserId};

/// A sink that appends through a buffer and never syncs: to build big logs quickly.
pub struct FastSink(pub BufWriter<File>);

impl LogSink for FastSink {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.0.flush()
    }
    fn after_commit(&mut self, _: u64) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that keeps nothing: the audit pipeline without any I/O.
pub struct NullSink;

impl LogSink for NullSink {
    fn append(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn after_commit(&mut self, _: u64) -> io::Result<()> {
        Ok(())
    }
}

/// Actors and records of a synthetic population.
pub struct Population {
    pub users: Vec<(UserId, String, Role)>,
    pub records: Vec<EmployeeId>,
}

impl Population {
    pub fn new(users: usize, records: usize) -> Self {
        let roles = [Role::Hr, Role::Payroll, Role::Security];
        Self {
            users: (0..users)
                .map(|i| (UserId::random(), format!("user{i}"), roles[i % 3]))
                .collect(),
            records: (0..records).map(|_| EmployeeId::random()).collect(),
        }
    }

    /// The i-th entry of a realistic mix: mostly reads, some reveals, lists and denials.
    pub fn entry(&self, i: usize) -> NewEntry {
        let (uid, name, role) = &self.users[(i * 7919) % self.users.len()];
        let (action, outcome) = match i % 20 {
            0 => (Action::EmployeeReveal, Outcome::Success),
            1 => (Action::AccessDenied, Outcome::Denied),
            2 => (Action::EmployeeList, Outcome::Success),
            3 => (Action::AuthLogin, Outcome::Success),
            _ => (Action::EmployeeRead, Outcome::Success),
        };
        let mut e = NewEntry::new(
            Actor {
                user_id: Some(*uid),
                username: Some(name.clone()),
                role: Some(*role),
            },
            action,
            outcome,
        );
        let record = self.records[(i * 104_729) % self.records.len()];
        match action {
            Action::EmployeeList => {
                e.employee_ids = Some(self.records.iter().take(20).copied().collect())
            }
            Action::AuthLogin => {}
            _ => e.employee_id = Some(record),
        }
        if action == Action::EmployeeReveal {
            e.fields = Some(vec!["ssn".into(), "bank_account".into()]);
            e.reason = Some("payroll correction ticket PAY-77".into());
        }
        e.source_ip = Some("10.0.3.17".into());
        e.request_id = Some(uuid::Uuid::new_v4().to_string());
        e
    }
}

/// Writes `n` entries of `pop` as a real chain into `dir/audit` (through the real writer, with a
/// fast sink), returning the log's size in bytes.
pub fn build_log(rt: &tokio::runtime::Runtime, dir: &Path, pop: &Arc<Population>, n: usize) -> u64 {
    let segments = SegmentDir::new(dir.join("audit"));
    segments.create().expect("create audit dir");
    let path = dir.join("audit").join(format!("{:020}.jsonl", 1));
    let sink = FastSink(BufWriter::with_capacity(
        1 << 22,
        File::options()
            .append(true)
            .open(&path)
            .expect("open segment"),
    ));
    let log = AuditLog::start(
        Box::new(sink),
        Head::genesis(),
        Arc::new(SystemClock),
        Box::new(|| Ok(())),
    )
    .expect("start writer");
    rt.block_on(async {
        let per = n / 64;
        let mut tasks = Vec::new();
        for t in 0..64 {
            let (log, pop) = (log.clone(), pop.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..per {
                    log.append(pop.entry(t * per + i)).await.expect("append");
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
    });
    drop(log);
    std::fs::metadata(&path).expect("segment").len()
}

/// p50, p99 of durations.
pub fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    if v.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.50), at(0.99))
}

/// The machine, for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

/// A durable segment sink in `dir`.
pub fn file_sink(dir: &Path) -> (Box<dyn LogSink>, Head) {
    let segments = SegmentDir::new(dir.join("audit"));
    segments.create().expect("create audit dir");
    let (head, _, (_, path)) = segments.recover(false).expect("recover");
    (
        Box::new(FileSink::open(segments, path).expect("open sink")),
        head,
    )
}

// ---------------------------------------------------------------------------------------------
// Shared by the HTTP and export benches: configuration, the report header, latency summaries,
// synthetic employees (CSV and JSON) and per-thread CPU accounting.

/// A number from the environment, or `default`.
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid number")),
        Err(_) => default,
    }
}

/// A comma-separated list of numbers from the environment, or `default` (same syntax).
pub fn env_list(name: &str, default: &str) -> Vec<usize> {
    let raw = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.replace('_', "")
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {s:?} is not a number"))
        })
        .collect()
}

/// Seconds from the environment (fractions allowed, for short development runs).
pub fn env_secs(name: &str, default: f64) -> Duration {
    Duration::from_secs_f64(env_num(name, default))
}

/// The build profile this bench was compiled with.
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "DEBUG build (debug assertions on): figures are not representative"
    } else {
        "optimised (`cargo bench` = the release profile: thin LTO, 4 codegen units)"
    }
}

/// `git rev-parse --short HEAD` of the working tree, marked `-dirty` if it has changes.
pub fn commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = run(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    match run(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if !s.is_empty() => format!("{head}-dirty"),
        _ => head,
    }
}

/// The lines every report starts with: machine, build, commit, load when it started.
pub fn print_header(title: &str) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("# {title}\n");
    println!("- machine: {}", machine());
    println!("- build: {}", profile());
    println!("- commit: {}", commit());
    println!(
        "- load average at start (1/5/15 min): {} (other work on the machine skews every figure)",
        load.join(" ")
    );
}

/// Latency distribution of one measured run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
    pub mean: Duration,
}

/// Summarises latencies (nearest-rank quantiles).
pub fn summarize(mut v: Vec<Duration>) -> Summary {
    if v.is_empty() {
        return Summary::default();
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    let total: Duration = v.iter().sum();
    Summary {
        n: v.len(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: v[v.len() - 1],
        mean: total / v.len() as u32,
    }
}

/// A duration for a table: µs below 1 ms, ms below 1 s, else s.
pub fn ms(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// A routing number `prefix8` + its ABA check digit.
pub fn aba(prefix8: u32) -> String {
    let p = format!("{:08}", prefix8 % 100_000_000);
    let d: Vec<u32> = p.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
    format!("{p}{}", (10 - sum % 10) % 10)
}

/// The `i`-th of about 889 million distinct valid SSNs (area never 000, 666 or 9xx, group never
/// 00, serial never 0000).
pub fn ssn(i: u64) -> String {
    let serial = 1 + i % 9999;
    let group = 1 + (i / 9999) % 99;
    let a = (i / (9999 * 99)) % 898;
    let area = 1 + a + u64::from(a >= 665);
    format!("{area:03}-{group:02}-{serial:04}")
}

const FIRST: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];
const LAST: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
];
const DEPARTMENTS: [&str; 5] = [
    "R&D",
    "Sales",
    "Executives",
    "IT Operations/InfoSec",
    "Support",
];
const CITIES: [(&str, &str); 4] = [
    ("Springfield", "IL"),
    ("Arlington", "VA"),
    ("Portland", "OR"),
    ("Austin", "TX"),
];

/// The CSV header `hrvault import` reads (every field of a record, nested ones dotted).
pub const CSV_HEADER: &str = "employee_number,first_name,last_name,preferred_name,work_email,\
department,job_title,manager_id,location,hire_date,status,termination_date,ssn,date_of_birth,\
home_address.line1,home_address.line2,home_address.city,home_address.state,\
home_address.postal_code,home_address.country,bank_account.routing_number,\
bank_account.account_number";

/// Writes employee `i` as one CSV row (every field filled but `preferred_name`, `manager_id`,
/// `line2` and `termination_date`), unique in employee number and SSN.
pub fn write_csv_row(out: &mut impl Write, i: u64) -> io::Result<()> {
    let (first, last) = (FIRST[(i % 8) as usize], LAST[(i / 8 % 8) as usize]);
    let (city, state) = CITIES[(i % 4) as usize];
    writeln!(
        out,
        "E{i:08},{first},{last},,{f}.{l}{i}@example.com,{dept},Engineer,,{city},2020-01-15,active,,\
{ssn},{year}-{month:02}-{day:02},{num} Main St,,{city},{state},{zip:05},US,{aba},{acct:012}",
        f = first.to_ascii_lowercase(),
        l = last.to_ascii_lowercase(),
        dept = DEPARTMENTS[(i % 5) as usize],
        ssn = ssn(i),
        year = 1960 + i % 40,
        month = 1 + i % 12,
        day = 1 + i % 28,
        num = 1 + i % 9999,
        zip = 10_000 + i % 89_999,
        aba = aba(1_100_000 + (i % 5000) as u32),
        acct = 100_000_000 + i,
    )
}

/// Writes a CSV of employees `range` (header first).
pub fn write_csv(out: &mut impl Write, range: std::ops::Range<u64>) -> io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    for i in range {
        write_csv_row(out, i)?;
    }
    Ok(())
}

/// Employee `i` as a `POST /v1/employees` body.
pub fn employee_json(i: u64) -> String {
    let (first, last) = (FIRST[(i % 8) as usize], LAST[(i / 8 % 8) as usize]);
    let (city, state) = CITIES[(i % 4) as usize];
    serde_json::json!({
        "employee_number": format!("E{i:08}"),
        "first_name": first,
        "last_name": last,
        "work_email": format!("{}.{}{i}@example.com", first.to_ascii_lowercase(), last.to_ascii_lowercase()),
        "department": DEPARTMENTS[(i % 5) as usize],
        "job_title": "Engineer",
        "location": city,
        "hire_date": "2020-01-15",
        "status": "active",
        "ssn": ssn(i),
        "date_of_birth": format!("{}-{:02}-{:02}", 1960 + i % 40, 1 + i % 12, 1 + i % 28),
        "home_address": {"line1": format!("{} Main St", 1 + i % 9999), "city": city,
                         "state": state, "postal_code": format!("{:05}", 10_000 + i % 89_999),
                         "country": "US"},
        "bank_account": {"routing_number": aba(1_100_000 + (i % 5000) as u32),
                         "account_number": format!("{:012}", 100_000_000 + i)}
    })
    .to_string()
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// KiB as MiB for a table.
pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// CPU time of this process's threads (`/proc/self/task/*/schedstat`, nanoseconds): which part
/// of an in-process run spent the CPU.
#[derive(Debug, Clone, Default)]
pub struct ThreadCpu(std::collections::HashMap<u64, (String, u64)>);

impl ThreadCpu {
    /// Every live thread's name and CPU time now.
    pub fn snapshot() -> Self {
        let mut out = std::collections::HashMap::new();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return Self(out);
        };
        for t in tasks.flatten() {
            let Some(tid) = t.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let p = t.path();
            let name = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
            let ns = std::fs::read_to_string(p.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            out.insert(tid, (name.trim().to_owned(), ns));
        }
        Self(out)
    }

    /// CPU spent since `earlier`, by group: a thread belongs to the first of `groups` its name
    /// starts with, else to `other`. Threads that ended in between are missing.
    pub fn since(&self, earlier: &ThreadCpu, groups: &[&str]) -> Vec<(String, Duration)> {
        let mut out: Vec<(String, Duration)> = groups
            .iter()
            .map(|g| ((*g).to_owned(), Duration::ZERO))
            .chain([("other".to_owned(), Duration::ZERO)])
            .collect();
        for (tid, (name, ns)) in &self.0 {
            let before = earlier.0.get(tid).map_or(0, |(_, b)| *b);
            let i = groups
                .iter()
                .position(|g| name.starts_with(g))
                .unwrap_or(groups.len());
            out[i].1 += Duration::from_nanos(ns.saturating_sub(before));
        }
        out
    }
}
