/** One line of a chart: (x, y) points, drawn in `color`. */
export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

const W = 560;
const H = 220;
const PAD = { left: 56, right: 12, top: 10, bottom: 28 };
const SVG = 'http://www.w3.org/2000/svg';

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(1) : String(+v.toPrecision(3)));

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A small hand-drawn SVG line chart: y against env steps, min/max ticks on both axes. Each
 * line is a polyline whose `data-points` says how many points it holds (the browser test
 * compares that with progress.jsonl).
 */
export function lineChart(title: string, series: Series[]): HTMLElement {
  const box = document.createElement('div');
  box.className = 'chart';
  box.id = `chart-${title}`;
  const all = series.flatMap((s) => s.points);
  const caption = document.createElement('div');
  caption.className = 'title';
  caption.textContent = title;
  box.append(caption);
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  box.append(svg);
  if (all.length === 0) {
    svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#999' }, 'no data yet'));
    return box;
  }
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  svg.append(el('line', { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, stroke: '#aaa' }));
  svg.append(el('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, stroke: '#aaa' }));
  for (const y of [y0, (y0 + y1) / 2, y1]) {
    svg.append(el('line', { x1: PAD.left, y1: sy(y), x2: W - PAD.right, y2: sy(y), stroke: '#eee' }));
    svg.append(el('text', { x: PAD.left - 6, y: sy(y) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#666' }, fmt(y)));
  }
  svg.append(el('text', { x: PAD.left, y: H - 8, 'font-size': 11, fill: '#666' }, fmt(x0)));
  svg.append(el('text', { x: W - PAD.right, y: H - 8, 'text-anchor': 'end', 'font-size': 11, fill: '#666' }, `${fmt(x1)} env steps`));
  for (const s of series) {
    const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    svg.append(el('polyline', { points: pts, fill: 'none', stroke: s.color, 'stroke-width': 1.6, 'data-series': s.name, 'data-points': s.points.length }));
    if (s.points.length === 1) svg.append(el('circle', { cx: sx(s.points[0][0]), cy: sy(s.points[0][1]), r: 3, fill: s.color }));
  }
  if (series.length > 1) {
    const legend = document.createElement('div');
    legend.className = 'legend';
    for (const s of series) {
      const item = document.createElement('span');
      item.style.color = s.color;
      item.textContent = `— ${s.name}`;
      legend.append(item);
    }
    box.append(legend);
  }
  return box;
}
