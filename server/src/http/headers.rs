//! Headers that carry a comma-separated list of tokens (`Connection: keep-alive, Upgrade`,
//! `Upgrade: websocket`, `If-None-Match: "3", "4"`), read one way everywhere.
//!
//! A header may also be repeated; every occurrence counts, as RFC 9110 §5.3 says a list
//! split over several lines means the same as one line. Values that are not visible ASCII
//! are skipped, never an error.

use http::header::{AsHeaderName, HeaderMap};

/// Every token of every `name` header, trimmed, in order.
pub fn tokens<K: AsHeaderName>(headers: &HeaderMap, name: K) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// Whether a `name` header lists `token` (compared case-insensitively, as header tokens are).
pub fn has_token<K: AsHeaderName>(headers: &HeaderMap, name: K, token: &str) -> bool {
    tokens(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{CONNECTION, IF_NONE_MATCH};

    #[test]
    fn lists_split_over_values_and_lines() {
        let mut h = HeaderMap::new();
        h.append(CONNECTION, "keep-alive, Upgrade".parse().expect("value"));
        h.append(CONNECTION, "close".parse().expect("value"));
        h.append(IF_NONE_MATCH, "\"3\" ,\"4\"".parse().expect("value"));
        assert!(has_token(&h, CONNECTION, "upgrade"));
        assert!(has_token(&h, CONNECTION, "CLOSE"));
        assert!(!has_token(&h, CONNECTION, "keep"));
        assert_eq!(tokens(&h, IF_NONE_MATCH).collect::<Vec<_>>(), ["\"3\"", "\"4\""]);
        assert_eq!(tokens(&h, "upgrade").count(), 0);
    }
}
