//! The PostgreSQL engine (cluster mode, CONTRACT §6, DESIGN §10).
//!
//! Every tree is a slice of one table, `hrvault_kv (tree, k, v)`, ordered by `k` as bytes (bytea
//! compares like memcmp, the order sled iterates in), so `Backend` means exactly the same on
//! both engines and the same conformance tests run on both.
//!
//! - **Atomic batches**: one transaction per batch. Every key a check names is first locked with
//!   a transaction-scoped advisory lock (sorted, so two batches cannot deadlock), then read; a
//!   failed check rolls the transaction back. The lock matters for `Absent`: there is no row to
//!   lock `FOR UPDATE` yet, and two nodes must not both see a username free.
//! - **Durability**: a batch is durable when its `COMMIT` returns (with the server's default
//!   `synchronous_commit = on`), so `sync` has nothing left to do.
//! - **Blocking**: `Backend` is synchronous (sled's calls are microseconds). The client is async
//!   and lives on a runtime of its own (threads `pg`); a call waits for its result on a channel,
//!   inside `block_in_place` when it runs on a multi-threaded tokio worker, so the worker's other
//!   tasks move to another thread while this one waits for the database.

use std::future::Future;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use sha2::{Digest, Sha256};
use tokio_postgres::NoTls;

use super::pg_slots::PgSlots;
use super::{Backend, Batch, Check, KvIter, Op, StoreError, Tree};

/// Schema migrations, applied in order; `hrvault_schema` records the last one applied.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE hrvault_kv (
        tree smallint NOT NULL,
        k bytea NOT NULL,
        v bytea NOT NULL,
        PRIMARY KEY (tree, k)
    )",
    // Wrapped record keys (`KeySlots`): a shred deletes the row; slot numbers are never reused.
    "CREATE TABLE hrvault_keyslots (
        slot bigserial PRIMARY KEY,
        wrapped bytea NOT NULL
    )",
    // The audit chain (`PgChain`): one line per entry, exactly a segment file's line, and the
    // one row every node's writer locks to append in one order.
    "CREATE TABLE hrvault_audit (
        seq bigint PRIMARY KEY,
        line text NOT NULL
    );
    CREATE TABLE hrvault_chain_head (
        id smallint PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL,
        hash text NOT NULL,
        ts text NOT NULL
    );
    INSERT INTO hrvault_chain_head VALUES
        (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', '')",
];

/// A key and its value.
type KvPair = (Vec<u8>, Vec<u8>);

/// Rows fetched per round trip of a range scan.
const PAGE: i64 = 512;

/// An engine error with its causes (`db error` alone hides the server's message, e.g. that
/// the database does not exist or the password was refused). None of them quotes the URL.
pub(super) fn engine(e: impl std::error::Error) -> StoreError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !message.ends_with(&next) {
            message.push_str(": ");
            message.push_str(&next);
        }
        source = s.source();
    }
    StoreError::Engine(message)
}

/// A failure to get a connection from the pool: the database is out of reach.
pub(super) fn unreachable(e: impl std::error::Error) -> StoreError {
    match engine(e) {
        StoreError::Engine(message) => StoreError::Unavailable(message),
        other => other,
    }
}

/// A tree's number in the table (stable: it is on disk).
fn tree_id(t: Tree) -> i16 {
    match t {
        Tree::Meta => 0,
        Tree::Employees => 1,
        Tree::EmployeeNumbers => 2,
        Tree::SsnIndex => 3,
        Tree::Changes => 4,
        Tree::Users => 5,
        Tree::Usernames => 6,
        Tree::RevokedTokens => 7,
        Tree::HrFlags => 8,
        Tree::Alerts => 9,
        Tree::MonitorState => 10,
        Tree::Idempotency => 11,
        Tree::ShredPending => 12,
        Tree::ConsoleSessions => 13,
        Tree::Limits => 14,
    }
}

