//! Creating, unsealing and locking a vault on disk.
//!
//! ```text
//! DATA_DIR/            0700
//!   vault.keys         key file: KDF parameters, key check value, wrapped keys (crypto::KeyFile)
//!   vault.lock         held (flock) by the one process serving or changing the vault
//!   db/                sled: records with sealed fields, users, indexes
//!   keyslots.bin       wrapped record keys, one 64-byte slot each, overwritten when shredded
//!   audit/             append-only hash-chained JSONL segments
//! ```
//!
//! Opening reads only `vault.keys` until the passphrase is proven right: a wrong passphrase
//! leaves every byte under the data dir unchanged.
//!
//! A vault may instead live in a PostgreSQL store (cluster mode, `Location::Store`): the key file
//! is the `Meta` value `vault.keys` (created by compare-and-set, so of two concurrent `init`s
//! one wins), records, key slots and the one audit chain are in the database, and there is no
//! lock (many nodes are the point) and no free-disk watermark (the database manages its own
//! space). What a node needs on local disk (the import spool, payroll's export plans) goes to a
//! private temporary directory removed when the vault is dropped.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::{Inner, Vault};
use crate::audit::{
    Action, Actor, AuditLog, AuditReader, FileSink, LogSink, NewEntry, Outcome, SegmentDir,
};
use crate::auth::{HashSlots, LoginLimiter, PER_ADDRESS_PER_MINUTE, TokenService};
use crate::clock::{SharedClock, rfc3339};
use crate::config::Settings;
use crate::crypto::{KdfParams, KeyFile, KeyFileError, PasswordHasher, generate_secret};
use crate::model::{Role, UserKind};
use crate::store::{PgBackend, PgChain, Store, StoreError, StoredUser, describe_store_url};

/// Why a vault could not be created or opened (all exit code 2 at the CLI).
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The passphrase does not unseal this vault.
    #[error("the passphrase is wrong: it does not unseal the vault in {0}")]
    WrongPassphrase(String),
    /// There is no vault here.
    #[error("{0} does not hold a vault (no vault.keys); create one with `hrvault init`")]
    NotAVault(String),
    /// `init` on an existing vault.
    #[error("{0} already holds a vault; refusing to overwrite it")]
    AlreadyExists(String),
    /// `init` on a non-empty directory (or a store that already holds an audit chain).
    #[error("{0} is not empty; choose a new or empty directory (or database) for the vault")]
    NotEmpty(String),
    /// Another process holds the vault.
    #[error("the vault in {0} is in use by another hrvault process")]
    Locked(String),
    /// A bad passphrase or password for a new vault.
    #[error("{0}")]
    Weak(String),
    /// The key file is damaged.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The store could not be opened.
    #[error("cannot open the record store: {0}")]
    Store(String),
    /// The audit log could not be opened or recovered.
    #[error("cannot open the audit log: {0}")]
    Audit(String),
    /// Any other file system problem.
    #[error("{0}")]
    Io(String),
}

/// Paths of a data dir's parts.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `vault.keys`: KDF parameters, key check value, wrapped master and service keys.
    pub keys: PathBuf,
    /// `vault.lock`: held by the one process using the vault.
    pub lock: PathBuf,
    /// `db/`: sled.
    pub db: PathBuf,
    /// `audit/`: the hash-chained segments.
    pub audit: PathBuf,
    /// `keyslots.bin`: wrapped record keys, overwritten in place when shredded.
    pub slots: PathBuf,
}

/// The parts of the data dir `dir`.
pub fn data_dir_layout(dir: &Path) -> Layout {
    Layout {
        keys: dir.join("vault.keys"),
        lock: dir.join("vault.lock"),
        db: dir.join("db"),
        audit: dir.join("audit"),
        slots: dir.join("keyslots.bin"),
    }
}

/// Inputs of `init`.
pub struct InitOptions {
    /// Unseals the vault.
    pub passphrase: SecretString,
    /// The first admin's password; generated if `None`.
    pub admin_password: Option<SecretString>,
    /// Argon2id parameters for the unseal key.
    pub kdf: KdfParams,
    /// Password hashing parameters.
    pub hasher: Arc<PasswordHasher>,
}

