// The array's defences of issue 11 on real workerd: an upgrade needs a
// signed, unexpired ticket from /disc for that very array (a hand-built
// URL, a tampered, expired or foreign ticket, and the array of a content
// whose policy forbids P2P are all refused with a JSON 403 before any
// WebSocket); one sender's offers to one recipient are capped; a forged
// report does not outrank a peer the array has seen serve; accusations only
// count from peers with standing.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  API, ArrayClient, arrayUrl, newArray, publish, randomArrayId, sha256, signTicket, terminateAll, uniqueId,
} from './helpers.mjs';

afterEach(terminateAll);

// edgeswarm_protocol::array::MAX_OFFERS_PER_PAIR (offers per pair per minute).
const MAX_OFFERS_PER_PAIR = 4;

/** Asserts that opening `url` is refused with a JSON 403 `code`. */
async function refused(url, code, headers = {}) {
  await assert.rejects(ArrayClient.open(url, headers), (e) => {
    assert.equal(e.status, 403, e.message);
    assert.match(e.contentType ?? '', /application\/json/);
    assert.equal(e.body?.error?.code, code, e.message);
    return true;
  });
}

const idOf = (url) => new URL(url).pathname.split('/').pop();
const ticketOf = (url) => new URL(url).searchParams.get('ticket');

/** The array id discovery computes (edge-worker/src/discovery.rs), for a hand-built URL. */
function arrayIdFor(contentId, scope, groupKey) {
  const field = (b) => { const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return [n, b]; };
  const buf = Buffer.concat([
    ...field(Buffer.from('edgeswarm-array-v1')), ...field(Buffer.from(contentId)),
    ...field(Buffer.from([scope])), ...field(Buffer.from(groupKey)), ...field(Buffer.alloc(0)),
  ]);
  return sha256(buf).subarray(0, 16).toString('hex');
}

test('a hand-built /array/{id} URL is refused; the /disc arrayUrl opens', async () => {
  const url = await newArray();
  assert.match(url, /\/do\/v1\/array\/[0-9a-f]{32}\?ticket=\d+\.a\.[0-9a-f]{64}$/);
  await refused(arrayUrl(idOf(url)), 'ticket_required');
  await refused(arrayUrl(randomArrayId()), 'ticket_required');
  const ok = await ArrayClient.open(url);
  assert.match(ok.peerId, /^[0-9a-f-]{36}$/);
  await ok.close();
});

test('a tampered, expired or foreign ticket is refused', async () => {
  const url = await newArray();
  const id = idOf(url);
  const ticket = ticketOf(url);
  const [expires, binding, mac] = ticket.split('.');
  const flipped = mac.slice(0, -1) + (mac.endsWith('0') ? '1' : '0');
  await refused(arrayUrl(id, `${expires}.${binding}.${flipped}`), 'ticket_invalid');
  await refused(arrayUrl(id, `${BigInt(expires) + 86400000n}.${binding}.${mac}`), 'ticket_invalid');
  await refused(arrayUrl(id, 'garbage'), 'ticket_invalid');
  // Another array's valid ticket opens nothing here.
  await refused(arrayUrl(randomArrayId(), ticket), 'ticket_invalid');
  // A correctly signed ticket that expired a second ago is refused as
  // expired; the same signature scheme an hour ahead opens the array, so
  // expiry alone is what refuses the first.
  await refused(arrayUrl(id, signTicket(id, Date.now() - 1000)), 'ticket_expired');
  const fresh = await ArrayClient.open(arrayUrl(id, signTicket(id, Date.now() + 3600000)));
  await fresh.close();
});

test("a P2P-forbidden content's array is refused", async () => {
  const id = uniqueId('nop2p');
  await publish(id, Buffer.from('HTTP only, please'), { p2pAllowed: false });
  const disc = await fetch(`${API}/disc/${id}?scope=2&groupId=g`);
  assert.equal(disc.status, 403);
  assert.equal((await disc.json()).error.code, 'p2p_not_allowed');
  // /disc gives no ticket, so its array (whose id is public) cannot be joined.
  await refused(arrayUrl(arrayIdFor(id, 2, 'g')), 'ticket_required');
});

test('a LAN ticket is bound to the address it was issued to', async () => {
  const id = uniqueId('lan');
  await publish(id, Buffer.from('lan content'));
  const lan = await (await fetch(`${API}/disc/${id}?scope=1`)).json();
  assert.match(ticketOf(lan.arrayUrl), /^\d+\.l\.[0-9a-f]{64}$/, 'scope 1 tickets are address-bound');
  const ok = await ArrayClient.open(lan.arrayUrl);
  await ok.close();
  // The same array for a ticket bound to another address is refused.
  const arrayId = idOf(lan.arrayUrl);
  await refused(arrayUrl(arrayId, signTicket(arrayId, Date.now() + 3600000, '203.0.113.9')), 'ticket_invalid');
  // Turning the LAN ticket into an unbound one breaks its MAC.
  await refused(arrayUrl(arrayId, ticketOf(lan.arrayUrl).replace('.l.', '.a.')), 'ticket_invalid');
});