/// The advisory-lock key of one stored key: 64 bits of SHA-256 (a collision only serialises two
/// unrelated batches).
fn lock_key(t: Tree, key: &[u8]) -> i64 {
    let mut h = Sha256::new();
    h.update(b"hrvault kv lock");
    h.update(tree_id(t).to_be_bytes());
    h.update(key);
    let d = h.finalize();
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The pool and the runtime its connections live on, shared by the backend and the key slots.
#[derive(Clone)]
pub(super) struct Client {
    rt: Arc<ClientRuntime>,
    pub(super) pool: Pool,
}

/// The client's own runtime. Dropped without waiting for its threads, so the last handle to a
/// store may go away anywhere, including inside an async task (a plain `Runtime` panics when
/// dropped there); every call waited for its answer already, so nothing is cut short.
pub(super) struct ClientRuntime {
    handle: tokio::runtime::Handle,
    /// Taken only by `drop`.
    rt: Option<tokio::runtime::Runtime>,
}

impl ClientRuntime {
    fn new(rt: tokio::runtime::Runtime) -> Self {
        Self {
            handle: rt.handle().clone(),
            rt: Some(rt),
        }
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for ClientRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A store URL as messages may show it: database, host and port, never the password (nor any
/// other part of the URL). `"a PostgreSQL store"` if the URL does not parse.
pub fn describe_store_url(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "a PostgreSQL store (the URL does not parse)".to_owned();
    };
    let db = config.get_dbname().unwrap_or("(default)");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("database {db} on {host}:{port}")
}

/// Takes, in one sorted order, the transaction-scoped advisory lock of every key the batches
/// check, so that two transactions checking the same key run one after the other (an `Absent`
/// check cannot be won twice) and no two transactions can wait on each other's locks.
pub(super) async fn lock_checked_keys(
    tx: &tokio_postgres::Transaction<'_>,
    batches: &[Batch],
) -> Result<(), StoreError> {
    let mut locks: Vec<i64> = batches
        .iter()
        .flat_map(|b| &b.checks)
        .map(|c| match c {
            Check::Absent(t, k, _) | Check::Equals(t, k, _, _) => lock_key(*t, k),
        })
        .collect();
    locks.sort_unstable();
    locks.dedup();
    for l in &locks {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[l])
            .await
            .map_err(engine)?;
    }
    Ok(())
}

/// Runs `batch`'s checks inside `tx` (whose locks are taken) and, only if every one holds, its
/// writes: `Conflict(label)` of the first failed check, with nothing written.
pub(super) async fn check_then_write(
    tx: &tokio_postgres::Transaction<'_>,
    batch: &Batch,
) -> Result<(), StoreError> {
    for check in &batch.checks {
        let (t, k, want, label) = match check {
            Check::Absent(t, k, label) => (*t, k, None, *label),
            Check::Equals(t, k, v, label) => (*t, k, Some(v), *label),
        };
        let row = tx
            .query_opt(
                "SELECT v FROM hrvault_kv WHERE tree = $1 AND k = $2",
                &[&tree_id(t), k],
            )
            .await
            .map_err(engine)?;
        let have = row.map(|r| r.get::<_, Vec<u8>>(0));
        if have.as_ref() != want {
            return Err(StoreError::Conflict(label));
        }
    }
    for op in &batch.ops {
        match op {
            Op::Put(t, k, v) => tx
                .execute(
                    "INSERT INTO hrvault_kv (tree, k, v) VALUES ($1, $2, $3) \
                     ON CONFLICT (tree, k) DO UPDATE SET v = EXCLUDED.v",
                    &[&tree_id(*t), k, v],
                )
                .await
                .map_err(engine)?,
            Op::Delete(t, k) => tx
                .execute(
                    "DELETE FROM hrvault_kv WHERE tree = $1 AND k = $2",
                    &[&tree_id(*t), k],
                )
                .await
                .map_err(engine)?,
        };
    }
    Ok(())
}

/// How a store's connections are secured. `sslmode=disable` in the URL: plain TCP (a local
/// socket, or a network only the nodes reach). Otherwise — libpq's default `prefer`, or
/// `require` — TLS whenever the server offers it (`require`: or no connection), and unlike
/// libpq's `prefer`/`require` the server's certificate and host name are always verified:
/// against `PGSSLROOTCERT` (a PEM file, libpq's variable) if set, else Mozilla's roots. A
/// connection that would be encrypted but not authenticated is refused rather than made.
fn tls_for(
    config: &tokio_postgres::Config,
    env: &dyn super::pg_env::Env,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, StoreError> {
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        return Ok(None);
    }
    let ca = env.var("PGSSLROOTCERT").map(std::path::PathBuf::from);
    let client = crate::tls::store_client_config(ca.as_deref())
        .map_err(|e| StoreError::Engine(e.to_string()))?;
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(client)))
}

/// PostgreSQL behind `Backend`.
pub struct PgBackend {
    client: Client,
}

impl PgBackend {
    /// Connects to `url` (libpq URL or key=value string; what it leaves out is filled by libpq's
    /// conventions, `PGHOST`, `PGPASSWORD`, `~/.pgpass` and friends: `store::pg_env`) and
    /// applies pending migrations.
    pub fn connect(url: &str, max_connections: usize) -> Result<Self, StoreError> {
        Self::connect_in(url, max_connections, &super::pg_env::ProcessEnv)
    }

