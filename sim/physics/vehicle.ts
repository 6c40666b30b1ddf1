/**
 * Ray-cast vehicle: a thin wrapper around Rapier's `DynamicRayCastVehicleController` (the only place that creates one).
 *
 * The controller is NOT part of a world snapshot. Its per-update state is recomputed from the chassis every call
 * (ray casts, suspension, friction impulses); only the inputs (steering, engine force, brake) and the visual wheel
 * spin carry over. So a scene keeps the inputs in plain data, stores the controller under a `$` key, and after
 * `restore()` calls `createRaycastVehicle` again on the new world and re-applies the inputs — the physics continues
 * bit-exactly (the wheel spin angle, which only the visuals use, restarts at 0).
 *
 * Axes: chassis local +Y is up (indexUpAxis = 1) and +X is forward (indexForwardAxis = 0), wheels' axles along
 * local Z, suspension rays along −Y.
 */
import type { RigidBody, World } from './index.ts';

export type VehicleController = ReturnType<World['createVehicleController']>;

export interface WheelSpec {
  /** Wheel attachment points in the chassis frame, m (front wheels first). */
  positionsM: [number, number, number][];
  /** Indices (into positionsM) of steered and driven wheels. */
  steered: number[];
  driven: number[];
  radiusM: number;
  suspensionRestM: number;
  suspensionStiffness: number;
  suspensionCompression: number;
  suspensionRelaxation: number;
  maxSuspensionForceN: number;
  maxSuspensionTravelM: number;
  frictionSlip: number;
  sideFrictionStiffness: number;
}

export interface VehicleInputs {
  /** Steering angle of the steered wheels, rad (+ = left). */
  steerRad: number;
  /** Engine force per driven wheel, N (+ = forward). */
  engineN: number;
  /** Brake impulse per wheel, N·s. */
  brake: number;
}

export function createRaycastVehicle(world: World, chassis: RigidBody, spec: WheelSpec): VehicleController {
  const vc = world.createVehicleController(chassis);
  vc.indexUpAxis = 1;
  // The setter is (oddly) named `setIndexForwardAxis` in rapier.js.
  (vc as unknown as { setIndexForwardAxis: number }).setIndexForwardAxis = 0;
  for (let i = 0; i < spec.positionsM.length; i++) {
    const [x, y, z] = spec.positionsM[i]!;
    vc.addWheel({ x, y, z }, { x: 0, y: -1, z: 0 }, { x: 0, y: 0, z: 1 }, spec.suspensionRestM, spec.radiusM);
    vc.setWheelSuspensionStiffness(i, spec.suspensionStiffness);
    vc.setWheelSuspensionCompression(i, spec.suspensionCompression);
    vc.setWheelSuspensionRelaxation(i, spec.suspensionRelaxation);
    vc.setWheelMaxSuspensionForce(i, spec.maxSuspensionForceN);
    vc.setWheelMaxSuspensionTravel(i, spec.maxSuspensionTravelM);
    vc.setWheelFrictionSlip(i, spec.frictionSlip);
    vc.setWheelSideFrictionStiffness(i, spec.sideFrictionStiffness);
  }
  return vc;
}

/** Apply inputs to the wheels (cheap: 2–8 WASM calls). */
export function setVehicleInputs(vc: VehicleController, spec: WheelSpec, u: VehicleInputs): void {
  for (const i of spec.steered) vc.setWheelSteering(i, u.steerRad);
  for (const i of spec.driven) vc.setWheelEngineForce(i, u.engineN);
  for (let i = 0; i < spec.positionsM.length; i++) vc.setWheelBrake(i, u.brake);
}

/** Advance the suspension/tyre model by dt; wheels only ray-cast colliders in `groundGroups`. */
export function updateVehicle(vc: VehicleController, dtSec: number, groundGroups?: number): void {
  vc.updateVehicle(dtSec, undefined, groundGroups);
}

export function freeVehicle(world: World, vc: VehicleController): void {
  world.removeVehicleController(vc);
}
