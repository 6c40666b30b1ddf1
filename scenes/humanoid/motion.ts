/**
 * Reference motion library for humanoid/hoi: seeded kinematic clips of a humanoid standing at a table and moving a box
 * (approach → reach → push/lift → carry → release → return), with goal annotations.
 *
 * A clip is generated from a few parameters (`ClipParams`, drawn from a seeded RNG by `drawClipParams`) and holds, per
 * control frame: the root pose (the humanoid does not step: the root is fixed at its start pose), the 21 joint angles
 * (arms by inverse kinematics onto hand targets on the box faces, trunk lean by a profile, legs at the default), the box
 * pose (position + yaw), the hand contact flags, and the expert's PD targets (`qExpert`: the same arms but with hand
 * targets pushed `squeezeM` into the box during contact, so the PD arms squeeze/push; the tracking expert follows them).
 *
 * Phases (seconds from the clip start, `PHASES`): idle, approach (lean, arms from rest to pre-contact 8 cm off the
 * faces, joint-space), reach (hands to the faces), manipulate (lift: raise the box; push: first half of the push),
 * carry (lift: move/rotate then lower; push: second half), release (hands back to pre-contact), return (to rest), hold.
 * Clip kinds: 'lift' (hands on the box's ±Z faces) and 'push' (hands on its −X face, pushing along its +X axis).
 * A clip need not be perfectly physical; the expert tracks it in physics.
 */
import type { Rng } from '../../sim/math/rng.ts';
import { BODY_INDEX, DOF_INDEX, DOFS, HAND_OFFSET_M, bodyPoint, HAND_RADIUS_M, JOINT_OFFSET_M, NUM_BODIES, NUM_DOFS, forwardKinematics, jointQuat, qmul, qrot } from './skeleton.ts';

export type ClipKind = 'lift' | 'push';
/** A hand touches the box when its surface is within this distance of the box surface (clip flags and the tracking reward's default). */
export const CONTACT_TOL_M = 0.015;

/** Distance from point p to the surface of a box (≤ 0 inside) given its centre (b[bo..bo+3)), quaternion (b[qo..qo+4)) and half extents. */
export function distToBox(b: ArrayLike<number>, bo: number, qo: number, half: readonly number[], px: number, py: number, pz: number): number {
  const x = -b[qo]!, y = -b[qo + 1]!, z = -b[qo + 2]!, w = b[qo + 3]!;
  const vx = px - b[bo]!, vy = py - b[bo + 1]!, vz = pz - b[bo + 2]!;
  const tx = 2 * (y * vz - z * vy), ty = 2 * (z * vx - x * vz), tz = 2 * (x * vy - y * vx);
  const lx = vx + w * tx + (y * tz - z * ty), ly = vy + w * ty + (z * tx - x * tz), lz = vz + w * tz + (x * ty - y * tx);
  const dx = Math.abs(lx) - half[0]!, dy = Math.abs(ly) - half[1]!, dz = Math.abs(lz) - half[2]!;
  const ox = Math.max(dx, 0), oy = Math.max(dy, 0), oz = Math.max(dz, 0);
  return Math.hypot(ox, oy, oz) + Math.min(Math.max(dx, dy, dz), 0);
}
export type EvalSet = 'seen' | 'unseen-goals' | 'unseen-inits' | 'recovery';
export const EVAL_SETS: readonly EvalSet[] = ['seen', 'unseen-goals', 'unseen-inits', 'recovery'];

/** Everything a clip is generated from (plain data: it lives in the scene state; the clip is regenerated from it). */
export interface ClipParams {
  kind: ClipKind;
  /** Box half extents (m): x = depth, y = height, z = width. */
  boxHalfM: [number, number, number];
  /** Box start: centre x, z on the table (m) and yaw (rad). */
  boxStart: [number, number, number];
  /** Box displacement over the clip: dx, dz (m), dyaw (rad) — lift: carried; push: pushed (dx along the box's own +X). */
  boxDelta: [number, number, number];
  /** Lift height (m), lift clips only. */
  liftM: number;
  /** Trunk lean while manipulating (lumbar pitch, rad, negative = forward). */
  leanRad: number;
  /** Humanoid root start: x, z (m), yaw (rad). */
  root: [number, number, number];
  /** Table top height (m). */
  tableTopM: number;
}

