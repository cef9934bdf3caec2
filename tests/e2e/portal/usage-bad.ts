// Must NOT type-check (portal.test.mjs expects tsc to reject each marked line):
// proves the type check can fail.
import { Downloader } from "edgeswarm";

const d = new Downloader({ server: "https://edge.example.com", contentId: "x", downloadMode: 7 }); // BAD: mode 7
d.addEventListener("done", (e) => console.log(e.detail.file.nope)); // BAD: File has no `nope`
d.addEventListener("progress", (e) => console.log(e.detail.bytesFromMars)); // BAD: no such stat