    /// `connect` with libpq's variables read from `env`.
    fn connect_in(
        url: &str,
        max_connections: usize,
        env: &dyn super::pg_env::Env,
    ) -> Result<Self, StoreError> {
        // The parse error never quotes the URL (it may carry a password).
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Engine(format!("store URL: {e}")))?;
        super::pg_env::fill(&mut config, env);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pg")
            .enable_all()
            .build()
            .map_err(engine)?;
        let mgr = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls_for(&config, env)? {
            None => Manager::from_config(config, NoTls, mgr),
            Some(tls) => Manager::from_config(config, tls, mgr),
        };
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(engine)?;
        let b = Self {
            client: Client {
                rt: Arc::new(ClientRuntime::new(rt)),
                pool,
            },
        };
        b.migrate()?;
        Ok(b)
    }

    /// The audit chain in the same database, stamping entries with `clock`.
    pub fn chain(&self, clock: crate::clock::SharedClock) -> super::pg_chain::PgChain {
        super::pg_chain::PgChain::new(self.client.clone(), clock)
    }

    /// The key slots in the same database.
    pub fn key_slots(&self) -> PgSlots {
        PgSlots::new(self.client.clone())
    }

    fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.client.block(f)
    }

    fn pool(&self) -> Pool {
        self.client.pool.clone()
    }
}

impl Client {
    /// Runs `f` on the client runtime and waits for it.
    pub(super) fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt.handle().spawn(async move {
            let _ = tx.send(f.await);
        });
        let wait = move || rx.recv();
        let on_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let got = if on_worker {
            tokio::task::block_in_place(wait)
        } else {
            wait()
        };
        got.expect("the client runtime outlives its backend")
    }
}

impl PgBackend {
    fn migrate(&self) -> Result<(), StoreError> {
        let pool = self.pool();
        self.block(async move {
            let mut c = pool.get().await.map_err(unreachable)?;
            let tx = c.transaction().await.map_err(engine)?;
            // One migrator at a time, cluster-wide: nodes starting together wait here.
            tx.execute("SELECT pg_advisory_xact_lock(7200)", &[])
                .await
                .map_err(engine)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS hrvault_schema (version integer NOT NULL)",
            )
            .await
            .map_err(engine)?;
            let row = tx
                .query_opt("SELECT version FROM hrvault_schema", &[])
                .await
                .map_err(engine)?;
            let done = match row {
                Some(r) => r.get::<_, i32>(0) as usize,
                None => {
                    tx.execute("INSERT INTO hrvault_schema (version) VALUES (0)", &[])
                        .await
                        .map_err(engine)?;
                    0
                }
            };
            if done > MIGRATIONS.len() {
                return Err(StoreError::Engine(format!(
                    "the database's schema is version {done}, newer than this build knows ({})",
                    MIGRATIONS.len()
                )));
            }
            for m in &MIGRATIONS[done..] {
                tx.batch_execute(m).await.map_err(engine)?;
            }
            tx.execute(
                "UPDATE hrvault_schema SET version = $1",
                &[&(MIGRATIONS.len() as i32)],
            )
            .await
            .map_err(engine)?;
            tx.commit().await.map_err(engine)
        })
    }

    /// One page of `tree` from `from` (inclusive unless `after`), below `end`.
    fn page(
        &self,
        tree: Tree,
        from: Vec<u8>,
        after: bool,
        end: Option<Vec<u8>>,
    ) -> Result<Vec<KvPair>, StoreError> {
        let pool = self.pool();
        let t = tree_id(tree);
        self.block(async move {
            let c = pool.get().await.map_err(unreachable)?;
            let op = if after { ">" } else { ">=" };
            let rows = match &end {
                Some(end) => {
                    c.query(
                        &format!(
                            "SELECT k, v FROM hrvault_kv WHERE tree = $1 AND k {op} $2 AND k < $3 ORDER BY k LIMIT $4"
                        ),
                        &[&t, &from, end, &PAGE],
                    )
                    .await
                }
                None => {
                    c.query(
                        &format!(
                            "SELECT k, v FROM hrvault_kv WHERE tree = $1 AND k {op} $2 ORDER BY k LIMIT $3"
                        ),
                        &[&t, &from, &PAGE],
                    )
                    .await
                }
            }
            .map_err(engine)?;
            Ok(rows
                .into_iter()
                .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
                .collect())
        })
    }
}