/** Phase boundaries (s): [idle end, approach end, reach end, manipulate end, carry end, release end, return end, clip end]. */
export const PHASES = [0.3, 1.1, 1.6, 2.4, 3.6, 4.1, 4.8, 5.2] as const;
export const PHASE_NAMES = ['idle', 'approach', 'reach', 'manipulate', 'carry', 'release', 'return', 'hold'] as const;

export interface Clip {
  params: ClipParams;
  fps: number;
  length: number;
  /** Per frame: root position (3) + quaternion (4). */
  root: Float64Array;
  /** Per frame: 21 joint angles of the reference. */
  q: Float64Array;
  /** Per frame: 21 PD targets of the tracking expert (reference + squeeze into the box). */
  qExpert: Float64Array;
  /** Per frame: box centre (3) + yaw (1). */
  box: Float64Array;
  /** Per frame: [right hand, left hand] in contact (0/1). */
  contact: Uint8Array;
  /** Per frame: phase index into PHASE_NAMES. */
  phase: Uint8Array;
  /** First frame of the release phase (success is judged from here on). */
  releaseFrame: number;
}

/** Ranges the clip parameters are drawn from, per held-out set (see `drawClipParams`). */
export interface ClipDistribution {
  /** Probability of a lift clip (else push). */
  liftProb: number;
  boxHalfM: { x: [number, number]; y: [number, number]; z: [number, number] };
  /** Box start centre x (m, in front of the humanoid), z (m), yaw (rad). */
  boxStartX: [number, number];
  boxStartZ: [number, number];
  boxStartYaw: [number, number];
  /** Lift: carry dx, |dz| and |dyaw| ranges; push: push distance and |dyaw|. */
  liftDx: [number, number];
  liftDzAbs: [number, number];
  liftDyawAbs: [number, number];
  liftM: [number, number];
  pushDist: [number, number];
  pushDzAbs: [number, number];
  pushDyawAbs: [number, number];
  /** Humanoid root start offsets: x (m), |z| (m), |yaw| (rad). */
  rootX: [number, number];
  rootZAbs: [number, number];
  rootYawAbs: [number, number];
}

export function clipDistribution(set: EvalSet): ClipDistribution {
  const seen: ClipDistribution = {
    liftProb: 0.5,
    boxHalfM: { x: [0.08, 0.12], y: [0.06, 0.1], z: [0.09, 0.14] },
    boxStartX: [0.34, 0.4], boxStartZ: [-0.04, 0.04], boxStartYaw: [-0.2, 0.2],
    liftDx: [-0.04, 0.04], liftDzAbs: [0, 0.1], liftDyawAbs: [0, 0.3], liftM: [0.05, 0.09],
    pushDist: [0.08, 0.16], pushDzAbs: [0, 0.04], pushDyawAbs: [0, 0.1],
    rootX: [0, 0], rootZAbs: [0, 0], rootYawAbs: [0, 0],
  };
  switch (set) {
    case 'seen':
    case 'recovery':
      return seen;
    case 'unseen-goals':
      // Object targets outside the seen ranges: farther carries, larger turns, longer pushes.
      return { ...seen, liftDzAbs: [0.13, 0.18], liftDyawAbs: [0.35, 0.55], pushDist: [0.18, 0.24], pushDzAbs: [0.05, 0.08], pushDyawAbs: [0.12, 0.2] };
    case 'unseen-inits':
      // Start poses outside: the box more rotated/off-centre, the humanoid shifted back/sideways and turned.
      return { ...seen, boxStartZ: [-0.09, 0.09], boxStartYaw: [-0.45, 0.45], rootX: [-0.06, -0.02], rootZAbs: [0.03, 0.07], rootYawAbs: [0.1, 0.25] };
  }
}

const sgn = (rng: Rng) => (rng.next() < 0.5 ? -1 : 1);
const absRange = (rng: Rng, r: [number, number]) => sgn(rng) * rng.uniform(r[0], r[1]);

