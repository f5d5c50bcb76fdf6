import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { PACKAGE_VERSION } from '../src/version';
import { listCheckpoints } from '../src/checkpoint';
import { startViewServer } from '../src/view/server';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * A solved CartPole run (configs/ppo-cartpole.yaml, seed 0), trained once and kept in the
 * temp dir under a name that changes with the config and the package version.
 */
function solvedRun(): string {
  const config = fs.readFileSync(path.join(root, 'configs', 'ppo-cartpole.yaml'), 'utf8');
  const key = createHash('sha1').update(config).update(PACKAGE_VERSION).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'rl-zmq-test-cache', `ppo-cartpole-${key}`);
  if (listCheckpoints(dir).length > 0) return dir;
  const tmp = `${dir}.${process.pid}`;
  const r = spawnSync(process.execPath, [cli, 'train', '--config', 'configs/ppo-cartpole.yaml', '--run-dir', tmp], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

/** Status and body of a GET of `url` exactly as written (no normalising of `..`). */
function get(base: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(new URL(base), { path: url }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Status and body of a request to `base` (the server's own address) with the headers given, Host included, as written. */
function request(base: string, pathname: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: pathname, method, headers, setHost: !('Host' in headers) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A run dir of one progress line and a config, enough for `rl view`. */
function tinyRun(): string {
  const run = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rl-view-')), 'run');
  fs.mkdirSync(run);
  fs.writeFileSync(path.join(run, 'progress.jsonl'), '{"iteration":1,"envSteps":10,"episodeReturnMean":1}\n');
  fs.writeFileSync(path.join(run, 'config.yaml'), 'algorithm: ppo\n');
  return run;
}

/** `rl view RUN --port 0 ...args` as a process, with its URL and what it has written to stderr so far. */
async function startRlView(run: string, args: string[] = []): Promise<{ url: string; stderr: () => string; stop: () => void }> {
  const viewer = spawn(process.execPath, [cli, 'view', run, '--port', '0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  viewer.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    viewer.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /rl view: (http:\/\/\S+\/) /.exec(out);
      if (m) resolve(m[1]);
    });
    viewer.on('exit', (code) => reject(new Error(`rl view exited with ${code}: ${out}${err}`)));
  });
  return { url, stderr: () => err, stop: () => viewer.kill('SIGTERM') };
}

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').length;

describe('rl view', () => {
  it('serves the run and its page, and 404s whatever tries to leave the run dir', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-view-'));
    const run = path.join(tmp, 'run');
    fs.mkdirSync(path.join(run, 'videos'), { recursive: true });
    fs.writeFileSync(path.join(run, 'progress.jsonl'), '{"iteration":1,"envSteps":10,"episodeReturnMean":1}\n');
    fs.writeFileSync(path.join(run, 'config.yaml'), 'algorithm: ppo\n');
    fs.writeFileSync(path.join(tmp, 'secret.txt'), 'do not serve\n');
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(run, 'link.txt'));
    fs.symlinkSync(tmp, path.join(run, 'videos', 'up'));
    const server = await startViewServer({ runDir: run, port: 0, host: '127.0.0.1' });
    try {
      assert.equal((await get(server.url, '/run/config.yaml')).body, 'algorithm: ppo\n');
      assert.equal((await get(server.url, '/')).status, 200);
      for (const bad of ['/run/../secret.txt', '/run/%2e%2e/secret.txt', '/run/..%2fsecret.txt', '/run/videos/..%2F..%2Fsecret.txt', '/run/%252e%252e/secret.txt', '/run/link.txt', '/run/videos/up/secret.txt', '/run/..%5csecret.txt', '/run/%00', '/run/%zz', '/run/videos', '/secret.txt', '/api/policy/..%2f..%2fsecret.js']) {
        const r = await get(server.url, bad);
        assert.equal(r.status, 404, bad);
        assert.ok(!r.body.includes('do not serve'), bad);
      }
    } finally {
      await server.close();
    }
  });

  it('in Chromium: live curves as long as progress.jsonl, and the solved policy balances the pole for 500 steps', async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
      this.skip();
    }
    this.timeout(300_000);
    const solved = solvedRun();
    const solvedCheckpoint = path.basename(listCheckpoints(solved).at(-1)!);
    // The "short training run": the solved run copied and trained on for 4 iterations, a
    // checkpoint each, while the page watches it.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-view-'));
    const run = path.join(tmp, 'run');
    fs.cpSync(solved, run, { recursive: true });
    const iteration = Number(solvedCheckpoint.slice('iter_'.length));
    const children: ChildProcess[] = [];
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-view-chromium-'));
    const browser = await chromium.launchPersistentContext(userDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const trainer = spawn(process.execPath, [cli, 'train', '--resume', run, '--set', `stop.iterations=${iteration + 4}`, '--set', 'stop.episodeReturnMean=1000000', '--set', 'checkpoint.every=1'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(trainer);
      let trainErr = '';
      trainer.stderr!.on('data', (d: Buffer) => (trainErr += d.toString()));
      const trained = new Promise<number | null>((resolve) => trainer.on('exit', (code) => resolve(code)));

      const viewer = spawn(process.execPath, [cli, 'view', run, '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(viewer);
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        viewer.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /rl view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) resolve(m[1]);
        });
        viewer.on('exit', (code) => reject(new Error(`rl view exited with ${code}: ${out}`)));
      });

      const page = browser.pages()[0] ?? (await browser.newPage());
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.setViewportSize({ width: 1280, height: 1000 });
      await page.goto(url);
      const points = () => page.getAttribute('#chart-episodeReturnMean polyline[data-series="episodeReturnMean"]', 'data-points', { timeout: 30_000 }).then(Number);
      const first = await points();
      assert.ok(first >= iteration, `the curve starts with the run's ${iteration} iterations, got ${first}`);

      assert.equal(await trained, 0, trainErr);
      const progress = path.join(run, 'progress.jsonl');
      assert.equal(lines(progress), iteration + 4);
      // Live: the page polls progress.jsonl and redraws the curve as it grows.
      const curve = `document.querySelector('#chart-episodeReturnMean polyline[data-series="episodeReturnMean"]')`;
      await page.waitForFunction(`Number(${curve}?.getAttribute('data-points')) === ${lines(progress)}`, null, { timeout: 30_000 });
      assert.equal(await points(), lines(progress));

      // Watch it play: the solved checkpoint's exported greedy policy, in the page.
      await page.waitForFunction(`[...document.querySelectorAll('#play-checkpoint option')].some((o) => o.value === '${solvedCheckpoint}')`);
      await page.selectOption('#play-checkpoint', solvedCheckpoint);
      await page.selectOption('#play-speed', 'max');
      await page.click('#play-start');
      await page.waitForFunction(`document.getElementById('play').dataset.done === '1'`, null, { timeout: 60_000 });
      const played = (await page.evaluate(`({ ...document.getElementById('play').dataset })`)) as Record<string, string>;
      assert.equal(played.steps, '500', JSON.stringify(played));
      assert.equal(played.return, '500');
      assert.match((await page.textContent('#play-status')) ?? '', /episode over after 500 steps \(truncated\)/);
      const shot = path.join(os.tmpdir(), 'rl-view-screenshot.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`      screenshot: ${shot}`);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    }
  });

  describe('security: DNS rebinding', () => {
    it('answers a request only when its Host is the address and port it listens on; any other Host gets a 421, logged once', async () => {
      const view = await startRlView(tinyRun());
      try {
        const port = new URL(view.url).port;
        for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`]) {
          const r = await request(view.url, '/run/config.yaml', { Host: host });
          assert.deepEqual(r, { status: 200, body: 'algorithm: ppo\n' }, host);
        }
        const forged = [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `localhost:${Number(port) + 1}`, '127.0.0.1', `localhost.:${port}`, `localhost:${port}@evil.example`, `[::1]:${port}x`];
        for (const host of forged) {
          for (const url of ['/run/config.yaml', '/api/run', '/', '/app.js', '/api/policy/best.js']) {
            const r = await request(view.url, url, { Host: host });
            assert.equal(r.status, 421, `${host} ${url}`);
            assert.ok(!r.body.includes('algorithm'), `${host} ${url}`);
          }
        }
        const refusals = view.stderr().split('\n').filter((l) => l.includes('refused'));
        assert.deepEqual(refusals, [
          `rl view: refused a request with Host "evil.example:${port}" (421): it answers only to 127.0.0.1:${port}, localhost:${port}, [::1]:${port} (DNS rebinding guard); further refusals of this kind are not logged`,
        ]);
      } finally {
        view.stop();
      }
    });

    it("refuses a request whose Origin is another site's with a 403, and serves one from its own address", async () => {
      const view = await startRlView(tinyRun());
      try {
        const port = new URL(view.url).port;
        const host = `127.0.0.1:${port}`;
        for (const origin of ['http://evil.example', `http://evil.example:${port}`, 'null', `https://127.0.0.1:${port}`, `http://127.0.0.1:${port}/x`]) {
          const r = await request(view.url, '/api/run', { Host: host, Origin: origin });
          assert.equal(r.status, 403, origin);
          assert.ok(!r.body.includes('algorithm'), origin);
        }
        assert.equal((await request(view.url, '/run/config.yaml', { Host: host, Origin: `http://localhost:${port}` })).status, 200);
        assert.equal(view.stderr().split('\n').filter((l) => l.includes('refused a request with Origin')).length, 1);
      } finally {
        view.stop();
      }
    });

    it('with --host 0.0.0.0, also answers a Host that is an IP address with its port, never a DNS name', async () => {
      const view = await startRlView(tinyRun(), ['--host', '0.0.0.0']);
      try {
        const port = new URL(view.url).port;
        for (const host of [`0.0.0.0:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`]) assert.equal((await request(view.url, '/run/config.yaml', { Host: host })).status, 200, host);
        for (const host of [`evil.example:${port}`, `127.0.0.2:${Number(port) + 1}`]) assert.equal((await request(view.url, '/run/config.yaml', { Host: host })).status, 421, host);
      } finally {
        view.stop();
      }
    });
  });
});
