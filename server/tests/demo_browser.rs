//! The classroom demo in real browsers, headless, driven over WebDriver with fantoccini:
//! Debian's Chromium through chromedriver, and Firefox ESR through geckodriver. Ignored by
//! default; CI runs them after `scripts/install-chromium.sh`:
//!
//! ```text
//! cargo test -p server --test demo_browser -- --ignored --nocapture
//! ```
//!
//! It reads the page's numbers through its `data-transport` / `data-metric` hooks, checks
//! what the class should see (the WebSocket panel wins on delay and on bytes per event), and
//! saves screenshots under `runs/ci/` for a human to look at. `PUSHPULL_CHROMIUM`,
//! `PUSHPULL_CHROMEDRIVER`, `PUSHPULL_FIREFOX` and `PUSHPULL_GECKODRIVER` override the
//! binaries' paths. A missing browser or driver skips a test with a message, except under
//! `CI=true`, where it fails (`test_support::browser::require`).

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use hyper_util::client::legacy::connect::HttpConnector;
use server::{Config, Running};
use test_support::browser::{self, Browser};
use test_support::{webdriver, within, LIMIT};
use tokio::time::{sleep, timeout};

/// The poll interval the page starts with (its slider's default), in ms.
const POLL_INTERVAL_MS: u64 = 1000;
/// The browser window the checks start with.
const WINDOW: (u32, u32) = (1440, 1000);

/// The screenshot files of each browser.
trait Shot {
    /// The screenshot file for `what` (`""`, `"-all"`, `"-1280x720"`).
    fn shot(self, what: &str) -> String;
}

impl Shot for Browser {
    fn shot(self, what: &str) -> String {
        match self {
            Browser::Chromium => format!("demo-browser{what}.png"),
            Browser::Firefox => format!("demo-firefox{what}.png"),
        }
    }
}

/// Every panel's metrics as the page shows them, plus the "How it works" text.
#[derive(Debug)]
struct PageView {
    panels: BTreeMap<String, BTreeMap<String, String>>,
    how: String,
}

impl PageView {
    fn text(&self, panel: &str, metric: &str) -> &str {
        self.panels.get(panel).and_then(|p| p.get(metric)).map_or("<missing>", |s| s.as_str())
    }

    /// A metric that must be plain digits.
    fn num(&self, panel: &str, metric: &str) -> u64 {
        let t = self.text(panel, metric);
        assert!(
            !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()),
            "{panel} {metric} = {t:?}, not plain digits"
        );
        t.parse().expect("digits")
    }

    fn bytes_per_event(&self, panel: &str) -> f64 {
        let events = self.num(panel, "events");
        assert!(events > 0, "{panel} received no event");
        (self.num(panel, "bytes-in") + self.num(panel, "bytes-out")) as f64 / events as f64
    }
}

const READ_PAGE: &str = r#"
const panels = {};
for (const p of document.querySelectorAll('[data-transport]')) {
  const m = {};
  for (const e of p.querySelectorAll('[data-metric]')) m[e.dataset.metric] = e.textContent.trim();
  panels[p.dataset.transport] = m;
}
return { panels, how: document.getElementById('how').innerText };
"#;

async fn read_page(c: &Client) -> PageView {
    let v = within("reading the page", c.execute(READ_PAGE, vec![])).await;
    let panels = v["panels"]
        .as_object()
        .expect("panels")
        .iter()
        .map(|(t, m)| {
            let m = m
                .as_object()
                .expect("metrics")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            (t.clone(), m)
        })
        .collect();
    PageView { panels, how: v["how"].as_str().unwrap_or_default().to_string() }
}

/// Sizes the window to the whole page and saves a screenshot as `runs/ci/NAME`.
async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let h = within("page height", c.execute("return document.documentElement.scrollHeight", vec![])).await;
    let height = h.as_u64().unwrap_or(1000).clamp(600, 4000) as u32;
    within("resizing", c.set_window_size(1440, height + 120)).await;
    sleep(Duration::from_millis(400)).await;
    let png = within("screenshot", c.screenshot()).await;
    let path = test_support::artifacts("").join(name);
    std::fs::write(&path, png).expect("write screenshot");
    println!("screenshot: {}", path.display());
    path
}

