/**
 * Plain-JavaScript forward pass of an `Mlp` over a snapshot of its weights. For batch-1 inference (a robot control
 * loop, `stride bench infer`) the per-op dispatch overhead of TensorFlow.js dominates; plain loops over Float32Arrays
 * avoid it. Numerically equal to `Mlp.apply` up to float32 summation order.
 */
import type { Activation } from './dense.ts';
import type { Mlp } from './nn.ts';

interface Layer { W: Float32Array; b: Float32Array; nIn: number; nOut: number }

function act(x: Float32Array, a: Activation): void {
  switch (a) {
    case 'linear': return;
    case 'relu': for (let i = 0; i < x.length; i++) if (x[i]! < 0) x[i] = 0; return;
    case 'tanh': for (let i = 0; i < x.length; i++) x[i] = Math.tanh(x[i]!); return;
    case 'silu': for (let i = 0; i < x.length; i++) { const v = x[i]!; x[i] = v / (1 + Math.exp(-v)); } return;
  }
}

/** y[r, :] = b + x[r, :]·W for `rows` rows; W is row-major [nIn, nOut]. */
export function denseJs(x: Float32Array, rows: number, L: Layer, out = new Float32Array(rows * L.nOut)): Float32Array {
  const { W, b, nIn, nOut } = L;
  for (let r = 0; r < rows; r++) {
    const o = r * nOut;
    out.set(b, o);
    for (let i = 0; i < nIn; i++) {
      const xi = x[r * nIn + i]!;
      if (xi === 0) continue;
      const w0 = i * nOut;
      for (let j = 0; j < nOut; j++) out[o + j]! += xi * W[w0 + j]!;
    }
  }
  return out;
}

export class JsMlp {
  private layers = new Map<string, Layer>();

  constructor(readonly mlp: Mlp, weights: Record<string, Float32Array>) {
    const p = mlp.prefix;
    for (const name of mlp.params.names) {
      if (!name.startsWith(`${p}/`) || !name.endsWith('/W')) continue;
      const base = name.slice(p.length + 1, -2);
      const shape = mlp.params.get(name).shape;
      const bName = `${p}/${base}/b`;
      this.layers.set(base, { W: weights[name]!, b: weights[bName]!, nIn: shape[0]!, nOut: shape[1]! });
    }
    // residual blocks store W1/b1, W2/b2
    for (const name of mlp.params.names) {
      const m = name.match(new RegExp(`^${p}/(b\\d+)/W([12])$`));
      if (!m) continue;
      const shape = mlp.params.get(name).shape;
      this.layers.set(`${m[1]}/${m[2]}`, { W: weights[name]!, b: weights[`${p}/${m[1]}/b${m[2]}`]!, nIn: shape[0]!, nOut: shape[1]! });
    }
  }

  apply(x: Float32Array, rows: number, cond?: Float32Array): Float32Array {
    const r = this.applyTapped(x, rows, cond);
    if (!r.out) throw new Error(`${this.mlp.prefix}: an MLP without output layer has no apply(); use applyTapped`);
    return r.out;
  }

  /** `Mlp.applyTapped` in plain JS: block states h_l (after the optional additive `inject[l]`) and the head's output. */
  applyTapped(x: Float32Array, rows: number, cond?: Float32Array, inject?: readonly (Float32Array | null | undefined)[]): { out: Float32Array | null; hidden: Float32Array[] } {
    const { hidden, act: a, condDim, residual } = this.mlp.cfg;
    const states: Float32Array[] = [];
    let h = x;
    for (let i = 0; i < hidden.length; i++) {
      const width = hidden[i]!;
      if (residual && i > 0) {
        let u = h;
        if (condDim > 0) u = this.film(h, rows, cond!, i, width);
        const t = denseJs(u, rows, this.layers.get(`b${i}/1`)!);
        act(t, a);
        const d = denseJs(t, rows, this.layers.get(`b${i}/2`)!);
        const nh = new Float32Array(h.length);
        for (let k = 0; k < h.length; k++) nh[k] = h[k]! + d[k]!;
        h = nh;
      } else {
        h = denseJs(h, rows, this.layers.get(`l${i}`)!);
        act(h, a);
        if (condDim > 0) h = this.film(h, rows, cond!, i, width);
      }
      const add = inject?.[i];
      if (add) { const nh = new Float32Array(h.length); for (let k = 0; k < h.length; k++) nh[k] = h[k]! + add[k]!; h = nh; }
      states.push(h);
    }
    const out = this.layers.get('out');
    return { out: out ? denseJs(h, rows, out) : null, hidden: states };
  }

  private film(h: Float32Array, rows: number, cond: Float32Array, i: number, width: number): Float32Array {
    const gb = denseJs(cond, rows, this.layers.get(`film${i}`)!);
    const out = new Float32Array(h.length);
    for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) {
      out[r * width + j] = h[r * width + j]! * (1 + gb[r * 2 * width + j]!) + gb[r * 2 * width + width + j]!;
    }
    return out;
  }
}
