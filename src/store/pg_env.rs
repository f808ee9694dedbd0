//! libpq's conventions for what a store URL leaves out (CONTRACT §6: "with libpq conventions
//! such as PGPASSWORD or a password file, so no password needs to be on a command line").
//!
//! Only what the parsed URL lacks is filled in: host from `PGHOST` (else `localhost`), port from
//! `PGPORT`, user from `PGUSER` (else the OS user `USER`), database from `PGDATABASE`, and the
//! password from `PGPASSWORD`, else from the first matching line of `PGPASSFILE` or
//! `~/.pgpass` (`hostname:port:database:username:password`, `*` matches anything, `\:` and
//! `\\` escape, `#` starts a comment line). Like libpq, a password file readable by group or
//! others is ignored, with a warning. The password is only ever handed to the `Config`; it is
//! never logged.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio_postgres::Config;
use tokio_postgres::config::Host;

/// Where the fill reads its environment (a seam for tests).
pub(super) trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub(super) struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

/// Fills what `config` lacks from the environment and the password file.
pub(super) fn fill(config: &mut Config, env: &dyn Env) {
    if config.get_hosts().is_empty() {
        config.host(env.var("PGHOST").as_deref().unwrap_or("localhost"));
    }
    if config.get_ports().is_empty()
        && let Some(port) = env.var("PGPORT").and_then(|p| p.parse::<u16>().ok())
    {
        config.port(port);
    }
    if config.get_user().is_none()
        && let Some(user) = env.var("PGUSER").or_else(|| env.var("USER"))
    {
        config.user(user);
    }
    if config.get_dbname().is_none()
        && let Some(db) = env.var("PGDATABASE")
    {
        config.dbname(db);
    }
    if config.get_password().is_some() {
        return;
    }
    if let Some(pw) = env.var("PGPASSWORD") {
        config.password(pw);
        return;
    }
    let Some(file) = passfile(env) else {
        return;
    };
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches a socket connection as `localhost`.
        _ => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_owned();
    let db = config.get_dbname().unwrap_or(&user).to_owned();
    if let Some(pw) = read_passfile(&file, &host, &port, &db, &user) {
        config.password(pw);
    }
}

fn passfile(env: &dyn Env) -> Option<PathBuf> {
    if let Some(p) = env.var("PGPASSFILE") {
        return Some(PathBuf::from(p));
    }
    env.var("HOME").map(|h| Path::new(&h).join(".pgpass"))
}

/// The password of the first line of `file` matching, or `None` (missing, unreadable, too open,
/// or no line matches).
fn read_passfile(file: &Path, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() {
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            file = %file.display(),
            "password file has group or world access; ignoring it (chmod 0600 it, as libpq requires)"
        );
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    match_passfile(&text, host, port, db, user)
}

/// The password of the first line of a password file's `text` that matches.
pub(super) fn match_passfile(
    text: &str,
    host: &str,
    port: &str,
    db: &str,
    user: &str,
) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') || line.trim().is_empty() {
            return None;
        }
        let fields = split_fields(line)?;
        let [h, p, d, u, pw] = <[PassField; 5]>::try_from(fields).ok()?;
        (h.matches(host) && p.matches(port) && d.matches(db) && u.matches(user)).then_some(pw.text)
    })
}

/// One field of a password-file line: its unescaped text, and whether it was a bare `*`.
struct PassField {
    text: String,
    wildcard: bool,
}

impl PassField {
    fn matches(&self, value: &str) -> bool {
        self.wildcard || self.text == value
    }
}

/// Splits on unescaped `:`; `\x` stands for `x`. `None` if there are fewer than five fields.
fn split_fields(line: &str) -> Option<Vec<PassField>> {
    let mut fields = Vec::with_capacity(5);
    let mut cur = String::new();
    let mut escaped_any = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    escaped_any = true;
                }
            }
            ':' => {
                fields.push(field(std::mem::take(&mut cur), escaped_any));
                escaped_any = false;
            }
            c => cur.push(c),
        }
    }
    fields.push(field(cur, escaped_any));
    // Like libpq, the password ends at the next unescaped `:` (anything after it is ignored).
    fields.truncate(5);
    (fields.len() == 5).then_some(fields)
}

