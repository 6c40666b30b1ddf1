/**
 * Feature keys and specs. Features are declared before data: every observation, action, dataset column and checkpoint
 * input is named by one of these keys and described by a FeatureSpec. Keys are constants — never respell them.
 */
export const OBS_STATE = 'observation.state';
export const OBS_DEPTH = 'observation.depth';
export const OBS_IMAGE = 'observation.image';
export const OBS_TACTILE = 'observation.tactile';
/** Privileged object state (poses); for experts and ablations, not for deployable policies. */
export const OBS_OBJECT = 'observation.object';
export const OBS_GOAL = 'observation.goal';
export const OBS_INTENT = 'observation.intent';
export const ACTION = 'action';

export type FeatureKind = 'state' | 'depth' | 'image' | 'tactile' | 'object' | 'goal' | 'intent' | 'action';
export type DType = 'float32' | 'uint8' | 'int32';

export interface FeatureSpec {
  kind: FeatureKind;
  /** Shape of one sample (no batch or time dimension). */
  shape: readonly number[];
  dtype: DType;
  /** One name per element of a flat feature (e.g. joint names), when meaningful. */
  names?: readonly string[];
  /** Lower bound of every element, when bounded (actions are usually normalised to [-1, 1]). */
  low?: number;
  /** Upper bound of every element, when bounded. */
  high?: number;
  units?: string;
}

export type Features = Readonly<Record<string, FeatureSpec>>;
export type FeatureArray = Float32Array | Uint8Array | Int32Array;
export type Observation = Readonly<Record<string, FeatureArray>>;

/** Number of scalar elements in one sample of a feature. */
export function featureSize(spec: FeatureSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

export function allocFeature(spec: FeatureSpec, n = 1): FeatureArray {
  const len = featureSize(spec) * n;
  switch (spec.dtype) {
    case 'float32': return new Float32Array(len);
    case 'uint8': return new Uint8Array(len);
    case 'int32': return new Int32Array(len);
  }
}

/** Throws a one-line error when `obs` does not match `features` (missing key, wrong length/dtype, non-finite). */
export function validateObservation(features: Features, obs: Observation, where = 'observation'): void {
  for (const [key, spec] of Object.entries(features)) {
    const v = obs[key];
    if (!v) throw new Error(`${where}: missing feature '${key}'`);
    const n = featureSize(spec);
    if (v.length !== n) throw new Error(`${where}: feature '${key}' has ${v.length} elements, expected ${n} (shape [${spec.shape.join(', ')}])`);
    const ctor = spec.dtype === 'float32' ? Float32Array : spec.dtype === 'uint8' ? Uint8Array : Int32Array;
    if (!(v instanceof ctor)) throw new Error(`${where}: feature '${key}' has dtype ${v.constructor.name}, expected ${spec.dtype}`);
    if (v instanceof Float32Array) {
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i]!)) throw new Error(`${where}: feature '${key}' element ${i} is not finite (${v[i]})`);
      }
    }
  }
}

/** Checks that two feature tables agree on keys, shapes and dtypes; returns a list of differences (empty = compatible). */
export function diffFeatures(expected: Features, actual: Features): string[] {
  const out: string[] = [];
  for (const [k, s] of Object.entries(expected)) {
    const a = actual[k];
    if (!a) { out.push(`missing '${k}'`); continue; }
    if (a.dtype !== s.dtype) out.push(`'${k}' dtype ${a.dtype} != ${s.dtype}`);
    if (a.shape.join('x') !== s.shape.join('x')) out.push(`'${k}' shape [${a.shape}] != [${s.shape}]`);
  }
  return out;
}

/**
 * Can a policy with these input/output features run in an env with these features? Every input key the policy reads
 * must exist in the env's observation with the same dtype and shape (and, where both name their elements, the same
 * names in order); the action likewise. Throws one line naming every mismatch, e.g.
 * `policy bc (trained on toy/point_reach) does not fit scene manip/push_block: 'observation.state' shape [26] in the scene, [6] in the policy`.
 */
export function checkPolicyFits(
  policy: { name?: string; inputFeatures: Features; outputFeatures: Features; trainedOn?: string },
  env: { id: string; observationFeatures: Features; actionFeatures: Features },
): void {
  const diffs: string[] = [];
  const cmp = (key: string, want: FeatureSpec, have: FeatureSpec | undefined) => {
    if (!have) { diffs.push(`'${key}' missing in the scene (it has ${Object.keys(env.observationFeatures).map((k) => `'${k}'`).join(', ')})`); return; }
    if (have.dtype !== want.dtype) diffs.push(`'${key}' dtype ${have.dtype} in the scene, ${want.dtype} in the policy`);
    if (have.shape.join(',') !== want.shape.join(',')) { diffs.push(`'${key}' shape [${have.shape.join(', ')}] in the scene, [${want.shape.join(', ')}] in the policy`); return; }
    if (want.names && have.names && want.names.length === have.names.length) {
      const i = want.names.findIndex((n, j) => n !== have.names![j]);
      if (i >= 0) diffs.push(`'${key}' element ${i} is '${have.names[i]}' in the scene, '${want.names[i]}' in the policy`);
    }
  };
  for (const [k, s] of Object.entries(policy.inputFeatures)) cmp(k, s, env.observationFeatures[k]);
  const pa = policy.outputFeatures[ACTION];
  if (!pa) diffs.push(`the policy has no '${ACTION}' output`);
  else cmp(ACTION, pa, env.actionFeatures[ACTION]);
  if (diffs.length) {
    throw new Error(`policy ${policy.name ?? '?'}${policy.trainedOn ? ` (trained on ${policy.trainedOn})` : ''} does not fit scene ${env.id}: ${diffs.join('; ')}`);
  }
}
