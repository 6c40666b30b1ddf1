/**
 * A policy's networks as one real TensorFlow.js LayersModel — what a checkpoint's `model.json` + `weights.bin` are, so
 * `tf.loadLayersModel(url)` loads them in a browser or in Node with plain @tensorflow/tfjs.
 *
 * Every network of the policy is an `Mlp` (nn.ts); each becomes a branch of one functional model, in standard Keras
 * layers only:
 * - inputs `<net>.x` (the network's input vector) and, for FiLM networks, `<net>.cond` (the conditioning vector);
 *   output `<net>.out`. Layer `<net>.l<i>` is Stride's parameter pair `<net>/l<i>/{W,b}` (Dense: kernel = W, bias = b);
 *   a residual block `<net>/b<i>/{W1,b1,W2,b2}` is Dense `<net>.b<i>.1` → Dense `<net>.b<i>.2` → Add.
 * - FiLM h·(1+γ) + β with [γ, β] = c·W + b: Dense `<net>.film<i>` (2h units) → Reshape [2, h, 1] → Cropping2D keeps row
 *   0 (γ) or row 1 (β) → Flatten → Add(h, Multiply(h, γ), β). (There is no "split" layer; this is the standard-layer way.)
 * - activations relu / tanh / linear as themselves, silu as `swish` (x·sigmoid(x), TF.js's name for it).
 * - a parameter outside every network (PPO's state-independent `pi/logStd`) becomes a Dense `<param with / → .>` with a
 *   zero kernel over its policy's first input, bias = the values: an output that is that constant for any input.
 *
 * What stays outside the model (no standard layer computes it; see policies/README.md "Running a checkpoint in a
 * browser"): the observation/action normalisers (manifest.json), building the input vectors (observation window,
 * the sinusoidal embedding of the noise level — TF.js layers have no sin/cos — goal masking), and the samplers'
 * loops (DDIM / EDM steps with classifier-free guidance).
 *
 * `userDefinedMetadata.stride` in model.json maps each layer weight back to Stride's parameter name; Stride's own
 * loader (train/checkpoint.ts) uses that map, so the same files serve both.
 */
import * as tf from '@tensorflow/tfjs';
import type { Mlp } from './nn.ts';

/** Format of the Stride metadata inside model.json. */
export const LAYERS_MODEL_STRIDE_FORMAT = 2;

export interface StrideLayersMeta {
  format: 'stride-policy';
  formatVersion: number;
  method: string;
  config: Record<string, unknown>;
  /** Layer weight name (as in weightsManifest) → Stride parameter name; null for zero kernels of constant outputs. */
  params: Record<string, string | null>;
  /** Per network: its input and output names and widths. */
  networks: { name: string; inputs: { name: string; width: number }[]; output: { name: string; width: number }; activation: string }[];
  /** Constant outputs (parameters outside the networks), name → width. */
  constants: { name: string; param: string; width: number }[];
}

export interface LayersModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string | null;
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[];
  userDefinedMetadata: { stride: StrideLayersMeta };
}

/** Layer name of a Stride parameter prefix: '/' → '.'. */
const lname = (prefix: string): string => prefix.replaceAll('/', '.');

type Sym = tf.SymbolicTensor;

/** Build the functional graph of one Mlp; records layer weight → parameter names in `map`. */
function mlpGraph(net: Mlp, x: Sym, cond: Sym | null, map: Record<string, string | null>, pending: Map<tf.layers.Layer, string[]>): Sym {
  const { hidden, act, condDim, residual, outDim } = net.cfg;
  const p = net.prefix, P = lname(p);
  const activation = act === 'silu' ? 'swish' : act;
  const dense = (name: string, units: number, a: string, params: [string, string]) => {
    const layer = tf.layers.dense({ units, activation: a as 'relu', name, kernelInitializer: 'zeros' });
    map[`${name}/kernel`] = params[0]; map[`${name}/bias`] = params[1];
    pending.set(layer, params);
    return layer;
  };
  const film = (h: Sym, i: number, w: number): Sym => {
    const gb = dense(`${P}.film${i}`, 2 * w, 'linear', [`${p}/film${i}/W`, `${p}/film${i}/b`]).apply(cond!) as Sym;
    const r = tf.layers.reshape({ targetShape: [2, w, 1], name: `${P}.film${i}.reshape` }).apply(gb) as Sym;
    const crop = (rows: [number, number], part: string) => tf.layers.flatten({ name: `${P}.film${i}.${part}` }).apply(
      tf.layers.cropping2D({ cropping: [rows, [0, 0]], name: `${P}.film${i}.crop_${part}` }).apply(r) as Sym) as Sym;
    const gamma = crop([0, 1], 'gamma'), beta = crop([1, 0], 'beta');
    const hg = tf.layers.multiply({ name: `${P}.film${i}.mul` }).apply([h, gamma]) as Sym;
    return tf.layers.add({ name: `${P}.film${i}.add` }).apply([h, hg, beta]) as Sym;
  };
  let h = x;
  for (let i = 0; i < hidden.length; i++) {
    const w = hidden[i]!;
    if (residual && i > 0) {
      const u = condDim > 0 ? film(h, i, w) : h;
      const a = dense(`${P}.b${i}.1`, w, activation, [`${p}/b${i}/W1`, `${p}/b${i}/b1`]).apply(u) as Sym;
      const d = dense(`${P}.b${i}.2`, w, 'linear', [`${p}/b${i}/W2`, `${p}/b${i}/b2`]).apply(a) as Sym;
      h = tf.layers.add({ name: `${P}.b${i}.add` }).apply([h, d]) as Sym;
    } else {
      h = dense(`${P}.l${i}`, w, activation, [`${p}/l${i}/W`, `${p}/l${i}/b`]).apply(h) as Sym;
      if (condDim > 0) h = film(h, i, w);
    }
  }
  return dense(`${P}.out`, outDim, 'linear', [`${p}/out/W`, `${p}/out/b`]).apply(h) as Sym;
}

