//! Why a request or connection failed: the [`ErrorKind`] that is counted, and the cause behind
//! it.
//!
//! `results.json` counts failures by kind only (thousands of clients fail alike), so the cause
//! is what a person reads: clients log it at debug level (`RUST_LOG=loadgen=debug`), and where a
//! run ends because of a failure, its message carries it.

use std::io;
use std::time::Duration;

/// What caused a failure: the underlying error, or a sentence where there is none.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The counted category of a failed request or connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The TCP connection could not be made (refused, unreachable, out of ports).
    Connect,
    /// The server reset or closed a connection that should have stayed open.
    Reset,
    /// A request, connect or handshake took longer than its bound.
    Timeout,
    /// 4xx answers other than 410.
    Http4xx,
    /// 410: the client's cursor had left the server's ring.
    Gone,
    /// 5xx answers (503 at the connection limit among them).
    Http5xx,
    /// An answer that does not parse, or a WebSocket protocol error.
    Protocol,
    /// The feed's epoch changed: the server restarted.
    Restart,
    /// This process had no file descriptor left for a new socket (EMFILE, ENFILE): a limit of
    /// the load generator's machine, not a failure of the server.
    OpenFiles,
}

impl ErrorKind {
    /// The key this kind is counted under in `results.json`.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Reset => "reset",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Http4xx => "http_4xx",
            ErrorKind::Gone => "http_410_gone",
            ErrorKind::Http5xx => "http_5xx",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Restart => "server_restart",
            ErrorKind::OpenFiles => "open_files",
        }
    }

    /// The kind of an I/O error on an established connection.
    pub fn of_io(e: &io::Error) -> ErrorKind {
        match e.kind() {
            io::ErrorKind::TimedOut => ErrorKind::Timeout,
            io::ErrorKind::InvalidData => ErrorKind::Protocol,
            _ => ErrorKind::Reset,
        }
    }

    /// The kind of an HTTP status that is an error, if it is one.
    pub fn of_status(status: u16) -> Option<ErrorKind> {
        match status {
            410 => Some(ErrorKind::Gone),
            400..=499 => Some(ErrorKind::Http4xx),
            500..=599 => Some(ErrorKind::Http5xx),
            _ => None,
        }
    }
}

/// A failed request or connection: its kind and its cause.
#[derive(Debug, thiserror::Error)]
#[error("{}: {cause}", kind.label())]
pub struct Failure {
    kind: ErrorKind,
    cause: Cause,
}

impl Failure {
    pub fn new(kind: ErrorKind, cause: impl Into<Cause>) -> Failure {
        Failure { kind, cause: cause.into() }
    }

    /// The counted category.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// A socket that could not be made or connected: out of file descriptors is told apart
    /// from the server's refusal.
    pub fn connect(e: io::Error) -> Failure {
        // EMFILE and ENFILE (Linux numbers; std has no ErrorKind for them).
        let kind = match e.raw_os_error() {
            Some(24 | 23) => ErrorKind::OpenFiles,
            _ => ErrorKind::Connect,
        };
        Failure::new(kind, e)
    }

    /// An I/O error on an established connection.
    pub fn io(e: io::Error) -> Failure {
        Failure::new(ErrorKind::of_io(&e), e)
    }

    /// An answer that does not parse.
    pub fn protocol(cause: impl Into<Cause>) -> Failure {
        Failure::new(ErrorKind::Protocol, cause)
    }

    /// `what` did not finish within `limit`.
    pub fn timeout(what: &str, limit: Duration) -> Failure {
        Failure::new(
            ErrorKind::Timeout,
            format!("{what} took longer than {}", humantime::format_duration(limit)),
        )
    }

    /// An HTTP status that is an error, if it is one.
    pub fn status(status: u16) -> Option<Failure> {
        ErrorKind::of_status(status).map(|kind| Failure::new(kind, format!("the server answered {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_io_errors_have_kinds() {
        assert_eq!(ErrorKind::of_status(200), None);
        assert_eq!(ErrorKind::of_status(304), None);
        assert_eq!(ErrorKind::of_status(410), Some(ErrorKind::Gone));
        assert_eq!(ErrorKind::of_status(404), Some(ErrorKind::Http4xx));
        assert_eq!(ErrorKind::of_status(503), Some(ErrorKind::Http5xx));
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "x");
        assert_eq!(ErrorKind::of_io(&reset), ErrorKind::Reset);
    }

    #[test]
    fn a_failure_keeps_its_cause_beside_its_kind() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
        let f = Failure::new(ErrorKind::Connect, refused);
        assert_eq!(f.kind(), ErrorKind::Connect);
        assert_eq!(f.to_string(), "connect: connection refused");
        let f = Failure::status(503).expect("an error status");
        assert_eq!(
            (f.kind(), f.to_string().as_str()),
            (ErrorKind::Http5xx, "http_5xx: the server answered 503")
        );
        assert!(Failure::status(304).is_none());
        let emfile = Failure::connect(io::Error::from_raw_os_error(24));
        assert_eq!(emfile.kind(), ErrorKind::OpenFiles);
        assert!(emfile.to_string().starts_with("open_files: "), "{emfile}");
        let refused = Failure::connect(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(refused.kind(), ErrorKind::Connect);
        let t = Failure::timeout("the TCP connect", Duration::from_secs(5));
        assert_eq!(t.to_string(), "timeout: the TCP connect took longer than 5s");
    }
}
