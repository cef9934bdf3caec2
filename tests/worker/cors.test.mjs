// CORS with the shipped configuration (wrangler.toml: ALLOWED_ORIGINS = "*"):
// any site may embed the client, on every route and its preflight. The
// allow-list case (a listed origin echoed, others refused with 403) runs in
// tests/e2e/portal.test.mjs against a worker started with an allow-list, and
// in edge-worker/src/cors.rs's unit tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API } from './helpers.mjs';

const ORIGIN = 'https://portal.example';

test('default ALLOWED_ORIGINS: any origin gets Access-Control-Allow-Origin: *', async () => {
  const get = await fetch(`${API}/kv`, { headers: { Origin: ORIGIN } });
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('access-control-allow-origin'), '*');
  assert.match(get.headers.get('access-control-expose-headers') ?? '', /Content-Range/);

  const pre = await fetch(`${API}/content/anything`, {
    method: 'OPTIONS',
    headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.match(pre.headers.get('access-control-allow-methods') ?? '', /GET/);
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Range/i);

  // Errors carry it too, so a page can read the JSON error.
  const missing = await fetch(`${API}/cp/no-such-content-${Date.now()}`, { headers: { Origin: ORIGIN } });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('access-control-allow-origin'), '*');
});
