import { lineChart, type Series } from './chart';
import { play, type Playback } from './play';
import { canPlayAgainst, playAgainst, type Versus } from './versus';
import type { Player } from '../../../envs/turn-game';

/** What `/api/run` answers (src/view/server.ts). */
export interface RunInfo {
  name: string;
  algorithm?: string;
  envId?: string;
  envConfig: Record<string, unknown>;
  renderFps: number;
  /** Oldest first; the best-evaluated one (checkpoint.best), if any, last, named `best`. */
  checkpoints: { name: string; iteration: number; envSteps: number; episodeReturnMean: number | null; time: string; evaluation?: { mean: number; episodes: number } }[];
  videos: string[];
  envProblem?: string;
}

/** A custom env's module, bundled into the page when it uses no Node APIs. */
export interface CustomEnv {
  module?: Record<string, unknown>;
  exportName?: string;
}

type Row = Record<string, number | null>;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const COLORS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280'];
const POLL_MS = 2000;

/** The page: live curves from progress.jsonl, the config, the checkpoints, and watch-it-play. */
export function start(custom: CustomEnv): void {
  main(custom).catch((err: unknown) => {
    $('summary').textContent = `error: ${(err as Error).message}`;
    $('summary').className = 'error';
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

async function main(custom: CustomEnv): Promise<void> {
  let info = await getJson<RunInfo>('/api/run');
  document.title = `rl view: ${info.name}`;
  $('title').textContent = info.name;
  $('summary').textContent = `${info.algorithm ?? '?'} on ${info.envId ?? '?'}`;
  const config = await fetch('/run/config.yaml', { cache: 'no-store' });
  $('config').textContent = config.ok ? await config.text() : '(no config.yaml)';
  showRun(info);

  let playback: Playback | undefined;
  $('play-start').addEventListener('click', () => {
    playback?.stop();
    const speed = ($<HTMLSelectElement>('play-speed')).value;
    playback = play({
      info,
      custom,
      checkpoint: $<HTMLSelectElement>('play-checkpoint').value,
      seed: Number($<HTMLInputElement>('play-seed').value) || 0,
      speed: speed === 'max' ? 'max' : Number(speed),
      canvas: $<HTMLCanvasElement>('play-canvas'),
      show: (s) => {
        $('play-return').textContent = String(+s.return.toFixed(2));
        $('play-steps').textContent = String(s.steps);
        $('play-status').textContent = s.status;
        const box = $('play');
        box.dataset.steps = String(s.steps);
        box.dataset.return = String(s.return);
        box.dataset.done = s.done ? '1' : '0';
      },
    });
  });
  $('play-stop').addEventListener('click', () => playback?.stop());
  if (info.envProblem) $('play-status').textContent = info.envProblem;
  if (!info.envProblem && canPlayAgainst(info, custom)) startVersus(info, custom);

  // Live: progress.jsonl every 2 s (redrawn when it grew), the checkpoints every other time.
  let seen = -1;
  for (let tick = 0; ; tick++) {
    const res = await fetch('/run/progress.jsonl', { cache: 'no-store' });
    const text = res.ok ? await res.text() : '';
    if (text.length !== seen) {
      seen = text.length;
      drawCurves(text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Row));
    }
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (tick % 2 === 1) {
      info = await getJson<RunInfo>('/api/run');
      showRun(info);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** "Play against it", for an env with `turnGame()`: a new game per press of New game, the person's clicks as its moves. */
function startVersus(info: RunInfo, custom: CustomEnv): void {
  $('versus').hidden = false;
  const canvas = $<HTMLCanvasElement>('versus-canvas');
  let versus: Versus | undefined;
  $('versus-new').addEventListener('click', () => {
    versus?.stop();
    versus = playAgainst({
      info,
      custom,
      checkpoint: $<HTMLSelectElement>('versus-checkpoint').value,
      first: $<HTMLSelectElement>('versus-first').value as Player,
      canvas,
      show: (s) => {
        $('versus-status').textContent = s.status;
        $('versus-rejected').textContent = String(s.rejected);
        const box = $('versus');
        box.dataset.moves = s.moves.map((m) => `${m.player}:${m.move}`).join(' ');
        box.dataset.toMove = s.toMove ?? '';
        box.dataset.result = s.result ?? '';
        box.dataset.rejected = String(s.rejected);
      },
    });
  });
  // A point of the page on the canvas as a pixel of the frame drawn on it (the canvas is shown scaled).
  const at = (e: MouseEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left - canvas.clientLeft) * canvas.width) / canvas.clientWidth, ((e.clientY - r.top - canvas.clientTop) * canvas.height) / canvas.clientHeight];
  };
  canvas.addEventListener('click', (e) => versus?.click(...at(e)));
  canvas.addEventListener('mousemove', (e) => (canvas.style.cursor = versus?.playable(...at(e)) ? 'pointer' : 'not-allowed'));
}

/** Episode return (and evaluation return) against env steps, then one chart per loss. */
function drawCurves(rows: Row[]): void {
  const series = (key: string, color: string): Series => ({
    name: key,
    color,
    points: rows.filter((r) => typeof r[key] === 'number' && typeof r.envSteps === 'number').map((r) => [r.envSteps as number, r[key] as number]),
  });
  const charts = [lineChart('episodeReturnMean', [series('episodeReturnMean', COLORS[0]), ...(rows.some((r) => typeof r.evalReturnMean === 'number') ? [series('evalReturnMean', COLORS[1])] : [])])];
  const lossKeys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => /loss$/i.test(k));
  lossKeys.forEach((k, i) => charts.push(lineChart(k, [series(k, COLORS[(i + 2) % COLORS.length])])));
  $('charts').replaceChildren(...charts);
  $('curves').dataset.rows = String(rows.length);
}

/** The checkpoints table, the checkpoint picker (keeping the choice) and the latest video. */
function showRun(info: RunInfo): void {
  const rows = info.checkpoints.map((c) => {
    const tr = document.createElement('tr');
    for (const v of [c.name, c.iteration, c.envSteps.toLocaleString('en-US'), c.episodeReturnMean === null ? '-' : c.episodeReturnMean.toFixed(1), new Date(c.time).toLocaleString()]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.append(td);
    }
    return tr;
  });
  $('checkpoints').querySelector('tbody')!.replaceChildren(...rows);
  for (const id of ['play-checkpoint', 'versus-checkpoint']) {
    const select = $<HTMLSelectElement>(id);
    const chosen = select.value;
    // Best first (the default pick, as `rl evaluate RUN_DIR` takes it), then the newest down.
    select.replaceChildren(
      ...[...info.checkpoints].reverse().map((c) => {
        const o = document.createElement('option');
        o.value = c.name;
        o.textContent = c.evaluation
          ? `${c.name}: iteration ${c.iteration} (evaluation ${c.evaluation.mean.toFixed(1)} over ${c.evaluation.episodes} episodes)`
          : `${c.name} (return ${c.episodeReturnMean === null ? '-' : c.episodeReturnMean.toFixed(1)})`;
        return o;
      }),
    );
    if (info.checkpoints.some((c) => c.name === chosen)) select.value = chosen;
  }
  if (info.videos.length > 0) {
    const latest = info.videos[info.videos.length - 1];
    $('videos-section').hidden = false;
    if ($('video-name').textContent !== latest) {
      $('video-name').textContent = latest;
      $<HTMLImageElement>('video').src = `/run/videos/${encodeURIComponent(latest)}`;
    }
  }
}
