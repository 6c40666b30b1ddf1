/**
 * The reference motion library as a dataset (DESIGN.md §3, sim/data DatasetWriter): one episode per seeded clip.
 *
 * Columns (time-major, one row per control frame of the clip):
 * - `reference.joint_angles` (21, rad) — the reference pose, DOFS order;
 * - `reference.root_pose` (7) — root position (m) and quaternion (x, y, z, w);
 * - `reference.object_pose` (4) — box centre (m) and yaw (rad);
 * - `reference.contacts` (2) — right/left hand touching the box (0/1);
 * - `reference.phase` (1, int32) — index into motion.ts PHASE_NAMES;
 * - `observation.goal` (25) — the goal feature of humanoid/hoi at that frame, all kinds present (mask bits 0), computed
 *   from the reference root (so a policy can be trained on any mask by zeroing slots: GOAL_LAYOUT);
 * - `action` (21) — the tracking expert's normalised PD targets for the next frame.
 * Episode labels (goal annotations): kind, evalSet, box half extents, start pose, displacement, lift height, goal box pose.
 */
import { ACTION, OBS_GOAL, type Features } from '../../sim/core/index.ts';
import { DatasetWriter, type DatasetInfo } from '../../sim/data/dataset.ts';
import { Rng } from '../../sim/math/rng.ts';
import { GOAL_SIZE, hoiFeatures, writeGoal, defaultConfig as hoiDefaults } from './hoi.ts';
import type { HumanoidReadout } from './humanoid.ts';
import { EVAL_SETS, PHASES, drawClipParams, generateClip, type ClipKind, type EvalSet } from './motion.ts';
import { DEFAULT_ROOT_HEIGHT_M, DOFS, NUM_DOFS, targetToAction, yawOfQ } from './skeleton.ts';

export interface MotionLibraryOptions {
  /** Number of clips (episodes); clip i is drawn with seed + i. */
  numClips: number;
  seed: number;
  evalSet: EvalSet;
  clipKind: 'any' | ClipKind;
  /** Replace an existing dataset at the target. */
  force?: boolean;
}

export function motionLibraryFeatures(): Features {
  const hf = hoiFeatures();
  return {
    'reference.joint_angles': { kind: 'state', shape: [NUM_DOFS], dtype: 'float32', names: DOFS.map((d) => d.name), units: 'rad' },
    'reference.root_pose': { kind: 'state', shape: [7], dtype: 'float32', names: ['x', 'y', 'z', 'qx', 'qy', 'qz', 'qw'], units: 'm' },
    'reference.object_pose': { kind: 'object', shape: [4], dtype: 'float32', names: ['x', 'y', 'z', 'yaw'], units: 'm, rad' },
    'reference.contacts': { kind: 'state', shape: [2], dtype: 'float32', names: ['r_hand', 'l_hand'], low: 0, high: 1 },
    'reference.phase': { kind: 'state', shape: [1], dtype: 'int32', names: ['phase'] },
    [OBS_GOAL]: hf.observation[OBS_GOAL]!,
    [ACTION]: hf.action[ACTION]!,
  };
}

/** Generate and write the library; returns the dataset info. */
export function writeMotionLibrary(dir: string, o: MotionLibraryOptions): DatasetInfo & { lift: number; push: number } {
  if (!(o.numClips >= 1)) throw new Error(`motion library: numClips must be ≥ 1, got ${o.numClips}`);
  if (!EVAL_SETS.includes(o.evalSet)) throw new Error(`motion library: unknown evalSet '${o.evalSet}' (known: ${EVAL_SETS.join(', ')})`);
  const cfg = hoiDefaults();
  const fps = Math.round(1 / cfg.ctrlDtSec);
  const writer = new DatasetWriter(dir, { sceneId: 'humanoid/hoi', fps, features: motionLibraryFeatures(), force: !!o.force });
  let lift = 0, push = 0;
  try {
    for (let i = 0; i < o.numClips; i++) {
      const rng = new Rng(o.seed + i);
      const p = drawClipParams(rng, o.evalSet, cfg.table.topM, o.clipKind === 'any' ? undefined : o.clipKind);
      if (p.kind === 'lift') lift++; else push++;
      const clip = generateClip(p, fps, DEFAULT_ROOT_HEIGHT_M, cfg.squeezeM);
      const T = clip.length;
      const goal = new Float32Array(T * GOAL_SIZE), act = new Float32Array(T * NUM_DOFS);
      const s = { pos: new Float64Array(3), rot: new Float64Array(4) } as unknown as HumanoidReadout;
      for (let f = 0; f < T; f++) {
        for (let k = 0; k < 3; k++) s.pos[k] = clip.root[f * 7 + k]!;
        for (let k = 0; k < 4; k++) s.rot[k] = clip.root[f * 7 + 3 + k]!;
        writeGoal(s, yawOfQ(s.rot, 0), clip, f, [0, 0, 0], goal, f * GOAL_SIZE);
        const nf = Math.min(f + 1, T - 1);
        for (let j = 0; j < NUM_DOFS; j++) act[f * NUM_DOFS + j] = targetToAction(j, clip.qExpert[nf * NUM_DOFS + j]!);
      }
      const gf = Math.min(T - 1, Math.round(PHASES[4] * fps));
      writer.addEpisode({
        seed: o.seed + i, success: true,
        labels: {
          kind: p.kind, evalSet: o.evalSet,
          boxHalfX: p.boxHalfM[0], boxHalfY: p.boxHalfM[1], boxHalfZ: p.boxHalfM[2],
          boxStartX: p.boxStart[0], boxStartZ: p.boxStart[1], boxStartYaw: p.boxStart[2],
          boxDeltaX: p.boxDelta[0], boxDeltaZ: p.boxDelta[1], boxDeltaYaw: p.boxDelta[2], liftM: p.liftM,
          goalBoxX: clip.box[gf * 4]!, goalBoxY: clip.box[gf * 4 + 1]!, goalBoxZ: clip.box[gf * 4 + 2]!, goalBoxYaw: clip.box[gf * 4 + 3]!,
          goalFrame: gf, releaseFrame: clip.releaseFrame,
        },
      }, {
        'reference.joint_angles': Float32Array.from(clip.q),
        'reference.root_pose': Float32Array.from(clip.root),
        'reference.object_pose': Float32Array.from(clip.box),
        'reference.contacts': Float32Array.from(clip.contact),
        'reference.phase': Int32Array.from(clip.phase),
        [OBS_GOAL]: goal,
        [ACTION]: act,
      });
    }
    const info = writer.finish();
    return { ...info, lift, push };
  } catch (e) {
    writer.abort();
    throw e;
  }
}