/// What `init` produced.
pub struct InitOutcome {
    /// Set when the admin password was generated (print it once).
    pub generated_admin_password: Option<SecretString>,
}

fn io(e: impl std::fmt::Display) -> VaultError {
    VaultError::Io(e.to_string())
}

/// A data dir as messages show it.
fn shown(dir: &Path) -> String {
    dir.display().to_string()
}

/// Minimum lengths (NIST SP 800-63B: at least 8 for chosen secrets).
pub(crate) const MIN_PASSWORD: usize = 8;
/// Longest accepted password, in bytes (argon2 input stays small).
pub(crate) const MAX_PASSWORD: usize = 1024;
const MIN_PASSPHRASE: usize = 8;

/// The `Meta` key holding the key file in a store (the bytes `vault.keys` holds in a data dir).
pub(crate) const KEY_FILE_META: &str = "vault.keys";

/// Connections each vault keeps to a PostgreSQL store.
const STORE_POOL: usize = 16;

/// Where a vault lives. `Debug` and `Display` never show a store URL (it may carry a password).
#[derive(Clone)]
pub enum Location {
    /// A data dir: sled, the key-slot file and the audit segments (the embedded default).
    DataDir(PathBuf),
    /// A PostgreSQL store URL (cluster mode): any number of nodes may open it at once.
    Store(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::DataDir(dir) => f.debug_tuple("DataDir").field(dir).finish(),
            Location::Store(url) => f
                .debug_tuple("Store")
                .field(&describe_store_url(url))
                .finish(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::DataDir(dir) => write!(f, "{}", dir.display()),
            // Never the URL itself: it may carry a password.
            Location::Store(url) => f.write_str(&describe_store_url(url)),
        }
    }
}

/// The checks `init` makes of its secrets, wherever the vault goes.
fn check_init_secrets(opts: &InitOptions) -> Result<(), VaultError> {
    if opts.passphrase.expose_secret().chars().count() < MIN_PASSPHRASE {
        return Err(VaultError::Weak(format!(
            "the passphrase is too short: use at least {MIN_PASSPHRASE} characters (a few random words is best)"
        )));
    }
    if let Some(p) = &opts.admin_password
        && (p.expose_secret().chars().count() < MIN_PASSWORD
            || p.expose_secret().len() > MAX_PASSWORD)
    {
        return Err(VaultError::Weak(format!(
            "HRVAULT_ADMIN_PASSWORD must be {MIN_PASSWORD} characters to {MAX_PASSWORD} bytes long"
        )));
    }
    Ok(())
}

fn store_err(e: impl std::fmt::Display) -> VaultError {
    VaultError::Store(e.to_string())
}

impl Vault {
    /// Creates a new vault at `location` (`init` or `init_store`).
    pub async fn init_at(
        location: &Location,
        opts: InitOptions,
        clock: SharedClock,
    ) -> Result<InitOutcome, VaultError> {
        match location {
            Location::DataDir(dir) => Self::init(dir, opts, clock).await,
            Location::Store(url) => Self::init_store(url, opts, clock).await,
        }
    }

    /// Unseals the vault at `location` (`open` or `open_store`).
    pub async fn open_at(
        location: &Location,
        passphrase: &SecretString,
        settings: Settings,
        clock: SharedClock,
        hasher: Arc<PasswordHasher>,
    ) -> Result<Self, VaultError> {
        match location {
            Location::DataDir(dir) => Self::open(dir, passphrase, settings, clock, hasher).await,
            Location::Store(url) => {
                Self::open_store(url, passphrase, settings, clock, hasher).await
            }
        }
    }

