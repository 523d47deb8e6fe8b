// Drives the web console in Chromium, end to end against a running server.
// Run by the Rust integration test; plain Node, no test runner.
//
// Env: BASE_URL, TOKEN (a county centre), OTHER_TOKEN (a sibling county),
// SEND_CMD (shell command sending alerts that make a new task in TOKEN's
// county), DOWNLOAD_DIR, SCREENSHOT (PNG path); CHROMIUM (default
// /usr/bin/chromium). Prints one line per step and `BROWSER OK` at the end;
// exits 1 with `BROWSER FAIL ...` on the first failure.

import { chromium } from 'playwright-core';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const need = (k) => {
  const v = process.env[k];
  if (!v) fail(`environment variable ${k} is not set`);
  return v;
};
let current = 'setup';
function fail(msg) {
  console.error(`BROWSER FAIL (${current}): ${msg}`);
  process.exit(1);
}
const BASE_URL = need('BASE_URL').replace(/\/+$/, '');
const TOKEN = need('TOKEN');
const OTHER_TOKEN = need('OTHER_TOKEN');
const SEND_CMD = need('SEND_CMD');
const DOWNLOAD_DIR = need('DOWNLOAD_DIR');
const SCREENSHOT = need('SCREENSHOT');

const T = (sel) => `[data-testid="${sel}"]`;
const problems = []; // console errors, page errors and 5xx answers, reported at the end

function step(name) {
  current = name;
  console.log(`step ${name}`);
}

