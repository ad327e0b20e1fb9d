// The real app in a real window: a real server with the demo data, the app binary driven over
// WebDriver (tauri-driver → WebKitWebDriver) under Xvfb. scripts/e2e-app.sh sets it all up:
//   POS_SERVER_BIN  pos-server binary        POS_APP_BIN  pos-terminal-app binary
//   WEBDRIVER_URL   tauri-driver's address   E2E_WORK_DIR a fresh folder for data and logs
//   SCREENSHOT_DIR  where the screenshots go (docs/screenshots)

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, openSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { KEY, sleep, WebDriver } from "./webdriver.mjs";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/e2e-app.sh)`);
  return value;
};
const SERVER_BIN = env("POS_SERVER_BIN");
const APP_BIN = env("POS_APP_BIN");
const WORK = env("E2E_WORK_DIR");
const SHOTS = env("SCREENSHOT_DIR");
const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");

const DATABASE_URL = `sqlite://${join(WORK, "server.db")}`;
let port;
let serverUrl;
let server = null;

/** The demo catalog's barcodes: EAN-13 of "200" + the product number (server/src/seed.rs). */
function demoBarcode(n) {
  const body = `200${String(n).padStart(9, "0")}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 1 : 3), 0);
  return body + ((10 - (sum % 10)) % 10);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const log = openSync(join(WORK, "server.log"), "a");
  server = spawn(SERVER_BIN, ["--database-url", DATABASE_URL, "serve", "--bind", `127.0.0.1:${port}`], {
    stdio: ["ignore", log, log],
  });
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`pos-server exited with ${server.exitCode}; see ${WORK}/server.log`);
    const up = await fetch(`${serverUrl}/api/v1/sync/health`).then((r) => r.ok, () => false);
    if (up) return;
    await sleep(100);
  }
  throw new Error("pos-server did not answer within 30 s");
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  await exited;
  server = null;
}

/** How many sales the server's database holds under this offline invoice number. The server
 * has no sales listing endpoint yet, so this reads its SQLite file (WAL mode allows a reader). */
function serverSalesWith(offlineInvoiceNo) {
  const query = spawnSync(
    "python3",
    [
      "-c",
      "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); " +
        "print(db.execute('SELECT COUNT(*) FROM sales WHERE offline_invoice_no = ?', (sys.argv[2],)).fetchone()[0])",
      join(WORK, "server.db"),
      offlineInvoiceNo,
    ],
    { encoding: "utf8" },
  );
  assert.equal(query.status, 0, `reading the server database failed: ${query.stderr}`);
  return Number(query.stdout.trim());
}

/** A keyboard-wedge scan: the code in one burst, then Enter. A Shift (as scanners send for
 * capitals) goes first, because the window takes the first key of a WebDriver burst late. */
function scan(code) {
  return driver.keys(KEY.Shift + code + KEY.Enter);
}

async function screenshot(name) {
  mkdirSync(SHOTS, { recursive: true });
  const png = Buffer.from(await driver.screenshot(), "base64");
  writeFileSync(join(SHOTS, name), png);
}

/** The text of the pending counter in the status bar, as a number. */
async function waitForPending(expected, timeoutMs = 30000) {
  await driver.waitForText('[data-testid="pending-count"]', (t) => t.trim() === `Pending ${expected}`, { timeoutMs });
}

before(async () => {
  port = await freePort();
  serverUrl = `http://127.0.0.1:${port}`;
  const seed = spawnSync(SERVER_BIN, ["--database-url", DATABASE_URL, "seed-demo", "--products", "60"], { encoding: "utf8" });
  assert.equal(seed.status, 0, `seed-demo failed: ${seed.stderr}`);
  await startServer();
  await giveTheStaffPins();
  await driver.start(APP_BIN, ["--data-dir", join(WORK, "till")]);
});

after(async () => {
  await driver.quit();
  await stopServer();
});

/** Runs a scenario; on failure keeps what the window showed for whoever reads it. */
async function keepingTheWindowOnFailure(name, scenario) {
  try {
    await scenario();
  } catch (e) {
    const file = join(WORK, `failure-${name}.png`);
    const png = await driver.screenshot().catch(() => null);
    if (png) writeFileSync(file, Buffer.from(png, "base64"));
    const text = await driver.execute("return document.body.innerText").catch(() => "?");
    const keys = await driver.execute("return JSON.stringify(window.__keys ?? [])").catch(() => "?");
    console.error(`key presses seen by the window (key, ms): ${keys}`);
    console.error(`window text at failure:\n${text}\n(screenshot: ${file})`);
    throw e;
  }
}

