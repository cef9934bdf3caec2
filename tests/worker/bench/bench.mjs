// Edge worker benchmark (docs/bench/worker.md). Measures, against the local
// workerd started by `cargo xtask bench worker`:
//  - the array with N = 10, 100, 500 concurrent WebSocket clients in one array:
//    report → peers latency, signal round-trip latency (p50/p99), relayed
//    messages per second;
//  - 1 GiB of 1 MiB Range requests from /content, next to a plain Node static
//    file server serving the same file with Range on the same machine.
// Prints one JSON object per figure. Bounded: fixed message counts, loopback only.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ArrayClient, API, publish, newArray, terminateAll } from '../helpers.mjs';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round3 = (x) => Math.round(x * 1000) / 1000;

async function arrayBench(n) {
  const array = await newArray();
  const clients = [];
  for (let i = 0; i < n; i++) clients.push(await ArrayClient.open(array));
  // Everyone reports once so the peer list carries stats.
  await Promise.all(clients.map((c, i) => c.report({ left: i % 4 === 0 ? 0 : 1000 + i, peersWanted: 8 })));

  // Report → peers latency: every client reports, ROUNDS times, all at once.
  const ROUNDS = Math.max(2, Math.floor(2000 / n));
  const reportLat = [];
  for (let r = 0; r < ROUNDS; r++) {
    await Promise.all(clients.map(async (c, i) => {
      const t0 = now();
      await c.report({ left: 1000 + i, peersWanted: 8 });
      reportLat.push(now() - t0);
    }));
  }

  // Signal round trip: client i offers to its partner, which answers.
  const pairs = [];
  for (let i = 0; i + 1 < n; i += 2) pairs.push([clients[i], clients[i + 1]]);
  const rttLat = [];
  for (let r = 0; r < ROUNDS; r++) {
    await Promise.all(pairs.map(async ([a, b]) => {
      const t0 = now();
      a.send({ type: 'signal', to: b.peerId, kind: 'offer', data: 'o' });
      await b.nextOf('signal');
      b.send({ type: 'signal', to: a.peerId, kind: 'answer', data: 'a' });
      await a.nextOf('signal');
      rttLat.push(now() - t0);
    }));
  }

  // Throughput: every client sends PER signals to its right neighbour at once.
  const PER = Math.max(5, Math.floor(5000 / n));
  const t0 = now();
  await Promise.all(clients.map(async (c, i) => {
    const to = clients[(i + 1) % n].peerId;
    const msg = JSON.stringify({ type: 'signal', to, kind: 'ice', data: 'c' });
    for (let k = 0; k < PER; k++) c.ws.send(msg);
  }));
  await Promise.all(clients.map(async (c) => { for (let k = 0; k < PER; k++) await c.nextOf('signal'); }));
  const secs = (now() - t0) / 1000;
  terminateAll();
  return {
    figure: 'array', clients: n,
    reports: reportLat.length,
    reportP50Ms: round3(pct(reportLat, 50)), reportP99Ms: round3(pct(reportLat, 99)),
    signalRoundTrips: rttLat.length,
    signalRttP50Ms: round3(pct(rttLat, 50)), signalRttP99Ms: round3(pct(rttLat, 99)),
    relayedMessages: n * PER, messagesPerSecond: Math.round((n * PER) / secs),
  };
}

/** A plain static file server with single-range support (the baseline). */
function staticServer(file) {
  const size = fs.statSync(file).size;
  const server = http.createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m) { res.writeHead(200, { 'Content-Length': size }); fs.createReadStream(file).pipe(res); return; }
    const start = Number(m[1]); const end = Math.min(Number(m[2]), size - 1);
    res.writeHead(206, { 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
    fs.createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function rangeRun(url, size, total, piece, concurrency) {
  const pieces = size / piece;
  const count = total / piece;
  let next = 0; let bytes = 0;
  const t0 = now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = (next++ * 7919) % pieces;
      const r = await fetch(url, { headers: { Range: `bytes=${i * piece}-${(i + 1) * piece - 1}` } });
      if (r.status !== 206) throw new Error(`range: ${r.status}`);
      const got = (await r.arrayBuffer()).byteLength;
      bytes += got;
    }
  }));
  const secs = (now() - t0) / 1000;
  if (bytes !== total) throw new Error(`range: ${bytes} bytes, expected ${total}`);
  return { seconds: round3(secs), mbPerSecond: Math.round(bytes / secs / 1e6) };
}

async function rangeBench() {
  const SIZE = 64 * 1024 * 1024; const TOTAL = 1024 * 1024 * 1024; const PIECE = 1024 * 1024; const CONC = 8;
  const data = randomBytes(SIZE);
  const id = `bench-${randomBytes(4).toString('hex')}`;
  await publish(id, data);
  const dir = process.env.EDGESWARM_BENCH_DIR ?? '/tmp';
  const file = path.join(dir, 'range-bench.bin');
  fs.writeFileSync(file, data);
  const server = await staticServer(file);
  const baseline = await rangeRun(`http://127.0.0.1:${server.address().port}/f`, SIZE, TOTAL, PIECE, CONC);
  server.close();
  const worker = await rangeRun(`${API}/content/${id}`, SIZE, TOTAL, PIECE, CONC);
  return { figure: 'range-1GiB', pieceBytes: PIECE, concurrency: CONC, fileBytes: SIZE, worker, staticFileServer: baseline };
}

const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'array') {
  for (const n of [10, 100, 500]) console.log(JSON.stringify(await arrayBench(n)));
}
if (which === 'all' || which === 'range') console.log(JSON.stringify(await rangeBench()));
