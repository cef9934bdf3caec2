// CPU profiles of bench pages through CDP (docs/bench/browser.md, "One peer
// link": where a page's CPU goes).
//
// startProfile(context, page) starts V8's sampling profiler in the page's
// renderer (`Profiler.start` on a CDP session of that page) and returns
// stop(), which stops it and resolves with the `.cpuprofile` JSON.
// selfTimes(profile) adds up self time per function (name + script + line
// of its definition), over every sample: `{ totalMs, top: [{ name, ms, pct }] }`.
// Wasm functions appear under their names when the module keeps a name
// section (a profiling build: wasm-opt -g), else as `$func123`.
//
// threadCpu(): CPU seconds per Chromium process type and thread, from /proc.
//
// Invariants: measures only; the profiler runs in the page's own renderer
// (what V8 attributes to JS and wasm, plus V8's "(program)" and
// "(garbage collector)" entries); browser-process and network-service CPU
// are not in it.

import { readdirSync, readFileSync } from "node:fs";

/** Starts the sampling profiler in `page`; returns an async stop() → profile. */
export async function startProfile(context, page, intervalUs = 250) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: intervalUs });
  await cdp.send("Profiler.start");
  return async () => {
    const { profile } = await cdp.send("Profiler.stop");
    await cdp.detach();
    return profile;
  };
}

/** Self time per function over the whole profile, largest first. */
export function selfTimes(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map();
  let totalMs = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i += 1) {
    // timeDeltas[i] is the gap before sample i: charge it to sample i.
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    const f = byId.get(samples[i]).callFrame;
    const script = f.url ? f.url.split("/").pop() : "";
    const key = `${f.functionName || "(anonymous)"}${script ? ` ${script}:${f.lineNumber + 1}` : ""}`;
    ms.set(key, (ms.get(key) ?? 0) + dt);
    totalMs += dt;
  }
  const r = (x) => Math.round(x * 10) / 10;
  return {
    totalMs: r(totalMs),
    top: [...ms].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, t]) => ({ name, ms: r(t), pct: r((100 * t) / totalMs) })),
  };
}

/**
 * CPU time of every Chromium thread under this node process, from
 * /proc/<pid>/task/<tid>/stat (utime + stime, clock ticks of 10 ms).
 * Returns stop(), which gives the CPU seconds used since the call, per
 * process type and thread name (e.g. "renderer CrRendererMain",
 * "renderer WebRTC_Network", "utility NetworkService"), largest first,
 * their sum (`cpuSeconds`) and the sum per process type (`processTypes`);
 * "renderer+" marks processes started after the call (in the link bench:
 * the joiner's renderer). A thread that ended before stop() is not
 * counted.
 */
export function threadCpu(descendants, processType) {
  const snap = () => {
    const m = new Map();
    for (const { pid, comm } of descendants(process.pid)) {
      if (!/chrom/i.test(comm)) continue;
      const type = processType(pid);
      let tids = [];
      try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
      for (const tid of tids) {
        try {
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
          const close = stat.lastIndexOf(")");
          const name = stat.slice(stat.indexOf("(") + 1, close);
          const f = stat.slice(close + 2).split(" ");
          m.set(`${pid}/${tid}`, { pid, key: `${type} ${name}`, ticks: Number(f[11]) + Number(f[12]) });
        } catch { /* gone */ }
      }
    }
    return m;
  };
  const before = snap();
  const old = new Set([...before.values()].map((t) => t.pid));
  return () => {
    const by = new Map();
    const types = new Map();
    let total = 0;
    for (const [id, t] of snap()) {
      const used = t.ticks - (before.get(id)?.ticks ?? 0);
      // "+": a process started after the call (e.g. a page opened since).
      const key = old.has(t.pid) ? t.key : t.key.replace(" ", "+ ");
      by.set(key, (by.get(key) ?? 0) + used);
      const type = key.slice(0, key.indexOf(" "));
      types.set(type, (types.get(type) ?? 0) + used);
      total += used;
    }
    const s = (ticks) => Math.round(ticks) / 100;
    return {
      cpuSeconds: s(total),
      processTypes: [...types].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, s(v)]),
      threads: [...by].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 12)
        .map(([k, v]) => [k, s(v)]),
    };
  };
}
