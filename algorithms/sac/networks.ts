import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, PolicySpec, TensorShape } from '../../core/algorithm';
import { ConfigError } from '../../core/errors';
import { inputScale, type InputScale } from '../../core/forward';
import { Rng } from '../../core/rng';
import { squashedGaussian } from '../common/distributions';
import { FlatModel } from '../common/flat-model';
import { Dense, Mlp } from '../common/mlp';

type Tensors = Record<string, tf.Tensor>;
type Spaces = Pick<PolicySpec, 'observationSpace' | 'actionSpace'>;

/**
 * The sizes SAC's networks read and write, once the spaces are checked: a vector observation
 * (SAC here has no conv encoder) and a bounded Box action (tanh squashes into its bounds).
 */
export function sacSizes(spaces: Spaces, model: ModelConfig): { obsSize: number; actionSize: number; inputScale: InputScale | null } {
  const { observationSpace: obs, actionSpace: act } = spaces;
  if (act.type !== 'Box') throw new ConfigError(`algorithm: sac needs a Box action space; this env's actions are Discrete(${act.n}) (use dqn or ppo)`);
  if (![...act.low, ...act.high].every(Number.isFinite)) {
    throw new ConfigError(`algorithm: sac squashes actions into the Box's bounds, which must be finite; this env's are [${act.low}] to [${act.high}] (use ppo)`);
  }
  if (obs.type !== 'Box') throw new ConfigError(`algorithm: sac needs a Box observation space; this env's is Discrete(${obs.n})`);
  if (model.conv && model.conv.length > 0) throw new ConfigError(`model.conv: sac reads vector observations through its MLPs only; remove model.conv (${model.conv.length} layers)`);
  return { obsSize: obs.shape.reduce((a, b) => a * b, 1), actionSize: act.shape.reduce((a, b) => a * b, 1), inputScale: inputScale(obs) };
}

/**
 * SAC's actor: an MLP body (`pi/<i>`), then two heads, the Gaussian's mean (`pi/mean`) and its
 * raw log-std (`pi/logStd`), both per state; the action is tanh of a sample
 * (`squashedGaussian`). Small head weights start every state near mean 0 and log-std
 * `initLogStd`. Only this network reaches the workers.
 */
export class SquashedGaussianActor extends FlatModel {
  readonly obsSize: number;
  readonly actionSize: number;
  readonly encoder = null;
  readonly inputScale: InputScale | null;
  private readonly body: Mlp;
  private readonly mean: Dense;
  private readonly logStd: Dense;

  constructor(spaces: Spaces, model: ModelConfig, seed: number, initLogStd: number) {
    super();
    const sizes = sacSizes(spaces, model);
    ({ obsSize: this.obsSize, actionSize: this.actionSize, inputScale: this.inputScale } = sizes);
    const rng = new Rng(seed);
    const p = this.params;
    this.body = new Mlp(p, 'pi', this.obsSize, model.hiddenSizes, model.activation, rng);
    this.mean = new Dense(p, 'pi/mean', this.body.outputSize, this.actionSize, 0.01, rng);
    this.logStd = new Dense(p, 'pi/logStd', this.body.outputSize, this.actionSize, 0.01, rng, new Float32Array(this.actionSize).fill(squashedGaussian.rawOf(initLogStd)));
  }

  /** The tensors of the actor of `spec` (nothing is built). */
  static shapesOf(spec: PolicySpec): TensorShape[] {
    const net = new SquashedGaussianActor(spec, spec.model, 0, 0);
    try {
      return net.params.shapes();
    } finally {
      net.dispose();
    }
  }

  /**
   * The mean and the bounded log-std [B, actionSize] of observations `obs` [B, obsSize], with
   * parameters `p`; `inference`: no gradient needed, so fewer (fused) kernels.
   */
  forward(p: Tensors, obs: tf.Tensor, inference = false): { mean: tf.Tensor; logStd: tf.Tensor } {
    const x = this.input(obs);
    const h = inference ? this.body.infer(p, x) : this.body.apply(p, x);
    const head = (d: Dense) => (inference ? d.infer(p, h, 'linear') : d.apply(p, h));
    return { mean: head(this.mean), logStd: squashedGaussian.logStd(head(this.logStd)) };
  }

  /** A reparameterised action in (-1, 1) [B, actionSize] and its log-probability [B], for the noise `noise` [B, actionSize]. */
  sample(p: Tensors, obs: tf.Tensor, noise: tf.Tensor, inference = false): { action: tf.Tensor; logProb: tf.Tensor } {
    const { mean, logStd } = this.forward(p, obs, inference);
    return squashedGaussian.rsample(mean, logStd, noise);
  }
}

/**
 * SAC's two Q-networks (`q1/...`, `q2/...`), each an MLP over the observation and the squashed
 * action in (-1, 1) side by side, in one FlatParams: one optimizer and one Polyak step for
 * both. The learner's alone: workers never see them.
 */
export class TwinCritic extends FlatModel {
  readonly encoder = null;
  readonly inputScale: InputScale | null;
  private readonly towers: { body: Mlp; out: Dense }[];

  constructor(spaces: Spaces, model: ModelConfig, seed: number) {
    super();
    const { obsSize, actionSize, inputScale: scale } = sacSizes(spaces, model);
    this.inputScale = scale;
    const rng = new Rng(seed);
    this.towers = ['q1', 'q2'].map((name) => {
      const body = new Mlp(this.params, name, obsSize + actionSize, model.hiddenSizes, model.activation, rng);
      return { body, out: new Dense(this.params, `${name}/out`, body.outputSize, 1, 1, rng) };
    });
  }

  /**
   * Q1 and Q2 [B] of observations `obs` [B, obsSize] and squashed actions `action` [B,
   * actionSize], with parameters `p`. `use`: `train` for the critic's own loss; `frozen`, the
   * gradient reaches the action alone (the actor's loss), none is computed for the critic's
   * weights; `infer`, no gradient at all (the targets), in fewer kernels.
   */
  forward(p: Tensors, obs: tf.Tensor, action: tf.Tensor, use: 'train' | 'frozen' | 'infer' = 'train'): [tf.Tensor, tf.Tensor] {
    const x = tf.concat([this.input(obs), action], 1);
    const q = ({ body, out }: { body: Mlp; out: Dense }) => {
      if (use === 'infer') return out.infer(p, body.infer(p, x), 'linear');
      return use === 'frozen' ? out.applyFrozen(p, body.applyFrozen(p, x)) : out.apply(p, body.apply(p, x));
    };
    const [q1, q2] = this.towers.map((t) => tf.reshape(q(t), [-1]));
    return [q1, q2];
  }
}
