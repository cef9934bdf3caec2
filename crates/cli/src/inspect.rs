//! `edgeswarm inspect META`: prints a metadata file (format v1) as one JSON
//! object. A malformed file is a one-line error (the reader's typed
//! [`MetadataError`](edgeswarm_protocol::MetadataError)), never a panic.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use edgeswarm_protocol::{sha256_hex, Metadata};
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// The metadata file (ID.meta).
    meta: PathBuf,
}

/// Largest metadata file read: 1 GiB of piece hashes describes 32 TiB of
/// content in 1 MiB pieces. Anything larger is refused before it is read.
pub const MAX_METADATA_LEN: u64 = 1 << 30;

/// The facts of a metadata file that `inspect` and `publish` both print.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary<'a> {
    content_id: &'a str,
    file_size: u64,
    piece_size: u32,
    piece_count: u32,
    file_sha256: String,
    metadata_sha256: String,
}

impl<'a> Summary<'a> {
    /// `bytes` is the encoded metadata file (its SHA-256 is `metadataSha256`).
    pub fn new(meta: &'a Metadata, bytes: &[u8]) -> Self {
        Self {
            content_id: meta.content_id().as_str(),
            file_size: meta.file_size(),
            piece_size: meta.piece_size().get(),
            piece_count: meta.piece_count(),
            file_sha256: hex::encode(meta.file_sha256()),
            metadata_sha256: sha256_hex(bytes),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    #[serde(flatten)]
    summary: Summary<'a>,
    pieces: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (meta, bytes) = read_metadata(&args.meta)?;
    let report = Report {
        summary: Summary::new(&meta, &bytes),
        pieces: meta.piece_hashes().iter().map(hex::encode).collect(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Reads and decodes a metadata file, with at most [`MAX_METADATA_LEN`] bytes
/// in memory whatever the path points at (a pipe or device included).
pub fn read_metadata(path: &Path) -> anyhow::Result<(Metadata, Vec<u8>)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_METADATA_LEN + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_METADATA_LEN {
        bail!(
            "{} is larger than {MAX_METADATA_LEN} bytes, too large for a metadata file",
            path.display()
        );
    }
    let meta = Metadata::decode(&bytes)
        .with_context(|| format!("{} is not a valid metadata file", path.display()))?;
    Ok((meta, bytes))
}
