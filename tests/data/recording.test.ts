/**
 * MCAP recordings: record → verifyRecording round trip, a tampered action is caught at the right step, truncated /
 * random / missing files give one-line errors, abort() leaves nothing behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnv, runEpisode, type SceneEnv } from '../../sim/core/index.ts';
import { EpisodeRecorder, FOXGLOVE_TOPICS, TOPICS } from '../../sim/data/recorder.ts';
import { mcapDecompressHandlers, readRecording, verifyRecording } from '../../sim/data/replay.ts';
import { Rng } from '../../sim/math/rng.ts';
import { McapIndexedReader } from '@mcap/core';
import { initPhysics } from '../../sim/physics/index.ts';
import { rewriteMcap as rewrite } from './mcap_helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'stride-rec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await initPhysics();
  await import('../../scenes/index.ts');
});

const randomPolicy = (seed: number) => (env: SceneEnv) => {
  const rng = new Rng(seed);
  void env;
  return () => Float32Array.of(rng.uniform(-1, 1), rng.uniform(-1, 1));
};

async function record(file: string, episodes: number, seed = 0) {
  const env = makeEnv('toy/point_reach', { maxSteps: 30 });
  const rec = await EpisodeRecorder.create(file, env, { policy: 'random', overrides: { maxSteps: 30 }, command: 'test' });
  const sums = [];
  try {
    for (let i = 0; i < episodes; i++) {
      const ep = runEpisode(env, seed + i, randomPolicy(seed + i), rec.episodeHooks(seed + i));
      rec.endEpisode(ep);
      sums.push(ep);
    }
    await rec.close();
  } finally {
    env.dispose();
  }
  return sums;
}

describe('MCAP recording', () => {
  it('records episodes that read back and re-simulate bit-exactly', async () => {
    const file = join(dir, 'a.mcap');
    const sums = await record(file, 2);
    const rec = await readRecording(file);
    expect(rec.meta).toMatchObject({ sceneId: 'toy/point_reach', policy: 'random', overrides: { maxSteps: 30 }, command: 'test', parent: null, formatVersion: 2 });
    expect(rec.meta.engineVersion).toMatch(/rapier/);
    expect(rec.episodes.map((e) => e.seed)).toEqual([0, 1]);
    for (const [i, ep] of rec.episodes.entries()) {
      expect(ep.steps.length).toBe(sums[i]!.length);
      expect(ep.summary).toEqual(JSON.parse(JSON.stringify(sums[i])));
      expect(ep.steps.at(-1)!.stateHash).toBe(sums[i]!.finalStateHash);
      expect(ep.scene.visuals.length).toBeGreaterThanOrEqual(2);
      expect(ep.initialFrame!.step).toBe(0);
      expect(ep.steps[3]!.frame!.step).toBe(4);
      expect(ep.steps[3]!.frame!.poses.length).toBe(7 * ep.steps[3]!.frame!.ids.length);
      expect(ep.steps[3]!.obs!['observation.state']!.length).toBe(6);
      expect(ep.steps[3]!.action.length).toBe(2);
    }
    const v = await verifyRecording(file);
    expect(v).toMatchObject({ verified: true, steps: sums[0]!.length + sums[1]!.length, episodes: 2, firstMismatch: null });
    // The file is a valid indexed MCAP: summary, statistics and chunk indexes agree with the content.
    const bytes = readFileSync(file);
    const idx = await McapIndexedReader.Initialize({
      readable: { size: async () => BigInt(bytes.length), read: async (o: bigint, n: bigint) => bytes.subarray(Number(o), Number(o + n)) },
      decompressHandlers: await mcapDecompressHandlers(),
    });
    // point_reach has no depth camera and no joints: no /camera/* or /joint_states channels.
    expect([...idx.channelsById.values()].map((c) => c.topic).sort()).toEqual([...Object.values(TOPICS), FOXGLOVE_TOPICS.tf, FOXGLOVE_TOPICS.scene].sort());
    expect([...idx.schemasById.values()].every((s) => s.encoding === 'jsonschema')).toBe(true);
    expect(idx.header.profile).toBe('stride');
    expect([...idx.chunkIndexes].every((c) => c.compression === 'zstd' && c.compressedSize < c.uncompressedSize)).toBe(true);
    expect(idx.dataSectionCrc).toBe(crc32(bytes.subarray(0, Number(idx.dataEndOffset))));
    // The MCAP Metadata record, for tools that read metadata rather than messages.
    const md = [];
    for await (const m of idx.readMetadata({ name: 'stride' })) md.push(Object.fromEntries(m.metadata));
    expect(md).toEqual([expect.objectContaining({ formatVersion: '2', sceneId: 'toy/point_reach', seeds: '0,1', policy: 'random', command: 'test', commit: expect.stringMatching(/^([0-9a-f]{40}|unknown)$/), engineVersion: rec.meta.engineVersion })]);
    let stepMsgs = 0;
    for await (const m of idx.readMessages({ topics: [TOPICS.step] })) { void m; stepMsgs++; }
    expect(stepMsgs).toBe(v.steps);
    // meta + per episode (scene, frame, observation, summary, foxglove scene + tf) + per step (step, frame, observation, foxglove tf)
    // + a SceneUpdate for every step whose overlays changed (point_reach's goal marker and zone never change).
    expect(idx.statistics!.messageCount).toBe(BigInt(1 + 2 * 6 + 4 * v.steps));
    // Foxglove: reset clears and sends ground, ball and goal zone once; each step moves the ball's frame by a FrameTransform.
    const fox: { deletions: { type: number }[]; entities: { id: string; frame_id: string; frame_locked: boolean; cubes: unknown[]; spheres: { pose: { position: { x: number; y: number; z: number } } }[] }[] }[] = [];
    for await (const m of idx.readMessages({ topics: [FOXGLOVE_TOPICS.scene] })) fox.push(JSON.parse(new TextDecoder().decode(m.data)));
    expect(fox.length).toBe(2);
    expect(fox[0]!.deletions).toEqual([expect.objectContaining({ type: 1 })]);
    expect(fox[0]!.entities.map((e) => [e.cubes.length, e.spheres.length])).toEqual([[1, 0], [0, 1], [1, 0]]); // ground, ball, goal zone
    const ball = fox[0]!.entities[1]!;
    const f5 = rec.episodes[0]!.steps[4]!.frame!;
    expect(Number.isInteger(f5.ids[0]) && rec.episodes[0]!.scene.visuals.every((x) => Number.isInteger(x.id))).toBe(true);
    expect(ball).toMatchObject({ id: `v${f5.ids[0]}`, frame_id: `v${f5.ids[0]}`, frame_locked: true });
    const tfs: { transforms: { parent_frame_id: string; child_frame_id: string; translation: { x: number; y: number; z: number } }[] }[] = [];
    for await (const m of idx.readMessages({ topics: [FOXGLOVE_TOPICS.tf] })) tfs.push(JSON.parse(new TextDecoder().decode(m.data)));
    expect(tfs.length).toBe(2 + v.steps);
    expect(tfs[0]!.transforms[0]).toMatchObject({ parent_frame_id: 'world', child_frame_id: 'stride' });
    expect(tfs[5]!.transforms).toEqual([expect.objectContaining({ parent_frame_id: 'stride', child_frame_id: `v${f5.ids[0]}`, translation: { x: f5.poses[0], y: f5.poses[1], z: f5.poses[2] } })]);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a tampered action is caught at exactly that step', async () => {
    const file = join(dir, 'b.mcap'), bad = join(dir, 'b-tampered.mcap');
    await record(file, 2, 10);
    const orig = await readRecording(file);
    await rewrite(file, bad, (topic, v) => {
      if (topic === TOPICS.step && v.episode === 1 && v.step === 7) {
        const a = v.action as number[];
        return { ...v, action: [a[0]! > 0 ? a[0]! - 0.5 : a[0]! + 0.5, a[1]] };
      }
      return v;
    });
    // The rewritten file is itself a valid recording (only the action differs).
    expect((await readRecording(bad)).episodes[1]!.steps[7]!.action).not.toEqual(orig.episodes[1]!.steps[7]!.action);
    const v = await verifyRecording(bad);
    expect(v.verified).toBe(false);
    expect(v.firstMismatch).toEqual({ episode: 1, step: 7, expected: orig.episodes[1]!.steps[7]!.stateHash, actual: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(v.firstMismatch!.actual).not.toBe(v.firstMismatch!.expected);
    expect(v.steps).toBe(orig.episodes[0]!.steps.length + 8);
    // A different seed in the episode header is caught before the first step.
    const badSeed = join(dir, 'b-seed.mcap');
    await rewrite(file, badSeed, (topic, v) => (topic === TOPICS.scene && v.episode === 0 ? { ...v, seed: 99 } : v));
    expect((await verifyRecording(badSeed)).firstMismatch).toMatchObject({ episode: 0, step: -1 });
  });

  it('a branch forked mid-episode records its start snapshot, its parent, and verifies', async () => {
    const parentFile = join(dir, 'parent.mcap'), branchFile = join(dir, 'branch.mcap');
    await record(parentFile, 1, 20);
    const parent = await readRecording(parentFile);
    const env = makeEnv('toy/point_reach', { maxSteps: 30 });
    try {
      // Re-simulate the parent to step 10 (as the viewer does), check the hash, then continue with other actions.
      env.reset({ seed: 20 });
      for (const s of parent.episodes[0]!.steps.slice(0, 10)) env.step(Float32Array.from(s.action));
      expect(env.stateHash()).toBe(parent.episodes[0]!.steps[9]!.stateHash);
      const rec = await EpisodeRecorder.create(branchFile, env, { policy: 'zero', overrides: { maxSteps: 30 }, parent: { file: parentFile, episode: 0, step: 10 } });
      const hooks = rec.episodeHooksFromState(20);
      for (let t = 0; t < 15; t++) {
        const a = Float32Array.of(0.3, -0.7);
        hooks.onStep!(t, a, env.step(a));
      }
      rec.endEpisode({ seed: 20, return: 0, length: 15, success: false, metrics: {}, reason: 'fork', finalStateHash: env.stateHash() });
      await rec.close();
    } finally {
      env.dispose();
    }
    const branch = await readRecording(branchFile);
    expect(branch.meta.parent).toEqual({ file: parentFile, episode: 0, step: 10 });
    expect(branch.episodes[0]!.initialStateHash).toBe(parent.episodes[0]!.steps[9]!.stateHash);
    expect(branch.episodes[0]!.initialSnapshot).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(await verifyRecording(branchFile)).toMatchObject({ verified: true, steps: 15, episodes: 1 });

    // The same through episodeHooks + onReset on an env that has already stepped: the snapshot is recorded as well.
    const env2 = makeEnv('toy/point_reach', { maxSteps: 30 });
    const branch2 = join(dir, 'branch2.mcap');
    try {
      let obs = env2.reset({ seed: 20 }).obs;
      for (const s of parent.episodes[0]!.steps.slice(0, 5)) obs = env2.step(Float32Array.from(s.action)).obs;
      const rec = await EpisodeRecorder.create(branch2, env2, { policy: 'zero', parent: { file: parentFile, episode: 0, step: 5 }, overrides: { maxSteps: 30 } });
      const hooks = rec.episodeHooks(20);
      hooks.onReset!(obs);
      for (let t = 0; t < 4; t++) { const a = Float32Array.of(-0.2, 0.1); hooks.onStep!(t, a, env2.step(a)); }
      await rec.close();
    } finally {
      env2.dispose();
    }
    const b2 = await readRecording(branch2);
    expect(b2.episodes[0]!.initialStateHash).toBe(parent.episodes[0]!.steps[4]!.stateHash);
    expect(await verifyRecording(branch2)).toMatchObject({ verified: true, steps: 4 });
  });

  it('large observation features (depth images) are packed and read back exactly', async () => {
    const file = join(dir, 'depth.mcap');
    const env = makeEnv('manip/pick_place', { maxSteps: 4 });
    const seen: Record<string, number[]>[] = [];
    try {
      const rec = await EpisodeRecorder.create(file, env, { policy: 'zero', overrides: { maxSteps: 4 } });
      const hooks = rec.episodeHooks(3);
      const n = env.actionFeatures.action!.shape[0]!;
      const ep = runEpisode(env, 3, () => () => new Float32Array(n), {
        onReset: (obs) => { hooks.onReset!(obs); },
        onStep: (t, a, r) => { hooks.onStep!(t, a, r); seen.push(Object.fromEntries(Object.entries(r.obs).map(([k, v]) => [k, Array.from(v)]))); },
      });
      rec.endEpisode(ep);
      await rec.close();
    } finally {
      env.dispose();
    }
    const rec = await readRecording(file);
    const steps = rec.episodes[0]!.steps;
    expect(steps.length).toBe(seen.length);
    expect(seen[0]!['observation.depth']!.length).toBeGreaterThan(32);
    for (const [i, s] of steps.entries()) expect(s.obs).toEqual(seen[i]);
    expect((await verifyRecording(file)).verified).toBe(true);
  });

  it('truncated, random and missing files give one-line errors', async () => {
    const file = join(dir, 'c.mcap');
    await record(file, 1);
    const bytes = readFileSync(file);
    const half = join(dir, 'half.mcap');
    writeFileSync(half, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const rand = join(dir, 'rand.mcap');
    const rng = new Rng(4);
    writeFileSync(rand, Uint8Array.from({ length: 4096 }, () => rng.int(256)));
    const flipped = join(dir, 'flipped.mcap');
    const f = Uint8Array.from(bytes);
    f[Math.floor(f.length / 3)]! ^= 0xff; // inside the first chunk: CRC mismatch
    writeFileSync(flipped, f);
    for (const [p, re] of [
      [half, /^corrupt MCAP file .*half\.mcap: truncated/],
      [rand, /^corrupt MCAP file .*rand\.mcap: not an MCAP file/],
      [flipped, /^corrupt MCAP file .*flipped\.mcap: /],
      [join(dir, 'missing.mcap'), /^recording not found: .*missing\.mcap/],
    ] as const) {
      const e = await readRecording(p).then(() => null, (x: Error) => x);
      expect(e, p).not.toBeNull();
      expect(e!.message).toMatch(re);
      expect(e!.message).not.toContain('\n');
      await expect(verifyRecording(p)).rejects.toThrow(re);
    }
  });

  it('abort() leaves no file at the target', async () => {
    const file = join(dir, 'd.mcap');
    const env = makeEnv('toy/point_reach');
    const rec = await EpisodeRecorder.create(file, env, { policy: 'zero' });
    runEpisode(env, 0, randomPolicy(0), rec.episodeHooks(0));
    await rec.abort();
    env.dispose();
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith('d.mcap'))).toEqual([]);
  });
});
