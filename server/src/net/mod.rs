//! Connections: accepting them within the limit, and the metered socket they run on.

pub mod listener;
pub mod metered;
