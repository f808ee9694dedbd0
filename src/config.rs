//! The TOML configuration (CONTRACT §3): every key optional, unknown keys and bad values are a
//! startup error naming the key (exit 2). Parsed and validated once into `Settings`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use serde::Deserialize;

/// A configuration problem; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    auth: RawAuth,
    #[serde(default)]
    monitor: RawMonitor,
    #[serde(default)]
    server: RawServer,
    tls: Option<RawTls>,
    #[serde(default)]
    console: RawConsole,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    idle_timeout_minutes: Option<i64>,
    absolute_timeout_hours: Option<i64>,
    reveal_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    max_connections: Option<i64>,
    header_timeout_secs: Option<i64>,
    idle_timeout_secs: Option<i64>,
    min_free_disk_mb: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    token_ttl_secs: Option<i64>,
    login_attempts_per_minute: Option<i64>,
    lookups_per_minute: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMonitor {
    window_secs: Option<i64>,
    excessive_access_threshold: Option<i64>,
    denied_probing_threshold: Option<i64>,
    bulk_reveal_threshold: Option<i64>,
    lookup_miss_threshold: Option<i64>,
    business_hours: Option<String>,
    business_days: Option<String>,
    timezone: Option<String>,
    restrict_flagged: Option<bool>,
    alert_webhook: Option<String>,
    alert_webhook_ca_file: Option<PathBuf>,
    alert_webhook_secret: Option<String>,
    groups: Option<BTreeMap<String, bool>>,
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Access token lifetime.
    pub token_ttl_secs: u64,
    /// Failed password/secret attempts per username per minute before 429.
    pub login_attempts_per_minute: u32,
    /// SSN lookups per user per minute before 429.
    pub lookups_per_minute: u32,
}

/// Business hours as minutes since midnight, `start..end` (end exclusive; may wrap midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessHours {
    /// Minute of day the window opens.
    pub start_min: u16,
    /// Minute of day it closes (exclusive).
    pub end_min: u16,
}

impl BusinessHours {
    /// Whether `minute` (0..1440) is inside the window.
    pub fn contains(&self, minute: u16) -> bool {
        if self.start_min <= self.end_min {
            (self.start_min..self.end_min).contains(&minute)
        } else {
            minute >= self.start_min || minute < self.end_min
        }
    }
}

/// `[monitor]`.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    pub window_secs: u64,
    pub excessive_access_threshold: u64,
    pub denied_probing_threshold: u64,
    pub bulk_reveal_threshold: u64,
    /// Lookups that find nothing, per user and window, before `lookup_probing` fires.
    pub lookup_miss_threshold: u64,
    pub business_hours: BusinessHours,
    /// Working days.
    pub business_days: Vec<Weekday>,
    pub timezone: TimeZone,
    pub restrict_flagged: bool,
    pub alert_webhook: Option<String>,
    /// A PEM file of extra CA certificates the webhook's TLS trusts besides the system roots.
    pub alert_webhook_ca_file: Option<PathBuf>,
    /// HMAC key of the webhook signature. Held only in memory, never logged.
    pub alert_webhook_secret: Option<secrecy::SecretString>,
    /// Department → monitored (a department not listed is monitored).
    pub groups: BTreeMap<String, bool>,
}

impl MonitorSettings {
    /// Whether actors of `department` are monitored (unlinked actors: `None`, always monitored).
    pub fn monitors(&self, department: Option<&str>) -> bool {
        department.is_none_or(|d| self.groups.get(d).copied().unwrap_or(true))
    }
}

/// `[server]`: the edges of the listener (CONTRACT §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Connections served at once; past it new ones wait in the kernel's backlog.
    pub max_connections: u32,
    /// A client that has not sent a request's headers by then is disconnected.
    pub header_timeout_secs: u64,
    /// An idle keep-alive connection is closed after this long.
    pub idle_timeout_secs: u64,
    /// Below this much free space on the data dir's file system, audited requests fail closed.
    pub min_free_disk_mb: u64,
}

/// `[console]`: the web console's sessions and reveal display (CONTRACT §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// A session unused for this long is over (default 15 minutes).
    pub idle_timeout_secs: u64,
    /// A session is over this long after sign-in, used or not (default 8 hours).
    pub absolute_timeout_secs: u64,
    /// How long revealed values stay on the page before they are masked again (default 60 s).
    pub reveal_seconds: u64,
}

/// `[tls]` (or `--tls-cert`/`--tls-key`): serve HTTPS only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// With it, every client must present a certificate issued by one of these CAs (mTLS).
    pub client_ca_file: Option<PathBuf>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub auth: AuthSettings,
    pub monitor: MonitorSettings,
    pub server: ServerSettings,
    pub console: ConsoleSettings,
    /// `None`: plain HTTP (refused on a non-loopback address unless `--allow-plain-http`).
    pub tls: Option<TlsSettings>,
    /// Test seam: a file holding a number of MiB; the free space seen on the data dir's file
    /// system is at most that (it can only make the vault refuse writes sooner, never later).
    /// Only from the command line (a hidden flag), never from a config file.
    pub danger_free_disk_cap_file: Option<PathBuf>,
    /// Start even if the audit log is damaged inside (not just a torn tail), leaving the damage
    /// in place for `audit verify`. Only from the command line, never from a config file.
    pub danger_accept_damaged_audit_log: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_raw(RawConfig::default()).expect("the defaults are valid")
    }
}

