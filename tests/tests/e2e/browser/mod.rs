//! A real browser for the dashboard tests: Debian's headless Chromium driven over WebDriver.
//!
//! [`Browser::start`] starts `chromedriver` on a free loopback port as a child process (in its own
//! process group, so the Chromium it launches dies with it on drop, also when a test panics) and opens
//! one WebDriver session with `fantoccini` over plain HTTP (no TLS stack in the client: chromedriver
//! listens on localhost only). Chromium accepts the test hub's self-signed dashboard certificate
//! (`--ignore-certificate-errors`), so the dashboard is reached over real HTTPS with real cookies.
//!
//! Missing `chromium` or `chromedriver` is a test FAILURE naming `scripts/ensure-chromium.sh`, never a
//! skip: a suite that silently skips its browser tests proves nothing about the pages.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, PrintConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long one wait for the page (an element, a URL, a text) may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);
/// How long chromedriver may take to listen.
const DRIVER_START: Duration = Duration::from_secs(30);
/// The tallest full-page screenshot, in pixels (longer pages are cut there).
pub const MAX_SHOT_HEIGHT: u64 = 6000;
/// How often a wait looks again (WebDriver has no push notifications).
const POLL: Duration = Duration::from_millis(50);
/// What every failure about the browser's presence tells the reader to run.
const ENSURE: &str = "run scripts/ensure-chromium.sh (installs Debian's chromium and chromium-driver)";

/// The path of `name` on `PATH`, if any.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Where screenshots and PDFs go: `target/browser-screenshots/` (respecting `CARGO_TARGET_DIR`).
pub fn output_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from);
    target.join("browser-screenshots")
}

