//! Reading the server's `/metrics` on a connection of the load generator's own (counted by
//! the server as `other`, so it never pollutes the transport under test).

use std::net::SocketAddr;
use std::time::Duration;

use proto::metrics::{Sample, Single};

use crate::client::http::{get, Conn};
use crate::failure::Failure;

pub struct Scraper {
    target: SocketAddr,
    host: String,
    conn: Option<Conn>,
}

impl Scraper {
    pub fn new(target: SocketAddr, host: String) -> Scraper {
        Scraper { target, host, conn: None }
    }

    /// One reading of every counter.
    pub async fn sample(&mut self) -> Result<Sample, Failure> {
        if self.conn.as_ref().is_none_or(|c| !c.is_open()) {
            self.conn = Some(Conn::open(self.target, None).await?);
        }
        let conn = self.conn.as_mut().expect("just opened");
        let answer = match conn.fetch(get(&self.host, "/metrics"), Duration::from_secs(5)).await {
            Ok(a) => a,
            Err(e) => {
                self.conn = None;
                return Err(e);
            }
        };
        if let Some(e) = Failure::status(answer.status.as_u16()) {
            return Err(e);
        }
        let text = std::str::from_utf8(&answer.body).map_err(Failure::protocol)?;
        let s = Sample::parse(text).map_err(Failure::protocol)?;
        s.get(Single::FeedSeq).map_err(Failure::protocol)?;
        Ok(s)
    }
}
