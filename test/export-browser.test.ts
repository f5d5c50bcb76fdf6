import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { savePolicy } from './helpers/export-fixture';

const CHROMIUM = '/usr/bin/chromium';
const CLI = path.resolve(__dirname, '../src/cli.js');
const PAGE = path.resolve(__dirname, '../../docs/using-a-policy.md');

/** The page that docs/using-a-policy.md's "In a web page" shows, exactly as written there. */
function webPage(): string {
  const text = fs.readFileSync(PAGE, 'utf8');
  const section = text.split(/^## In a web page$/m)[1];
  assert.ok(section, 'docs/using-a-policy.md has a section "## In a web page"');
  const page = /```html\n([\s\S]*?)```/.exec(section);
  assert.ok(page, 'the section shows an html page');
  return page[1];
}

/** Serves `files` (name -> content) on 127.0.0.1; anything else is a 404, counted. */
async function serve(files: Record<string, string>): Promise<{ url: string; misses: string[]; close: () => Promise<void> }> {
  const misses: string[] = [];
  const server = http.createServer((req, res) => {
    const name = req.url === '/' ? 'index.html' : (req.url ?? '').slice(1);
    const body = files[name];
    if (body === undefined) {
      misses.push(req.url ?? '');
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, misses, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("The web page of docs/using-a-policy.md with an `rl export --format js` policy, in Chromium", function () {
  this.timeout(120_000);
  let root: string;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is missing (apt-get install -y chromium); the browser test needs it`);
      this.skip();
    }
    await selectBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-export-web-'));
  });
  after(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("runs the page: its CartPole steps like the project's, its actions are the project policy's, no console errors", async () => {
    // A PPO CartPole policy shaped as configs/ppo-cartpole.yaml's, random weights (nothing trained).
    const run = path.join(root, 'run');
    const saved = savePolicy(run, { label: 'cartpole', algorithm: 'ppo', envId: 'CartPole-v1', model: { hiddenSizes: [64, 64], activation: 'tanh' }, conv: false }, 11);
    const moduleFile = path.join(root, 'policy.js');
    const cli = spawnSync(process.execPath, [CLI, 'export', '--checkpoint', run, '--format', 'js', '--out', moduleFile], { encoding: 'utf8' });
    assert.equal(cli.status, 0, `rl export failed: ${cli.stderr}`);
    assert.match(cli.stdout, /^wrote .*policy\.js, .*policy\.js\.json\n$/);

    const site = await serve({ 'index.html': webPage(), 'policy.js': fs.readFileSync(moduleFile, 'utf8') });
    const profile = fs.mkdtempSync(path.join(root, 'profile-'));
    let context: BrowserContext | undefined;
    const problems: string[] = [];
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await page.goto(site.url);
      await page.waitForFunction(() => (globalThis as unknown as { episode?: { done?: boolean } }).episode?.done === true, undefined, { timeout: 60_000 });
      const episode = (await page.evaluate(() => (globalThis as unknown as { episode: unknown }).episode)) as { observations: number[][]; actions: number[] };
      const score = await page.textContent('#score');

      assert.deepEqual(problems, [], 'no console errors or warnings');
      assert.deepEqual(site.misses, [], 'the page asked for nothing but itself and policy.js');
      const n = episode.actions.length;
      assert.ok(n >= 1 && n <= 500, `${n} steps`);
      assert.match(score ?? '', new RegExp(`^${n} steps`));

      // The page's actions are the project's policy's on the page's observations.
      const ref = saved.reference(Float32Array.from(episode.observations.flat()), n);
      assert.deepEqual(episode.actions, Array.from(ref.actions));

      // And its physics is the project's CartPole-v1: from the page's first state, the same actions give the same states.
      const env = makeEnv('CartPole-v1');
      env.reset({ seed: 0 });
      const state = env.getState!() as { env: Record<string, unknown> }; // the time limit's, around CartPole's own
      env.setState!({ ...state, env: { ...state.env, state: episode.observations[0] } });
      for (let t = 0; t + 1 < n; t++) {
        const { obs } = env.step(episode.actions[t]);
        episode.observations[t + 1].forEach((v, j) => assert.ok(Math.abs(v - obs[j]) < 1e-5, `step ${t + 1}, state[${j}]: page ${v}, CartPole-v1 ${obs[j]}`));
      }
      env.close();
    } finally {
      await context?.close();
      await site.close();
    }
  });
});
