// Publish benchmark (docs/bench/publish.md): the real CLI publishes a large
// file to the local workerd started by `cargo xtask bench publish-server`
// (EDGESWARM_WORKER_URL; vars set by xtask), end to end: hashing, upload
// (single PUT or multipart, as the CLI chooses), policy. Measures the wall
// time, the CLI's peak RSS (/usr/bin/time -v) and workerd's peak RSS (VmHWM
// of every workerd process of this worker, read from /proc after the run)
// and its CPU time. Then checks the content is announced and complete.
// Env: BENCH_FILE_MIB (default 2048), BENCH_JOBS (default 4).
import { execFileSync, spawnSync } from 'node:child_process';
import { openSync, writeSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { API, uniqueId } from '../helpers.mjs';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_FILE_MIB ?? 2048);
const jobs = process.env.BENCH_JOBS ?? '4';
const dir = process.env.EDGESWARM_BENCH_DIR;
const bin = process.env.EDGESWARM_BIN;

/** pid → [ppid, comm] for every process. */
function processes() {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), { ppid: Number(rest[1]), comm, utime: Number(rest[11]), stime: Number(rest[12]) });
    } catch { /* gone */ }
  }
  return out;
}

/** The workerd processes started by our sibling wrangler (same parent as this script). */
function ourWorkerd() {
  const procs = processes();
  const ours = [];
  for (const [pid, p] of procs) {
    if (p.comm !== 'workerd') continue;
    for (let q = p.ppid, hops = 0; q > 1 && hops < 20; q = procs.get(q)?.ppid ?? 0, hops++) {
      if (procs.get(q)?.ppid === process.ppid && q !== process.pid) { ours.push(pid); break; }
    }
  }
  return ours.map((pid) => ({ pid, ...procs.get(pid) }));
}

const status = (pid, field) => {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) * 1024 : null;
};

const file = join(dir, `publish-${sizeMiB}MiB.bin`);
const fd = openSync(file, 'w');
const block = randomBytes(64 * MiB);
for (let written = 0; written < sizeMiB * MiB; written += block.length) {
  block.writeUInt32LE(written / block.length, 0); // no two blocks alike
  writeSync(fd, block, 0, Math.min(block.length, sizeMiB * MiB - written));
}
closeSync(fd);

const workerd = ourWorkerd();
if (workerd.length === 0) throw new Error('no workerd process of this worker found');
const cpuBefore = workerd.reduce((n, p) => n + p.utime + p.stime, 0);
const id = uniqueId('bench-publish');
const t0 = process.hrtime.bigint();
const run = spawnSync('/usr/bin/time', ['-v', bin, 'publish', file, '--content-id', id, '--out', dir,
  '--server', process.env.EDGESWARM_WORKER_URL, '--jobs', jobs], {
  env: { ...process.env, EDGESWARM_TOKEN: process.env.EDGESWARM_ADMIN_TOKEN }, encoding: 'utf8', maxBuffer: 64 * MiB,
});
const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
if (run.status !== 0) throw new Error(`publish failed (${run.status}): ${run.stderr}`);
const cliPeak = Number(run.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/)[1]) * 1024;
const report = JSON.parse(run.stdout);
const after = processes();
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const cpuAfter = workerd.reduce((n, p) => n + (after.get(p.pid)?.utime ?? 0) + (after.get(p.pid)?.stime ?? 0), 0);
const workerdPeak = workerd.map((p) => ({ pid: p.pid, vmHWM: status(p.pid, 'VmHWM') }));

const cp = await fetch(`${API}/cp/${id}`);
const head = await fetch(`${API}/content/${id}`, { method: 'HEAD' });
rmSync(file);
console.log(JSON.stringify({
  bench: 'publish-server',
  fileBytes: sizeMiB * MiB,
  mode: report.upload?.mode,
  partSize: report.upload?.multipart?.partSize,
  parts: report.upload?.multipart?.partCount,
  jobs: Number(jobs),
  wallSeconds: Math.round(wallSeconds * 100) / 100,
  mibPerSecond: Math.round((sizeMiB / wallSeconds) * 10) / 10,
  cliPeakRssBytes: cliPeak,
  workerdPeakRssBytes: Math.max(...workerdPeak.map((p) => p.vmHWM ?? 0)),
  workerdProcesses: workerdPeak,
  workerdCpuSeconds: (cpuAfter - cpuBefore) / ticks,
  announced: cp.status === 200,
  storedBytes: Number(head.headers.get('content-length')),
}));
if (cp.status !== 200 || Number(head.headers.get('content-length')) !== sizeMiB * MiB) process.exit(1);
