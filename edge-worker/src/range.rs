//! `Range` request handling for the content route (RFC 9110 §14).
//!
//! One range per request: `bytes=a-b`, `bytes=a-` and suffix `bytes=-n`.
//! Parsing is done by the `http-range-header` crate; this module decides
//! the answer. Malformed headers, multiple ranges and ranges starting past
//! the end are all answered 416 with `Content-Range: bytes */size`, so a
//! client never silently receives the whole file when it asked for a part.

/// What to send for a request on a representation of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// 200 with the whole body (no `Range` header).
    Full,
    /// 206 with `len` bytes starting at `start`.
    Partial { start: u64, len: u64 },
    /// 416.
    Unsatisfiable,
}

impl RangeAnswer {
    /// Decides from the `Range` header value, if any.
    pub fn decide(header: Option<&str>, size: u64) -> Self {
        let Some(header) = header else {
            return RangeAnswer::Full;
        };
        let Ok(parsed) = http_range_header::parse_range_header(header) else {
            return RangeAnswer::Unsatisfiable;
        };
        match parsed.validate(size).as_deref() {
            Ok([one]) => RangeAnswer::Partial {
                start: *one.start(),
                len: one.end() - one.start() + 1,
            },
            _ => RangeAnswer::Unsatisfiable,
        }
    }

    /// The `Content-Range` header value for this answer, if any.
    pub fn content_range(self, size: u64) -> Option<String> {
        match self {
            RangeAnswer::Full => None,
            RangeAnswer::Partial { start, len } => {
                Some(format!("bytes {start}-{}/{size}", start + len - 1))
            }
            RangeAnswer::Unsatisfiable => Some(format!("bytes */{size}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(h: &str, size: u64) -> RangeAnswer {
        RangeAnswer::decide(Some(h), size)
    }

    #[test]
    fn edge_ranges() {
        assert_eq!(RangeAnswer::decide(None, 10), RangeAnswer::Full);
        assert_eq!(
            d("bytes=0-0", 10),
            RangeAnswer::Partial { start: 0, len: 1 }
        );
        assert_eq!(
            d("bytes=9-9", 10),
            RangeAnswer::Partial { start: 9, len: 1 }
        );
        assert_eq!(d("bytes=9-", 10), RangeAnswer::Partial { start: 9, len: 1 });
        assert_eq!(d("bytes=-1", 10), RangeAnswer::Partial { start: 9, len: 1 });
        assert_eq!(
            d("bytes=-100", 10),
            RangeAnswer::Partial { start: 0, len: 10 }
        );
        assert_eq!(
            d("bytes=5-100", 10),
            RangeAnswer::Partial { start: 5, len: 5 }
        );
        assert_eq!(d("bytes=10-", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(d("bytes=10-20", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(d("bytes=-0", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(d("bytes=5-2", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(d("bytes=0-1,3-4", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(d("items=0-1", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(d("bytes=0-0", 0), RangeAnswer::Unsatisfiable);
        assert_eq!(
            d("bytes=99999999999999999999999-", 10),
            RangeAnswer::Unsatisfiable
        );
    }

    #[test]
    fn content_range_headers() {
        assert_eq!(
            RangeAnswer::Partial { start: 9, len: 1 }
                .content_range(10)
                .as_deref(),
            Some("bytes 9-9/10")
        );
        assert_eq!(
            RangeAnswer::Unsatisfiable.content_range(10).as_deref(),
            Some("bytes */10")
        );
        assert_eq!(RangeAnswer::Full.content_range(10), None);
    }
}
