//! The admin token check.
//!
//! Invariant: access is granted only when a token is configured and the
//! request's `Authorization: Bearer <token>` matches it exactly. The two
//! values are compared through their SHA-256 digests, so the comparison's
//! timing says nothing about the secret.

use edgeswarm_protocol::sha256;

/// Whether `authorization` (the header value, if any) carries `expected`.
/// A missing or empty configured token denies everything.
pub fn authorized(authorization: Option<&str>, expected: Option<&str>) -> bool {
    let Some(expected) = expected.filter(|e| !e.is_empty()) else {
        return false;
    };
    let Some(given) = authorization.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    sha256(given.as_bytes()) == sha256(expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        assert!(authorized(Some("Bearer s3cret"), Some("s3cret")));
        assert!(!authorized(Some("Bearer s3cret "), Some("s3cret")));
        assert!(!authorized(Some("bearer s3cret"), Some("s3cret")));
        assert!(!authorized(Some("s3cret"), Some("s3cret")));
        assert!(!authorized(None, Some("s3cret")));
        assert!(!authorized(Some("Bearer "), Some("")));
        assert!(!authorized(Some("Bearer x"), None));
    }
}
