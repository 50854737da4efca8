//! The publication time of every event of a window, read from the feed itself
//! (`GET /api/events?since=`) once the window has closed, so that an event a client only saw
//! inside a later snapshot still gets a delay of its own ([`crate::event_delay`]).
//!
//! It is read on the load generator's own connection after the window's closing reading, so
//! the transport under test is never charged for it, and it works against a server on another
//! host. A window that published more events than the server's ring holds is refused with a
//! clear error (the server answers 410), never guessed.

use std::time::Duration;

use proto::wire::{EventsPageHead, Gone};
use thiserror::Error;

use crate::client::http::{get, Conn};
use crate::event_delay::EventTimes;
use crate::failure::Failure;

/// Longest one page of events may take to arrive.
const PAGE_LIMIT: Duration = Duration::from_secs(10);

/// Why the window's event times could not be read.
#[derive(Debug, Error)]
pub enum TimesError {
    #[error(
        "the window published events {from}..={to}, but the server's ring no longer holds the oldest \
         of them ({server_says}); raise the server's --ring or shorten --duration"
    )]
    RingTooSmall { from: u64, to: u64, server_says: String },
    #[error("the server restarted (epoch {found} instead of {expected}) before the window's event times were read")]
    Restarted { expected: u64, found: u64 },
    #[error("reading /api/events failed: {0}")]
    Request(Failure),
    #[error("/api/events answered something that is not an events page: {0}")]
    Malformed(String),
}

/// Reads the times of events `(from, to]` of `epoch` on `conn`, page by page.
pub async fn read(
    conn: &mut Conn,
    host: &str,
    epoch: u64,
    from: u64,
    to: u64,
) -> Result<EventTimes, TimesError> {
    let mut ts_us = Vec::with_capacity(usize::try_from(to.saturating_sub(from)).unwrap_or(0));
    let mut cursor = from;
    // Every page moves the cursor on by at least one event, so this ends within the window's
    // own number of pages.
    while cursor < to {
        let answer = conn
            .fetch(get(host, &format!("/api/events?since={cursor}")), PAGE_LIMIT)
            .await
            .map_err(TimesError::Request)?;
        if answer.status.as_u16() == 410 {
            let gone: Gone =
                serde_json::from_slice(&answer.body).map_err(|e| TimesError::Malformed(e.to_string()))?;
            if gone.snapshot.epoch != epoch {
                return Err(TimesError::Restarted { expected: epoch, found: gone.snapshot.epoch });
            }
            return Err(TimesError::RingTooSmall { from: from + 1, to, server_says: gone.error });
        }
        if let Some(e) = Failure::status(answer.status.as_u16()) {
            return Err(TimesError::Request(e));
        }
        let page: EventsPageHead =
            serde_json::from_slice(&answer.body).map_err(|e| TimesError::Malformed(e.to_string()))?;
        if page.epoch != epoch {
            return Err(TimesError::Restarted { expected: epoch, found: page.epoch });
        }
        let before = cursor;
        for e in page.events.iter().take_while(|e| e.seq <= to) {
            if e.seq != cursor + 1 {
                return Err(TimesError::Malformed(format!("seq {} follows {cursor}", e.seq)));
            }
            ts_us.push(e.ts_us);
            cursor = e.seq;
        }
        if cursor == before {
            return Err(TimesError::Malformed(format!(
                "no event after {cursor}, though the window ran to {to}"
            )));
        }
    }
    Ok(EventTimes::new(epoch, from, ts_us))
}
