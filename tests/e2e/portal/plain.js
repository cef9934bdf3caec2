// Plain ESM: the installed package imported straight from node_modules, no build step.
import * as edgeswarm from "/node_modules/edgeswarm/edgeswarm.js";
import { run } from "/portal.js";

run(edgeswarm, "plain");