export function drawClipParams(rng: Rng, set: EvalSet, tableTopM: number, forceKind?: ClipKind): ClipParams {
  const d = clipDistribution(set);
  const kind: ClipKind = forceKind ?? (rng.next() < d.liftProb ? 'lift' : 'push');
  const boxHalfM: [number, number, number] = [rng.uniform(...d.boxHalfM.x), rng.uniform(...d.boxHalfM.y), rng.uniform(...d.boxHalfM.z)];
  const boxStart: [number, number, number] = [rng.uniform(...d.boxStartX), rng.uniform(...d.boxStartZ), rng.uniform(...d.boxStartYaw)];
  const boxDelta: [number, number, number] = kind === 'lift'
    ? [rng.uniform(...d.liftDx), absRange(rng, d.liftDzAbs), absRange(rng, d.liftDyawAbs)]
    : [rng.uniform(...d.pushDist), absRange(rng, d.pushDzAbs), absRange(rng, d.pushDyawAbs)];
  const liftM = kind === 'lift' ? rng.uniform(...d.liftM) : 0;
  if (kind === 'push') boxStart[0] -= 0.06; // pushes start closer and end farther
  const root: [number, number, number] = [rng.uniform(...d.rootX), absRange(rng, d.rootZAbs), absRange(rng, d.rootYawAbs)];
  return { kind, boxHalfM, boxStart, boxDelta, liftM, leanRad: kind === 'lift' ? -0.28 : -0.22, root, tableTopM };
}

/** Leg tilt-back per radian of trunk lean (see generateClip). */
const COUNTERBALANCE = 0.35;
/** Push clips lean into the box: the reaction of the push already moves the centre of mass back. */
const COUNTERBALANCE_PUSH = 0.0;
/** Hip joint to ankle joint, m (skeleton.ts). */
const LEG_LENGTH_M = 0.84;

const smooth = (u: number) => (u <= 0 ? 0 : u >= 1 ? 1 : u * u * (3 - 2 * u));
const phaseU = (tSec: number, a: number, b: number) => smooth((tSec - a) / (b - a));

/** Box pose (x, y, z, yaw) at time tSec. */
export function boxPoseAt(p: ClipParams, tSec: number, out: Float64Array, o: number): void {
  const [x0, z0, yaw0] = p.boxStart;
  const y0 = p.tableTopM + p.boxHalfM[1];
  let x = x0, y = y0, z = z0, yaw = yaw0;
  if (p.kind === 'lift') {
    const up = phaseU(tSec, PHASES[2], PHASES[3]);
    const carryEnd = PHASES[3] + 0.7 * (PHASES[4] - PHASES[3]);
    const mv = phaseU(tSec, PHASES[3], carryEnd);
    const down = phaseU(tSec, carryEnd, PHASES[4]);
    y += p.liftM * (up - down);
    x += p.boxDelta[0] * mv; z += p.boxDelta[1] * mv; yaw += p.boxDelta[2] * mv;
  } else {
    const u = phaseU(tSec, PHASES[2], PHASES[4]);
    const c = Math.cos(yaw0), s = Math.sin(yaw0);
    // push along the box's own +X (yaw about +Y: +X → (cos, 0, −sin)), plus a lateral drift dz in world z.
    x += p.boxDelta[0] * u * c; z += -p.boxDelta[0] * u * s + p.boxDelta[1] * u; yaw += p.boxDelta[2] * u;
  }
  out[o] = x; out[o + 1] = y; out[o + 2] = z; out[o + 3] = yaw;
}

/** Contact points of the right/left hand centre in the box frame (offset `outM` outward from the face). */
function handLocal(p: ClipParams, right: boolean, outM: number): [number, number, number] {
  const r = HAND_RADIUS_M + outM;
  // Hands touch the faces a little above the box centre (more clearance over the table top).
  const yy = 0.35 * p.boxHalfM[1];
  if (p.kind === 'lift') return [0, yy, right ? p.boxHalfM[2] + r : -(p.boxHalfM[2] + r)];
  const zz = Math.min(0.07, p.boxHalfM[2] - 0.02);
  return [-(p.boxHalfM[0] + r), yy, right ? zz : -zz];
}

function boxToWorld(box: Float64Array, bo: number, l: [number, number, number]): [number, number, number] {
  const yaw = box[bo + 3]!, c = Math.cos(yaw), s = Math.sin(yaw);
  // rotation about +Y by yaw: (x, z) → (c x + s z, −s x + c z)
  return [box[bo]! + c * l[0] + s * l[2], box[bo + 1]! + l[1], box[bo + 2]! - s * l[0] + c * l[2]];
}

