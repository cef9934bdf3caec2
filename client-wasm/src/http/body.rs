//! Reading a response body into wasm memory without leaving garbage behind.
//!
//! A default reader hands over every chunk in a fresh `ArrayBuffer`, which
//! Chromium frees only at V8's next garbage collection: streaming 1 GiB of
//! fetch bodies that way peaks a renderer at ~550 MiB RSS, and detaching the
//! chunks (`transfer(0)`) is worse (~1.1 GiB: Blink still holds their bytes,
//! while V8 no longer counts them and so collects later still). A BYOB
//! reader fills ONE buffer of [`READ_BUFFER`] bytes, handed back and forth
//! with the stream, so the page allocates nothing per chunk: the same 1 GiB
//! stays within the browser's baseline (docs/bench/browser.md, "Memory
//! without DevTools").
//!
//! [`BodyReader`] uses a BYOB reader where the body is a byte stream (fetch
//! bodies in Chromium), and a default reader elsewhere. Either way a read
//! returns at most `max` bytes, copied into a `Vec`; a BYOB read never takes
//! more than that from the stream, a default read cuts its chunk.

use js_sys::{ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStream, ReadableStreamByobReader, ReadableStreamDefaultReader};

/// The largest BYOB buffer: one per open body, sized to what the body may
/// hold (a one-piece request gets a piece-sized one).
/// 1 MiB read 512 MiB in 6.7 s against 7.3 s with 256 KiB (one run each,
/// fewer reads for the page's thread).
pub const READ_BUFFER: u32 = 1024 * 1024;

/// A locked body stream, read chunk by chunk.
pub enum BodyReader {
    /// A byte stream: reads fill `buffer` (None while a read holds it, or
    /// after a read failed: the stream keeps it then).
    Byob {
        reader: ReadableStreamByobReader,
        buffer: Option<ArrayBuffer>,
    },
    Default(ReadableStreamDefaultReader),
}

/// What a read ended with.
pub enum Chunk {
    Bytes(Vec<u8>),
    End,
}

impl BodyReader {
    /// Locks `stream`: a BYOB reader when it is a byte stream (with a buffer
    /// of `capacity` bytes, at most [`READ_BUFFER`]: callers that will read
    /// no more than n bytes ask for n + 1), else a default one.
    pub fn new(stream: &ReadableStream, capacity: u64) -> Result<Self, JsValue> {
        // The constructor throws on a stream that is not a byte stream (and
        // where BYOB readers do not exist), leaving the stream unlocked.
        if let Ok(reader) = ReadableStreamByobReader::new(stream) {
            return Ok(Self::Byob {
                reader,
                buffer: Some(ArrayBuffer::new(
                    u32::try_from(capacity)
                        .unwrap_or(READ_BUFFER)
                        .clamp(1, READ_BUFFER),
                )),
            });
        }
        stream
            .get_reader()
            .dyn_into::<ReadableStreamDefaultReader>()
            .map(Self::Default)
            .map_err(JsValue::from)
    }

    /// The next at most `max` (≥ 1) bytes, or the end of the body. A
    /// default reader's chunk longer than `max` is cut and its rest dropped:
    /// callers read no further than `max` (past it, they cancel).
    pub async fn read(&mut self, max: u32) -> Result<Chunk, JsValue> {
        let max = max.max(1);
        match self {
            Self::Byob { reader, buffer } => {
                let Some(buf) = buffer.take() else {
                    return Err("the body's read buffer was lost to a failed read".into());
                };
                let view = Uint8Array::new_with_byte_offset_and_length(
                    &buf,
                    0,
                    max.min(buf.byte_length()),
                );
                let step = JsFuture::from(reader.read_with_array_buffer_view(&view)).await?;
                let value = Reflect::get(&step, &"value".into())?;
                let done = Reflect::get(&step, &"done".into())?
                    .as_bool()
                    .unwrap_or(true);
                // The stream gives the (transferred) buffer back in `value`,
                // also at the end; without it there is nothing left to read.
                let Ok(value) = value.dyn_into::<Uint8Array>() else {
                    return Ok(Chunk::End);
                };
                *buffer = Some(value.buffer());
                if done {
                    return Ok(Chunk::End);
                }
                Ok(Chunk::Bytes(value.to_vec()))
            }
            Self::Default(reader) => {
                let step = JsFuture::from(reader.read()).await?;
                if Reflect::get(&step, &"done".into())?
                    .as_bool()
                    .unwrap_or(true)
                {
                    return Ok(Chunk::End);
                }
                let value: Uint8Array = Reflect::get(&step, &"value".into())?
                    .dyn_into()
                    .map_err(|_| JsValue::from("a body chunk is not bytes"))?;
                let keep = value.length().min(max);
                Ok(Chunk::Bytes(value.subarray(0, keep).to_vec()))
            }
        }
    }

    /// Cancels the body (the rest is not read). On a stream that already
    /// failed the cancel rejects: that is awaited and dropped, not left
    /// as an unhandled rejection.
    pub fn cancel(&self) {
        let cancelled = match self {
            Self::Byob { reader, .. } => reader.cancel(),
            Self::Default(reader) => reader.cancel(),
        };
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(cancelled).await;
        });
    }
}
