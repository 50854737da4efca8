//! Query-string parameters of the feed endpoints, validated before anything happens.
//!
//! A value that is present but not a valid number is a 400 with a sentence saying which
//! parameter and why; unknown parameters (cache busters such as `_=123`) are ignored.

use std::time::Duration;

/// The parameters pushpull's endpoints understand.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FeedQuery {
    /// `since=S`: the last seq the client has.
    pub since: Option<u64>,
    /// `wait=T`: hold the request up to T seconds (long poll).
    pub wait: Option<Duration>,
    /// `page=ID`: the demo page's id, to tally this page's bytes.
    pub page: Option<String>,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("`since` must be a whole number ≥ 0 (the last seq you have), not `{0}`")]
    Since(String),
    #[error("`wait` must be a number of seconds ≥ 0, not `{0}`")]
    Wait(String),
    #[error("`page` must be 1 to 64 letters, digits, `-` or `_`")]
    Page,
    #[error("`{0}` is given more than once")]
    Repeated(&'static str),
}

impl FeedQuery {
    pub fn parse(query: Option<&str>) -> Result<FeedQuery, QueryError> {
        let mut q = FeedQuery::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "since" => {
                    let v = value.parse().map_err(|_| QueryError::Since(clip(value)))?;
                    if q.since.replace(v).is_some() {
                        return Err(QueryError::Repeated("since"));
                    }
                }
                "wait" => {
                    let secs: f64 = value.parse().map_err(|_| QueryError::Wait(clip(value)))?;
                    if !(0.0..=86_400.0).contains(&secs) {
                        return Err(QueryError::Wait(clip(value)));
                    }
                    if q.wait.replace(Duration::from_secs_f64(secs)).is_some() {
                        return Err(QueryError::Repeated("wait"));
                    }
                }
                "page" => {
                    let ok = (1..=64).contains(&value.len())
                        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                    if !ok {
                        return Err(QueryError::Page);
                    }
                    q.page = Some(value.to_string());
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

/// Echoes at most 32 characters of a bad value back.
fn clip(v: &str) -> String {
    v.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_queries() {
        assert_eq!(FeedQuery::parse(None), Ok(FeedQuery::default()));
        let q = FeedQuery::parse(Some("since=5&wait=1.5&_=9&page=ab-1")).expect("valid");
        assert_eq!(q.since, Some(5));
        assert_eq!(q.wait, Some(Duration::from_millis(1500)));
        assert_eq!(q.page.as_deref(), Some("ab-1"));
    }

    #[test]
    fn bad_queries_say_why() {
        assert_eq!(FeedQuery::parse(Some("since=abc")), Err(QueryError::Since("abc".into())));
        assert_eq!(FeedQuery::parse(Some("since=-1")), Err(QueryError::Since("-1".into())));
        assert_eq!(FeedQuery::parse(Some("since=")), Err(QueryError::Since("".into())));
        assert_eq!(FeedQuery::parse(Some("wait=-1")), Err(QueryError::Wait("-1".into())));
        assert_eq!(FeedQuery::parse(Some("wait=NaN")), Err(QueryError::Wait("NaN".into())));
        assert_eq!(FeedQuery::parse(Some("wait=inf")), Err(QueryError::Wait("inf".into())));
        assert_eq!(FeedQuery::parse(Some("since=1&since=2")), Err(QueryError::Repeated("since")));
        assert_eq!(FeedQuery::parse(Some("page=a%20b")), Err(QueryError::Page));
    }
}