// --- arm inverse kinematics ---------------------------------------------------------------------------------------

const ARM = {
  right: { uarm: BODY_INDEX.r_uarm, larm: BODY_INDEX.r_larm, pitch: DOF_INDEX.r_shoulder_pitch!, roll: DOF_INDEX.r_shoulder_roll!, elbow: DOF_INDEX.r_elbow! },
  left: { uarm: BODY_INDEX.l_uarm, larm: BODY_INDEX.l_larm, pitch: DOF_INDEX.l_shoulder_pitch!, roll: DOF_INDEX.l_shoulder_roll!, elbow: DOF_INDEX.l_elbow! },
};

const ikTmp = new Float64Array(16);
/** Hand centre for arm angles (pitch, roll, elbow) given the shoulder position and torso rotation. */
function armFk(sh: Float64Array, torsoRot: Float64Array, pitch: number, roll: number, elbow: number, out: Float64Array, o: number): void {
  jointQuat(roll, 0, pitch, ikTmp, 0);
  qmul(torsoRot, 0, ikTmp, 0, ikTmp, 4); // upper arm rotation
  const lo = JOINT_OFFSET_M[BODY_INDEX.r_larm]!;
  qrot(ikTmp, 4, lo[0], lo[1], lo[2], ikTmp, 12);
  const ex = sh[0]! + ikTmp[12]!, ey = sh[1]! + ikTmp[13]!, ez = sh[2]! + ikTmp[14]!;
  jointQuat(0, 0, elbow, ikTmp, 0);
  qmul(ikTmp, 4, ikTmp, 0, ikTmp, 8); // lower arm rotation
  qrot(ikTmp, 8, HAND_OFFSET_M[0], HAND_OFFSET_M[1], HAND_OFFSET_M[2], ikTmp, 12);
  out[o] = ex + ikTmp[12]!; out[o + 1] = ey + ikTmp[13]!; out[o + 2] = ez + ikTmp[14]!;
}

const clampDof = (i: number, v: number) => { const d = DOFS[i]!; return v < d.lo ? d.lo : v > d.hi ? d.hi : v; };

/**
 * Damped least-squares IK of one arm onto `target` (world), starting from q's current arm angles; writes them back.
 * Returns the remaining hand error (m).
 */
export function solveArmIk(q: Float64Array, sh: Float64Array, torsoRot: Float64Array, right: boolean, target: readonly number[], iters = 30): number {
  const a = right ? ARM.right : ARM.left;
  const idx = [a.pitch, a.roll, a.elbow];
  const x = [q[a.pitch]!, q[a.roll]!, q[a.elbow]!];
  const h = new Float64Array(3), hp = new Float64Array(3);
  const J = new Float64Array(9);
  let err = Infinity;
  for (let it = 0; it < iters; it++) {
    armFk(sh, torsoRot, x[0]!, x[1]!, x[2]!, h, 0);
    const e0 = target[0]! - h[0]!, e1 = target[1]! - h[1]!, e2 = target[2]! - h[2]!;
    err = Math.hypot(e0, e1, e2);
    if (err < 1e-5) break;
    const eps = 1e-5;
    for (let k = 0; k < 3; k++) {
      const save = x[k]!;
      x[k] = save + eps;
      armFk(sh, torsoRot, x[0]!, x[1]!, x[2]!, hp, 0);
      x[k] = save;
      J[k] = (hp[0]! - h[0]!) / eps; J[3 + k] = (hp[1]! - h[1]!) / eps; J[6 + k] = (hp[2]! - h[2]!) / eps;
    }
    // Δ = Jᵀ (J Jᵀ + λ² I)⁻¹ e
    const lam2 = 0.0025;
    const A = new Float64Array(9);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) {
      A[r * 3 + c] = J[r * 3]! * J[c * 3]! + J[r * 3 + 1]! * J[c * 3 + 1]! + J[r * 3 + 2]! * J[c * 3 + 2]! + (r === c ? lam2 : 0);
    }
    const y = solve3(A, [e0, e1, e2]);
    for (let k = 0; k < 3; k++) {
      const dk = J[k]! * y[0]! + J[3 + k]! * y[1]! + J[6 + k]! * y[2]!;
      x[k] = clampDof(idx[k]!, x[k]! + dk);
    }
  }
  for (let k = 0; k < 3; k++) q[idx[k]!] = x[k]!;
  return err;
}

