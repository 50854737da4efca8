//! Helpers pushpull's tests share: a dev-dependency of every crate's tests, never of the
//! crates themselves.
