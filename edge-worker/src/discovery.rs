//! Discovery: which array (Durable Object) a client joins.
//!
//! The array id is a stable function of (content, scope, peer-group key,
//! partition): SHA-256 over a length-prefixed encoding of those fields,
//! truncated to 128 bits and written as 32 lowercase hex characters. The
//! encoding is injective, so two different groups (or two external IPs in
//! LAN mode) never share an array short of a SHA-256 collision.
//!
//! Scopes (`edgeswarm_protocol::Scope`) and the group-key limits
//! (`edgeswarm_protocol::modes`) are the protocol's, which the client checks
//! before it asks. Scopes follow Delivery Optimization's download modes: 1 LAN (group key =
//! external IP), 2 Group (group key = `groupId`, required), 3 Internet (one
//! group per content and partition). Modes 0 (HTTP only) and 99 (simple)
//! use no peers and have no array.

use edgeswarm_protocol::modes::{check_group_key, ScopeError};
use edgeswarm_protocol::{sha256, ContentId, Scope};

use crate::error::ApiError;

/// Length of an array id in hex characters.
pub const ARRAY_ID_LEN: usize = 32;

/// Parses the `scope` query value (absent: Internet) into a 400 on error.
pub fn parse_scope(s: Option<&str>) -> Result<Scope, ApiError> {
    Scope::parse(s).map_err(|e| {
        let code = match e {
            ScopeError::WithoutPeers => "scope_without_peers",
            ScopeError::Bad(_) => "bad_scope",
        };
        ApiError::bad_request(code, e.to_string())
    })
}

/// What discovery needs to place a client.
#[derive(Debug, Clone)]
pub struct Placement<'a> {
    pub content_id: &'a ContentId,
    pub scope: Scope,
    pub group_id: Option<&'a str>,
    /// The caller's external address, as the edge saw it.
    pub external_ip: Option<&'a str>,
    pub partition_id: Option<&'a str>,
}

fn check_key(name: &'static str, v: &str) -> Result<(), ApiError> {
    check_group_key(name, v).map_err(|e| ApiError::bad_request("bad_parameter", e.to_string()))
}

fn push_field(buf: &mut Vec<u8>, field: &[u8]) {
    // Fields are bounded by MAX_GROUP_KEY_LEN or the 255-byte content id, so the
    // length always fits in a u32.
    buf.extend_from_slice(&(field.len() as u32).to_le_bytes());
    buf.extend_from_slice(field);
}

/// The array id for `p`, or a 400 when a needed key is missing or malformed.
pub fn array_id(p: &Placement<'_>) -> Result<String, ApiError> {
    let group_key: &str = match p.scope {
        Scope::Group => p.group_id.ok_or_else(|| {
            ApiError::bad_request("missing_group_id", "scope 2 (Group) needs groupId")
        })?,
        Scope::Lan => p.external_ip.ok_or_else(|| {
            ApiError::bad_request(
                "no_external_ip",
                "scope 1 (LAN) needs the caller's external IP, which the edge did not provide",
            )
        })?,
        Scope::Internet => "",
    };
    if p.scope != Scope::Internet {
        check_key("groupId", group_key)?;
    }
    let partition = p.partition_id.unwrap_or("");
    if !partition.is_empty() {
        check_key("partitionId", partition)?;
    }
    let mut buf = Vec::with_capacity(64 + group_key.len() + partition.len());
    push_field(&mut buf, b"edgeswarm-array-v1");
    push_field(&mut buf, p.content_id.as_str().as_bytes());
    push_field(&mut buf, &[p.scope.code()]);
    push_field(&mut buf, group_key.as_bytes());
    push_field(&mut buf, partition.as_bytes());
    let digest = sha256(&buf);
    Ok(hex::encode(&digest[..ARRAY_ID_LEN / 2]))
}

/// Whether `s` has the shape of an array id (32 lowercase hex characters).
pub fn is_array_id(s: &str) -> bool {
    s.len() == ARRAY_ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ContentId {
        ContentId::new(s).unwrap()
    }

    fn place<'a>(
        c: &'a ContentId,
        scope: Scope,
        g: Option<&'a str>,
        ip: Option<&'a str>,
    ) -> Placement<'a> {
        Placement {
            content_id: c,
            scope,
            group_id: g,
            external_ip: ip,
            partition_id: None,
        }
    }

    #[test]
    fn same_inputs_same_array_and_well_formed() {
        let c = id("demo");
        let a = array_id(&place(&c, Scope::Group, Some("g1"), None)).unwrap();
        let b = array_id(&place(&c, Scope::Group, Some("g1"), Some("1.2.3.4"))).unwrap();
        assert_eq!(a, b, "the IP does not matter in Group mode");
        assert!(is_array_id(&a));
    }

    #[test]
    fn different_groups_content_scopes_and_partitions_never_share() {
        let c = id("demo");
        let d = id("demo2");
        let ids = [
            array_id(&place(&c, Scope::Group, Some("g1"), None)).unwrap(),
            array_id(&place(&c, Scope::Group, Some("g2"), None)).unwrap(),
            array_id(&place(&d, Scope::Group, Some("g1"), None)).unwrap(),
            array_id(&place(&c, Scope::Lan, None, Some("1.2.3.4"))).unwrap(),
            array_id(&place(&c, Scope::Lan, None, Some("1.2.3.5"))).unwrap(),
            array_id(&place(&c, Scope::Internet, None, Some("1.2.3.5"))).unwrap(),
            array_id(&Placement {
                partition_id: Some("p1"),
                ..place(&c, Scope::Internet, None, None)
            })
            .unwrap(),
            // A group whose name equals an IP still gets its own array.
            array_id(&place(&c, Scope::Group, Some("1.2.3.4"), None)).unwrap(),
        ];
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn missing_or_bad_keys_are_400() {
        let c = id("demo");
        assert_eq!(
            array_id(&place(&c, Scope::Group, None, None))
                .unwrap_err()
                .code,
            "missing_group_id"
        );
        assert_eq!(
            array_id(&place(&c, Scope::Lan, None, None))
                .unwrap_err()
                .code,
            "no_external_ip"
        );
        let long = "g".repeat(edgeswarm_protocol::modes::MAX_GROUP_KEY_LEN + 1);
        assert_eq!(
            array_id(&place(&c, Scope::Group, Some(&long), None))
                .unwrap_err()
                .status,
            400
        );
        assert!(array_id(&place(&c, Scope::Group, Some("a\nb"), None)).is_err());
    }

    #[test]
    fn scope_parsing() {
        assert_eq!(parse_scope(None).unwrap(), Scope::Internet);
        assert_eq!(parse_scope(Some("1")).unwrap(), Scope::Lan);
        assert_eq!(
            parse_scope(Some("0")).unwrap_err().code,
            "scope_without_peers"
        );
        assert_eq!(parse_scope(Some("7")).unwrap_err().code, "bad_scope");
    }

    #[test]
    fn array_id_shape() {
        assert!(is_array_id(&"a".repeat(32)));
        assert!(!is_array_id(&"A".repeat(32)));
        assert!(!is_array_id(&"a".repeat(31)));
    }
}