    /// Creates a new vault in `dir` (which must not exist, or be empty).
    pub async fn init(
        dir: &Path,
        opts: InitOptions,
        clock: SharedClock,
    ) -> Result<InitOutcome, VaultError> {
        let Layout {
            keys: keys_path,
            lock: lock_path,
            db: db_path,
            audit: audit_path,
            slots: slots_path,
        } = data_dir_layout(dir);
        if keys_path.exists() {
            return Err(VaultError::AlreadyExists(shown(dir)));
        }
        if dir.exists() && fs::read_dir(dir).map_err(io)?.next().is_some() {
            return Err(VaultError::NotEmpty(shown(dir)));
        }
        check_init_secrets(&opts)?;
        // Owner-only, including an empty directory that already existed.
        for d in [dir, db_path.as_path(), audit_path.as_path()] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)
                .map_err(io)?;
            fs::set_permissions(d, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let now = clock.now();
        let (keyfile, keyring) = KeyFile::create(&opts.passphrase, opts.kdf, &rfc3339(now))?;
        let lock = lock_file(&lock_path, dir)?;
        write_new_file(&keys_path, &keyfile.to_bytes())?;
        let store = Store::open_sled(&db_path, &slots_path).map_err(store_err)?;
        SegmentDir::new(&audit_path).create().map_err(io)?;
        // `init` writes a few KiB and serves nobody: the free-disk watermark guards a running
        // vault's requests, not its creation.
        let mut settings = Settings::default();
        settings.server.min_free_disk_mb = 0;
        let vault = open_parts(
            Backing::DataDir {
                dir: dir.to_path_buf(),
                lock,
                wrap: Box::new(|s| Box::new(s)),
            },
            keyring,
            store,
            settings,
            clock,
            opts.hasher.clone(),
        )
        .await?;
        let generated_admin_password = vault
            .create_first_admin(opts.admin_password, opts.hasher)
            .await?;
        sync_dir(dir)?;
        Ok(InitOutcome {
            generated_admin_password,
        })
    }

    /// Creates a new vault in the PostgreSQL store at `url` (cluster mode). Refused if the store
    /// already holds a key file or an audit chain; the key file is written by compare-and-set,
    /// so of two `init`s racing on one database exactly one wins.
    pub async fn init_store(
        url: &str,
        opts: InitOptions,
        clock: SharedClock,
    ) -> Result<InitOutcome, VaultError> {
        let name = describe_store_url(url);
        check_init_secrets(&opts)?;
        let (store, backend) = open_postgres(url).await?;
        if store.meta(KEY_FILE_META).map_err(store_err)?.is_some() {
            return Err(VaultError::AlreadyExists(name));
        }
        let chain = backend.chain(clock.clone());
        if chain.head().map_err(store_err)?.seq > 0 {
            return Err(VaultError::NotEmpty(name));
        }
        let now = clock.now();
        let (keyfile, keyring) = KeyFile::create(&opts.passphrase, opts.kdf, &rfc3339(now))?;
        match store.replace_meta(KEY_FILE_META, None, &keyfile.to_bytes()) {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(VaultError::AlreadyExists(name)),
            Err(e) => return Err(store_err(e)),
        }
        let vault = open_parts(
            Backing::Store { name, chain },
            keyring,
            store,
            Settings::default(),
            clock,
            opts.hasher.clone(),
        )
        .await?;
        let generated_admin_password = vault
            .create_first_admin(opts.admin_password, opts.hasher)
            .await?;
        Ok(InitOutcome {
            generated_admin_password,
        })
    }

