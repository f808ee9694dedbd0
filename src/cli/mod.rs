//! Command line: `init`, `serve`, `demo`, `audit verify|export`, `keys rotate`, `import`,
//! `users recover`, `store copy`.
//!
//! Every command on a vault takes exactly one of `--data-dir DIR` (the embedded default) and
//! `--store URL` (PostgreSQL, cluster mode; also `HRVAULT_STORE_URL`), shared as [`VaultArgs`].
//! The URL may carry a password, so it is never printed: messages name a store as
//! `database D on host:port` (`store::describe_store_url`).
//!
//! Exit codes (CONTRACT §1): 0 ok, 1 a check failed, 2 usage / unseal / config error. Secrets
//! never come from the command line: the passphrase from `HRVAULT_PASSPHRASE` or
//! `--passphrase-file`, the first admin password from `HRVAULT_ADMIN_PASSWORD`.

mod audit_cmd;
mod demo;
mod import;
mod keys;
mod serve;
mod store_cmd;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::service::Location;
use crate::store::describe_store_url;

/// Exit code: a check failed (e.g. `audit verify` found damage, `import` rejected rows).
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code: usage, unseal or configuration error.
pub const EXIT_USAGE: u8 = 2;

/// An error that ends the command with a message and an exit code.
#[derive(Debug)]
pub struct CliError {
    /// Printed to stderr.
    pub message: String,
    /// The process exit code.
    pub code: u8,
}

impl CliError {
    /// Exit 2 with `message`.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: EXIT_USAGE,
        }
    }
}

impl From<crate::service::VaultError> for CliError {
    fn from(e: crate::service::VaultError) -> Self {
        Self::usage(format!("error: {e}"))
    }
}

/// hrvault: an encrypted vault for HR employee records.
#[derive(Debug, Parser)]
#[command(name = "hrvault", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the operator passphrase comes from.
#[derive(Debug, Clone, Args)]
pub struct PassphraseArgs {
    /// Read the passphrase from this file (one line) instead of HRVAULT_PASSPHRASE.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// Where the vault is: exactly one of `--data-dir` and `--store` (checked by [`VaultArgs::location`]).
#[derive(Clone, Args)]
pub struct VaultArgs {
    /// The vault's data directory (sled; the embedded default).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The vault's PostgreSQL store (cluster mode): a libpq URL or key=value string, also from
    /// HRVAULT_STORE_URL. Leave the password out of it: PGPASSWORD or ~/.pgpass (PGPASSFILE)
    /// supply it, as for libpq.
    #[arg(
        long,
        value_name = "URL",
        env = "HRVAULT_STORE_URL",
        hide_env_values = true
    )]
    pub store: Option<String>,
}

impl std::fmt::Debug for VaultArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("VaultArgs")
            .field("data_dir", &self.data_dir)
            .field("store", &self.store.as_deref().map(describe_store_url))
            .finish()
    }
}

