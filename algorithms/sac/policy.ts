import type { ActInput, ActResult, PolicyParams, PolicySpec, SamplingPolicy, StateSpec, Weights } from '../../core/algorithm';
import type { Rng } from '../../core/rng';
import type { Forward, ForwardEngine, ForwardNet } from '../../core/forward';
import type { SpaceSpec } from '../../core/spaces';
import { squashedGaussian } from '../common/distributions';
import { denseOf, forwardNet, forwardOn, weightLookup } from '../common/forward';
import type { SacConfig } from './config';
import { SquashedGaussianActor } from './networks';

/**
 * The scalar that tells the workers to act uniformly at random over the action Box (1) rather
 * than by the policy (0): SAC's warm-up, until the run has received `learningStarts` env steps
 * (counted over the run, a resumed run's included: `Sac.received`), as SB3 and CleanRL act at
 * random for their first `learning_starts` steps.
 */
export const UNIFORM_ACTIONS = 'uniformActions';

/** The policy's state with `noiseRepeat` > 1: per env, the draws held, the steps they have left, and what they are. */
const HELD = 'heldNoise';

/** What held draws are: none yet (a zero state, an episode's start), uniform in (-1, 1) (warm-up), standard normal (the policy's noise). */
const enum Draw {
  None = 0,
  Uniform = 1,
  Normal = 2,
}

/** Keeps atanh finite: a uniform draw of +-1 would be an infinite pre-tanh action. */
const EDGE = 1 - 1e-6;

/** The state a SAC policy of `config` carries: its held draws when `noiseRepeat` > 1 (action size + 2 floats per env), else none. */
export function sacPolicyState(config: SacConfig, actionSpace: SpaceSpec): StateSpec[] {
  if (config.noiseRepeat <= 1 || actionSpace.type !== 'Box') return [];
  return [{ name: HELD, size: actionSpace.shape.reduce((a, b) => a * b, 1) + 2 }];
}

/**
 * The sampling side of SAC: one forward pass of the actor (on the engine the runtime offers
 * when it can, on tfjs otherwise) gives each env's mean and raw log-std; the action recorded
 * and handed to the stepper is u = mean + std * noise, before tanh (the stepper squashes and
 * scales it: `boxActions: 'squash'`), or the mean itself when deterministic (evaluation: the
 * greedy action tanh(mean), scaled). During warm-up, u = atanh(y) with y uniform in (-1, 1).
 *
 * With `noiseRepeat` k > 1, each env holds its draws (noise, or warm-up's y) for k steps and
 * draws anew at an episode's start: exploration correlated in time, which per-step noise
 * lacks (on MountainCarContinuous, held draws reach the flag where fresh ones never do).
 * They ride in the policy's recurrent state, so a worker's checkpoint continues them exactly.
 */
export class SquashedGaussianPolicy implements SamplingPolicy {
  readonly engine: string;
  /** Why the engine offered was not used, or null. */
  readonly fallback: string | null;
  private readonly net: SquashedGaussianActor;
  private readonly forward: Forward;
  private readonly repeat: number;
  private uniform = false;

  constructor(
    private readonly spec: PolicySpec,
    engine?: ForwardEngine,
  ) {
    const cfg = spec.config as SacConfig;
    // Weights arrive with setParams; the seed only fills the variables until then.
    this.net = new SquashedGaussianActor(spec, spec.model, 0, cfg.initLogStd);
    this.repeat = spec.state.length > 0 ? cfg.noiseRepeat : 1;
    const chosen = forwardOn(engine, actorNet(this.net.getWeights(), spec));
    this.forward = chosen.forward;
    this.engine = chosen.engine;
    this.fallback = chosen.why;
  }

  act({ obs, numEnvs, state, rng, deterministic }: ActInput): ActResult {
    const d = this.net.actionSize;
    const actions = new Float32Array(numEnvs * d);
    if (deterministic) {
      squashedGaussian.sample(this.forward.run(obs, numEnvs), d, null, actions);
      return { actions, columns: {}, state };
    }
    const kind = this.uniform ? Draw.Uniform : Draw.Normal;
    const { draws, next } = this.draws(kind, numEnvs, state, rng);
    if (kind === Draw.Uniform) for (let i = 0; i < actions.length; i++) actions[i] = Math.atanh(Math.min(EDGE, Math.max(-EDGE, draws[i])));
    else squashedGaussian.sample(this.forward.run(obs, numEnvs), d, draws, actions);
    return { actions, columns: {}, state: next };
  }

  /** This step's draws [numEnvs * d], fresh, or held from `state` while they have steps left and are of `kind`; and the next state. */
  private draws(kind: Draw, numEnvs: number, state: Record<string, Float32Array>, rng: Rng): { draws: Float32Array; next: Record<string, Float32Array> } {
    const d = this.net.actionSize;
    const draw = kind === Draw.Uniform ? () => rng.uniform(-1, 1) : () => rng.normal();
    if (this.repeat <= 1) return { draws: Float32Array.from({ length: numEnvs * d }, draw), next: state };
    const size = d + 2;
    const held = state[HELD].slice();
    const draws = new Float32Array(numEnvs * d);
    for (let e = 0; e < numEnvs; e++) {
      const o = e * size;
      if (held[o + d] <= 0 || held[o + d + 1] !== kind) {
        for (let j = 0; j < d; j++) held[o + j] = draw();
        held[o + d] = this.repeat;
        held[o + d + 1] = kind;
      }
      draws.set(held.subarray(o, o + d), e * d);
      held[o + d] -= 1;
    }
    return { draws, next: { [HELD]: held } };
  }

  setParams({ weights, scalars }: PolicyParams): void {
    this.net.setWeights(weights); // checks every name and size
    this.forward.setWeights(actorNet(weights, this.spec));
    this.uniform = scalars[UNIFORM_ACTIONS] === 1;
  }

  dispose(): void {
    this.forward.dispose();
    this.net.dispose();
  }
}

/** The actor for inference: its body as the trunk, the mean and the raw log-std heads as two towers ([mean, raw log-std] a row). */
function actorNet(weights: Weights, spec: PolicySpec): ForwardNet {
  const get = weightLookup(weights);
  const trunk = spec.model.hiddenSizes.map((_, i) => denseOf(get, `pi/${i}`, spec.model.activation));
  return forwardNet(spec.observationSpace, trunk, [[denseOf(get, 'pi/mean', 'linear')], [denseOf(get, 'pi/logStd', 'linear')]]);
}
