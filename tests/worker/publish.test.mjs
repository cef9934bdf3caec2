// Publishing within the edge's limits, on real workerd (xtask starts the
// worker with MAX_UPLOAD_BYTES = 8 MiB): 413 JSON above the limit, the
// multipart routes (create, parts verified piece by piece, list, complete,
// abort), a tampered part refused with its piece named and nothing
// announced, and the real CLI interrupted mid-upload (Ctrl-C, then kill -9)
// finishing with --resume, which sends only the parts the worker lacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { API, auth, put, expectError, encodeMetadata, sha256, hex, uniqueId } from './helpers.mjs';

const MiB = 1024 * 1024;
const LIMIT = 8 * MiB;
const BIN = process.env.EDGESWARM_BIN;

const call = (method, path, body, headers = auth) => fetch(`${API}${path}`, { method, body, headers });
const mp = (id) => `/admin/content/${id}/multipart`;
const partPath = (id, n, uploadId) => `${mp(id)}/parts/${n}?uploadId=${encodeURIComponent(uploadId)}`;
const completePath = (id, uploadId) => `${mp(id)}/complete?uploadId=${encodeURIComponent(uploadId)}`;

async function json(res, status) {
  const text = await res.text();
  assert.equal(res.status, status, `${res.url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

test('a single PUT above MAX_UPLOAD_BYTES gets 413 JSON', async () => {
  const id = uniqueId('too-big');
  const data = randomBytes(LIMIT + 1);
  assert.equal((await put(`/admin/content/${id}/metadata`, encodeMetadata(id, data, MiB))).status, 201);
  const body = await expectError(assert, await put(`/admin/content/${id}/data`, data), 413, 'body_too_large');
  assert.match(body.error.message, /8388608/);
  // The metadata answer tells clients the limit.
  const meta = await json(await put(`/admin/content/${id}/metadata`, encodeMetadata(id, data, MiB)), 201);
  assert.equal(meta.maxUploadBytes, LIMIT);
  await expectError(assert, await fetch(`${API}/cp/${id}`), 404, 'unknown_content');
});

test('multipart: a tampered part is refused naming the piece; nothing is announced until complete', async () => {
  const id = uniqueId('parts');
  const data = randomBytes(2 * LIMIT + 3 * MiB + 1234); // 3 parts: 8, 8, 3 MiB + 1234
  const unauth = { Authorization: 'Bearer wrong' };
  await expectError(assert, await call('POST', mp(id), undefined, unauth), 401, 'unauthorized');
  await expectError(assert, await call('POST', mp(id)), 409, 'metadata_missing');
  assert.equal((await put(`/admin/content/${id}/metadata`, encodeMetadata(id, data, MiB))).status, 201);
  await expectError(assert, await call('POST', mp(id), '{"partSize":4194304}'), 400, 'bad_part_size');
  await expectError(assert, await call('POST', mp(id), '{"partSize":16777216}'), 400, 'bad_part_size');

  const up = await json(await call('POST', mp(id)), 201);
  assert.equal(up.partSize, LIMIT);
  assert.equal(up.partCount, 3);
  assert.equal(up.maxUploadBytes, LIMIT);
  assert.deepEqual(up.parts, []);
  const part = (n) => data.subarray((n - 1) * LIMIT, Math.min(n * LIMIT, data.length));

  // Caller mistakes are 4xx and store nothing.
  await expectError(assert, await call('PUT', partPath(id, 1, up.uploadId), part(1), unauth), 401, 'unauthorized');
  await expectError(assert, await call('PUT', partPath(id, 1, 'not-it'), part(1)), 409, 'upload_superseded');
  await expectError(assert, await call('PUT', partPath(id, 4, up.uploadId), part(3)), 400, 'bad_part_number');
  await expectError(assert, await call('PUT', partPath(id, 1, up.uploadId), part(3)), 400, 'size_mismatch');
  await expectError(assert, await call('PUT', partPath(id, 1, up.uploadId), randomBytes(LIMIT + 1)), 413, 'body_too_large');

  // One flipped byte in piece 10 (the third piece of part 2).
  const bad = Buffer.from(part(2));
  bad[2 * MiB + 77] ^= 0xff;
  const refused = await expectError(assert, await call('PUT', partPath(id, 2, up.uploadId), bad), 422, 'piece_mismatch');
  assert.match(refused.error.message, /piece 10\b/);

  for (const n of [1, 3]) {
    const rec = await json(await call('PUT', partPath(id, n, up.uploadId), part(n)), 201);
    assert.equal(rec.partNumber, n);
    assert.equal(rec.size, part(n).length);
  }
  const listed = await json(await call('GET', mp(id)), 200);
  assert.deepEqual(listed.parts.map((p) => p.partNumber), [1, 3], 'the tampered part is not listed');
  await expectError(assert, await call('GET', mp(id), undefined, unauth), 401, 'unauthorized');
  await expectError(assert, await call('POST', completePath(id, up.uploadId)), 409, 'parts_missing');

  // Not announced: no data, so the policy is refused and /cp stays 404.
  await expectError(assert, await put(`/admin/content/${id}/policy`, '{"p2pAllowed":true}'), 409, 'data_missing');
  await expectError(assert, await fetch(`${API}/cp/${id}`), 404, 'unknown_content');
  assert.equal((await fetch(`${API}/content/${id}`)).status, 404);

  await json(await call('PUT', partPath(id, 2, up.uploadId), part(2)), 201);
  await expectError(assert, await call('POST', completePath(id, up.uploadId), undefined, unauth), 401, 'unauthorized');
  const done = await json(await call('POST', completePath(id, up.uploadId)), 201);
  assert.equal(done.fileSize, data.length);
  assert.deepEqual(done.parts.map((p) => p.partNumber), [1, 2, 3]);
  await expectError(assert, await call('GET', mp(id)), 404, 'no_upload');
  await expectError(assert, await fetch(`${API}/cp/${id}`), 404, 'unknown_content');

  assert.equal((await put(`/admin/content/${id}/policy`, '{"p2pAllowed":true}')).status, 201);
  assert.equal((await fetch(`${API}/cp/${id}`)).status, 200);
  const got = Buffer.from(await (await fetch(`${API}/content/${id}`)).arrayBuffer());
  assert.equal(got.length, data.length);
  assert.equal(hex(sha256(got)), hex(sha256(data)));
});

test('multipart: abort forgets the upload; new metadata makes an upload stale', async () => {
  const id = uniqueId('abort');
  const data = randomBytes(LIMIT + MiB);
  assert.equal((await put(`/admin/content/${id}/metadata`, encodeMetadata(id, data, MiB))).status, 201);
  const up = await json(await call('POST', mp(id)), 201);
  await json(await call('PUT', partPath(id, 1, up.uploadId), data.subarray(0, LIMIT)), 201);
  await expectError(assert, await call('DELETE', mp(id), undefined, { Authorization: 'Bearer no' }), 401, 'unauthorized');
  assert.equal((await json(await call('DELETE', mp(id)), 200)).aborted, true);
  await expectError(assert, await call('GET', mp(id)), 404, 'no_upload');
  await expectError(assert, await call('PUT', partPath(id, 2, up.uploadId), data.subarray(LIMIT)), 404, 'no_upload');

  const again = await json(await call('POST', mp(id)), 201);
  const other = randomBytes(LIMIT + MiB);
  assert.equal((await put(`/admin/content/${id}/metadata`, encodeMetadata(id, other, MiB))).status, 201);
  await expectError(assert, await call('PUT', partPath(id, 1, again.uploadId), other.subarray(0, LIMIT)), 409, 'metadata_changed');
});

/** Runs the CLI; resolves {code, signal, stdout, stderr} when it exits. */
function cli(args, onSpawn) {
  const child = spawn(BIN, args, { env: { ...process.env, EDGESWARM_TOKEN: process.env.EDGESWARM_ADMIN_TOKEN } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  onSpawn?.(child);
  return exited;
}

/** Polls the worker's list of stored parts until `enough(parts)`; the CLI must still run. */
async function whenParts(id, enough, running) {
  for (;;) {
    if (running.exited) throw new Error('the CLI ended before the parts were stored');
    const r = await call('GET', mp(id));
    if (r.status === 200) {
      const s = await r.json();
      if (enough(s.parts)) return s.parts;
    } else {
      await r.arrayBuffer();
    }
    await new Promise((res) => setTimeout(res, 50)); // poll interval
  }
}

test('CLI: interrupted twice (Ctrl-C, kill -9), --resume sends only the missing parts', { skip: !BIN && 'EDGESWARM_BIN unset' }, async () => {
  const id = uniqueId('resume');
  const dir = mkdtempSync(join(tmpdir(), 'edgeswarm-resume-'));
  try {
    const data = randomBytes(5 * LIMIT); // 40 MiB: 5 parts of 8 MiB
    const file = join(dir, 'big.bin');
    writeFileSync(file, data);
    const base = ['publish', file, '--content-id', id, '--piece-size', String(MiB), '--out', join(dir, 'out'),
      '--server', process.env.EDGESWARM_WORKER_URL, '--jobs', '1'];
    // 8 MiB/s: about a second per part, so the interruptions land mid-upload.
    const slow = ['--limit-rate', String(8 * MiB)];

    let child;
    const state = { exited: false };
    const first = cli([...base, ...slow], (c) => { child = c; c.on('exit', () => { state.exited = true; }); });
    await whenParts(id, (p) => p.length >= 1, state);
    child.kill('SIGINT');
    const r1 = await first;
    assert.equal(r1.code, 130, r1.stderr);
    assert.equal(r1.stdout, '');
    assert.equal(r1.stderr.trim().split('\n').length, 1, r1.stderr);
    assert.match(r1.stderr, /^edgeswarm: interrupted: upload .* left resumable .*--resume/);
    await expectError(assert, await fetch(`${API}/cp/${id}`), 404, 'unknown_content');

    const afterCtrlC = (await json(await call('GET', mp(id)), 200)).parts;
    const state2 = { exited: false };
    const second = cli([...base, '--resume', ...slow], (c) => { child = c; c.on('exit', () => { state2.exited = true; }); });
    const k = afterCtrlC.length;
    await whenParts(id, (p) => p.length >= k + 1, state2);
    child.kill('SIGKILL');
    const r2 = await second;
    assert.equal(r2.signal, 'SIGKILL');
    await expectError(assert, await fetch(`${API}/cp/${id}`), 404, 'unknown_content');

    const before = (await json(await call('GET', mp(id)), 200)).parts;
    assert.ok(before.length >= 2 && before.length < 5, `parts stored before the resume: ${before.length}`);
    const r3 = await cli([...base, '--resume']);
    assert.equal(r3.code, 0, r3.stderr);
    const report = JSON.parse(r3.stdout);
    assert.equal(report.upload.mode, 'multipart');
    const m = report.upload.multipart;
    assert.equal(m.partCount, 5);
    assert.equal(m.partsAlreadyStored, before.length);
    assert.equal(m.partsUploaded, 5 - before.length);
    // Counted on the worker: the parts it had keep their etag and time of storage.
    for (const p of before) {
      const after = m.parts.find((q) => q.partNumber === p.partNumber);
      assert.deepEqual(after, p, `part ${p.partNumber} was sent again`);
    }
    assert.equal(m.parts.length, 5);

    assert.equal((await fetch(`${API}/cp/${id}`)).status, 200);
    const got = Buffer.from(await (await fetch(`${API}/content/${id}`)).arrayBuffer());
    assert.equal(hex(sha256(got)), hex(sha256(data)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
