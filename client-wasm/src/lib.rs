//! `client-wasm`: browser glue for the edgeswarm engine (work in progress).
