//! The binary: one-shot commands, vaults made by `init`, and servers under a watchdog.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{ADMIN_PASSWORD, BIN, Client, PASSPHRASE, Req, WAIT, poll};

/// A `Command` for the binary with no `HRVAULT_*` variables inherited from the environment.
pub fn hrvault() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HRVAULT_") {
            c.env_remove(&k);
        }
    }
    c.env("NO_COLOR", "1");
    c
}

/// Runs a command to completion (stdin closed), failing the test after `WAIT`.
pub fn run(cmd: Command) -> Output {
    run_within(cmd, WAIT)
}

/// Runs a command to completion (stdin closed), failing the test after `within`.
pub fn run_within(mut cmd: Command, within: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hrvault");
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let status = wait_for_exit(&mut child, within).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("{cmd:?} did not finish within {within:?}");
    });
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn wait_for_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Output as text, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A vault created by `hrvault init` in a fresh temporary directory.
pub struct VaultDir {
    /// Holds the temporary directory (logs and config files go here too).
    pub root: tempfile::TempDir,
    /// The data dir (`root/data`).
    pub data: PathBuf,
}

impl VaultDir {
    /// `hrvault init` with the test passphrase and admin password; panics if it fails.
    pub fn init() -> Self {
        let root = tempfile::Builder::new()
            .prefix("hrvault-test-")
            .tempdir()
            .unwrap();
        let data = root.path().join("data");
        let mut c = hrvault();
        c.arg("init");
        if super::on_postgres() {
            c.args(["--store", &super::new_store(&data)]);
        } else {
            c.arg("--data-dir").arg(&data);
        }
        c.env("HRVAULT_PASSPHRASE", PASSPHRASE)
            .env("HRVAULT_ADMIN_PASSWORD", ADMIN_PASSWORD);
        let out = run(c);
        assert!(out.status.success(), "init failed: {}", text(&out.stderr));
        Self { root, data }
    }

    /// `hrvault ARGS… --data-dir DATA` (or `--store URL` for a vault this run made on
    /// PostgreSQL), with no passphrase set: the offline commands on this vault.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = hrvault();
        c.args(args);
        match super::store_of(&self.data) {
            Some(url) => c.args(["--store", &url]),
            None => c.arg("--data-dir").arg(&self.data),
        };
        c
    }

    /// A digest of everything the vault holds at rest: every file of the data dir, or a plain
    /// dump of its PostgreSQL database. Equal digests: nothing was written.
    pub fn at_rest_digest(&self) -> String {
        match super::store_of(&self.data) {
            Some(_) => super::store_dump_digest(&self.data),
            None => format!("{:?}", super::tree_digest(&self.data)),
        }
    }

    /// Writes a file next to the data dir and returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.root.path().join(name);
        fs::write(&p, contents).unwrap();
        p
    }
}

/// How to stop a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: graceful shutdown.
    Graceful,
    /// SIGKILL: a crash.
    Crash,
}

/// The watchdog: runs the server in the background; a watcher stops it (SIGTERM, or SIGKILL
/// when told `kill`) on the first line or at EOF of stdin, i.e. when the test says so or the test
/// process is gone. If the server exits for any reason, the watchdog says so on stderr (so a
/// server that died under a test is visible), optionally deletes a directory, and exits with the
/// server's status.
const WATCHDOG: &str = r#"
exec 3<&0 0</dev/null
"$0" "$@" 3<&- &
pid=$!
( read -r cmd || cmd=eof
  if [ "$cmd" = kill ]; then kill -KILL "$pid"; else kill -TERM "$pid"; fi ) <&3 2>/dev/null &
watcher=$!
exec 3<&-
wait "$pid"
rc=$?
kill "$watcher" 2>/dev/null
echo "hrvault-test watchdog: the server exited with status $rc" >&2
if [ -n "$HRVAULT_TEST_CLEANUP" ]; then rm -rf "$HRVAULT_TEST_CLEANUP"; fi
exit $rc
"#;

/// Options of `Server::start_with`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServeOpts<'a> {
    /// `--config FILE`.
    pub config: Option<&'a Path>,
    /// `--passphrase-file FILE` instead of `HRVAULT_PASSPHRASE`.
    pub passphrase_file: Option<&'a Path>,
    /// Deleted by the watchdog once the server has stopped (for servers kept in a `static`,
    /// which are never dropped).
    pub cleanup: Option<&'a Path>,
    /// `--listen ADDR` instead of `127.0.0.1:0`.
    pub listen: Option<&'a str>,
    /// More arguments for `serve` (e.g. `--tls-cert`, `--allow-plain-http`).
    pub args: &'a [&'a str],
    /// Runs the server under `prlimit --nofile=N:N` (at most N open file descriptors).
    pub nofile: Option<u32>,
    /// `--store URL` (a PostgreSQL store) instead of `--data-dir DATA`: the `data` argument of
    /// `start_with` is then not passed (logs still go to `logs`).
    pub store: Option<&'a str>,
}

/// A running `hrvault serve`, stopped when dropped.
pub struct Server {
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    /// `http://127.0.0.1:PORT` (or `https://...` for a TLS server).
    pub base: String,
    /// `127.0.0.1:PORT`, as announced.
    pub addr: String,
    /// Where the server's stdout goes.
    pub stdout_path: PathBuf,
    /// Where the server's stderr goes.
    pub stderr_path: PathBuf,
    client: Client,
}

static LOG_SEQ: AtomicU64 = AtomicU64::new(0);

impl Server {
    /// `hrvault serve --data-dir DATA --listen 127.0.0.1:0 [--config FILE]` with the passphrase in
    /// `HRVAULT_PASSPHRASE`; waits until the announced address answers `/healthz` with 200.
    pub fn start(vault: &VaultDir, config: Option<&Path>) -> Self {
        Self::start_with(
            &vault.data,
            vault.root.path(),
            ServeOpts {
                config,
                ..ServeOpts::default()
            },
        )
    }

