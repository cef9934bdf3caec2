//! `edgeswarm-engine`: the sans-IO download engine (work in progress).
