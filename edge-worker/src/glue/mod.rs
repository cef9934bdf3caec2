//! Worker glue: turns a platform request into a [`Route`], calls the
//! service, and turns its result into a platform response.
//!
//! Invariant: every service answer passes through [`finish`], so every
//! response carries the CORS headers [`crate::cors`] decided for the request
//! (a disallowed `Origin` is refused before any route runs) and every error
//! the documented JSON body.
//! Only platform failures (`worker::Error` from storage) become 500s.

mod admin;
mod cdn;
mod multipart;
mod parts;
mod services;
pub(crate) mod store;

use serde::Serialize;
use worker::{Env, Headers, Request, Response, ResponseBuilder, Result};

use crate::bootstrap::Settings;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::routes::{self, Method, Route};

/// What a service handler returns.
pub(crate) type Answer = std::result::Result<Response, ApiError>;

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(format!("platform error: {e}"))
    }
}

/// Entry point for every request that reaches the worker.
pub async fn handle(req: Request, env: Env) -> Result<Response> {
    let method = Method::parse(&req.inner().method());
    let own = origin(&req).ok();
    let cors = Cors::decide(
        env.var("ALLOWED_ORIGINS")
            .ok()
            .map(|v| v.to_string())
            .as_deref(),
        req.headers().get("Origin").ok().flatten().as_deref(),
        own.as_deref(),
    );
    let cors = match cors {
        Ok(c) => c,
        Err(e) => return finish(Err(e), &Cors::refused()),
    };
    let path = req.path();
    let answer = match routes::route(method, &path) {
        None => Err(ApiError::not_found("not_found", "no such page")),
        Some(Err(e)) => Err(e),
        Some(Ok(route)) => return dispatch(route, req, &env, &cors).await,
    };
    finish(answer, &cors)
}

async fn dispatch(route: Route, req: Request, env: &Env, cors: &Cors) -> Result<Response> {
    let answer = match route {
        // The array's Durable Object answers for itself (101 or its own
        // JSON error); its response headers are immutable, so it skips
        // `finish` unless it failed before reaching the object.
        Route::Array(id) => {
            return match services::array(req, env, &id).await {
                Ok(resp) => Ok(resp),
                Err(e) => finish(Err(e), cors),
            }
        }
        Route::Preflight => preflight(),
        Route::Kv => services::kv(&req, env),
        Route::Geo => services::geo(&req),
        Route::Cp(id) => services::cp(&req, env, Some(id)).await,
        Route::CpByAlt => services::cp(&req, env, None).await,
        Route::Disc(id) => services::disc(&req, env, Some(id)).await,
        Route::DiscByAlt => services::disc(&req, env, None).await,
        Route::Meta(id) => cdn::meta(&req, env, &id).await,
        Route::Content { id, head } => cdn::content(&req, env, &id, head).await,
        Route::Admin(id, object) => admin::put(req, env, &id, object).await,
        Route::Multipart(id, op) => multipart::handle(req, env, &id, op).await,
    };
    finish(answer, cors)
}

fn finish(answer: Answer, cors: &Cors) -> Result<Response> {
    let resp = match answer {
        Ok(r) => r,
        Err(e) => error_response(&e)?,
    };
    let h = resp.headers();
    match &cors.allow_origin {
        Some(o) => h.set("Access-Control-Allow-Origin", o)?,
        None => h.delete("Access-Control-Allow-Origin")?,
    }
    if cors.vary_origin {
        h.append("Vary", "Origin")?;
    }
    h.set(
        "Access-Control-Expose-Headers",
        "Content-Range, Content-Length, ETag, Accept-Ranges",
    )?;
    Ok(resp)
}

fn preflight() -> Answer {
    let h = Headers::new();
    h.set(
        "Access-Control-Allow-Methods",
        "GET, HEAD, PUT, POST, DELETE, OPTIONS",
    )?;
    h.set(
        "Access-Control-Allow-Headers",
        "Range, If-None-Match, Authorization, Content-Type",
    )?;
    h.set("Access-Control-Max-Age", "86400")?;
    Ok(ResponseBuilder::new()
        .with_status(204)
        .with_headers(h)
        .empty())
}

/// The JSON error answer.
pub(crate) fn error_response(e: &ApiError) -> Result<Response> {
    let h = Headers::new();
    if let Some(allow) = &e.allow {
        h.set("Allow", allow)?;
    }
    h.set("Content-Type", "application/json")?;
    h.set("Access-Control-Allow-Origin", "*")?;
    h.set("Cache-Control", "no-store")?;
    Ok(ResponseBuilder::new()
        .with_status(e.status)
        .with_headers(h)
        .fixed(e.body().into_bytes()))
}

/// A JSON answer with `status`, not cached.
pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Answer {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::internal(format!("serializing the answer: {e}")))?;
    let h = Headers::new();
    h.set("Content-Type", "application/json")?;
    h.set("Cache-Control", "no-store")?;
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(h)
        .fixed(body))
}

/// The worker's own origin, `http(s)://host[:port]`.
pub(crate) fn origin(req: &Request) -> std::result::Result<String, ApiError> {
    Ok(req.url()?.origin().ascii_serialization())
}

/// One query parameter.
pub(crate) fn query(req: &Request, name: &str) -> std::result::Result<Option<String>, ApiError> {
    Ok(req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned()))
}

/// The settings from the worker's vars.
pub(crate) fn settings(env: &Env) -> std::result::Result<Settings, ApiError> {
    Settings::from_vars(|k| env.var(k).ok().map(|v| v.to_string()))
        .map_err(|e| ApiError::internal(format!("configuration: {e}")))
}
