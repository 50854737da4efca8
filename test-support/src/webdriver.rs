//! A WebDriver server (chromedriver or geckodriver) as a child process on a free loopback
//! port, for a WebDriver client such as fantoccini. It is killed when its [`Driver`] is
//! dropped, so a failing test leaves no driver behind.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::probe::free_port;
use crate::wait::LIMIT;

/// A running WebDriver server.
pub struct Driver {
    child: Child,
    /// Where a WebDriver client connects: `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `browser`'s driver and waits (bounded) until it accepts connections. Check
/// [`crate::browser::require`] first: a driver that cannot start fails the test here.
pub async fn start(browser: Browser) -> Driver {
    let bin = browser.driver().path();
    let port = free_port();
    let args: Vec<String> = match browser {
        Browser::Chromium => vec![format!("--port={port}")],
        Browser::Firefox => vec!["--port".into(), port.to_string(), "--log".into(), "error".into()],
    };
    let child = Command::new(&bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{bin}` ({e}): run scripts/install-chromium.sh first"));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut driver = Driver { child, url: format!("http://{addr}") };
    let deadline = Instant::now() + LIMIT;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if let Ok(Some(status)) = driver.child.try_wait() {
            panic!("`{bin}` exited ({status}) before it listened on {addr}");
        }
        assert!(Instant::now() < deadline, "`{bin}` did not listen on {addr} within {LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    driver
}
