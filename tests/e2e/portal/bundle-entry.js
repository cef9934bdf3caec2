// Bundled: esbuild resolves the bare specifier `edgeswarm` through the
// package's `exports`; the test copies client_wasm_bg.wasm next to the bundle,
// where the package's `new URL(..., import.meta.url)` looks for it.
import * as edgeswarm from "edgeswarm";
import { run } from "./portal.js";

run(edgeswarm, "bundle");
