// The CPU-profile summariser on a synthetic profile (no browser):
// `node --test tests/e2e/bench/`.
import test from "node:test";
import assert from "node:assert/strict";
import { selfTimes } from "./cpuprofile.mjs";

test("selfTimes charges each sample's interval to the function on top of its stack", () => {
  const frame = (functionName, url = "", lineNumber = 0) => ({ functionName, url, lineNumber });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 4] },
      { id: 2, callFrame: frame("pump", "http://x/pkg/client_wasm.js", 9), children: [3] },
      { id: 3, callFrame: frame("compress", "http://x/pkg/client_wasm_bg.wasm", 0) },
      { id: 4, callFrame: frame("(idle)") },
    ],
    // Sample i lasts until sample i + 1 (timeDeltas[i + 1], µs); the last one has no length.
    samples: [3, 3, 2, 4, 4, 3],
    timeDeltas: [0, 1000, 1000, 500, 2000, 1500],
  };
  const r = selfTimes(profile);
  assert.equal(r.totalMs, 6);
  assert.deepEqual(r.top.map((t) => [t.name, t.ms]), [
    ["(idle)", 3.5],
    ["compress client_wasm_bg.wasm:1", 2],
    ["pump client_wasm.js:10", 0.5],
  ]);
  assert.equal(r.top[1].pct, 33.3);
});
