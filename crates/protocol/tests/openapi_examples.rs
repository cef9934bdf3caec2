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
    assert!(
        disc.array_url
            .contains(&format!("/{}?ticket=", disc.array_id)),
        "arrayUrl carries the array id and its ticket"
    );
    let policy: Policy = round_trip(&spec, "Policy");
    assert!(policy.p2p_allowed);
}

#[test]
fn the_group_key_limit_in_the_docs_is_the_protocol_limit() {
    let spec = spec();
    let group = &spec["components"]["parameters"]["groupId"];
    assert_eq!(group["name"], "groupId");
    assert_eq!(
        group["schema"]["maxLength"].as_u64(),
        Some(edgeswarm_protocol::modes::MAX_GROUP_KEY_LEN as u64)
    );
}

/// The JSON example of operation `path`'s 200 answer.
fn operation_example(spec: &Value, path: &str) -> Value {
    let e =
        &spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["example"];
    assert!(!e.is_null(), "GET {path} has no example");
    e.clone()
}

#[test]
fn operation_examples_are_their_protocol_types_and_parameters_are_declared() {
    let spec = spec();
    let cp: ContentPolicy = serde_json::from_value(operation_example(&spec, "/cp")).unwrap();
    assert_eq!(
        serde_json::to_value(&cp).unwrap(),
        example(&spec, "ContentPolicy")
    );
    let disc: Discovery =
        serde_json::from_value(operation_example(&spec, "/disc/{contentId}")).unwrap();
    assert_eq!(
        serde_json::to_value(&disc).unwrap(),
        example(&spec, "Discovery")
    );
    // altCatalogId is required where it is the only key, and /disc declares
    // its query parameters on both routes.
    let alt = &spec["components"]["parameters"]["altCatalogId"];
    assert_eq!(alt["required"], true);
    for path in ["/disc", "/disc/{contentId}"] {
        let params = spec["paths"][path]["get"]["parameters"].to_string();
        for name in ["scope", "groupId", "partitionId"] {
            assert!(
                params.contains(&format!("parameters/{name}")),
                "{path} lacks {name}"
            );
        }
    }
    for path in ["/meta/{contentId}", "/content/{contentId}"] {
        assert!(
            !spec["paths"][path]["get"]["responses"]["400"].is_null(),
            "{path} documents its 400"
        );
    }
}
