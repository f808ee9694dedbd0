//! A throw-away PostgreSQL server for tests and benchmarks: Debian's `postgresql-15` binaries
//! (`/usr/lib/postgresql/15/bin`, or `HRVAULT_PG_BIN`), a fresh cluster in a temp dir, trust
//! authentication on 127.0.0.1 and a unix socket in the same dir, stopped on drop.
//!
//! [`require`] is what a test calls: under `CI=true` a missing or broken PostgreSQL fails the
//! test (CI installs it); elsewhere the test says loudly that it was skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    /// The write end of the watcher's pipe (`stop_when_process_exits`).
    watcher: Option<std::process::ChildStdin>,
    /// Server options beyond the defaults (TLS), kept for every (re)start.
    extra_opts: String,
}

fn bin_dir() -> PathBuf {
    std::env::var_os("HRVAULT_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl PgCluster {
    /// Initialises and starts a new cluster.
    pub fn start() -> Result<Self, String> {
        Self::start_with_tls(None)
    }

    /// Like `start`, and with `Some((certificate PEM, key PEM))` the server also offers TLS
    /// (`ssl = on`) with that certificate.
    pub fn start_with_tls(tls: Option<(&str, &str)>) -> Result<Self, String> {
        let bin = bin_dir();
        if !bin.join("initdb").exists() {
            return Err(format!("no initdb in {}", bin.display()));
        }
        let dir = tempfile::Builder::new()
            .prefix("hrvault-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        // initdb refuses to run as root: run the server as Debian's `postgres` user.
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err("chown of the cluster dir to postgres failed".into());
            }
        }
        let port = free_port()?;
        let mut c = Self {
            dir,
            bin,
            port,
            as_postgres,
            watcher: None,
            extra_opts: String::new(),
        };
        c.run(
            "initdb",
            &[
                "-D",
                &c.data().to_string_lossy(),
                "-A",
                "trust",
                "-U",
                "hrvault",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        if let Some((cert, key)) = tls {
            let (cert_file, key_file) = (
                c.dir.path().join("server.crt"),
                c.dir.path().join("server.key"),
            );
            std::fs::write(&cert_file, cert).map_err(|e| e.to_string())?;
            std::fs::write(&key_file, key).map_err(|e| e.to_string())?;
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| e.to_string())?;
            if c.as_postgres {
                // The server reads its key as `postgres`, and refuses one others may read.
                let status = Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&cert_file)
                    .arg(&key_file)
                    .status()
                    .map_err(|e| e.to_string())?;
                if !status.success() {
                    return Err("chown of the TLS files to postgres failed".into());
                }
            }
            c.extra_opts = format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert_file.display(),
                key_file.display()
            );
        }
        c.start_server()?;
        Ok(c)
    }

    /// Starts the server of this cluster (again) on the same port and socket dir: `pg_ctl start`,
    /// waiting until it accepts connections. [`start`](Self::start) calls it; a test that
    /// stopped the server with [`stop_server`](Self::stop_server) brings it back with it.
    pub fn start_server(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on{}",
            self.port,
            self.dir.path().display(),
            self.extra_opts
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-o",
                &opts,
                "-l",
                &self.dir.path().join("server.log").to_string_lossy(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    /// Stops the server (`pg_ctl stop -m fast`: open connections are closed, nothing is lost),
    /// keeping the cluster's files, so a test can see its clients lose the database and then
    /// [`start_server`](Self::start_server) it again.
    pub fn stop_server(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The TCP port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "hrvault",
                name,
            ],
        )?;
        Ok(self.url(name))
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgresql://hrvault@127.0.0.1:{}/{name}", self.port)
    }

    /// The cluster's directory (its `server.log` is there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Makes sure the cluster stops (and its directory goes) when this process ends, however
    /// it ends — for a cluster kept in a `static`, whose destructor never runs. A watcher
    /// process holds the read end of a pipe whose write end only this process has
    /// (close-on-exec, so servers the tests start do not inherit it); at end of file it stops
    /// the server and removes the directory.
    pub fn stop_when_process_exits(&mut self) -> Result<(), String> {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = if self.as_postgres {
            "runuser -u postgres -- \"$0\" -D \"$1\" -m immediate stop"
        } else {
            "\"$0\" -D \"$1\" -m immediate stop"
        };
        let script = format!("read -r _; {stop} >/dev/null 2>&1; rm -rf \"$2\"");
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(pg_ctl)
            .arg(self.data())
            .arg(self.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cluster watcher: {e}"))?;
        self.watcher = child.stdin;
        Ok(())
    }

    /// The postmaster's pid (first line of `postmaster.pid`): benchmarks add up the CPU of it
    /// and its children.
    pub fn postmaster_pid(&self) -> Result<u32, String> {
        let s = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .map_err(|e| format!("postmaster.pid: {e}"))?;
        s.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| "postmaster.pid: no pid on its first line".to_owned())
    }

    /// Runs a client tool of the cluster's binaries (`pg_dump`, `psql`) with `args`; its stdout.
    pub fn tool_output(&self, tool: &str, args: &[&str]) -> Result<Vec<u8>, String> {
        let out = Command::new(self.bin.join(tool))
            .args(args)
            .output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!("{tool}: {}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// A cluster for a test: `None` (after saying so on stderr) when PostgreSQL is not installed
/// and the run is not CI; under `CI=true` a missing or broken PostgreSQL panics the test.
pub fn require(test: &str) -> Option<PgCluster> {
    match PgCluster::start() {
        Ok(c) => Some(c),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: PostgreSQL is required under CI=true and could not start: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED {test} (no PostgreSQL: {e}); .ci/run installs postgresql-15");
            None
        }
    }
}
