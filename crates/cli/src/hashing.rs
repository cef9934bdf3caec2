//! Streaming, two-core hashing of a file into its piece hashes and whole-file hash.
//!
//! A file is never held in memory: a fixed pool of [`POOL_BUFFERS`] buffers
//! of [`READ_BUFFER_LEN`] bytes circulates through a three-stage pipeline,
//!
//! ```text
//! reader (this thread) ──buf──▶ piece hasher ──buf──▶ file hasher ──buf──▶ back to the pool
//! ```
//!
//! so the two SHA-256 computations over the same bytes run on two cores at
//! once and memory stays at `POOL_BUFFERS × READ_BUFFER_LEN` plus 32 bytes per
//! piece. Buffers travel in file order through every stage, so each hasher
//! sees the bytes exactly in order.
//!
//! The piece stage calls a check for each finished piece as soon as it is
//! hashed (`verify` uses it to stop at the first bad piece); an error there
//! stops the whole pipeline, and the reader stops at its next hand-off.

use std::io::{ErrorKind, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::Context;
use edgeswarm_protocol::metadata::{FileHasher, PieceHasher};
use edgeswarm_protocol::{PieceSize, Sha256Digest};
use indicatif::ProgressBar;

/// Buffers in flight: enough to keep both hashers busy while the reader reads.
pub const POOL_BUFFERS: usize = 4;
/// Bytes per buffer: large enough that hand-offs between threads (and the
/// wake-ups they cost) are rare next to the hashing. (256 KiB and 4 MiB
/// measured no better on the 2-core benchmark machine.)
pub const READ_BUFFER_LEN: usize = 1024 * 1024;

/// Opens `path` for hashing and returns it with its length, with errors that
/// name the file.
pub fn open_sized(path: &std::path::Path) -> anyhow::Result<(std::fs::File, u64)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot stat {}", path.display()))?
        .len();
    Ok((file, len))
}

/// What one pass over a file yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHashes {
    pub file_size: u64,
    pub file_sha256: Sha256Digest,
    pub piece_hashes: Vec<Sha256Digest>,
}

/// Hashes everything `reader` yields. `check(i, hash)` runs on each finished
/// piece in order; its first error aborts the pass and is returned. `bar`
/// advances by the bytes read.
pub fn hash_stream<R, C>(
    reader: R,
    piece_size: PieceSize,
    bar: &ProgressBar,
    check: C,
) -> anyhow::Result<FileHashes>
where
    R: Read,
    C: FnMut(usize, &Sha256Digest) -> anyhow::Result<()> + Send,
{
    let (to_pieces, piece_rx) = sync_channel::<Vec<u8>>(POOL_BUFFERS);
    let (to_file, file_rx) = sync_channel::<Vec<u8>>(POOL_BUFFERS);
    let (to_pool, pool_rx) = sync_channel::<Vec<u8>>(POOL_BUFFERS);
    for _ in 0..POOL_BUFFERS {
        // The pool channel holds POOL_BUFFERS items and is empty here.
        to_pool
            .send(Vec::with_capacity(READ_BUFFER_LEN))
            .expect("the pool has room for every buffer");
    }

    std::thread::scope(|s| {
        let pieces = s.spawn(move || piece_stage(piece_size, piece_rx, to_file, check));
        let file = s.spawn(move || file_stage(file_rx, to_pool));
        let read = read_stage(reader, pool_rx, to_pieces, bar);
        // A panic in a stage is a bug in our code or in sha2; re-raise it as is.
        let pieces = pieces
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let file = file.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        // A stage's own error explains a stopped reader, so it comes first.
        let (piece_bytes, piece_hashes) = pieces?;
        let read_bytes = read?;
        let (file_size, file_sha256) = file;
        anyhow::ensure!(
            piece_bytes == read_bytes && file_size == read_bytes,
            "internal error: hashing stages saw {piece_bytes} and {file_size} of {read_bytes} bytes"
        );
        Ok(FileHashes {
            file_size,
            file_sha256,
            piece_hashes,
        })
    })
}

