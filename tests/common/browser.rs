//! A real browser for the console tests: headless Chromium driven over W3C WebDriver by
//! `/usr/bin/chromedriver`, and helpers that find things the way a person does (by a field's
//! label, a button's or a link's text, the text on the page).
//!
//! **Client choice.** A small hand-written W3C WebDriver client over the `ureq` dev-dependency
//! the harness already uses, not the `fantoccini` crate. fantoccini is async (every test would
//! need a tokio runtime around a browser that is driven one step at a time anyway) and brings
//! the `webdriver` crate with its own dependency tree (`time`, `cookie`, `url`, the ICU segmenter,
//! a second `base64` major) to speak a protocol that is a dozen JSON-over-HTTP routes to a driver
//! on loopback, where no TLS stack is wanted at all. The routes used are: new session, delete
//! session, timeouts, navigate, current URL, find element(s) by XPath, click, clear, send keys,
//! text, attribute, property, displayed, execute (sync and async) script, cookies, screenshot.
//!
//! **No orphans.** One chromedriver per test binary (kept in a `static`), started under a `sh`
//! watchdog like the servers of `process.rs`: the watchdog holds the test's end of a pipe and
//! runs chromedriver in a session of its own (`setsid`), so when the test process goes away the
//! whole process group — chromedriver and every Chromium process it launched — gets SIGTERM.
//! Each `Browser` (one WebDriver session, its own temporary `--user-data-dir`) deletes its
//! session when dropped, which closes its Chromium.
//!
//! **Missing browser.** `browser()` returns `None` after printing a loud `SKIPPED (no
//! chromium/chromedriver): ...` line when `/usr/bin/chromium` or `/usr/bin/chromedriver` is
//! missing or does not start; with `CI=true` it panics instead, so CI never passes a browser
//! test that did not run.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::{WAIT, poll};

/// The browser binary the tests drive.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server that drives it.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Chromium's command line (plus a fresh `--user-data-dir` per session).
const CHROMIUM_ARGS: [&str; 9] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// The W3C web element identifier key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How often waits look again.
const EVERY: Duration = Duration::from_millis(50);

/// Runs `$0 "$@"` (chromedriver) in its own session; on the first line or EOF of stdin (the test
/// said so, or the test process is gone) the whole process group gets SIGTERM, and so does
/// whatever is left of it once chromedriver has exited by itself; then its directory (logs) goes.
/// (`kill -TERM -PGID`, not `kill -- -PGID`: dash's `kill` takes no `--`.)
const DRIVER_WATCHDOG: &str = r#"
exec 3<&0 0</dev/null
setsid "$0" "$@" 3<&- &
pid=$!
( read -r cmd; kill -TERM "-$pid" ) <&3 2>/dev/null &
watcher=$!
exec 3<&-
wait "$pid"
rc=$?
kill -TERM "-$pid" 2>/dev/null
kill "$watcher" 2>/dev/null
rm -rf "$HRVAULT_TEST_DRIVER_DIR"
exit $rc
"#;

/// A running chromedriver, one per test binary.
pub struct Driver {
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    agent: ureq::Agent,
    /// chromedriver's log (`--log-path`), for failure messages.
    pub log: PathBuf,
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(90)))
        .build();
    ureq::Agent::new_with_config(config)
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