    /// The first admin, recorded by the vault itself (null actor) before it is stored, like
    /// every other write. Returns the password if it was generated (to print once).
    async fn create_first_admin(
        &self,
        admin_password: Option<SecretString>,
        hasher: Arc<PasswordHasher>,
    ) -> Result<Option<SecretString>, VaultError> {
        let generated = match admin_password {
            Some(_) => None,
            None => Some(generate_secret().map_err(io)?),
        };
        let password = match (&admin_password, &generated) {
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) => return Err(io("no admin password")),
        };
        let pw = SecretString::from(password.expose_secret().to_owned());
        let credential =
            tokio::task::spawn_blocking(move || hasher.hash(pw.expose_secret().as_bytes()))
                .await
                .map_err(io)?
                .map_err(io)?;
        let now = self.now();
        let admin = StoredUser::new("admin", Role::Admin, UserKind::Human, None, credential, now);
        let mut e = NewEntry::new(Actor::default(), Action::UserCreate, Outcome::Success);
        e.reason = Some(format!("vault initialised; first admin user {}", admin.id));
        self.inner
            .audit
            .append(e)
            .await
            .map_err(|e| VaultError::Audit(e.to_string()))?;
        self.inner.store.insert_user(&admin).map_err(store_err)?;
        self.inner
            .audit
            .sync_store()
            .await
            .map_err(|e| VaultError::Audit(e.to_string()))?;
        Ok(generated)
    }

    /// Unseals the vault in `dir`: passphrase first (nothing written if wrong), then lock, store
    /// and audit log.
    pub async fn open(
        dir: &Path,
        passphrase: &SecretString,
        settings: Settings,
        clock: SharedClock,
        hasher: Arc<PasswordHasher>,
    ) -> Result<Self, VaultError> {
        Self::open_with(
            dir,
            passphrase,
            settings,
            clock,
            hasher,
            Box::new(|s| Box::new(s)),
        )
        .await
    }

    /// Like `open`, but the audit log's file sink is passed through `wrap` first: tests use it to
    /// inject a sink that fails, proving requests fail closed. Never used by the binary.
    pub async fn danger_open_with_audit_sink(
        dir: &Path,
        passphrase: &SecretString,
        settings: Settings,
        clock: SharedClock,
        hasher: Arc<PasswordHasher>,
        wrap: Box<dyn FnOnce(FileSink) -> Box<dyn LogSink> + Send>,
    ) -> Result<Self, VaultError> {
        Self::open_with(dir, passphrase, settings, clock, hasher, wrap).await
    }

    async fn open_with(
        dir: &Path,
        passphrase: &SecretString,
        settings: Settings,
        clock: SharedClock,
        hasher: Arc<PasswordHasher>,
        wrap: Box<dyn FnOnce(FileSink) -> Box<dyn LogSink> + Send>,
    ) -> Result<Self, VaultError> {
        let Layout {
            keys: keys_path,
            lock: lock_path,
            db: db_path,
            slots: slots_path,
            ..
        } = data_dir_layout(dir);
        let bytes = match fs::read(&keys_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::NotAVault(shown(dir)));
            }
            Err(e) => return Err(io(e)),
        };
        let keyring = unseal(&bytes, passphrase, shown(dir)).await?;
        let lock = lock_file(&lock_path, dir)?;
        let store = Store::open_sled(&db_path, &slots_path).map_err(store_err)?;
        open_parts(
            Backing::DataDir {
                dir: dir.to_path_buf(),
                lock,
                wrap,
            },
            keyring,
            store,
            settings,
            clock,
            hasher,
        )
        .await
    }

    /// Unseals the vault in the PostgreSQL store at `url` (cluster mode; one node). The key file
    /// is read from the store and the passphrase proven right before anything is written; there
    /// is no lock, so any number of nodes may open the same store at once.
    pub async fn open_store(
        url: &str,
        passphrase: &SecretString,
        settings: Settings,
        clock: SharedClock,
        hasher: Arc<PasswordHasher>,
    ) -> Result<Self, VaultError> {
        let name = describe_store_url(url);
        let (store, backend) = open_postgres(url).await?;
        let Some(bytes) = store.meta(KEY_FILE_META).map_err(store_err)? else {
            return Err(VaultError::NotAVault(name));
        };
        let keyring = unseal(&bytes, passphrase, name.clone()).await?;
        let chain = backend.chain(clock.clone());
        open_parts(
            Backing::Store { name, chain },
            keyring,
            store,
            settings,
            clock,
            hasher,
        )
        .await
    }

    /// The key file's bytes as stored now (for `keys rotate`).
    pub(crate) fn key_file_bytes(&self) -> Result<Vec<u8>, VaultError> {
        match &self.inner.place {
            Place::DataDir { dir, .. } => fs::read(data_dir_layout(dir).keys).map_err(io),
            Place::Store { name, .. } => self
                .inner
                .store
                .meta(KEY_FILE_META)
                .map_err(store_err)?
                .ok_or_else(|| VaultError::NotAVault(name.clone())),
        }
    }

    /// Re-reads the key file (for `keys rotate`).
    pub fn key_file(&self) -> Result<KeyFile, VaultError> {
        Ok(KeyFile::from_bytes(&self.key_file_bytes()?)?)
    }
}

