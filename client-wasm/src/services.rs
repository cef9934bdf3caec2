//! Reading the DO service answers before a download. The answers' types and
//! defaults are the protocol's (`edgeswarm_protocol::services`), the very
//! types the edge worker serializes; this module only adds what a client
//! needs to build request URLs.

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_component("team a/b&c"), "team%20a%2Fb%26c");
        assert_eq!(encode_component("ok-._~9"), "ok-._~9");
    }
}
