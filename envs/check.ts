import { EnvError } from '../core/errors';
import type { Action, Env, ResetResult, StepResult } from './env';
import { describe } from '../core/spaces';

/**
 * Contract checks on what an env returns. They name the env and the step so that a broken
 * env fails here, with a sentence, instead of as a tensor shape error deep in training.
 */
export function checkReset(envId: string, env: Env, result: ResetResult): void {
  if (!result || typeof result !== 'object') fail(envId, 'reset', `must return { obs, info }, got ${describe(result)}`);
  checkObs(envId, env, result.obs, 'reset');
}

export function checkStep(envId: string, env: Env, result: StepResult, step: number, action: Action): void {
  const where = `step ${step} (action ${formatAction(action)})`;
  if (!result || typeof result !== 'object') fail(envId, where, `must return { obs, reward, terminated, truncated, info }, got ${describe(result)}`);
  checkObs(envId, env, result.obs, where);
  if (typeof result.reward !== 'number' || !Number.isFinite(result.reward)) fail(envId, where, `reward must be a finite number, got ${describe(result.reward)}`);
  if (typeof result.terminated !== 'boolean') fail(envId, where, `terminated must be a boolean, got ${describe(result.terminated)}`);
  if (typeof result.truncated !== 'boolean') fail(envId, where, `truncated must be a boolean, got ${describe(result.truncated)}`);
}

function checkObs(envId: string, env: Env, obs: unknown, where: string): void {
  const why = env.observationSpace.violation(obs);
  if (why !== undefined) fail(envId, where, `observation is not in observationSpace ${env.observationSpace}: ${why}`);
}

function fail(envId: string, where: string, what: string): never {
  throw new EnvError(`env ${envId}: ${where}: ${what}`);
}

function formatAction(a: Action): string {
  return typeof a === 'number' ? String(a) : `[${Array.from(a, (v) => +v.toFixed(3)).join(', ')}]`;
}
