// The mark summariser on synthetic marks (no browser): `node --test tests/e2e/bench/`.
import test from "node:test";
import assert from "node:assert/strict";
import { parseMark, summarise } from "./marks.mjs";

test("parseMark splits the phase from the piece at the last colon", () => {
  assert.deepEqual(parseMark("es:http:first-byte:17"), { phase: "http:first-byte", piece: "17" });
  assert.deepEqual(parseMark("es:ready"), { phase: "ready", piece: null });
});

test("summarise: steps between consecutive phases per piece and page, first mark of a phase only", () => {
  const page1 = [
    { name: "es:http:request:0", t: 10 }, { name: "es:http:first-byte:0", t: 30 },
    { name: "es:http:last-byte:0", t: 130 }, { name: "es:verified:0", t: 133 },
    { name: "es:served:0", t: 200 }, { name: "es:served:0", t: 900 },
    { name: "es:http:request:1", t: 20 }, { name: "es:http:first-byte:1", t: 60 },
    { name: "other", t: 1 }, { name: "es:ready", t: 5 },
  ];
  const page2 = [{ name: "es:peer:request:0", t: 1 }, { name: "es:peer:block:0", t: 9 }];
  const s = summarise([page1, page2]);
  assert.equal(s.marks, 11);
  assert.equal(s.phases.served, 2);
  assert.equal(s.phases.ready, 1);
  assert.deepEqual(s.steps["http:request → http:first-byte"], { count: 2, p50Ms: 20, p90Ms: 40, maxMs: 40 });
  assert.equal(s.steps["verified → served"].p50Ms, 67);
  assert.equal(s.steps["peer:request → peer:block"].count, 1);
  assert.deepEqual(s.firsts[0], { "http:request": 10, "http:first-byte": 30, "http:last-byte": 130,
    verified: 133, served: 200, ready: 5 }, "each phase's first mark on page 1");
  assert.deepEqual(s.firsts[1], { "peer:request": 1, "peer:block": 9 });
  assert.equal(s.lasts[0].served, 900, "the last served mark");
  assert.equal(s.lasts[0]["http:request"], 20);
  assert.equal(summarise([[{ name: "x", t: 1 }], []]), null);
});