/// What a store already holds, for commands that need an empty target (`store copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreContents {
    /// Rows of `hrvault_kv` (any tree, the key file included).
    pub kv_rows: u64,
    /// Rows of `hrvault_keyslots`.
    pub key_slots: u64,
    /// Rows of `hrvault_audit`, or a head row past 0.
    pub chain_entries: u64,
    /// The `Meta` value `vault.keys` is there.
    pub key_file: bool,
}

impl StoreContents {
    /// Nothing at all.
    pub fn is_empty(&self) -> bool {
        self.kv_rows == 0 && self.key_slots == 0 && self.chain_entries == 0 && !self.key_file
    }
}

impl PgBackend {
    /// Counts what the store holds (`store copy` refuses a target that holds anything).
    pub fn contents(&self) -> Result<StoreContents, StoreError> {
        let pool = self.pool();
        self.block(async move {
            let c = pool.get().await.map_err(unreachable)?;
            let r = c
                .query_one(
                    "SELECT (SELECT count(*) FROM hrvault_kv), \
                            (SELECT count(*) FROM hrvault_keyslots), \
                            GREATEST((SELECT count(*) FROM hrvault_audit), \
                                     (SELECT seq FROM hrvault_chain_head WHERE id = 1)), \
                            EXISTS (SELECT 1 FROM hrvault_kv WHERE tree = $1 AND k = $2)",
                    &[&tree_id(Tree::Meta), &b"vault.keys".as_slice()],
                )
                .await
                .map_err(engine)?;
            Ok(StoreContents {
                kv_rows: r.get::<_, i64>(0) as u64,
                key_slots: r.get::<_, i64>(1) as u64,
                chain_entries: r.get::<_, i64>(2) as u64,
                key_file: r.get(3),
            })
        })
    }

    /// Inserts `rows` of `tree` in one statement and one transaction (`store copy`: many
    /// thousands of rows a second). A key already present fails the whole call.
    pub fn bulk_load(&self, tree: Tree, rows: &[KvPair]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let pool = self.pool();
        let t = tree_id(tree);
        let (keys, values): (Vec<Vec<u8>>, Vec<Vec<u8>>) = rows.iter().cloned().unzip();
        self.block(async move {
            let c = pool.get().await.map_err(unreachable)?;
            c.execute(
                "INSERT INTO hrvault_kv (tree, k, v) \
                 SELECT $1, k, v FROM unnest($2::bytea[], $3::bytea[]) AS r(k, v)",
                &[&t, &keys, &values],
            )
            .await
            .map_err(engine)?;
            Ok(())
        })
    }
}

impl Backend for PgBackend {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let pool = self.pool();
        let (t, k) = (tree_id(tree), key.to_vec());
        self.block(async move {
            let c = pool.get().await.map_err(unreachable)?;
            let row = c
                .query_opt(
                    "SELECT v FROM hrvault_kv WHERE tree = $1 AND k = $2",
                    &[&t, &k],
                )
                .await
                .map_err(engine)?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    fn range(&self, tree: Tree, start: &[u8], end: Option<&[u8]>) -> KvIter<'_> {
        Box::new(Pages {
            backend: self,
            tree,
            next: Some((start.to_vec(), false)),
            end: end.map(<[u8]>::to_vec),
            buf: std::collections::VecDeque::new(),
        })
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let pool = self.pool();
        let batch = batch.clone();
        self.block(async move {
            let mut c = pool.get().await.map_err(unreachable)?;
            let tx = c.transaction().await.map_err(engine)?;
            lock_checked_keys(&tx, std::slice::from_ref(&batch)).await?;
            // On a failed check, dropping the transaction rolls it back.
            check_then_write(&tx, &batch).await?;
            tx.commit().await.map_err(engine)
        })
    }

    fn sync(&self) -> Result<(), StoreError> {
        // Every applied batch was committed (synchronous_commit = on): already durable.
        Ok(())
    }
}

/// A range scan fetched a page at a time.
struct Pages<'a> {
    backend: &'a PgBackend,
    tree: Tree,
    /// Where the next page starts (`true`: exclusive); `None` when the last page was short.
    next: Option<(Vec<u8>, bool)>,
    end: Option<Vec<u8>>,
    buf: std::collections::VecDeque<KvPair>,
}

