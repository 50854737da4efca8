//! Connections: accepting them within the limit, telling TLS, HTTP/2 and HTTP/1.1 apart, and
//! the metered socket they run on.

pub mod listener;
pub mod metered;
pub mod sniff;
pub mod stall;
pub mod tls;
