// Cold start of the desktop app to a usable selling screen, in a real window: each run starts
// the app binary afresh over WebDriver on an already signed-in till and times, from the
// process's start (read from /proc), when the webview began loading the page (the baseline: the
// same binary's window and webview, before any of our code runs), when the page was parsed, and
// when the selling screen's search box was there and enabled. Prints each run, then the median
// and the max. Not a test: scripts/bench-app-start.sh runs it.
//   POS_APP_BIN  the app binary   BENCH_TILL_DIR  the till's data folder (copied for each run)
//   BENCH_WORK_DIR  scratch folder   BENCH_RUNS  measured runs (default 5, after one warm-up)

import { cpSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sleep, WebDriver } from "./webdriver.mjs";

const APP_BIN = process.env.POS_APP_BIN;
const TILL = process.env.BENCH_TILL_DIR;
const WORK = process.env.BENCH_WORK_DIR;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
if (!APP_BIN || !TILL || !WORK) throw new Error("run scripts/bench-app-start.sh");

/** Epoch milliseconds at which process `pid` started. Its start is in clock ticks (100 a second)
 * since boot; the boot's epoch time comes from /proc/uptime read now (the whole seconds of
 * /proc/stat's btime would put it up to a second off). */
function processStartMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  const bootMs = Date.now() - Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;
  return bootMs + startTicks * 10;
}

/** The pid of the app started on `dataDir`, if it runs. */
function appPid(dataDir) {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args[0] === APP_BIN && args.includes(dataDir)) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return null;
}

// Polls every 2 ms in the page: when the search box is there and enabled (usable), and when the
// first product tile of the catalog shows (the first data read through the engine).
const WAIT_FOR_SELLING_SCREEN = `
  const done = arguments[arguments.length - 1];
  let usable = null;
  const poll = () => {
    const search = document.querySelector('[data-testid="search"]');
    if (usable === null && search && !search.disabled) usable = performance.now();
    if (usable !== null && document.querySelector('[data-testid="product-grid"] .product')) {
      const nav = performance.getEntriesByType("navigation")[0];
      done({ origin: performance.timeOrigin, usable, products: performance.now(), parsed: nav ? nav.domContentLoadedEventEnd : null });
    } else {
      setTimeout(poll, 2);
    }
  };
  poll();`;

async function once(run) {
  // Each run on a fresh copy, so no run sees what an earlier one wrote.
  const dataDir = join(WORK, `till-${run}`);
  rmSync(dataDir, { recursive: true, force: true });
  cpSync(TILL, dataDir, { recursive: true });
  const driver = new WebDriver(process.env.WEBDRIVER_URL);
  const requested = Date.now();
  await driver.start(APP_BIN, ["--data-dir", dataDir]);
  const pid = appPid(dataDir);
  if (!pid) throw new Error("the app process was not found");
  const started = processStartMs(pid);
  const page = await driver.executeAsync(WAIT_FOR_SELLING_SCREEN);
  await driver.quit();
  while (appPid(dataDir)) await sleep(50);
  rmSync(dataDir, { recursive: true, force: true });
  return {
    spawn: started - requested,
    webview: page.origin - started,
    parsed: page.origin + page.parsed - started,
    usable: page.origin + page.usable - started,
    products: page.origin + page.products - started,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (ms) => `${Math.round(ms)} ms`;

console.log(`load average at start: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
const warm = await once(0);
console.log(`warm-up (not counted): usable ${f(warm.usable)}`);
const results = [];
for (let run = 1; run <= RUNS; run++) {
  const r = await once(run);
  results.push(r);
  console.log(
    `run ${run}: process start → webview loading ${f(r.webview)}, page parsed ${f(r.parsed)}, ` +
      `selling screen usable ${f(r.usable)}, first products shown ${f(r.products)} ` +
      `(WebDriver request → process start ${f(r.spawn)})`,
  );
}
for (const [key, what] of [
  ["webview", "baseline: process start → webview starts loading the page"],
  ["parsed", "process start → page parsed (DOMContentLoaded)"],
  ["usable", "process start → search box present and enabled"],
  ["products", "process start → first product tiles shown"],
]) {
  const xs = results.map((r) => r[key]);
  console.log(`${what}: median ${f(median(xs))}, max ${f(Math.max(...xs))}`);
}
console.log(`load average at end: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
