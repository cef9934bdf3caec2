//! `edge-worker`: the Delivery Optimization services at the edge, on
//! Cloudflare Workers (workers-rs), run locally on workerd by `wrangler dev`.
//!
//! Routes (docs/api.md, docs/openapi.yaml), all under `/do/v1`: `kv` (bootstrap),
//! `geo`, `cp` (content policy), `disc` (discovery), `array` (WebSocket into
//! one Durable Object per array), `meta` and `content` (the CDN, from R2) and
//! the `admin` publish routes guarded by `ADMIN_TOKEN`.
//!
//! Shape: the logic lives in plain modules tested natively with `cargo test`
//! ([`routes`], [`discovery`], [`policy`], [`range`], [`bootstrap`], [`cors`],
//! [`array`]'s core, selection and rate limits, [`auth`], [`upload`], [`ticket`]); the glue modules
//! ([`glue`], [`array::object`]) only move bytes between the platform
//! (R2, Durable Objects, WebSockets) and that logic. Storage is Cloudflare's:
//! one R2 bucket (`CONTENT`) and the `ARRAY` Durable Object namespace.
//!
//! Invariant: a caller's mistake always becomes a 4xx JSON error
//! ([`error::ApiError`]); nothing reachable from request bytes panics.

pub mod array;
pub mod auth;
pub mod bootstrap;
pub mod cors;
pub mod discovery;
pub mod error;
pub mod glue;
pub mod policy;
pub mod range;
pub mod routes;
pub mod ticket;
pub mod upload;

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    glue::handle(req, env).await
}
