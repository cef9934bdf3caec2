// The OPFS piece writer: a dedicated Worker (started from a Blob URL by
// client-wasm/src/store/writer.rs) that writes verified pieces with
// `FileSystemSyncAccessHandle`, which only dedicated workers have.
//
// Protocol (postMessage):
//   in:  {op: "init", dir: FileSystemDirectoryHandle}      — once, first
//   in:  {op: "write", id, name, buf: ArrayBuffer (transferred)}
//   out: {id, error: null | string, buf}                   — one per write;
//        `buf` (the written bytes' ArrayBuffer) is transferred back for reuse
//
// Invariants:
// - a piece file `name` appears only once its bytes are written whole and
//   flushed: they go to a temporary `name.<random>.part` file first, which
//   is then renamed (`move`) to `name`. A crash leaves at most a `.part`
//   file, which is never read as a piece (only files named by a number are)
//   and is deleted when the store is opened again;
// - writes run concurrently (each its own file); the answer of each comes
//   after its rename, or with the error;
// - without sync access handles, the same steps use `createWritable`;
//   without `move`, `createWritable` on `name` itself (it commits on close).
let dir = null;

async function writeSync(handle, bytes) {
  const sync = await handle.createSyncAccessHandle();
  try {
    sync.truncate(0);
    let at = 0;
    while (at < bytes.length) {
      const n = sync.write(bytes.subarray(at), { at });
      if (!(n > 0)) throw new Error(`short write at ${at}`);
      at += n;
    }
    sync.flush();
  } finally {
    sync.close();
  }
}

async function writeStream(handle, bytes) {
  const w = await handle.createWritable();
  try {
    await w.write(bytes);
  } catch (e) {
    await w.abort().catch(() => {});
    throw e;
  }
  await w.close();
}

async function write(name, bytes) {
  if (typeof FileSystemHandle.prototype.move !== "function") {
    // No rename: createWritable commits the whole file on close, atomically.
    return writeStream(await dir.getFileHandle(name, { create: true }), bytes);
  }
  const part = `${name}.${Math.random().toString(36).slice(2)}.part`;
  const handle = await dir.getFileHandle(part, { create: true });
  try {
    if (typeof handle.createSyncAccessHandle === "function") {
      await writeSync(handle, bytes);
    } else {
      await writeStream(handle, bytes);
    }
    await handle.move(name);
  } catch (e) {
    await dir.removeEntry(part).catch(() => {});
    // Another writer (a second tab of the same cached item) may have put the
    // same verified piece there first: that is a stored piece too.
    const there = await dir.getFileHandle(name).then((h) => h.getFile(), () => null);
    if (!there || there.size !== bytes.length) throw e;
  }
}

self.onmessage = async (event) => {
  const m = event.data;
  if (m.op === "init") {
    dir = m.dir;
    return;
  }
  if (m.op !== "write") return;
  let error = null;
  try {
    if (!dir) throw new Error("the writer was not initialised");
    await write(m.name, new Uint8Array(m.buf));
  } catch (e) {
    error = String(e?.message ?? e);
  }
  self.postMessage({ id: m.id, error, buf: m.buf }, [m.buf]);
};
