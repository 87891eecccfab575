// dashboard.mjs — drives sipd's dashboard in headless Chromium (Debian's,
// never a downloaded one) with playwright-core, for test_http_dashboard.py:
//   node dashboard.mjs URL SCREENSHOT MIN_BINDINGS TIMEOUT_MS
// Loads the page, waits for the bindings and for a live then an ended call,
// opens that call's ladder diagram, clicks its first message, saves a
// screenshot, and prints one JSON line with what it saw (console errors
// included). Every wait is bounded by TIMEOUT_MS.
import { chromium } from "playwright-core";

const [url, shot, minBindings, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg || 20000);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const out = { errors: [], sawLive: false };
const browser = await chromium.launch({
  executablePath,
  headless: true,
  timeout,
  // As root Chromium refuses to start sandboxed; /dev/shm may be small.
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.setDefaultTimeout(timeout);
  page.on("console", (m) => { if (m.type() === "error") out.errors.push(m.text()); });
  page.on("pageerror", (e) => out.errors.push(String(e)));
  page.on("requestfailed", (r) => out.errors.push("request failed: " + r.url()));

  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction((n) => document.querySelectorAll("#registrations tbody tr").length >= n,
    Number(minBindings));
  out.sawLive = await page.waitForFunction(() =>
    [...document.querySelectorAll("#calls .state")].some((e) =>
      ["calling", "ringing", "answered"].includes(e.textContent))).then(() => true, () => false);
  const ended = "#calls tr.call:has(.state.ended)";
  await page.waitForSelector(ended);
  out.callId = await page.$eval(ended, (tr) => tr.dataset.callId);
  await page.click(ended);
  await page.waitForFunction(() => [...document.querySelectorAll(".ladder-msg")]
    .some((g) => g.dataset.firstLine.startsWith("SIP/2.0 200") &&
      [...document.querySelectorAll(".ladder-msg")].some((b) => b.dataset.firstLine.startsWith("BYE"))));
  // The ladder is drawn again when more messages come: let the last 200 land.
  await page.waitForTimeout(1500);
  out.lines = await page.$$eval(".ladder-msg", (gs) => gs.map((g) => g.dataset.firstLine));
  out.hosts = await page.$$eval(".ladder .host", (ts) => ts.map((t) => t.textContent));
  await page.click(".ladder-msg >> nth=0");
  await page.waitForSelector("#message-text:not([hidden])");
  out.messageText = await page.textContent("#message-text");
  out.bindings = await page.$$eval("#registrations tbody tr", (rows) => rows.map((r) => r.cells[0].textContent));
  out.calls = await page.$$eval("#calls tbody tr", (rows) => rows.map((r) => r.dataset.callId));
  out.status = await page.textContent("#status");
  out.cards = await page.$$eval(".card", (cs) => Object.fromEntries(cs.map((c) =>
    [c.querySelector(".label").textContent, c.querySelector(".value").textContent])));
  out.charts = await page.$$eval(".card canvas", (cs) => cs.length);
  await page.screenshot({ path: shot, fullPage: true });
  out.ok = true;
} catch (err) {
  out.ok = false;
  out.failure = String(err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