impl VaultArgs {
    /// The one location given; exit 2 if neither or both.
    pub fn location(&self) -> Result<Location, CliError> {
        match (&self.data_dir, &self.store) {
            (Some(dir), None) => Ok(Location::DataDir(dir.clone())),
            (None, Some(url)) => Ok(Location::Store(url.clone())),
            (None, None) => Err(CliError::usage(
                "error: say where the vault is: --data-dir DIR or --store URL (or HRVAULT_STORE_URL)",
            )),
            (Some(_), Some(_)) => Err(CliError::usage(
                "error: pass only one of --data-dir DIR and --store URL (HRVAULT_STORE_URL counts as --store)",
            )),
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new vault: master key material, signing keys, first admin user `admin`.
    Init {
        /// Where the new vault goes: a new or empty directory, or an empty store.
        #[command(flatten)]
        at: VaultArgs,
        #[command(flatten)]
        pass: PassphraseArgs,
    },
    /// Unseal the vault and serve the HTTP API.
    Serve {
        #[command(flatten)]
        at: VaultArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7200", value_name = "ADDR")]
        listen: SocketAddr,
        /// TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Serve HTTPS only, with this PEM certificate chain (leaf first); overrides
        /// `[tls] cert_file`. Needs --tls-key.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert; overrides `[tls] key_file`.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP on a non-loopback address (refused without it). Only behind a
        /// TLS-terminating proxy on a network you trust.
        #[arg(long)]
        allow_plain_http: bool,
        /// Test seam: the free space seen on the data dir's file system is at most the number
        /// of MiB in this file (it can only make the vault refuse writes sooner).
        #[arg(long, value_name = "FILE", hide = true)]
        danger_free_disk_cap_file: Option<PathBuf>,
        /// Start even if the audit log is damaged inside (an edited, removed or reordered
        /// entry): the damage stays in place for `audit verify`. Keep a copy first.
        #[arg(long)]
        danger_accept_damaged_audit_log: bool,
        #[command(flatten)]
        pass: PassphraseArgs,
    },
    /// A throw-away vault with synthetic employees and one user per role, serving.
    Demo {
        #[arg(long, default_value = "127.0.0.1:7200", value_name = "ADDR")]
        listen: SocketAddr,
    },
    /// Check or export the audit log (offline; appends nothing).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Key management.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Vault users (offline, operator commands).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Move a vault between engines.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Bulk onboarding from an HRIS CSV export.
    Import {
        #[command(flatten)]
        at: VaultArgs,
        /// The CSV file; header = record field names, nested ones dotted.
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
        #[command(flatten)]
        pass: PassphraseArgs,
    },
}

/// `hrvault audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: exit 0 intact, 1 with the first bad sequence number.
    Verify {
        /// The vault (exactly one of --data-dir, --store and --file).
        #[command(flatten)]
        at: VaultArgs,
        /// A JSONL export.
        #[arg(long, value_name = "EXPORT.jsonl")]
        file: Option<PathBuf>,
    },
    /// Write the log for auditors (jsonl) or a SIEM (ocsf).
    Export {
        #[command(flatten)]
        at: VaultArgs,
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Output file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `hrvault keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// New master key version; re-wraps every record key (field ciphertexts untouched).
    Rotate {
        #[command(flatten)]
        at: VaultArgs,
        #[command(flatten)]
        pass: PassphraseArgs,
    },
}

/// `hrvault users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Break-glass: re-enable (or re-create) an admin with a new password, server stopped.
    ///
    /// The password comes from HRVAULT_ADMIN_PASSWORD, or is generated and printed once. The
    /// user's old tokens are revoked and it is unlinked from any employee record; a
    /// `user.recover` audit entry records it. Needs the passphrase.
    Recover {
        #[command(flatten)]
        at: VaultArgs,
        /// The admin to recover.
        #[arg(long, default_value = "admin", value_name = "NAME")]
        username: String,
        #[command(flatten)]
        pass: PassphraseArgs,
    },
}

/// `hrvault store ...` (`Debug` by hand: never the URL).
#[derive(Subcommand)]
pub enum StoreCommand {
    /// Copy a vault from a data dir into an empty PostgreSQL store, bytes unchanged (no
    /// passphrase needed); the data dir must not be in use.
    ///
    /// Records, key slots, users, flags, alerts, id lists and the whole audit chain are copied;
    /// `audit verify` shows the same head on both. The key file is written last, so a copy cut
    /// short is not an openable vault; re-running needs an empty target (drop and re-create the
    /// database).
    Copy {
        /// The vault's data directory (server stopped).
        #[arg(long, value_name = "DIR")]
        from_data_dir: PathBuf,
        /// The target store URL (also HRVAULT_STORE_URL); must be empty.
        #[arg(
            long,
            value_name = "URL",
            env = "HRVAULT_STORE_URL",
            hide_env_values = true
        )]
        to: String,
    },
}