fn field(text: String, escaped: bool) -> PassField {
    PassField {
        wildcard: !escaped && text == "*",
        text,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Vars(HashMap<&'static str, String>);

    impl Env for Vars {
        fn var(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
    }

    fn vars(pairs: &[(&'static str, &str)]) -> Vars {
        Vars(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
    }

    #[test]
    fn pgpass_first_matching_line_wins() {
        let text = "# a comment\n\
                    db.example:5432:hr:alice:first\n\
                    *:*:hr:alice:second\n\
                    *:*:*:*:third\n";
        assert_eq!(
            match_passfile(text, "db.example", "5432", "hr", "alice").as_deref(),
            Some("first")
        );
        assert_eq!(
            match_passfile(text, "other", "6000", "hr", "alice").as_deref(),
            Some("second")
        );
        assert_eq!(
            match_passfile(text, "other", "6000", "x", "bob").as_deref(),
            Some("third")
        );
    }

    #[test]
    fn pgpass_no_match_and_malformed_lines() {
        let text = "h:5432:db:u\n#h:5432:db:u:commented\n";
        assert_eq!(match_passfile(text, "h", "5432", "db", "u"), None);
        // As in libpq, the password stops at an unescaped colon.
        assert_eq!(
            match_passfile("h:5432:db:u:pw:extra\n", "h", "5432", "db", "u").as_deref(),
            Some("pw")
        );
        assert_eq!(match_passfile("", "h", "5432", "db", "u"), None);
        assert_eq!(
            match_passfile("h:5432:db:u:pw\n", "h", "5433", "db", "u"),
            None
        );
    }

    #[test]
    fn pgpass_escapes() {
        // `\:` is a colon inside a field, `\\` a backslash; an escaped `\*` is a literal star.
        let text = "h:5432:db:we\\:ird:p\\:a\\\\ss\n\\*:5432:db:u:star\n";
        assert_eq!(
            match_passfile(text, "h", "5432", "db", "we:ird").as_deref(),
            Some("p:a\\ss")
        );
        assert_eq!(match_passfile(text, "other", "5432", "db", "u"), None);
        assert_eq!(
            match_passfile(text, "*", "5432", "db", "u").as_deref(),
            Some("star")
        );
    }

    #[test]
    fn fill_takes_only_what_the_url_lacks() {
        let mut c: Config = "postgresql://bob:urlpw@h1:6000/hr".parse().unwrap();
        fill(
            &mut c,
            &vars(&[
                ("PGHOST", "h2"),
                ("PGPORT", "7000"),
                ("PGUSER", "carol"),
                ("PGDATABASE", "x"),
                ("PGPASSWORD", "envpw"),
            ]),
        );
        assert!(matches!(c.get_hosts(), [Host::Tcp(h)] if h == "h1"));
        assert_eq!(c.get_ports(), &[6000]);
        assert_eq!(c.get_user(), Some("bob"));
        assert_eq!(c.get_dbname(), Some("hr"));
        assert_eq!(c.get_password(), Some(&b"urlpw"[..]));

        let mut c: Config = "postgresql:///hr".parse().unwrap();
        fill(
            &mut c,
            &vars(&[
                ("PGHOST", "h2"),
                ("PGPORT", "7000"),
                ("USER", "dave"),
                ("PGPASSWORD", "envpw"),
            ]),
        );
        assert!(matches!(c.get_hosts(), [Host::Tcp(h)] if h == "h2"));
        assert_eq!(c.get_ports(), &[7000]);
        assert_eq!(c.get_user(), Some("dave"));
        assert_eq!(c.get_password(), Some(&b"envpw"[..]));
    }

    #[test]
    fn fill_reads_a_private_password_file_and_ignores_an_open_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "127.0.0.1:5555:hr:hrvault:filepw\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let env = vars(&[("PGPASSFILE", file.to_str().unwrap())]);
        let mut c: Config = "postgresql://hrvault@127.0.0.1:5555/hr".parse().unwrap();
        fill(&mut c, &env);
        assert_eq!(c.get_password(), Some(&b"filepw"[..]));

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut c: Config = "postgresql://hrvault@127.0.0.1:5555/hr".parse().unwrap();
        fill(&mut c, &env);
        assert_eq!(
            c.get_password(),
            None,
            "a group/world-readable file is ignored"
        );
    }
}