test('one sender cannot keep making offers to one recipient', async () => {
  const array = await newArray();
  const victim = await ArrayClient.open(array);
  const attacker = await ArrayClient.open(array);
  let offers = 0;
  victim.ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.type === 'signal' && m.kind === 'offer') offers += 1; });
  const sent = MAX_OFFERS_PER_PAIR + 6;
  for (let k = 0; k < sent; k++) attacker.send({ type: 'signal', to: victim.peerId, kind: 'offer', data: `o${k}` });
  // The report's answer comes after the answers to every offer before it.
  attacker.send({ type: 'report' });
  let limited = 0;
  for (let m = await attacker.next(); m.type !== 'peers'; m = await attacker.next()) {
    if (m.type === 'error' && m.code === 'offer_limit') limited += 1;
  }
  // The victim's answer comes after everything relayed to it before.
  await victim.report();
  assert.equal(offers, MAX_OFFERS_PER_PAIR, 'the pair cap');
  assert.equal(limited, sent - MAX_OFFERS_PER_PAIR, 'every dropped offer was answered offer_limit');
  // Candidates for the connections it did offer still pass, and the sender
  // is not struck out.
  attacker.send({ type: 'signal', to: victim.peerId, kind: 'ice', data: '{}' });
  assert.equal((await victim.nextOf('signal')).kind, 'ice');
  assert.equal(attacker.closeCode, null);
  for (const c of [victim, attacker]) await c.close();
});

test('a forged report is not ranked ahead of a peer the array has seen serve', async () => {
  const array = await newArray();
  const downloaders = [await ArrayClient.open(array), await ArrayClient.open(array), await ArrayClient.open(array)];
  const seed = await ArrayClient.open(array);
  const forger = await ArrayClient.open(array);
  const witness = await ArrayClient.open(array);
  await seed.report({ left: 0, uploaded: 1000000, uploadedBps: 1000 });
  const huge = 2 ** 53 - 1;
  await forger.report({ left: 0, uploaded: huge, uploadedBps: huge });
  // Without standing, the forged seed ranks among the seeds: both come
  // first (in a per-client mix; a forged rate orders nothing).
  for (const d of downloaders) {
    const firstTwo = (await d.report({ left: 500 })).slice(0, 2).map((p) => p.peerId).sort();
    assert.deepEqual(firstTwo, [seed.peerId, forger.peerId].sort());
  }
  // The witness received verified bytes from the seed: now every
  // downloader is offered the seed first (the witness reports no `left`,
  // so it is a seed too: by chance alone, 1 in 27).
  witness.send({ type: 'attest', verifiedFrom: [seed.peerId] });
  await witness.report();
  for (const d of downloaders) {
    const peers = await d.report({ left: 500 });
    assert.equal(peers[0].peerId, seed.peerId, JSON.stringify(peers));
    const f = peers.find((p) => p.peerId === forger.peerId);
    assert.ok(f.uploadedBps <= 1250000000, `the forger's rate is clamped: ${f.uploadedBps}`);
  }
  for (const c of [...downloaders, seed, forger, witness]) await c.close();
});

test('shared bans: a quorum of accusers with standing drops a peer; attacker sockets cannot drop an honest one', async () => {
  const array = await newArray();
  const open = async () => ArrayClient.open(array);
  const [observer, honest, bad, a, b, voucher] = [await open(), await open(), await open(), await open(), await open(), await open()];
  const listed = async () => (await observer.report({ peersWanted: 64 })).map((p) => p.peerId);
  const attest = async (who, fields) => { who.send({ type: 'attest', ...fields }); await who.report(); };
  // Three sockets without standing (no peer vouches for them) accuse the honest peer.
  for (const x of [bad, a, b]) await attest(x, { banned: [honest.peerId] });
  assert.ok((await listed()).includes(honest.peerId), 'forged accusations drop nobody');
  // a and b now accuse the bad peer instead (an attestation replaces the
  // last); without standing that still counts for nothing.
  for (const x of [a, b]) await attest(x, { banned: [bad.peerId] });
  assert.ok((await listed()).includes(bad.peerId), 'accusers without standing');
  // a gains standing (the voucher received verified bytes from it): one
  // accuser with standing is not a quorum.
  await attest(voucher, { verifiedFrom: [a.peerId] });
  assert.ok((await listed()).includes(bad.peerId), 'one accuser is not a quorum');
  // b gains standing too: the quorum drops the bad peer.
  await attest(voucher, { verifiedFrom: [a.peerId, b.peerId] });
  const after = await listed();
  assert.ok(!after.includes(bad.peerId), 'the quorum drops the bad peer');
  assert.ok(after.includes(honest.peerId), 'the honest peer stays');
  for (const c of [observer, honest, bad, a, b, voucher]) await c.close();
});
