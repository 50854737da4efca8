//! Starting and stopping the server.
//!
//! [`start`] binds the listener, starts the feed's source and the accept loop, and returns a
//! [`Running`] handle; [`Running::shutdown`] stops accepting, tells every connection to
//! finish (WebSockets close with 1001, held long polls are answered, SSE streams end) and
//! waits up to `--shutdown-grace` for them. With `--tls` the same port also serves HTTPS
//! (see [`crate::net::listener`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;
use crate::feed::{EventSource, Feed, FeedOptions, Generator};
use crate::net::listener;
use crate::net::tls::{Tls, TlsError};
use crate::shutdown::Shutdown;

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    /// The TLS setup under `--tls`: its certificate and fingerprint.
    pub tls: Option<Tls>,
}

/// Binds `config.addr` and serves the embedded generator's feed, or, with `--feed nats://…`
/// or `--publish nats://…`, is a cluster node or the cluster's publisher (`cluster.rs`).
pub async fn start(config: Config) -> io::Result<Running> {
    if config.feed_nats_url().is_some() || config.publish.is_some() {
        return crate::cluster::start(config).await;
    }
    let source = Generator::with_speed(config.matches, config.rate, config.seed, config.match_speed);
    start_with_source(config, source).await
}

/// Binds `config.addr` and serves the feed of `source`.
pub async fn start_with_source<S: EventSource>(config: Config, source: S) -> io::Result<Running> {
    let listener = TcpListener::bind(config.addr).await?;
    let feed = Feed::new(source.initial_matches(), feed_options(&config));
    let running = serve_feed(config, listener, feed.clone())?;
    let shutdown = running.app.shutdown.clone();
    shutdown.spawn(feed.pump(source, shutdown.clone()));
    Ok(running)
}

/// The feed's sizes from the configuration (a fresh epoch).
pub fn feed_options(config: &Config) -> FeedOptions {
    FeedOptions {
        ring: config.ring as usize,
        payload_bytes: config.payload_bytes as usize,
        client_queue: config.client_queue as usize,
        epoch: None,
    }
}

/// Serves `feed` on `listener` (HTTPS beside cleartext under `--tls`); whoever fills the feed
/// spawns that on `app.shutdown`.
pub fn serve_feed(config: Config, listener: TcpListener, feed: Arc<Feed>) -> io::Result<Running> {
    let tls = match config.tls {
        true => {
            let files = config.cert.as_deref().zip(config.key.as_deref());
            Some(Tls::new(files).map_err(|e: TlsError| io::Error::new(io::ErrorKind::InvalidInput, e))?)
        }
        false => None,
    };
    let addr = listener.local_addr()?;
    let shutdown = Shutdown::new();
    let app = App::new(config, feed, shutdown.clone());
    shutdown.spawn(listener::accept_loop(listener, app.clone(), tls.clone()));
    tracing::info!(%addr, "serving");
    if let Some(t) = &tls {
        tracing::info!(sha256 = %t.fingerprint, self_signed = t.self_signed, "serving HTTPS on the same port");
    }
    Ok(Running { addr, app, tls })
}

impl Running {
    /// Graceful shutdown; returns whether every task ended within the grace period.
    pub async fn shutdown(self) -> bool {
        let s = &self.app.shutdown;
        s.cancel();
        let done = s.wait(self.app.config.shutdown_grace).await;
        if !done {
            tracing::warn!(left = s.running(), "tasks still running after the grace period");
        }
        done
    }

    /// The base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The HTTPS base URL, `https://ADDR`, under `--tls`.
    pub fn tls_url(&self) -> Option<String> {
        self.tls.as_ref().map(|_| format!("https://{}", self.addr))
    }
}

/// Serves `config` until Ctrl-C or SIGTERM, then shuts down gracefully: the whole of the
/// `server` binary, and the load generator's embedded server process. Prints the listening
/// URL on stdout as `pushpull server listening on http://ADDR` (the embedding process reads
/// that line), and under `--tls` a second line, `pushpull server tls sha256=HEX listening on
/// https://ADDR`, after `--cert-out` (if given) has been written.
pub async fn run_until_signal(config: Config) -> anyhow::Result<()> {
    let source = Generator::with_speed(config.matches, config.rate, config.seed, config.match_speed);
    run_until_signal_with_source(config, source).await
}

/// [`run_until_signal`] with the feed of `source` (the load generator's embedded server
/// passes a [`Replay`](crate::feed::replay::Replay) it can restart between steps).
pub async fn run_until_signal_with_source<S: EventSource>(config: Config, source: S) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use tokio::signal::unix::{signal, SignalKind};

    let fds = proto::process::raise_fd_limit();
    let addr = config.addr;
    let cert_out = config.cert_out.clone();
    // A cluster node or publisher (`--feed nats://…`, `--publish`) takes its feed from NATS or
    // from the generator (`cluster.rs`), never from `source`.
    let cluster = config.feed_nats_url().is_some() || config.publish.is_some();
    let running = if cluster { start(config).await } else { start_with_source(config, source).await }
        .with_context(|| format!("while starting the server on {addr}"))?;
    if let (Some(path), Some(tls)) = (&cert_out, &running.tls) {
        std::fs::write(path, &tls.cert_pem)
            .with_context(|| format!("while writing the certificate to {}", path.display()))?;
    }
    tracing::info!(url = %running.url(), open_files = fds, "pushpull server ready; Ctrl-C to stop");
    println!("pushpull server listening on {}", running.url());
    if let (Some(tls), Some(url)) = (&running.tls, running.tls_url()) {
        println!("pushpull server tls sha256={} listening on {url}", tls.fingerprint);
    }
    let mut term = signal(SignalKind::terminate()).context("while installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("while waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    if !running.shutdown().await {
        tracing::warn!("some connections did not finish within the grace period");
    }
    Ok(())
}
