//! Section `cluster` (issue 12, step 7): masked read and create at `HRVAULT_BENCH_HTTP_CLIENTS`
//! connections on a sled data dir, on PostgreSQL with one node and with two nodes, in one
//! process, on the same number of records; then the audit chain's append rate on PostgreSQL from
//! one and from two writer nodes (against the data dir's segment writer), and a verify of the
//! chain. It reuses the bench's `Server`, `Job`, `load` and `Run`.
//!
//! The PostgreSQL server is a throw-away `testing::pg::PgCluster` (fsync on), started here. Its
//! processes' CPU (the postmaster and every child, `/proc/<pid>/stat` utime + stime) is sampled
//! with the threads' CPU at both ends of each measured window (group `postgres`), and the
//! database's transactions (`pg_stat_database`, through `psql`) with it.

use std::collections::HashMap;

use hrvault::audit::{AuditLog, verify_lines};
use hrvault::store::{PgBackend, PgChain};
use hrvault::testing::pg::PgCluster;

use super::*;

/// CPU time of a set of processes (clock ticks by pid).
pub(super) struct ProcCpu {
    ticks: HashMap<u32, u64>,
    per_sec: u64,
}

impl ProcCpu {
    /// The postmaster `root` and every process whose parent it is.
    fn snapshot(root: u32, per_sec: u64) -> Self {
        let mut ticks = HashMap::new();
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for e in dir.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                    continue;
                };
                // Fields after the command name (which may hold spaces): state ppid … utime stime.
                let Some((_, rest)) = stat.rsplit_once(") ") else {
                    continue;
                };
                let f: Vec<&str> = rest.split_whitespace().collect();
                let num = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
                if pid == root || num(1) == u64::from(root) {
                    ticks.insert(pid, num(11) + num(12));
                }
            }
        }
        Self { ticks, per_sec }
    }

    /// CPU spent since `earlier` (a process started in between counts whole; one that ended in
    /// between is missing: the vault's pooled connections live through the run).
    pub(super) fn since(&self, earlier: &ProcCpu) -> Duration {
        let ticks: u64 = self
            .ticks
            .iter()
            .map(|(pid, t)| t.saturating_sub(earlier.ticks.get(pid).copied().unwrap_or(0)))
            .sum();
        Duration::from_nanos(ticks * 1_000_000_000 / self.per_sec.max(1))
    }
}

/// `getconf CLK_TCK` (the unit of `/proc/<pid>/stat` times), 100 if it cannot be asked.
fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// The PostgreSQL side of a store-backed server: its committed chain head, its server
/// processes' CPU and its database's transaction count.
pub(super) struct PgSide {
    postmaster: u32,
    ticks: u64,
    chain: PgChain,
    _backend: PgBackend,
    /// `psql` and its arguments for the transaction count.
    psql: (std::path::PathBuf, Vec<String>),
}

