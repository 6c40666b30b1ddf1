/**
 * Small allocation-light vector and quaternion helpers. Plain `{x,y,z}` / `{x,y,z,w}` objects, the same shape Rapier uses,
 * so values pass between Rapier and our code without conversion. Quaternions are (x, y, z, w), unit, right-handed.
 */
export interface Vec3 { x: number; y: number; z: number }
export interface Quat { x: number; y: number; z: number; w: number }

export const vec3 = (x = 0, y = 0, z = 0): Vec3 => ({ x, y, z });
export const add = (a: Vec3, b: Vec3): Vec3 => ({ x: a.x + b.x, y: a.y + b.y, z: a.z + b.z });
export const sub = (a: Vec3, b: Vec3): Vec3 => ({ x: a.x - b.x, y: a.y - b.y, z: a.z - b.z });
export const scale = (a: Vec3, s: number): Vec3 => ({ x: a.x * s, y: a.y * s, z: a.z * s });
export const dot = (a: Vec3, b: Vec3): number => a.x * b.x + a.y * b.y + a.z * b.z;
export const cross = (a: Vec3, b: Vec3): Vec3 => ({ x: a.y * b.z - a.z * b.y, y: a.z * b.x - a.x * b.z, z: a.x * b.y - a.y * b.x });
export const norm = (a: Vec3): number => Math.sqrt(dot(a, a));
export const dist = (a: Vec3, b: Vec3): number => norm(sub(a, b));
export const normalize = (a: Vec3): Vec3 => { const n = norm(a); return n > 0 ? scale(a, 1 / n) : vec3(); };
export const lerp = (a: Vec3, b: Vec3, t: number): Vec3 => ({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, z: a.z + (b.z - a.z) * t });

export const quatIdentity = (): Quat => ({ x: 0, y: 0, z: 0, w: 1 });

/** Quaternion for a rotation of `angleRad` about a unit `axis`. */
export function quatFromAxisAngle(axis: Vec3, angleRad: number): Quat {
  const h = angleRad / 2, s = Math.sin(h);
  return { x: axis.x * s, y: axis.y * s, z: axis.z * s, w: Math.cos(h) };
}

/** Hamilton product a ⊗ b (apply b, then a). */
export function quatMul(a: Quat, b: Quat): Quat {
  return {
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
  };
}

export const quatConj = (q: Quat): Quat => ({ x: -q.x, y: -q.y, z: -q.z, w: q.w });

/** Rotate vector v by unit quaternion q. */
export function rotate(q: Quat, v: Vec3): Vec3 {
  // v' = v + 2w (u×v) + 2 u×(u×v)
  const u = { x: q.x, y: q.y, z: q.z };
  const t = scale(cross(u, v), 2);
  return add(add(v, scale(t, q.w)), cross(u, t));
}

/** Inverse rotation: express world vector v in the frame q. */
export const rotateInv = (q: Quat, v: Vec3): Vec3 => rotate(quatConj(q), v);

/** Heading (yaw about +Y, the up axis) of a rotation, in radians; 0 looks along +X... by convention forward is +X. */
export function yawOf(q: Quat): number {
  const f = rotate(q, { x: 1, y: 0, z: 0 });
  return Math.atan2(-f.z, f.x);
}

/** Rotation of yawRad about +Y. */
export const quatFromYaw = (yawRad: number): Quat => quatFromAxisAngle({ x: 0, y: 1, z: 0 }, yawRad);

/** Wrap an angle to (-π, π]. */
export function wrapAngle(a: number): number {
  const twoPi = 2 * Math.PI;
  a = a % twoPi;
  if (a <= -Math.PI) a += twoPi;
  else if (a > Math.PI) a -= twoPi;
  return a;
}

export const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/** Rigid transform: p' = p + rotate(q, v). */
export interface Pose { p: Vec3; q: Quat }
export const transformPoint = (pose: Pose, v: Vec3): Vec3 => add(pose.p, rotate(pose.q, v));
export const inverseTransformPoint = (pose: Pose, v: Vec3): Vec3 => rotateInv(pose.q, sub(v, pose.p));