fn positive(key: &str, v: Option<i64>, default: u64, max: u64) -> Result<u64, ConfigError> {
    match v {
        None => Ok(default),
        Some(n) if n >= 1 && (n as u64) <= max => Ok(n as u64),
        Some(_) => Err(ConfigError(format!(
            "{key}: must be an integer between 1 and {max}"
        ))),
    }
}

fn threshold(key: &str, v: Option<i64>, default: u64) -> Result<u64, ConfigError> {
    match v {
        None => Ok(default),
        Some(n) if n >= 0 => Ok(n as u64),
        Some(_) => Err(ConfigError(format!(
            "{key}: must be a non-negative integer"
        ))),
    }
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn parse_hours(s: &str) -> Result<BusinessHours, ConfigError> {
    let err =
        || ConfigError("monitor.business_hours: must be HH:MM-HH:MM, e.g. \"08:00-18:00\"".into());
    let (a, b) = s.split_once('-').ok_or_else(err)?;
    let (start_min, end_min) = (
        parse_hhmm(a.trim()).ok_or_else(err)?,
        parse_hhmm(b.trim()).ok_or_else(err)?,
    );
    if start_min == end_min {
        return Err(ConfigError(
            "monitor.business_hours: start and end must differ".into(),
        ));
    }
    Ok(BusinessHours { start_min, end_min })
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

/// `Mon-Fri`, `Sun-Thu`, `Mon,Wed,Fri` or a mix (`Mon-Wed,Fri`).
fn parse_days(s: &str) -> Result<Vec<Weekday>, ConfigError> {
    let err = || {
        ConfigError("monitor.business_days: must be day ranges or lists like \"Mon-Fri\" or \"Mon,Wed,Fri\"".into())
    };
    let mut days = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (mut d, end) = (weekday(a).ok_or_else(err)?, weekday(b).ok_or_else(err)?);
                loop {
                    days.push(d);
                    if d == end {
                        break;
                    }
                    d = d.next();
                }
            }
            None => days.push(weekday(part).ok_or_else(err)?),
        }
    }
    days.sort_by_key(|d| d.to_monday_zero_offset());
    days.dedup();
    Ok(days)
}

/// Names the key an error points at (`[section]` + key from the error's span) and never echoes
/// the offending value, which could be the webhook secret.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim();
    let msg = match msg.split_once("invalid type:") {
        Some(_) => match msg.rsplit_once(", expected ") {
            Some((_, expected)) => format!("wrong type, expected {expected}"),
            None => "wrong type".to_owned(),
        },
        None => msg.split(['\n']).next().unwrap_or(msg).to_owned(),
    };
    let Some(span) = e.span() else {
        return format!("configuration: {msg}");
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].split('\n').next().unwrap_or("");
    let key = key_named_on(line, section.as_deref());
    let path = match (section, key) {
        (Some(s), Some(k)) => format!("{s}.{k}"),
        (None, Some(k)) => k.to_owned(),
        (Some(s), None) => s,
        (None, None) => "configuration".to_owned(),
    };
    format!("{path} (line {line_no}): {msg}")
}

/// The key a `key = value` line names, only if it is a key this file may hold (or a department
/// name under `[monitor.groups]`): a mistyped line could otherwise be the secret itself.
fn key_named_on<'a>(line: &'a str, section: Option<&str>) -> Option<&'a str> {
    const KEYS: [&str; 26] = [
        "idle_timeout_minutes",
        "absolute_timeout_hours",
        "reveal_seconds",
        "max_connections",
        "header_timeout_secs",
        "idle_timeout_secs",
        "min_free_disk_mb",
        "cert_file",
        "key_file",
        "client_ca_file",
        "alert_webhook_ca_file",
        "token_ttl_secs",
        "login_attempts_per_minute",
        "lookups_per_minute",
        "lookup_miss_threshold",
        "window_secs",
        "excessive_access_threshold",
        "denied_probing_threshold",
        "bulk_reveal_threshold",
        "business_hours",
        "business_days",
        "timezone",
        "restrict_flagged",
        "alert_webhook",
        "alert_webhook_secret",
        "groups",
    ];
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = key.trim_matches('"');
    let department = section == Some("monitor.groups")
        && ((key.starts_with('"') && key.ends_with('"'))
            || key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    if KEYS.contains(&bare) || department {
        Some(bare)
    } else {
        None
    }
}

fn parse_webhook(url: &str) -> Result<String, ConfigError> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.parse::<hyper::Uri>().is_ok_and(|u| u.host().is_some())
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(url.to_owned())
    } else {
        Err(ConfigError(
            "monitor.alert_webhook: must be an http:// or https:// URL".into(),
        ))
    }
}