impl Driver {
    /// Starts chromedriver on a free port and waits until `/status` says it is ready.
    pub fn start() -> Result<Self, String> {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(bin).exists() {
                return Err(format!("{bin} does not exist"));
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("hrvault-chromedriver-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        let log = dir.join("chromedriver.log");
        let port = free_port()?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(DRIVER_WATCHDOG)
            .arg(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .env("HRVAULT_TEST_DRIVER_DIR", &dir)
            .stdin(Stdio::piped())
            .stdout(File::create(dir.join("stdout")).map_err(|e| e.to_string())?)
            .stderr(File::create(dir.join("stderr")).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("spawning {CHROMEDRIVER}: {e}"))?;
        let mut child = child;
        let stdin = child.stdin.take();
        let driver = Self {
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            base: format!("http://127.0.0.1:{port}"),
            agent: agent(),
            log,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(mut r) = driver.agent.get(format!("{}/status", driver.base)).call()
                && let Ok(v) = r.body_mut().read_json::<Value>()
                && v["value"]["ready"] == true
            {
                return Ok(driver);
            }
            let exited = driver.child.lock().unwrap().try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                let err = fs::read_to_string(dir.join("stderr")).unwrap_or_default();
                driver.stop();
                return Err(format!(
                    "{CHROMEDRIVER} did not become ready within {WAIT:?} (exit: {exited:?}): {err}"
                ));
            }
            std::thread::sleep(EVERY);
        }
    }

    /// Stops chromedriver and everything it launched.
    pub fn stop(&self) {
        if let Some(mut s) = self.stdin.lock().unwrap().take() {
            let _ = s.write_all(b"term\n");
        }
        let mut child = self.child.lock().unwrap();
        let _ = poll("chromedriver to stop", WAIT, EVERY, || {
            child.try_wait().ok().flatten()
        });
    }
}

/// The chromedriver of this test binary, started on first use.
fn driver() -> Result<&'static Driver, String> {
    static DRIVER: OnceLock<Result<Driver, String>> = OnceLock::new();
    DRIVER
        .get_or_init(Driver::start)
        .as_ref()
        .map_err(Clone::clone)
}

/// A headless Chromium session, or `None` (after a loud `SKIPPED` line on stderr) when there is
/// no usable chromium/chromedriver on this machine. Panics instead when `CI` is `true`.
pub fn browser() -> Option<Browser> {
    match driver().and_then(Browser::start) {
        Ok(b) => Some(b),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the browser tests cannot run (need {CHROMIUM} and {CHROMEDRIVER}, \
                 see .ci/run): {why}"
            );
            // Straight to the process's stderr: the test harness captures `eprintln!` of a
            // passing test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (no chromium/chromedriver): {}: {why}",
                std::thread::current().name().unwrap_or("a browser test")
            );
            None
        }
    }
}

/// A WebDriver error response.
#[derive(Debug, Clone)]
pub struct WdError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.error, self.message)
    }
}

/// One WebDriver session: a Chromium with its own profile directory.
pub struct Browser {
    driver: &'static Driver,
    session: String,
    profile: Option<tempfile::TempDir>,
}

