//! `edgeswarm-sim`: deterministic swarm simulator (work in progress).