impl std::fmt::Debug for StoreCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreCommand::Copy { from_data_dir, to } => f
                .debug_struct("Copy")
                .field("from_data_dir", from_data_dir)
                .field("to", &describe_store_url(to))
                .finish(),
        }
    }
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// One entry per line, exactly as the API shows it.
    Jsonl,
    /// OCSF 1.x API Activity events.
    Ocsf,
}

/// Reads the passphrase: `--passphrase-file` first, else `HRVAULT_PASSPHRASE`.
pub fn passphrase(args: &PassphraseArgs) -> Result<SecretString, CliError> {
    let raw = match &args.passphrase_file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!(
                "error: cannot read the passphrase file {}: {e}",
                path.display()
            ))
        })?,
        None => std::env::var("HRVAULT_PASSPHRASE").map_err(|_| {
            CliError::usage(
                "error: no passphrase: set HRVAULT_PASSPHRASE or pass --passphrase-file FILE",
            )
        })?,
    };
    let trimmed = raw
        .strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(&raw);
    if trimmed.is_empty() {
        return Err(CliError::usage("error: the passphrase is empty"));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Init { at, pass } => serve::init(&at.location()?, &pass).await,
        Command::Serve {
            at,
            listen,
            config,
            tls_cert,
            tls_key,
            allow_plain_http,
            danger_free_disk_cap_file,
            danger_accept_damaged_audit_log,
            pass,
        } => {
            let opts = serve::ServeArgs {
                listen,
                config,
                tls: tls_cert.zip(tls_key),
                allow_plain_http,
                danger_free_disk_cap_file,
                danger_accept_damaged_audit_log,
            };
            serve::serve(&at.location()?, opts, &pass).await
        }
        Command::Demo { listen } => demo::demo(listen).await,
        Command::Audit {
            command: AuditCommand::Verify { at, file },
        } => audit_cmd::verify(audit_cmd::verify_source(&at, file)?).await,
        Command::Audit {
            command: AuditCommand::Export { at, format, out },
        } => audit_cmd::export(&at.location()?, format, out.as_deref()).await,
        Command::Keys {
            command: KeysCommand::Rotate { at, pass },
        } => keys::rotate(&at.location()?, &pass).await,
        Command::Import { at, csv, pass } => import::import(&at.location()?, &csv, &pass).await,
        Command::Users {
            command: UsersCommand::Recover { at, username, pass },
        } => keys::recover(&at.location()?, &username, &pass).await,
        Command::Store {
            command: StoreCommand::Copy { from_data_dir, to },
        } => store_cmd::copy(&from_data_dir, &to).await,
    }
}

/// A data dir must hold a vault (a store's `open_store` answers `NotAVault` itself).
fn must_be_vault_at(location: &Location) -> Result<(), CliError> {
    match location {
        Location::DataDir(dir) => must_be_vault(dir),
        Location::Store(_) => Ok(()),
    }
}