/**
 * Build the LayersModel of `networks` with the given inference weights (Stride parameter name → data), serialise it,
 * and free it. Returns model.json (weights path `weightsFile`) and the weights' bytes.
 */
export async function exportLayersModel(
  networks: readonly Mlp[],
  arrays: Record<string, Float32Array>,
  info: { method: string; config: Record<string, unknown> },
  weightsFile = 'weights.bin',
): Promise<{ modelJson: LayersModelJson; weightData: Uint8Array }> {
  if (networks.length === 0) throw new Error(`${info.method}: no networks to export`);
  const map: Record<string, string | null> = {};
  const pending = new Map<tf.layers.Layer, string[]>();
  const inputs: Sym[] = [], outputs: Sym[] = [];
  const xOf = new Map<Mlp, Sym>();
  const meta: StrideLayersMeta = {
    format: 'stride-policy', formatVersion: LAYERS_MODEL_STRIDE_FORMAT, method: info.method, config: info.config, params: map, networks: [], constants: [],
  };
  for (const net of networks) {
    const P = lname(net.prefix);
    const x = tf.input({ shape: [net.cfg.inDim], name: `${P}.x` });
    const cond = net.cfg.condDim > 0 ? tf.input({ shape: [net.cfg.condDim], name: `${P}.cond` }) : null;
    inputs.push(x);
    xOf.set(net, x);
    if (cond) inputs.push(cond);
    outputs.push(mlpGraph(net, x, cond, map, pending));
    meta.networks.push({
      name: P, inputs: [{ name: `${P}.x`, width: net.cfg.inDim }, ...(cond ? [{ name: `${P}.cond`, width: net.cfg.condDim }] : [])],
      output: { name: `${P}.out`, width: net.cfg.outDim }, activation: net.cfg.act,
    });
  }
  const covered = new Set(Object.values(map));
  for (const name of Object.keys(arrays).sort()) {
    if (covered.has(name)) continue;
    const owner = networks.find((n) => name.startsWith(`${n.prefix}/`)) ?? networks[0]!;
    if (arrays[name]!.length === 0) throw new Error(`${info.method}: parameter ${name} is empty`);
    const layer = tf.layers.dense({ units: arrays[name]!.length, name: lname(name), kernelInitializer: 'zeros' });
    map[`${lname(name)}/kernel`] = null; map[`${lname(name)}/bias`] = name;
    pending.set(layer, ['', name]);
    outputs.push(layer.apply(xOf.get(owner)!) as Sym);
    meta.constants.push({ name: lname(name), param: name, width: arrays[name]!.length });
  }
  const model = tf.model({ inputs, outputs, name: `stride_${info.method}` });
  try {
    for (const [layer, [wName, bName]] of pending) {
      const [k, b] = layer.getWeights();
      const kernel = wName ? arrays[wName] : new Float32Array(k!.size);
      const bias = arrays[bName!];
      if (!kernel || !bias) throw new Error(`${info.method}: no weights for layer ${layer.name} (${wName}, ${bName})`);
      if (kernel.length !== k!.size || bias.length !== b!.size) throw new Error(`${info.method}: layer ${layer.name} expects ${k!.shape}/${b!.shape}, weights have ${kernel.length}/${bias.length} values`);
      const kt = tf.tensor(kernel, k!.shape), bt = tf.tensor(bias, b!.shape);
      layer.setWeights([kt, bt]);
      kt.dispose(); bt.dispose();
    }
    let art: tf.io.ModelArtifacts | null = null;
    await model.save(tf.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
    const a = art as unknown as tf.io.ModelArtifacts;
    const wd = a.weightData!;
    const parts = Array.isArray(wd) ? wd : [wd];
    const weightData = new Uint8Array(parts.reduce((n, b) => n + b.byteLength, 0));
    let off = 0;
    for (const b of parts) { weightData.set(new Uint8Array(b), off); off += b.byteLength; }
    const specs = a.weightSpecs!;
    for (const s of specs) if (!(s.name in map)) throw new Error(`${info.method}: layer weight ${s.name} has no Stride parameter`);
    return {
      modelJson: {
        format: 'layers-model', generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`, convertedBy: null,
        modelTopology: a.modelTopology, weightsManifest: [{ paths: [weightsFile], weights: specs as LayersModelJson['weightsManifest'][0]['weights'] }],
        userDefinedMetadata: { stride: meta },
      },
      weightData,
    };
  } finally {
    model.dispose();
  }
}
