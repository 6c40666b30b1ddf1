/**
 * Every message of a recording of every registered scene validates against the JSON Schema its channel declares
 * (ajv); the Foxglove channels declare the official `@foxglove/schemas` ones. A format-1 recording (written before
 * compression and transforms; tests/data/fixtures/point_reach_v1.mcap) still reads, re-simulates bit-exactly, and
 * its Foxglove messages validate against the official schemas too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { McapStreamReader } from '@mcap/core';
import { FrameTransform, SceneUpdate } from '@foxglove/schemas/jsonschema.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION, builtinPolicy, featureSize, listScenes, makeEnv, runEpisode } from '../../sim/core/index.ts';
import { EpisodeRecorder, FOXGLOVE_TOPICS } from '../../sim/data/recorder.ts';
import { FOXGLOVE_SCHEMAS } from '../../sim/data/foxglove.ts';
import { mcapDecompressHandlers, readRecording, verifyRecording } from '../../sim/data/replay.ts';
import { Rng } from '../../sim/math/rng.ts';
import { initPhysics } from '../../sim/physics/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'stride-recschema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await initPhysics();
  await import('../../scenes/index.ts');
});

/** Every message of `file`, with its channel's topic, schema name and schema. */
async function messages(file: string) {
  const reader = new McapStreamReader({ validateCrcs: true, decompressHandlers: await mcapDecompressHandlers() });
  reader.append(readFileSync(file));
  const schemas = new Map<number, { name: string; schema: object }>(), channels = new Map<number, { topic: string; schemaId: number }>();
  const out: { topic: string; schemaName: string; schema: object; value: unknown }[] = [];
  for (let r; (r = reader.nextRecord()); ) {
    if (r.type === 'Schema') schemas.set(r.id, { name: r.name, schema: JSON.parse(new TextDecoder().decode(r.data)) });
    else if (r.type === 'Channel') channels.set(r.id, { topic: r.topic, schemaId: r.schemaId });
    else if (r.type === 'Message') {
      const c = channels.get(r.channelId)!, s = schemas.get(c.schemaId)!;
      out.push({ topic: c.topic, schemaName: s.name, schema: s.schema, value: JSON.parse(new TextDecoder().decode(r.data)) });
    }
  }
  return out;
}

/** Validate every message against its channel's schema; returns the count per topic. */
function validateAll(msgs: Awaited<ReturnType<typeof messages>>, schemaFor: (m: (typeof msgs)[number]) => object = (m) => m.schema) {
  // strict: false — the official schemas carry annotation keywords (contentEncoding, $comment) ajv does not assert.
  const ajv = new Ajv({ strict: false, allErrors: false });
  const compiled = new Map<object, ReturnType<Ajv['compile']>>();
  const counts: Record<string, number> = {};
  for (const m of msgs) {
    const schema = schemaFor(m);
    let v = compiled.get(schema);
    if (!v) { v = ajv.compile(schema); compiled.set(schema, v); }
    if (!v(m.value)) throw new Error(`${m.topic} (${m.schemaName}) message does not validate: ${ajv.errorsText(v.errors)}`);
    counts[m.topic] = (counts[m.topic] ?? 0) + 1;
  }
  return counts;
}

