/**
 * Scene registry. `scenes/index.ts` registers every scene; tools look scenes up by id. Lookup by an unknown id is a
 * one-line error listing the known ids.
 */
import type { SceneConfigBase, SceneDef } from './scene.ts';
import { SceneEnv } from './scene_env.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyScene = SceneDef<any, any>;
const scenes = new Map<string, AnyScene>();

export function registerScene<C extends SceneConfigBase, H>(def: SceneDef<C, H>): void {
  if (scenes.has(def.id) && scenes.get(def.id) !== def) throw new Error(`registry: scene '${def.id}' registered twice`);
  scenes.set(def.id, def as AnyScene);
}

export function getScene(id: string): AnyScene {
  const def = scenes.get(id);
  if (!def) throw new Error(`unknown scene '${id}' (known: ${[...scenes.keys()].sort().join(', ') || 'none'})`);
  return def;
}

export function listScenes(): AnyScene[] {
  return [...scenes.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** A SceneEnv for a registered scene with dotted-path config overrides. */
export function makeEnv(id: string, overrides: Record<string, unknown> = {}): SceneEnv {
  return new SceneEnv(getScene(id), overrides);
}
