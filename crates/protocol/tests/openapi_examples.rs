//! The JSON the docs promise is the JSON the code speaks: every `example` of
//! a service body in docs/openapi.yaml deserializes into its
//! `edgeswarm-protocol` type and serializes back to exactly the same JSON,
//! and the bootstrap example shows the types' defaults.

use edgeswarm_protocol::array::ArrayLimits;
use edgeswarm_protocol::services::{
    Bootstrap, ClientConfig, ContentPolicy, Discovery, Endpoints, Geo, Policy,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn spec() -> Value {
    let text = include_str!("../../../docs/openapi.yaml");
    serde_norway::from_str(text).expect("docs/openapi.yaml is valid YAML")
}

fn example(spec: &Value, schema: &str) -> Value {
    let e = &spec["components"]["schemas"][schema]["example"];
    assert!(!e.is_null(), "schema {schema} has no example");
    e.clone()
}

/// Deserializes the example of `schema` as `T` and checks the round trip.
fn round_trip<T: DeserializeOwned + Serialize>(spec: &Value, schema: &str) -> T {
    let json = example(spec, schema);
    let value: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("example of {schema} does not match its type: {e}"));
    let back = serde_json::to_value(&value).unwrap();
    assert_eq!(back, json, "{schema} does not round-trip");
    value
}

#[test]
fn every_service_example_is_its_protocol_type() {
    let spec = spec();
    let boot: Bootstrap = round_trip(&spec, "Bootstrap");
    assert_eq!(
        boot.endpoints,
        Endpoints::for_origin("http://127.0.0.1:8787")
    );
    assert_eq!(
        boot.config,
        ClientConfig::default(),
        "the documented defaults are the types' defaults"
    );
    assert_eq!(boot.config.array, ArrayLimits::default());
    round_trip::<Geo>(&spec, "Geo");
    let cp: ContentPolicy = round_trip(&spec, "ContentPolicy");
    assert_eq!(cp.content_id.as_str(), "demo");
    let disc: Discovery = round_trip(&spec, "Discovery");
    assert!(disc.array_url.ends_with(&disc.array_id));
    let policy: Policy = round_trip(&spec, "Policy");
    assert!(policy.p2p_allowed);
}

#[test]
fn the_group_key_limit_in_the_docs_is_the_protocol_limit() {
    let spec = spec();
    let params = spec["paths"]["/disc/{contentId}"]["get"]["parameters"]
        .as_array()
        .expect("disc parameters");
    let group = params
        .iter()
        .find(|p| p["name"] == "groupId")
        .expect("groupId parameter");
    assert_eq!(
        group["schema"]["maxLength"].as_u64(),
        Some(edgeswarm_protocol::modes::MAX_GROUP_KEY_LEN as u64)
    );
}
