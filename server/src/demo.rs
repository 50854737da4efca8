//! The classroom demo page at `/` (issue 6 fills in the page itself).

use http::Response;

use crate::app::App;
use crate::http::query::FeedQuery;
use crate::http::response::{self, Body};

/// Whether `path` is one of the demo's embedded assets.
pub fn is_asset(_path: &str) -> bool {
    false
}

/// Serves the demo page and its assets.
pub fn handle(_app: &App, path: &str, _query: &FeedQuery) -> Response<Body> {
    response::not_found(path)
}
