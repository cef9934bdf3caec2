//! Content policy: what a publisher may PUT, what is stored, and what
//! `GET /cp` answers.
//!
//! The policy and answer types are the protocol's
//! (`edgeswarm_protocol::services`), shared with the client and the CLI.
//!
//! Invariants: a [`Policy`] value passed validation (no unknown fields,
//! bounded absolute http(s) URLs). The policy answer is only built when both
//! the policy and the validated metadata facts ([`MetaFacts`]) are stored,
//! so `metadataSha256` always matches the metadata the CDN route serves.

use edgeswarm_protocol::{sha256_hex, ContentId};

use crate::error::ApiError;

pub use edgeswarm_protocol::services::{ContentPolicy, Policy, MAX_POLICY_BYTES, MAX_URL_LEN};

fn check_url(field: &str, url: &str) -> Result<(), ApiError> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > MAX_URL_LEN || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(ApiError::bad_request(
            "bad_policy",
            format!("{field} must be an absolute http(s) URL of at most {MAX_URL_LEN} bytes"),
        ));
    }
    Ok(())
}

/// Parses and validates a policy body.
pub fn parse_policy(body: &[u8]) -> Result<Policy, ApiError> {
    if body.len() > MAX_POLICY_BYTES {
        return Err(too_large());
    }
    let policy: Policy = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_policy", format!("policy JSON: {e}")))?;
    if let Some(u) = &policy.alt_catalog_id {
        check_url("altCatalogId", u)?;
    }
    if let Some(u) = &policy.content_url {
        check_url("contentUrl", u)?;
    }
    Ok(policy)
}

/// The 413 for an oversized policy.
pub fn too_large() -> ApiError {
    ApiError::new(
        413,
        "body_too_large",
        format!("a policy is at most {MAX_POLICY_BYTES} bytes"),
    )
}

/// Storage key of the content id registered for an `altCatalogId`.
pub fn alt_key(alt_catalog_id: &str) -> String {
    format!("alt/{}", sha256_hex(alt_catalog_id.as_bytes()))
}

/// What the worker keeps about validated metadata (R2 custom metadata of
/// the `meta/{id}` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaFacts {
    pub metadata_sha256: String,
    pub file_size: u64,
    pub piece_size: u32,
    pub file_sha256: String,
}

impl MetaFacts {
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        vec![
            ("metadataSha256".into(), self.metadata_sha256.clone()),
            ("fileSize".into(), self.file_size.to_string()),
            ("pieceSize".into(), self.piece_size.to_string()),
            ("fileSha256".into(), self.file_sha256.clone()),
        ]
    }

    /// Whether both describe the same file bytes (size and whole-file hash),
    /// so data stored for one is still valid for the other.
    pub fn same_file(&self, other: &MetaFacts) -> bool {
        self.file_size == other.file_size && self.file_sha256 == other.file_sha256
    }

    /// Reads the facts back; `None` if any is missing or garbled.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        Some(Self {
            metadata_sha256: get("metadataSha256")?,
            file_size: get("fileSize")?.parse().ok()?,
            piece_size: get("pieceSize")?.parse().ok()?,
            file_sha256: get("fileSha256")?,
        })
    }
}

/// Builds the answer; `origin` is the worker's own origin (`https://host`).
pub fn answer(origin: &str, id: &ContentId, policy: &Policy, facts: &MetaFacts) -> ContentPolicy {
    ContentPolicy {
        content_id: id.clone(),
        p2p_allowed: policy.p2p_allowed,
        metadata_url: format!("{origin}/do/v1/meta/{id}"),
        metadata_sha256: facts.metadata_sha256.clone(),
        content_url: policy
            .content_url
            .clone()
            .unwrap_or_else(|| format!("{origin}/do/v1/content/{id}")),
        file_size: facts.file_size,
        piece_size: facts.piece_size,
        file_sha256: facts.file_sha256.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimal_cli_body_is_accepted() {
        let p = parse_policy(br#"{"p2pAllowed": true}"#).unwrap();
        assert!(p.p2p_allowed);
        assert_eq!(p.alt_catalog_id, None);
        assert_eq!(p.content_url, None);
    }

    #[test]
    fn optional_fields_are_validated() {
        let p = parse_policy(
            br#"{"p2pAllowed":false,"altCatalogId":"https://dl.example/f.iso","contentUrl":"https://cdn.example/f"}"#,
        )
        .unwrap();
        assert_eq!(
            p.alt_catalog_id.as_deref(),
            Some("https://dl.example/f.iso")
        );
        for bad in [
            &br#"{}"#[..],
            br#"{"p2pAllowed":"yes"}"#,
            br#"{"p2pAllowed":true,"extra":1}"#,
            br#"{"p2pAllowed":true,"contentUrl":"ftp://x"}"#,
            br#"{"p2pAllowed":true,"altCatalogId":"https://a b"}"#,
            br#"not json"#,
            br#"[]"#,
        ] {
            let e = parse_policy(bad).unwrap_err();
            assert_eq!(
                (e.status, e.code),
                (400, "bad_policy"),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let huge = format!(
            r#"{{"p2pAllowed":true,"contentUrl":"https://{}"}}"#,
            "a".repeat(MAX_URL_LEN)
        );
        assert_eq!(parse_policy(huge.as_bytes()).unwrap_err().status, 400);
        assert_eq!(
            parse_policy(&vec![b' '; MAX_POLICY_BYTES + 1])
                .unwrap_err()
                .status,
            413
        );
    }

    #[test]
    fn facts_round_trip_and_answer_defaults_to_own_routes() {
        let f = MetaFacts {
            metadata_sha256: "ab".into(),
            file_size: 5,
            piece_size: 16384,
            file_sha256: "cd".into(),
        };
        let pairs = f.to_pairs();
        let back = MetaFacts::from_lookup(|k| {
            pairs.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone())
        });
        assert_eq!(back.as_ref(), Some(&f));
        // Re-chunked metadata of the same bytes keeps the stored data valid;
        // other bytes do not.
        let rechunked = MetaFacts {
            metadata_sha256: "ef".into(),
            piece_size: 32768,
            ..f.clone()
        };
        assert!(f.same_file(&rechunked));
        let other_bytes = MetaFacts {
            file_sha256: "00".into(),
            ..f.clone()
        };
        assert!(!f.same_file(&other_bytes));
        let other_size = MetaFacts {
            file_size: 6,
            ..f.clone()
        };
        assert!(!f.same_file(&other_size));
        assert_eq!(MetaFacts::from_lookup(|_| None), None);
        let id = ContentId::new("demo").unwrap();
        let p = parse_policy(br#"{"p2pAllowed":true}"#).unwrap();
        let a = answer("http://127.0.0.1:8787", &id, &p, &f);
        assert_eq!(a.metadata_url, "http://127.0.0.1:8787/do/v1/meta/demo");
        assert_eq!(a.content_url, "http://127.0.0.1:8787/do/v1/content/demo");
        assert_eq!(alt_key("x"), alt_key("x"));
        assert_ne!(alt_key("x"), alt_key("y"));
    }
}
