/** Physics + every registered scene, for study processes and their worker threads. */
import { initPhysics } from '../../sim/physics/index.ts';

/** Load physics and register every scene (idempotent). */
export async function loadScenes(): Promise<void> {
  await initPhysics();
  await import('../../scenes/index.ts');
}
