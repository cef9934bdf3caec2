// The HTTP routes of the edge worker on real workerd: happy paths, bad input
// (4xx JSON, never 5xx), the admin token, and Range edge cases.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  API, auth, put, publish, expectError, encodeMetadata, sha256, hex, uniqueId, signTicket,
} from './helpers.mjs';

const SIZE = 100_000;
const data = randomBytes(SIZE);
const id = uniqueId('http');
const alt = `https://downloads.example/${id}.iso`;
let meta;

before(async () => {
  meta = await publish(id, data, { p2pAllowed: true, altCatalogId: alt });
});

test('kv: endpoints and client config', async () => {
  const r = await fetch(`${API}/kv`);
  assert.equal(r.status, 200);
  const kv = await r.json();
  for (const k of ['geo', 'cp', 'disc', 'array', 'meta', 'content']) assert.ok(kv.endpoints[k].includes('/do/v1/'), k);
  assert.match(kv.endpoints.array, /^ws:\/\/127\.0\.0\.1:\d+\/do\/v1\/array$/);
  const c = kv.config;
  assert.equal(c.pieceSize, 1048576);
  assert.ok(Array.isArray(c.iceServers));
  assert.equal(c.strikeLimit, 2, 'DO bans after 2 bad pieces by default');
  assert.ok(c.peers.maxConnections > 0 && c.peers.peersWanted > 0);
  assert.equal(typeof c.httpDelay.foregroundMs, 'number');
  assert.equal(c.array.maxPeers, 6, 'the test worker runs with ARRAY_MAX_PEERS=6');
});

test('geo: country and colo from request.cf', async () => {
  const cf = JSON.parse(process.env.EDGESWARM_TEST_CF);
  const geo = await (await fetch(`${API}/geo`)).json();
  assert.equal(geo.countryCode, cf.country);
  assert.equal(geo.colo, cf.colo);
});

test('cp: policy by content id and by altCatalogId', async () => {
  const r = await fetch(`${API}/cp/${id}`);
  assert.equal(r.status, 200);
  const cp = await r.json();
  assert.equal(cp.contentId, id);
  assert.equal(cp.p2pAllowed, true);
  assert.equal(cp.metadataSha256, hex(sha256(meta)));
  assert.equal(cp.fileSize, SIZE);
  assert.equal(cp.pieceSize, 16384);
  assert.equal(cp.fileSha256, hex(sha256(data)));
  const fetched = Buffer.from(await (await fetch(cp.metadataUrl)).arrayBuffer());
  assert.equal(hex(sha256(fetched)), cp.metadataSha256, 'metadataUrl serves the hashed bytes');
  const content = Buffer.from(await (await fetch(cp.contentUrl)).arrayBuffer());
  assert.ok(content.equals(data), 'contentUrl serves the file');
  const byAlt = await (await fetch(`${API}/cp?altCatalogId=${encodeURIComponent(alt)}`)).json();
  assert.deepEqual(byAlt, cp);
});

test('disc: array id depends on content, scope and group', async () => {
  const disc = async (q) => (await fetch(`${API}/disc/${id}?${q}`)).json();
  const g1 = await disc('scope=2&groupId=g1');
  const g1again = await disc('scope=2&groupId=g1');
  const g2 = await disc('scope=2&groupId=g2');
  const lan = await disc('scope=1');
  const internet = await disc('scope=3');
  const part = await disc('scope=3&partitionId=p1');
  assert.equal(g1.arrayId, g1again.arrayId);
  assert.match(g1.arrayId, /^[0-9a-f]{32}$/);
  const u = new URL(g1.arrayUrl);
  assert.ok(u.pathname.endsWith(`/do/v1/array/${g1.arrayId}`));
  assert.match(u.searchParams.get('ticket'), /^\d+\.a\.[0-9a-f]{64}$/, 'a signed ticket');
  assert.equal(new Set([g1, g2, lan, internet, part].map((d) => d.arrayId)).size, 5);
  const byAlt = await (await fetch(`${API}/disc?altCatalogId=${encodeURIComponent(alt)}&scope=2&groupId=g1`)).json();
  assert.equal(byAlt.arrayId, g1.arrayId);
});

