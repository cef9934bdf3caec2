// Shared-link CDN for the browser benchmarks (docs/bench/browser.md).
//
// A plain node HTTP server on 127.0.0.1 that serves registered files with
// HTTP Range (206 + Content-Range, Accept-Ranges, HEAD, 416) and CORS for any
// origin. It models the WAN link of a branch office: ONE token bucket is
// shared by every response the server sends, so N pages downloading at once
// split `rate` bytes/s between them (this is not DevTools throttling, which
// would give every page a link of its own).
//
// Invariants:
// - Only 127.0.0.1; nothing else is reachable.
// - Body bytes leave the server only after the bucket granted them, in
//   chunks of at most CHUNK bytes, granted in request order (FIFO), so
//   concurrent responses share the link fairly chunk by chunk. The bucket
//   holds at most BURST bytes, so no response starts with a large burst.
// - `rate` 0 means unlimited: bodies are written at once (back-pressure only).
// - `bytesServed()` counts body bytes handed to sockets (headers excluded),
//   including bytes of responses the client aborted after they were written:
//   it is what crossed the link. `reset()` zeroes it and refills nothing.
// - Every response stops when its socket closes; `stop()` destroys open
//   sockets, so the server never keeps the process alive.
import { createServer } from "node:http";

const CHUNK = 16 * 1024;
const BURST = 128 * 1024;

/** One token bucket: `take(n)` resolves when n bytes may be sent. */
export class TokenBucket {
  constructor(rate) {
    this.rate = rate;
    this.tokens = 0;
    this.last = performance.now();
    this.waiters = [];
    this.timer = null;
  }

  refill() {
    const now = performance.now();
    this.tokens = Math.min(BURST, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  take(n) {
    if (this.rate <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ n, resolve });
      this.pump();
    });
  }

  pump() {
    if (this.timer) return;
    this.refill();
    while (this.waiters.length && this.tokens >= this.waiters[0].n) {
      const w = this.waiters.shift();
      this.tokens -= w.n;
      w.resolve();
    }
    if (this.waiters.length) {
      // The link's clock: wake up when the head of the queue can be served.
      const ms = Math.max(1, ((this.waiters[0].n - this.tokens) / this.rate) * 1000);
      this.timer = setTimeout(() => { this.timer = null; this.pump(); }, ms);
    }
  }

  /** Drops waiters (their responses are gone) and stops the clock. */
  close() {
    clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.waiters.splice(0)) w.resolve();
  }
}

/** Parses one `bytes=` range against `size`; null = serve all, "bad" = 416. */
function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "bad";
  let start, end;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "bad";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return "bad";
  return { start, end };
}

/**
 * Starts the server. `rate` in bytes/s (0 = unlimited).
 * Returns { url, add(path, bytes) → absolute URL, bytesServed(), requests(),
 * reset(), stop() }.
 */
export async function startSharedLinkCdn({ rate = 5_000_000 } = {}) {
  const files = new Map();
  const sockets = new Set();
  let bucket = new TokenBucket(rate);
  let served = 0;
  let requests = 0;

  const cors = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Range, Content-Length, Accept-Ranges",
  };

  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...cors,
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "Range",
        "Access-Control-Max-Age": "600",
      });
      return res.end();
    }
    const data = files.get(path);
    if (!data || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(data ? 405 : 404, cors);
      return res.end();
    }
    requests += 1;
    const range = parseRange(req.headers.range, data.length);
    if (range === "bad") {
      res.writeHead(416, { ...cors, "Content-Range": `bytes */${data.length}` });
      return res.end();
    }
    const { start, end } = range ?? { start: 0, end: data.length - 1 };
    const headers = {
      ...cors,
      "Accept-Ranges": "bytes",
      "Content-Type": "application/octet-stream",
      "Content-Length": String(end - start + 1),
      "Cache-Control": "no-store",
    };
    if (range) headers["Content-Range"] = `bytes ${start}-${end}/${data.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === "HEAD") return res.end();

    let closed = false;
    res.once("close", () => { closed = true; });
    const link = bucket;
    for (let off = start; off <= end && !closed; off += CHUNK) {
      const len = Math.min(CHUNK, end + 1 - off);
      await link.take(len);
      if (closed || link !== bucket) break;
      served += len;
      if (!res.write(data.subarray(off, off + len))) {
        await new Promise((r) => {
          const done = () => { res.off("drain", done); res.off("close", done); r(); };
          res.on("drain", done);
          res.on("close", done);
        });
      }
    }
    res.end();
  });
  server.on("connection", (s) => { sockets.add(s); s.once("close", () => sockets.delete(s)); });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    rate,
    add(path, bytes) { files.set(path, bytes); return `${url}${path}`; },
    bytesServed: () => served,
    requests: () => requests,
    /** New run: zero the counters, an empty bucket, responses still in flight cut off. */
    reset() {
      bucket.close();
      bucket = new TokenBucket(rate);
      served = 0;
      requests = 0;
    },
    async stop() {
      bucket.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