/// An XPath string literal for any text (XPath 1.0 has no escapes: quotes go through `concat`).
pub fn xpath_lit(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// Form controls.
const CONTROL: &str = "*[self::input or self::select or self::textarea]";

impl Browser {
    fn start(driver: &'static Driver) -> Result<Self, String> {
        let profile = tempfile::Builder::new()
            .prefix("hrvault-chromium-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let mut r = driver
            .agent
            .post(format!("{}/session", driver.base))
            .send_json(&caps)
            .map_err(|e| format!("new session: {e}"))?;
        let status = r.status().as_u16();
        let v: Value = r
            .body_mut()
            .read_json()
            .map_err(|e| format!("new session: {e}"))?;
        let Some(session) = v["value"]["sessionId"].as_str() else {
            return Err(format!(
                "{CHROMIUM} did not start (new session: {status} {}); chromedriver log: {}",
                v["value"]["message"],
                driver.log.display()
            ));
        };
        let b = Self {
            driver,
            session: session.to_owned(),
            profile: Some(profile),
        };
        b.cmd(
            "POST",
            "timeouts",
            Some(json!({"implicit": 0, "pageLoad": 60_000, "script": 60_000})),
        )
        .map_err(|e| e.to_string())?;
        Ok(b)
    }

    /// A raw WebDriver command on this session (`path` relative to `/session/{id}/`).
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        let url = if path.is_empty() {
            format!("{}/session/{}", self.driver.base, self.session)
        } else {
            format!("{}/session/{}/{path}", self.driver.base, self.session)
        };
        let a = &self.driver.agent;
        let result = match (method, body) {
            ("GET", _) => a.get(&url).call(),
            ("DELETE", _) => a.delete(&url).call(),
            (_, body) => a.post(&url).send_json(body.unwrap_or_else(|| json!({}))),
        };
        let mut r = result.map_err(|e| WdError {
            status: 0,
            error: "transport".into(),
            message: format!("{method} {url}: {e}"),
        })?;
        let status = r.status().as_u16();
        let v: Value = r
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_json()
            .map_err(|e| WdError {
                status,
                error: "bad response".into(),
                message: e.to_string(),
            })?;
        if status == 200 {
            Ok(v["value"].clone())
        } else {
            Err(WdError {
                status,
                error: v["value"]["error"].as_str().unwrap_or("").to_owned(),
                message: v["value"]["message"].as_str().unwrap_or("").to_owned(),
            })
        }
    }

    #[track_caller]
    fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.cmd(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Navigates to `url` and waits for the page to load.
    #[track_caller]
    pub fn goto(&self, url: &str) {
        self.must("POST", "url", Some(json!({"url": url})));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.must("GET", "url", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The current URL's path (and query), without scheme and host.
    pub fn path(&self) -> String {
        let u = self.url();
        match u.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/".into(), |i| rest[i..].to_owned()),
            None => u,
        }
    }

    /// The page's visible text (`document.body.innerText`).
    pub fn page_text(&self) -> String {
        self.execute("return document.body ? document.body.innerText : '';", &[])
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The page's HTML as the browser has it now.
    pub fn source(&self) -> String {
        self.must("GET", "source", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The document title.
    pub fn title(&self) -> String {
        self.must("GET", "title", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Waits until the page shows `text`; panics with what it shows instead.
    #[track_caller]
    pub fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let shown = self.page_text();
            if shown.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {WAIT:?} waiting for the page to show {text:?}; {} shows:\n{shown}",
                self.url()
            );
            std::thread::sleep(EVERY);
        }
    }

    /// Waits until the page no longer shows `text`, within `within`.
    #[track_caller]
    pub fn wait_for_text_gone(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let shown = self.page_text();
            if !shown.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page still shows {text:?} after {within:?}:\n{shown}"
            );
            std::thread::sleep(EVERY);
        }
    }

    /// Waits until the current URL's path satisfies `ok`; returns it.
    #[track_caller]
    pub fn wait_for_path(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let p = self.path();
            if ok(&p) {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for the URL to be {what}; it is {p}; the page shows:\n{}",
                self.page_text()
            );
            std::thread::sleep(EVERY);
        }
    }

    /// Every element matching `xpath` now (possibly none).
    pub fn find_all(&self, xpath: &str) -> Vec<El<'_>> {
        self.cmd(
            "POST",
            "elements",
            Some(json!({"using": "xpath", "value": xpath})),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e[ELEMENT].as_str())
        .map(|id| El {
            b: self,
            id: id.to_owned(),
        })
        .collect()
    }

    /// The first element matching `xpath` now, if any.
    pub fn try_find(&self, xpath: &str) -> Option<El<'_>> {
        self.find_all(xpath).into_iter().next()
    }

    /// The first element matching `xpath`, waiting for it to appear; `what` names it in the
    /// failure message.
    #[track_caller]
    pub fn find(&self, what: &str, xpath: &str) -> El<'_> {
        let deadline = Instant::now() + WAIT;
        loop {
            // Prefer what a person can see; fall back to any match.
            let all = self.find_all(xpath);
            if let Some(e) = all.iter().find(|e| e.displayed()) {
                return e.clone();
            }
            if Instant::now() >= deadline {
                if let Some(e) = all.into_iter().next() {
                    return e;
                }
                panic!(
                    "no {what} on {} (XPath {xpath}); the page shows:\n{}",
                    self.url(),
                    self.page_text()
                );
            }
            std::thread::sleep(EVERY);
        }
    }

    /// The XPath of the controls labelled `label` (a `<label for>` or a wrapping `<label>`
    /// whose text, or first text node, is `label`), relative to `scope` (`""` for the page).
    pub fn field_xpath(scope: &str, label: &str) -> String {
        let l = xpath_lit(label);
        let lab =
            format!("{scope}//label[normalize-space(.)={l} or normalize-space(text()[1])={l}]");
        format!("{scope}//{CONTROL}[@id={lab}/@for] | {lab}//{CONTROL}")
    }

    /// The input, select or textarea whose label reads `label`.
    #[track_caller]
    pub fn field(&self, label: &str) -> El<'_> {
        self.find(
            &format!("field labelled {label:?}"),
            &Self::field_xpath("", label),
        )
    }

    /// Whether a field labelled `label` is on the page now.
    pub fn has_field(&self, label: &str) -> bool {
        self.try_find(&Self::field_xpath("", label)).is_some()
    }

    /// The XPath of buttons reading `text`.
    pub fn button_xpath(text: &str) -> String {
        let t = xpath_lit(text);
        format!(
            "//button[normalize-space(.)={t}] | \
             //input[(@type='submit' or @type='button') and @value={t}]"
        )
    }

    /// The button reading `text`.
    #[track_caller]
    pub fn button(&self, text: &str) -> El<'_> {
        self.find(&format!("button {text:?}"), &Self::button_xpath(text))
    }

    /// The XPath of links reading `text`.
    pub fn link_xpath(text: &str) -> String {
        format!("//a[normalize-space(.)={}]", xpath_lit(text))
    }

    /// The link reading `text`.
    #[track_caller]
    pub fn link(&self, text: &str) -> El<'_> {
        self.find(&format!("link {text:?}"), &Self::link_xpath(text))
    }

    /// Types `value` into the field labelled `label` (replacing what it held). Date inputs get
    /// their value set through script (keyboard entry into `type=date` depends on the locale)
    /// with the events a person's typing fires.
    #[track_caller]
    pub fn fill(&self, label: &str, value: &str) {
        let f = self.field(label);
        f.set(value);
    }

    /// Picks `option` in the select labelled `label`, or the radio button labelled `option` in
    /// the group (fieldset) `label`.
    #[track_caller]
    pub fn choose(&self, label: &str, option: &str) {
        let o = xpath_lit(option);
        if let Some(select) =
            self.try_find(&format!("({})[self::select]", Self::field_xpath("", label)))
        {
            let opt = select.find(
                &format!("option {option:?} of {label:?}"),
                &format!(".//option[normalize-space(.)={o} or @value={o}]"),
            );
            opt.click();
            return;
        }
        let l = xpath_lit(label);
        let group = format!("//fieldset[legend[normalize-space(.)={l}]]");
        let radio = self.find(
            &format!("choice {option:?} of {label:?}"),
            &format!("({})[@type='radio']", Self::field_xpath(&group, option)),
        );
        radio.click();
    }

    /// Ticks (or unticks) the checkbox labelled `label`.
    #[track_caller]
    pub fn check(&self, label: &str, on: bool) {
        let f = self.field(label);
        if f.selected() != on {
            f.click();
        }
    }

    /// The text of the messages tied to the field labelled `label` by `aria-describedby`.
    #[track_caller]
    pub fn field_message(&self, label: &str) -> String {
        let f = self.field(label);
        let ids = f.attr("aria-describedby").unwrap_or_default();
        ids.split_whitespace()
            .filter_map(|id| self.try_find(&format!("//*[@id={}]", xpath_lit(id))))
            .map(|e| e.text())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    #[track_caller]
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.must(
            "POST",
            "execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` asynchronously: it calls `arguments[arguments.length - 1]` with its result.
    #[track_caller]
    pub fn execute_async(&self, script: &str, args: &[Value]) -> Value {
        self.must(
            "POST",
            "execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Presses keys on the keyboard, to whatever has the focus (W3C actions; `keys` may hold
    /// WebDriver key codes such as `Browser::TAB`).
    #[track_caller]
    pub fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.must(
            "POST",
            "actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
        let _ = self.cmd("DELETE", "actions", None);
    }

    /// WebDriver's Tab key.
    pub const TAB: char = '\u{E004}';
    /// WebDriver's Enter key.
    pub const ENTER: char = '\u{E007}';
    /// WebDriver's Space key.
    pub const SPACE: char = '\u{E00D}';

    /// The element that has the focus.
    #[track_caller]
    pub fn focused(&self) -> El<'_> {
        let v = self.must("GET", "element/active", None);
        El {
            b: self,
            id: v[ELEMENT].as_str().expect("an active element").to_owned(),
        }
    }

    /// Whether two handles are the same element.
    pub fn same(&self, a: &El<'_>, b: &El<'_>) -> bool {
        self.execute(
            "return arguments[0] === arguments[1];",
            &[a.json(), b.json()],
        ) == true
    }

    /// Presses Tab until `target` has the focus (at most `max` times); returns how many presses
    /// it took, or panics naming where the focus went.
    #[track_caller]
    pub fn tab_to(&self, target: &El<'_>, max: usize) -> usize {
        let mut path = Vec::new();
        for n in 1..=max {
            self.keys(&Self::TAB.to_string());
            let f = self.focused();
            if self.same(&f, target) {
                return n;
            }
            path.push(self.execute(
                "const e = arguments[0];
                 return e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.innerText || e.value || '').slice(0, 30);",
                &[f.json()],
            ).as_str().unwrap_or("").to_owned());
        }
        panic!("{max} Tab presses did not reach the element; the focus went: {path:?}");
    }

    /// The cookies the browser holds for the current page.
    pub fn cookies(&self) -> Vec<Value> {
        self.must("GET", "cookie", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The value of the cookie `name`, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"].as_str().map(str::to_owned))
    }

    /// Deletes every cookie (a fresh visitor).
    pub fn clear_cookies(&self) {
        self.must("DELETE", "cookie", None);
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.must("GET", "screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or(""))
            .expect("screenshot is base64")
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn save_screenshot(&self, path: &Path) {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).unwrap();
        }
        fs::write(path, self.screenshot()).unwrap();
    }

    /// Runs axe-core's WCAG 2.0/2.1 A and AA rules on the current page; returns one line per
    /// violation: `id (impact): target, target, ...`.
    #[track_caller]
    pub fn axe_violations(&self) -> Vec<String> {
        let loaded = self.execute("return typeof window.axe;", &[]);
        if loaded != "object" {
            let src = axe_source();
            let got = self.execute(&format!("{src}\n;return typeof window.axe;"), &[]);
            assert_eq!(got, "object", "axe-core did not load into {}", self.url());
        }
        let r = self.execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag',
                                          values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then(r => done({violations: r.violations.map(v => ({
                   id: v.id, impact: v.impact, help: v.help,
                   targets: v.nodes.map(n => n.target.join(' '))}))}))
               .catch(e => done({error: String(e)}));",
            &[],
        );
        assert!(
            r["error"].is_null(),
            "axe.run failed on {}: {}",
            self.url(),
            r["error"]
        );
        r["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let targets: Vec<&str> = v["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                format!(
                    "{} ({}; {}): {}",
                    v["id"].as_str().unwrap_or(""),
                    v["impact"].as_str().unwrap_or(""),
                    v["help"].as_str().unwrap_or(""),
                    targets.join(", ")
                )
            })
            .collect()
    }
}

