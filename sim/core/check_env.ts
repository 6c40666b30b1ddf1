/**
 * checkEnv: the contract every scene must pass (Gymnasium's env checker, plus determinism).
 * - reset/step observations match the declared features, no NaN/inf;
 * - reward is finite, metrics carry 'success' and 'reward/<term>';
 * - same seed ⇒ identical snapshot hash after the same actions;
 * - restore then replay ⇒ identical hash;
 * - wrong-length and non-finite actions are rejected with an error.
 */
import { Rng } from '../math/rng.ts';
import { ACTION, featureSize, validateObservation } from './features.ts';
import type { SceneEnv } from './scene_env.ts';

export interface CheckEnvOptions { seed?: number; steps?: number }

export function checkEnv(makeEnv: () => SceneEnv, opts: CheckEnvOptions = {}): { steps: number; finalHash: string } {
  const seed = opts.seed ?? 7;
  const steps = opts.steps ?? 20;
  const actionDim = featureSize(firstEnvAction(makeEnv));
  const actions = randomActions(actionDim, steps, seed);

  const a = makeEnv();
  const b = makeEnv();
  try {
    a.validate = true;
    b.validate = true;
    const { obs } = a.reset({ seed });
    validateObservation(a.observationFeatures, obs, `${a.id} reset`);
    const h0 = a.stateHash();
    b.reset({ seed });
    if (b.stateHash() !== h0) throw new Error(`${a.id}: same seed gave different initial states`);

    // Bad actions are rejected.
    expectThrow(() => a.step(new Float32Array(actionDim + 1)), `${a.id}: wrong-length action was accepted`);
    const nan = new Float32Array(actionDim); nan[0] = NaN;
    expectThrow(() => a.step(nan), `${a.id}: NaN action was accepted`);
    if (a.stateHash() !== h0) throw new Error(`${a.id}: a rejected action changed the state`);

    let mid: Uint8Array | null = null;
    let taken = 0;
    for (let t = 0; t < steps; t++) {
      if (t === Math.floor(steps / 2)) mid = a.snapshot();
      const r = a.step(actions[t]!);
      taken++;
      validateObservation(a.observationFeatures, r.obs, `${a.id} step ${t}`);
      if (!Number.isFinite(r.reward)) throw new Error(`${a.id}: non-finite reward at step ${t}`);
      if (!('success' in r.metrics)) throw new Error(`${a.id}: metrics lack 'success'`);
      if (r.terminated || r.truncated) break;
    }
    const finalHash = a.stateHash();
    // Same seed, same actions ⇒ same state.
    for (let t = 0; t < taken; t++) b.step(actions[t]!);
    if (b.stateHash() !== finalHash) throw new Error(`${a.id}: same seed and actions gave a different final state`);
    // Restore mid-episode and replay ⇒ same state.
    if (mid && taken > Math.floor(steps / 2)) {
      b.restore(mid);
      for (let t = Math.floor(steps / 2); t < taken; t++) b.step(actions[t]!);
      if (b.stateHash() !== finalHash) throw new Error(`${a.id}: restore + replay gave a different final state`);
    }
    const frame = a.renderFrame();
    if (frame.poses.length !== frame.ids.length * 7) throw new Error(`${a.id}: render frame poses do not match ids`);
    return { steps: taken, finalHash };
  } finally {
    a.dispose();
    b.dispose();
  }
}

function firstEnvAction(makeEnv: () => SceneEnv) {
  const e = makeEnv();
  try { return e.actionFeatures[ACTION]!; } finally { e.dispose(); }
}

function randomActions(dim: number, n: number, seed: number): Float32Array[] {
  const rng = new Rng(seed + 1);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => rng.uniform(-1, 1)));
}

function expectThrow(f: () => unknown, msg: string): void {
  let threw = false;
  try { f(); } catch { threw = true; }
  if (!threw) throw new Error(msg);
}
