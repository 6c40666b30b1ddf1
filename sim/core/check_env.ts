/**
 * checkEnv: the contract every scene must pass (Gymnasium's env checker, plus determinism).
 * - reset/step observations match the declared features, no NaN/inf;
 * - reward is finite, metrics carry 'success' and 'reward/<term>';
 * - same seed ⇒ identical snapshot hash after the same actions;
 * - restore mid-episode then replay ⇒ identical hash (always run: see checkEnv);
 * - wrong-length and non-finite actions are rejected with an error.
 */
import { Rng } from '../math/rng.ts';
import { ACTION, featureSize, validateObservation } from './features.ts';
import type { SceneEnv } from './scene_env.ts';

export interface CheckEnvOptions { seed?: number; steps?: number }

/** The promises checkEnv checks, by name; every one runs for every scene (or checkEnv fails saying which could not). */
export const ENV_CHECKS = [
  'reset-observation', 'same-seed-same-reset', 'rejects-wrong-length-action', 'rejects-nan-action', 'rejected-action-keeps-state',
  'step-observation', 'finite-reward', 'metrics-success', 'metrics-reward-terms', 'same-seed-same-actions-same-state',
  'restore-mid-episode-replays', 'render-frame',
] as const;
export type EnvCheck = (typeof ENV_CHECKS)[number];

export interface CheckEnvResult {
  steps: number;
  finalHash: string;
  /** The checks that ran, in order (all of ENV_CHECKS when checkEnv returns). */
  checks: EnvCheck[];
  /** Which actions kept the episode alive long enough for the mid-episode restore: 'random', else 'zero'. */
  actions: 'random' | 'zero';
}

/**
 * Run every check of ENV_CHECKS; a failure throws `<scene>: [<check>] <what>`. The episode is driven by seeded random
 * actions; when they end it before two steps (so no mid-episode state exists to restore), it is driven again by zero
 * actions, and if that also ends at once checkEnv fails loudly rather than skip the restore check.
 */
export function checkEnv(makeEnv: () => SceneEnv, opts: CheckEnvOptions = {}): CheckEnvResult {
  const seed = opts.seed ?? 7;
  const steps = Math.max(2, opts.steps ?? 20);
  const actionDim = featureSize(firstEnvAction(makeEnv));
  const checks: EnvCheck[] = [];
  const a = makeEnv();
  const b = makeEnv();
  const fail = (check: EnvCheck, what: string): never => { throw new Error(`${a.id}: [${check}] ${what}`); };
  const pass = (check: EnvCheck) => { if (!checks.includes(check)) checks.push(check); };
  try {
    a.validate = true;
    b.validate = true;
    const { obs } = a.reset({ seed });
    try { validateObservation(a.observationFeatures, obs, `${a.id} reset`); } catch (e) { fail('reset-observation', (e as Error).message); }
    pass('reset-observation');
    const h0 = a.stateHash();
    b.reset({ seed });
    if (b.stateHash() !== h0) fail('same-seed-same-reset', 'same seed gave different initial states');
    pass('same-seed-same-reset');

    // Bad actions are rejected.
    if (!threw(() => a.step(new Float32Array(actionDim + 1)))) fail('rejects-wrong-length-action', 'a wrong-length action was accepted');
    pass('rejects-wrong-length-action');
    const nan = new Float32Array(actionDim); nan[0] = NaN;
    if (!threw(() => a.step(nan))) fail('rejects-nan-action', 'a NaN action was accepted');
    pass('rejects-nan-action');
    if (a.stateHash() !== h0) fail('rejected-action-keeps-state', 'a rejected action changed the state');
    pass('rejected-action-keeps-state');

    const scales = Object.keys((a.config as { reward?: { scales?: Record<string, number> } }).reward?.scales ?? {});
    const drive = (actions: Float32Array[]): { taken: number; snaps: Uint8Array[] } => {
      a.reset({ seed });
      const snaps: Uint8Array[] = [];
      let taken = 0;
      for (let t = 0; t < steps; t++) {
        snaps.push(a.snapshot());
        const r = a.step(actions[t]!);
        taken++;
        try { validateObservation(a.observationFeatures, r.obs, `${a.id} step ${t}`); } catch (e) { fail('step-observation', (e as Error).message); }
        pass('step-observation');
        if (!Number.isFinite(r.reward)) fail('finite-reward', `non-finite reward at step ${t}`);
        pass('finite-reward');
        if (!('success' in r.metrics)) fail('metrics-success', `metrics lack 'success' at step ${t}`);
        pass('metrics-success');
        const missing = scales.filter((k) => !(`reward/${k}` in r.metrics));
        if (missing.length) fail('metrics-reward-terms', `metrics lack ${missing.map((k) => `'reward/${k}'`).join(', ')} at step ${t}`);
        pass('metrics-reward-terms');
        if (r.terminated || r.truncated) break;
      }
      return { taken, snaps };
    };
    let used: CheckEnvResult['actions'] = 'random';
    let actions = randomActions(actionDim, steps, seed);
    let run = drive(actions);
    if (run.taken < 2) {
      used = 'zero';
      actions = Array.from({ length: steps }, () => new Float32Array(actionDim));
      run = drive(actions);
      if (run.taken < 2) fail('restore-mid-episode-replays', `the episode ends after ${run.taken} step with random and with zero actions: no mid-episode state to restore (choose another seed)`);
    }
    const { taken, snaps } = run;
    const finalHash = a.stateHash();
    // Same seed, same actions ⇒ same state.
    b.reset({ seed });
    for (let t = 0; t < taken; t++) b.step(actions[t]!);
    if (b.stateHash() !== finalHash) fail('same-seed-same-actions-same-state', 'same seed and actions gave a different final state');
    pass('same-seed-same-actions-same-state');
    // Restore mid-episode (the state before step `mid`, 1 ≤ mid < taken) and replay ⇒ same state.
    const mid = Math.max(1, Math.floor(taken / 2));
    b.restore(snaps[mid]!);
    for (let t = mid; t < taken; t++) b.step(actions[t]!);
    if (b.stateHash() !== finalHash) fail('restore-mid-episode-replays', `restore at step ${mid} + replay gave a different final state`);
    pass('restore-mid-episode-replays');
    const frame = a.renderFrame();
    if (frame.poses.length !== frame.ids.length * 7) fail('render-frame', 'render frame poses do not match ids');
    pass('render-frame');
    return { steps: taken, finalHash, checks, actions: used };
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

function threw(f: () => unknown): boolean {
  try { f(); } catch { return true; }
  return false;
}
