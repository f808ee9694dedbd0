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
use crate::store::{Store, StoredUser};

/// Why a vault could not be created or opened (all exit code 2 at the CLI).
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The passphrase does not unseal this vault.
    #[error("the passphrase is wrong: it does not unseal the vault in {0}")]
    WrongPassphrase(PathBuf),
    /// There is no vault here.
    #[error("{0} does not hold a vault (no vault.keys); create one with `hrvault init`")]
    NotAVault(PathBuf),
    /// `init` on an existing vault.
    #[error("{0} already holds a vault; refusing to overwrite it")]
    AlreadyExists(PathBuf),
    /// `init` on a non-empty directory.
    #[error("{0} is not empty; choose a new or empty directory for the vault")]
    NotEmpty(PathBuf),
    /// Another process holds the vault.
    #[error("the vault in {0} is in use by another hrvault process")]
    Locked(PathBuf),
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

/// Minimum lengths (NIST SP 800-63B: at least 8 for chosen secrets).
pub(crate) const MIN_PASSWORD: usize = 8;
/// Longest accepted password, in bytes (argon2 input stays small).
pub(crate) const MAX_PASSWORD: usize = 1024;
const MIN_PASSPHRASE: usize = 8;

impl Vault {
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
            return Err(VaultError::AlreadyExists(dir.into()));
        }
        if dir.exists() && fs::read_dir(dir).map_err(io)?.next().is_some() {
            return Err(VaultError::NotEmpty(dir.into()));
        }
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
        let store = Store::open_sled(&db_path, &slots_path)
            .map_err(|e| VaultError::Store(e.to_string()))?;
        SegmentDir::new(&audit_path).create().map_err(io)?;

        let generated = match opts.admin_password {
            Some(_) => None,
            None => Some(generate_secret().map_err(io)?),
        };
        let password = opts
            .admin_password
            .as_ref()
            .or(generated.as_ref())
            .expect("one of the two is set");
        let hasher = opts.hasher.clone();
        let pw = SecretString::from(password.expose_secret().to_owned());
        let credential =
            tokio::task::spawn_blocking(move || hasher.hash(pw.expose_secret().as_bytes()))
                .await
                .map_err(io)?
                .map_err(io)?;
        let admin = StoredUser::new("admin", Role::Admin, UserKind::Human, None, credential, now);
        // The vault itself (null actor) records the creation of the first admin, before it is
        // stored, like every other write. `init` writes a few KiB and serves nobody: the
        // free-disk watermark guards a running vault's requests, not its creation.
        let mut settings = Settings::default();
        settings.server.min_free_disk_mb = 0;
        let vault = open_parts(
            dir,
            Unsealed {
                keys: keyring,
                store,
                lock,
            },
            settings,
            clock,
            opts.hasher,
            Box::new(|s| Box::new(s)),
        )
        .await?;
        let mut e = NewEntry::new(Actor::default(), Action::UserCreate, Outcome::Success);
        e.reason = Some(format!("vault initialised; first admin user {}", admin.id));
        vault
            .inner
            .audit
            .append(e)
            .await
            .map_err(|e| VaultError::Audit(e.to_string()))?;
        vault
            .inner
            .store
            .insert_user(&admin)
            .map_err(|e| VaultError::Store(e.to_string()))?;
        vault
            .inner
            .audit
            .sync_store()
            .await
            .map_err(|e| VaultError::Audit(e.to_string()))?;
        sync_dir(dir)?;
        Ok(InitOutcome {
            generated_admin_password: generated,
        })
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
                return Err(VaultError::NotAVault(dir.into()));
            }
            Err(e) => return Err(io(e)),
        };
        let keyfile = KeyFile::from_bytes(&bytes)?;
        let pass = SecretString::from(passphrase.expose_secret().to_owned());
        let keyring = tokio::task::spawn_blocking(move || keyfile.unseal(&pass))
            .await
            .map_err(io)?
            .map_err(|e| match e {
                KeyFileError::WrongPassphrase => VaultError::WrongPassphrase(dir.into()),
                other => VaultError::KeyFile(other),
            })?;
        let lock = lock_file(&lock_path, dir)?;
        let store = Store::open_sled(&db_path, &slots_path)
            .map_err(|e| VaultError::Store(e.to_string()))?;
        open_parts(
            dir,
            Unsealed {
                keys: keyring,
                store,
                lock,
            },
            settings,
            clock,
            hasher,
            wrap,
        )
        .await
    }

    /// Re-reads the key file (for `keys rotate`).
    pub fn key_file(&self) -> Result<KeyFile, VaultError> {
        let keys_path = data_dir_layout(&self.inner.data_dir).keys;
        Ok(KeyFile::from_bytes(&fs::read(keys_path).map_err(io)?)?)
    }
}

