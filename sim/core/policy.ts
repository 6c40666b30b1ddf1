/**
 * The one policy contract (DESIGN.md §2), shared by the trainer, the evaluator, the viewer, the studies and the
 * robot bridge: `Policy` (reset, async act(obs, ActOptions), dispose, input/output features) and `ActOptions`.
 * Plus the simulator's synchronous action source (`ActionSource`, what `runEpisode` steps with) and the built-in
 * policies `random | zero | expert` as action-source factories.
 *
 * policies/common/policy.ts re-exports the contract and extends it for trainable methods (`MethodPolicy`);
 * sim/bridge's `BridgePolicy` is this Policy with `name` and `dispose` optional.
 */
import { Rng } from '../math/rng.ts';
import { ACTION, featureSize, type Features, type Observation } from './features.ts';
import type { Overlay } from './render.ts';
import type { SceneEnv } from './scene_env.ts';

/** Per-call conditioning of a policy's action. Methods may extend it (e.g. BESO's sampler). */
export interface ActOptions {
  /** Goal for goal-conditioned policies. */
  goal?: Float32Array;
  /** Discrete intent/skill id. */
  intent?: number;
  /** Classifier-free guidance weight (0 = unconditional, 1 = conditional). */
  guidance?: number;
  /** Denoising / sampling steps for iterative samplers (diffusion, BESO); the method's default when omitted. */
  steps?: number;
}

/** A policy: observation in, action out, over episodes. */
export interface Policy {
  readonly name: string;
  readonly inputFeatures: Features;
  readonly outputFeatures: Features;
  /** Clear history/queues at an episode start. */
  reset(): void;
  act(obs: Observation, opts?: ActOptions): Promise<Float32Array>;
  dispose(): void;
  /**
   * Optional viewer overlays of the last `act` (world frame, metres): candidate trajectories, a predicted action
   * chunk, a residual's magnitude… The viewer's live host merges them into each frame when its overlays are on;
   * nothing else calls it, so a policy may compute them lazily here.
   */
  debugOverlays?(): Overlay[];
}

/** A synchronous action source for `runEpisode`: the action at control step t. */
export type ActionSource = (obs: Observation, t: number) => Float32Array;

/** Names of the built-in policies. */
export const BUILTIN_POLICIES = ['random', 'zero', 'expert'] as const;
export type BuiltinPolicyName = (typeof BUILTIN_POLICIES)[number];

/** True when `name` is one of BUILTIN_POLICIES. */
export function isBuiltinPolicy(name: string): name is BuiltinPolicyName {
  return (BUILTIN_POLICIES as readonly string[]).includes(name);
}

/**
 * Built-in policy by name, as a factory binding it to an env that has just been reset. 'random' draws from an RNG
 * seeded by each episode's seed, so episodes are reproducible alone; 'expert' is the scene's scripted expert.
 * Throws (one-line message) on an unknown name or a scene without an expert.
 */
export function builtinPolicy(name: string): (env: SceneEnv) => ActionSource {
  switch (name) {
    case 'zero':
      return (env) => { const a = new Float32Array(featureSize(env.actionFeatures[ACTION]!)); return () => a; };
    case 'random':
      return (env) => {
        const rng = new Rng(env.episodeSeed ^ 0x9e37);
        const spec = env.actionFeatures[ACTION]!;
        const n = featureSize(spec), lo = spec.low ?? -1, hi = spec.high ?? 1;
        return () => Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
      };
    case 'expert':
      return (env) => {
        if (!env.hasExpert) throw new Error(`scene ${env.id} has no scripted expert`);
        const ex = env.expert();
        return () => ex.act();
      };
    default:
      throw new Error(`unknown policy '${name}' (built-in: ${BUILTIN_POLICIES.join(', ')}, or a trained run/checkpoint directory)`);
  }
}