/** Collects what must not happen on a healthy page. */
function watch(page, label) {
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    // Chromium logs every non-2xx fetch as a console error; the 401 of the
    // sign-in probe and the 404 of step 6 are expected, so only other
    // errors count (5xx answers are caught below, by status).
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`${label}: console error: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`${label}: HTTP ${r.status()} from ${r.url()}`);
  });
}

async function errorBoxText(page) {
  const box = page.locator(T('error'));
  return (await box.isVisible()) ? (await box.textContent()).trim() : '';
}

/** Waits until the list has loaded; fails with the page's error box if it did not. */
async function listLoaded(page, what) {
  try {
    await page.waitForSelector(`${T('task-table')}[data-state="loaded"], ${T('task-table')}[data-state="error"]`, { timeout: 20_000 });
  } catch {
    fail(`${what}: the task list did not load within 20 s`);
  }
  if ((await page.getAttribute(T('task-table'), 'data-state')) === 'error') {
    fail(`${what}: the task list failed: ${await errorBoxText(page)}`);
  }
}

const rowIds = (page) => page.$$eval(`${T('task-row')}`, (rows) => rows.map((r) => r.dataset.taskId));

/** Opens the console and signs in with `token`; ends on a loaded task list. */
async function signIn(page, token, who) {
  await page.goto(`${BASE_URL}/`);
  await page.waitForFunction(() => !document.getElementById('login').hidden || !document.getElementById('app').hidden, null, { timeout: 15_000 })
    .catch(() => fail(`${who}: neither the sign-in form nor the console appeared`));
  if (await page.locator(T('dev-banner')).isVisible()) {
    fail(`${who}: the server runs in dev mode (no console tokens); this test needs tokens to check isolation`);
  }
  await page.fill(T('login-token'), token);
  await page.click(T('login-submit'));
  await page.waitForFunction(() => !document.getElementById('app').hidden || !document.getElementById('login-error').hidden, null, { timeout: 15_000 })
    .catch(() => fail(`${who}: no answer to the sign-in within 15 s`));
  if (await page.locator(T('login-error')).isVisible()) {
    fail(`${who}: sign-in refused: ${(await page.textContent(T('login-error'))).trim()}`);
  }
  await listLoaded(page, who);
}

/** Waits for the detail page's status to read `text`. */
async function statusIs(page, text, after) {
  try {
    await page.waitForFunction(([sel, t]) => document.querySelector(sel)?.textContent.trim() === t, [T('task-status'), text], { timeout: 15_000 });
  } catch {
    const got = await page.textContent(T('task-status')).catch(() => '(none)');
    fail(`after ${after}: status is "${got}", expected "${text}"; error box: "${await errorBoxText(page)}"`);
  }
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // A dispatcher's browser: Chinese locale, China Standard Time.
    const look = { viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };
    const ctx = await browser.newContext({ ...look, acceptDownloads: true });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    watch(page, 'county');

    step('1: sign in with TOKEN and see the task list');
    await signIn(page, TOKEN, 'TOKEN');
    const before = new Set(await rowIds(page));
    console.log(`  ${before.size} task(s) listed`);

    step('2: send alerts; a new row appears live, without a reload');
    await page.waitForSelector(`${T('live-status')}[data-state="open"]`, { timeout: 15_000 })
      .catch(() => fail('the live event stream did not connect within 15 s'));
    const loadId = await page.evaluate(() => window.__dwLoadId);
    try {
      execSync(SEND_CMD, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000, shell: '/bin/sh' });
    } catch (e) {
      fail(`SEND_CMD failed: ${e.message}`);
    }
    await page.waitForFunction(([sel, known]) => [...document.querySelectorAll(sel)].some((r) => !known.includes(r.dataset.taskId)),
      [T('task-row'), [...before]], { timeout: 20_000 })
      .catch(() => fail('no new task row appeared within 20 s of SEND_CMD'));
    // The pair's twin usually follows in the same commit; give it a moment.
    await page.waitForTimeout(1500);
    const fresh = (await rowIds(page)).filter((id) => !before.has(id));
    if ((await page.evaluate(() => window.__dwLoadId)) !== loadId) fail('the page was reloaded: live update expected');
    console.log(`  new task(s): ${fresh.join(', ')}`);
    const id = fresh[0];

    step(`3: open ${id}, 签收 then 反馈 已劝阻`);
    await page.click(`${T('task-row')}[data-task-id="${id}"]`);
    await page.waitForSelector(T('task-status'));
    await statusIs(page, '待签收', 'opening the task');
    if (!(await page.locator(T('action-ack')).isVisible())) fail('no 签收 button on an open task');
    await page.click(T('action-ack'));
    await statusIs(page, '已签收', '签收');
    await page.click(T('action-outcome'));
    await page.selectOption(T('outcome-code'), 'OUTCOME_CODE_DISSUADED');
    await page.selectOption(T('outcome-reached'), 'REACHED_PERSON');
    await page.click(T('outcome-submit'));
    await statusIs(page, '已办结', '反馈 已劝阻');
    console.log('  status 已办结');

    const twin = fresh.find((x) => x !== id);
    if (twin) {
      step(`3b: reveal the contact of ${twin} with a reason; it is shown in full`);
      await page.evaluate((h) => (location.hash = h), `#/task/${encodeURIComponent(twin)}`);
      await page.waitForSelector(T('action-reveal'));
      await page.click(T('action-reveal'));
      await page.fill(T('reveal-reason'), '上门前核实');
      await page.click(T('reveal-submit'));
      await page.waitForSelector(T('reveal-phone'), { timeout: 15_000 })
        .catch(async () => fail(`no contact shown: ${await errorBoxText(page)}`));
      const phone = (await page.textContent(T('reveal-phone'))).trim();
      if (!/^1\d{10}$/.test(phone)) fail(`revealed phone "${phone}" is not a full 11-digit number`);
      const shownElsewhere = await page.locator('body').textContent();
      if (!shownElsewhere.includes('审计记录 #')) fail('the reveal shows no audit number');
      console.log('  full phone shown, with its audit number');
    }

    step('4: download the daily list (xlsx) of today');
    await page.evaluate(() => (location.hash = '#/daily'));
    await page.waitForSelector(T('daily-download'));
    const day = await page.inputValue(T('daily-day'));
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) fail(`the day picker holds "${day}"`);
    await page.selectOption(T('daily-format'), 'xlsx');
    const downloaded = page.waitForEvent('download', { timeout: 30_000 });
    let settled = false;
    const failed = page.waitForSelector(`${T('error')}:visible`, { timeout: 30_000 })
      .then(async () => !settled && fail(`daily list download failed: ${await errorBoxText(page)}`));
    downloaded.catch(() => {});
    failed.catch(() => {});
    await page.click(T('daily-download'));
    const dl = await Promise.race([downloaded, failed]).catch(() => fail('no download within 30 s'));
    settled = true;
    if (dl.suggestedFilename() !== `任务清单-${day}.xlsx`) fail(`download named "${dl.suggestedFilename()}"`);
    fs.mkdirSync(DOWNLOAD_DIR, { recursive: true });
    const file = path.join(DOWNLOAD_DIR, 'daily.xlsx');
    await dl.saveAs(file);
    const head = fs.readFileSync(file).subarray(0, 2).toString('latin1');
    if (head !== 'PK') fail(`${file} is not an xlsx (zip) file`);
    console.log(`  day ${day}: ${file} (${fs.statSync(file).size} bytes)`);

    step('5: screenshot of the task list');
    await page.evaluate(() => (location.hash = '#/tasks'));
    await listLoaded(page, 'back to the list');
    const shown = await page.textContent(`${T('task-row')}[data-task-id="${id}"] ${T('row-status')}`).catch(() => null);
    if (shown?.trim() !== '已办结') fail(`the list shows ${id} as "${shown}", expected 已办结`);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`  ${SCREENSHOT}`);

    step('6: a sibling county sees none of the new tasks');
    const other = await browser.newContext(look);
    const page2 = await other.newPage();
    page2.setDefaultTimeout(15_000);
    watch(page2, 'sibling');
    await signIn(page2, OTHER_TOKEN, 'OTHER_TOKEN');
    const otherIds = await rowIds(page2);
    const leaked = otherIds.filter((x) => fresh.includes(x));
    if (leaked.length) fail(`OTHER_TOKEN's list shows ${leaked.join(', ')}`);
    for (const x of fresh) {
      await page2.evaluate((h) => (location.hash = h), `#/task/${encodeURIComponent(x)}`);
      await page2.waitForSelector(`${T('error')}:visible`, { timeout: 15_000 })
        .catch(() => fail(`opening #/task/${x} as OTHER_TOKEN showed no error`));
      const code = await page2.getAttribute(T('error'), 'data-code');
      if (code !== 'NOT_FOUND') fail(`opening #/task/${x} as OTHER_TOKEN: ${code}: ${await errorBoxText(page2)}`);
      if (await page2.locator(T('task-status')).count()) fail(`#/task/${x} shows a status to OTHER_TOKEN`);
    }
    console.log(`  list of ${otherIds.length} task(s) without them; each opens as not found`);
    await other.close();

    step('7: the overview draws its charts');
    await page.evaluate(() => (location.hash = '#/overview'));
    for (const c of ['chart-hourly', 'chart-state', 'chart-counties']) {
      await page.waitForSelector(`${T(c)} canvas`, { timeout: 20_000 })
        .catch(async () => fail(`chart ${c} was not drawn: ${await errorBoxText(page)}`));
    }
    console.log('  hourly, open/overdue and per-unit charts drawn');

    current = 'end';
    if (problems.length) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);
    await ctx.close();
  } finally {
    await browser.close().catch(() => {});
  }
  console.log('BROWSER OK');
}

// A hung browser must not hang the Rust test.
setTimeout(() => fail('timed out after 240 s'), 240_000).unref();
main().catch((e) => fail(e?.stack ?? String(e)));