    /// `serve` on `data` (or on `opts.store`) with `opts`; the server's output goes to files in `logs`. A plain-HTTP
    /// server is ready when `/healthz` answers 200; a TLS one (announced `https://`) when its
    /// port accepts connections (the test brings its own TLS client).
    pub fn start_with(data: &Path, logs: &Path, opts: ServeOpts<'_>) -> Self {
        let n = LOG_SEQ.fetch_add(1, Ordering::SeqCst);
        let stdout_path = logs.join(format!("server-{n}.stdout"));
        let stderr_path = logs.join(format!("server-{n}.stderr"));
        let mut cmd = match opts.nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg("sh");
                c
            }
            None => Command::new("sh"),
        };
        cmd.arg("-c").arg(WATCHDOG).arg(BIN);
        cmd.arg("serve");
        // A vault made on PostgreSQL by this run (`HRVAULT_TEST_STORE=postgres`) is served from
        // its database whichever way the test names it.
        let made = super::store_of(data);
        match opts.store.or(made.as_deref()) {
            Some(url) => cmd.args(["--store", url]),
            None => cmd.arg("--data-dir").arg(data),
        };
        cmd.args(["--listen", opts.listen.unwrap_or("127.0.0.1:0")])
            .args(opts.args);
        if let Some(c) = opts.config {
            cmd.arg("--config").arg(c);
        }
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HRVAULT_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("NO_COLOR", "1");
        match opts.passphrase_file {
            Some(f) => {
                cmd.arg("--passphrase-file").arg(f);
            }
            None => {
                cmd.env("HRVAULT_PASSPHRASE", PASSPHRASE);
            }
        }
        if let Some(dir) = opts.cleanup {
            cmd.env("HRVAULT_TEST_CLEANUP", dir);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(File::create(&stdout_path).unwrap())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .expect("spawn the server watchdog");
        let stdin = child.stdin.take();
        let mut server = Self {
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            base: String::new(),
            addr: String::new(),
            stdout_path,
            stderr_path,
            client: Client::new(""),
        };
        let deadline = Instant::now() + WAIT;
        let (scheme, addr) = loop {
            let err = fs::read_to_string(&server.stderr_path).unwrap_or_default();
            if let Some((scheme, rest)) = ["http", "https"].iter().find_map(|scheme| {
                let rest = err
                    .split(&format!("hrvault listening on {scheme}://"))
                    .nth(1)?;
                // Only a whole line: the file may be read while the server is writing it
                // (seen: `127.0.0.1` without its port).
                let (line, _) = rest.split_once('\n')?;
                Some((*scheme, line))
            }) {
                break (scheme, rest.trim().to_owned());
            }
            // The CLI reports a start-up failure as `error: ...` and exits; don't wait it out.
            let failed = err
                .lines()
                .any(|l| l.starts_with("error:") || l.starts_with("hrvault-test watchdog:"));
            if failed || Instant::now() >= deadline {
                server.stop(Stop::Graceful);
                panic!("server did not start (waited up to {WAIT:?}); stderr:\n{err}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        server.base = format!("{scheme}://{addr}");
        server.addr = addr;
        server.client = Client::new(&server.base);
        if scheme == "https" {
            let addr = server.addr.clone();
            poll(
                "the TLS port to accept connections",
                WAIT,
                Duration::from_millis(10),
                || std::net::TcpStream::connect(&addr).ok().map(drop),
            );
            return server;
        }
        let c = &server.client;
        poll(
            "/healthz to answer 200",
            WAIT,
            Duration::from_millis(10),
            || (c.get("/healthz").send().status == 200).then_some(()),
        );
        server
    }

    /// The HTTP client bound to this server.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A request to this server.
    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        self.client.req(method, path)
    }

    /// Stops the server and waits for it to exit; returns its exit status (None if it was
    /// already stopped).
    pub fn stop(&self, how: Stop) -> Option<ExitStatus> {
        let stdin = self.stdin.lock().unwrap().take()?;
        let mut stdin = stdin;
        let _ = stdin.write_all(if how == Stop::Crash {
            b"kill\n"
        } else {
            b"term\n"
        });
        drop(stdin);
        let mut child = self.child.lock().unwrap();
        match wait_for_exit(&mut child, WAIT) {
            Some(s) => Some(s),
            None => {
                let _ = child.kill();
                panic!("server did not stop within {WAIT:?}");
            }
        }
    }

    /// The pid of the `hrvault serve` process itself (the watchdog's child), from `/proc`.
    pub fn pid(&self) -> u32 {
        let sh = self.child.lock().unwrap().id();
        let children = fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
        children
            .split_whitespace()
            .map(|p| p.parse::<u32>().unwrap())
            .find(|p| {
                fs::read_link(format!("/proc/{p}/exe"))
                    .is_ok_and(|e| e.file_name().is_some_and(|n| n == "hrvault"))
            })
            .expect("the watchdog's hrvault child")
    }

    /// The server's resident set size in KiB (`VmRSS` of `/proc/PID/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Everything the server wrote to stdout and stderr so far.
    pub fn output(&self) -> Vec<u8> {
        let mut v = fs::read(&self.stdout_path).unwrap_or_default();
        v.extend(fs::read(&self.stderr_path).unwrap_or_default());
        v
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Best effort; never panic inside a panic.
            if let Ok(mut s) = self.stdin.lock()
                && let Some(mut s) = s.take()
            {
                let _ = s.write_all(b"term\n");
            }
            return;
        }
        self.stop(Stop::Graceful);
    }
}
