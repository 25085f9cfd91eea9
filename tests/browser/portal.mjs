// Uses the portal served by `evidex serve` in headless Chromium like a
// person would: asks the landing form for adolescent girls in low-income
// settings, checks the answer is `evidex rank`'s order, opens an
// intervention (per-domain verdicts, a forest plot), compares two, goes
// back (filters kept), and checks that no request leaves the server, no
// console error is logged, a "why" is readable (>= 30 characters a line
// at 1400x900), and axe-core finds no serious or critical violation.
//
// Usage: node tests/browser/portal.mjs URL EXPECTED_ROWS.json SCREENSHOT.png
// URL: the line `evidex serve` prints (http://127.0.0.1:PORT/).
// EXPECTED_ROWS.json: `evidex rank ... --target-group "adolescent girls"
// --income-setting LIC --format json` on the same data.
import { chromium } from 'playwright-core';
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const [base, expectedPath, shot] = process.argv.slice(2);
const origin = new URL(base).origin;
const expected = JSON.parse(readFileSync(expectedPath, 'utf8')).rows.map((r) => r.intervention);
const failures = [];
const fail = (msg) => { failures.push(msg); console.error(`FAIL: ${msg}`); };
const step = (msg) => console.log(`  ok: ${msg}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await context.newPage();
const outside = [];
const consoleErrors = [];
page.on('request', (r) => { const u = r.url(); if (!u.startsWith(origin + '/') && !u.startsWith('data:')) outside.push(u); });
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));

// Pick an option by value or by its visible text (case and spaces ignored).
async function choose(name, wanted) {
  const sel = `form[action="/find"] select[name="${name}"]`;
  const value = await page.$eval(sel, (s, w) => {
    const norm = (x) => x.trim().toLowerCase().replace(/\s+/g, ' ');
    const o = [...s.options].find((o) => norm(o.value) === norm(w) || norm(o.textContent) === norm(w)
      || norm(o.textContent).startsWith(norm(w) + ' '));
    return o ? o.value : null;
  }, wanted);
  if (value === null) throw new Error(`no option "${wanted}" in ${sel}`);
  await page.selectOption(sel, value);
}

const resultNames = () => page.$$eval('#results tbody tr[data-slug]', (rows) =>
  rows.map((r) => (r.querySelector('a[href^="/intervention/"]') || r).textContent.trim()));

try {
  // 1. The landing form.
  await page.goto(base);
  await choose('target_group', 'adolescent girls');
  await choose('income_setting', 'LIC');
  await Promise.all([page.waitForURL(/\/find\?/), page.click('form[action="/find"] [type="submit"]')]);
  const names = await resultNames();
  if (!names.length) fail('no result rows on /find');
  else if (names[0] !== expected[0]) fail(`first row "${names[0]}" != rank's first "${expected[0]}"`);
  else if (JSON.stringify(names) !== JSON.stringify(expected)) fail(`rows ${JSON.stringify(names)} != rank ${JSON.stringify(expected)}`);
  else step(`landing form: ${names.length} rows in rank's order, first "${names[0]}"`);
  const findUrl = page.url();

  // 2. A "why" readable at 1400x900: characters per rendered line.
  const why = await page.$eval('#results tbody tr[data-slug] td.why', (td) => {
    const range = document.createRange();
    range.selectNodeContents(td);
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 1).map((r) => Math.round(r.top)));
    const text = td.textContent.replace(/\s+/g, ' ').trim();
    const c = document.createElement('canvas').getContext('2d');
    const cs = getComputedStyle(td);
    c.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const avg = c.measureText(text).width / Math.max(text.length, 1);
    return { chars: text.length, lines: tops.size, capacity: td.clientWidth / avg };
  });
  const perLine = why.lines > 1 ? why.chars / why.lines : why.capacity;
  if (!(perLine >= 30)) fail(`"why" holds ${perLine.toFixed(1)} characters a line (${JSON.stringify(why)})`);
  else step(`"why" reads ${perLine.toFixed(0)} characters a line`);
  await page.screenshot({ path: shot, fullPage: false });

  // 3. Intervention pages: per-domain verdicts on the first; a forest plot
  // on the first (in rank order) whose cells have pooled effect sizes.
  const links = await page.$$eval('#results tbody tr[data-slug] a[href^="/intervention/"]', (a) => a.map((x) => x.getAttribute('href')));
  let forestOn = null;
  for (const [i, href] of links.entries()) {
    if (i === 0) {
      await Promise.all([page.waitForURL(/\/intervention\//), page.click(`#results a[href="${href}"]`)]);
    } else {
      await page.goto(new URL(href, base).href);
    }
    if (i === 0) {
      const cells = await page.$$eval('section.cell', (s) => s.length);
      const domainRows = await page.$$eval('section.cell table.domains tbody tr', (r) => r.length);
      const studies = await page.$$eval('table.studies', (s) => s.length);
      if (!cells || !domainRows || !studies) fail(`intervention page: ${cells} cells, ${domainRows} domain rows, ${studies} studies tables`);
      else step(`intervention page: ${cells} cells, ${domainRows} domain verdicts`);
    }
    if (await page.$$eval('svg.forest', (s) => s.length)) { forestOn = href; break; }
  }
  if (!forestOn) fail('no intervention page in the results shows a forest plot (svg.forest)');
  else step(`forest plot on ${forestOn}`);
  await page.goto(findUrl);

  // 4. Compare two, then back.
  const boxes = await page.$$('form[action="/compare"] input[type="checkbox"][name="ids"]');
  if (boxes.length < 2) fail(`${boxes.length} compare checkboxes`);
  else {
    await boxes[0].check();
    await boxes[1].check();
    await Promise.all([page.waitForURL(/\/compare\?/), page.click('form[action="/compare"] [type="submit"]')]);
    const cols = await page.$$eval('#compare thead th', (t) => t.length);
    if (cols < 2) fail(`compare table has ${cols} header cells`);
    else step(`compare: ${cols} header cells`);
    await page.goBack();
    await page.waitForURL(findUrl);
    const params = new URL(page.url()).searchParams;
    const again = await resultNames();
    if (params.get('target_group') !== 'adolescent girls' || params.get('income_setting') !== 'LIC') fail(`back to ${page.url()}`);
    else if (JSON.stringify(again) !== JSON.stringify(names)) fail('back: the results differ');
    else step('back button: filters and results restored');
  }

  // 5. Every other page loads without console errors.
  for (const p of ['/gap-map', '/method', '/data', '/']) {
    const r = await page.goto(new URL(p, base).href);
    if (r.status() !== 200) fail(`${p}: status ${r.status()}`);
  }
} catch (e) {
  fail(`${e.message.split('\n')[0]}`);
}

if (outside.length) fail(`requests left ${origin}: ${outside.join(', ')}`);
else step(`no request left ${origin}`);
if (consoleErrors.length) fail(`console errors:\n  ${consoleErrors.join('\n  ')}`);
else step('no console error');

// 6. axe-core, in a context that lets its script in (CSP bypassed there only).
const require = createRequire(import.meta.url);
let axePath = null;
try { axePath = require.resolve('axe-core/axe.min.js'); } catch { axePath = null; }
if (axePath && existsSync(axePath)) {
  const axeContext = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
  const ap = await axeContext.newPage();
  let axeFailures = 0;
  for (const p of ['/', '/find?target_group=adolescent+girls&income_setting=LIC', '/gap-map', '/method', '/data']) {
    await ap.goto(new URL(p, base).href);
    await ap.addScriptTag({ path: axePath });
    const v = await ap.evaluate(async () => (await window.axe.run(document)).violations
      .filter((x) => x.impact === 'serious' || x.impact === 'critical')
      .map((x) => `${x.id} (${x.impact}): ${x.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.split('\n').slice(1).join(' ').trim()}`).join('; ')}`));
    if (v.length) { axeFailures++; fail(`axe on ${p}: ${v.join(' | ')}`); }
  }
  if (!axeFailures) step('axe-core: no serious or critical violation');
  await axeContext.close();
} else {
  console.log('  skipped: axe-core not installed (npm ci in tests/browser)');
}

await browser.close();
if (failures.length) {
  console.log(`0 passed, ${failures.length} failed`);
  process.exit(1);
}
console.log('1 passed, 0 failed');