test('meta and content: bytes, HEAD, ETag', async () => {
  const m = await fetch(`${API}/meta/${id}`);
  assert.equal(m.status, 200);
  assert.ok(Buffer.from(await m.arrayBuffer()).equals(meta));
  const h = await fetch(`${API}/content/${id}`, { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.headers.get('content-length'), String(SIZE));
  assert.equal(h.headers.get('accept-ranges'), 'bytes');
  assert.ok(h.headers.get('cache-control'));
  const etag = h.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(`${API}/content/${id}`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
});

async function range(header, method = 'GET') {
  return fetch(`${API}/content/${id}`, { method, headers: { Range: header } });
}

async function expectPart(header, start, end) {
  const r = await range(header);
  assert.equal(r.status, 206, header);
  assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${SIZE}`);
  assert.equal(r.headers.get('content-length'), String(end - start + 1));
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(data.subarray(start, end + 1)), header);
}

test('Range: first byte, last byte, suffixes, open ends', async () => {
  await expectPart('bytes=0-0', 0, 0);
  await expectPart(`bytes=${SIZE - 1}-${SIZE - 1}`, SIZE - 1, SIZE - 1);
  await expectPart(`bytes=${SIZE - 1}-`, SIZE - 1, SIZE - 1);
  await expectPart('bytes=-1', SIZE - 1, SIZE - 1);
  await expectPart('bytes=-500', SIZE - 500, SIZE - 1);
  await expectPart(`bytes=-${SIZE + 100}`, 0, SIZE - 1);
  await expectPart(`bytes=16384-32767`, 16384, 32767);
  await expectPart(`bytes=${SIZE - 10}-${SIZE + 1000}`, SIZE - 10, SIZE - 1);
  const head = await range('bytes=10-19', 'HEAD');
  assert.equal(head.status, 206);
  assert.equal(head.headers.get('content-range'), `bytes 10-19/${SIZE}`);
});

test('Range: unsatisfiable and malformed ranges get 416', async () => {
  for (const h of [`bytes=${SIZE}-`, `bytes=${SIZE}-${SIZE + 5}`, 'bytes=-0', 'bytes=5-2', 'bytes=0-1,5-6', 'items=0-1', 'bytes=x-y']) {
    const r = await range(h);
    await expectError(assert, r, 416, 'range_not_satisfiable');
    assert.equal(r.headers.get('content-range'), `bytes */${SIZE}`, h);
  }
});

test('bad input on every route is a 4xx JSON error', async () => {
  const get = (p, init) => fetch(`${API}${p}`, init);
  await expectError(assert, await get('/nope'), 404, 'unknown_route');
  await expectError(assert, await get('/kv', { method: 'POST' }), 405, 'method_not_allowed');
  await expectError(assert, await get('/geo', { method: 'DELETE' }), 405, 'method_not_allowed');
  await expectError(assert, await get('/cp/bad%20id'), 400, 'bad_content_id');
  await expectError(assert, await get(`/cp/${'a'.repeat(300)}`), 400, 'bad_content_id');
  await expectError(assert, await get('/cp/never-published'), 404, 'unknown_content');
  await expectError(assert, await get('/cp'), 400, 'missing_parameter');
  await expectError(assert, await get('/cp?altCatalogId=https%3A%2F%2Fnowhere'), 404, 'unknown_content');
  await expectError(assert, await get(`/disc/${id}?scope=7`), 400, 'bad_scope');
  await expectError(assert, await get(`/disc/${id}?scope=0`), 400, 'scope_without_peers');
  await expectError(assert, await get(`/disc/${id}?scope=2`), 400, 'missing_group_id');
  await expectError(assert, await get(`/disc/${id}?scope=2&groupId=${'g'.repeat(200)}`), 400, 'bad_parameter');
  await expectError(assert, await get('/disc/never-published'), 404, 'unknown_content');
  await expectError(assert, await get('/array/not-an-array'), 400, 'bad_array_id');
  // The ticket is checked before anything else about the array.
  await expectError(assert, await get(`/array/${'a'.repeat(32)}`), 403, 'ticket_required');
  const ticket = encodeURIComponent(signTicket('a'.repeat(32), Date.now() + 60_000));
  await expectError(assert, await get(`/array/${'a'.repeat(32)}?ticket=${ticket}`), 426, 'upgrade_required');
  await expectError(assert, await get('/meta/never-published'), 404, 'unknown_content');
  await expectError(assert, await get('/content/never-published'), 404, 'unknown_content');
  await expectError(assert, await get('/content/never-published', { method: 'PUT' }), 405, 'method_not_allowed');
  await expectError(assert, await put(`/admin/content/${id}/other`, 'x'), 404, 'unknown_route');
});

test('unknown methods get 405 with Allow, never a GET answer', async () => {
  const call = (p, init) => fetch(`${API}${p}`, init);
  // workers-rs would map these to GET: `QUERY /kv` answered 200 and
  // `PROPFIND` with a Range answered 206 before.
  let r = await call('/kv', { method: 'QUERY' });
  await expectError(assert, r, 405, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'GET, OPTIONS');
  r = await call(`/content/${id}`, { method: 'PROPFIND', headers: { Range: 'bytes=0-3' } });
  await expectError(assert, r, 405, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'GET, HEAD, OPTIONS');
  r = await call('/kv', { method: 'PUT', body: 'x' });
  await expectError(assert, r, 405, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'GET, OPTIONS');
});

test('disc refuses content whose policy forbids peers', async () => {
  const closed = uniqueId('nop2p');
  await publish(closed, randomBytes(1000), { p2pAllowed: false });
  await expectError(assert, await fetch(`${API}/disc/${closed}?scope=3`), 403, 'p2p_not_allowed');
  const cp = await (await fetch(`${API}/cp/${closed}`)).json();
  assert.equal(cp.p2pAllowed, false);
});

test('admin: bad bodies are refused and store nothing', async () => {
  const fresh = uniqueId('bad');
  const body = randomBytes(5000);
  const goodMeta = encodeMetadata(fresh, body);
  // Data before metadata.
  await expectError(assert, await put(`/admin/content/${fresh}/data`, body), 409, 'metadata_missing');
  // Garbled, truncated, trailing-byte and other-id metadata.
  await expectError(assert, await put(`/admin/content/${fresh}/metadata`, randomBytes(100)), 400, 'bad_metadata');
  await expectError(assert, await put(`/admin/content/${fresh}/metadata`, goodMeta.subarray(0, goodMeta.length - 1)), 400, 'bad_metadata');
  await expectError(assert, await put(`/admin/content/${fresh}/metadata`, Buffer.concat([goodMeta, Buffer.from([0])])), 400, 'bad_metadata');
  await expectError(assert, await put(`/admin/content/${fresh}/metadata`, encodeMetadata('other', body)), 400, 'content_id_mismatch');
  await expectError(assert, await fetch(`${API}/meta/${fresh}`), 404, 'unknown_content');
  // Valid metadata, then data of the wrong size and of the wrong bytes.
  assert.equal((await put(`/admin/content/${fresh}/metadata`, goodMeta)).status, 201);
  await expectError(assert, await put(`/admin/content/${fresh}/data`, body.subarray(1)), 400, 'size_mismatch');
  const flipped = Buffer.from(body);
  flipped[1234] ^= 1;
  await expectError(assert, await put(`/admin/content/${fresh}/data`, flipped), 400, 'hash_mismatch');
  await expectError(assert, await fetch(`${API}/content/${fresh}`), 404, 'unknown_content');
  // Policies.
  for (const bad of ['not json', '{}', '{"p2pAllowed":"yes"}', '{"p2pAllowed":true,"extra":1}', '{"p2pAllowed":true,"contentUrl":"ftp://x"}']) {
    await expectError(assert, await put(`/admin/content/${fresh}/policy`, bad), 400, 'bad_policy');
  }
  await expectError(assert, await put(`/admin/content/${fresh}/policy`, ' '.repeat(20000)), 413, 'body_too_large');
  await expectError(assert, await fetch(`${API}/cp/${fresh}`), 404, 'unknown_content');
});

test('admin: a missing or wrong token gets 401 and changes nothing', async () => {
  const fresh = uniqueId('noauth');
  const body = randomBytes(3000);
  const m = encodeMetadata(fresh, body);
  for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: auth.Authorization.slice(7) }, { Authorization: `Basic ${auth.Authorization.slice(7)}` }]) {
    await expectError(assert, await put(`/admin/content/${fresh}/metadata`, m, headers), 401, 'unauthorized');
    await expectError(assert, await put(`/admin/content/${fresh}/policy`, '{"p2pAllowed":true}', headers), 401, 'unauthorized');
    // Over the published item: its policy must stay as it is.
    await expectError(assert, await put(`/admin/content/${id}/policy`, '{"p2pAllowed":false}', headers), 401, 'unauthorized');
    await expectError(assert, await put(`/admin/content/${id}/data`, randomBytes(SIZE), headers), 401, 'unauthorized');
  }
  await expectError(assert, await fetch(`${API}/meta/${fresh}`), 404, 'unknown_content');
  await expectError(assert, await fetch(`${API}/cp/${fresh}`), 404, 'unknown_content');
  const cp = await (await fetch(`${API}/cp/${id}`)).json();
  assert.equal(cp.p2pAllowed, true);
  const content = Buffer.from(await (await fetch(`${API}/content/${id}`)).arrayBuffer());
  assert.ok(content.equals(data));
});

test('admin: a body without Content-Length (chunked) gets 411 and stores nothing', async () => {
  const fresh = uniqueId('chunked');
  const body = randomBytes(2000);
  // A stream body is sent chunked: no Content-Length to bound the read.
  const chunked = (bytes) => new ReadableStream({
    start(c) { c.enqueue(new Uint8Array(bytes)); c.close(); },
  });
  const putChunked = (what, bytes) => fetch(`${API}/admin/content/${fresh}/${what}`, {
    method: 'PUT', headers: auth, body: chunked(bytes), duplex: 'half',
  });
  await expectError(assert, await putChunked('metadata', encodeMetadata(fresh, body)), 411, 'length_required');
  await expectError(assert, await putChunked('policy', Buffer.from('{"p2pAllowed":true}')), 411, 'length_required');
  await expectError(assert, await fetch(`${API}/meta/${fresh}`), 404, 'unknown_content');
  await expectError(assert, await fetch(`${API}/cp/${fresh}`), 404, 'unknown_content');
});

test('admin: metadata for other bytes retires the stored data until it is re-uploaded', async () => {
  const item = uniqueId('republish');
  const v1 = randomBytes(40_000);
  await publish(item, v1);
  const v2 = randomBytes(50_000);
  const meta2 = encodeMetadata(item, v2);
  assert.equal((await put(`/admin/content/${item}/metadata`, meta2)).status, 201);
  // The old bytes no longer match what /cp announces, so the CDN stops serving them.
  const cp = await (await fetch(`${API}/cp/${item}`)).json();
  assert.equal(cp.metadataSha256, hex(sha256(meta2)));
  assert.equal(cp.fileSize, v2.length);
  await expectError(assert, await fetch(`${API}/content/${item}`), 404, 'unknown_content');
  assert.equal((await put(`/admin/content/${item}/data`, v2)).status, 201);
  const served = Buffer.from(await (await fetch(cp.contentUrl)).arrayBuffer());
  assert.ok(served.equals(v2), 'the new bytes are served');
  // Metadata of the same bytes with another piece size keeps the data.
  const rechunked = encodeMetadata(item, v2, 32768);
  assert.equal((await put(`/admin/content/${item}/metadata`, rechunked)).status, 201);
  const still = Buffer.from(await (await fetch(cp.contentUrl)).arrayBuffer());
  assert.ok(still.equals(v2), 'same bytes, data kept');
});

test('admin: dropping an altCatalogId never unregisters another item that took it over', async () => {
  const url = `https://downloads.example/${uniqueId('shared')}.iso`;
  const first = uniqueId('alt-a');
  const second = uniqueId('alt-b');
  await publish(first, randomBytes(1000), { p2pAllowed: true, altCatalogId: url });
  await publish(second, randomBytes(1000), { p2pAllowed: true, altCatalogId: url });
  const byAlt = async () => (await fetch(`${API}/cp?altCatalogId=${encodeURIComponent(url)}`)).json();
  assert.equal((await byAlt()).contentId, second, 'the later registration wins');
  // The first item drops its URL: the second keeps it.
  assert.equal((await put(`/admin/content/${first}/policy`, '{"p2pAllowed":true}')).status, 201);
  assert.equal((await byAlt()).contentId, second);
  // The owner dropping it does unregister it.
  assert.equal((await put(`/admin/content/${second}/policy`, '{"p2pAllowed":true}')).status, 201);
  await expectError(assert, await fetch(`${API}/cp?altCatalogId=${encodeURIComponent(url)}`), 404, 'unknown_content');
});
