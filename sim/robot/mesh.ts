/**
 * Mesh files named by a URDF: where they are (`package://pkg/path`, `file://`, relative to the URDF) and what is in them
 * (STL binary/ASCII and Wavefront OBJ through three.js's own loaders, which parse in Node without a DOM). A mesh is
 * read once per process and shared by the collider (its convex hull) and the viewer (its triangles).
 *
 * A mesh that cannot be found or read is not an error: the caller gets `null` plus a one-line reason and carries on
 * without it (the URDF's other geometry still works). COLLADA (.dae) is not read: convert it to STL or OBJ.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STLLoader } from 'three/examples/jsm/loaders/STLLoader.js';
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js';
import type { BufferGeometry } from 'three';

/** Triangles in the mesh file's own frame and units (scale not applied). */
export interface MeshData {
  /** x, y, z per vertex. */
  positions: Float32Array;
  /** Three vertex indices per triangle. */
  indices: Uint32Array;
}

/** Where a URDF mesh reference points on disk: the first candidate that exists, else the most likely one. */
export function resolveMeshPath(filename: string, urdfFile: string, meshDirs: readonly string[] = []): string {
  const urdfDir = dirname(resolve(urdfFile));
  const candidates: string[] = [];
  if (filename.startsWith('package://')) {
    const rest = filename.slice('package://'.length);
    const slash = rest.indexOf('/');
    const pkg = slash < 0 ? rest : rest.slice(0, slash), rel = slash < 0 ? '' : rest.slice(slash + 1);
    for (const d of meshDirs) candidates.push(join(d, pkg, rel), join(d, rel));
    // A package laid out as <pkg>/urdf/robot.urdf + <pkg>/meshes/…, or the URDF next to its meshes.
    candidates.push(join(urdfDir, '..', rel), join(urdfDir, rel), join(urdfDir, '..', '..', pkg, rel));
  } else if (filename.startsWith('file://')) {
    candidates.push(fileURLToPath(filename));
  } else if (isAbsolute(filename)) {
    candidates.push(filename);
  } else {
    candidates.push(join(urdfDir, filename), ...meshDirs.map((d) => join(d, filename)));
  }
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

const cache = new Map<string, { mesh: MeshData | null; reason: string }>();

function fromGeometry(g: BufferGeometry): MeshData {
  const pos = g.getAttribute('position');
  const positions = new Float32Array(pos.count * 3);
  for (let i = 0; i < pos.count; i++) { positions[i * 3] = pos.getX(i); positions[i * 3 + 1] = pos.getY(i); positions[i * 3 + 2] = pos.getZ(i); }
  const idx = g.getIndex();
  const indices = idx ? Uint32Array.from({ length: idx.count }, (_, i) => idx.getX(i)) : Uint32Array.from({ length: pos.count }, (_, i) => i);
  return { positions, indices };
}

/** Merge indexed meshes into one. */
function merge(parts: MeshData[]): MeshData {
  const nv = parts.reduce((s, p) => s + p.positions.length, 0), ni = parts.reduce((s, p) => s + p.indices.length, 0);
  const positions = new Float32Array(nv), indices = new Uint32Array(ni);
  let ov = 0, oi = 0;
  for (const p of parts) {
    positions.set(p.positions, ov);
    for (let i = 0; i < p.indices.length; i++) indices[oi + i] = p.indices[i]! + ov / 3;
    ov += p.positions.length; oi += p.indices.length;
  }
  return { positions, indices };
}

/**
 * Read a mesh file (cached per path). `null` with a one-line reason when it is missing, unreadable, empty or of a
 * format we do not read.
 */
export function readMesh(path: string): { mesh: MeshData | null; reason: string } {
  const hit = cache.get(path);
  if (hit) return hit;
  let out: { mesh: MeshData | null; reason: string };
  const ext = path.toLowerCase().split('.').pop();
  try {
    if (ext !== 'stl' && ext !== 'obj') {
      out = { mesh: null, reason: `.${ext} meshes are not read (convert ${path} to STL or OBJ)` };
    } else {
      const bytes = readFileSync(path);
      let mesh: MeshData;
      if (ext === 'stl') {
        const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        mesh = fromGeometry(new STLLoader().parse(ab));
      } else {
        const group = new OBJLoader().parse(bytes.toString('utf8'));
        const parts: MeshData[] = [];
        group.traverse((o) => { const g = (o as { geometry?: BufferGeometry }).geometry; if (g) parts.push(fromGeometry(g)); });
        mesh = merge(parts);
      }
      const finite = mesh.positions.every(Number.isFinite);
      out = mesh.indices.length < 3 || !finite
        ? { mesh: null, reason: `${path} has no ${finite ? 'triangles' : 'finite vertices'}` }
        : { mesh, reason: '' };
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    out = { mesh: null, reason: code === 'ENOENT' ? `${path} not found` : `${path} cannot be read (${code ?? (e as Error).message.split('\n')[0]})` };
  }
  cache.set(path, out);
  return out;
}
