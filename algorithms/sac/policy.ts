import type { ActInput, ActResult, PolicyParams, PolicySpec, SamplingPolicy, Weights } from '../../core/algorithm';
import type { Forward, ForwardEngine, ForwardNet } from '../../core/forward';
import { squashedGaussian } from '../common/distributions';
import { denseOf, forwardNet, forwardOn, weightLookup } from '../common/forward';
import type { SacConfig } from './config';
import { SquashedGaussianActor } from './networks';

/**
 * The scalar that tells the workers to act uniformly at random over the action Box (1) rather
 * than by the policy (0): SAC's warm-up until the buffer holds `learningStarts` transitions,
 * as SB3 and CleanRL fill theirs.
 */
export const UNIFORM_ACTIONS = 'uniformActions';

/** Keeps atanh finite: a uniform draw of +-1 would be an infinite pre-tanh action. */
const EDGE = 1 - 1e-6;

/**
 * The sampling side of SAC: one forward pass of the actor (on the engine the runtime offers
 * when it can, on tfjs otherwise) gives each env's mean and raw log-std; the action recorded
 * and handed to the stepper is u = mean + std * noise, before tanh (the stepper squashes and
 * scales it: `boxActions: 'squash'`), or the mean itself when deterministic (evaluation: the
 * greedy action tanh(mean), scaled). During warm-up, u = atanh(y) with y uniform in (-1, 1).
 */
export class SquashedGaussianPolicy implements SamplingPolicy {
  readonly engine: string;
  /** Why the engine offered was not used, or null. */
  readonly fallback: string | null;
  private readonly net: SquashedGaussianActor;
  private readonly forward: Forward;
  private uniform = false;

  constructor(
    private readonly spec: PolicySpec,
    engine?: ForwardEngine,
  ) {
    // Weights arrive with setParams; the seed only fills the variables until then.
    this.net = new SquashedGaussianActor(spec, spec.model, 0, (spec.config as SacConfig).initLogStd);
    const chosen = forwardOn(engine, actorNet(this.net.getWeights(), spec));
    this.forward = chosen.forward;
    this.engine = chosen.engine;
    this.fallback = chosen.why;
  }

  act({ obs, numEnvs, rng, deterministic }: ActInput): ActResult {
    const d = this.net.actionSize;
    const actions = new Float32Array(numEnvs * d);
    if (this.uniform && !deterministic) {
      for (let i = 0; i < actions.length; i++) actions[i] = Math.atanh(Math.min(EDGE, Math.max(-EDGE, rng.uniform(-1, 1))));
    } else {
      squashedGaussian.sample(this.forward.run(obs, numEnvs), d, rng, deterministic, actions);
    }
    return { actions, columns: {}, state: {} };
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
