// Screenshots at 1400x900 for docs/screenshots (not run by CI).
// Usage: node tests/browser/screenshots.mjs OUT_DIR NAME=URL[#anchor] ...
// A file path instead of a URL is opened from disk. The page scrolls to the
// anchor, if any, before the shot; console errors are reported.
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';

const [outDir, ...shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
for (const shot of shots) {
  const eq = shot.indexOf('=');
  const name = shot.slice(0, eq);
  let target = shot.slice(eq + 1);
  const [where, anchor] = target.split('#');
  const url = existsSync(where) ? pathToFileURL(where).href : where;
  await page.goto(url);
  if (anchor) await page.$eval(`[id="${anchor}"]`, (e) => e.scrollIntoView());
  await page.screenshot({ path: `${outDir}/${name}.png` });
  console.log(`${name}: ${url}${anchor ? '#' + anchor : ''}`);
}
await browser.close();
if (errors.length) { console.error(`console errors: ${errors.join(' | ')}`); process.exit(1); }
