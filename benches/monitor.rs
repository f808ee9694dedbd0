//! Monitor replay benchmark (issue 4): how many audit entries per second the rules evaluate when
//! replaying a million-entry log (the rebuild after a restart, or catching up after a stall).
//! Parsing each line, classifying it and running every rule are measured; directory lookups come
//! from memory (the service memoises them per batch), alert writes are rare and not included.
//!
//! `cargo bench --bench monitor` (env `HRVAULT_BENCH_ENTRIES`, default 1000000).

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use hrvault::audit::{SegmentDir, Tail};
use hrvault::config::Settings;
use hrvault::model::{EmployeeId, FlagKind, UserId};
use hrvault::monitor::{Directory, Engine, Event, FlagView};

/// A third of the users are linked; some linked people carry flags; a few records are decoys.
struct MemDirectory {
    links: HashMap<UserId, EmployeeId>,
    departments: HashMap<EmployeeId, String>,
    flags: HashMap<EmployeeId, Vec<FlagView>>,
    decoys: Vec<EmployeeId>,
}

impl Directory for MemDirectory {
    fn employee_of(&mut self, user: &UserId) -> Option<EmployeeId> {
        self.links.get(user).copied()
    }
    fn department_of(&mut self, employee: &EmployeeId) -> Option<String> {
        self.departments.get(employee).cloned()
    }
    fn is_honeytoken(&mut self, employee: &EmployeeId) -> bool {
        self.decoys.contains(employee)
    }
    fn flags_of(&mut self, employee: &EmployeeId) -> Vec<FlagView> {
        self.flags.get(employee).cloned().unwrap_or_default()
    }
}

fn main() {
    let n: usize = std::env::var("HRVAULT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let pop = Arc::new(Population::new(50, 10_000));
    let dir = tempfile::tempdir().expect("tempdir");
    println!("machine: {}", machine());
    let t = Instant::now();
    let bytes = build_log(&rt, dir.path(), &pop, n);
    println!(
        "built a {n}-entry log ({} MiB) in {:.1?}",
        bytes / (1 << 20),
        t.elapsed()
    );

    let mut directory = MemDirectory {
        links: HashMap::new(),
        departments: HashMap::new(),
        flags: HashMap::new(),
        decoys: pop.records[..3].to_vec(),
    };
    let depts = [
        "R&D",
        "Sales",
        "Executives",
        "IT Operations/InfoSec",
        "Support",
    ];
    for (i, (uid, _, _)) in pop.users.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let e = EmployeeId::random();
        directory.links.insert(*uid, e);
        directory
            .departments
            .insert(e, depts[i % depts.len()].into());
        if i % 9 == 0 {
            let kind = if i % 2 == 0 {
                FlagKind::Pip
            } else {
                FlagKind::Layoff
            };
            directory.flags.insert(
                e,
                vec![FlagView {
                    kind,
                    effective_date: "2026-01-01".parse().expect("a valid date"),
                    created_at: "2026-01-01T00:00:00Z".parse().expect("a valid instant"),
                    cleared_at: None,
                }],
            );
        }
    }
    let settings = Settings::parse(
        "[monitor]\ntimezone = \"Europe/Berlin\"\n[monitor.groups]\n\"Sales\" = false\n",
    )
    .expect("settings");
    for round in 0..2 {
        let mut engine = Engine::new(settings.monitor.clone());
        let mut tail = Tail::new(SegmentDir::new(dir.path().join("audit")), 0);
        let (mut events, mut firings) = (0u64, 0u64);
        let t = Instant::now();
        loop {
            let mut batch = Vec::with_capacity(4096);
            let read = tail
                .read(u64::MAX, 4096, |e| {
                    if let Some(ev) = Event::from_entry(&e) {
                        batch.push(ev);
                    }
                })
                .expect("read");
            if read == 0 {
                break;
            }
            for ev in &batch {
                firings += engine.observe(ev, &mut directory).len() as u64;
            }
            events += read as u64;
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "replay round {round}: {events} events in {s:.2} s = {:.0} events/s ({firings} firings before folding)",
            events as f64 / s
        );
    }
}
