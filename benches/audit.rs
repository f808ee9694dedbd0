//! Audit log benchmarks (issue 3): group-commit throughput and batch sizes with durable flushes
//! at 1, 8 and 32 concurrent clients (and the same pipeline with no I/O), and `audit verify`
//! speed over a log of a million entries.
//!
//! `cargo bench --bench audit` (env `HRVAULT_BENCH_ENTRIES`, default 1000000;
//! `HRVAULT_BENCH_SECS`, default 5).

mod common;

use std::io::BufReader;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use hrvault::audit::{AuditLog, Head, LogSink, verify_data_dir, verify_reader};
use hrvault::clock::SystemClock;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Appends from `clients` concurrent tasks for `secs`; returns (entries/s, mean batch, p50, p99).
fn writer_run(
    rt: &tokio::runtime::Runtime,
    sink: Box<dyn LogSink>,
    head: Head,
    pop: &Arc<Population>,
    clients: usize,
    secs: u64,
) -> (f64, f64, Duration, Duration) {
    let log =
        AuditLog::start(sink, head, Arc::new(SystemClock), Box::new(|| Ok(()))).expect("writer");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let latencies = rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (log, pop) = (log.clone(), pop.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = c;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    log.append(pop.entry(i)).await.expect("append");
                    lat.push(t.elapsed());
                    i += clients;
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let stats = log.stats();
    let (entries, batches) = (
        stats.entries.load(Ordering::Relaxed) as f64,
        stats.batches.load(Ordering::Relaxed).max(1) as f64,
    );
    let (p50, p99) = percentiles(latencies);
    (entries / elapsed, entries / batches, p50, p99)
}

fn main() {
    let n = env("HRVAULT_BENCH_ENTRIES", 1_000_000);
    let secs = env("HRVAULT_BENCH_SECS", 5) as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let pop = Arc::new(Population::new(50, 10_000));
    println!("machine: {}", machine());
    println!("\n## group commit ({secs} s per run)\n");
    println!("| clients | sink | entries/s | mean batch | append p50 | append p99 |");
    println!("|---|---|---|---|---|---|");
    for clients in [1, 8, 32] {
        for durable in [true, false] {
            let dir = tempfile::tempdir().expect("tempdir");
            let (sink, head): (Box<dyn LogSink>, Head) = if durable {
                file_sink(dir.path())
            } else {
                (Box::new(NullSink), Head::genesis())
            };
            let (rate, batch, p50, p99) = writer_run(&rt, sink, head, &pop, clients, secs);
            let name = if durable {
                "segment + fdatasync"
            } else {
                "none (no I/O)"
            };
            println!("| {clients} | {name} | {rate:.0} | {batch:.1} | {p50:.2?} | {p99:.2?} |");
        }
    }

    println!("\n## audit verify over {n} entries\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let bytes = build_log(&rt, dir.path(), &pop, n);
    println!(
        "built the log: {} MiB in {:.1?}",
        bytes / (1 << 20),
        t.elapsed()
    );
    let seg = dir.path().join("audit").join(format!("{:020}.jsonl", 1));
    for round in 0..2 {
        let t = Instant::now();
        let verdict = verify_reader(
            BufReader::with_capacity(1 << 20, std::fs::File::open(&seg).expect("open")),
            None,
        )
        .expect("verify");
        let s = t.elapsed().as_secs_f64();
        assert!(verdict.is_intact(), "{verdict:?}");
        println!(
            "verify_reader (round {round}): {:.0} entries/s, {:.0} MiB/s ({s:.2} s)",
            n as f64 / s,
            bytes as f64 / s / (1 << 20) as f64
        );
    }
    let t = Instant::now();
    let verdict = verify_data_dir(&dir.path().join("audit"), None).expect("verify dir");
    assert!(verdict.is_intact());
    println!(
        "verify_data_dir: {:.0} entries/s",
        n as f64 / t.elapsed().as_secs_f64()
    );
}