impl Iterator for Pages<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            let (from, after) = self.next.take()?;
            match self.backend.page(self.tree, from, after, self.end.clone()) {
                Err(e) => return Some(Err(e)),
                Ok(rows) => {
                    if rows.len() as i64 == PAGE {
                        self.next = rows.last().map(|(k, _)| (k.clone(), true));
                    }
                    self.buf.extend(rows);
                }
            }
        }
        self.buf.pop_front().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libpq's variables for a test, without touching the process environment.
    struct Vars(Vec<(&'static str, String)>);

    impl super::super::pg_env::Env for Vars {
        fn var(&self, key: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        }
    }

    /// Whether the backend's own connection is encrypted, as the server sees it.
    fn encrypted(b: &PgBackend) -> bool {
        let pool = b.pool();
        b.block(async move {
            let c = pool.get().await.map_err(engine)?;
            let row = c
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await
                .map_err(engine)?;
            Ok::<bool, StoreError>(row.get(0))
        })
        .unwrap()
    }

    #[test]
    fn connections_use_verified_tls_unless_the_url_disables_it() {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
        let issuer = |name: &str| {
            let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.distinguished_name
                .push(rcgen::DnType::CommonName, format!("hrvault test CA {name}"));
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap()
        };
        let (ca, other_ca) = (issuer("store"), issuer("someone else"));
        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let key = KeyPair::generate().unwrap();
        let cert = server.signed_by(&key, &ca).unwrap();
        let pg = match crate::testing::pg::PgCluster::start_with_tls(Some((
            &cert.pem(),
            &key.serialize_pem(),
        ))) {
            Ok(pg) => pg,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("PostgreSQL: {e}"),
            Err(e) => return eprintln!("SKIPPED store TLS test (no PostgreSQL: {e})"),
        };
        let url = pg.create_database("tls").unwrap();
        let files = tempfile::tempdir().unwrap();
        let (ca_file, other_file) = (files.path().join("ca.pem"), files.path().join("other.pem"));
        std::fs::write(&ca_file, ca.pem()).unwrap();
        std::fs::write(&other_file, other_ca.pem()).unwrap();
        let root = |f: &std::path::Path| Vars(vec![("PGSSLROOTCERT", f.display().to_string())]);

        // The server offers TLS: the default (`prefer`) and `require` use it, verified.
        let b = PgBackend::connect_in(&url, 1, &root(&ca_file)).unwrap();
        assert!(
            encrypted(&b),
            "prefer: encrypted when the server offers TLS"
        );
        let b =
            PgBackend::connect_in(&format!("{url}?sslmode=require"), 1, &root(&ca_file)).unwrap();
        assert!(encrypted(&b), "require: encrypted");
        // A certificate from another CA, or none of the public roots: refused, never used
        // unauthenticated.
        for env in [root(&other_file), Vars(Vec::new())] {
            let err = PgBackend::connect_in(&format!("{url}?sslmode=require"), 1, &env)
                .err()
                .expect("an unverified server is refused");
            assert!(!err.to_string().contains("postgresql://"), "{err}");
        }
        // sslmode=disable: plain, as asked.
        let b =
            PgBackend::connect_in(&format!("{url}?sslmode=disable"), 1, &Vars(Vec::new())).unwrap();
        assert!(!encrypted(&b));
    }

    #[test]
    fn postgres_backend_conforms() {
        let Some(pg) = crate::testing::pg::require("postgres_backend_conforms") else {
            return;
        };
        let url = pg.create_database("conformance").unwrap();
        let b = PgBackend::connect(&url, 8).unwrap();
        // Migrations are idempotent: a second node connecting finds the schema in place.
        let again = PgBackend::connect(&url, 2).unwrap();
        drop(again);
        let slots = b.key_slots();
        super::super::conformance::check(Arc::new(b));
        super::super::conformance::check_slots(&slots);
        slots.vacuum().unwrap();
    }

    #[test]
    fn leases_on_postgres() {
        let Some(pg) = crate::testing::pg::require("leases_on_postgres") else {
            return;
        };
        let url = pg.create_database("leases").unwrap();
        let (store, _) = crate::store::Store::open_postgres(&url, 4).unwrap();
        crate::store::lease::check_leases(&store);
    }

    #[test]
    fn limits_on_postgres() {
        let Some(pg) = crate::testing::pg::require("limits_on_postgres") else {
            return;
        };
        let url = pg.create_database("limits").unwrap();
        let (store, _) = crate::store::Store::open_postgres(&url, 4).unwrap();
        crate::store::limits::check_limits(&store);
    }

    #[test]
    fn tree_ids_are_distinct() {
        let mut ids: Vec<i16> = Tree::ALL.iter().map(|t| tree_id(*t)).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Tree::ALL.len());
    }
}
