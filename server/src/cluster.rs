//! Starting a server that is part of a cluster: the publisher or a node.
//!
//! The publisher is the ordinary server (embedded generator, all five transports) that also
//! forwards its feed to NATS; a node's feed starts from the publisher's snapshot and follows
//! the events from NATS (`feed::nats`). Both wait at most `--feed-wait` for NATS at start.

use std::io;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::feed::{nats, Generator};
use crate::serve::{self, Running};

/// Starts the publisher (`--publish`) or a node (`--feed nats://…`).
pub async fn start(config: Config) -> io::Result<Running> {
    if let Some(url) = config.feed_nats_url().map(str::to_owned) {
        let client = nats::connect(&url, config.feed_wait).await.map_err(io::Error::other)?;
        let (feed, events) = nats::join(&client, serve::feed_options(&config), config.feed_wait)
            .await
            .map_err(io::Error::other)?;
        let listener = TcpListener::bind(config.addr).await?;
        let running = serve::serve_feed(config, listener, feed.clone())?;
        let app = &running.app;
        app.shutdown.spawn(nats::follow(feed, client, events, app.metrics.clone(), app.shutdown.clone()));
        tracing::info!(%url, seq = app.feed.latest_seq(), "cluster node following NATS");
        return Ok(running);
    }
    let url =
        config.publish.clone().ok_or_else(|| io::Error::other("neither --feed nats:// nor --publish"))?;
    let client = nats::connect(&url, config.feed_wait).await.map_err(io::Error::other)?;
    let source = Generator::with_speed(config.matches, config.rate, config.seed, config.match_speed);
    let running = serve::start_with_source(config, source).await?;
    let (feed, shutdown) = (running.app.feed.clone(), running.app.shutdown.clone());
    running.app.shutdown.spawn(async move {
        if let Err(e) = nats::publish(feed, client, shutdown).await {
            tracing::error!(error = %e, "the publisher stopped publishing to NATS");
        }
    });
    tracing::info!(%url, "publishing the feed to NATS");
    Ok(running)
}