function solve3(A: Float64Array, b: number[]): number[] {
  const [a, b1, c, d, e, f, g, hh, i] = A as unknown as number[];
  const det = a! * (e! * i! - f! * hh!) - b1! * (d! * i! - f! * g!) + c! * (d! * hh! - e! * g!);
  const inv = 1 / det;
  const m = [
    (e! * i! - f! * hh!) * inv, (c! * hh! - b1! * i!) * inv, (b1! * f! - c! * e!) * inv,
    (f! * g! - d! * i!) * inv, (a! * i! - c! * g!) * inv, (c! * d! - a! * f!) * inv,
    (d! * hh! - e! * g!) * inv, (b1! * g! - a! * hh!) * inv, (a! * e! - b1! * d!) * inv,
  ];
  return [m[0]! * b[0]! + m[1]! * b[1]! + m[2]! * b[2]!, m[3]! * b[0]! + m[4]! * b[1]! + m[5]! * b[2]!, m[6]! * b[0]! + m[7]! * b[1]! + m[8]! * b[2]!];
}

// --- clip generation ----------------------------------------------------------------------------------------------

export function rootPose(p: ClipParams, rootHeightM: number): { pos: [number, number, number]; quat: [number, number, number, number] } {
  const yaw = p.root[2];
  return { pos: [p.root[0], rootHeightM, p.root[1]], quat: [0, Math.sin(yaw / 2), 0, Math.cos(yaw / 2)] };
}

/**
 * Generate the clip for `params` at `fps` frames per second. `squeezeM`: how far the expert's hand targets go into the
 * box during contact. Deterministic in its inputs.
 */
