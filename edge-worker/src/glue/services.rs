//! The DO services proper: bootstrap (kv), geo, content policy (cp),
//! discovery (disc), and the hand-off of array WebSockets to their Durable
//! Object. Logic lives in the pure modules; this is request/response glue.

use worker::{Env, Request};

use edgeswarm_protocol::{ContentId, Scope};

use super::{json, origin, query, settings, store, Answer};
use crate::bootstrap::{Bootstrap, Endpoints};
use edgeswarm_protocol::services::{Discovery, Geo};

use crate::discovery::{self, Placement};
use crate::error::ApiError;
use crate::policy;
use crate::ticket;

/// The Durable Object namespace binding of the arrays.
pub const ARRAY_BINDING: &str = "ARRAY";

pub fn kv(req: &Request, env: &Env) -> Answer {
    let answer = Bootstrap {
        endpoints: Endpoints::for_origin(&origin(req)?),
        config: settings(env)?.client,
    };
    json(200, &answer)
}

pub fn geo(req: &Request) -> Answer {
    let cf = req.cf();
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    let answer = Geo {
        country_code: cf.and_then(|c| c.country()),
        colo: cf.and_then(|c| non_empty(c.colo())),
        continent: cf.and_then(|c| c.continent()),
        region: cf.and_then(|c| c.region()),
        city: cf.and_then(|c| c.city()),
    };
    json(200, &answer)
}

pub async fn cp(req: &Request, env: &Env, id: Option<ContentId>) -> Answer {
    let b = store::bucket(env)?;
    let id = store::content_id(&b, id, query(req, "altCatalogId")?).await?;
    let (policy, facts) = store::published(&b, &id).await?;
    json(200, &policy::answer(&origin(req)?, &id, &policy, &facts))
}

pub async fn disc(req: &Request, env: &Env, id: Option<ContentId>) -> Answer {
    let scope = discovery::parse_scope(query(req, "scope")?.as_deref())?;
    let b = store::bucket(env)?;
    let id = store::content_id(&b, id, query(req, "altCatalogId")?).await?;
    let (policy, _) = store::published(&b, &id).await?;
    if !policy.p2p_allowed {
        return Err(ApiError::new(
            403,
            "p2p_not_allowed",
            format!("the publisher of {id} does not allow peer-to-peer"),
        ));
    }
    let group_id = query(req, "groupId")?;
    let partition_id = query(req, "partitionId")?;
    let external_ip = req.headers().get("CF-Connecting-IP")?;
    let array_id = discovery::array_id(&Placement {
        content_id: &id,
        scope,
        group_id: group_id.as_deref(),
        external_ip: external_ip.as_deref(),
        partition_id: partition_id.as_deref().filter(|p| !p.is_empty()),
    })?;
    let endpoints = Endpoints::for_origin(&origin(req)?);
    let ttl = settings(env)?.ticket_ttl_ms;
    let expires = now_ms().saturating_add(ttl);
    // A LAN array is bound to the address it was computed from.
    let bound_ip = external_ip.as_deref().filter(|_| scope == Scope::Lan);
    let ticket = ticket::issue(&ticket_secret(env)?, &array_id, expires, bound_ip);
    json(
        200,
        &Discovery {
            content_id: id,
            scope: scope.code(),
            array_url: format!(
                "{}/{array_id}?{}={ticket}",
                endpoints.array,
                ticket::TICKET_PARAM
            ),
            array_id,
        },
    )
}

/// Milliseconds since the epoch (whole ms).
fn now_ms() -> u64 {
    // The platform's clock; non-negative and below 2^53.
    worker::Date::now().as_millis()
}

/// The key of array tickets: `TICKET_SECRET`, else `ADMIN_TOKEN` (docs/deploy.md).
fn ticket_secret(env: &Env) -> Result<Vec<u8>, ApiError> {
    ["TICKET_SECRET", "ADMIN_TOKEN"]
        .iter()
        .find_map(|name| {
            env.secret(name)
                .ok()
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty())
        })
        .map(String::into_bytes)
        .ok_or_else(|| {
            ApiError::new(
                503,
                "tickets_unavailable",
                "neither TICKET_SECRET nor ADMIN_TOKEN is set: the worker cannot sign array tickets",
            )
        })
}

pub async fn array(req: Request, env: &Env, array_id: &str) -> Answer {
    if !discovery::is_array_id(array_id) {
        return Err(ApiError::bad_request(
            "bad_array_id",
            "an array id is 32 lowercase hex characters, as /disc returns it",
        ));
    }
    // The ticket first: nothing about the array answers a caller without one.
    let given = query(&req, ticket::TICKET_PARAM)?;
    let client_ip = req.headers().get("CF-Connecting-IP")?;
    ticket::verify(
        &ticket_secret(env)?,
        array_id,
        given.as_deref(),
        now_ms(),
        client_ip.as_deref(),
    )?;
    let upgrade = req.headers().get("Upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::new(
            426,
            "upgrade_required",
            "the array route is a WebSocket: send Upgrade: websocket",
        ));
    }
    let stub = env.durable_object(ARRAY_BINDING)?.get_by_name(array_id)?;
    Ok(stub.fetch_with_request(req).await?)
}
