// Measures the inbox's first load with a cold cache, as a new visitor's browser does it:
// time to the server-rendered list (first paint of the conversations) and to interactive
// (hydrated, list clickable). Usage: node end2end/measure/first_load.mjs http://127.0.0.1:PORT [runs]
// Prints each run and the median; scripts/first-load.sh starts the release binary for it.
import { chromium } from 'playwright-core';

const base = process.argv[2];
const runs = Number(process.argv[3] ?? 5);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});

// One sign-in for the session cookie; every run then starts with an empty cache.
const login = await browser.newContext({ baseURL: base });
const signIn = await login.request.post('/api/v1/auth/login', {
  data: { email: 'alice@example.com', password: 'demo-password' },
});
if (!signIn.ok()) throw new Error(`sign-in failed: ${signIn.status()}`);
const state = await login.storageState();
await login.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const listed = [];
const interactive = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ baseURL: base, storageState: state });
  const page = await context.newPage();
  const start = Date.now();
  await page.goto('/inbox', { waitUntil: 'commit' });
  await page.locator('[data-testid="conversation-item"]').first().waitFor();
  const shown = Date.now() - start;
  await page.locator('body[data-hydrated="true"]').waitFor();
  // Clickable: a click opens the conversation without a page load.
  await page.locator('[data-testid="conversation-item"]').first().click();
  await page.locator('[data-testid="composer"]').waitFor();
  const ready = Date.now() - start;
  listed.push(shown);
  interactive.push(ready);
  console.log(`run ${i + 1}: list shown ${shown} ms, interactive ${ready} ms`);
  await context.close();
}
console.log(`median of ${runs}: list shown ${median(listed)} ms, interactive ${median(interactive)} ms`);
await browser.close();