describe('recording schemas', () => {
  it('every message of every scene validates against its channel schema; Foxglove channels use the official schemas', async () => {
    const official = new Map<string, string>(Object.values(FOXGLOVE_SCHEMAS).map((s) => [s.name, JSON.stringify(s.schema)]));
    for (const def of listScenes()) {
      const env = makeEnv(def.id);
      const file = join(dir, `${def.id.replace('/', '_')}.mcap`);
      try {
        const rec = await EpisodeRecorder.create(file, env, { policy: 'random', command: 'test' });
        const hooks = rec.episodeHooks(5);
        const { obs } = env.reset({ seed: 5 });
        hooks.onReset!(obs);
        const rng = new Rng(5), n = featureSize(env.actionFeatures[ACTION]!);
        let ret = 0, t = 0;
        for (; t < 6; t++) {
          const a = Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
          const r = env.step(a);
          ret += r.reward;
          hooks.onStep!(t, a, r);
          if (r.terminated || r.truncated) { t++; break; }
        }
        rec.endEpisode({ seed: 5, return: ret, length: t, success: false, metrics: {}, reason: 'test', finalStateHash: env.stateHash() });
        await rec.close();
      } finally {
        env.dispose();
      }
      const msgs = await messages(file);
      for (const m of msgs) if (m.schemaName.startsWith('foxglove.')) expect(JSON.stringify(m.schema), `${def.id} ${m.topic}`).toBe(official.get(m.schemaName));
      const counts = validateAll(msgs);
      expect(counts[FOXGLOVE_TOPICS.tf], def.id).toBeGreaterThan(1);
      expect(counts[FOXGLOVE_TOPICS.scene], def.id).toBeGreaterThanOrEqual(1);
      const feats = makeEnv(def.id).observationFeatures;
      if (feats['observation.depth']) expect(counts[FOXGLOVE_TOPICS.depth], def.id).toBeGreaterThan(1);
      if (feats['observation.state']?.names?.some((x) => x.startsWith('q_'))) expect(counts[FOXGLOVE_TOPICS.joints], def.id).toBeGreaterThan(1);
      expect((await verifyRecording(file)).verified, def.id).toBe(true);
    }
  });

  it('actions with −0 (JSON writes 0) are replayed as −0: a humanoid/hoi expert recording verifies bit-exactly', async () => {
    const file = join(dir, 'hoi_expert.mcap');
    const env = makeEnv('humanoid/hoi', { maxSteps: 25 });
    try {
      const rec = await EpisodeRecorder.create(file, env, { policy: 'expert', overrides: { maxSteps: 25 } });
      rec.endEpisode(runEpisode(env, 0, builtinPolicy('expert'), rec.episodeHooks(0)));
      await rec.close();
    } finally {
      env.dispose();
    }
    const steps = (await messages(file)).filter((m) => m.topic === '/stride/step').map((m) => m.value as { negativeZeros?: number[] });
    expect(steps.some((s) => (s.negativeZeros ?? []).length > 0)).toBe(true);
    const r = await readRecording(file);
    const s = r.episodes[0]!.steps.find((x, i) => steps[i]!.negativeZeros)!;
    expect(Object.is(s.action[steps[r.episodes[0]!.steps.indexOf(s)]!.negativeZeros![0]!], -0)).toBe(true);
    expect(await verifyRecording(file)).toMatchObject({ verified: true, steps: 25 });
  });

  it('a depth image and its calibration are consistent with the observation', async () => {
    const file = join(dir, 'manip_push_block.mcap');
    const msgs = await messages(file);
    const img = msgs.find((m) => m.topic === FOXGLOVE_TOPICS.depth)!.value as { width: number; height: number; step: number; encoding: string; data: string };
    const cal = msgs.find((m) => m.topic === FOXGLOVE_TOPICS.calibration)!.value as { width: number; height: number; K: number[] };
    const rec = await readRecording(file);
    const depth0 = rec.episodes[0]!.initialObs!['observation.depth']!;
    expect(img.encoding).toBe('32FC1');
    expect(img.step).toBe(4 * img.width);
    expect(Array.from(new Float32Array(new Uint8Array(Buffer.from(img.data, 'base64')).buffer))).toEqual(depth0);
    expect([cal.width, cal.height]).toEqual([img.width, img.height]);
    expect(cal.K[2]).toBe(img.width / 2);
    const joints = msgs.find((m) => m.topic === FOXGLOVE_TOPICS.joints)!.value as { joints: { name: string; position: number }[] };
    expect(joints.joints.map((j) => j.name)).toEqual(['yaw', 'shoulder', 'elbow', 'wrist']);
  });

  it('a format-1 recording still reads, --verify re-simulates it (and reports the later config change), and its Foxglove messages validate against the official schemas', async () => {
    const file = join(import.meta.dirname, 'fixtures', 'point_reach_v1.mcap');
    const rec = await readRecording(file);
    expect(rec.meta.formatVersion).toBe(1);
    // The fixture was recorded before toy/point_reach gained its `splitObs` config field; the scene config is part of
    // the snapshot, so re-simulating it now must report the difference at the initial state (never a silent pass).
    const v = await verifyRecording(file);
    expect(v).toMatchObject({ verified: false, episodes: 2, firstMismatch: { episode: 0, step: -1 } });
    expect(v.engineVersion.recorded).toBe(v.engineVersion.replayed);
    // Format 1's own Frame messages break their schema (ids were Rapier handles, denormal floats — the reason for
    // format 2); its Foxglove messages are what this checks.
    const msgs = (await messages(file)).filter((m) => m.topic.startsWith('/foxglove/'));
    const counts = validateAll(msgs, (m) => (m.schemaName === 'foxglove.FrameTransform' ? FrameTransform : m.schemaName === 'foxglove.SceneUpdate' ? SceneUpdate : m.schema));
    expect(counts[FOXGLOVE_TOPICS.scene]).toBeGreaterThan(10);
  });
});