test("a cashier signs in, sells by scanner and keyboard, sells offline, and every sale reaches the server once", () =>
  keepingTheWindowOnFailure("sell", sellAndSync));

test("a shift with a float, a cash sale and its return closes with the expected cash, and the server's report agrees", () =>
  keepingTheWindowOnFailure("shift", shiftWithReturn));

async function sellAndSync() {
  // First start: server address, account, till name. The manager sets the till up (so the
  // server seals the staff's PINs for it), then hands it to the cashier by the cashier's PIN.
  // The webview keeps what earlier runs typed (local storage lives outside the data folder).
  for (const [name, value] of [["server", serverUrl], ["email", "manager@demo.test"], ["password", "demo-pass-1"], ["device", "Counter 1"]]) {
    await driver.fill(await driver.waitFor(`input[name="${name}"]`), value);
  }
  const device = await driver.execute('return document.querySelector("input[name=device]").value');
  assert.equal(device, "Counter 1");
  await driver.click(await driver.waitFor('[data-testid="signin"]'));
  await driver.waitFor('[data-testid="search"]', { timeoutMs: 60000 });
  await driver.waitForText('[data-testid="online-state"]', (t) => t === "Online");
  await driver.click(await driver.waitFor('[data-testid="active-cashier"]'));
  await driver.type(await driver.waitFor('[data-testid="cashier-pin"]'), CASHIER_PIN);
  await driver.keys(KEY.Enter);
  await driver.waitForText('[data-testid="active-cashier"]', (t) => /cashier/i.test(t));

  await driver.execute('window.__keys = []; window.addEventListener("keydown", (e) => window.__keys.push([e.key, Math.round(e.timeStamp)]), true)');
  // Scanner: a code typed in a burst plus Enter, with the focus on a button, not the search box.
  await driver.execute('document.querySelector("[data-testid=cart-customer]").focus()');
  await scan(demoBarcode(1));
  await driver.waitFor('[data-testid="cart-line"]', { count: 1 });
  const customerButton = await driver.text(await driver.waitFor('[data-testid="cart-customer"]'));
  assert.match(customerButton, /Walk-in/, "the scan's Enter must not press the focused button");

  // Keyboard: F2 to the search box, a name typed at a person's pace, Enter adds the first match.
  await driver.keys(KEY.F2);
  await driver.keys("Cola", 90);
  await driver.waitFor('[data-testid="product-grid"] .product');
  await sleep(300);
  await driver.keys(KEY.Enter);
  await driver.waitFor('[data-testid="cart-line"]', { count: 2 });
  const lines = await Promise.all((await driver.findAll('[data-testid="cart-line"]')).map((l) => driver.text(l)));
  assert.match(lines[1], /Cola/);
  await screenshot("selling.png");

  // F12, cash, 1000 handed over, Enter: the receipt shows the change.
  await driver.keys(KEY.F12);
  await driver.waitFor('[data-testid="payment-dialog"]');
  await driver.type(await driver.waitFor('[data-testid="tendered"]'), "1000");
  await sleep(200); // a person's Enter, not a scanner's
  await driver.keys(KEY.Enter);
  await driver.waitFor('[data-testid="receipt"]');
  const firstInvoice = (await driver.text(await driver.waitFor('[data-testid="offline-invoice"]'))).trim();
  assert.match(firstInvoice, /^OFF-[0-9A-F]{8}-\d+$/);
  assert.notEqual((await driver.text(await driver.waitFor('[data-testid="change"]'))).trim(), "");
  await screenshot("receipt.png");
  await driver.keys(KEY.Enter);

  // The sale is in the history; once synced it is confirmed by the server.
  await driver.keys(KEY.F6);
  await driver.waitForText('[data-testid="sale-row"]', (t) => t.includes(firstInvoice));
  await driver.keys(KEY.F9);
  await driver.click(await driver.waitFor('[data-testid="sync-now"]'));
  await waitForPending(0);
  assert.equal(serverSalesWith(firstInvoice), 1, `${firstInvoice} must be on the server once`);

  // The server goes away: the till keeps selling and says so.
  await stopServer();
  await driver.keys(KEY.F1);
  await driver.waitFor('[data-testid="search"]');
  await scan(demoBarcode(2));
  await driver.waitFor('[data-testid="cart-line"]', { count: 1 });
  await driver.keys(KEY.F12);
  await driver.waitFor('[data-testid="payment-dialog"]');
  await driver.keys(KEY.Enter);
  await driver.waitFor('[data-testid="receipt"]');
  const offlineInvoice = (await driver.text(await driver.waitFor('[data-testid="offline-invoice"]'))).trim();
  await driver.keys(KEY.Enter);
  await driver.keys(KEY.F9);
  await driver.click(await driver.waitFor('[data-testid="sync-now"]'));
  await driver.waitForText('[data-testid="online-state"]', (t) => t === "Offline");
  await waitForPending(1);
  await screenshot("sync-offline.png");

  // The server is back: pending drains to 0 and the offline sale is on the server once.
  await startServer();
  await driver.click(await driver.waitFor('[data-testid="sync-now"]'));
  await waitForPending(0);
  await driver.waitForText('[data-testid="online-state"]', (t) => t === "Online");
  await screenshot("sync-panel.png");
  assert.equal(serverSalesWith(offlineInvoice), 1, `${offlineInvoice} must be on the server once`);
  assert.equal(serverSalesWith(firstInvoice), 1, `${firstInvoice} must still be on the server once`);

  await driver.keys(KEY.F6);
  await driver.waitForText('[data-testid="sales-table"]', (t) => t.includes(offlineInvoice) && t.includes(firstInvoice));
  await screenshot("sales-history.png");
}

