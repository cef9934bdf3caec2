//! `edgeswarm verify META FILE`: checks FILE against a metadata file.
//!
//! Order of checks: the metadata must decode; FILE's size must equal the
//! metadata's file size (checked before any hashing); then every piece in
//! order, stopping at the first one whose SHA-256 differs (the error names its
//! index and byte range); finally the whole-file SHA-256. Success prints one
//! JSON object with `"ok":true`.

use std::path::PathBuf;

use anyhow::bail;
use edgeswarm_protocol::sha256_hex;
use serde::Serialize;

use crate::{hashing, inspect, progress};

#[derive(clap::Args)]
pub struct Args {
    /// The metadata file (ID.meta).
    meta: PathBuf,
    /// The file to check.
    file: PathBuf,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    ok: bool,
    content_id: &'a str,
    file_size: u64,
    piece_count: u32,
    file_sha256: String,
    metadata_sha256: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (meta, meta_bytes) = inspect::read_metadata(&args.meta)?;
    let path = &args.file;
    let (file, len) = hashing::open_sized(path)?;
    if len != meta.file_size() {
        bail!(
            "size mismatch: {} is {len} bytes, the metadata says {}",
            path.display(),
            meta.file_size()
        );
    }
    let bar = progress::bytes_bar(len, "verifying");
    let hashes = hashing::hash_stream(&file, meta.piece_size(), &bar, |i, got| {
        let index = u32::try_from(i).ok().and_then(|i| meta.piece(i));
        let Some(index) = index else {
            bail!(
                "size mismatch: {} grew past the {} pieces of the metadata",
                path.display(),
                meta.piece_count()
            );
        };
        if got != meta.piece_hash(index) {
            let range = meta.piece_range(index);
            bail!(
                "piece {index} (bytes {} to {}) of {} does not match the metadata",
                range.start,
                range.end.saturating_sub(1),
                path.display()
            );
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    if hashes.file_size != meta.file_size()
        || hashes.piece_hashes.len() != meta.piece_hashes().len()
    {
        bail!(
            "size mismatch: read {} bytes of {}, the metadata says {}",
            hashes.file_size,
            path.display(),
            meta.file_size()
        );
    }
    if &hashes.file_sha256 != meta.file_sha256() {
        bail!(
            "whole-file SHA-256 of {} does not match the metadata although every piece does",
            path.display()
        );
    }
    let report = Report {
        ok: true,
        content_id: meta.content_id().as_str(),
        file_size: meta.file_size(),
        piece_count: meta.piece_count(),
        file_sha256: hex::encode(meta.file_sha256()),
        metadata_sha256: sha256_hex(&meta_bytes),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
