/**
 * TensorFlow.js weights files: `tf.io.encodeWeights` → one `.bin` + a weights manifest, the layout
 * `tf.io.loadWeights(manifest, baseUrl)` reads in a browser with plain @tensorflow/tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';

export interface WeightSpec { name: string; shape: number[]; dtype: 'float32' }
export interface WeightsManifestEntry { paths: string[]; weights: WeightSpec[] }

/** Encode name → Float32Array with shapes into a tfjs weight buffer + specs. */
export async function encodeWeights(arrays: Record<string, Float32Array>, shapes: Record<string, number[]>): Promise<{ data: Uint8Array; specs: WeightSpec[] }> {
  const named: tf.NamedTensorMap = {};
  for (const [n, a] of Object.entries(arrays)) named[n] = tf.tensor(a, shapes[n]);
  try {
    const { data, specs } = await tf.io.encodeWeights(named);
    return { data: new Uint8Array(data as ArrayBuffer), specs: specs as WeightSpec[] };
  } finally {
    for (const t of Object.values(named)) t.dispose();
  }
}

/** Decode a weight buffer (checks its size against the specs). */
export function decodeWeights(bin: Uint8Array, specs: WeightSpec[], file: string): Record<string, Float32Array> {
  let need = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new Error(`${file}: unsupported weight dtype ${s.dtype} for '${s.name}'`);
    need += 4 * s.shape.reduce((a, b) => a * b, 1);
  }
  if (bin.byteLength !== need) throw new Error(`${file}: truncated or corrupt weights (${bin.byteLength} bytes, expected ${need})`);
  const out: Record<string, Float32Array> = {};
  let off = 0;
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    out[s.name] = new Float32Array(buf, off, n).slice();
    off += 4 * n;
  }
  for (const [n, a] of Object.entries(out)) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new Error(`${file}: weight '${n}' has a non-finite value`);
  }
  return out;
}

export function readBin(file: string): Uint8Array {
  try { return new Uint8Array(readFileSync(file)); } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function readJsonFile<T>(file: string, what = 'file'): T {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    throw new Error(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try { return JSON.parse(text) as T; } catch (e) {
    throw new Error(`corrupt ${what} ${file}: invalid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}
