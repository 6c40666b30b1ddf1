/**
 * Proprioception helpers: body pose and velocity read-outs, expressed in a stated frame.
 * - `bodyState(world, handle)`: world-frame position (m), orientation (quat), linear (m/s) and angular (rad/s) velocity.
 * - `inHeadingFrame`: rotate a world vector into the yaw-only frame of a reference body (the frame used for humanoid
 *   and vehicle observations, invariant to the heading).
 */
import { quatFromYaw, rotateInv, yawOf, type Quat, type Vec3 } from '../math/vec.ts';
import type { World } from '../physics/index.ts';

export interface BodyState { p: Vec3; q: Quat; v: Vec3; w: Vec3 }

export function bodyState(world: World, handle: number): BodyState {
  const b = world.getRigidBody(handle);
  if (!b) throw new Error(`proprio: unknown body handle ${handle}`);
  const t = b.translation(), r = b.rotation(), v = b.linvel(), w = b.angvel();
  return { p: { x: t.x, y: t.y, z: t.z }, q: { x: r.x, y: r.y, z: r.z, w: r.w }, v: { x: v.x, y: v.y, z: v.z }, w: { x: w.x, y: w.y, z: w.z } };
}

/** Express world vector `v` in the heading (yaw-only) frame of orientation `q`. */
export function inHeadingFrame(q: Quat, v: Vec3): Vec3 {
  return rotateInv(quatFromYaw(yawOf(q)), v);
}
