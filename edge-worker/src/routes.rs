//! Maps a method and a path to a [`Route`]: the full table of docs/api.md.
//!
//! Invariant: every path under `/do/v1/` maps to exactly one route or to an
//! [`ApiError`] (404 unknown route, 405 wrong method, 400 malformed id);
//! content ids are validated here, so handlers receive [`ContentId`]s only.

use edgeswarm_protocol::ContentId;

use crate::error::ApiError;

/// The prefix every service route lives under.
pub const PREFIX: &str = "/do/v1";

/// HTTP methods the router distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Put,
    Post,
    Delete,
    Options,
    /// Any other method (QUERY, PROPFIND, …): never served, always 405.
    Other,
}

impl Method {
    /// The method of a request line, case-sensitively as HTTP defines it
    /// (the platform's own enum would turn unknown methods into GET).
    pub fn parse(raw: &str) -> Self {
        match raw {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "",
        }
    }
}

/// Which publish object an admin PUT writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminObject {
    Metadata,
    Data,
    Policy,
}

/// What a multipart publish request does (`…/admin/content/{id}/multipart…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipartOp {
    /// `POST …/multipart`.
    Create,
    /// `GET …/multipart`: the upload in progress and its stored parts.
    Status,
    /// `DELETE …/multipart`.
    Abort,
    /// `PUT …/multipart/parts/{n}`, n ≥ 1.
    Part(u32),
    /// `POST …/multipart/complete`.
    Complete,
}

/// One service route, with its validated path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Kv,
    Geo,
    /// `GET /cp/{id}`.
    Cp(ContentId),
    /// `GET /cp?altCatalogId=`.
    CpByAlt,
    /// `GET /disc/{id}`.
    Disc(ContentId),
    /// `GET /disc?altCatalogId=`.
    DiscByAlt,
    /// `GET /array/{arrayId}` (WebSocket upgrade); the id is checked by the handler.
    Array(String),
    Meta(ContentId),
    /// `GET` or `HEAD /content/{id}`; `head` tells which.
    Content {
        id: ContentId,
        head: bool,
    },
    Admin(ContentId, AdminObject),
    Multipart(ContentId, MultipartOp),
    /// A CORS preflight for any service path.
    Preflight,
}

fn content_id(s: &str) -> Result<ContentId, ApiError> {
    ContentId::new(s).map_err(|e| ApiError::bad_request("bad_content_id", e.to_string()))
}

fn only(method: Method, allowed: &[Method]) -> Result<(), ApiError> {
    if allowed.contains(&method) {
        Ok(())
    } else {
        Err(not_allowed(allowed))
    }
}

/// 405 with `Allow`: the route's methods, and OPTIONS (every service path
/// answers a CORS preflight).
fn not_allowed(allowed: &[Method]) -> ApiError {
    let mut names: Vec<&str> = allowed.iter().map(|m| m.name()).collect();
    names.push("OPTIONS");
    ApiError::method_not_allowed(names.join(", "))
}

/// Routes `path` (without query). `None` means the path is not a service
/// path at all (the static assets may answer it).
pub fn route(method: Method, path: &str) -> Option<Result<Route, ApiError>> {
    let rest = path.strip_prefix(PREFIX)?;
    let rest = match rest {
        "" => "",
        r => r.strip_prefix('/')?,
    };
    if method == Method::Options {
        return Some(Ok(Route::Preflight));
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let get = [Method::Get];
    let result = match segments.as_slice() {
        ["kv"] => only(method, &get).map(|()| Route::Kv),
        ["geo"] => only(method, &get).map(|()| Route::Geo),
        ["cp"] => only(method, &get).map(|()| Route::CpByAlt),
        ["cp", id] => only(method, &get).and_then(|()| content_id(id).map(Route::Cp)),
        ["disc"] => only(method, &get).map(|()| Route::DiscByAlt),
        ["disc", id] => only(method, &get).and_then(|()| content_id(id).map(Route::Disc)),
        ["array", id] => only(method, &get).map(|()| Route::Array((*id).to_owned())),
        ["meta", id] => only(method, &get).and_then(|()| content_id(id).map(Route::Meta)),
        ["content", id] => only(method, &[Method::Get, Method::Head]).and_then(|()| {
            content_id(id).map(|id| Route::Content {
                id,
                head: method == Method::Head,
            })
        }),
        ["admin", "content", id, "multipart", rest @ ..] => multipart(method, id, rest),
        ["admin", "content", id, object] => {
            let object = match *object {
                "metadata" => Some(AdminObject::Metadata),
                "data" => Some(AdminObject::Data),
                "policy" => Some(AdminObject::Policy),
                _ => None,
            };
            match object {
                None => Err(unknown()),
                Some(object) => only(method, &[Method::Put])
                    .and_then(|()| content_id(id).map(|id| Route::Admin(id, object))),
            }
        }
        _ => Err(unknown()),
    };
    Some(result)
}

fn multipart(method: Method, id: &str, rest: &[&str]) -> Result<Route, ApiError> {
    let op = match rest {
        [] => match method {
            Method::Post => MultipartOp::Create,
            Method::Get => MultipartOp::Status,
            Method::Delete => MultipartOp::Abort,
            _ => return Err(not_allowed(&[Method::Get, Method::Post, Method::Delete])),
        },
        ["complete"] => only(method, &[Method::Post]).map(|()| MultipartOp::Complete)?,
        ["parts", n] => {
            only(method, &[Method::Put])?;
            let n = n
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=edgeswarm_protocol::publish::MAX_PARTS).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request("bad_part_number", "parts are numbered 1 to 10000")
                })?;
            MultipartOp::Part(n)
        }
        _ => return Err(unknown()),
    };
    content_id(id).map(|id| Route::Multipart(id, op))
}