/// What an unsealed, locked vault has before its audit writer starts.
struct Unsealed {
    keys: crate::crypto::Keyring,
    store: Store,
    lock: File,
}

async fn open_parts(
    dir: &Path,
    unsealed: Unsealed,
    settings: Settings,
    clock: SharedClock,
    hasher: Arc<PasswordHasher>,
    wrap: Box<dyn FnOnce(FileSink) -> Box<dyn LogSink> + Send>,
) -> Result<Vault, VaultError> {
    let Unsealed { keys, store, lock } = unsealed;
    let audit_path = data_dir_layout(dir).audit;
    let segments = SegmentDir::new(&audit_path);
    // Export plans and id lists that a crash interrupted (ids only, never named by an entry:
    // a kept list is renamed to `<sha256>.ids` before its entry is written).
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
        FileSink::open(segments.clone(), current).map_err(|e| VaultError::Audit(e.to_string()))?,
    );
    let sync_store = store.clone();
    let audit = AuditLog::start(
        sink,
        head,
        clock.clone(),
        Box::new(move || sync_store.sync().map_err(|e| e.to_string())),
    )
    .map_err(|e| VaultError::Audit(e.to_string()))?;
    let metrics = Arc::new(super::Metrics::new());
    let observed = metrics.clone();
    audit.set_observer(Box::new(move |entries, took, ok| {
        observed.audit_commit(entries, took.as_secs_f64(), ok)
    }));
    let space = Arc::new(crate::audit::SpaceGuard::new(
        dir,
        settings.server.min_free_disk_mb,
        settings.danger_free_disk_cap_file.clone(),
    ));
    audit.set_space_guard(space.clone());
    metrics.watch_disk(space);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    Ok(Vault {
        inner: Arc::new(Inner {
            data_dir: dir.to_path_buf(),
            tokens: TokenService::new(keys.token_key().public_key(), settings.auth.token_ttl_secs),
            limiter: LoginLimiter::new(
                keys.limiter_key(),
                store.clone(),
                settings.auth.login_attempts_per_minute,
                PER_ADDRESS_PER_MINUTE,
            ),
            slots: HashSlots::new(cores, 64),
            reader: AuditReader::new(segments),
            flags: super::fresh::Fresh::load(&store, crate::store::FLAGS_GENERATION, Store::flags)
                .map_err(|e| VaultError::Store(e.to_string()))?,
            metrics,
            honeytokens: super::honeytokens::Honeytokens::load(&store)
                .map_err(|e| VaultError::Store(e.to_string()))?,
            lookups: super::records::LookupQuota::new(keys.limiter_key(), store.clone()),
            write_locks: Default::default(),
            webhook_wake: tokio::sync::Notify::new(),
            audit_hours: Default::default(),
            last_verify: Default::default(),
            store,
            keys,
            audit,
            clock,
            settings,
            hasher,
            _lock: lock,
        }),
    })
}

fn lock_file(path: &Path, dir: &Path) -> Result<File, VaultError> {
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
        Err(std::fs::TryLockError::WouldBlock) => Err(VaultError::Locked(dir.into())),
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
