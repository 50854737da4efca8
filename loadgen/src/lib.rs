//! The load generator (runner in progress).
pub mod report;
pub mod results;
