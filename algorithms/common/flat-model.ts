import type * as tf from '@tensorflow/tfjs';
import type { Weights } from '../../core/algorithm';
import type { InputScale } from '../../core/forward';
import type { ConvEncoder } from './conv';
import { FlatParams } from './flat-params';
import { networkInput } from './forward';

export { FlatParams };

/** A network whose parameters are one FlatParams, maybe behind conv layers: weights in and out, and disposal. */
export abstract class FlatModel {
  readonly params = new FlatParams();
  /** The conv layers over an image observation, when `model.conv` has any. */
  abstract readonly encoder: ConvEncoder | null;
  /** What the network does to observations before its first layer (`inputScale` of the observation space), or null. */
  abstract readonly inputScale: InputScale | null;

  /** Observations [B, obsSize] as the first layer reads them: float32, a uint8 Box's scaled to [0, 1] (`networkInput`). */
  input(obs: tf.Tensor): tf.Tensor {
    return networkInput(obs, this.inputScale);
  }

  getWeights(): Weights {
    return this.params.getWeights();
  }

  /** Checks every name and size. */
  setWeights(weights: Weights): void {
    this.params.setWeights(weights);
  }

  dispose(): void {
    this.params.dispose();
    this.encoder?.dispose();
  }
}
