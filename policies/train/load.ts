/**
 * `loadPolicy(runDirOrCheckpointDir, { step })` → a ready-to-act MethodPolicy with the checkpoint's inference
 * weights (EMA when the method kept one), normalisers and manifest. Corrupt files ⇒ one-line error naming the file.
 */
import type { MethodPolicy } from '../common/policy.ts';
import { getMethod } from '../registry.ts';
import { readManifest, readModelWeights, resolveCheckpoint, type CheckpointManifest } from './checkpoint.ts';

export type LoadedPolicy = MethodPolicy & { manifest: CheckpointManifest; checkpointDir: string };

export function loadPolicy(dir: string, opts: { step?: number } = {}): LoadedPolicy {
  const ckpt = resolveCheckpoint(dir, opts.step);
  const manifest = readManifest(ckpt);
  const weights = readModelWeights(ckpt);
  let policy: MethodPolicy;
  try {
    policy = getMethod(manifest.method).create(manifest.spec, 0);
  } catch (e) {
    throw new Error(`${ckpt}/manifest.json: cannot build policy: ${(e as Error).message}`);
  }
  try {
    policy.params.assignArrays(weights, `${ckpt}/weights.bin`);
  } catch (e) {
    policy.dispose();
    throw e;
  }
  policy.ema?.dispose();
  policy.ema = null;
  policy.useEma = false;
  return Object.assign(policy, { manifest, checkpointDir: ckpt });
}