fn must_be_vault(dir: &Path) -> Result<(), CliError> {
    if crate::service::data_dir_layout(dir).keys.exists() {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "error: {} does not hold a vault (no vault.keys)",
            dir.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "postgresql://hrvault:s3cret-pw@db.example:6432/hr";

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("hrvault").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn at(cli: &Cli) -> &VaultArgs {
        match &cli.command {
            Command::Init { at, .. }
            | Command::Serve { at, .. }
            | Command::Import { at, .. }
            | Command::Keys {
                command: KeysCommand::Rotate { at, .. },
            }
            | Command::Users {
                command: UsersCommand::Recover { at, .. },
            }
            | Command::Audit {
                command: AuditCommand::Export { at, .. } | AuditCommand::Verify { at, .. },
            } => at,
            other => panic!("no vault args in {other:?}"),
        }
    }

    /// Every command that takes a vault, with its other required arguments.
    const COMMANDS: &[&[&str]] = &[
        &["init"],
        &["serve"],
        &["audit", "export"],
        &["keys", "rotate"],
        &["import", "--csv", "x.csv"],
        &["users", "recover"],
    ];

    #[test]
    fn exactly_one_of_data_dir_and_store() {
        // The environment could name a store for the whole test run; these rules are about flags.
        if std::env::var_os("HRVAULT_STORE_URL").is_some() {
            eprintln!("SKIPPED exactly_one_of_data_dir_and_store: HRVAULT_STORE_URL is set");
            return;
        }
        for cmd in COMMANDS {
            let with = |extra: &[&str]| {
                let mut v = cmd.to_vec();
                v.extend_from_slice(extra);
                parse(&v)
            };
            let dir = with(&["--data-dir", "/tmp/v"]);
            assert!(
                matches!(at(&dir).location(), Ok(Location::DataDir(d)) if d == Path::new("/tmp/v")),
                "{cmd:?}"
            );
            let store = with(&["--store", URL]);
            assert!(
                matches!(at(&store).location(), Ok(Location::Store(u)) if u == URL),
                "{cmd:?}"
            );
            for bad in [with(&[]), with(&["--data-dir", "/tmp/v", "--store", URL])] {
                let err = at(&bad).location().unwrap_err();
                assert_eq!(err.code, EXIT_USAGE, "{cmd:?}");
                assert!(err.message.contains("--data-dir"), "{}", err.message);
                assert!(!err.message.contains("s3cret"), "{}", err.message);
            }
        }
    }

    #[test]
    fn audit_verify_takes_exactly_one_source() {
        if std::env::var_os("HRVAULT_STORE_URL").is_some() {
            eprintln!("SKIPPED audit_verify_takes_exactly_one_source: HRVAULT_STORE_URL is set");
            return;
        }
        let source = |args: &[&str]| {
            let mut v = vec!["audit", "verify"];
            v.extend_from_slice(args);
            match parse(&v).command {
                Command::Audit {
                    command: AuditCommand::Verify { at, file },
                } => audit_cmd::verify_source(&at, file),
                _ => unreachable!(),
            }
        };
        assert!(matches!(
            source(&["--file", "x.jsonl"]),
            Ok(audit_cmd::VerifySource::File(_))
        ));
        assert!(matches!(
            source(&["--data-dir", "d"]),
            Ok(audit_cmd::VerifySource::DataDir(_))
        ));
        assert!(matches!(
            source(&["--store", URL]),
            Ok(audit_cmd::VerifySource::Store(_))
        ));
        for bad in [
            &[][..],
            &["--file", "x.jsonl", "--store", URL][..],
            &["--file", "x.jsonl", "--data-dir", "d"][..],
            &["--data-dir", "d", "--store", URL][..],
        ] {
            match source(bad) {
                Err(e) => {
                    assert_eq!(e.code, EXIT_USAGE, "{bad:?}");
                    assert!(!e.message.contains("s3cret"), "{}", e.message);
                }
                Ok(_) => panic!("{bad:?} accepted"),
            }
        }
    }

    #[test]
    fn debug_never_shows_the_url() {
        for args in [
            &["serve", "--store", URL][..],
            &["store", "copy", "--from-data-dir", "d", "--to", URL][..],
        ] {
            let cli = parse(args);
            let shown = format!("{cli:?}");
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(!shown.contains(URL), "{shown}");
            assert!(shown.contains("database hr on db.example:6432"), "{shown}");
        }
    }

    #[test]
    fn store_copy_arguments() {
        match parse(&["store", "copy", "--from-data-dir", "d", "--to", URL]).command {
            Command::Store {
                command: StoreCommand::Copy { from_data_dir, to },
            } => {
                assert_eq!(from_data_dir, Path::new("d"));
                assert_eq!(to, URL);
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["hrvault", "store", "copy", "--to", URL]).is_err());
    }
}
