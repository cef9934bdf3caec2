//! `edge-worker`: the DO services at the edge (work in progress).
