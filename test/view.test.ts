import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { GifReader } from 'omggif';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { pathToFileURL } from 'node:url';
import { minatarPalette } from '../envs/minatar/render';
import { LINES, TicTacToe } from '../envs/tictactoe';
import { ConnectFour } from '../envs/connect-four';
import type { TurnGame } from '../envs/turn-game';
import { jsPolicyModule } from '../src/export/js';
import { PACKAGE_VERSION } from '../src/version';
import { listCheckpoints } from '../src/checkpoint';
import { startViewServer } from '../src/view/server';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Skips the test, saying why, where Chromium is not installed. */
function skipWithoutChromium(test: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  console.log(`      skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
  test.skip();
}

/** Headless Chromium with a fresh profile, its page, and the console errors and uncaught exceptions the page has had. */
async function openChromium(): Promise<{ browser: BrowserContext; page: Page; errors: string[] }> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-view-chromium-'));
  const browser = await chromium.launchPersistentContext(userDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return { browser, page, errors };
}

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

/**
 * A tiny MinAtar Breakout run as the newcomer's config makes one (uint8 planes, a conv
 * policy), its observations two stacked frames (10 x 10 x 8), trained for 2 iterations.
 */
/** A short run of `config` (YAML lines) in a temp dir of its own: its run dir. */
function shortRun(name: string, config: string[]): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `rl-view-${name}-`));
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, [...config, ''].join('\n'));
  const run = path.join(tmp, 'run');
  const r = spawnSync(process.execPath, [cli, 'train', '--config', file, '--run-dir', run], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return run;
}

function minatarRun(): string {
  return shortRun('minatar', [
    'algorithm: ppo',
    'env: { id: MinAtar/Breakout-v0, config: { wrappers: [{ frameStack: 2 }] } }',
    'seed: 0',
    'model: { conv: [{ filters: 8, kernel: 3 }], hiddenSizes: [32], activation: relu }',
    'workers: { numWorkers: 0, envsPerWorker: 4, rolloutLength: 32 }',
    'ppo: { numEpochs: 1, minibatchSize: 64 }',
    'stop: { iterations: 2 }',
  ]);
}

/** A two-iteration masked PPO run on TicTacToe-v0 (lookahead opponent): its untrained policy would pick occupied cells without its masks. */
function ticTacToeRun(): string {
  return shortRun('tictactoe', [
    'algorithm: ppo',
    'env: { id: TicTacToe-v0, config: { opponent: lookahead, first: random } }',
    'seed: 0',
    'model: { hiddenSizes: [16] }',
    'workers: { numWorkers: 0, envsPerWorker: 4, rolloutLength: 16 }',
    'ppo: { numEpochs: 1, minibatchSize: 32 }',
    'stop: { iterations: 2 }',
  ]);
}

/** A two-iteration self-play PPO run on ConnectFour-v0 (two players, a league): the page plays its trained policy `main`. */
function connectFourRun(): string {
  return shortRun('connect4', [
    'algorithm: ppo',
    'env: { id: ConnectFour-v0 }',
    'seed: 0',
    'model: { hiddenSizes: [16] }',
    'workers: { numWorkers: 0, envsPerWorker: 4, rolloutLength: 16 }',
    'multiAgent: { policies: { main: { train: true } }, league: { snapshotEvery: 1 } }',
    'ppo: { numEpochs: 1, minibatchSize: 32 }',
    'stop: { iterations: 2 }',
  ]);
}

/** A two-iteration recurrent PPO run (LSTM) on CartPoleNoVel-v1: the page's player steps the exported module from the state it carries. */
function recurrentRun(): string {
  return shortRun('lstm', [
    'algorithm: ppo',
    'env: { id: CartPoleNoVel-v1 }',
    'seed: 0',
    'model: { hiddenSizes: [16], recurrent: { type: lstm, size: 8 } }',
    'workers: { numWorkers: 0, envsPerWorker: 4, rolloutLength: 16 }',
    'ppo: { numEpochs: 1, minibatchSize: 32, sequenceLength: 8 }',
    'stop: { iterations: 2 }',
  ]);
}

/**
 * Seed `seed`'s episode played in the page (at full speed) and scored by `rl evaluate --episodes 1`:
 * the same length and return (the same greedy actions on the same seeded episode), and what each said.
 */
async function playAndEvaluate(page: Page, run: string, seed: number): Promise<{ score: { returnMean: number; lengthMean: number; outcomes?: Record<string, number> }; played: Record<string, string> }> {
  const evaluated = spawnSync(process.execPath, [cli, 'evaluate', '--checkpoint', run, '--seed', String(seed), '--episodes', '1', '--json'], { cwd: root, encoding: 'utf8' });
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const score = JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!) as { returnMean: number; lengthMean: number; outcomes?: Record<string, number> };
  await page.fill('#play-seed', String(seed));
  await page.selectOption('#play-speed', 'max');
  await page.click('#play-start');
  await page.waitForFunction(`document.getElementById('play').dataset.done === '1' || /^error/.test(document.getElementById('play-status').textContent)`, null, { timeout: 60_000 });
  const played = (await page.evaluate(`({ ...document.getElementById('play').dataset, status: document.getElementById('play-status').textContent })`)) as Record<string, string>;
  assert.equal(Number(played.steps), score.lengthMean, `seed ${seed}: ${JSON.stringify(played)}`);
  assert.equal(Number(played.return), score.returnMean, `seed ${seed}: ${JSON.stringify(played)}`);
  return { score, played };
}

/** The RGB bytes of the canvas `id` (its alpha dropped), and its size. */
async function canvasRgb(page: Page, id: string): Promise<{ width: number; height: number; rgb: number[] }> {
  const c = (await page.evaluate(`(() => { const c = document.getElementById('${id}'); return { width: c.width, height: c.height, rgba: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) }; })()`)) as { width: number; height: number; rgba: number[] };
  return { width: c.width, height: c.height, rgb: c.rgba.filter((_, i) => i % 4 !== 3) };
}

/** A game's moves as the page's `#versus` writes them in `data-moves`. */
const movesText = (g: TurnGame) => g.moves().map((m) => `${m.player}:${m.move}`).join(' ');

/** The test's person at TicTacToe (the opponent's seat, mark 2): a cell that completes its line if there is one, else the lowest free one. */
function personMove(g: TurnGame): number {
  const obs = g.observe();
  const free = [...Array(9).keys()].filter((i) => obs[i * 3] === 1);
  return free.find((cell) => LINES.some((line) => line.includes(cell) && line.every((i) => i === cell || obs[i * 3 + 2] === 1))) ?? free[0];
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
    skipWithoutChromium(this);
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
    const { browser, page, errors } = await openChromium();
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

  it("in Chromium: a MinAtar run (uint8 planes, frameStack, conv policy) plays the episode rl evaluate scores for the seed, and its last frame is --video's, in MinAtar's colours", async function () {
    skipWithoutChromium(this);
    this.timeout(120_000);
    const run = minatarRun();
    const seed = 1; // one where the page's seed used as the env's own (not rl evaluate's derived one) plays another episode
    const gif = path.join(path.dirname(run), 'episode.gif');
    const evaluated = spawnSync(process.execPath, [cli, 'evaluate', '--checkpoint', run, '--seed', String(seed), '--json', '--video', gif], { cwd: root, encoding: 'utf8' });
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const score = JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!) as { episodes: number; returnMean: number; lengthMean: number };
    assert.equal(score.episodes, 1);

    const view = await startRlView(run);
    const { browser, page, errors } = await openChromium();
    try {
      await page.goto(view.url);
      await page.waitForFunction(`document.querySelectorAll('#play-checkpoint option').length > 0`, null, { timeout: 30_000 });
      await page.fill('#play-seed', String(seed));
      await page.selectOption('#play-speed', 'max');
      await page.click('#play-start');
      await page.waitForFunction(`document.getElementById('play').dataset.done === '1' || /^error/.test(document.getElementById('play-status').textContent)`, null, { timeout: 60_000 });
      const played = (await page.evaluate(`({ ...document.getElementById('play').dataset, status: document.getElementById('play-status').textContent })`)) as Record<string, string>;
      // The same greedy actions on the same seeded game: the same episode, step for step.
      assert.equal(Number(played.steps), score.lengthMean, JSON.stringify(played));
      assert.equal(Number(played.return), score.returnMean, JSON.stringify(played));
      assert.match(played.status, /episode over after \d+ steps \(terminated\)/);

      // The canvas holds the episode's last frame: the GIF's, pixel for pixel, in MinAtar's palette.
      const canvas = (await page.evaluate(`(() => { const c = document.getElementById('play-canvas'); return { width: c.width, height: c.height, rgba: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) }; })()`)) as { width: number; height: number; rgba: number[] };
      const reader = new GifReader(new Uint8Array(fs.readFileSync(gif)));
      assert.equal(reader.numFrames(), score.lengthMean + 1, 'the GIF: the reset frame and one a step');
      assert.deepEqual([canvas.width, canvas.height], [reader.width, reader.height]);
      assert.deepEqual([canvas.width, canvas.height], [320, 320]);
      const last = new Uint8Array(reader.width * reader.height * 4);
      reader.decodeAndBlitFrameRGBA(reader.numFrames() - 1, last);
      let differ = 0;
      for (let i = 0; i < last.length; i++) if (i % 4 !== 3 && canvas.rgba[i] !== last[i]) differ += 1;
      assert.equal(differ, 0, "the page's last frame is the video's last frame");
      const colours = new Set<string>();
      for (let i = 0; i < canvas.rgba.length; i += 4) colours.add(canvas.rgba.slice(i, i + 3).join(','));
      const palette = minatarPalette(4).map((c) => c.join(','));
      assert.deepEqual([...colours].filter((c) => !palette.includes(c)), [], "every pixel is black or one of Breakout's four channel colours");
      assert.ok(colours.size >= 3, `black and at least the paddle's and the bricks' colours, got ${[...colours].join(' ')}`);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      view.stop();
    }
  });

  it("in Chromium: a TicTacToe run plays under its action masks the games rl evaluate scores for the seed, never an occupied cell", async function () {
    skipWithoutChromium(this);
    this.timeout(120_000);
    const run = ticTacToeRun();
    const view = await startRlView(run);
    const { browser, page, errors } = await openChromium();
    try {
      await page.goto(view.url);
      await page.waitForFunction(`document.querySelectorAll('#play-checkpoint option').length > 0`, null, { timeout: 30_000 });
      for (const seed of [0, 1, 2, 3]) {
        const { score, played } = await playAndEvaluate(page, run, seed);
        assert.equal(score.outcomes!.illegal, undefined, JSON.stringify(score));
        assert.match(played.status, /episode over after \d+ steps \(terminated\)/);
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      view.stop();
    }
  });

  it('in Chromium: a recurrent (LSTM) run plays, seed after seed, the episodes rl evaluate scores for the seeds, its state carried by the stepper', async function () {
    skipWithoutChromium(this);
    this.timeout(120_000);
    const run = recurrentRun();
    const view = await startRlView(run);
    const { browser, page, errors } = await openChromium();
    try {
      await page.goto(view.url);
      await page.waitForFunction(`document.querySelectorAll('#play-checkpoint option').length > 0`, null, { timeout: 30_000 });
      for (const seed of [0, 1, 2]) await playAndEvaluate(page, run, seed);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      view.stop();
    }
  });

  it("in Chromium: a person plays TicTacToe against the policy by clicking cells: it answers with its greedy legal move, an occupied cell changes nothing, the finished game shows its result, and either side may move first", async function () {
    skipWithoutChromium(this);
    this.timeout(120_000);
    const run = ticTacToeRun();
    // The policy's answers, worked out here with its exported module on the same boards: what the page must show.
    const file = path.join(path.dirname(run), 'policy.mjs');
    fs.writeFileSync(file, jsPolicyModule(run));
    const policy = (await import(pathToFileURL(file).href)) as { act(obs: ArrayLike<number>, mask: ArrayLike<number>): number };
    const answer = (g: TurnGame) => {
      while (g.toMove() === 'agent') g.play(policy.act(g.observe(), g.legalMoves()));
    };
    const view = await startRlView(run);
    const { browser, page, errors } = await openChromium();
    const methods = new Set<string>();
    page.on('request', (r) => methods.add(r.method()));
    try {
      await page.goto(view.url);
      await page.waitForFunction(`!document.getElementById('versus').hidden && document.querySelectorAll('#versus-checkpoint option').length > 0`, null, { timeout: 30_000 });
      const shown = async () => (await page.evaluate(`({ ...document.getElementById('versus').dataset, status: document.getElementById('versus-status').textContent, cursor: document.getElementById('versus-canvas').style.cursor })`)) as Record<string, string>;
      const until = (moves: string) => page.waitForFunction(`document.getElementById('versus').dataset.moves === ${JSON.stringify(moves)}`, null, { timeout: 30_000 });
      // The middle of a cell in the page: the 192 x 192 board is drawn at 384 x 384 CSS pixels inside a 1 px border.
      const box = async () => (await page.locator('#versus-canvas').boundingBox())!;
      const pointAt = async (cell: number): Promise<[number, number]> => {
        const b = await box();
        const scale = (b.width - 2) / 192;
        return [b.x + 1 + ((cell % 3) * 64 + 32) * scale, b.y + 1 + (Math.floor(cell / 3) * 64 + 32) * scale];
      };
      const click = async (cell: number) => page.mouse.click(...(await pointAt(cell)));
      assert.deepEqual([(await box()).width, (await box()).height], [386, 386]);

      // The person moves first, and plays the game out.
      await page.selectOption('#versus-first', 'opponent');
      await page.click('#versus-new');
      await page.waitForFunction(`document.getElementById('versus').dataset.toMove === 'opponent'`, null, { timeout: 30_000 });
      assert.deepEqual((await shown()).moves, '');
      const game = new TicTacToe().turnGame('opponent');
      for (let turn = 0; game.result() === null; turn++) {
        const cell = personMove(game);
        game.play(cell);
        answer(game);
        await click(cell);
        await until(movesText(game));
        const canvas = await canvasRgb(page, 'versus-canvas');
        assert.deepEqual([canvas.width, canvas.height], [192, 192]);
        assert.deepEqual(canvas.rgb, Array.from(game.render().data), `turn ${turn}: the board drawn is the game's, ${movesText(game)}`);
        if (turn === 0) {
          // The policy's cell is taken: the pointer says so, and a click there changes nothing but the count of refusals.
          const taken = game.moves()[1].move;
          await page.mouse.move(...(await pointAt(taken)));
          assert.equal((await shown()).cursor, 'not-allowed');
          await page.mouse.move(...(await pointAt(personMove(game))));
          assert.equal((await shown()).cursor, 'pointer');
          await click(taken);
          const after = await shown();
          assert.deepEqual([after.moves, after.rejected, after.toMove], [movesText(game), '1', 'opponent']);
          assert.equal(after.status, `refused: TicTacToe-v0: move ${taken} is not legal now; the legal moves are ${[...game.legalMoves().keys()].filter((i) => game.legalMoves()[i]).join(', ')}`);
          assert.deepEqual((await canvasRgb(page, 'versus-canvas')).rgb, Array.from(game.render().data), 'the board is as it was');
        }
      }
      const over = await shown();
      const words = { win: 'the policy won', loss: 'you won', draw: 'a draw' }[game.result()!];
      assert.deepEqual([over.result, over.toMove, over.status], [game.result(), '', `game over: ${words}`]);
      await click(4);
      assert.deepEqual([(await shown()).moves, (await shown()).rejected], [movesText(game), '2']);
      assert.equal((await shown()).status, `refused: TicTacToe-v0: the game is over (${game.result()}); start a new one`);

      // A new game, the policy first: its move is on the board before any click.
      await page.selectOption('#versus-first', 'agent');
      await page.click('#versus-new');
      const second = new TicTacToe().turnGame('agent');
      answer(second);
      await until(movesText(second));
      assert.deepEqual([(await shown()).toMove, (await shown()).rejected, (await shown()).result], ['opponent', '0', '']);
      assert.match((await shown()).status, new RegExp(`^it played ${second.moves()[0].move}; your move`));
      // The games ran in the page: it only ever read from the server, which takes no other method.
      assert.deepEqual([...methods], ['GET']);
      assert.equal((await request(view.url, '/api/run', {}, 'POST')).status, 405);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      view.stop();
    }
  });

  it("in Chromium: a person plays ConnectFour-v0 against a self-play run's trained policy by clicking columns, and it answers as its exported module does", async function () {
    skipWithoutChromium(this);
    this.timeout(120_000);
    const run = connectFourRun();
    const file = path.join(path.dirname(run), 'policy.mjs');
    fs.writeFileSync(file, jsPolicyModule(run)); // the checkpoint's trained policy, main
    const policy = (await import(pathToFileURL(file).href)) as { act(obs: ArrayLike<number>, mask: ArrayLike<number>): number };
    const answer = (g: TurnGame) => {
      while (g.toMove() === 'agent') g.play(policy.act(g.observe(), g.legalMoves()));
    };
    const view = await startRlView(run);
    const { browser, page, errors } = await openChromium();
    try {
      await page.goto(view.url);
      await page.waitForFunction(`!document.getElementById('versus').hidden && document.querySelectorAll('#versus-checkpoint option').length > 0`, null, { timeout: 30_000 });
      const moves = async () => (await page.evaluate(`document.getElementById('versus').dataset.moves`)) as string;
      // The 448 x 384 board drawn in the page: a click in the middle of column c's top cell.
      const click = async (column: number) => {
        const b = (await page.locator('#versus-canvas').boundingBox())!;
        const scale = (b.width - 2) / 448;
        await page.mouse.click(b.x + 1 + (column * 64 + 32) * scale, b.y + 1 + 32 * scale);
      };
      await page.selectOption('#versus-first', 'opponent');
      await page.click('#versus-new');
      await page.waitForFunction(`document.getElementById('versus').dataset.toMove === 'opponent'`, null, { timeout: 30_000 });
      const game = new ConnectFour().turnGame('opponent');
      // The person plays the lowest column with room; the policy answers each move.
      for (let turn = 0; game.result() === null && turn < 10; turn++) {
        const legal = game.legalMoves();
        const column = [...legal.keys()].find((c) => legal[c] === 1)!;
        game.play(column);
        answer(game);
        await click(column);
        await page.waitForFunction(`document.getElementById('versus').dataset.moves === ${JSON.stringify(movesText(game))}`, null, { timeout: 30_000 });
      }
      assert.equal(await moves(), movesText(game));
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      view.stop();
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
