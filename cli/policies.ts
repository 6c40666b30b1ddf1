/**
 * Action sources by name for `rollout`/`demos`/`view`. The built-ins live in sim/core/policy.ts and the lookup by
 * name (built-in or trained run directory, TensorFlow.js loaded only for a run) in policies/train/action_source.ts;
 * this module re-exports them for the CLI.
 */
export { BUILTIN_POLICIES, builtinPolicy } from '../sim/core/policy.ts';
export { isRunDir, policyByName } from '../policies/train/action_source.ts';
