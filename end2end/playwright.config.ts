import { defineConfig } from '@playwright/test';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';

// scripts/test.sh builds the binary, picks a free port and exports these.
const port = Number(process.env.SWITCHBOARD_E2E_PORT ?? 3300);
const bin = process.env.SWITCHBOARD_BIN ?? path.resolve(__dirname, '../target/debug/switchboard');
// The local fakes of the real networks (switchboard-fakes), beside the server.
const fakes = process.env.SWITCHBOARD_FAKES_BIN ?? path.resolve(path.dirname(bin), 'switchboard-fakes');
const fakesPort = Number(process.env.SWITCHBOARD_FAKES_PORT ?? 3390);
const dataDir = process.env.SWITCHBOARD_E2E_DATA ?? fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-e2e-'));

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        // The voice-note test plays audio without a click on the player.
        '--autoplay-policy=no-user-gesture-required',
      ],
    },
  },
  webServer: [{
    // The real binary on a fresh SQLite data dir with the demo workspace. The per-user send
    // limit is lifted: tests seed rooms of thousands of messages as one user (the limit itself
    // is tested in server/tests).
    command: `"${bin}" serve --demo --addr 127.0.0.1:${port} --data-dir "${dataDir}" --send-rate-per-sec 10000 --send-burst 100000`,
    cwd: path.resolve(__dirname, '..'),
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  }, {
    command: `"${fakes}" --addr 127.0.0.1:${fakesPort}`,
    url: `http://127.0.0.1:${fakesPort}/_fake/ready`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'pipe',
    stderr: 'pipe',
  }],
});