async fn check_the_page(c: &Client, r: &Running, browser: Browser) {
    within("opening the page", c.goto(&format!("{}/", r.url()))).await;
    // About five seconds of a 20 events/s feed.
    sleep(Duration::from_millis(5500)).await;
    let view = read_page(c).await;
    println!("after 5.5 s: {view:#?}");

    // Both panels show the same latest seq within one poll interval: the polling panel
    // catches up with what the WebSocket panel showed, within an interval (plus slack for a
    // loaded machine).
    let ws_seq = view.num("ws", "seq");
    assert!(ws_seq > 0, "the WebSocket panel shows no seq");
    let deadline = Instant::now() + Duration::from_millis(POLL_INTERVAL_MS + 3000);
    loop {
        let poll_seq = read_page(c).await.num("short-poll", "seq");
        if poll_seq >= ws_seq {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the polling panel stayed at seq {poll_seq}, WebSocket showed {ws_seq}"
        );
        sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(view.num("ws", "requests"), 1, "the WebSocket panel opened exactly one connection");
    assert!(view.num("short-poll", "requests") >= 4, "the polling panel made at least 4 requests");
    let (ws_median, poll_median) = (view.num("ws", "delay-median"), view.num("short-poll", "delay-median"));
    assert!(ws_median < poll_median, "median delay: WebSocket {ws_median} ms, polling {poll_median} ms");
    for panel in ["short-poll", "ws"] {
        for metric in ["bytes-in", "bytes-out"] {
            assert!(view.num(panel, metric) > 0, "{panel} {metric} is zero");
        }
        assert_eq!(view.num(panel, "lost"), 0, "{panel}: a working page loses no event");
        view.num(panel, "not-modified");
        view.num(panel, "delay-last");
        view.num(panel, "delay-worst");
    }
    let (poll_bpe, ws_bpe) = (view.bytes_per_event("short-poll"), view.bytes_per_event("ws"));
    assert!(poll_bpe > ws_bpe, "bytes per event: polling {poll_bpe:.0}, WebSocket {ws_bpe:.0}");
    println!("bytes per event: polling {poll_bpe:.0}, WebSocket {ws_bpe:.0}");

    // Event delay has one definition for every transport: each event a poll's answer
    // brings counts from its own publication, and events wait on average half an interval
    // for the next poll. So after a minute, the polling panel's median is about half the
    // poll interval (the answer's own few milliseconds are well inside the 20 %).
    if browser == Browser::Chromium {
        sleep(Duration::from_secs(60)).await;
        let median = read_page(c).await.num("short-poll", "delay-median") as f64;
        let half = POLL_INTERVAL_MS as f64 / 2.0;
        assert!(
            (median - half).abs() <= 0.2 * half,
            "polling median delay {median} ms after a minute, want {half} ms ± 20 %"
        );
    }

    let how = read_page(c).await.how;
    assert!(how.contains("101 Switching Protocols"), "no 101 in How it works:\n{how}");
    assert!(how.to_ascii_lowercase().contains("sec-websocket-accept: "), "no Sec-WebSocket-Accept:\n{how}");
    assert!(how.contains("GET /api/scores?page="), "no poll request in How it works:\n{how}");
    screenshot(c, &browser.shot("")).await;

    // The switch, by keyboard: long polling and SSE join as a second row.
    within("resizing back", c.set_window_size(1440, 1000)).await;
    let switch = within("finding the switch", c.find(Locator::Css("#more"))).await;
    within("pressing the switch", switch.send_keys(" ")).await;
    let on = within("switch state", switch.attr("aria-checked")).await;
    assert_eq!(on.as_deref(), Some("true"), "Space on the switch turns it on");
    let deadline = Instant::now() + Duration::from_secs(15);
    let view = loop {
        let v = read_page(c).await;
        let has = |p: &str| v.text(p, "events").parse::<u64>().is_ok_and(|n| n >= 3);
        if has("long-poll") && has("sse") {
            break v;
        }
        assert!(Instant::now() < deadline, "long polling and SSE did not show events: {v:#?}");
        sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(view.num("sse", "requests"), 1, "SSE opened exactly one connection");
    assert!(view.num("long-poll", "requests") >= 2, "long polling asked more than once");
    for panel in ["long-poll", "sse"] {
        assert!(view.num(panel, "bytes-in") > 0 || view.num(panel, "events") > 0);
        view.num(panel, "delay-median");
    }
    // Let the byte counters catch up (they refresh every second) before the picture.
    sleep(Duration::from_millis(2500)).await;
    println!("with all four: {:#?}", read_page(c).await.panels);
    screenshot(c, &browser.shot("-all")).await;

    // Pause and resume by keyboard: a paused poller stops asking; resumed, it asks again.
    let pause =
        within("the pause button", c.find(Locator::Css("[data-transport='short-poll'] .pause"))).await;
    within("pressing pause", pause.send_keys(" ")).await;
    assert_eq!(within("pause label", pause.text()).await, "Resume");
    sleep(Duration::from_millis(300)).await;
    let paused_at = read_page(c).await.num("short-poll", "requests");
    sleep(Duration::from_millis(2 * POLL_INTERVAL_MS + 500)).await;
    assert_eq!(read_page(c).await.num("short-poll", "requests"), paused_at, "a paused panel made requests");
    within("pressing resume", pause.send_keys(" ")).await;
    assert_eq!(within("pause label", pause.text()).await, "Pause");
    let deadline = Instant::now() + Duration::from_secs(10);
    while read_page(c).await.num("short-poll", "requests") <= paused_at {
        assert!(Instant::now() < deadline, "the resumed panel made no request");
        sleep(Duration::from_millis(100)).await;
    }

    // The poll interval by keyboard: one step right on the slider is 250 ms more.
    let slider = within("the slider", c.find(Locator::Css("#interval"))).await;
    within("moving the slider", slider.send_keys(&Key::Right.to_string())).await;
    let shown = within("the interval shown", c.find(Locator::Css("[data-setting='interval']"))).await;
    assert_eq!(within("its text", shown.text()).await, (POLL_INTERVAL_MS + 250).to_string());

    // What a class sees on a 1280×720 projector, without scrolling.
    let frame =
        within("window frame", c.execute("return window.outerHeight - window.innerHeight", vec![])).await;
    let frame = frame.as_u64().unwrap_or(0).min(400) as u32;
    within("projector size", c.set_window_size(1280, 720 + frame)).await;
    within("scrolling to the top", c.execute("window.scrollTo(0, 0)", vec![])).await;
    sleep(Duration::from_millis(1500)).await;
    let png = within("screenshot", c.screenshot()).await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runs/ci").join(browser.shot("-1280x720"));
    std::fs::write(&path, png).expect("write screenshot");
    println!("screenshot: {}", path.display());
}

/// One browser at a time: two at once on a small CI machine would measure each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts a server with a fast feed (20 events/s) and a browser session, runs the checks,
/// and tears everything down even when a check fails. Without the browser or its driver it
/// skips (outside CI) or fails (under CI).
async fn run_in(browser: Browser) {
    let test = format!("the {browser:?} demo test");
    if !browser::require(&test, &[browser.binary(), browser.driver()]) {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let r = test_support::start(Config { rate: 20.0, ..Config::ephemeral() }).await;
    let driver = webdriver::start(browser).await;
    let profile = test_support::files::temp_dir();
    let client = within(
        &format!("starting a {browser:?} session"),
        ClientBuilder::new(HttpConnector::new())
            .capabilities(browser.capabilities(profile.path(), WINDOW))
            .connect(&driver.url),
    )
    .await;

    let outcome = AssertUnwindSafe(check_the_page(&client, &r, browser)).catch_unwind().await;
    let _ = timeout(LIMIT, client.close()).await;
    assert!(r.shutdown().await, "the server shut down in time");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium"]
async fn the_demo_shows_the_websocket_winning_in_chromium() {
    run_in(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs firefox-esr and geckodriver"]
async fn the_demo_shows_the_websocket_winning_in_firefox() {
    run_in(Browser::Firefox).await;
}

/// The page's `[data-protocol]` text of every panel, and its page id.
const READ_PROTOCOLS: &str = r#"
const out = {};
for (const p of document.querySelectorAll('[data-transport]')) {
  const el = p.querySelector('[data-protocol]');
  if (el) out[p.dataset.transport] = el.textContent;
}
return { protocols: out, page: document.getElementById('page-id').textContent };
"#;

/// The demo over HTTPS in Chromium: the server's self-signed certificate accepted with
/// `--ignore-certificate-errors`, the polling and WebSocket panels both say HTTP/2, and the
/// server counted the WebSocket as an HTTP/2 extended CONNECT stream (RFC 8441).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium"]
async fn the_demo_over_https_runs_on_http2_in_chromium() {
    let browser = Browser::Chromium;
    if !browser::require("the Chromium HTTPS demo test", &[browser.binary(), browser.driver()]) {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let r = test_support::start(Config { rate: 20.0, tls: true, ..Config::ephemeral() }).await;
    let driver = webdriver::start(browser).await;
    let profile = test_support::files::temp_dir();
    let mut caps = browser.capabilities(profile.path(), WINDOW);
    caps["goog:chromeOptions"]["args"]
        .as_array_mut()
        .expect("Chromium's args")
        .push("--ignore-certificate-errors".into());
    let client = within(
        "starting a Chromium session",
        ClientBuilder::new(HttpConnector::new()).capabilities(caps).connect(&driver.url),
    )
    .await;

    let check = async {
        let url = format!("https://127.0.0.1:{}/", r.addr.port());
        within("opening the page over HTTPS", client.goto(&url)).await;
        let deadline = Instant::now() + LIMIT;
        let seen = loop {
            let v = within("reading the protocols", client.execute(READ_PROTOCOLS, vec![])).await;
            let shown = |t: &str| v["protocols"][t].as_str().unwrap_or_default().to_string();
            if shown("short-poll").starts_with("HTTP/2") && shown("ws").starts_with("HTTP/2") {
                break v;
            }
            assert!(Instant::now() < deadline, "the panels did not report HTTP/2 in time: {v}");
            sleep(Duration::from_millis(250)).await;
        };
        println!("protocols shown: {seen}");
        let m = test_support::probe::metrics(r.addr).await;
        let h2 = test_support::probe::value(&m, proto::metrics::Single::WsSessionsH2);
        assert!(h2 >= 1.0, "the WebSocket was opened over HTTP/2 (pushpull_ws_sessions_h2_total = {h2})");
        screenshot(&client, "demo-browser-h2.png").await;
    };
    let outcome = AssertUnwindSafe(check).catch_unwind().await;
    let _ = timeout(LIMIT, client.close()).await;
    assert!(r.shutdown().await, "the server shut down in time");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