/// axe-core's source (`tests/data/axe/axe.min.js`), read once.
fn axe_source() -> &'static str {
    static SRC: OnceLock<String> = OnceLock::new();
    SRC.get_or_init(|| {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/axe/axe.min.js");
        fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    })
}

/// The processes whose command line mentions `needle` (this session's profile directory).
fn pids_mentioning(needle: &str) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closes this session's Chromium, waits (bounded, never panicking) for its processes to
        // be gone, then removes the profile directory.
        let _ = self.cmd("DELETE", "", None);
        if let Some(profile) = self.profile.take() {
            let needle = format!("--user-data-dir={}", profile.path().display());
            let deadline = Instant::now() + WAIT;
            while !pids_mentioning(&needle).is_empty() && Instant::now() < deadline {
                std::thread::sleep(EVERY);
            }
            drop(profile);
        }
    }
}

/// An element of the page of a `Browser`.
#[derive(Clone)]
pub struct El<'a> {
    b: &'a Browser,
    id: String,
}

impl std::fmt::Debug for El<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "El({})", self.id)
    }
}

impl<'a> El<'a> {
    fn path(&self, rest: &str) -> String {
        if rest.is_empty() {
            format!("element/{}", self.id)
        } else {
            format!("element/{}/{rest}", self.id)
        }
    }

