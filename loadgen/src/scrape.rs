//! Reading the server's `/metrics` on a connection of the load generator's own (counted by
//! the server as `other`, so it never pollutes the transport under test).
//!
//! The first page a [`Scraper`] reads must carry every metric `proto` names
//! ([`Sample::check_complete`]): a server this load generator cannot measure is found out
//! before the first step, by name, not by a silent zero in the middle of the run.

use std::time::Duration;

use bytes::Bytes;
use proto::metrics::{MetricError, Sample};

use crate::client::http::{get, Conn};
use crate::client::Dialer;
use crate::event_delay::EventTimes;
use crate::failure::Failure;
use crate::feed_times::{self, TimesError};

/// Bound on one reading.
const SCRAPE_LIMIT: Duration = Duration::from_secs(5);

/// Why a reading failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// No answer, or an error status: the server may be gone.
    #[error("{server}/metrics did not answer: {failure}")]
    Unanswered { server: String, failure: Failure },
    /// An answer that is not a `/metrics` page this load generator can read.
    #[error("the server at {server} cannot be measured: {source}")]
    Unreadable { server: String, source: MetricError },
}

pub struct Scraper {
    /// The node's name in `results.json`: its `--target` URL (or the embedded server's).
    name: String,
    /// The server's address (cleartext if it has one, else TLS), always HTTP/1.1.
    dialer: Dialer,
    host: String,
    conn: Option<Conn>,
    /// Whether a page has been checked for completeness yet.
    checked: bool,
}

impl Scraper {
    pub fn new(dialer: Dialer) -> Scraper {
        let name = format!("{}://{}", dialer.scheme(), dialer.host);
        Scraper { name, host: dialer.host.clone(), dialer, conn: None, checked: false }
    }

    /// This scraper, naming its node `name` (the `--target` URL as given).
    pub fn named(self, name: String) -> Scraper {
        Scraper { name, ..self }
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server, as its `Host` header names it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// One reading of every counter; the first one is checked to carry every metric.
    pub async fn sample(&mut self) -> Result<Sample, ScrapeError> {
        let body = self
            .fetch()
            .await
            .map_err(|failure| ScrapeError::Unanswered { server: self.host.clone(), failure })?;
        let unreadable = |source| ScrapeError::Unreadable { server: self.host.clone(), source };
        let text =
            std::str::from_utf8(&body).map_err(|e| unreadable(MetricError::Malformed(e.to_string())))?;
        let sample = Sample::parse(text).map_err(unreadable)?;
        if !self.checked {
            sample.check_complete().map_err(unreadable)?;
            self.checked = true;
        }
        Ok(sample)
    }

    /// The publication times of events `(from, to]` of `epoch`, on the same connection
    /// (see [`crate::feed_times`]); call it only after the window's closing reading.
    pub async fn event_times(&mut self, epoch: u64, from: u64, to: u64) -> Result<EventTimes, TimesError> {
        let host = self.host.clone();
        let conn = self.conn().await.map_err(TimesError::Request)?;
        let r = feed_times::read(conn, &host, epoch, from, to).await;
        if matches!(r, Err(TimesError::Request(_))) {
            self.conn = None;
        }
        r
    }

    /// The kept-alive connection, opened again after a failure.
    async fn conn(&mut self) -> Result<&mut Conn, Failure> {
        if !self.conn.as_ref().is_some_and(Conn::is_open) {
            self.conn = Some(self.dialer.http(None).await?);
        }
        Ok(self.conn.as_mut().expect("opened just above"))
    }

    /// The page, on the kept-alive connection.
    async fn fetch(&mut self) -> Result<Bytes, Failure> {
        let host = self.host.clone();
        let conn = self.conn().await?;
        let answer = match conn.fetch(get(&host, "/metrics"), SCRAPE_LIMIT).await {
            Ok(a) => a,
            Err(e) => {
                self.conn = None;
                return Err(e);
            }
        };
        if let Some(e) = Failure::status(answer.status.as_u16()) {
            return Err(e);
        }
        Ok(answer.body)
    }
}
