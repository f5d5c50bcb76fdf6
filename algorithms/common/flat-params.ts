import * as tf from '@tensorflow/tfjs';
import type { TensorShape, Weights } from '../../core/algorithm';

/**
 * All of a model's parameters in one flat variable, cut into named tensors by `unpack()`.
 *
 * One variable instead of two per layer makes Adam and global-norm clipping a handful of
 * tfjs ops instead of ~16 per tensor; at ~25 us of dispatch per op on wasm, that halves a
 * PPO minibatch step. `split`'s gradient is a single concat.
 *
 * The variable is built when first needed. If `setWeights` comes first (a resumed run, a
 * worker's or evaluation's policy), the initial values are never computed: an orthogonal
 * init of a [1536, 1536] layer takes ~25 s.
 */
export class FlatParams {
  private readonly entries: { name: string; shape: number[]; offset: number; size: number }[] = [];
  private readonly initial: (Float32Array | (() => Float32Array))[] = [];
  private size = 0;
  private theta: tf.Variable | undefined;

  /**
   * Registers a tensor with its initial values, or a function that computes them; returns its
   * name. Only before the variable is built. The functions run in the order they were added,
   * when the variable is built without `setWeights`: a seeded generator they share draws the
   * same numbers as if each had run at its `add`, provided nothing else draws from it meanwhile.
   */
  add(name: string, shape: number[], values: Float32Array | (() => Float32Array)): string {
    if (this.theta) throw new Error('FlatParams: add() after the variable was built');
    const size = shape.reduce((a, b) => a * b, 1);
    this.entries.push({ name, shape, offset: this.size, size });
    this.initial.push(values);
    this.size += size;
    return name;
  }

  /** Every registered tensor's name and shape, in order (nothing is built). */
  shapes(): TensorShape[] {
    return this.entries.map((e) => ({ name: e.name, shape: [...e.shape] }));
  }

  get variable(): tf.Variable {
    if (!this.theta) {
      const flat = new Float32Array(this.size);
      this.entries.forEach((e, i) => {
        const init = this.initial[i];
        flat.set(typeof init === 'function' ? init() : init, e.offset);
      });
      this.build(flat);
    }
    return this.theta!;
  }

  /** The named tensors, as views of the variable that gradients flow through. */
  unpack(): Record<string, tf.Tensor> {
    // tfjs' split into one part passes no gradient (its gradient concatenates none): one entry is the variable itself.
    const parts = this.entries.length === 1 ? [this.variable] : tf.split(this.variable, this.entries.map((e) => e.size));
    return Object.fromEntries(this.entries.map((e, i) => [e.name, tf.reshape(parts[i], e.shape)]));
  }

  /** Named tensors (one per `add`, any shape of the right size) laid end to end as one flat tensor, e.g. a gradient. */
  pack(parts: Record<string, tf.Tensor>): tf.Tensor1D {
    return tf.concat(this.entries.map((e) => (parts[e.name].rank === 1 ? parts[e.name] : tf.reshape(parts[e.name], [e.size])))) as tf.Tensor1D;
  }

  getWeights(): Weights {
    const flat = this.variable.dataSync() as Float32Array;
    return this.entries.map((e) => ({ name: e.name, shape: [...e.shape], data: flat.slice(e.offset, e.offset + e.size) }));
  }

  setWeights(weights: Weights): void {
    const byName = new Map(weights.map((w) => [w.name, w]));
    const flat = new Float32Array(this.size);
    for (const e of this.entries) {
      const w = byName.get(e.name);
      if (!w) throw new RangeError(`weights: ${e.name} is missing`);
      if (w.data.length !== e.size) throw new RangeError(`weights: ${e.name} has ${w.data.length} values, the model needs ${e.size} ([${e.shape}])`);
      flat.set(w.data, e.offset);
    }
    if (this.theta) tf.tidy(() => this.theta!.assign(tf.tensor1d(flat)));
    else this.build(flat);
  }

  dispose(): void {
    this.theta?.dispose();
  }

  private build(flat: Float32Array): void {
    const initial = tf.tensor1d(flat);
    this.theta = tf.variable(initial);
    initial.dispose();
    this.initial.length = 0; // the values (and the generator the functions hold) are not needed again
  }
}

/**
 * A target network's step toward its online one, on their flat variables (the same layout):
 * target <- tau * online + (1 - tau) * target (Polyak averaging); tau 1 copies, into memory of
 * the target's own: a target that shared the online variable's memory would stop the fused Adam
 * step (which steps in place only memory no other tensor holds) for the online network's next
 * update, whose last bits would then differ from a resumed run's.
 */
export function softUpdate(target: FlatParams, online: FlatParams, tau: number): void {
  const source = online.variable;
  tf.tidy(() => target.variable.assign(tau === 1 ? tf.add(source, 0) : tf.add(tf.mul(source, tau), tf.mul(target.variable, 1 - tau))));
}
