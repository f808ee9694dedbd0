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
