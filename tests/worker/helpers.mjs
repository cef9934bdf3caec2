// Shared helpers of the edge-worker tests: the worker under test (started by
// `cargo xtask test`, see xtask/src/worker.rs), a metadata v1 encoder, a
// publisher, and a WebSocket client that awaits messages instead of sleeping.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export const BASE = process.env.EDGESWARM_WORKER_URL;
export const TOKEN = process.env.EDGESWARM_ADMIN_TOKEN;
export const API = `${BASE}/do/v1`;
if (!BASE || !TOKEN) {
  throw new Error('run through `cargo xtask test`: EDGESWARM_WORKER_URL and EDGESWARM_ADMIN_TOKEN are unset');
}

export const sha256 = (buf) => createHash('sha256').update(buf).digest();
export const hex = (buf) => Buffer.from(buf).toString('hex');
export const uniqueId = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`;

/** Metadata file, format v1 (docs/format.md), for `data` split in `pieceSize` pieces. */
export function encodeMetadata(contentId, data, pieceSize = 16384) {
  const id = Buffer.from(contentId, 'utf8');
  const n = Math.ceil(data.length / pieceSize);
  const head = Buffer.alloc(58);
  head.write('ESWMETA1', 0, 'ascii');
  head.writeUInt16LE(1, 8);
  head.writeUInt16LE(0, 10);
  head.writeUInt32LE(pieceSize, 12);
  head.writeBigUInt64LE(BigInt(data.length), 16);
  sha256(data).copy(head, 24);
  head.writeUInt16LE(id.length, 56);
  const count = Buffer.alloc(4);
  count.writeUInt32LE(n, 0);
  const hashes = [];
  for (let i = 0; i < n; i++) hashes.push(sha256(data.subarray(i * pieceSize, (i + 1) * pieceSize)));
  return Buffer.concat([head, id, count, ...hashes]);
}

export const auth = { Authorization: `Bearer ${TOKEN}` };

export async function put(path, body, headers = auth) {
  return fetch(`${API}${path}`, { method: 'PUT', body, headers });
}

/** Publishes `data` under `contentId` the way `edgeswarm publish --server` does. */
export async function publish(contentId, data, policy = { p2pAllowed: true }) {
  const meta = encodeMetadata(contentId, data);
  for (const [what, body] of [['metadata', meta], ['data', data], ['policy', JSON.stringify(policy)]]) {
    const r = await put(`/admin/content/${contentId}/${what}`, body);
    if (r.status !== 201) throw new Error(`PUT ${what}: ${r.status} ${await r.text()}`);
  }
  return meta;
}

/** Asserts a 4xx JSON error with `code` and returns the body. */
export async function expectError(assert, res, status, code) {
  assert.equal(res.status, status, `${res.url}: expected ${status}, got ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = await res.json();
  assert.equal(body.error?.code, code, JSON.stringify(body));
  assert.equal(typeof body.error.message, 'string');
  return body;
}

export const randomArrayId = () => randomBytes(16).toString('hex');

let arrayContent = null;

/**
 * A fresh array, the way a client gets one: `/disc` for a published content
 * (P2P allowed) in Group scope with a random group. Returns its `arrayUrl`
 * (with the signed ticket).
 */
export async function newArray() {
  if (!arrayContent) {
    const id = uniqueId('arrays');
    await publish(id, Buffer.from('content whose arrays the tests join'));
    arrayContent = id;
  }
  const res = await fetch(`${API}/disc/${arrayContent}?scope=2&groupId=${uniqueId('g')}`);
  if (res.status !== 200) throw new Error(`disc: ${res.status} ${await res.text()}`);
  return (await res.json()).arrayUrl;
}

/**
 * A ticket signed by the test itself (docs/array-protocol.md, "Tickets"): the
 * test worker signs with ADMIN_TOKEN (no TICKET_SECRET is set), so the tests
 * can forge an expired ticket that is otherwise valid.
 */
export function signTicket(arrayId, expiresMs, boundIp = null) {
  const field = (b) => { const n = Buffer.alloc(8); n.writeBigUInt64LE(BigInt(b.length)); return [n, b]; };
  const exp = Buffer.alloc(8);
  exp.writeBigUInt64LE(BigInt(expiresMs));
  const mac = createHmac('sha256', TOKEN);
  for (const part of [
    Buffer.from('edgeswarm-array-ticket-v1'), ...field(Buffer.from(arrayId)), exp,
    Buffer.from(boundIp ? 'l' : 'a'), ...field(Buffer.from(boundIp ?? '')),
  ]) mac.update(part);
  return `${expiresMs}.${boundIp ? 'l' : 'a'}.${mac.digest('hex')}`;
}

/** The ws URL of array `arrayId` with `ticket` (or none). */
export const arrayUrl = (arrayId, ticket) =>
  `${BASE.replace('http', 'ws')}/do/v1/array/${arrayId}${ticket ? `?ticket=${encodeURIComponent(ticket)}` : ''}`;

const live = new Set();

/** Terminates every client still open (after each test, so a failed test leaks no socket). */
export function terminateAll() {
  for (const c of live) c.ws.terminate();
  live.clear();
}

/** A WebSocket client of one array whose messages are awaited in order. */
export class ArrayClient {
  /** Opens `url` (an `arrayUrl` from `/disc`, ticket included); `headers` for the upgrade. */
  static async open(url, headers = {}) {
    const c = new ArrayClient(new WebSocket(url, { headers }));
    live.add(c);
    await c.opened;
    const welcome = await c.next();
    if (welcome.type !== 'welcome') throw new Error(`expected welcome, got ${JSON.stringify(welcome)}`);
    c.peerId = welcome.peerId;
    c.limits = welcome.limits;
    return c;
  }

  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.closeCode = null;
    this.closed = new Promise((resolve) => ws.on('close', (code) => {
      this.closeCode = code;
      resolve(code);
      for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed (${code})`));
    }));
    this.opened = new Promise((resolve, reject) => {
      ws.on('open', resolve);
      ws.on('error', reject);
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => {
          let json = null;
          try { json = JSON.parse(body); } catch { /* not JSON: the test fails on it */ }
          reject(Object.assign(new Error(`HTTP ${res.statusCode} ${body}`), {
            status: res.statusCode, contentType: res.headers['content-type'], body: json,
          }));
        });
      });
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      const w = this.waiters.shift();
      if (w) w.resolve(msg); else this.queue.push(msg);
    });
  }

  /** The next message. */
  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    // Nothing more can arrive on a closed socket: fail instead of waiting forever.
    if (this.closeCode !== null) return Promise.reject(new Error(`socket closed (${this.closeCode})`));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The next message of `type`, skipping others (e.g. peerLeft). */
  async nextOf(type) {
    for (;;) {
      const m = await this.next();
      if (m.type === type) return m;
    }
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** Sends a report and returns the peers answer. */
  async report(fields = {}) {
    this.send({ type: 'report', peersWanted: 8, ...fields });
    return (await this.nextOf('peers')).peers;
  }

  async close() {
    this.ws.close();
    await this.closed;
    live.delete(this);
  }
}