/** An amount as the screen shows it (`$1,234.50`, `-$0.50`, `1.234,50 €` is not used here) in
 * cents, exactly: no floating point between the screen and the comparison. */
function centsOnScreen(text) {
  const m = /(-?)[^\d-]*([\d,]+)\.(\d{2})\b/.exec(text);
  assert.ok(m, `no amount in "${text}"`);
  return BigInt(m[1] + m[2].replace(/,/g, "") + m[3]);
}

/** An amount as the server's JSON gives it (an exact number, at most 2 decimals here) in cents. */
function centsOnServer(value) {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(value));
  assert.ok(m, `the server sent "${value}" as an amount`);
  return BigInt(m[1] + m[2] + (m[3] ?? "").padEnd(2, "0"));
}

/** Cents as a cashier types them. */
function typed(cents) {
  const sign = cents < 0n ? "-" : "";
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
}

async function signInToServer(email) {
  const signIn = await fetch(`${serverUrl}/api/v1/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "demo-pass-1" }),
  }).then((r) => r.json());
  return signIn.data.token;
}

/** The manager's till PIN (6 digits or more), which a cashier's return needs. */
const MANAGER_PIN = "246800";
/** The cashier's till PIN, with which they take over the till the manager set up. */
const CASHIER_PIN = "1357";

/** The owner gives the manager and the cashier till PINs in the back office, as a shop does
 * before its first shift; the till receives them sealed for it once a manager has signed in on it. */
async function giveTheStaffPins() {
  const token = await signInToServer("owner@demo.test");
  const users = await serverApi("/users?per_page=100", token);
  for (const [email, pin] of [["manager@demo.test", MANAGER_PIN], ["cashier@demo.test", CASHIER_PIN]]) {
    const person = users.data.find((u) => u.email === email);
    assert.ok(person, `the demo business has ${email}`);
    const res = await fetch(`${serverUrl}/api/v1/users/${person.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ pin, version: person.version }),
    });
    assert.equal(res.status, 200, `setting the PIN of ${email}: ${await res.text()}`);
  }
}