export function generateClip(params: ClipParams, fps: number, rootHeightM: number, squeezeM: number): Clip {
  const T = Math.round(PHASES[7] * fps) + 1;
  const clip: Clip = {
    params, fps, length: T,
    root: new Float64Array(T * 7), q: new Float64Array(T * NUM_DOFS), qExpert: new Float64Array(T * NUM_DOFS),
    box: new Float64Array(T * 4), contact: new Uint8Array(T * 2), phase: new Uint8Array(T),
    releaseFrame: Math.round(PHASES[5] * fps),
  };
  const rp = rootPose(params, rootHeightM);
  const base = [rp.pos[0], rp.pos[1], rp.pos[2]] as const;
  const cy = Math.cos(params.root[2]), sy = Math.sin(params.root[2]);
  /** Counterbalance: while the trunk leans forward, the legs tilt back by COUNTER·|lean| (hips flex, ankles extend by the
   *  same angle, feet stay planted), moving the pelvis back so the centre of mass stays over the feet. */
  const counterAt = (tSec: number) => (params.kind === "lift" ? COUNTERBALANCE : COUNTERBALANCE_PUSH) * Math.abs(params.leanRad) * (phaseU(tSec, PHASES[0], PHASES[1]) - phaseU(tSec, PHASES[5], PHASES[6]));
  const setRoot = (tSec: number) => {
    const a = counterAt(tSec), back = LEG_LENGTH_M * Math.sin(a);
    rp.pos[0] = base[0] - cy * back; rp.pos[1] = base[1] - LEG_LENGTH_M * (1 - Math.cos(a)); rp.pos[2] = base[2] + sy * back;
  };
  const setLegs = (q: Float64Array, tSec: number) => {
    const a = counterAt(tSec);
    q[DOF_INDEX.r_hip_pitch!] = a; q[DOF_INDEX.l_hip_pitch!] = a; q[DOF_INDEX.r_ankle_pitch!] = -a; q[DOF_INDEX.l_ankle_pitch!] = -a;
  };
  const pos = new Float64Array(NUM_BODIES * 3), rot = new Float64Array(NUM_BODIES * 4);
  const qRef = new Float64Array(NUM_DOFS), qExp = new Float64Array(NUM_DOFS);
  const qPre = new Float64Array(NUM_DOFS); // arms at pre-contact at the approach end (joint-space interpolation target)
  const qPost = new Float64Array(NUM_DOFS); // arms at pre-contact at the release end
  const sh = new Float64Array(3), torsoRot = new Float64Array(4), boxP = new Float64Array(4), handW = new Float64Array(3);
  const lumbar = DOF_INDEX.lumbar_pitch!;

  const torsoFor = (q: Float64Array, right: boolean) => {
    forwardKinematics({ rootPosM: rp.pos, rootQuat: rp.quat, q }, pos, rot);
    const u = right ? BODY_INDEX.r_uarm : BODY_INDEX.l_uarm;
    sh[0] = pos[u * 3]!; sh[1] = pos[u * 3 + 1]!; sh[2] = pos[u * 3 + 2]!;
    for (let k = 0; k < 4; k++) torsoRot[k] = rot[BODY_INDEX.torso * 4 + k]!;
  };
  const ikBoth = (q: Float64Array, tSec: number, outM: number) => {
    boxPoseAt(params, tSec, boxP, 0);
    for (const right of [true, false]) {
      torsoFor(q, right);
      solveArmIk(q, sh, torsoRot, right, boxToWorld(boxP, 0, handLocal(params, right, outM)));
    }
  };
  // Pre-contact arm poses at the approach end and the release end (lean fully applied).
  qPre.fill(0); qPre[lumbar] = params.leanRad;
  setRoot(PHASES[1]);
  ikBoth(qPre, PHASES[1], 0.08);
  qPost.set(qPre);
  setRoot(PHASES[5]);
  ikBoth(qPost, PHASES[5], 0.08);
  // Raised waypoints: hands 10 cm in front of the root, 14 cm above the table top, at shoulder width.
  const raisedPoint = (right: boolean): number[] => {
    const c = Math.cos(params.root[2]), sn = Math.sin(params.root[2]);
    const lx = 0.1, lz = right ? 0.2 : -0.2;
    return [base[0] + c * lx + sn * lz, params.tableTopM + 0.14, base[2] - sn * lx + c * lz];
  };
  const leanAt = (tSec: number) => params.leanRad * (phaseU(tSec, PHASES[0], PHASES[1]) - phaseU(tSec, PHASES[5], PHASES[6]));
  const raised = (tSec: number): Float64Array => {
    const q = new Float64Array(NUM_DOFS);
    q[lumbar] = leanAt(tSec);
    setRoot(tSec);
    for (const right of [true, false]) { torsoFor(q, right); solveArmIk(q, sh, torsoRot, right, raisedPoint(right)); }
    return q;
  };
  const qMidIn = raised(0.5 * (PHASES[0] + PHASES[1]));
  const qMidOut = raised(0.5 * (PHASES[5] + PHASES[6]));
  /** Cartesian move of both hands from the raised points to the pre-contact points at box time `boxT` (u: 0 → 1). */
  const raisedToPre = (q: Float64Array, u: number, boxT: number) => {
    boxPoseAt(params, boxT, boxP, 0);
    for (const right of [true, false]) {
      torsoFor(q, right);
      const a = raisedPoint(right), b = boxToWorld(boxP, 0, handLocal(params, right, 0.08));
      solveArmIk(q, sh, torsoRot, right, [a[0]! + (b[0] - a[0]!) * u, a[1]! + (b[1] - a[1]!) * u, a[2]! + (b[2] - a[2]!) * u]);
    }
  };

  const armIdx = [DOF_INDEX.r_shoulder_pitch!, DOF_INDEX.r_shoulder_roll!, DOF_INDEX.r_elbow!, DOF_INDEX.l_shoulder_pitch!, DOF_INDEX.l_shoulder_roll!, DOF_INDEX.l_elbow!];
  qRef.set(qPre); qExp.set(qPre);
  const armPrev = Float64Array.from(qMidIn);
  for (let f = 0; f < T; f++) {
    const t = f / fps;
    let ph = 0;
    while (ph < 7 && t >= PHASES[ph]!) ph++;
    clip.phase[f] = ph;
    boxPoseAt(params, t, clip.box, f * 4);
    const lean = params.leanRad * (phaseU(t, PHASES[0], PHASES[1]) - phaseU(t, PHASES[5], PHASES[6]));
    setRoot(t);
    if (t < PHASES[1]) {
      // idle/approach: joint space rest → raised (hands above the table's front edge) → pre-contact
      const mid = 0.5 * (PHASES[0] + PHASES[1]);
      const u1 = phaseU(t, PHASES[0], mid), u2 = phaseU(t, mid, PHASES[1]);
      qRef.fill(0);
      if (t < mid) for (const i of armIdx) qRef[i] = qMidIn[i]! * u1;
      else { for (const i of armIdx) qRef[i] = armPrev[i]!; qRef[lumbar] = lean; raisedToPre(qRef, u2, PHASES[1]); }
      qRef[lumbar] = lean;
      armPrev.set(qRef);
      qExp.set(qRef);
    } else if (t >= PHASES[5]) {
      // return/hold: joint space pre-contact → raised → rest
      const mid = 0.5 * (PHASES[5] + PHASES[6]);
      const u1 = phaseU(t, PHASES[5], mid), u2 = phaseU(t, mid, PHASES[6]);
      qRef.fill(0);
      if (t < mid) { for (const i of armIdx) qRef[i] = armPrev[i]!; qRef[lumbar] = lean; raisedToPre(qRef, 1 - u1, PHASES[5]); }
      else for (const i of armIdx) qRef[i] = qMidOut[i]! * (1 - u2);
      qRef[lumbar] = lean;
      armPrev.set(qRef);
      qExp.set(qRef);
    } else {
      // reach → manipulate → carry → release: Cartesian hand targets on the (moving) box
      const inU = phaseU(t, PHASES[1], PHASES[2]); // 0 = pre-contact, 1 = on the face
      const outU = phaseU(t, PHASES[4], PHASES[5]);
      const onFace = inU * (1 - outU);
      qRef[lumbar] = lean; qExp[lumbar] = lean;
      ikBoth(qRef, t, 0.08 * (1 - onFace));
      ikBoth(qExp, t, 0.08 * (1 - onFace) - squeezeM * onFace);
      armPrev.set(qRef);
    }
    // Contact flags from the reference pose itself (hand surface within CONTACT_TOL_M of the box), so a kinematic
    // replay matches them exactly.
    forwardKinematics({ rootPosM: rp.pos, rootQuat: rp.quat, q: qRef }, pos, rot);
    const by = clip.box[f * 4 + 3]!;
    const bq = [0, Math.sin(by / 2), 0, Math.cos(by / 2)];
    const bp = [clip.box[f * 4]!, clip.box[f * 4 + 1]!, clip.box[f * 4 + 2]!, ...bq];
    for (const [k, body] of [[0, BODY_INDEX.r_larm], [1, BODY_INDEX.l_larm]] as const) {
      bodyPoint(pos, rot, body, HAND_OFFSET_M[0], HAND_OFFSET_M[1], HAND_OFFSET_M[2], handW, 0);
      clip.contact[f * 2 + k] = distToBox(bp, 0, 3, params.boxHalfM, handW[0]!, handW[1]!, handW[2]!) - HAND_RADIUS_M <= CONTACT_TOL_M ? 1 : 0;
    }
    setLegs(qRef, t); setLegs(qExp, t);
    clip.q.set(qRef, f * NUM_DOFS);
    clip.qExpert.set(qExp, f * NUM_DOFS);
    clip.root.set(rp.pos, f * 7); clip.root.set(rp.quat, f * 7 + 3);
  }
  return clip;
}

export interface ClipFrame { q: Float64Array; root: Float64Array; box: Float64Array; contact: Uint8Array }
const FRAME_VIEWS = new WeakMap<Clip, ClipFrame[]>();

/** Reference joint angles, root pose and box pose of frame f (clamped to the clip). Views are cached: do not mutate. */
export function clipFrame(clip: Clip, f: number): ClipFrame {
  const k = f < 0 ? 0 : f >= clip.length ? clip.length - 1 : f;
  let views = FRAME_VIEWS.get(clip);
  if (!views) { views = new Array<ClipFrame>(clip.length); FRAME_VIEWS.set(clip, views); }
  return views[k] ??= {
    q: clip.q.subarray(k * NUM_DOFS, (k + 1) * NUM_DOFS), root: clip.root.subarray(k * 7, k * 7 + 7),
    box: clip.box.subarray(k * 4, k * 4 + 4), contact: clip.contact.subarray(k * 2, k * 2 + 2),
  };
}
