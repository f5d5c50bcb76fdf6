import type { Weights } from '../../core/algorithm';
import type { ConvEncoder } from './conv';
import { FlatParams } from './flat-params';

export { FlatParams };

/** A network whose parameters are one FlatParams, maybe behind conv layers: weights in and out, and disposal. */
export abstract class FlatModel {
  readonly params = new FlatParams();
  /** The conv layers over an image observation, when `model.conv` has any. */
  abstract readonly encoder: ConvEncoder | null;

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