    /// Clicks it (scrolling it into view first, as WebDriver does).
    #[track_caller]
    pub fn click(&self) {
        self.b.must("POST", &self.path("click"), None);
    }

    /// Empties a text field.
    #[track_caller]
    pub fn clear(&self) {
        self.b.must("POST", &self.path("clear"), None);
    }

    /// Types `text` (for a file input: the path of the file to upload).
    #[track_caller]
    pub fn send_keys(&self, text: &str) {
        self.b
            .must("POST", &self.path("value"), Some(json!({"text": text})));
    }

    /// Replaces the field's value by `value` as a person typing it would.
    #[track_caller]
    pub fn set(&self, value: &str) {
        let kind = self.attr("type").unwrap_or_default();
        if matches!(kind.as_str(), "date" | "datetime-local" | "time" | "month") {
            self.b.execute(
                "const e = arguments[0]; e.focus(); e.value = arguments[1];
                 e.dispatchEvent(new Event('input', {bubbles: true}));
                 e.dispatchEvent(new Event('change', {bubbles: true}));",
                &[self.json(), json!(value)],
            );
            assert_eq!(
                self.prop("value"),
                json!(value),
                "the {kind} input did not take {value:?}"
            );
            return;
        }
        self.clear();
        if !value.is_empty() {
            self.send_keys(value);
        }
    }

