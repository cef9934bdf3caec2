//! Array service messages (placeholder; filled by the edge-worker work).
