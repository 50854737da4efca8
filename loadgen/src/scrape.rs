//! Reading the server's `/metrics` on a connection of the load generator's own (counted by
//! the server as `other`, so it never pollutes the transport under test).
//!
//! The first page a [`Scraper`] reads must carry every metric `proto` names
//! ([`Sample::check_complete`]): a server this load generator cannot measure is found out
//! before the first step, by name, not by a silent zero in the middle of the run.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use proto::metrics::{MetricError, Sample};

use crate::client::http::{get, Conn};
use crate::failure::Failure;

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
    target: SocketAddr,
    host: String,
    conn: Option<Conn>,
    /// Whether a page has been checked for completeness yet.
    checked: bool,
}

impl Scraper {
    pub fn new(target: SocketAddr, host: String) -> Scraper {
        Scraper { target, host, conn: None, checked: false }
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

    /// The page, on the kept-alive connection (opened again after a failure).
    async fn fetch(&mut self) -> Result<Bytes, Failure> {
        let conn = match &mut self.conn {
            Some(c) if c.is_open() => c,
            slot => slot.insert(Conn::open(self.target, None).await?),
        };
        let answer = match conn.fetch(get(&self.host, "/metrics"), SCRAPE_LIMIT).await {
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
