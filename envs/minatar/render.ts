import type { RgbFrame } from '../env';
import { Canvas, type Rgb } from '../draw';
import { SIZE } from './game';

/** Pixels a cell: frames are 320 x 320. */
export const CELL_PX = 32;

/**
 * matplotlib's "cubehelix" colour map (Green 2011, with matplotlib's defaults: start 0.5,
 * rotations -1.5, hue 1, gamma 1) at x in [0, 1], as RGB in [0, 1].
 */
export function cubehelix(x: number): [number, number, number] {
  const amplitude = (x * (1 - x)) / 2;
  const phi = 2 * Math.PI * (0.5 / 3 - 1.5 * x);
  const channel = (p0: number, p1: number) => Math.min(1, Math.max(0, x + amplitude * (p0 * Math.cos(phi) + p1 * Math.sin(phi))));
  return [channel(-0.14861, 1.78277), channel(-0.29227, -0.90649), channel(1.97294, 0)];
}

/**
 * The colours of MinAtar's GUI for a game of `channels` channels: black for an empty cell, then
 * `seaborn.color_palette("cubehelix", channels)` for channels 0..n-1. seaborn samples the
 * matplotlib map at k / (n + 1), k = 1..n, through its 256-entry table (entry i holds the map
 * at i / 255, and x picks entry floor(256 x)); matplotlib draws a colour as bytes by
 * truncating 255 c.
 */
export function minatarPalette(channels: number): Rgb[] {
  const palette: Rgb[] = [[0, 0, 0]];
  for (let k = 1; k <= channels; k++) {
    const entry = Math.min(255, Math.floor((256 * k) / (channels + 1)));
    palette.push(cubehelix(entry / 255).map((c) => Math.floor(c * 255)) as [number, number, number]);
  }
  return palette;
}

/**
 * A frame as MinAtar's GUI draws an observation: each cell in the colour of its highest lit
 * channel (the reference's `amax(state * (channel + 1))`), black where none is lit.
 */
export function renderMinAtar(obs: Uint8Array, palette: readonly Rgb[]): RgbFrame {
  const channels = palette.length - 1;
  const canvas = new Canvas(SIZE * CELL_PX, SIZE * CELL_PX, palette[0]);
  for (let cell = 0; cell < SIZE * SIZE; cell++) {
    let top = 0;
    for (let c = 0; c < channels; c++) if (obs[cell * channels + c]) top = c + 1;
    if (top > 0) canvas.rect((cell % SIZE) * CELL_PX, Math.floor(cell / SIZE) * CELL_PX, CELL_PX, CELL_PX, palette[top]);
  }
  return canvas.frame();
}
