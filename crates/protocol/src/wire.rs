//! Peer wire protocol (placeholder; filled by the engine work).
