import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Rng } from '../../core/rng';
import { listCheckpoints, verifyCheckpoint } from '../checkpoint';
import { draw, type Dimension, type Params } from './space';

/**
 * Population Based Training (Jaderberg et al. 2017, "Population Based Training of Neural
 * Networks"): the trials are a population trained side by side; every `interval` iterations a
 * member in the bottom `quantile` of the population (by its latest metric) copies the latest
 * checkpoint of a member of the top `quantile` (exploit) and perturbs the copied hyperparameters
 * (explore), then trains on from that checkpoint. The run process of a member ends at each
 * interval (its `stop.iterations`) and is started again with `--resume`, so a copied checkpoint
 * is resumed exactly as any other.
 */
export interface PbtScheduler {
  /** The scheduler's name. */
  type: 'pbt';
  /** Iterations between exploit/explore steps. */
  interval: number;
  /** The fraction of the population in the bottom (and top) group (0 < q <= 0.5). */
  quantile: number;
  /** The chance that explore draws a value afresh from the space instead of perturbing it. */
  resample: number;
}

/** explore's factors: a numeric value is multiplied by one of them (chosen at random). */
export const PERTURB_FACTORS = [0.8, 1.2] as const;

/**
 * Explore: `params` perturbed dimension by dimension, each value either drawn afresh from its
 * dimension (probability `resample`) or moved: a number times 0.8 or 1.2 (an int rounded),
 * clamped to the dimension's bounds; a list's value to a neighbouring one in the list.
 */
export function explore(params: Params, space: Dimension[], rng: Rng, resample: number): Params {
  const out: Params = { ...params };
  for (const dim of space) {
    if (rng.random() < resample) {
      out[dim.key] = draw(dim, rng);
      continue;
    }
    const up = rng.random() < 0.5;
    if ('values' in dim) {
      const at = dim.values.findIndex((v) => JSON.stringify(v) === JSON.stringify(params[dim.key]));
      out[dim.key] = dim.values[Math.min(dim.values.length - 1, Math.max(0, (at < 0 ? 0 : at) + (up ? 1 : -1)))];
    } else {
      const moved = (params[dim.key] as number) * PERTURB_FACTORS[up ? 1 : 0];
      out[dim.key] = Math.min(dim.high, Math.max(dim.low, dim.kind === 'int' ? Math.round(moved) : moved));
    }
  }
  return out;
}

/**
 * Whom `member` copies, if anyone: when it is in the bottom ceil(quantile · n) of the members'
 * latest metrics (n >= 2; the groups at most half the population each), a member of the top
 * group drawn at random; else undefined (it trains on as it is). NaN ranks lowest.
 */
export function pickDonor(member: string, scores: Map<string, number>, opts: { quantile: number; mode: 'max' | 'min' }, rng: Rng): string | undefined {
  if (scores.size < 2) return undefined;
  const key = (v: number) => (Number.isNaN(v) ? -Infinity : opts.mode === 'max' ? v : -v);
  const ranked = [...scores].sort((a, b) => key(a[1]) - key(b[1]) || a[0].localeCompare(b[0])).map(([id]) => id); // worst first
  const k = Math.min(Math.ceil(scores.size * opts.quantile), Math.floor(scores.size / 2));
  if (k === 0 || !ranked.slice(0, k).includes(member)) return undefined;
  const top = ranked.slice(ranked.length - k);
  return top[rng.int(top.length)];
}

/**
 * Exploit: `to`'s checkpoints are replaced by the newest intact checkpoint of `from` (copied
 * whole, under its own name), so that `rl train --resume auto --run-dir TO` resumes exactly
 * from it. Returns the copy, or undefined when `from` has no intact checkpoint.
 */
export function exploitCheckpoint(from: string, to: string): string | undefined {
  const source = [...listCheckpoints(from)].reverse().find((dir) => {
    try {
      verifyCheckpoint(dir);
      return true;
    } catch {
      return false; // damaged, or pruned while we looked: an older one
    }
  });
  if (!source) return undefined;
  const root = path.join(to, 'checkpoints');
  const tmp = path.join(root, `.tmp-exploit-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.cpSync(source, tmp, { recursive: true });
  for (const own of listCheckpoints(to)) fs.rmSync(own, { recursive: true, force: true });
  const copy = path.join(root, path.basename(source));
  fs.renameSync(tmp, copy);
  return copy;
}
