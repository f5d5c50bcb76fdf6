import { EnvError } from '../core/errors';
import type { Action, Env, ResetResult, RgbFrame, StepResult } from './env';
import { describeValue } from '../core/describe';

/**
 * Contract checks on what an env returns. They name the env, the step and the field so that
 * a broken env fails here, with a sentence, instead of as a tensor shape error deep in
 * training. `checkStep` is the whole contract (a vector env runs it on each env's first
 * steps); `checkFinite` is the cheap part that runs on every step after those: a NaN or an
 * infinity in a reward or an observation, whenever it comes.
 */
export function checkReset(envId: string, env: Env, result: ResetResult, step = 0): void {
  if (!result || typeof result !== 'object') fail(envId, 'reset', step, 'result', `must return { obs, info }, got ${describeValue(result)}`);
  checkObs(envId, env, result.obs, 'reset', step);
}

export function checkStep(envId: string, env: Env, result: StepResult, step: number, action: Action): void {
  const where = stepWhere(step, action);
  if (!result || typeof result !== 'object') fail(envId, where, step, 'result', `must return { obs, reward, terminated, truncated, info }, got ${describeValue(result)}`);
  checkObs(envId, env, result.obs, where, step);
  if (typeof result.reward !== 'number' || !Number.isFinite(result.reward)) fail(envId, where, step, 'reward', `reward must be a finite number, got ${describeValue(result.reward)}`);
  if (typeof result.terminated !== 'boolean') fail(envId, where, step, 'terminated', `terminated must be a boolean, got ${describeValue(result.terminated)}`);
  if (typeof result.truncated !== 'boolean') fail(envId, where, step, 'truncated', `truncated must be a boolean, got ${describeValue(result.truncated)}`);
}

/** Finite reward, finite observation of the right length: what must hold on every step, checked cheaply. */
export function checkFinite(envId: string, env: Env, result: StepResult, step: number, action: Action): void {
  const obs = result.obs;
  let ok = Number.isFinite(result.reward) && obs instanceof Float32Array && obs.length === env.observationSpace.size;
  for (let i = 0; ok && i < obs.length; i++) ok = Number.isFinite(obs[i]);
  if (!ok) checkStep(envId, env, result, step, action); // the full check names what is wrong
}

/** The text of an error an env threw by itself while stepping (or resetting), carried as an EnvError with its step. */
export function envThrew(envId: string, err: unknown, step: number, action: Action | undefined): EnvError {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e instanceof EnvError) return e;
  const at = /\n\s+at (.*)/.exec(e.stack ?? '')?.[1];
  const where = action === undefined ? `reset after step ${step}` : stepWhere(step, action);
  return new EnvError(`env ${envId}: ${where}: threw ${e.message}${at ? ` (at ${at})` : ''}`, { step, field: 'threw', cause: e });
}

function checkObs(envId: string, env: Env, obs: unknown, where: string, step: number): void {
  const why = env.observationSpace.violation(obs);
  if (why !== undefined) fail(envId, where, step, 'obs', `observation is not in observationSpace ${env.observationSpace}: ${why}`);
}

function stepWhere(step: number, action: Action): string {
  return `step ${step} (action ${formatAction(action)})`;
}

function fail(envId: string, where: string, step: number, field: string, what: string): never {
  throw new EnvError(`env ${envId}: ${where}: ${what}`, { step, field });
}

function formatAction(a: Action): string {
  return typeof a === 'number' ? String(a) : `[${Array.from(a, (v) => +v.toFixed(3)).join(', ')}]`;
}

/** Why `mask` is not an action mask of Discrete(n) (n bytes, each 0 or 1, at least one legal action), or undefined. */
export function maskViolation(mask: unknown, n: number): string | undefined {
  if (!(mask instanceof Uint8Array)) return `must return a Uint8Array, got ${describeValue(mask)}`;
  if (mask.length !== n) return `has ${mask.length} entries, Discrete(${n}) needs ${n}`;
  if (mask.some((x) => x > 1)) return 'has values other than 0 and 1';
  if (!mask.includes(1)) return 'leaves no legal action';
  return undefined;
}

/** A frame as the Env contract has it: positive whole width and height, data an RGB Uint8Array. */
export function checkFrame(envId: string, f: RgbFrame, when: string): RgbFrame {
  const bad = (why: string) => new Error(`env ${envId}: render() ${when}: ${why}`);
  if (!f || typeof f !== 'object') throw bad(`must return { width, height, data }, got ${String(f)}`);
  if (!Number.isInteger(f.width) || f.width < 1 || !Number.isInteger(f.height) || f.height < 1) throw bad(`width and height must be whole numbers >= 1, got ${f.width} x ${f.height}`);
  if (!(f.data instanceof Uint8Array)) throw bad(`data must be a Uint8Array (RGB, 3 bytes a pixel), got ${Object.prototype.toString.call(f.data)}`);
  if (f.data.length !== f.width * f.height * 3) throw bad(`data must hold width x height x 3 = ${f.width * f.height * 3} bytes (RGB, row-major), got ${f.data.length}`);
  return f;
}