/// A running chromedriver; its whole process group (chromedriver and the Chromium it started) is
/// killed and reaped on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver on a free port and waits for its "started successfully" line. Retries with
    /// another port if the chosen one was taken in between.
    fn start(chromedriver: &Path) -> Self {
        let mut last_err = String::new();
        for _ in 0..3 {
            match Self::try_start(chromedriver) {
                Ok(d) => return d,
                Err(e) => last_err = e,
            }
        }
        panic!("chromedriver did not start: {last_err}; {ENSURE}");
    }

    fn try_start(chromedriver: &Path) -> Result<Self, String> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding a probe port: {e}"))?;
            l.local_addr().map_err(|e| e.to_string())?.port()
        };
        let mut cmd = Command::new(chromedriver);
        cmd.arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg("--log-level=WARNING")
            // Chromium on Linux takes its UI locale (date fields, number formats) from LANGUAGE, not --lang.
            .env("LANGUAGE", "de")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Own process group: drop kills chromedriver and every Chromium process it spawned at once.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|e| format!("spawning {}: {e}", chromedriver.display()))?;
        let (tx, rx) = mpsc::channel::<String>();
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            // Drains the pipe for the driver's whole life (a full pipe would block it).
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        let mut driver = Self { child, port };
        let deadline = Instant::now() + DRIVER_START;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("started successfully") => {
                    // Keep draining in the background; the lines are no longer needed.
                    std::thread::spawn(move || for _ in rx {});
                    return Ok(driver);
                }
                Ok(line) => seen.push(line),
                Err(_) => {
                    driver.kill();
                    return Err(format!("no start line within {DRIVER_START:?} on port {port}; output: {seen:?}"));
                }
            }
        }
    }

    fn kill(&mut self) {
        // The group id is chromedriver's pid (process_group(0)): this reaches only the processes this test
        // started. A direct syscall, never a `kill` command line (whose parsing of negative ids varies).
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One headless Chromium session on the dashboard at `base` (e.g. `https://localhost:PORT`).
pub struct Browser {
    client: Client,
    base: String,
    /// Where Chromium saves downloads; removed on drop.
    downloads: tempfile::TempDir,
    /// Declared after `client`: dropped last, so the session is gone before its driver.
    _driver: Driver,
}

impl Browser {
    /// Starts chromedriver and headless Chromium for the dashboard at `base`. Panics (test failure) with a
    /// message naming scripts/ensure-chromium.sh if either program is missing.
    pub async fn start(base: &str) -> Self {
        let chromium = which("chromium").unwrap_or_else(|| panic!("chromium not found on PATH: {ENSURE}"));
        let chromedriver = which("chromedriver").unwrap_or_else(|| panic!("chromedriver not found on PATH: {ENSURE}"));
        let driver = Driver::start(&chromedriver);
        let downloads = tempfile::tempdir().expect("a download folder");
        let mut caps = Capabilities::new();
        caps.insert("browserName".to_owned(), json!("chrome"));
        caps.insert("acceptInsecureCerts".to_owned(), json!(true));
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--ignore-certificate-errors",
                    "--window-size=1400,1000",
                    "--lang=de-DE",
                    // Nothing of the test machine's profile or network leaks in or out.
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-extensions",
                ],
                "prefs": {
                    "intl.accept_languages": "de-DE,de",
                    "download.default_directory": downloads.path().to_string_lossy(),
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                },
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let url = format!("http://127.0.0.1:{}", driver.port);
        let client = tokio::time::timeout(DRIVER_START, ClientBuilder::new(connector).capabilities(caps).connect(&url))
            .await
            .unwrap_or_else(|_| panic!("no WebDriver session within {DRIVER_START:?} ({url}); {ENSURE}"))
            .unwrap_or_else(|e| panic!("opening a WebDriver session on {url}: {e}; {ENSURE}"));
        Self { client, base: base.trim_end_matches('/').to_owned(), downloads, _driver: driver }
    }

    /// The underlying fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The dashboard's base URL (`https://localhost:PORT`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Opens `path` (e.g. `/uebergaben`) on the dashboard and returns once the page has loaded.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client.goto(&url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Opens any URL (e.g. a `data:` page).
    pub async fn goto_url(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Reloads the current page.
    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
    }

    /// Goes back one page in the history.
    pub async fn back(&self) {
        self.client.back().await.expect("history back");
    }

    /// The path (and query) of the current page, e.g. `/anmelden`.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's HTML as the browser has it now.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Where the browser is and what it shows (path and the start of the page's text), for failure messages.
    pub async fn describe(&self) -> String {
        let path = match self.client.current_url().await {
            Ok(u) => u.to_string(),
            Err(e) => format!("(no URL: {e})"),
        };
        let text = match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let text: String = text.chars().take(1500).collect();
        format!("browser on {path}, page text:\n{text}")
    }

    /// The text of the first element matching `css`; fails the test if there is none.
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_else(|e| panic!("text of {css}: {e}")),
            Err(e) => panic!("no element {css}: {e}\n{}", self.describe().await),
        }
    }

    /// The texts of every element matching `css` (possibly none).
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let els = self.client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("finding {css}: {e}"));
        let mut out = Vec::with_capacity(els.len());
        for el in els {
            out.push(el.text().await.unwrap_or_else(|e| panic!("text of {css}: {e}")));
        }
        out
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element {css}: {e}"));
        el.attr(name).await.unwrap_or_else(|e| panic!("attribute {name} of {css}: {e}"))
    }

    /// Waits until an element matches `css` (at most [`WAIT`]) and returns its text.
    pub async fn wait_for(&self, css: &str) -> String {
        match self.client.wait().at_most(WAIT).every(POLL).for_element(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_else(|e| panic!("text of {css}: {e}")),
            Err(e) => panic!("waited {WAIT:?} for {css}: {e}\n{}", self.describe().await),
        }
    }

    /// Waits until the text of `css` satisfies `ok` (at most [`WAIT`]), returning the last text.
    pub async fn wait_for_text(&self, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = match self.client.find(Locator::Css(css)).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if ok(&now) {
                return now;
            }
            if Instant::now() >= deadline {
                panic!("waited {WAIT:?} for {css} to be {what}; it is {now:?}\n{}", self.describe().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the current path starts with `prefix` (at most [`WAIT`]) and returns the path.
    pub async fn wait_for_path(&self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = self.path().await;
            if now.starts_with(prefix) {
                return now;
            }
            if Instant::now() >= deadline {
                panic!("waited {WAIT:?} for a page under {prefix}\n{}", self.describe().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Types `value` into the first field matching `css` (clearing it first), as a person would.
    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no field {css}: {e}"));
        el.clear().await.unwrap_or_else(|e| panic!("clearing {css}: {e}"));
        el.send_keys(value).await.unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Chooses the file at `path` in the file input matching `css`.
    pub async fn choose_file(&self, css: &str, path: &Path) {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no file input {css}: {e}"));
        el.send_keys(&path.to_string_lossy()).await.unwrap_or_else(|e| panic!("choosing {}: {e}", path.display()));
    }

    /// Sets the value of the field matching `css` directly (for `<input type="date">`, whose typing order
    /// depends on the browser's locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        let js = "const el = document.querySelector(arguments[0]); if (!el) return false; el.value = arguments[1]; return true;";
        let found = self.client.execute(js, vec![json!(css), json!(value)]).await.expect("setting a field");
        assert_eq!(found, json!(true), "no field {css}");
    }

    /// Ticks the checkbox matching `css` (a click, unless it is already ticked).
    pub async fn check(&self, css: &str) {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no checkbox {css}: {e}"));
        if !el.is_selected().await.unwrap_or_else(|e| panic!("state of {css}: {e}")) {
            el.click().await.unwrap_or_else(|e| panic!("ticking {css}: {e}"));
        }
    }

    /// Picks the option with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no select {css}: {e}"));
        el.select_by_value(value).await.unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element {css} to click: {e}"));
        el.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Clicks the first element matching `css` (a link or a submit button) and waits until the browser has
    /// loaded the next page: the old document is gone and the new one is complete. Needed where the next
    /// page has the same address (a form that redirects back to its page), which a wait for a path cannot tell.
    pub async fn click_and_wait(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.expect("the current document");
        self.click(css).await;
        let deadline = Instant::now() + WAIT;
        loop {
            // Any error on the old root element means it is stale: the old document was replaced.
            let gone = old.tag_name().await.is_err();
            let complete = gone
                && self.client.execute("return document.readyState;", vec![]).await.ok() == Some(json!("complete"));
            if complete {
                return;
            }
            if Instant::now() >= deadline {
                panic!("clicking {css} loaded no new page within {WAIT:?}\n{}", self.describe().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Logs a contact attempt with the case page's form (`form#kontakt-form`): how, on which day
    /// (ISO), whether the household was reached, a note; waits for the page that answers.
    pub async fn log_contact(&self, kind: &str, day: &str, reached: bool, note: &str) {
        self.select("form#kontakt-form select[name=\"wie\"]", kind).await;
        self.set_value("form#kontakt-form [name=\"datum\"]", day).await;
        if reached {
            self.check("form#kontakt-form input[name=\"erreicht\"]").await;
        }
        self.fill("form#kontakt-form [name=\"notiz\"]", note).await;
        self.click_and_wait("form#kontakt-form button[type=\"submit\"]").await;
    }

    /// Signs in on `/anmelden` as a person would: fills `benutzer` and `passwort`, clicks
    /// `#anmelden-knopf`, and waits for the page that answers (Today, or the sign-in page with its error).
    pub async fn sign_in(&self, user: &str, password: &str) {
        self.goto("/anmelden").await;
        self.wait_for("form#anmelden").await;
        self.fill("form#anmelden [name=\"benutzer\"]", user).await;
        self.fill("form#anmelden [name=\"passwort\"]", password).await;
        self.click_and_wait("#anmelden-knopf").await;
    }

    /// Signs out with the page's sign-out form (`form#abmelden`) and waits for the sign-in page.
    pub async fn sign_out(&self) {
        self.click_and_wait("form#abmelden button[type=submit]").await;
        self.wait_for_path("/anmelden").await;
    }

    /// The value of the cookie `name` as the browser holds it (also HttpOnly ones), if set.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let all = self.client.get_all_cookies().await.expect("reading cookies");
        all.into_iter().find(|c| c.name() == name).map(|c| c.value().to_owned())
    }

    /// Writes a PNG of the whole page (the window is stretched to the page's height for the shot, at most
    /// [`MAX_SHOT_HEIGHT`] pixels, then restored) to `target/browser-screenshots/{name}.png`; prints and
    /// returns the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        const JS: &str = "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];";
        let dims = self.client.execute(JS, vec![]).await.expect("page height");
        let num = |i: usize| dims.get(i).and_then(serde_json::Value::as_u64).unwrap_or(0);
        let (page, chrome) = (num(0), num(1));
        let (width, height) = self.client.get_window_size().await.expect("window size");
        let tall = (page + chrome).clamp(height, MAX_SHOT_HEIGHT);
        let resized = tall != height;
        if resized {
            self.client.set_window_size(width as u32, tall as u32).await.expect("stretching the window");
        }
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        if resized {
            self.client.set_window_size(width as u32, height as u32).await.expect("restoring the window");
        }
        assert!(png.starts_with(b"\x89PNG"), "screenshot {name} is not a PNG");
        save(&format!("{name}.png"), &png)
    }

    /// Writes a PNG of the viewport only, scrolled so that the section holding the first element matching
    /// `css` starts at the top (a compact shot of one part of a long page), to
    /// `target/browser-screenshots/{name}.png`; prints and returns the path.
    pub async fn screenshot_at(&self, name: &str, css: &str) -> PathBuf {
        const JS: &str = "const el = document.querySelector(arguments[0]); if (!el) return false;\
            (el.closest('section') || el).scrollIntoView({ block: 'start' }); return true;";
        let found = self.client.execute(JS, vec![json!(css)]).await.expect("scrolling");
        assert_eq!(found, json!(true), "no element {css} to scroll to");
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "screenshot {name} is not a PNG");
        save(&format!("{name}.png"), &png)
    }

    /// A PNG of the viewport, in a window of `width` × `height` (restored afterwards), with the first element
    /// matching `css` scrolled to its middle: how that part looks
    /// on a laptop (1366 × 768) or a phone (390 px wide). Returns the path and whether the page scrolls
    /// sideways at that width.
    pub async fn screenshot_sized(&self, name: &str, css: &str, width: u32, height: u32) -> (PathBuf, bool) {
        let (w, h) = self.client.get_window_size().await.expect("window size");
        self.client.set_window_size(width, height).await.expect("resizing the window");
        const JS: &str = "const el = document.querySelector(arguments[0]); if (!el) return false;\
            el.scrollIntoView({ block: 'center' }); return true;";
        let found = self.client.execute(JS, vec![json!(css)]).await.expect("scrolling");
        assert_eq!(found, json!(true), "no element {css} to scroll to");
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "screenshot {name} is not a PNG");
        let path = save(&format!("{name}.png"), &png);
        let sideways = self
            .client
            .execute("return document.documentElement.scrollWidth > document.documentElement.clientWidth;", vec![])
            .await
            .expect("page width");
        self.client.set_window_size(w as u32, h as u32).await.expect("restoring the window");
        (path, sideways == json!(true))
    }

    /// What people see of the current page, checked: a whole-page screenshot at 1366 × 768 and at 390 px
    /// (`{name}-1366.png`, `{name}-390.png`), no sideways scrolling at 390 px (failing with the elements that
    /// stick out), and no serious or critical axe-core violation.
    pub async fn check_page(&self, name: &str) {
        const OVERFLOW: &str = "const w = document.documentElement.clientWidth; const out = [];\
            if (document.documentElement.scrollWidth <= w) return out;\
            for (const el of document.querySelectorAll('body *')) {\
              const r = el.getBoundingClientRect();\
              if (r.right > w + 1 && !el.closest('.tabelle')) out.push(el.tagName.toLowerCase()\
                + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '') + ' ' + Math.round(r.right));\
            }\
            return out.slice(0, 12);";
        let (w, h) = self.client.get_window_size().await.expect("window size");
        self.client.set_window_size(1366, 768).await.expect("resizing the window");
        self.screenshot(&format!("{name}-1366")).await;
        self.client.set_window_size(390, 844).await.expect("resizing the window");
        self.screenshot(&format!("{name}-390")).await;
        let sticking_out = self.client.execute(OVERFLOW, vec![]).await.expect("page width");
        let sticking_out: Vec<String> = serde_json::from_value(sticking_out).expect("elements as text");
        self.client.set_window_size(w as u32, h as u32).await.expect("restoring the window");
        assert!(
            sticking_out.is_empty() && !self.scrolls_sideways_at(390).await,
            "{name}: the page scrolls sideways at 390 px; wider than the screen: {sticking_out:?}"
        );
        self.assert_accessible(name).await;
    }

    /// Whether the page is wider than a window `width` px wide.
    async fn scrolls_sideways_at(&self, width: u32) -> bool {
        let (w, h) = self.client.get_window_size().await.expect("window size");
        self.client.set_window_size(width, 844).await.expect("resizing the window");
        let wide = self
            .client
            .execute("return document.documentElement.scrollWidth > document.documentElement.clientWidth;", vec![])
            .await
            .expect("page width");
        self.client.set_window_size(w as u32, h as u32).await.expect("restoring the window");
        wide == json!(true)
    }

    /// Runs axe-core (`.axe/`, installed by scripts/ensure-chromium.sh) on the current page with the WCAG 2.1
    /// A/AA rules and fails naming every serious or critical violation and its elements.
    pub async fn assert_accessible(&self, what: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.axe/node_modules/axe-core/axe.min.js");
        let axe =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("axe-core at {}: {e}; {ENSURE}", path.display()));
        self.client.execute(&axe, vec![]).await.expect("loading axe-core into the page");
        const RUN: &str = "const done = arguments[arguments.length - 1];\
            axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })\
              .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))\
              .catch(e => done(['axe failed: ' + e]));";
        let found = self.client.execute_async(RUN, vec![]).await.expect("running axe-core");
        let violations: Vec<String> = serde_json::from_value(found).expect("axe violations as text");
        assert!(
            violations.is_empty(),
            "{what}: serious or critical accessibility violations:\n{}",
            violations.join("\n")
        );
    }

    /// Prints the current page to PDF through WebDriver's print endpoint (the browser's own print, with
    /// the page's print CSS), writes it to `target/browser-screenshots/{name}.pdf` and returns the bytes.
    pub async fn print_pdf(&self, name: &str) -> (PathBuf, Vec<u8>) {
        let pdf =
            self.client.print(PrintConfiguration::default()).await.unwrap_or_else(|e| panic!("print {name}: {e}"));
        (save(&format!("{name}.pdf"), &pdf), pdf)
    }

    /// Clicks the link matching `css` and waits for the file it downloads (Chromium saves it into this
    /// browser's own download folder); returns the file's name and bytes. The dashboard's CSP allows no
    /// script to fetch anything, so a download is checked the way a person gets it: by the click.
    pub async fn download(&self, css: &str) -> (String, Vec<u8>) {
        let listing = || -> Vec<String> {
            let Ok(entries) = std::fs::read_dir(self.downloads.path()) else { return Vec::new() };
            entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
        };
        let before = listing();
        self.click(css).await;
        let deadline = Instant::now() + WAIT;
        loop {
            // Chromium writes a hidden temporary file, then `*.crdownload`, and renames it when complete.
            let done = listing()
                .into_iter()
                .find(|f| !before.contains(f) && !f.starts_with('.') && !f.ends_with(".crdownload"));
            if let Some(name) = done {
                let path = self.downloads.path().join(&name);
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                return (name, bytes);
            }
            if Instant::now() >= deadline {
                panic!("clicking {css} downloaded nothing within {WAIT:?}\n{}", self.describe().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Ends the WebDriver session (Chromium quits); the driver process goes on drop.
    pub async fn close(self) {
        let Self { client, .. } = self;
        let _ = client.close().await;
    }
}

/// Writes `bytes` to the output directory as `file`, prints the path and returns it.
fn save(file: &str, bytes: &[u8]) -> PathBuf {
    let dir = output_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    let shown = path.canonicalize().unwrap_or(path);
    println!("browser output: {}", shown.display());
    shown
}
