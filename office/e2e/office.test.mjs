// The back office in a real Chromium, against a real pos-server with the demo data and a real
// till (the pos-terminal CLI). scripts/e2e-office.sh builds everything and sets:
//   POS_SERVER_BIN  pos-server binary       POS_TERMINAL_BIN  pos-terminal binary
//   WEBDRIVER_URL   chromedriver's address  E2E_WORK_DIR      a fresh folder for data and logs
//   SCREENSHOT_DIR  where the screenshots go (docs/screenshots)

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { sleep, WebDriver } from "../../ui/e2e/webdriver.mjs";

const Papa = createRequire(import.meta.url)("papaparse");
const run = promisify(execFile);

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/e2e-office.sh)`);
  return value;
};
const SERVER_BIN = env("POS_SERVER_BIN");
const TERMINAL_BIN = env("POS_TERMINAL_BIN");
const WORK = env("E2E_WORK_DIR");
const SHOTS = env("SCREENSHOT_DIR");
const DOWNLOADS = join(WORK, "downloads");
const PASSWORD = "demo-pass-1";
const DATABASE_URL = `sqlite://${join(WORK, "server.db")}`;
const DESKTOP = [1366, 900];
const PHONE = [390, 844];

const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:9515");
let server = null;
let port;
let url;

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
    if (await fetch(`${url}/api/v1/sync/health`).then((r) => r.ok, () => false)) return;
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

/** The till's CLI on its own data folder; returns what it printed. */
async function till(...args) {
  const { stdout } = await run(TERMINAL_BIN, ["--data-dir", join(WORK, "till"), "--server", url, ...args], {
    env: { ...process.env, POS_TERMINAL_CREDENTIALS: "file" },
  });
  return stdout.trim();
}

async function findXPath(xpath) {
  const found = await driver.request("POST", driver.s("/elements"), { using: "xpath", value: xpath });
  return found.map((e) => Object.values(e)[0]);
}

/** Waits for an element by XPath; returns its id. */
async function waitForXPath(xpath, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [el] = await findXPath(xpath);
    if (el) return el;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${xpath}`);
}

const button = (text) => waitForXPath(`//button[normalize-space()="${text}"]`);
const link = (text) => waitForXPath(`//a[normalize-space()="${text}"]`);
/** The input or select labelled `label` (labels hold their control's id). */
const field = (label) => waitForXPath(`//label[normalize-space()="${label}"]/following-sibling::*[self::input or self::select][1]`);

async function fill(label, text) {
  const el = await field(label);
  await driver.clear(el);
  await driver.type(el, text);
}

async function choose(label, optionText) {
  const select = await field(label);
  await driver.click(select);
  const [option] = await findXPath(`//label[normalize-space()="${label}"]/following-sibling::select[1]/option[normalize-space()="${optionText}"]`);
  assert.ok(option, `option ${optionText} of ${label}`);
  await driver.click(option);
}

async function open(path) {
  await driver.navigate(`${url}${path}`);
}

async function heading(text) {
  return driver.waitForText("main h1", (t) => t === text);
}

/** The page as a desktop and as a phone shows it: docs/screenshots/office-NAME-{desktop,phone}.png. */
async function screenshots(name) {
  await sleep(300); // charts animate in
  for (const [kind, [width, height]] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ]) {
    await driver.setWindowSize(width, height);
    await sleep(250);
    writeFileSync(join(SHOTS, `office-${name}-${kind}.png`), Buffer.from(await driver.screenshot(), "base64"));
  }
  await driver.setWindowSize(...DESKTOP);
}

async function signIn(email, password) {
  await open("/sign-in");
  await fill("Email", email);
  await fill("Password", password);
  await driver.click(await button("Sign in"));
}

async function menu() {
  const items = await driver.findAll("nav#menu a");
  return Promise.all(items.map((el) => driver.text(el)));
}

