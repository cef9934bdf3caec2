// Runs every e2e test file against ONE worker: starts wrangler dev (real
// workerd) on 127.0.0.1, runs `node --test` on tests/e2e/*.test.mjs (and the
// benchmarks' own unit tests, tests/e2e/bench/*.test.mjs) with
// E2E_SERVER/E2E_TOKEN set, stops the worker, exits with the tests' status.
// `cargo xtask test` runs this inside a loopback-only network namespace.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startWorker, ROOT } from "./harness.mjs";

const tests = (dir) => readdirSync(dir).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => join(dir, f));
const files = [...tests(join(ROOT, "tests/e2e")), ...tests(join(ROOT, "tests/e2e/bench"))];
const worker = await startWorker();
console.error(`e2e: worker at ${worker.url}`);
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, ["--test", "--test-concurrency=1", ...files], {
    stdio: "inherit",
    env: { ...process.env, E2E_SERVER: worker.url, E2E_TOKEN: worker.token },
  });
  child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
await worker.stop();
process.exit(code);
