//! Console URLs carry their state (search, page, selected user) so they can be shared and
//! reloaded; this builds them.

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `path?k=v&…`, leaving out empty values.
pub fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", encode(v)))
        })
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_encoded_queries_without_empty_values() {
        assert_eq!(
            with_query(
                "/users",
                &[("q", Some("ada l&x")), ("after", None), ("user", Some(""))]
            ),
            "/users?q=ada%20l%26x"
        );
        assert_eq!(with_query("/users", &[]), "/users");
        assert_eq!(encode("é"), "%C3%A9");
    }
}