/** An element's DOM property (`type` of an input). */
function property(el, name) {
  return driver.request("GET", driver.s(`/element/${el}/property/${name}`));
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(DOWNLOADS, { recursive: true });
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  await run(SERVER_BIN, ["--database-url", DATABASE_URL, "seed-demo", "--products", "40"]);
  await startServer();
  await driver.startWith({
    browserName: "chrome",
    "goog:chromeOptions": {
      binary: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        `--user-data-dir=${join(WORK, "chromium-profile")}`,
        `--window-size=${DESKTOP.join(",")}`,
      ],
      prefs: { "download.default_directory": DOWNLOADS, "download.prompt_for_download": false },
    },
  });
  await driver.setWindowSize(...DESKTOP);
});

after(async () => {
  await driver.quit();
  await stopServer();
});

const PRODUCT = { name: "Office Test Tea", code: "OT-1", barcode: "4006381333931" };
let invoiceNumber;
let offlineNumber;

test("the owner signs in (a wrong password is refused with the server's message)", async () => {
  await open("/");
  await driver.waitFor("form[aria-labelledby=sign-in-title]");
  assert.equal(await property(await field("Email"), "type"), "email");
  assert.equal(await property(await field("Password"), "type"), "password");
  await screenshots("sign-in");
  await signIn("owner@demo.test", "wrong-password");
  const error = await driver.waitForText(".message.error", (t) => t.length > 0);
  assert.match(error, /credential|password|invalid/i);
  await signIn("owner@demo.test", PASSWORD);
  await heading("Dashboard");
  assert.deepEqual(await menu(), [
    "Dashboard",
    "Sales",
    "Review queue",
    "Products",
    "Customers",
    "Stock",
    "Shifts",
    "Reports",
    "Staff",
    "Tills",
    "Settings",
  ]);
});

test("the owner creates a product", async () => {
  await open("/products");
  await heading("Products");
  await screenshots("products");
  await driver.click(await link("New product"));
  await heading("New product");
  await fill("Name", PRODUCT.name);
  await fill("Code", PRODUCT.code);
  await fill("Barcode", PRODUCT.barcode);
  await fill("Sale price", "2.50");
  await fill("Purchase price", "1.20");
  await fill("Opening stock", "0");
  await driver.click(await button("Create product"));
  await heading(PRODUCT.name);
  await screenshots("product");
  const found = await fetch(`${url}/api/v1/products/by-barcode/${PRODUCT.barcode}`, {
    headers: { authorization: `Bearer ${await ownerToken()}` },
  }).then((r) => r.json());
  assert.equal(found.data.productName, PRODUCT.name);
  assert.equal(String(found.data.productSalePrice), "2.5");
});

