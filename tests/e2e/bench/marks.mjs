// Performance-mark summary for the browser benchmarks (issue 9, part 1).
//
// The client may put User Timing marks on a piece's path, named
// `es:<phase>:<piece>` where <phase> may itself contain colons, e.g.
// `es:http:request:17`, `es:http:first-byte:17`, `es:peer:block:17`,
// `es:verified:17`, `es:stored:17`, `es:have:17`, `es:served:17`.
// collectMarks(page) reads them from a page; summarise(pages) turns the marks
// of one run (all its pages) into:
// - phases: how many marks of each phase, over all pages;
// - steps: for every piece of every page, its phases in time order (first
//   mark of each phase only, e.g. the first `served`), and the time between
//   consecutive phases, keyed "a → b"; count, p50, p90, max in ms;
// - firsts, lasts: per page (in the order given), the time of the first and
//   of the last mark of each phase in ms since the page's time origin (its
//   navigation): how long a page took to its first CDN request or first
//   peer block, when its last piece was verified and stored.
//
// Invariants: generic — no phase name is known here, so new marks need no
// change; a piece's steps are only measured between marks of the same page
// (one page's clock); marks not named `es:` are ignored; a mark without a
// piece suffix (`es:<name>` with no colon after it) only counts in phases.

/** The page's `es:` marks as [{ name, t }] (t: ms since the page's time origin). */
export function collectMarks(page) {
  return page.evaluate(() => performance.getEntriesByType("mark")
    .filter((m) => m.name.startsWith("es:"))
    .map((m) => ({ name: m.name, t: m.startTime })));
}

/** Splits `es:http:request:17` into { phase: "http:request", piece: "17" }. */
export function parseMark(name) {
  const body = name.slice(3);
  const i = body.lastIndexOf(":");
  if (i < 0) return { phase: body, piece: null };
  return { phase: body.slice(0, i), piece: body.slice(i + 1) };
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

const round = (x) => (x === null ? null : Math.round(x * 10) / 10);

/**
 * `pages`: an array with one array of { name, t } per page.
 * Returns null when there is no mark at all, else { marks, phases, steps }.
 */
export function summarise(pages) {
  const phases = {};
  const durations = new Map();
  const firsts = [];
  const lasts = [];
  let marks = 0;
  for (const list of pages) {
    const byPiece = new Map();
    const firstOfPage = {};
    const lastOfPage = {};
    for (const { name, t } of list) {
      if (!name.startsWith("es:")) continue;
      marks += 1;
      const { phase, piece } = parseMark(name);
      phases[phase] = (phases[phase] ?? 0) + 1;
      if (!(phase in firstOfPage) || firstOfPage[phase] > t) firstOfPage[phase] = t;
      if (!(phase in lastOfPage) || lastOfPage[phase] < t) lastOfPage[phase] = t;
      if (piece === null) continue;
      const first = byPiece.get(piece) ?? new Map();
      if (!first.has(phase) || first.get(phase) > t) first.set(phase, t);
      byPiece.set(piece, first);
    }
    const rounded = (o) => Object.fromEntries(Object.entries(o).map(([k, t]) => [k, round(t)]));
    firsts.push(rounded(firstOfPage));
    lasts.push(rounded(lastOfPage));
    for (const byPhase of byPiece.values()) {
      const ordered = [...byPhase.entries()].sort((a, b) => a[1] - b[1]);
      for (let k = 1; k < ordered.length; k++) {
        const key = `${ordered[k - 1][0]} → ${ordered[k][0]}`;
        if (!durations.has(key)) durations.set(key, []);
        durations.get(key).push(ordered[k][1] - ordered[k - 1][1]);
      }
    }
  }
  if (marks === 0) return null;
  const steps = {};
  for (const [key, ds] of [...durations.entries()].sort((a, b) => b[1].length - a[1].length)) {
    ds.sort((a, b) => a - b);
    steps[key] = { count: ds.length, p50Ms: round(quantile(ds, 0.5)),
      p90Ms: round(quantile(ds, 0.9)), maxMs: round(ds[ds.length - 1]) };
  }
  return { marks, phases, steps, firsts, lasts };
}
