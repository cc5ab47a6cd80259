// The dashboard in a real browser (Debian's chromium, driven by
// playwright-core), against a running daemon with real data:
//   node web/tests/dashboard.test.mjs URL OPERATOR_KEY DATABASE BACKUP_ID OUTDIR
// Logs in, checks the database card names the backup, presses "Run backup
// now", waits for that job to finish ok, and saves screenshots at desktop
// and phone widths under OUTDIR. Exits 0 when all holds, 1 with the reason.
import { chromium } from "playwright-core";

const [url, key, db, backupId, outdir] = process.argv.slice(2);
if (!outdir) {
  console.error("usage: dashboard.test.mjs URL KEY DATABASE BACKUP_ID OUTDIR");
  process.exit(2);
}

function fail(message) {
  throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let code = 0;
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", e => errors.push(e.message));
  page.on("console", m => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(url, { waitUntil: "load" });

  // A wrong key is refused on the page.
  await page.fill("#key", "not-a-key");
  await page.click("#login");
  await page.waitForFunction(() => document.getElementById("login-error").textContent.length > 0);
  const refused = await page.textContent("#login-error");
  if (!refused.includes("not valid")) fail("a wrong key was not refused: " + refused);
  errors.length = 0;  // the browser logs the refused request itself

  await page.fill("#key", key);
  await page.click("#login");
  const card = page.locator(`[data-db="${db}"]`);
  await card.waitFor({ timeout: 30000 });
  const last = await card.locator('[data-field="last-backup"]').textContent();
  if (!last.includes(backupId)) fail(`the card shows "${last}", not backup ${backupId}`);
  const text = await card.textContent();
  for (const want of ["healthy", "backups kept", "retention", "schedule", "last drill", "pool"])
    if (!text.includes(want)) fail(`the card does not show "${want}": ${text}`);
  if ((await card.locator(".chart canvas").count()) < 2) fail("the size and duration charts are missing");
  if (!(await page.textContent("#who")).includes("operator")) fail("the role is not shown");
  const policy = page.locator('#retention [data-policy="msgs"]');
  await policy.waitFor({ timeout: 30000 });
  const row = await policy.textContent();
  for (const want of ["all rows", "30 days", "delete", "never", "up to 7 days"])
    if (!row.includes(want)) fail(`the data retention panel does not show "${want}": ${row}`);
  await page.screenshot({ path: `${outdir}/dashboard-desktop.png`, fullPage: true });

  // Run backup now: the job appears and finishes ok.
  const button = card.locator(`[data-run="${db}"]`);
  await button.click();
  await page.waitForFunction(sel => document.querySelector(sel)?.getAttribute("data-job"),
                             `[data-run="${db}"]`, { timeout: 15000 });
  const job = await button.getAttribute("data-job");
  await page.waitForFunction(id => {
    const cell = document.querySelector(`[data-job-row="${id}"] [data-result]`);
    return cell && !["queued", "running"].includes(cell.getAttribute("data-result"));
  }, job, { timeout: 120000, polling: 500 });
  const result = await page.getAttribute(`[data-job-row="${job}"] [data-result]`, "data-result");
  if (result !== "ok") fail(`job ${job} ended ${result}`);

  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`the page is ${overflow} px wider than a phone`);
  await page.screenshot({ path: `${outdir}/dashboard-phone.png`, fullPage: true });
  if (errors.length) fail("the page logged errors: " + errors.join("; "));
  console.log(`dashboard ok: backup ${backupId} shown, job ${job} ran ok, screenshots in ${outdir}`);
} catch (e) {
  console.error("dashboard test failed: " + e.message + (errors.length ? " (page errors: " + errors.join("; ") + ")" : ""));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
