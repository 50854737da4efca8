//! Every endpoint in one table: its path, the channel its bytes count for, the methods it
//! answers and the handler that answers it.
//!
//! The router reads the table for all three questions: which channel a request's bytes count
//! for (asked before anything else, so even a refused request lands on the right counter),
//! whether its method is allowed (405 with `Allow` from the same row), and which handler runs.
//! The first matching row wins; `/api/events` has two rows, told apart by `wait` in the query.

use http::Method;
use proto::{Channel, Transport};

/// What answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    ShortPoll,
    /// Delta and long polling: one handler, `wait` decides.
    Events,
    Sse,
    Ws,
    WsEcho,
    Health,
    Time,
    Metrics,
    PageStats,
    DemoAsset,
}

/// The paths a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Is(&'static str),
    /// Any of the demo page's embedded files ([`crate::demo::is_asset`]).
    DemoAsset,
}

/// One row of [`ROUTES`].
#[derive(Debug)]
pub struct Route {
    pub path: Path,
    /// The row applies only when the query has this parameter.
    pub when_query_has: Option<&'static str>,
    pub channel: Channel,
    pub methods: &'static [Method],
    pub handler: Handler,
}

/// Every endpoint reads; none takes a body.
const READ: &[Method] = &[Method::GET, Method::HEAD];

const fn read(path: Path, channel: Channel, handler: Handler) -> Route {
    Route { path, when_query_has: None, channel, methods: READ, handler }
}

const fn feed(path: &'static str, transport: Transport, handler: Handler) -> Route {
    read(Path::Is(path), Channel::Feed(transport), handler)
}

const fn other(path: &'static str, handler: Handler) -> Route {
    read(Path::Is(path), Channel::Other, handler)
}

/// The server's endpoints; see the module doc.
pub static ROUTES: [Route; 11] = [
    feed("/api/scores", Transport::ShortPoll, Handler::ShortPoll),
    Route { when_query_has: Some("wait"), ..feed("/api/events", Transport::LongPoll, Handler::Events) },
    feed("/api/events", Transport::DeltaPoll, Handler::Events),
    feed("/sse", Transport::Sse, Handler::Sse),
    feed("/ws", Transport::Ws, Handler::Ws),
    read(Path::Is("/ws/echo"), Channel::WsEcho, Handler::WsEcho),
    other("/healthz", Handler::Health),
    // The server's clock, for clients on other hosts to estimate their offset.
    other("/api/time", Handler::Time),
    other("/metrics", Handler::Metrics),
    other("/api/page", Handler::PageStats),
    read(Path::DemoAsset, Channel::Other, Handler::DemoAsset),
];

impl Route {
    fn matches(&self, path: &str, query: Option<&str>) -> bool {
        let path_matches = match self.path {
            Path::Is(p) => p == path,
            Path::DemoAsset => crate::demo::is_asset(path),
        };
        path_matches && self.when_query_has.is_none_or(|key| has_param(query, key))
    }

    pub fn allows(&self, method: &Method) -> bool {
        self.methods.contains(method)
    }

    /// Whether an HTTP/2 extended CONNECT (RFC 8441) may open this route: the WebSocket
    /// routes, whose GET is an upgrade on HTTP/1.1.
    pub fn takes_extended_connect(&self) -> bool {
        matches!(self.handler, Handler::Ws | Handler::WsEcho)
    }

    /// The `Allow` header's value.
    pub fn allow(&self) -> String {
        self.methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ")
    }
}

/// The route of a request, if any.
pub fn find(path: &str, query: Option<&str>) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.matches(path, query))
}

/// The channel a request's bytes count for (`other` for anything unknown).
pub fn channel_of(path: &str, query: Option<&str>) -> Channel {
    find(path, query).map_or(Channel::Other, |r| r.channel)
}

/// Whether the query has `key`, with or without a value (`wait`, `wait=5`).
fn has_param(query: Option<&str>, key: &str) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|p| p.strip_prefix(key).is_some_and(|rest| rest.is_empty() || rest.starts_with('=')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_transports() {
        assert_eq!(channel_of("/api/scores", None), Channel::Feed(Transport::ShortPoll));
        assert_eq!(channel_of("/api/events", Some("since=1")), Channel::Feed(Transport::DeltaPoll));
        assert_eq!(channel_of("/api/events", Some("since=1&wait=30")), Channel::Feed(Transport::LongPoll));
        assert_eq!(channel_of("/api/events", Some("wait")), Channel::Feed(Transport::LongPoll));
        assert_eq!(channel_of("/api/events", Some("waiting=1")), Channel::Feed(Transport::DeltaPoll));
        assert_eq!(channel_of("/sse", None), Channel::Feed(Transport::Sse));
        assert_eq!(channel_of("/ws", Some("since=4")), Channel::Feed(Transport::Ws));
        assert_eq!(channel_of("/ws/echo", None), Channel::WsEcho);
        assert_eq!(channel_of("/metrics", None), Channel::Other);
        assert_eq!(channel_of("/nowhere", None), Channel::Other);
    }

    #[test]
    fn every_route_reads_and_says_so() {
        for r in &ROUTES {
            assert!(r.allows(&Method::GET) && r.allows(&Method::HEAD) && !r.allows(&Method::POST));
            assert_eq!(r.allow(), "GET, HEAD");
        }
        assert_eq!(find("/", None).map(|r| r.handler), Some(Handler::DemoAsset));
        assert!(find("/demo/nope.js", None).is_none());
    }
}
