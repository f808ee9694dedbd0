//! Command line: `init`, `serve`, `demo`, `audit verify|export`, `keys rotate`, `import`.
//!
//! Exit codes (CONTRACT §1): 0 ok, 1 a check failed, 2 usage / unseal / config error. Secrets
//! never come from the command line: the passphrase from `HRVAULT_PASSPHRASE` or
//! `--passphrase-file`, the first admin password from `HRVAULT_ADMIN_PASSWORD`.

mod audit_cmd;
mod demo;
mod import;
mod keys;
mod serve;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

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

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new vault: master key material, signing keys, first admin user `admin`.
    Init {
        /// Directory for the new vault (must not exist, or be empty).
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        #[command(flatten)]
        pass: PassphraseArgs,
    },
    /// Unseal the vault and serve the HTTP API.
    Serve {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
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
    /// Bulk onboarding from an HRIS CSV export.
    Import {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
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
        /// A vault's data directory.
        #[arg(
            long,
            value_name = "DIR",
            conflicts_with = "file",
            required_unless_present = "file"
        )]
        data_dir: Option<PathBuf>,
        /// A JSONL export.
        #[arg(long, value_name = "EXPORT.jsonl")]
        file: Option<PathBuf>,
    },
    /// Write the log for auditors (jsonl) or a SIEM (ocsf).
    Export {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
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
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
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
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// The admin to recover.
        #[arg(long, default_value = "admin", value_name = "NAME")]
        username: String,
        #[command(flatten)]
        pass: PassphraseArgs,
    },
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
        Command::Init { data_dir, pass } => serve::init(&data_dir, &pass).await,
        Command::Serve {
            data_dir,
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
            serve::serve(&data_dir, opts, &pass).await
        }
        Command::Demo { listen } => demo::demo(listen).await,
        Command::Audit {
            command: AuditCommand::Verify { data_dir, file },
        } => audit_cmd::verify(data_dir.as_deref(), file.as_deref()),
        Command::Audit {
            command:
                AuditCommand::Export {
                    data_dir,
                    format,
                    out,
                },
        } => audit_cmd::export(&data_dir, format, out.as_deref()),
        Command::Keys {
            command: KeysCommand::Rotate { data_dir, pass },
        } => keys::rotate(&data_dir, &pass).await,
        Command::Import {
            data_dir,
            csv,
            pass,
        } => import::import(&data_dir, &csv, &pass).await,
        Command::Users {
            command:
                UsersCommand::Recover {
                    data_dir,
                    username,
                    pass,
                },
        } => keys::recover(&data_dir, &username, &pass).await,
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