/// A store's audit chain for the offline readers (`audit verify|export --store`): no passphrase,
/// and nothing written but schema migrations (no pending shreds finished, no writer started).
/// `NotAVault` if the store holds no key file.
pub async fn open_store_chain(url: &str) -> Result<PgChain, VaultError> {
    let name = describe_store_url(url);
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        use crate::store::Backend;
        let backend = PgBackend::connect(&url, 2).map_err(|e| store_named(&name, e))?;
        if backend
            .get(crate::store::Tree::Meta, KEY_FILE_META.as_bytes())
            .map_err(store_err)?
            .is_none()
        {
            return Err(VaultError::NotAVault(name));
        }
        Ok(backend.chain(Arc::new(crate::clock::SystemClock)))
    })
    .await
    .map_err(io)?
}

/// Connects off the async workers (the pool's first connections and the migrations block).
async fn open_postgres(url: &str) -> Result<(Store, Arc<PgBackend>), VaultError> {
    let name = describe_store_url(url);
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || Store::open_postgres(&url, STORE_POOL))
        .await
        .map_err(io)?
        .map_err(|e| store_named(&name, e))
}

/// A store error naming the store as messages may (`database D on host:port`).
pub(crate) fn store_named(name: &str, e: impl std::fmt::Display) -> VaultError {
    VaultError::Store(format!("{name}: {e}"))
}

/// Proves the passphrase right against a key file's bytes (on the blocking pool: argon2id).
async fn unseal(
    bytes: &[u8],
    passphrase: &SecretString,
    shown: String,
) -> Result<crate::crypto::Keyring, VaultError> {
    let keyfile = KeyFile::from_bytes(bytes)?;
    let pass = SecretString::from(passphrase.expose_secret().to_owned());
    tokio::task::spawn_blocking(move || keyfile.unseal(&pass))
        .await
        .map_err(io)?
        .map_err(|e| match e {
            KeyFileError::WrongPassphrase => VaultError::WrongPassphrase(shown),
            other => VaultError::KeyFile(other),
        })
}

/// Where an unsealed vault's audit chain and local files are, before its writer starts.
enum Backing {
    /// A locked data dir; the segment sink passed through `wrap` (tests).
    DataDir {
        dir: PathBuf,
        lock: File,
        wrap: Box<dyn FnOnce(FileSink) -> Box<dyn LogSink> + Send>,
    },
    /// A PostgreSQL store's chain; `name` as messages show it.
    Store { name: String, chain: PgChain },
}

/// Where a running vault lives (`Inner::place`).
pub(crate) enum Place {
    /// A data dir, held (flock) for the life of the process: one vault, one server.
    DataDir { dir: PathBuf, _lock: File },
    /// A PostgreSQL store, shared with other nodes; `scratch` is this node's private temporary
    /// directory (0700, removed on drop) for what must be a local file.
    Store {
        name: String,
        chain: PgChain,
        scratch: tempfile::TempDir,
    },
}