let token = null;
async function ownerToken() {
  token ??= (
    await fetch(`${url}/api/v1/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "owner@demo.test", password: PASSWORD }),
    }).then((r) => r.json())
  ).data.token;
  return token;
}

test("the owner gives the manager a till PIN (too short is refused first)", async () => {
  await open("/staff");
  await heading("Staff");
  await driver.click(await waitForXPath(`//button[@aria-label="Manage Max Manager"]`));
  await fill("New till PIN", "1234");
  await driver.click(await button("Set PIN"));
  await driver.waitForText(".panel .message.error", (t) => /at least 6/.test(t));
  await fill("New till PIN", "246810");
  await driver.click(await button("Set PIN"));
  await driver.waitForText(".message.ok", (t) => /till PIN is set/.test(t));
  await screenshots("staff");
});

test("a till signs in, sells the product offline, then syncs", async () => {
  // A manager sets the till up once, so the server seals the staff's PINs for it; then the
  // cashier signs in for the day.
  await till("login", "--email", "manager@demo.test", "--password", PASSWORD, "--device-name", "Front till");
  await till("login", "--email", "cashier@demo.test", "--password", PASSWORD, "--device-name", "Front till");
  // The manager's PIN reached the till: it hands the till to the manager without the server.
  await stopServer();
  await till("cashier", "switch", "--pin", "246810");
  await till("cashier", "off");
  await till("shift", "open", "--float", "50");
  offlineNumber = await till("sell", "--item", `${PRODUCT.barcode}:1`);
  assert.match(offlineNumber, /^OFF-/);
  await startServer();
  await till("sync");
  const sales = JSON.parse(await till("--json", "sales"));
  const sale = sales.find((s) => s.offline_invoice_no === offlineNumber);
  assert.ok(sale?.invoice_number, `the sale got a server invoice number: ${JSON.stringify(sales)}`);
  invoiceNumber = sale.invoice_number;
});

test("the sale shows on the dashboard and in the sales list with both numbers", async () => {
  await open("/");
  await heading("Dashboard");
  await driver.waitForText("[data-testid=sales-count]", (t) => t === "1");
  const total = await driver.waitForText("[data-testid=sales-total]", (t) => t.length > 0);
  assert.match(total, /2\.50/);
  await screenshots("dashboard");

  await open("/sales");
  await heading("Sales");
  const row = await waitForXPath(`//tr[td[normalize-space()="${offlineNumber}"]]`);
  const text = await driver.text(row);
  assert.ok(text.includes(invoiceNumber), `${text} holds ${invoiceNumber}`);
  await screenshots("sales");
  await driver.click(await link(invoiceNumber));
  await driver.waitForText("[data-testid=offline-number]", (t) => t === offlineNumber);
  assert.equal(await driver.text(await driver.waitFor("[data-testid=invoice-number]")), invoiceNumber);
  await driver.waitForText("main table", (t) => t.includes(PRODUCT.name));
  await screenshots("sale");
});

test("the stock discrepancy of that sale is resolved with a note", async () => {
  await open("/review");
  await heading("Review queue");
  await driver.click(await waitForXPath(`//button[starts-with(@aria-label, "Resolve discrepancy")]`));
  await screenshots("review-queue");
  await fill("Note", "Found two boxes in the back room");
  await driver.click(await waitForXPath(`//form//button[normalize-space()="Resolve"]`));
  await driver.waitForText(".message.ok", (t) => /resolved/.test(t));
  await driver.waitForText("main table", (t) => t.includes("No open discrepancies."));
});

test("a report's CSV export downloads and parses", async () => {
  await open("/reports");
  await heading("Reports");
  await driver.waitForText("main table", (t) => t.includes("2.50"));
  await screenshots("reports");
  await driver.click(await button("Export CSV"));
  const deadline = Date.now() + 15000;
  let file;
  while (!file && Date.now() < deadline) {
    file = readdirSync(DOWNLOADS).find((name) => name.endsWith(".csv"));
    if (!file) await sleep(100);
  }
  assert.ok(file, "a CSV file was downloaded");
  const parsed = Papa.parse(readFileSync(join(DOWNLOADS, file), "utf8"), { header: true, skipEmptyLines: true });
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(parsed.meta.fields, ["date", "sales", "total", "discount", "vat", "paid", "due", "profit"]);
  assert.equal(parsed.data.length, 1);
  assert.equal(parsed.data[0].sales, "1");
  assert.equal(parsed.data[0].total, "2.5");
});

test("the other pages open, on a desktop and on a phone", async () => {
  for (const [path, title, name] of [
    ["/tills", "Tills", "tills"],
    ["/customers", "Customers & dues", "customers"],
    ["/stock", "Stock", "stock"],
    ["/shifts", "Shifts", "shifts"],
    ["/settings", "Settings", "settings"],
  ]) {
    await open(path);
    await heading(title);
    await sleep(300);
    await screenshots(name);
  }
  await open("/tills");
  await driver.waitForText("main table", (t) => t.includes("Front till"));
  await open("/shifts");
  await driver.click(await waitForXPath(`//main//table//a`));
  await driver.waitForText("main h1", (t) => /report · shift/.test(t));
  await screenshots("shift-report");
});

test("a cashier signing in sees only what a cashier may", async () => {
  await driver.click(await button("Sign out"));
  await driver.waitFor("form[aria-labelledby=sign-in-title]");
  await signIn("cashier@demo.test", PASSWORD);
  await heading("Sales");
  assert.deepEqual(await menu(), ["Sales", "Products", "Customers"]);
  await screenshots("cashier-sales");
  for (const path of ["/", "/staff", "/settings", "/review"]) {
    await open(path);
    await heading("Not available");
  }
  await open(`/products`);
  await heading("Products");
  assert.equal((await findXPath(`//a[normalize-space()="New product"]`)).length, 0, "a cashier creates no product");
  assert.ok(existsSync(join(SHOTS, "office-dashboard-phone.png")));
});
