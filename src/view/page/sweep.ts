/** What `/api/sweep` answers (src/view/sweep-info.ts). */
export interface SweepInfo {
  name: string;
  metric: string;
  mode: 'max' | 'min';
  /** The space's dimensions, in the tune file's order. */
  space: ({ key: string; kind: 'choice' | 'grid'; values: unknown[] } | { key: string; kind: 'uniform' | 'loguniform' | 'int'; low: number; high: number })[];
  /** Finished trials (trials.jsonl), then running ones (status running). */
  trials: { id: string; seed: number; params: Record<string, unknown>; status: string; metric: number | null; envSteps: number; wallSeconds: number; error?: string }[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const SVG = 'http://www.w3.org/2000/svg';
const W = 900;
const H = 320;
const PAD = { left: 40, right: 60, top: 28, bottom: 24 };
const POLL_MS = 2000;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(3)) : JSON.stringify(v));

/** The sweep page: the trial table and a parallel-coordinates plot of the values against the metric, polled. */
export function startSweep(): void {
  const tick = async () => {
    try {
      const res = await fetch('/api/sweep', { cache: 'no-store' });
      if (!res.ok) throw new Error(`/api/sweep: HTTP ${res.status}`);
      render((await res.json()) as SweepInfo);
    } catch (err) {
      $('summary').textContent = `error: ${(err as Error).message}`;
      $('summary').className = 'error';
    }
    setTimeout(() => void tick(), POLL_MS);
  };
  void tick();
}

function render(info: SweepInfo): void {
  document.title = `rl view: ${info.name}`;
  $('title').textContent = `sweep ${info.name}`;
  const counts = new Map<string, number>();
  for (const t of info.trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  $('summary').textContent = `${info.trials.length} trials (${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}); metric ${info.metric} (${info.mode})`;
  $('parallel').replaceChildren(parallelCoordinates(info));
  table(info);
}

/** One axis per dimension, then the metric; a polyline per trial with every value, coloured by its metric (grey: none). */
function parallelCoordinates(info: SweepInfo): SVGSVGElement {
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'parallel coordinates' });
  const metrics = info.trials.flatMap((t) => (t.metric === null ? [] : [t.metric]));
  const [m0, m1] = metrics.length > 0 ? [Math.min(...metrics), Math.max(...metrics)] : [0, 1];
  const axes = [
    ...info.space.map((d) => ({ label: d.key, scale: axisScale(d) })),
    { label: info.metric, scale: { at: (v: unknown) => (typeof v === 'number' ? (m1 === m0 ? 0.5 : (v - m0) / (m1 - m0)) : undefined), ticks: [[0, fmt(m0)], [1, fmt(m1)]] as [number, string][] } },
  ];
  const x = (i: number) => PAD.left + (axes.length === 1 ? 0 : (i / (axes.length - 1)) * (W - PAD.left - PAD.right));
  const y = (f: number) => H - PAD.bottom - f * (H - PAD.top - PAD.bottom);
  axes.forEach((a, i) => {
    svg.append(el('line', { x1: x(i), y1: y(0), x2: x(i), y2: y(1), stroke: '#999' }));
    svg.append(el('text', { x: x(i), y: 14, 'text-anchor': 'middle', 'font-size': 11, fill: '#333' }, a.label));
    for (const [f, text] of a.scale.ticks) svg.append(el('text', { x: x(i) + 4, y: y(f) + 4, 'font-size': 10, fill: '#777' }, text));
  });
  const best = info.mode === 'max' ? m1 : m0;
  for (const t of info.trials) {
    const values = [...info.space.map((d) => t.params[d.key]), t.metric];
    const fs = values.map((v, i) => axes[i].scale.at(v));
    if (fs.slice(0, -1).some((f) => f === undefined)) continue;
    const pts = fs.map((f, i) => `${x(i).toFixed(1)},${y(f ?? 0).toFixed(1)}`).join(' ');
    const share = t.metric === null || m1 === m0 ? undefined : Math.abs(t.metric - (info.mode === 'max' ? m0 : m1)) / (m1 - m0);
    const color = share === undefined ? '#bbb' : `hsl(${Math.round(25 + 190 * share)}, 70%, 45%)`;
    const line = el('polyline', { points: pts, fill: 'none', stroke: color, 'stroke-width': t.metric === best ? 3 : 1.4, 'stroke-dasharray': t.metric === null ? '4 3' : 'none', 'data-trial': t.id });
    line.append(el('title', {}, `${t.id}: ${t.status}, ${info.metric} ${t.metric === null ? '-' : fmt(t.metric)}`));
    svg.append(line);
  }
  return svg;
}

/** Where a value stands on a dimension's axis (0..1; undefined: not on it), and the axis's ticks. */
function axisScale(d: SweepInfo['space'][number]): { at: (v: unknown) => number | undefined; ticks: [number, string][] } {
  if ('values' in d) {
    const keys = d.values.map((v) => JSON.stringify(v));
    const f = (i: number) => (keys.length === 1 ? 0.5 : i / (keys.length - 1));
    return { at: (v) => (keys.indexOf(JSON.stringify(v)) < 0 ? undefined : f(keys.indexOf(JSON.stringify(v)))), ticks: d.values.map((v, i) => [f(i), fmt(v)]) };
  }
  const log = d.kind === 'loguniform';
  const t = (v: number) => (log ? Math.log(v) : v);
  return { at: (v) => (typeof v === 'number' ? (t(v) - t(d.low)) / (t(d.high) - t(d.low)) : undefined), ticks: [[0, fmt(d.low)], [1, fmt(d.high)]] };
}

/** The trials, best first (running and failed ones last). */
function table(info: SweepInfo): void {
  const sign = info.mode === 'max' ? -1 : 1;
  const rows = [...info.trials].sort((a, b) => (a.metric === null ? 1 : 0) - (b.metric === null ? 1 : 0) || sign * ((a.metric ?? 0) - (b.metric ?? 0)));
  const head = ['trial', 'seed', ...info.space.map((d) => d.key), 'status', info.metric, 'env steps', 'seconds', 'error'];
  const thead = document.createElement('tr');
  for (const h of head) thead.append(Object.assign(document.createElement('th'), { textContent: h }));
  const body = rows.map((t) => {
    const tr = document.createElement('tr');
    tr.dataset.trial = t.id;
    const cells = [t.id, String(t.seed), ...info.space.map((d) => fmt(t.params[d.key])), t.status, t.metric === null ? '-' : t.metric.toFixed(2), t.envSteps.toLocaleString('en-US'), t.wallSeconds.toFixed(1), t.error ?? ''];
    for (const c of cells) tr.append(Object.assign(document.createElement('td'), { textContent: c }));
    return tr;
  });
  $('trials').replaceChildren(Object.assign(document.createElement('thead'), {}), document.createElement('tbody'));
  $('trials').querySelector('thead')!.append(thead);
  $('trials').querySelector('tbody')!.append(...body);
}