async fn open_parts(
    backing: Backing,
    keys: crate::crypto::Keyring,
    store: Store,
    settings: Settings,
    clock: SharedClock,
    hasher: Arc<PasswordHasher>,
) -> Result<Vault, VaultError> {
    let metrics = Arc::new(super::Metrics::new());
    let (audit, reader, place) = match backing {
        Backing::DataDir { dir, lock, wrap } => {
            let audit_path = data_dir_layout(&dir).audit;
            let segments = SegmentDir::new(&audit_path);
            // Export plans and id lists that a crash interrupted (ids only, never named by an
            // entry: a kept list is renamed to `<sha256>.ids` before its entry is written).
            if let Ok(entries) = fs::read_dir(audit_path.join("id-lists")) {
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if name.ends_with(".tmp") {
                        let _ = fs::remove_file(entry.path());
                    }
                }
            }
            let (head, report, (_, current)) = segments
                .recover(settings.danger_accept_damaged_audit_log)
                .map_err(|e| VaultError::Audit(e.to_string()))?;
            if report.truncated_bytes > 0 {
                tracing::warn!(
                    bytes = report.truncated_bytes,
                    saved_to = ?report.quarantined,
                    head = head.seq,
                    "cut a torn write from the end of the audit log (nothing in it was acknowledged)"
                );
            }
            let sink = wrap(
                FileSink::open(segments.clone(), current)
                    .map_err(|e| VaultError::Audit(e.to_string()))?,
            );
            let sync_store = store.clone();
            let audit = AuditLog::start(
                sink,
                head,
                clock.clone(),
                Box::new(move || sync_store.sync().map_err(|e| e.to_string())),
            )
            .map_err(|e| VaultError::Audit(e.to_string()))?;
            let space = Arc::new(crate::audit::SpaceGuard::new(
                &dir,
                settings.server.min_free_disk_mb,
                settings.danger_free_disk_cap_file.clone(),
            ));
            audit.set_space_guard(space.clone());
            metrics.watch_disk(space);
            (
                audit,
                AuditReader::new(segments),
                Place::DataDir { dir, _lock: lock },
            )
        }
        Backing::Store { name, chain } => {
            let head = chain.head().map_err(|e| VaultError::Audit(e.to_string()))?;
            // Every batch is committed before it returns (synchronous_commit): nothing to sync.
            let audit = AuditLog::start_chain(
                Box::new(chain.clone()),
                head,
                clock.clone(),
                Box::new(|| Ok(())),
            )
            .map_err(|e| VaultError::Audit(e.to_string()))?;
            let scratch = tempfile::Builder::new()
                .prefix("hrvault-node-")
                .tempdir()
                .map_err(io)?;
            (
                audit,
                AuditReader::over(Arc::new(chain.clone())),
                Place::Store {
                    name,
                    chain,
                    scratch,
                },
            )
        }
    };
    let observed = metrics.clone();
    audit.set_observer(Box::new(move |entries, took, ok| {
        observed.audit_commit(entries, took.as_secs_f64(), ok)
    }));
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    Ok(Vault {
        inner: Arc::new(Inner {
            place,
            tokens: TokenService::new(keys.token_key().public_key(), settings.auth.token_ttl_secs),
            limiter: LoginLimiter::new(
                keys.limiter_key(),
                store.clone(),
                settings.auth.login_attempts_per_minute,
                PER_ADDRESS_PER_MINUTE,
            ),
            slots: HashSlots::new(cores, 64),
            reader,
            flags: super::fresh::Fresh::load(&store, crate::store::FLAGS_GENERATION, Store::flags)
                .map_err(store_err)?,
            metrics,
            honeytokens: super::honeytokens::Honeytokens::load(&store).map_err(store_err)?,
            lookups: super::records::LookupQuota::new(keys.limiter_key(), store.clone()),
            write_locks: Default::default(),
            webhook_wake: tokio::sync::Notify::new(),
            audit_hours: Default::default(),
            last_verify: Default::default(),
            node: super::duty::Node::new(),
            store_probe: Default::default(),
            store,
            keys,
            audit,
            clock,
            settings,
            hasher,
        }),
    })
}

pub(crate) fn lock_file(path: &Path, dir: &Path) -> Result<File, VaultError> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(VaultError::Locked(shown(dir))),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Atomically replaces a file: write a temp file, fsync, rename, fsync the directory.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let dir = path.parent().ok_or_else(|| io("no parent directory"))?;
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    write_new_file(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(io)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), VaultError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}
