//! Which store the black-box suites run on. `cargo test` runs them on a data dir (the embedded
//! sled default); with `HRVAULT_TEST_STORE=postgres` the same files run on a PostgreSQL store
//! (`scripts/test` runs both): every `VaultDir::init` then makes a new database in one
//! throw-away PostgreSQL cluster per test process and `init --store`s it, and every server
//! started on that vault's `data` path runs `serve --store` on that database. The tests do not
//! change: what they check over HTTP must hold on either store (CONTRACT §6).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use hrvault::testing::pg::PgCluster;

/// Whether this run is on PostgreSQL (`HRVAULT_TEST_STORE=postgres`).
pub fn on_postgres() -> bool {
    match std::env::var("HRVAULT_TEST_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("sled") | Ok("") | Err(_) => false,
        Ok(other) => panic!("HRVAULT_TEST_STORE={other}: use postgres or sled"),
    }
}

/// The process's cluster, started on first use and stopped when the process ends.
fn cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        // Asked for explicitly: a missing PostgreSQL fails the run, in CI or not.
        let mut c = PgCluster::start()
            .unwrap_or_else(|e| panic!("HRVAULT_TEST_STORE=postgres needs PostgreSQL 15: {e}"));
        c.stop_when_process_exits()
            .expect("a watcher that stops the cluster at exit");
        c
    })
}

/// Each vault's data path and the URL of the database standing in for it.
static STORES: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());

/// A new, empty database for the vault whose data dir would be `data`; its URL.
pub fn new_store(data: &Path) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let name = format!("vault_{}", NEXT.fetch_add(1, Ordering::SeqCst));
    let url = cluster()
        .create_database(&name)
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    STORES.lock().unwrap().push((data.to_owned(), url.clone()));
    url
}

/// The store URL standing in for data dir `data`, if this run made one.
pub fn store_of(data: &Path) -> Option<String> {
    STORES
        .lock()
        .unwrap()
        .iter()
        .find(|(d, _)| d == data)
        .map(|(_, url)| url.clone())
}

/// A plain `pg_dump` of the vault's database (for a data dir `data` this run put on
/// PostgreSQL).
fn dump(data: &Path) -> (String, Vec<u8>) {
    let url = store_of(data).expect("a vault on PostgreSQL");
    let c = cluster();
    // The database name is the URL's last segment (`new_store` makes it).
    let db = url
        .rsplit('/')
        .next()
        .expect("a database in the URL")
        .to_owned();
    let port = c.port().to_string();
    let bytes = c
        .tool_output(
            "pg_dump",
            &["-h", "127.0.0.1", "-p", &port, "-U", "hrvault", "-d", &db],
        )
        .unwrap_or_else(|e| panic!("pg_dump: {e}"));
    (db, bytes)
}

/// The SHA-256 (hex) of a plain dump of the vault's database, without the random
/// `\restrict KEY` / `\unrestrict KEY` lines pg_dump (15.14 and later) puts in every dump.
pub fn store_dump_digest(data: &Path) -> String {
    use sha2::Digest as _;
    let (_, bytes) = dump(data);
    let mut h = sha2::Sha256::new();
    for line in bytes.split(|b| *b == b'\n') {
        if !(line.starts_with(b"\\restrict ") || line.starts_with(b"\\unrestrict ")) {
            h.update(line);
            h.update(b"\n");
        }
    }
    super::hex(&h.finalize())
}

/// Every file holding the vault whose data dir would be `data`, besides the data dir itself: on
/// PostgreSQL a plain `pg_dump` of its database (written into `scratch`) and every file of the
/// cluster's own data directory — heap, WAL, dead tuples — so an at-rest scan reads what a
/// stolen database disk or backup holds. Empty for a data dir.
pub fn store_files(data: &Path, scratch: &Path) -> Vec<PathBuf> {
    if store_of(data).is_none() {
        return Vec::new();
    }
    let (db, dump) = dump(data);
    let path = scratch.join(format!("{db}.pg_dump.sql"));
    std::fs::write(&path, dump).unwrap();
    let mut files = vec![path];
    files.extend(super::files_under(&cluster().dir().join("data")));
    files
}

/// What the vault keeps of its audit log, as raw bytes, for "never stored" checks: every audit
/// segment of a data dir, or a plain dump of the PostgreSQL database (the chain and everything
/// else).
pub fn stored_audit_bytes(data: &Path) -> Vec<u8> {
    if store_of(data).is_some() {
        return dump(data).1;
    }
    let mut out = Vec::new();
    for f in super::files_under(&data.join("audit")) {
        if f.extension().is_some_and(|e| e == "jsonl") {
            out.extend(std::fs::read(&f).unwrap());
        }
    }
    out
}
