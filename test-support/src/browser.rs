//! The two browsers the tests drive headless: where each one and its WebDriver are (the
//! `PUSHPULL_CHROMIUM`, `PUSHPULL_CHROMEDRIVER`, `PUSHPULL_FIREFOX` and `PUSHPULL_GECKODRIVER`
//! variables override the defaults), the flags they start with, and the rule for a missing
//! one: outside CI the test skips with a printed message; under `CI=true` it fails, so a CI
//! machine without its browsers goes red instead of green.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Map, Value};

/// Chromium's flags for a headless run on a machine whose only network is loopback: without
/// the background-networking ones it keeps trying Google's hosts, and without
/// `--disable-dev-shm-usage` it can crash in a container with a small `/dev/shm`.
pub const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// The browsers the tests run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Chromium,
    Firefox,
}

/// A program a browser test starts: the variable that names it, or its default.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    var: &'static str,
    default: &'static str,
}

impl Program {
    /// The path or name to run.
    pub fn path(self) -> String {
        std::env::var(self.var).unwrap_or_else(|_| self.default.to_string())
    }

    /// Why it cannot be run, if it cannot: not found (by path, or on `PATH` for a bare name)
    /// or not executable.
    fn missing(self) -> Option<String> {
        let path = self.path();
        let source = match std::env::var_os(self.var) {
            Some(_) => format!("from {}", self.var),
            None => format!("the default; {} overrides it", self.var),
        };
        which::which(&path).err().map(|e| format!("`{path}` ({source}): {e}"))
    }
}

impl Browser {
    /// The browser itself.
    pub fn binary(self) -> Program {
        match self {
            Browser::Chromium => Program { var: "PUSHPULL_CHROMIUM", default: "/usr/bin/chromium" },
            Browser::Firefox => Program { var: "PUSHPULL_FIREFOX", default: "/usr/bin/firefox-esr" },
        }
    }

    /// Its WebDriver server.
    pub fn driver(self) -> Program {
        match self {
            Browser::Chromium => Program { var: "PUSHPULL_CHROMEDRIVER", default: "chromedriver" },
            Browser::Firefox => Program { var: "PUSHPULL_GECKODRIVER", default: "geckodriver" },
        }
    }

    /// WebDriver capabilities for a headless session in a `width`×`height` window. Chromium
    /// keeps its profile in `profile`; geckodriver makes a fresh one itself.
    pub fn capabilities(self, profile: &Path, (width, height): (u32, u32)) -> Map<String, Value> {
        let caps = match self {
            Browser::Chromium => {
                let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
                args.push("--hide-scrollbars".into());
                args.push(format!("--window-size={width},{height}"));
                args.push(format!("--user-data-dir={}", profile.display()));
                json!({
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": self.binary().path(), "args": args },
                })
            }
            Browser::Firefox => json!({
                "browserName": "firefox",
                "moz:firefoxOptions": {
                    "binary": self.binary().path(),
                    "args": ["-headless", format!("--width={width}"), format!("--height={height}")],
                    // Nothing but loopback: no update, telemetry or connectivity checks.
                    "prefs": {
                        "app.update.auto": false,
                        "browser.shell.checkDefaultBrowser": false,
                        "datareporting.policy.dataSubmissionEnabled": false,
                        "network.captive-portal-service.enabled": false,
                        "network.connectivity-service.enabled": false,
                    },
                },
            }),
        };
        match caps {
            Value::Object(m) => m,
            _ => unreachable!("json! of an object literal is an object"),
        }
    }
}

/// Headless Chromium with [`CHROMIUM_FLAGS`] and its profile in `profile`; the caller adds
/// its own flags and the page.
pub fn chromium(profile: &Path) -> Command {
    let mut cmd = Command::new(Browser::Chromium.binary().path());
    cmd.args(CHROMIUM_FLAGS).arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// Whether this run is CI's: `CI` set to anything but empty, `0` or `false` (CI services
/// set `CI=true`; so does this project's `.ci/run` environment).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")))
}

/// The rule for a test that needs `programs`: `true` when every one can be run. Otherwise,
/// under CI the test fails naming what is missing; elsewhere it prints `SKIPPED: …` and
/// gets `false`, and should return.
#[track_caller]
pub fn require(test: &str, programs: &[Program]) -> bool {
    let missing: Vec<String> = programs.iter().filter_map(|p| p.missing()).collect();
    if missing.is_empty() {
        return true;
    }
    let what = missing.join("; ");
    let install = "install them with scripts/install-chromium.sh";
    if in_ci() {
        panic!(
            "{test} cannot run: missing {what}. Under CI a missing browser or driver is a failure: {install}"
        );
    }
    eprintln!("SKIPPED: {test}: missing {what}; {install} (under CI=true this fails instead)");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABSENT: Program =
        Program { var: "PUSHPULL_TEST_SUPPORT_NO_SUCH_VAR", default: "/nonexistent/browser" };
    const PRESENT: Program = Program { var: "PUSHPULL_TEST_SUPPORT_NO_SUCH_VAR", default: "sh" };

    #[test]
    fn a_program_on_path_or_by_path_is_found_and_a_missing_one_is_named() {
        assert_eq!(PRESENT.missing(), None);
        let why = ABSENT.missing().expect("missing");
        assert!(
            why.contains("/nonexistent/browser") && why.contains("PUSHPULL_TEST_SUPPORT_NO_SUCH_VAR"),
            "{why}"
        );
    }

    #[test]
    fn require_passes_when_everything_is_there() {
        assert!(require("a test", &[PRESENT]));
    }

    // The CI branch of `require` depends on the environment this test runs in, so both
    // outcomes are checked against `in_ci()` rather than by setting `CI` (tests share it).
    #[test]
    fn a_missing_program_skips_outside_ci_and_fails_under_ci() {
        let outcome = std::panic::catch_unwind(|| require("a test", &[PRESENT, ABSENT]));
        match outcome {
            Ok(go) => assert!(!in_ci() && !go, "outside CI: skipped"),
            Err(_) => assert!(in_ci(), "under CI: a failure"),
        }
    }

    #[test]
    fn chromium_starts_headless_with_the_shared_flags_and_its_own_profile() {
        let cmd = chromium(Path::new("/tmp/profile"));
        let args: Vec<_> = cmd.get_args().filter_map(|a| a.to_str()).collect();
        assert_eq!(&args[..CHROMIUM_FLAGS.len()], &CHROMIUM_FLAGS[..]);
        assert_eq!(args.last(), Some(&"--user-data-dir=/tmp/profile"));
        let caps = Browser::Chromium.capabilities(Path::new("/tmp/profile"), (1440, 1000));
        let caps_args = caps["goog:chromeOptions"]["args"].as_array().expect("args");
        assert!(caps_args.iter().any(|a| a == "--window-size=1440,1000"));
        assert!(CHROMIUM_FLAGS.iter().all(|f| caps_args.iter().any(|a| a == f)));
    }
}
