/**
 * Depth camera by Rapier ray casts: a pinhole camera with W×H rays, float32 metres along each ray (not z-depth),
 * `maxRangeM` where nothing is hit. Ray directions in the camera frame are precomputed once; per frame only the
 * camera pose rotates them. Camera frame: looks along −Z, +Y up (three.js convention).
 */
import type { Rng } from '../math/rng.ts';
import { rotate, type Quat, type Vec3 } from '../math/vec.ts';
import { rapier, type World } from '../physics/index.ts';
import { OBS_DEPTH, type FeatureSpec } from '../core/features.ts';

export interface DepthCameraConfig {
  /** Image width in pixels. */
  widthPx: number;
  /** Image height in pixels. */
  heightPx: number;
  /** Vertical field of view in degrees. */
  fovDeg: number;
  /** Max range in metres; pixels with no hit read this value. */
  maxRangeM: number;
  /** Gaussian noise std per pixel, metres (0 = noiseless). */
  noiseStdM: number;
}

export function depthFeature(cfg: DepthCameraConfig): FeatureSpec {
  return { kind: 'depth', shape: [cfg.heightPx, cfg.widthPx], dtype: 'float32', low: 0, high: cfg.maxRangeM, units: 'm' };
}

/**
 * Unit ray directions of a pinhole camera in its own frame (looks along −Z, +Y up), 3 per pixel, row-major from the
 * top-left, through pixel centres; `fovDeg` is the vertical field of view.
 */
export function pinholeRayDirs(widthPx: number, heightPx: number, fovDeg: number): Float64Array {
  const W = widthPx, H = heightPx;
  const dirs = new Float64Array(W * H * 3);
  const tanY = Math.tan((fovDeg * Math.PI) / 360);
  const tanX = tanY * (W / H);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const x = ((c + 0.5) / W * 2 - 1) * tanX;
      const y = (1 - (r + 0.5) / H * 2) * tanY;
      const n = Math.hypot(x, y, 1);
      const i = (r * W + c) * 3;
      dirs[i] = x / n; dirs[i + 1] = y / n; dirs[i + 2] = -1 / n;
    }
  }
  return dirs;
}

export class DepthCamera {
  readonly key = OBS_DEPTH;
  /** Unit ray directions in the camera frame, 3 per pixel, row-major from the top-left. */
  private readonly dirs: Float64Array;

  constructor(readonly cfg: DepthCameraConfig) {
    this.dirs = pinholeRayDirs(cfg.widthPx, cfg.heightPx, cfg.fovDeg);
  }

  get feature(): FeatureSpec { return depthFeature(this.cfg); }

  /**
   * Render depth from a camera at `p` with orientation `q` (camera frame → world). `excludeGroups` is an optional
   * Rapier interaction-groups filter (e.g. to hide the robot's own links). Writes into `out` when given.
   */
  render(world: World, p: Vec3, q: Quat, rng?: Rng, out?: Float32Array, filterGroups?: number): Float32Array {
    const R = rapier();
    const { widthPx: W, heightPx: H, maxRangeM, noiseStdM } = this.cfg;
    const img = out ?? new Float32Array(W * H);
    const ray = new R.Ray({ x: p.x, y: p.y, z: p.z }, { x: 0, y: 0, z: -1 });
    const d = { x: 0, y: 0, z: 0 };
    for (let i = 0, n = W * H; i < n; i++) {
      d.x = this.dirs[i * 3]!; d.y = this.dirs[i * 3 + 1]!; d.z = this.dirs[i * 3 + 2]!;
      const w = rotate(q, d);
      ray.dir.x = w.x; ray.dir.y = w.y; ray.dir.z = w.z;
      const hit = world.castRay(ray, maxRangeM, true, R.QueryFilterFlags.EXCLUDE_SENSORS, filterGroups);
      let v = hit ? hit.timeOfImpact : maxRangeM;
      if (noiseStdM > 0 && rng) v += rng.normal(0, noiseStdM);
      img[i] = v < 0 ? 0 : v > maxRangeM ? maxRangeM : v;
    }
    return img;
  }
}
