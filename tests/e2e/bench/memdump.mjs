// Chromium's own account of a process's memory, by allocator: one
// memory-infra dump over CDP (Tracing.requestMemoryDump) taken during a
// download, so the memory bench can say what the renderer's RSS is made of
// (V8 heap, Oilpan/Blink GC, PartitionAlloc's array-buffer and buffer
// partitions, malloc, …) instead of guessing (docs/bench/browser.md, "Memory").
//
// Invariants: measures, never asserts; tracing is always ended, even when the
// dump fails; sizes are in MiB, per process id, only the top-level allocators.

/** Top-level allocators of one memory-infra dump, pid → { allocator: MiB }. */
function allocators(events) {
  const byPid = {};
  for (const e of events) {
    const dumps = e.ph === "v" ? e.args?.dumps : null;
    if (!dumps?.allocators) continue;
    const row = (byPid[e.pid] ??= {});
    for (const [name, a] of Object.entries(dumps.allocators)) {
      // "v8", "blink_gc", "partition_alloc/partitions/array_buffer", …:
      // keep the allocator and its first-level parts, not deeper details.
      const depth = name.split("/").length;
      const keep = depth === 1 || (name.startsWith("partition_alloc/partitions/") && depth === 3);
      const size = a.attrs?.size?.value;
      if (keep && size) row[name] = Math.round((parseInt(size, 16) / 2 ** 20) * 10) / 10;
    }
  }
  return byPid;
}

/** Takes one detailed memory dump of every Chromium process, via `page`'s CDP session. */
export async function memoryDump(context, page) {
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on("Tracing.dataCollected", (m) => events.push(...m.value));
  const done = new Promise((r) => cdp.once("Tracing.tracingComplete", r));
  await cdp.send("Tracing.start", {
    transferMode: "ReportEvents",
    traceConfig: { includedCategories: ["disabled-by-default-memory-infra"], excludedCategories: ["*"],
      memoryDumpConfig: { triggers: [] } },
  });
  let ok = false;
  try {
    ok = (await cdp.send("Tracing.requestMemoryDump", { deterministic: false, levelOfDetail: "detailed" })).success;
  } finally {
    await cdp.send("Tracing.end");
    await done;
    await cdp.detach().catch(() => {});
  }
  return ok ? allocators(events) : null;
}