async function serverApi(path, token) {
  const res = await fetch(`${serverUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  assert.equal(res.status, 200, `GET ${path}: ${JSON.stringify(body)}`);
  return body;
}

async function shiftWithReturn() {
  // F11: open the shift with the float counted in the drawer.
  const floatCents = 15000n;
  await driver.keys(KEY.F11);
  await driver.type(await driver.waitFor('[data-testid="shift-float"]'), typed(floatCents));
  await driver.click(await driver.waitFor('[data-testid="shift-open"]'));
  await driver.waitFor('[data-testid="x-report"]');

  // Two items, paid in cash.
  await driver.keys(KEY.F1);
  await driver.waitFor('[data-testid="search"]');
  await scan(demoBarcode(3));
  await driver.waitFor('[data-testid="cart-line"]', { count: 1 });
  await scan(demoBarcode(4));
  await driver.waitFor('[data-testid="cart-line"]', { count: 2 });
  await driver.keys(KEY.F12);
  await driver.click(await driver.waitFor('[data-testid="payment-type-Cash"]'));
  const saleCents = centsOnScreen(await driver.text(await driver.waitFor('[data-testid="payment-total"]')));
  await driver.click(await driver.waitFor('[data-testid="complete-sale"]'));
  await driver.waitFor('[data-testid="receipt"]');
  const invoice = (await driver.text(await driver.waitFor('[data-testid="offline-invoice"]'))).trim();
  await driver.keys(KEY.Enter);

  // F6, the sale, Shift+F6: its first line comes back, refunded in cash.
  await driver.keys(KEY.F6);
  await driver.waitForText('[data-testid="sales-table"]', (t) => t.includes(invoice));
  // A row opens on a click in one of its cells (WebKit does not click a <tr> itself).
  let cell = null;
  for (const c of await driver.findAll('[data-testid="sale-row"] td:nth-child(2)')) {
    if ((await driver.text(c)).trim() === invoice) cell = c;
  }
  assert.ok(cell, `${invoice} is in the sales history`);
  await driver.click(cell);
  await driver.waitFor('[data-testid="start-return"]');
  await driver.chord(KEY.Shift, KEY.F6);
  await driver.waitFor('[data-testid="return-dialog"]');
  const [[, sold, , lineTotal]] = await driver.execute(
    'return [...document.querySelectorAll(".return-lines tbody tr")].map((r) => [...r.cells].map((c) => c.innerText))',
  );
  await driver.type(await driver.waitFor('[data-testid="return-qty-1"]'), sold.trim());
  await driver.click(await driver.waitFor('[data-testid="return-submit"]'));
  // A cashier may not refund alone: the manager authorises it with their PIN, offline.
  await driver.type(await driver.waitFor('[data-testid="manager-pin"]'), MANAGER_PIN);
  await driver.keys(KEY.Enter);
  const refundMessage = await driver.waitForText('[data-testid="message"]', (t) => t.startsWith("Refund"));
  assert.match(refundMessage, /\(cash\)/);
  const refundCents = centsOnScreen(refundMessage);
  assert.equal(refundCents, centsOnScreen(lineTotal), "the whole first line comes back at its line total");
  assert.ok(refundCents > 0n && refundCents < saleCents);
  await driver.keys(KEY.Escape);

  // F11: the X report already expects the float plus the sale less the refund.
  const expectedCents = floatCents + saleCents - refundCents;
  await driver.keys(KEY.F11);
  await driver.waitFor('[data-testid="x-report"]');
  assert.equal(centsOnScreen(await driver.text(await driver.waitFor('[data-testid="expected-cash"]'))), expectedCents);

  // Close, counting 50 cents short; the second press confirms.
  const countedCents = expectedCents - 50n;
  await driver.type(await driver.waitFor('[data-testid="shift-counted"]'), typed(countedCents));
  await driver.click(await driver.waitFor('[data-testid="shift-close"]'));
  await driver.waitForText('[data-testid="shift-close"]', (t) => t.includes("Close it now"));
  await driver.click(await driver.waitFor('[data-testid="shift-close"]'));
  await driver.waitFor('[data-testid="z-report"]');
  const zExpected = centsOnScreen(await driver.text(await driver.waitFor('[data-testid="expected-cash"]')));
  const zDifference = centsOnScreen(await driver.text(await driver.waitFor('[data-testid="difference"]')));
  assert.equal(zExpected, expectedCents, `expected cash = float ${typed(floatCents)} + sale ${typed(saleCents)} − refund ${typed(refundCents)}`);
  assert.equal(zDifference, countedCents - expectedCents);
  assert.match(await driver.text(await driver.waitFor('[data-testid="z-report"]')), /short/);
  await screenshot("z-report.png");

  // Synced, the server's report of that shift equals the till's Z report.
  await driver.keys(KEY.F9);
  await driver.click(await driver.waitFor('[data-testid="sync-now"]'));
  await waitForPending(0);
  const token = await signInToServer("manager@demo.test");
  const closed = await serverApi("/shifts?status=closed", token);
  assert.equal(closed.data.length, 1, "one closed shift on the server");
  const { report } = (await serverApi(`/shifts/${closed.data[0].id}`, token)).data;
  assert.equal(report.kind, "z");
  assert.equal(centsOnServer(report.opening_float), floatCents);
  assert.equal(centsOnServer(report.cash_sales), saleCents);
  assert.equal(centsOnServer(report.cash_refunds), refundCents);
  assert.equal(centsOnServer(report.expected_cash), zExpected);
  assert.equal(centsOnServer(report.counted_cash), countedCents);
  assert.equal(centsOnServer(report.difference), zDifference);
}