/// Fills pooled buffers from `reader` and sends them down the pipeline.
/// Returns the bytes read; stops early (still `Ok`) when a later stage quit.
fn read_stage(
    mut reader: impl Read,
    pool: Receiver<Vec<u8>>,
    to_pieces: SyncSender<Vec<u8>>,
    bar: &ProgressBar,
) -> anyhow::Result<u64> {
    let mut total = 0u64;
    loop {
        let Ok(mut buf) = pool.recv() else {
            return Ok(total); // the file stage quit
        };
        buf.resize(READ_BUFFER_LEN, 0);
        let n = loop {
            match reader.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("read failed"),
            }
        };
        if n == 0 {
            return Ok(total);
        }
        anyhow::ensure!(
            n <= READ_BUFFER_LEN,
            "reader returned more bytes than asked"
        );
        buf.truncate(n);
        total += n as u64;
        bar.inc(n as u64);
        if to_pieces.send(buf).is_err() {
            return Ok(total); // the piece stage quit, with its own error
        }
    }
}

fn piece_stage(
    piece_size: PieceSize,
    rx: Receiver<Vec<u8>>,
    to_file: SyncSender<Vec<u8>>,
    mut check: impl FnMut(usize, &Sha256Digest) -> anyhow::Result<()>,
) -> anyhow::Result<(u64, Vec<Sha256Digest>)> {
    let mut hasher = PieceHasher::new(piece_size);
    let mut checked = 0;
    while let Ok(buf) = rx.recv() {
        hasher.update(&buf);
        for (i, h) in hasher.hashes().iter().enumerate().skip(checked) {
            check(i, h)?;
        }
        checked = hasher.hashes().len();
        // The file stage only quits when this sender is dropped.
        let _ = to_file.send(buf);
    }
    let (bytes, hashes) = hasher.finish();
    for (i, h) in hashes.iter().enumerate().skip(checked) {
        check(i, h)?;
    }
    Ok((bytes, hashes))
}

fn file_stage(rx: Receiver<Vec<u8>>, to_pool: SyncSender<Vec<u8>>) -> (u64, Sha256Digest) {
    let mut hasher = FileHasher::new();
    while let Ok(buf) = rx.recv() {
        hasher.update(&buf);
        // The reader may have finished and dropped the pool; then the buffer is freed.
        let _ = to_pool.send(buf);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeswarm_protocol::{ContentId, MetadataBuilder};

    /// A reader yielding odd-sized chunks, to cross buffer and piece boundaries.
    struct Odd<'a>(&'a [u8], usize);
    impl Read for Odd<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 9973 + 4099;
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 253) as u8).collect()
    }

    #[test]
    fn pipeline_matches_the_single_threaded_builder() {
        let ps = PieceSize::new(16 * 1024).unwrap();
        for len in [0, 1, 16 * 1024, 5 * READ_BUFFER_LEN + 12345] {
            let file = pattern(len);
            let got =
                hash_stream(Odd(&file, 0), ps, &ProgressBar::hidden(), |_, _| Ok(())).unwrap();
            let mut b = MetadataBuilder::new(ContentId::new("t").unwrap(), ps);
            b.update(&file);
            let want = b.finish().unwrap();
            assert_eq!(got.file_size, want.file_size());
            assert_eq!(&got.file_sha256, want.file_sha256());
            assert_eq!(got.piece_hashes, want.piece_hashes());
        }
    }

    #[test]
    fn check_sees_every_piece_in_order_and_can_stop_the_pass() {
        let ps = PieceSize::new(16 * 1024).unwrap();
        let file = pattern(3 * 1024 * 1024);
        let mut seen = Vec::new();
        let err = hash_stream(file.as_slice(), ps, &ProgressBar::hidden(), |i, _| {
            seen.push(i);
            anyhow::ensure!(i < 70, "stop at {i}");
            Ok(())
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "stop at 70");
        assert_eq!(seen, (0..=70).collect::<Vec<_>>());
    }

    #[test]
    fn read_error_midway_ends_the_pass_with_that_error() {
        let file = pattern(3 * READ_BUFFER_LEN);
        let failing = file.as_slice().chain(Broken);
        let ps = PieceSize::new(16 * 1024).unwrap();
        let err = hash_stream(failing, ps, &ProgressBar::hidden(), |_, _| Ok(())).unwrap_err();
        assert_eq!(format!("{err:#}"), "read failed: disk gone");
    }

    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk gone"))
        }
    }
}