impl PgSide {
    fn new(pg: &PgCluster, db: &str) -> Self {
        let backend = PgBackend::connect(&pg.url(db), 1).expect("probe connection");
        let chain = backend.chain(clock());
        let bin = std::env::var_os("HRVAULT_PG_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from("/usr/lib/postgresql/15/bin"));
        let port = pg.port().to_string();
        let args = [
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "hrvault",
            "-d",
            db,
            "-Atc",
            "SELECT xact_commit + xact_rollback FROM pg_stat_database \
             WHERE datname = current_database()",
        ];
        Self {
            postmaster: pg.postmaster_pid().expect("postmaster pid"),
            ticks: clock_ticks(),
            chain,
            _backend: backend,
            psql: (
                bin.join("psql"),
                args.iter().map(|a| (*a).to_owned()).collect(),
            ),
        }
    }

    /// The seq of the cluster's committed chain head.
    pub(super) fn committed_head(&self) -> u64 {
        self.chain.head().map(|h| h.seq).unwrap_or(0)
    }

    pub(super) fn server_cpu(&self) -> ProcCpu {
        ProcCpu::snapshot(self.postmaster, self.ticks)
    }

    /// Transactions committed + rolled back in the database so far (statistics are flushed by
    /// the backends about once a second, so a window's count is approximate).
    pub(super) fn xacts(&self) -> Option<u64> {
        let out = std::process::Command::new(&self.psql.0)
            .args(&self.psql.1)
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

fn init_store(rt: &Runtime, url: &str) {
    rt.block_on(Vault::init_store(url, init_options(), clock()))
        .expect("init_store");
}

fn open_store(rt: &Runtime, url: &str) -> Vault {
    rt.block_on(Vault::open_store(
        url,
        &passphrase(),
        settings(),
        clock(),
        hasher(),
    ))
    .expect("open_store")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seeds up to `want` records in chunks through `Vault::import_csv`, stopping after the chunk
/// that passes `limit`; returns the ids and how long it took.
fn seed_bounded(
    rt: &Runtime,
    vault: &Vault,
    want: usize,
    limit: Duration,
) -> (Vec<String>, Duration) {
    const CHUNK: u64 = 2_000;
    let t = Instant::now();
    let mut ids = Vec::new();
    let mut next = 0u64;
    while (next as usize) < want && t.elapsed() < limit {
        let end = (next + CHUNK).min(want as u64);
        ids.extend(seed(rt, vault, next..end));
        next = end;
    }
    (ids, t.elapsed())
}

/// One measured configuration: its name, servers and users.
struct Setup<'a> {
    store: &'static str,
    nodes: usize,
    servers: Vec<&'a Server>,
    hr: Arc<Vec<String>>,
    creator: Arc<Vec<String>>,
    first_create: u64,
}

pub(super) fn section_cluster(cfg: &Config, client_rt: &Runtime) {
    let load_before = loadavg();
    println!("\n## Cluster mode: sled against PostgreSQL, one and two nodes\n");
    println!("- load average before the section (1/5/15 min): {load_before}");
    let pg = PgCluster::start().expect("PostgreSQL 15 (postgresql-15) is needed for this section");
    let db = "bench";
    let url = pg.create_database(db).expect("create database");
    init_store(client_rt, &url);
    let node_a = open_store(client_rt, &url);
    let seed_limit = env_secs("HRVAULT_BENCH_HTTP_CLUSTER_SEED_SECS", 120.0);
    let (pg_ids, took) = seed_bounded(client_rt, &node_a, cfg.records, seed_limit);
    let records = pg_ids.len();
    if records < cfg.records {
        println!(
            "- NOTE: seeding PostgreSQL passed {} after {records} of {} records; every \
             configuration of this section uses {records} records",
            ms(seed_limit),
            cfg.records
        );
    }
    println!(
        "- PostgreSQL: {records} records seeded with `Vault::import_csv` (chunks of 2000) in {} \
         ({:.0} records/s)",
        ms(took),
        records as f64 / took.as_secs_f64()
    );
    let pg_ids = Arc::new(pg_ids);
    let sled = Fresh::with(records, client_rt);

    let mut table: Vec<(&'static str, usize, &'static str, Run)> = Vec::new();
    let mut run_setup = |setup: &Setup<'_>, ids: &Arc<Vec<String>>| {
        let jobs = [
            ("masked read", Job::read(ids, &setup.hr)),
            ("create", Job::create(setup.first_create, &setup.creator)),
        ];
        for (route, job) in jobs {
            let r = load(
                client_rt,
                &setup.servers,
                &job,
                cfg.clients,
                cfg.warmup,
                cfg.secs,
            );
            print_run_details(
                &format!("{}, {} node(s): {route}", setup.store, setup.nodes),
                &r,
            );
            if let Some(x) = r.pg_xacts {
                println!(
                    "  - PostgreSQL transactions in the window ≈ {x} ({:.1} per request)",
                    x as f64 / r.ok.max(1) as f64
                );
            }
            if cfg.monitor && r.entries > 0 {
                let (t, left) = drain_monitor(&setup.servers, cfg.drain);
                if left == 0 {
                    println!("  - the monitor caught up {} after the run", ms(t));
                } else {
                    println!(
                        "  - WARNING: after {} the monitor is still {left} entries behind",
                        ms(t)
                    );
                }
            }
            table.push((setup.store, setup.nodes, route, r));
        }
    };

    // 1. sled, one node.
    {
        let server = Server::start(
            open(client_rt, &sled.data, Sink::Durable),
            cfg.server_threads,
            cfg.monitor,
        );
        let staff = admin(client_rt, server.addr);
        let hr = readers(client_rt, server.addr, &staff, "sled", cfg.readers);
        let creator = Arc::new(vec![client_rt.block_on(user(
            server.addr,
            &staff.admin,
            "hr-create-sled",
            "hr",
        ))]);
        run_setup(
            &Setup {
                store: "sled data dir",
                nodes: 1,
                servers: vec![&server],
                hr,
                creator,
                first_create: 10_000_000,
            },
            &sled.ids,
        );
        server.stop();
    }

    // 2. PostgreSQL, one node; 3. the same database, a second node beside it.
    let side = Arc::new(PgSide::new(&pg, db));
    let mut a = Server::start(node_a, cfg.server_threads, cfg.monitor);
    a.pg = Some(side.clone());
    let staff = admin(client_rt, a.addr);
    let hr = readers(client_rt, a.addr, &staff, "pg", cfg.readers);
    let creator = Arc::new(vec![client_rt.block_on(user(
        a.addr,
        &staff.admin,
        "hr-create-pg",
        "hr",
    ))]);
    run_setup(
        &Setup {
            store: "PostgreSQL",
            nodes: 1,
            servers: vec![&a],
            hr: hr.clone(),
            creator: creator.clone(),
            first_create: 11_000_000,
        },
        &pg_ids,
    );
    let mut b = Server::start(open_store(client_rt, &url), cfg.server_threads, cfg.monitor);
    b.pg = Some(side.clone());
    run_setup(
        &Setup {
            store: "PostgreSQL",
            nodes: 2,
            servers: vec![&a, &b],
            hr,
            creator,
            first_create: 12_000_000,
        },
        &pg_ids,
    );
    let chain_entries = side.committed_head();
    let (ma, mb) = (
        a.vault.metrics().monitor_processed_seq(),
        b.vault.metrics().monitor_processed_seq(),
    );
    println!(
        "- monitor progress by node after the runs (seq evaluated): node 1 {ma}, node 2 {mb} \
         (the `monitor` lease holder is the one that moves)"
    );
    let verdict = verify_lines(&side.chain, &side.chain.head().expect("head")).expect("verify");
    println!(
        "- the HTTP runs' chain (`audit::verify_lines` against `chain.head()`): {}",
        verdict_text(&verdict)
    );
    b.stop();
    a.stop();
    drop(side);

    println!(
        "\nMethod: one process; {records} records in each store (seeded with `Vault::import_csv`); \
         {} keep-alive HTTP/1.1 connections per run, {:.0} s measured after {:.0} s warm-up; \
         masked `GET /v1/employees/{{id}}` as hr over uniformly random seeded ids, then \
         `POST /v1/employees` of unique records. Each node is a `Vault` with its own server \
         runtime ({} workers, threads `srv`); {}. sled: a data dir as the `core` section makes \
         it. PostgreSQL: `Vault::init_store` + `Vault::open_store` on a database of a \
         throw-away PostgreSQL 15 (`testing::pg::PgCluster`, fsync on, same machine, over \
         127.0.0.1); two nodes: a second `Vault::open_store` on the same database beside the \
         first (the same users; the records the one-node creates added), connections split \
         evenly (client i on node i mod 2). CPU = CPU µs per successful request over the \
         window: the process's threads by name (`srv` servers incl. blocking pools, `load` \
         the load generator, `audit-writer`, `monitor`, `pg` the vaults' PostgreSQL client \
         runtimes, `other`), and `postgres` = utime + stime of the postmaster and its \
         children (`/proc/<pid>/stat`). Mean batch = audit entries per commit (group commit \
         or chain transaction), summed over the nodes (`AuditLog::stats()`). The chain holds \
         {chain_entries} entries after these runs.\n",
        cfg.clients,
        cfg.secs.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        cfg.server_threads,
        if cfg.monitor {
            "background tasks started on every node as `hrvault serve` does (on PostgreSQL \
             the monitor runs on the node holding its lease); after each run the bench waits \
             for the monitor to catch up"
        } else {
            "monitor not started (HRVAULT_BENCH_HTTP_MONITOR=0)"
        }
    );
    println!(
        "| store | nodes | route | requests/s | vs sled | p50 | p99 | errors | mean batch | PG xacts per request | CPU µs per request |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (store, nodes, route, r) in &table {
        let base = table
            .iter()
            .find(|(s, _, rt, _)| *s == "sled data dir" && rt == route)
            .map_or(f64::NAN, |(_, _, _, r)| r.rps());
        println!(
            "| {store} | {nodes} | {route} | {:.0} | {:.0} % | {} | {} | {} | {} | {} | {} |",
            r.rps(),
            100.0 * r.rps() / base,
            ms(r.lat.p50),
            ms(r.lat.p99),
            r.errors(),
            r.mean_batch(),
            r.pg_xacts.map_or("-".to_owned(), |x| format!(
                "≈ {:.1}",
                x as f64 / r.ok.max(1) as f64
            )),
            r.cpu_per_request()
        );
    }

    section_chain(client_rt, &pg);
    drop(pg);
    println!(
        "\n- load average after the section (1/5/15 min): {} (before: {load_before})",
        loadavg()
    );
}

fn verdict_text(v: &hrvault::audit::Verdict) -> String {
    match v {
        hrvault::audit::Verdict::Intact { entries, head } => {
            format!("intact, {entries} entries, head seq {}", head.seq)
        }
        hrvault::audit::Verdict::Broken {
            first_bad_seq,
            reason,
        } => format!("BROKEN at seq {first_bad_seq}: {reason}"),
    }
}

/// One chain append run: `appenders` tasks spread over `logs` (task i on log i mod n).
struct ChainRun {
    entries: u64,
    batches: u64,
    secs: f64,
    lat: Summary,
    cpu: Vec<(String, Duration)>,
}

fn chain_run(
    rt: &Runtime,
    logs: &[AuditLog],
    appenders: usize,
    secs: Duration,
    pg: Option<(u32, u64)>,
) -> ChainRun {
    let pop = Arc::new(Population::new(50, 10_000));
    let counts = |logs: &[AuditLog]| {
        logs.iter().fold((0, 0), |(e, b), l| {
            let s = l.stats();
            (
                e + s.entries.load(Ordering::Relaxed),
                b + s.batches.load(Ordering::Relaxed),
            )
        })
    };
    let proc_cpu = || pg.map(|(pid, ticks)| ProcCpu::snapshot(pid, ticks));
    let (e0, b0) = counts(logs);
    let (cpu0, pg0) = (ThreadCpu::snapshot(), proc_cpu());
    let started = Instant::now();
    let deadline = started + secs;
    let lat = rt.block_on(async {
        let tasks: Vec<_> = (0..appenders)
            .map(|c| {
                let (log, pop) = (logs[c % logs.len()].clone(), pop.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut i = c;
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        log.append(pop.entry(i)).await.expect("append");
                        lat.push(t.elapsed());
                        i += appenders;
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("appender"));
        }
        all
    });
    let secs = started.elapsed().as_secs_f64();
    let (e1, b1) = counts(logs);
    let mut cpu = ThreadCpu::snapshot().since(&cpu0, &GROUPS);
    if let (Some(a), Some(b)) = (pg0, proc_cpu()) {
        cpu.push(("postgres".to_owned(), b.since(&a)));
    }
    ChainRun {
        entries: e1 - e0,
        batches: b1 - b0,
        secs,
        lat: summarize(lat),
        cpu,
    }
}

/// The audit chain's append rate: `PgChain` from one and from two writer nodes, then the data
/// dir's segment writer, at the same concurrency; then a verify of the PostgreSQL chain.
fn section_chain(rt: &Runtime, pg: &PgCluster) {
    let secs = env_secs("HRVAULT_BENCH_HTTP_CHAIN_SECS", 10.0);
    let appenders: usize = env_num("HRVAULT_BENCH_HTTP_CHAIN_APPENDERS", 64);
    let url = pg.create_database("chain").expect("create database");
    let proc = Some((pg.postmaster_pid().expect("postmaster pid"), clock_ticks()));
    println!("\n## Audit chain append rate across nodes\n");
    let mut rows: Vec<(String, ChainRun)> = Vec::new();
    for nodes in [1usize, 2] {
        let backends: Vec<PgBackend> = (0..nodes)
            .map(|_| PgBackend::connect(&url, 4).expect("connect"))
            .collect();
        let logs: Vec<AuditLog> = backends
            .iter()
            .map(|b| {
                let chain = b.chain(clock());
                let head = chain.head().expect("head");
                AuditLog::start_chain(Box::new(chain), head, clock(), Box::new(|| Ok(())))
                    .expect("writer")
            })
            .collect();
        let r = chain_run(rt, &logs, appenders, secs, proc);
        drop(logs);
        drop(backends);
        rows.push((format!("PostgreSQL `PgChain`, {nodes} node(s)"), r));
    }
    let check = PgBackend::connect(&url, 1).expect("connect");
    let chain = check.chain(clock());
    let head = chain.head().expect("head");
    let verdict = verify_lines(&chain, &head).expect("verify");
    let acknowledged: u64 = rows.iter().map(|(_, r)| r.entries).sum();
    println!(
        "- verify (`audit::verify_lines` against `chain.head()`): {} ({acknowledged} appends \
         acknowledged by the writers of this section)",
        verdict_text(&verdict)
    );
    drop(check);
    let dir = tempfile::tempdir().expect("tempdir");
    let (sink, head) = file_sink(dir.path());
    let log = AuditLog::start(sink, head, clock(), Box::new(|| Ok(()))).expect("writer");
    let r = chain_run(rt, std::slice::from_ref(&log), appenders, secs, None);
    drop(log);
    rows.push(("data dir segment files (`FileSink`), 1 node".to_owned(), r));

    println!(
        "\nMethod: `AuditLog::start_chain` on `PgBackend::chain` (a pool of 4 connections per \
         node, each node its own writer thread), {appenders} concurrent appenders in total \
         (task i on node i mod n) on the load runtime, {:.0} s per row, entries of the audit \
         bench's realistic mix; one node, then two nodes on the same database (the chain \
         continues), then the data dir's segment writer (`FileSink`, one fdatasync per group \
         commit) at the same concurrency. Mean batch = entries per transaction (per group \
         commit for the file). CPU = CPU µs per entry, as in the table above. Latency = \
         `append(..).await` until acknowledged (durable).\n",
        secs.as_secs_f64(),
    );
    println!("| writer | entries/s | mean batch | append p50 | append p99 | CPU µs per entry |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, r) in &rows {
        let n = r.entries.max(1) as f64;
        let cpu = r
            .cpu
            .iter()
            .filter(|(_, d)| !d.is_zero())
            .map(|(g, d)| format!("{g} {:.0}", d.as_secs_f64() * 1e6 / n))
            .collect::<Vec<_>>()
            .join(" · ");
        println!(
            "| {name} | {:.0} | {} | {} | {} | {cpu} |",
            r.entries as f64 / r.secs,
            if r.batches == 0 {
                "-".to_owned()
            } else {
                format!("{:.1}", r.entries as f64 / r.batches as f64)
            },
            ms(r.lat.p50),
            ms(r.lat.p99),
        );
    }
}
