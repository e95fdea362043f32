import { APIRequestContext } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { test, expect } from './helpers';

// "One file to deploy": the release binary, copied ALONE into an empty directory and started
// there (no target/site anywhere near it), serves the whole hydrated app from what it embeds.
// scripts/test.sh builds it with scripts/release.sh and passes its path; without the path
// this spec fails: a skipped deploy check is a check that never runs.

const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);

let server: ChildProcess | undefined;
let base = '';
let workDir = '';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const release = process.env.SWITCHBOARD_RELEASE_BIN;
  if (!release) {
    throw new Error('SWITCHBOARD_RELEASE_BIN is not set: build the binary with scripts/release.sh and pass its path');
  }
  if (!fs.statSync(release).isFile()) {
    throw new Error(`SWITCHBOARD_RELEASE_BIN=${release} is not a file`);
  }
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-one-file-'));
  const bin = path.join(workDir, 'switchboard');
  fs.copyFileSync(release, bin);
  fs.chmodSync(bin, 0o755);
  expect(fs.readdirSync(workDir)).toEqual(['switchboard']);

  // Nothing from the build may leak in: no site root, no database from the environment.
  const env = { ...process.env, RUST_LOG: 'info' };
  for (const name of Object.keys(env)) {
    if (name.startsWith('LEPTOS_') || name.startsWith('SWITCHBOARD_') || name === 'DATABASE_URL') {
      delete env[name];
    }
  }
  const child = spawn(bin, ['serve', '--demo', '--data-dir', path.join(workDir, 'data'), '--addr', '127.0.0.1:0'], {
    cwd: workDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  const log: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  // The first line on stdout is "Switchboard is listening on http://127.0.0.1:PORT".
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 30 s:\n${log.join('')}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`the binary exited (${code}):\n${log.join('')}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = line.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  // Logged just after the banner, on stderr.
  await expect.poll(() => log.join('')).toContain('site: embedded in the binary');
});

test.afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  if (workDir) {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

/** The hashed bundle the sign-in page loads. */
async function bundle(request: APIRequestContext): Promise<{ js: string; wasm: string; css: string }> {
  const html = await (await request.get(`${base}/login`)).text();
  const find = (pattern: RegExp) => {
    const match = html.match(pattern);
    expect(match, `the page names ${pattern}`).not.toBeNull();
    return match![1];
  };
  const hash = '[A-Za-z0-9_-]{22}';
  return {
    js: find(new RegExp(`<link rel="modulepreload" href="(/pkg/switchboard\\.${hash}\\.js)"`)),
    wasm: find(new RegExp(`<link rel="preload" href="(/pkg/switchboard\\.${hash}\\.wasm)"`)),
    css: find(new RegExp(`<link rel="stylesheet" id="leptos" href="(/pkg/switchboard\\.${hash}\\.css)"`)),
  };
}

test('sign_in_from_a_lone_binary', async ({ page }) => {
  await page.goto(`${base}/login`);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByLabel('Email').fill('alice@example.com');
  await page.getByLabel('Password').fill('demo-password');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page).toHaveURL(/\/inbox$/);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(page.getByTestId('user-name')).toHaveText('Alice Martin');
  await expect(page.getByRole('region', { name: 'Conversations' })).toBeVisible();
  await expect(page.getByTestId('conversation-item').first()).toBeVisible();
  // The stylesheet came along too, and was applied.
  const rules = await page.evaluate(() =>
    [...document.styleSheets].filter((s) => s.href?.includes('/pkg/switchboard.')).map((s) => s.cssRules.length),
  );
  expect(rules).toHaveLength(1);
  expect(rules[0]).toBeGreaterThan(10);
});

test('serve_the_hashed_bundle_immutable_and_compressed', async ({ request }) => {
  const files = await bundle(request);
  for (const [encoding, expected] of [
    ['br', 'br'],
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'br'],
    ['identity', undefined],
  ] as const) {
    // The client decodes the body: what comes out must still be the module.
    const response = await request.get(`${base}${files.wasm}`, { headers: { 'accept-encoding': encoding } });
    expect(response.status()).toBe(200);
    const headers = response.headers();
    expect(headers['content-type']).toBe('application/wasm');
    expect(headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(headers['vary']).toBe('accept-encoding');
    expect(headers['content-encoding'], `Accept-Encoding: ${encoding}`).toBe(expected);
    expect((await response.body()).subarray(0, 4).equals(WASM_MAGIC)).toBe(true);
  }
  for (const file of [files.js, files.css]) {
    const response = await request.get(`${base}${file}`, { headers: { 'accept-encoding': 'br' } });
    expect(response.status()).toBe(200);
    expect(response.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.headers()['content-encoding']).toBe('br');
  }
});

test('revalidate_an_unhashed_asset', async ({ request }) => {
  const first = await request.get(`${base}/favicon.svg`);
  expect(first.status()).toBe(200);
  expect(first.headers()['content-type']).toBe('image/svg+xml');
  expect(first.headers()['cache-control']).toBe('no-cache');
  const etag = first.headers()['etag'];
  expect(etag).toMatch(/^"[0-9a-f]{16}(-br|-gz)?"$/);
  const again = await request.get(`${base}/favicon.svg`, { headers: { 'if-none-match': etag } });
  expect(again.status()).toBe(304);
});