fn unknown() -> ApiError {
    ApiError::not_found("unknown_route", "no such route under /do/v1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(method: Method, path: &str) -> Route {
        route(method, path).unwrap().unwrap()
    }

    fn err(method: Method, path: &str) -> u16 {
        route(method, path).unwrap().unwrap_err().status
    }

    #[test]
    fn every_api_route_maps() {
        let id = ContentId::new("demo").unwrap();
        assert_eq!(ok(Method::Get, "/do/v1/kv"), Route::Kv);
        assert_eq!(ok(Method::Get, "/do/v1/geo"), Route::Geo);
        assert_eq!(ok(Method::Get, "/do/v1/cp/demo"), Route::Cp(id.clone()));
        assert_eq!(ok(Method::Get, "/do/v1/cp"), Route::CpByAlt);
        assert_eq!(ok(Method::Get, "/do/v1/disc/demo"), Route::Disc(id.clone()));
        assert_eq!(
            ok(Method::Get, "/do/v1/array/ab"),
            Route::Array("ab".into())
        );
        assert_eq!(ok(Method::Get, "/do/v1/meta/demo"), Route::Meta(id.clone()));
        assert_eq!(
            ok(Method::Head, "/do/v1/content/demo"),
            Route::Content {
                id: id.clone(),
                head: true
            }
        );
        assert_eq!(
            ok(Method::Put, "/do/v1/admin/content/demo/data"),
            Route::Admin(id, AdminObject::Data)
        );
    }

    #[test]
    fn multipart_routes_map() {
        let id = ContentId::new("big").unwrap();
        let base = "/do/v1/admin/content/big/multipart";
        let m = |op| Route::Multipart(id.clone(), op);
        assert_eq!(ok(Method::Post, base), m(MultipartOp::Create));
        assert_eq!(ok(Method::Get, base), m(MultipartOp::Status));
        assert_eq!(ok(Method::Delete, base), m(MultipartOp::Abort));
        assert_eq!(
            ok(Method::Put, &format!("{base}/parts/7")),
            m(MultipartOp::Part(7))
        );
        assert_eq!(
            ok(Method::Post, &format!("{base}/complete")),
            m(MultipartOp::Complete)
        );
        assert_eq!(err(Method::Put, base), 405);
        assert_eq!(err(Method::Get, &format!("{base}/complete")), 405);
        assert_eq!(err(Method::Put, &format!("{base}/parts/0")), 400);
        assert_eq!(err(Method::Put, &format!("{base}/parts/10001")), 400);
        assert_eq!(err(Method::Put, &format!("{base}/parts/x")), 400);
        assert_eq!(err(Method::Put, &format!("{base}/other")), 404);
        assert_eq!(
            err(Method::Post, "/do/v1/admin/content/a%2F/multipart"),
            400
        );
    }

    #[test]
    fn bad_paths_are_4xx() {
        assert_eq!(err(Method::Get, "/do/v1/nope"), 404);
        assert_eq!(err(Method::Get, "/do/v1/cp/a%2Fb"), 400);
        assert_eq!(err(Method::Get, "/do/v1/cp/"), 400);
        assert_eq!(err(Method::Put, "/do/v1/kv"), 405);
        assert_eq!(err(Method::Get, "/do/v1/admin/content/demo/policy"), 405);
        assert_eq!(err(Method::Put, "/do/v1/admin/content/demo/other"), 404);
        assert_eq!(err(Method::Get, "/do/v1/cp/a/b"), 404);
    }

    #[test]
    fn unknown_methods_are_405_with_allow() {
        assert_eq!(Method::parse("QUERY"), Method::Other);
        assert_eq!(
            Method::parse("get"),
            Method::Other,
            "methods are case-sensitive"
        );
        assert_eq!(Method::parse("PUT"), Method::Put);
        let e = route(Method::parse("PROPFIND"), "/do/v1/content/demo")
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (e.status, e.allow.as_deref()),
            (405, Some("GET, HEAD, OPTIONS"))
        );
        let e = route(Method::Other, "/do/v1/kv").unwrap().unwrap_err();
        assert_eq!(e.allow.as_deref(), Some("GET, OPTIONS"));
        let e = route(Method::Get, "/do/v1/admin/content/demo/policy")
            .unwrap()
            .unwrap_err();
        assert_eq!(e.allow.as_deref(), Some("PUT, OPTIONS"));
        let e = route(Method::Put, "/do/v1/admin/content/demo/multipart")
            .unwrap()
            .unwrap_err();
        assert_eq!(e.allow.as_deref(), Some("GET, POST, DELETE, OPTIONS"));
    }

    #[test]
    fn other_paths_are_not_service_paths() {
        assert!(route(Method::Get, "/").is_none());
        assert!(route(Method::Get, "/index.html").is_none());
        assert!(route(Method::Get, "/do/v10/kv").is_none());
    }
}
