import type { RgbFrame } from './env';
import { Canvas, type Rgb } from './draw';

/** One coloured cell of a board: row 0 is the top. */
export interface GridCell {
  row: number;
  column: number;
  color: Rgb;
}

/**
 * A board as cells of `cellPx` pixels on a dark background, with a 1-pixel gap between cells
 * so that neighbours read as separate; for the grid envs (Catch, Snake), which Gymnasium has not.
 */
export function renderGrid(rows: number, columns: number, cells: readonly GridCell[], cellPx = 32): RgbFrame {
  const c = new Canvas(columns * cellPx, rows * cellPx, [24, 24, 32]);
  for (let r = 0; r < rows; r++) for (let k = 0; k < columns; k++) c.rect(k * cellPx + 1, r * cellPx + 1, cellPx - 2, cellPx - 2, [40, 40, 52]);
  for (const cell of cells) c.rect(cell.column * cellPx + 1, cell.row * cellPx + 1, cellPx - 2, cellPx - 2, cell.color);
  return c.frame();
}
