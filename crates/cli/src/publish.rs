//! `edgeswarm publish FILE --content-id ID [--piece-size BYTES] [--out DIR]
//! [--server URL [--token TOKEN] [--jobs N] [--resume] [--limit-rate B]]`
//! (docs/api.md).
//!
//! Hashes FILE in one streaming pass (see `hashing`), writes `DIR/ID.meta`
//! (format v1; DIR and its parents are created) through a temporary file
//! renamed into place, so a reader never sees half a file, prints one JSON
//! object on stdout and, with `--server`, uploads metadata, data (one PUT
//! or in parts, see `upload`) and a default policy. The token comes from
//! `--token-stdin`, `--token` (with a warning) or `EDGESWARM_TOKEN`, and
//! goes only to https:// or loopback servers (see `credentials`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use edgeswarm_protocol::{ContentId, Metadata, PieceSize};
use serde::Serialize;

use crate::multipart::Options;
use crate::{credentials, hashing, inspect, progress, upload};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("token_source").args(["token", "token_stdin"]).multiple(true)))]
pub struct Args {
    /// The file to publish.
    file: PathBuf,
    /// Content id: 1 to 255 characters from A-Z a-z 0-9 . _ -
    #[arg(long, value_name = "ID")]
    content_id: ContentId,
    /// Piece size in bytes: a power of two from 16384 to 16777216.
    #[arg(long, value_name = "BYTES", default_value_t = PieceSize::DEFAULT.get().into(),
          value_parser = parse_piece_size)]
    piece_size: u64,
    /// Directory to write ID.meta into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Edge worker base URL to upload to: https://, or http:// for a
    /// loopback host only (e.g. http://127.0.0.1:8787).
    #[arg(long, value_name = "URL", requires = "token_source")]
    server: Option<String>,
    /// Admin bearer token for --server [default: $EDGESWARM_TOKEN]. Visible
    /// in `ps` and shell history (a warning says so): prefer the
    /// environment or --token-stdin.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "EDGESWARM_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Read the admin token from the first line of stdin (wins over
    /// --token and EDGESWARM_TOKEN).
    #[arg(long)]
    token_stdin: bool,
    /// The token was typed on the command line (set from clap's matches).
    #[arg(skip)]
    pub token_on_command_line: bool,
    /// Parts uploaded in parallel when the file is larger than the server's
    /// upload limit (multipart).
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Continue an interrupted multipart upload: only the parts the server
    /// does not have yet are sent.
    #[arg(long, requires = "server")]
    resume: bool,
    /// Upload at most this many bytes per second (all parts together).
    #[arg(long, value_name = "BYTES_PER_SECOND", requires = "server",
          value_parser = clap::value_parser!(u64).range(1..))]
    limit_rate: Option<u64>,
}

fn parse_piece_size(s: &str) -> Result<u64, String> {
    let n: u64 = s.parse().map_err(|e| format!("{e}"))?;
    PieceSize::new(n).map(u64::from).map_err(|e| e.to_string())
}

/// The JSON object printed on success.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    #[serde(flatten)]
    summary: inspect::Summary<'a>,
    metadata_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uploaded_to: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload: Option<upload::UploadReport>,
}

pub fn run(mut args: Args) -> anyhow::Result<()> {
    if args.token_on_command_line {
        eprintln!("{}", credentials::TOKEN_ARG_WARNING);
    }
    if let Some(server) = &args.server {
        credentials::check_server(server)?;
        if args.token_stdin {
            args.token = Some(credentials::read_token(std::io::stdin().lock())?);
        }
    }
    // parse_piece_size already validated it.
    let piece_size = PieceSize::new(args.piece_size)?;
    let path = &args.file;
    let (file, len) = hashing::open_sized(path)?;
    let bar = progress::bytes_bar(len, "hashing");
    let hashes = hashing::hash_stream(&file, piece_size, &bar, |_, _| Ok(()))
        .with_context(|| format!("cannot hash {}", path.display()))?;
    bar.finish_and_clear();
    let meta = Metadata::new(
        args.content_id.clone(),
        piece_size,
        hashes.file_size,
        hashes.file_sha256,
        hashes.piece_hashes,
    )
    .with_context(|| format!("cannot publish {}", path.display()))?;
    let bytes = meta.encode();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let meta_path = args.out.join(format!("{}.meta", meta.content_id()));
    write_atomically(&meta_path, &bytes)?;

    let mut uploaded = None;
    if let (Some(server), Some(token)) = (&args.server, &args.token) {
        let opts = Options {
            jobs: usize::from(args.jobs),
            resume: args.resume,
            limit_rate: args.limit_rate,
        };
        uploaded = Some(upload::upload(server, token, &meta, &bytes, path, &opts)?);
    }

    let report = Report {
        summary: inspect::Summary::new(&meta, &bytes),
        metadata_file: meta_path.display().to_string(),
        uploaded_to: args.server.as_deref(),
        upload: uploaded,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let fail = || format!("cannot write {}", path.display());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".edgeswarm-").suffix(".meta.tmp");
    // A published file is as readable as any other new file (subject to the
    // umask), not private like a temporary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder.tempfile_in(dir).with_context(fail)?;
    tmp.write_all(bytes).with_context(fail)?;
    tmp.as_file().sync_all().with_context(fail)?;
    tmp.persist(path).map_err(|e| e.error).with_context(fail)?;
    Ok(())
}