    /// Its visible text.
    pub fn text(&self) -> String {
        self.b
            .must("GET", &self.path("text"), None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// An attribute as written in the HTML (`None` if absent).
    pub fn attr(&self, name: &str) -> Option<String> {
        self.b
            .must("GET", &self.path(&format!("attribute/{name}")), None)
            .as_str()
            .map(str::to_owned)
    }

    /// A DOM property (e.g. `value`, `href` resolved to an absolute URL).
    pub fn prop(&self, name: &str) -> Value {
        self.b
            .must("GET", &self.path(&format!("property/{name}")), None)
    }

    /// Whether a checkbox, radio button or option is selected.
    pub fn selected(&self) -> bool {
        self.b.must("GET", &self.path("selected"), None) == true
    }

    /// Whether a person could see it.
    pub fn displayed(&self) -> bool {
        self.b
            .cmd("GET", &self.path("displayed"), None)
            .is_ok_and(|v| v == true)
    }

    /// The first element matching `xpath` (relative, e.g. `.//td`) inside it, waiting for it.
    #[track_caller]
    pub fn find(&self, what: &str, xpath: &str) -> El<'a> {
        let b = self.b;
        let id = poll(what, WAIT, EVERY, || {
            b.cmd(
                "POST",
                &self.path("element"),
                Some(json!({"using": "xpath", "value": xpath})),
            )
            .ok()
            .and_then(|v| v[ELEMENT].as_str().map(str::to_owned))
        });
        El { b, id }
    }

    /// The element as a script argument.
    pub fn json(&self) -> Value {
        json!({ ELEMENT: self.id })
    }
}
