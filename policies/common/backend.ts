/**
 * TensorFlow.js backend selection. Preference: tfjs-node-gpu → tfjs-node → wasm (SIMD) → cpu; `--backend NAME`
 * overrides. Optional packages may be absent, so they are imported dynamically. tfjs silently falls back to `cpu`
 * when a backend fails to initialise, so `initBackend` asserts that the backend running is the one it asked for.
 * Every training log, run config and benchmark records `backendName()`.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
/** User-facing names accepted by --backend. `node` and `node-gpu` both register tfjs's 'tensorflow' backend. */
export const BACKEND_CHOICES = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

let chosen: string | null = null;
let pending: Promise<string> | null = null;

async function tryImport(pkg: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ pkg);
    return true;
  } catch {
    return false;
  }
}

async function setupWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  // In Node the wasm binaries are read from the file system: point setWasmPaths at the package's dist folder.
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(dist + path.sep);
  void pathToFileURL;
}

async function activate(name: 'node-gpu' | 'node' | 'wasm' | 'cpu'): Promise<string> {
  let want: string;
  if (name === 'node-gpu' || name === 'node') {
    const ok = await tryImport(name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
    if (!ok) throw new Error(`backend ${name}: package @tensorflow/tfjs-${name} is not installed`);
    want = 'tensorflow';
  } else if (name === 'wasm') {
    await setupWasm();
    want = 'wasm';
  } else {
    want = 'cpu';
  }
  let ok = false;
  try {
    ok = await tf.setBackend(want);
    await tf.ready();
  } catch (e) {
    throw new Error(`backend ${name} failed to initialise: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!ok || tf.getBackend() !== want) throw new Error(`backend ${name} failed to initialise (running: ${tf.getBackend()})`);
  return want;
}

/**
 * Initialise the backend once per process (idempotent; a second call with a different explicit name switches).
 * Returns the running backend's tfjs name ('tensorflow', 'wasm', 'cpu').
 */
export async function initBackend(name: BackendChoice | string = process.env.STRIDE_BACKEND ?? 'auto'): Promise<string> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(name)) throw new Error(`unknown backend '${name}' (choose one of ${BACKEND_CHOICES.join(', ')})`);
  if (chosen && (name === 'auto' || tfName(name) === chosen)) return chosen;
  if (pending && name === 'auto') return pending;
  const run = async (): Promise<string> => {
    tf.env().set('PROD', true);
    if (name !== 'auto') return activate(name as 'node-gpu' | 'node' | 'wasm' | 'cpu');
    for (const n of ['node-gpu', 'node', 'wasm', 'cpu'] as const) {
      try { return await activate(n); } catch { /* next */ }
    }
    throw new Error('no TensorFlow.js backend could be initialised');
  };
  pending = run();
  try {
    chosen = await pending;
  } finally {
    pending = null;
  }
  return chosen;
}

function tfName(choice: string): string {
  return choice === 'node' || choice === 'node-gpu' ? 'tensorflow' : choice;
}

/** The backend that is running (after initBackend); throws if none was initialised through this module. */
export function backendName(): string {
  if (!chosen) throw new Error('backendName(): initBackend() has not been called');
  if (tf.getBackend() !== chosen) throw new Error(`backend changed behind our back: expected ${chosen}, running ${tf.getBackend()}`);
  return chosen;
}
