//! Query strings built on either side: a filtered view's download address, an error carried
//! back to a form.

/// `k=v&…`, each value percent-encoded (everything but RFC 3986's unreserved characters).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_encoded_and_names_kept() {
        assert_eq!(
            super::query_string(&[("actor", "ada lovelace"), ("to", "a&b=c/é")]),
            "actor=ada%20lovelace&to=a%26b%3Dc%2F%C3%A9"
        );
    }
}