fn parse_server(s: &RawServer) -> Result<ServerSettings, ConfigError> {
    Ok(ServerSettings {
        max_connections: positive("server.max_connections", s.max_connections, 1024, 1_000_000)?
            as u32,
        header_timeout_secs: positive(
            "server.header_timeout_secs",
            s.header_timeout_secs,
            10,
            3600,
        )?,
        idle_timeout_secs: positive("server.idle_timeout_secs", s.idle_timeout_secs, 60, 86_400)?,
        min_free_disk_mb: threshold("server.min_free_disk_mb", s.min_free_disk_mb, 512)?,
    })
}

fn parse_tls(t: RawTls) -> Result<TlsSettings, ConfigError> {
    let nonempty = |key: &str, p: Option<PathBuf>| match p {
        Some(p) if p.as_os_str().is_empty() => {
            Err(ConfigError(format!("tls.{key}: must not be empty")))
        }
        p => Ok(p),
    };
    let cert = nonempty("cert_file", t.cert_file)?;
    let key = nonempty("key_file", t.key_file)?;
    let client_ca_file = nonempty("client_ca_file", t.client_ca_file)?;
    match (cert, key) {
        (Some(cert_file), Some(key_file)) => Ok(TlsSettings {
            cert_file,
            key_file,
            client_ca_file,
        }),
        (Some(_), None) => Err(ConfigError(
            "tls.key_file: required with tls.cert_file (both or neither)".into(),
        )),
        (None, _) => Err(ConfigError(
            "tls.cert_file: required in [tls] (cert_file and key_file, both or neither)".into(),
        )),
    }
}

impl Settings {
    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError(describe_toml_error(text, &e)))?;
        Self::from_raw(raw)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let server = parse_server(&raw.server)?;
        let c = &raw.console;
        let console = ConsoleSettings {
            idle_timeout_secs: 60
                * positive(
                    "console.idle_timeout_minutes",
                    c.idle_timeout_minutes,
                    15,
                    1440,
                )?,
            absolute_timeout_secs: 3600
                * positive(
                    "console.absolute_timeout_hours",
                    c.absolute_timeout_hours,
                    8,
                    168,
                )?,
            reveal_seconds: positive("console.reveal_seconds", c.reveal_seconds, 60, 3600)?,
        };
        let tls = raw.tls.map(parse_tls).transpose()?;
        let a = raw.auth;
        let m = raw.monitor;
        let tz_name = m.timezone.as_deref().unwrap_or("UTC");
        let timezone = TimeZone::get(tz_name)
            .map_err(|_| ConfigError(format!("monitor.timezone: unknown time zone {tz_name:?}")))?;
        let alert_webhook = m.alert_webhook.as_deref().map(parse_webhook).transpose()?;
        if m.alert_webhook_ca_file.is_some() && alert_webhook.is_none() {
            return Err(ConfigError(
                "monitor.alert_webhook_ca_file: only meaningful with monitor.alert_webhook".into(),
            ));
        }
        if alert_webhook.is_some() && m.alert_webhook_secret.as_deref().is_none_or(str::is_empty) {
            return Err(ConfigError(
                "monitor.alert_webhook_secret: required when monitor.alert_webhook is set".into(),
            ));
        }
        Ok(Self {
            auth: AuthSettings {
                token_ttl_secs: positive("auth.token_ttl_secs", a.token_ttl_secs, 900, 86_400)?,
                login_attempts_per_minute: positive(
                    "auth.login_attempts_per_minute",
                    a.login_attempts_per_minute,
                    10,
                    100_000,
                )? as u32,
                lookups_per_minute: positive(
                    "auth.lookups_per_minute",
                    a.lookups_per_minute,
                    30,
                    100_000,
                )? as u32,
            },
            monitor: MonitorSettings {
                window_secs: positive("monitor.window_secs", m.window_secs, 3600, 30 * 86_400)?,
                excessive_access_threshold: threshold(
                    "monitor.excessive_access_threshold",
                    m.excessive_access_threshold,
                    50,
                )?,
                denied_probing_threshold: threshold(
                    "monitor.denied_probing_threshold",
                    m.denied_probing_threshold,
                    5,
                )?,
                bulk_reveal_threshold: threshold(
                    "monitor.bulk_reveal_threshold",
                    m.bulk_reveal_threshold,
                    10,
                )?,
                lookup_miss_threshold: threshold(
                    "monitor.lookup_miss_threshold",
                    m.lookup_miss_threshold,
                    5,
                )?,
                business_hours: parse_hours(m.business_hours.as_deref().unwrap_or("08:00-18:00"))?,
                business_days: parse_days(m.business_days.as_deref().unwrap_or("Mon-Fri"))?,
                timezone,
                restrict_flagged: m.restrict_flagged.unwrap_or(true),
                alert_webhook,
                alert_webhook_ca_file: m.alert_webhook_ca_file,
                alert_webhook_secret: m.alert_webhook_secret.map(secrecy::SecretString::from),
                groups: m.groups.unwrap_or_default(),
            },
            server,
            console,
            tls,
            danger_free_disk_cap_file: None,
            danger_accept_damaged_audit_log: false,
        })
    }
}

#[cfg(test)]
mod tests;
