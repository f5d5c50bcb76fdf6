import * as tf from '@tensorflow/tfjs';
import type { ConvPlan } from './conv';

/**
 * A conv layer's gradients as forward convolutions. tfjs' wasm backend registers Conv2D
 * (XNNPACK) but no Conv2DBackpropFilter, and its Conv2DBackpropInput is a plain loop; measured
 * on wasm (32 x Nature CNN layers, ms, forward / tfjs' dx / this dW):
 * 84x84x4 8x8/4: 10.5 / - / 10.8; 20x20x32 4x4/2: 7.3 / 115 / 20; 9x9x64 3x3/1: 5.2 / 54 / 6.7. Both are exact (the same sums, in another order).
 *
 * With the layer y[oy, ox] = sum_{ky, kx} x[oy s + ky - before, ox s + kx - before] W[ky, kx]
 * (channels summed too), and dz the gradient by its output before the bias:
 *
 * dW[ky, kx, c, f] = sum_{b, oy, ox} x[b, oy s + ky, ox s + kx, c] dz[b, oy, ox, f]: a conv of x
 *   with the batch as channels ([c, h, w, b]) by dz as the filter ([oh, ow, b, f]) dilated by s.
 * dx = stride-1 convs of dz by W turned 180 degrees, its in and out channels swapped, one per
 *   phase of the stride (convInputGrad).
 */

/** dLoss/dW [k, k, c, f] of a layer with input `x` [b, h, w, c], given `dz` [b, oh, ow, f]. */
export function convFilterGrad(x: tf.Tensor4D, dz: tf.Tensor4D, l: ConvPlan): tf.Tensor4D {
  const { kernel: k, stride: s } = l.layer;
  let xs = x;
  if (l.rows.before + l.rows.after + l.cols.before + l.cols.after > 0) {
    xs = tf.pad(x, [[0, 0], [l.rows.before, l.rows.after], [l.cols.before, l.cols.after], [0, 0]]);
  }
  const xt = tf.transpose(xs, [3, 1, 2, 0]) as tf.Tensor4D; // [c, h, w, b]
  const dt = tf.transpose(dz, [1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, b, f]
  let g = tf.conv2d(xt, dt, 1, 'valid', 'NHWC', s); // [c, >= k, >= k, f]
  if (g.shape[1] !== k || g.shape[2] !== k) g = tf.slice(g, [0, 0, 0, 0], [-1, k, k, -1]);
  return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * dLoss/dx [b, h, w, c] of a layer with filter `filter` [k, k, c, f], given `dz` [b, oh, ow, f].
 *
 * With stride s, an input row i (padded: i + before = q s + r) gets dz[q - t] W[r + s t] for
 * t < kr = ceil(k / s): for each phase r a stride-1 conv of dz by the taps W[r::s] turned. All
 * s x s phases go in one conv, as output channels (r_y, r_x, c), interleaved back into rows and
 * columns as DepthToSpace does; no arithmetic on zeros (spacing dz out with zeros would be s^2
 * times the work: 106 of 660 ms of a Nature CNN step, profiled).
 */
export function convInputGrad(dz: tf.Tensor4D, filter: tf.Tensor4D, l: ConvPlan): tf.Tensor4D {
  const { kernel: k, stride: s } = l.layer;
  const [b, oh, ow, f] = dz.shape;
  const [h, w, c] = l.input;
  const kr = Math.ceil(k / s);
  // The phase filters [kr, kr, f, s s c], picked from W in JS (wasm's GatherV2 took 2.5 ms for
  // the Nature CNN's 36,864 taps, this 0.17); 0 for a tap past the kernel.
  const taps = filter.dataSync();
  const index = phaseIndex(k, s, c, f);
  const picked = new Float32Array(index.length);
  for (let i = 0; i < index.length; i++) picked[i] = index[i] < 0 ? 0 : taps[index[i]];
  const turned = tf.tensor4d(picked, [kr, kr, f, s * s * c]);
  const padded = kr > 1 ? tf.pad(dz, [[0, 0], [kr - 1, kr - 1], [kr - 1, kr - 1], [0, 0]]) : dz;
  let dx = tf.conv2d(padded, turned, 1, 'valid'); // [b, oh + kr - 1, ow + kr - 1, s s c]
  if (s > 1) {
    // DepthToSpace by a 4-D transpose: wasm's DepthToSpace kernel took 34 ms on [32, 10, 10, 128], this 1.
    const [H, W] = [oh + kr - 1, ow + kr - 1];
    dx = tf.reshape(tf.transpose(tf.reshape(dx, [b * H, W, s, s * c]), [0, 2, 1, 3]), [b, H * s, W * s, c]); // padded input rows from 0
  }
  // Rows before .. before + h - 1 of the padded input; rows no window reached get 0.
  const [rows, cols] = [(oh + kr - 1) * s, (ow + kr - 1) * s];
  const keep = [Math.min(h, rows - l.rows.before), Math.min(w, cols - l.cols.before)];
  if (l.rows.before > 0 || l.cols.before > 0 || keep[0] !== rows || keep[1] !== cols) dx = tf.slice(dx, [0, l.rows.before, l.cols.before, 0], [b, keep[0], keep[1], c]);
  if (keep[0] < h || keep[1] < w) dx = tf.pad(dx, [[0, 0], [0, h - keep[0]], [0, w - keep[1]], [0, 0]]);
  return dx;
}

const phaseIndices = new Map<string, Int32Array>();

/** For the phase filter [u, v, f, (r_y, r_x, ch)] = W[r_y + s (kr - 1 - u), r_x + s (kr - 1 - v), ch, f]: its index in W flat, or -1 past the kernel. */
function phaseIndex(k: number, s: number, c: number, f: number): Int32Array {
  const key = `${k} ${s} ${c} ${f}`;
  const known = phaseIndices.get(key);
  if (known) return known;
  const kr = Math.ceil(k / s);
  const index = new Int32Array(kr * kr * f * s * s * c);
  let at = 0;
  for (let u = 0; u < kr; u++) {
    for (let v = 0; v < kr; v++) {
      for (let o = 0; o < f; o++) {
        for (let ry = 0; ry < s; ry++) {
          for (let rx = 0; rx < s; rx++) {
            const ky = ry + s * (kr - 1 - u);
            const kx = rx + s * (kr - 1 - v);
            for (let ch = 0; ch < c; ch++) index[at++] = ky < k && kx < k ? ((ky * k + kx) * c + ch) * f + o : -1;
          }
        }
      }
    }
  }
  phaseIndices.set(key, index);
  return index;
}
