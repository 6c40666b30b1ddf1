/**
 * A policy that takes its goal as the `observation.goal` input (the goal-conditioned BC / Diffusion Policy baselines)
 * uses the act options' goal when one is given — also when the observation carries its own `observation.goal` (a
 * study's evaluation goal must win over the scene's).
 */
import { describe, expect, it } from 'vitest';
import { BcPolicy, defaultBcConfig } from '../../policies/bc/index.ts';
import type { PolicySpec } from '../../policies/common/policy.ts';

function spec(): PolicySpec {
  return {
    method: 'bc', config: { ...defaultBcConfig(), obsKeys: ['observation.state', 'observation.goal'], hidden: [8] } as unknown as Record<string, unknown>,
    features: {
      observation: { 'observation.state': { kind: 'state', shape: [2], dtype: 'float32' }, 'observation.goal': { kind: 'goal', shape: [2], dtype: 'float32' } },
      action: { action: { kind: 'action', shape: [2], dtype: 'float32', low: -1, high: 1 } },
    },
    normalizers: {},
  };
}

describe('goal as observation input', () => {
  it('an explicit goal in the act options replaces the observation\'s own, in act and actBatch', async () => {
    const p = new BcPolicy(spec(), 3);
    try {
      const state = Float32Array.of(0.1, -0.2), A = Float32Array.of(0.5, 0.5), B = Float32Array.of(-0.7, 0.3);
      const viaObs = (g: Float32Array) => { p.reset(); return p.actSync({ 'observation.state': state, 'observation.goal': g }); };
      const want = viaObs(B);
      expect(Array.from(viaObs(A))).not.toEqual(Array.from(want));
      p.reset();
      expect(Array.from(await p.act({ 'observation.state': state, 'observation.goal': A }, { goal: B }))).toEqual(Array.from(want));
      p.resetBatch(1);
      expect(Array.from(p.actBatch({ 'observation.state': state, 'observation.goal': A }, 1, undefined, { goal: B }))).toEqual(Array.from(want));
    } finally {
      p.dispose();
    }
  });
});
