//! The one error type every HTTP route answers with.
//!
//! Invariant: an [`ApiError`] renders as `{"error":{"code":…,"message":…}}`
//! (docs/api.md). Caller mistakes carry a 4xx status; only a failure of the
//! platform itself (a storage call that throws) is a 5xx, and no input a
//! caller controls leads there.

use serde::Serialize;

/// An error answer: HTTP status, machine-readable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// A 405's `Allow` header: the methods the route accepts.
    pub allow: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }

    /// 405 for a route that accepts only `allow` (an `Allow` header value).
    pub fn method_not_allowed(allow: String) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                405,
                "method_not_allowed",
                "this route does not accept that method",
            )
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "unauthorized",
            "missing or wrong `Authorization: Bearer <ADMIN_TOKEN>`",
        )
    }

    /// A failure of the platform (storage threw): the only 5xx.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
        };
        // Serializing a struct of two strings cannot fail.
        serde_json::to_string(&body).expect("two strings always serialize")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_documented_shape() {
        let e = ApiError::bad_request("bad_id", "say \"no\"");
        assert_eq!(e.status, 400);
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["error"]["code"], "bad_id");
        assert_eq!(v["error"]["message"], "say \"no\"");
    }
}
