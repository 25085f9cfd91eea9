// Opens an evidex HTML report from disk in headless Chromium at 1400x900 (no
// network), applies the target-group / income-setting filters, checks that
// exactly the expected rows remain in rank order, that the "why" of each row
// reads at 30 or more characters a line, sorts a column with the keyboard,
// and takes a screenshot that must not be blank.
//
// Usage: node tests/browser/report.mjs REPORT.html EXPECTED_ROWS.json SCREENSHOT.png
// EXPECTED_ROWS.json: `evidex rank ... --format json` for the filter used below.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [report, expectedPath, shot] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedPath, 'utf8')).rows.map(r => r.intervention);
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));
const requests = [];
page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
await page.goto(pathToFileURL(report).href);

await page.selectOption('#f-group', 'adolescent girls');
await page.selectOption('#f-setting', 'LIC');
const shown = '.rank-block:not([hidden])';
const blocks = await page.$$eval(shown, (b) => b.length);
if (blocks !== 1) fail(`${blocks} ranked lists shown after filtering, expected 1`);
const visible = await page.$$eval(`${shown} tbody tr`, (rows) => rows.map((r) => r.querySelector('td.name a').textContent));
if (JSON.stringify(visible) !== JSON.stringify(expected)) fail(`filtered rows ${JSON.stringify(visible)} != expected ${JSON.stringify(expected)}`);
const status = await page.textContent('#f-status');
if (!status.startsWith(`${expected.length} intervention`)) fail(`status says "${status}"`);

// The "why" reads at >= 30 characters a line: count the line boxes of its text.
const perLine = await page.$$eval(`${shown} td.why`, (cells) => cells.map((td) => {
  const range = document.createRange();
  range.selectNodeContents(td);
  const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
  const chars = td.textContent.trim().length;
  return { chars, lines: tops.size, perLine: chars / Math.max(1, tops.size) };
}));
if (!perLine.length) fail('no "why" cells');
const cramped = perLine.filter((x) => x.lines > 1 && x.perLine < 30);
if (cramped.length) fail(`"why" text wraps at under 30 characters a line: ${JSON.stringify(cramped)}`);
const narrowest = Math.min(...perLine.filter((x) => x.lines > 1).map((x) => x.perLine));

// Sort by number of studies with the keyboard: focus the header button and press Enter.
const col = await page.$eval(`${shown} thead th:nth-child(8) button`, (b) => b.textContent);
if (col !== 'Studies') fail(`column 8 is "${col}"`);
await page.focus(`${shown} thead th:nth-child(8) button`);
await page.keyboard.press('Enter');
const sorted = await page.$$eval(`${shown} tbody tr td.studies`, (c) => c.map((x) => parseFloat(x.dataset.v)));
for (let i = 1; i < sorted.length; i++) if (sorted[i] < sorted[i - 1]) fail(`studies not ascending after sort: ${sorted}`);

if (requests.length) fail(`network requests made: ${requests.join(', ')}`);
if (errors.length) fail(`console errors: ${errors.join(' | ')}`);
// Scroll to the ranked list for the screenshot.
await page.$eval(shown, (b) => b.scrollIntoView());

await page.screenshot({ path: shot, fullPage: false });
// Non-blank: draw the screenshot on a canvas and measure how many pixels differ from white.
const b64 = readFileSync(shot).toString('base64');
const inked = await page.evaluate(async (data) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + data;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i] < 235 || px[i + 1] < 235 || px[i + 2] < 235) n++;
  return n / (px.length / 4);
}, b64);
if (!(inked > 0.02)) fail(`screenshot looks blank (${(inked * 100).toFixed(2)}% inked pixels)`);
await browser.close();
console.log(`browser check: ${expected.length} rows after filtering, "why" at >= ${narrowest.toFixed(0)} characters a line, sorted by keyboard, no network requests, screenshot ${(inked * 100).toFixed(1)}% inked`);
console.log('1 passed, 0 failed');
