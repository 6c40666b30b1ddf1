/**
 * The 3D stage: draws any scene from a RenderScene (once per episode) and RenderFrames (per step).
 *
 * - Bodies: one InstancedMesh per (shape, size, opacity) group, per-instance colour; visual id → (mesh, index).
 *   Static visuals are placed once from their `pose`; frames carry the dynamic ones.
 * - A big static box whose top is near y = 0 is the ground: drawn as a shaded plane with a 1 m grid instead.
 * - Overlays (markers, zones, polylines, arrows, frusta, ghosts) are kept by overlay id and updated in place.
 * - Orbit camera (three's OrbitControls) with an optional follow mode that carries the camera along with one body.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import type { Overlay, RenderFrame, RenderScene, RenderShape, RenderVisual } from '../../sim/core/render.ts';

export interface StageOptions {
  /** Shadow map size in texels (0 = no shadows). */
  shadowMapSize: number;
  antialias: boolean;
  /**
   * 'fast' (software GL such as SwiftShader, where every vertex and shadow-map texel costs CPU): Lambert shading,
   * low-poly curved shapes, and soft blob shadows under each body instead of a shadow map. 'high': PBR + soft shadows.
   */
  quality: 'fast' | 'high';
  /** Experimental knobs (benchmarks): skip blob shadows / tone mapping / ground texture. */
  noBlobs?: boolean;
  noToneMapping?: boolean;
  plainGround?: boolean;
}

/** True when WebGL runs on a CPU rasteriser (SwiftShader, llvmpipe): the stage then picks the 'fast' profile. */
export function softwareGl(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (!gl) return false;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software/i.test(name);
  } catch {
    return false;
  }
}

/** Defaults for this machine: full quality on a GPU, the cheap profile on a software rasteriser. */
export function defaultStageOptions(): StageOptions {
  return softwareGl() ? { shadowMapSize: 0, antialias: false, quality: 'fast' } : { shadowMapSize: 2048, antialias: true, quality: 'high' };
}

interface Slot { mesh: THREE.InstancedMesh; index: number }

/** Overlays drawn in the 3D scene (HUD bars are drawn by the page, not here). */
type SceneOverlay = Exclude<Overlay, { kind: 'bar' }>;

const GROUND_MIN_HALF_M = 8;
/** Scenes whose bodies spread wider than this (m) are framed around the followed body instead. */
const LARGE_SCENE_M = 25;
const FOLLOW_RADIUS_M = 10;
/** Blob shadows ('fast' profile) only under bodies whose centre is this close to their support, metres. */
const BLOB_MAX_HEIGHT_M = 0.45;

function isGroundVisual(v: RenderVisual): boolean {
  if (v.shape.kind === 'ground') return true;
  return v.isStatic && v.shape.kind === 'box' && v.shape.halfExtentsM[0] >= GROUND_MIN_HALF_M && v.shape.halfExtentsM[2] >= GROUND_MIN_HALF_M
    && v.shape.halfExtentsM[1] <= 0.5;
}

function shapeKey(s: RenderShape): string {
  const r = (x: number) => x.toFixed(4);
  switch (s.kind) {
    case 'box': return `box:${s.halfExtentsM.map(r).join(',')}`;
    case 'sphere': return `sphere:${r(s.radiusM)}`;
    case 'capsule': return `capsule:${r(s.radiusM)},${r(s.halfHeightM)}`;
    case 'cylinder': return `cylinder:${r(s.radiusM)},${r(s.halfHeightM)}`;
    case 'wheel': return `wheel:${r(s.radiusM)},${r(s.widthM)}`;
    case 'ground': return 'ground';
    case 'mesh': return `mesh:${s.meshId}`;
  }
}

/** Bounding radius and lowest y of a mesh about its own origin (computed once per mesh id). */
const meshBounds = new Map<string, { radius: number; halfY: number }>();
function boundsOfMesh(s: Extract<RenderShape, { kind: 'mesh' }>): { radius: number; halfY: number } {
  let b = meshBounds.get(s.meshId);
  if (!b) {
    let r2 = 0, yMin = 0, yMax = 0;
    for (let i = 0; i < s.positions.length; i += 3) {
      const x = s.positions[i]!, y = s.positions[i + 1]!, z = s.positions[i + 2]!;
      r2 = Math.max(r2, x * x + y * y + z * z); yMin = Math.min(yMin, y); yMax = Math.max(yMax, y);
    }
    b = { radius: Math.sqrt(r2), halfY: Math.max(-yMin, yMax) };
    meshBounds.set(s.meshId, b);
  }
  return b;
}

export function geometryFor(s: RenderShape, lowPoly = false): THREE.BufferGeometry {
  const seg = lowPoly ? 10 : 24;
  switch (s.kind) {
    case 'box': return new THREE.BoxGeometry(2 * s.halfExtentsM[0], 2 * s.halfExtentsM[1], 2 * s.halfExtentsM[2]);
    case 'sphere': return new THREE.SphereGeometry(s.radiusM, seg, lowPoly ? 7 : 16);
    case 'capsule': return lowPoly ? new THREE.CapsuleGeometry(s.radiusM, 2 * s.halfHeightM, 2, 8) : new THREE.CapsuleGeometry(s.radiusM, 2 * s.halfHeightM, 6, 16);
    case 'cylinder': return new THREE.CylinderGeometry(s.radiusM, s.radiusM, 2 * s.halfHeightM, seg);
    case 'wheel': {
      const g = new THREE.CylinderGeometry(s.radiusM, s.radiusM, s.widthM, seg);
      g.rotateZ(Math.PI / 2); // axis along local X
      return g;
    }
    case 'ground': return new THREE.PlaneGeometry(1, 1);
    case 'mesh': {
      // Flat-shaded: split the triangles so each face gets its own normal (CAD meshes share vertices across edges).
      const g = new THREE.BufferGeometry();
      g.setAttribute('position', new THREE.Float32BufferAttribute(s.positions, 3));
      g.setIndex(s.indices);
      const flat = g.toNonIndexed();
      g.dispose();
      flat.computeVertexNormals();
      return flat;
    }
  }
}

/** Half height of an upright shape, metres (where the floor goes under a table-top scene). */
function verticalHalf(s: RenderShape): number {
  switch (s.kind) {
    case 'box': return s.halfExtentsM[1];
    case 'sphere': return s.radiusM;
    case 'capsule': case 'cylinder': return s.halfHeightM + s.radiusM;
    case 'wheel': return s.radiusM;
    case 'ground': return 0;
    case 'mesh': return boundsOfMesh(s).halfY;
  }
}

/** Rough bounding radius of a shape, metres (camera framing). */
function shapeRadius(s: RenderShape): number {
  switch (s.kind) {
    case 'box': return Math.hypot(...s.halfExtentsM);
    case 'sphere': return s.radiusM;
    case 'capsule': case 'cylinder': return s.halfHeightM + s.radiusM;
    case 'wheel': return Math.max(s.radiusM, s.widthM / 2);
    case 'ground': return 0;
    case 'mesh': return boundsOfMesh(s).radius;
  }
}

export interface StageStats {
  /** Instances drawn for bodies (static + dynamic, ground excluded). */
  instances: number;
  /** Instances that move with frames (non-static visuals). */
  dynamicInstances: number;
  /** Bodies (ids) in the last applied frame. */
  frameBodies: number;
  /** Step of the last applied frame (-1 before the first). */
  frameStep: number;
  overlays: number;
  drawCalls: number;
  /** Frames drawn since the stage was created. */
  drawn: number;
  /** Instances drawn from triangle-mesh visuals (e.g. a URDF link's mesh) and their triangles in total. */
  meshInstances: number;
  meshTriangles: number;
}

export class Stage {
  readonly renderer: THREE.WebGLRenderer;
  readonly scene = new THREE.Scene();
  readonly camera: THREE.PerspectiveCamera;
  readonly controls: OrbitControls;
  private sun: THREE.DirectionalLight;
  private bodies = new THREE.Group();
  private overlayRoot = new THREE.Group();
  private ground: THREE.Group;
  private slots = new Map<number, Slot>();
  /** 'fast' profile: one soft disc on the floor under each body (index = order of `blobIds`). */
  private blobs: THREE.InstancedMesh | null = null;
  private blobIds: number[] = [];
  private blobRadius: number[] = [];
  /** Tops of static boxes (tables, shelves): blobs land on the highest one under a body. [minX, maxX, minZ, maxZ, topY] */
  private platforms: [number, number, number, number, number][] = [];
  private meshes: THREE.InstancedMesh[] = [];
  private visuals = new Map<number, RenderVisual>();
  private overlays = new Map<string, { kind: string; obj: THREE.Object3D; sig: string }>();
  private lastFrame: RenderFrame | null = null;
  private framed = false;
  private followId: number | null = null;
  private followLast = new THREE.Vector3();
  private followOn = false;
  private drawnCount = 0;
  private readonly m4 = new THREE.Matrix4();
  private readonly v3 = new THREE.Vector3();
  private readonly q4 = new THREE.Quaternion();
  private readonly one = new THREE.Vector3(1, 1, 1);
  /** Called after each draw (for the sim→draw delay). */
  onDraw: ((nowMs: number) => void) | null = null;
  /** Overlay key ('marker:<id>') the user may drag on its horizontal plane, and what to call when dropped. */
  private dragKey: string | null = null;
  private dragging = false;
  private dragPlane = new THREE.Plane(new THREE.Vector3(0, 1, 0), 0);
  private readonly raycaster = new THREE.Raycaster();
  onDragMove: ((p: [number, number, number]) => void) | null = null;
  onDragEnd: ((p: [number, number, number]) => void) | null = null

  constructor(private canvas: HTMLCanvasElement, private opts: StageOptions = defaultStageOptions()) {
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: opts.antialias, preserveDrawingBuffer: true, powerPreference: 'high-performance' });
    this.renderer.setPixelRatio(opts.quality === 'fast' ? 1 : Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.shadowMap.enabled = opts.shadowMapSize > 0;
    this.renderer.shadowMap.type = opts.quality === 'fast' ? THREE.PCFShadowMap : THREE.PCFSoftShadowMap;
    // Tone mapping costs a few per-pixel operations a CPU rasteriser notices: high quality only.
    this.renderer.toneMapping = opts.noToneMapping || opts.quality === 'fast' ? THREE.NoToneMapping : THREE.ACESFilmicToneMapping;
    this.renderer.toneMappingExposure = 1.05;
    const bg = new THREE.Color('#cfd8e3');
    this.scene.background = bg;
    this.scene.fog = new THREE.Fog(bg, 40, 140);

    this.camera = new THREE.PerspectiveCamera(50, 1, 0.02, 500);
    this.camera.position.set(2.5, 2.2, 3.5);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.enableDamping = true;
    this.controls.dampingFactor = 0.12;
    this.controls.maxPolarAngle = Math.PI * 0.495;
    this.controls.target.set(0, 0.3, 0);

    const hemi = new THREE.HemisphereLight('#ffffff', '#8d96a3', 1.6);
    this.scene.add(hemi);
    this.sun = new THREE.DirectionalLight('#fff6e8', 2.4);
    this.sun.position.set(6, 12, 4);
    this.sun.castShadow = opts.shadowMapSize > 0;
    this.sun.shadow.mapSize.set(opts.shadowMapSize || 1, opts.shadowMapSize || 1);
    this.sun.shadow.bias = -0.0004;
    this.sun.shadow.normalBias = 0.02;
    this.scene.add(this.sun, this.sun.target);

    this.ground = this.makeGround();
    this.scene.add(this.ground, this.bodies, this.overlayRoot, this.trailRoot);
    this.resize();
    this.bindDrag();
  }

  // --- dragging an overlay (steering) ------------------------------------------------------------------------------

  /** Let the user drag the marker overlay `id` (null = nothing draggable). */
  setDraggable(id: string | null): void {
    this.dragKey = id === null ? null : `marker:${id}`;
    if (!id) this.dragging = false;
  }

  get isDragging(): boolean { return this.dragging; }

  private ndc(ev: PointerEvent): THREE.Vector2 {
    const r = this.canvas.getBoundingClientRect();
    return new THREE.Vector2(((ev.clientX - r.left) / r.width) * 2 - 1, -((ev.clientY - r.top) / r.height) * 2 + 1);
  }

  private bindDrag(): void {
    const c = this.canvas;
    c.addEventListener('pointerdown', (ev) => {
      const o = this.dragKey ? this.overlays.get(this.dragKey) : undefined;
      if (!o || ev.button !== 0) return;
      this.raycaster.setFromCamera(this.ndc(ev), this.camera);
      if (!this.raycaster.intersectObject(o.obj, true).length) return;
      this.dragging = true;
      this.dragPlane.set(new THREE.Vector3(0, 1, 0), -o.obj.position.y);
      this.controls.enabled = false;
      c.setPointerCapture(ev.pointerId);
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }, { capture: true });
    c.addEventListener('pointermove', (ev) => {
      if (!this.dragging || !this.dragKey) return;
      const o = this.overlays.get(this.dragKey);
      if (!o) return;
      this.raycaster.setFromCamera(this.ndc(ev), this.camera);
      const hit = this.raycaster.ray.intersectPlane(this.dragPlane, new THREE.Vector3());
      if (!hit) return;
      o.obj.position.set(hit.x, o.obj.position.y, hit.z);
      this.onDragMove?.([hit.x, o.obj.position.y, hit.z]);
    });
    const end = (ev: PointerEvent) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.controls.enabled = true;
      if (c.hasPointerCapture(ev.pointerId)) c.releasePointerCapture(ev.pointerId);
      const o = this.dragKey ? this.overlays.get(this.dragKey) : undefined;
      if (o) this.onDragEnd?.([o.obj.position.x, o.obj.position.y, o.obj.position.z]);
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
  }

  /** Where a world point appears on the page (client px), or null when behind the camera (tests drag with it). */
  screenOf(p: [number, number, number]): [number, number] | null {
    const v = new THREE.Vector3(...p).project(this.camera);
    if (v.z > 1) return null;
    const r = this.canvas.getBoundingClientRect();
    return [r.left + ((v.x + 1) / 2) * r.width, r.top + ((1 - v.y) / 2) * r.height];
  }

  /** Position of a drawn overlay ('kind:id'), or null. */
  overlayPosition(key: string): [number, number, number] | null {
    const o = this.overlays.get(key);
    return o ? [o.obj.position.x, o.obj.position.y, o.obj.position.z] : null;
  }

  /** Overlay keys drawn now ('kind:id'). */
  overlayKeys(): string[] { return [...this.overlays.keys()]; }

  // --- necks ----------------------------------------------------------------------------------------------------

  /**
   * Humanoids: each 'head' visual is joined to its 'torso' (the nearest one) by a drawn neck, so the head does not
   * float. Drawing only: the physics has no neck collider.
   */
  private necks: { mesh: THREE.InstancedMesh; pairs: [number, number][] } | null = null;

  private makeNecks(rs: RenderScene): void {
    const heads = rs.visuals.filter((v) => !v.isStatic && /(^|[/:._-])head$/.test(v.name) && v.pose);
    const torsos = rs.visuals.filter((v) => !v.isStatic && /(^|[/:._-])torso$/.test(v.name) && v.pose);
    if (!heads.length || !torsos.length) return;
    const pairs: [number, number][] = heads.map((h) => {
      let best = torsos[0]!, bd = Infinity;
      for (const t of torsos) {
        const d = Math.hypot(h.pose![0]! - t.pose![0]!, h.pose![1]! - t.pose![1]!, h.pose![2]! - t.pose![2]!);
        if (d < bd) { bd = d; best = t; }
      }
      return [h.id, best.id];
    });
    const geo = new THREE.CylinderGeometry(1, 1, 1, this.opts.quality === 'fast' ? 8 : 16, 1, true);
    const mesh = new THREE.InstancedMesh(geo, this.material({ color: '#ffffff', roughness: 0.6 }), pairs.length);
    mesh.frustumCulled = false;
    mesh.castShadow = true;
    const c = new THREE.Color();
    pairs.forEach(([hid], i) => { c.set(this.visuals.get(hid)!.color); mesh.setColorAt(i, c); });
    // Not in `meshes`: stats count one instance per body visual.
    this.bodies.add(mesh);
    this.necks = { mesh, pairs };
    this.updateNecks();
  }

  private updateNecks(): void {
    const n = this.necks;
    if (!n) return;
    const hp = new THREE.Vector3(), tp = new THREE.Vector3(), q = new THREE.Quaternion(), sc = new THREE.Vector3(), up = new THREE.Vector3(0, 1, 0);
    n.pairs.forEach(([hid, tid], i) => {
      const hs = this.slots.get(hid), ts = this.slots.get(tid);
      if (!hs || !ts) return;
      hs.mesh.getMatrixAt(hs.index, this.m4); this.m4.decompose(hp, q, sc);
      ts.mesh.getMatrixAt(ts.index, this.m4); this.m4.decompose(tp, q, sc);
      const hv = this.visuals.get(hid)!.shape, r = hv.kind === 'sphere' ? hv.radiusM : 0.1;
      // From inside the torso to inside the head, radius 40% of the head's.
      const d = hp.clone().sub(tp), len = d.length();
      if (len < 1e-6) return;
      const from = tp.clone().addScaledVector(d, 0.35), to = hp.clone().addScaledVector(d, -0.3 * r / len);
      const seg = to.clone().sub(from);
      q.setFromUnitVectors(up, seg.clone().normalize());
      this.m4.compose(from.add(to).multiplyScalar(0.5), q, sc.set(0.4 * r, seg.length(), 0.4 * r));
      n.mesh.setMatrixAt(i, this.m4);
    });
    n.mesh.instanceMatrix.needsUpdate = true;
  }

  // --- trails ----------------------------------------------------------------------------------------------------

  private trailRoot = new THREE.Group();
  private trail: { id: number; pts: number[]; line: THREE.Line } | null = null;
  private trailOn = false;
  /** Trail length, points (one per frame). */
  private static readonly TRAIL_POINTS = 400;

  /** A trajectory trail behind the followed body (toggle). */
  setTrail(on: boolean): void {
    this.trailOn = on;
    this.clearTrail();
  }

  private clearTrail(): void {
    if (this.trail) { this.trailRoot.remove(this.trail.line); disposeTree(this.trail.line); }
    this.trail = null;
  }

  private updateTrail(): void {
    if (!this.trailOn || this.followId === null) return;
    const p = this.poseOf(this.followId);
    if (!p) return;
    if (!this.trail || this.trail.id !== this.followId) {
      this.clearTrail();
      const geo = new THREE.BufferGeometry();
      geo.setAttribute('position', new THREE.BufferAttribute(new Float32Array(Stage.TRAIL_POINTS * 3), 3));
      geo.setDrawRange(0, 0);
      const line = new THREE.Line(geo, new THREE.LineBasicMaterial({ color: '#ff6f00' }));
      line.frustumCulled = false;
      this.trailRoot.add(line);
      this.trail = { id: this.followId, pts: [], line };
    }
    const t = this.trail;
    const last = t.pts.length - 3;
    if (last >= 0 && Math.hypot(p[0]! - t.pts[last]!, p[2]! - t.pts[last + 2]!) < 0.01) return;
    t.pts.push(p[0]!, this.ground.position.y + 0.012, p[2]!);
    if (t.pts.length > Stage.TRAIL_POINTS * 3) t.pts.splice(0, 3);
    const attr = t.line.geometry.getAttribute('position') as THREE.BufferAttribute;
    (attr.array as Float32Array).set(t.pts);
    attr.needsUpdate = true;
    t.line.geometry.setDrawRange(0, t.pts.length / 3);
  }

  /**
   * Ground: one shaded plane with a 1 m / 10 m grid drawn into a repeating texture (not GL lines: long lines crossing
   * the near plane are dropped by some rasterisers, SwiftShader among them).
   */
  private makeGround(): THREE.Group {
    const g = new THREE.Group();
    const px = 1024, cells = 10, cell = px / cells;
    const c = document.createElement('canvas');
    c.width = c.height = px;
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = '#d3d8de';
    ctx.fillRect(0, 0, px, px);
    ctx.fillStyle = '#b4bcc6';
    for (let i = 0; i < cells; i++) { ctx.fillRect(i * cell - 1.5, 0, 3, px); ctx.fillRect(0, i * cell - 1.5, px, 3); }
    ctx.fillStyle = '#8c96a3';
    ctx.fillRect(0, 0, 3, px); ctx.fillRect(px - 3, 0, 3, px); ctx.fillRect(0, 0, px, 3); ctx.fillRect(0, px - 3, px, 3);
    const tex = new THREE.CanvasTexture(c);
    tex.wrapS = tex.wrapT = THREE.RepeatWrapping;
    const sizeM = 400;
    tex.repeat.set(sizeM / cells, sizeM / cells);
    tex.anisotropy = this.opts.quality === 'fast' ? 1 : Math.min(8, this.renderer.capabilities.getMaxAnisotropy());
    // One texel fetch per pixel on a CPU rasteriser (trilinear costs eight).
    if (this.opts.quality === 'fast') tex.minFilter = THREE.NearestMipmapNearestFilter;
    tex.colorSpace = THREE.SRGBColorSpace;
    const plane = new THREE.Mesh(new THREE.PlaneGeometry(sizeM, sizeM), this.material(this.opts.plainGround ? { color: '#cfd5dc', roughness: 0.95 } : { map: tex, roughness: 0.95 }));
    plane.rotation.x = -Math.PI / 2;
    // The texture's 10 m cell corners sit on multiples of 10 m.
    tex.offset.set(0.5 * (sizeM / cells) % 1, 0.5 * (sizeM / cells) % 1);
    plane.receiveShadow = true;
    g.add(plane);
    return g;
  }

  /** A lit material of the stage's quality profile. */
  private material(p: THREE.MeshStandardMaterialParameters): THREE.Material {
    if (this.opts.quality === 'high') return new THREE.MeshStandardMaterial(p);
    const { roughness: _r, metalness: _m, ...rest } = p;
    return new THREE.MeshLambertMaterial(rest);
  }

  resize(): void {
    const w = this.canvas.clientWidth || this.canvas.width, h = this.canvas.clientHeight || this.canvas.height;
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / Math.max(1, h);
    this.camera.updateProjectionMatrix();
  }

  /** Replace every body with the visuals of a new scene (a new episode). */
  setScene(rs: RenderScene): void {
    for (const m of this.meshes) { this.bodies.remove(m); m.geometry.dispose(); (m.material as THREE.Material).dispose(); m.dispose(); }
    this.meshes = [];
    if (this.blobs) { this.bodies.remove(this.blobs); this.blobs.geometry.dispose(); (this.blobs.material as THREE.Material).dispose(); this.blobs.dispose(); this.blobs = null; }
    this.blobIds = [];
    this.blobRadius = [];
    this.slots.clear();
    this.visuals.clear();
    this.clearOverlays();
    this.clearTrail();
    if (this.necks) { this.bodies.remove(this.necks.mesh); this.necks.mesh.geometry.dispose(); (this.necks.mesh.material as THREE.Material).dispose(); this.necks.mesh.dispose(); }
    this.necks = null;
    this.lastFrame = null;
    this.framed = false;
    this.ground.position.y = 0;

    const groups = new Map<string, RenderVisual[]>();
    // Without a ground visual (e.g. a table-top scene) the floor goes just below the lowest static visual.
    let hasGround = false, lowest = Infinity;
    for (const v of rs.visuals) {
      if (isGroundVisual(v)) hasGround = true;
      else if (v.isStatic && v.pose) lowest = Math.min(lowest, v.pose[1]! - verticalHalf(v.shape));
    }
    if (!hasGround && Number.isFinite(lowest) && lowest < 0) this.ground.position.y = lowest - 0.002;
    for (const v of rs.visuals) {
      this.visuals.set(v.id, v);
      if (isGroundVisual(v)) {
        if (v.pose && v.shape.kind === 'box') this.ground.position.y = v.pose[1]! + v.shape.halfExtentsM[1];
        continue;
      }
      const key = `${shapeKey(v.shape)}|${v.opacity ?? 1}`;
      let list = groups.get(key);
      if (!list) groups.set(key, (list = []));
      list.push(v);
    }
    for (const list of groups.values()) {
      const first = list[0]!;
      const opacity = first.opacity ?? 1;
      const mat = this.material({ color: '#ffffff', roughness: 0.55, metalness: 0.05, transparent: opacity < 1, opacity });
      const mesh = new THREE.InstancedMesh(geometryFor(first.shape, this.opts.quality === 'fast'), mat, list.length);
      if (first.shape.kind === 'mesh') mesh.userData.meshTriangles = first.shape.indices.length / 3;
      mesh.castShadow = opacity >= 1;
      mesh.receiveShadow = true;
      mesh.frustumCulled = false;
      const color = new THREE.Color();
      list.forEach((v, i) => {
        color.set(v.color);
        mesh.setColorAt(i, color);
        this.slots.set(v.id, { mesh, index: i });
        if (v.pose) this.setPose(mesh, i, v.pose, 0);
        else mesh.setMatrixAt(i, this.m4.identity());
      });
      mesh.instanceMatrix.needsUpdate = true;
      if (mesh.instanceColor) mesh.instanceColor.needsUpdate = true;
      this.bodies.add(mesh);
      this.meshes.push(mesh);
    }
    this.makeNecks(rs);
    if (this.opts.quality === 'fast' && !this.opts.noBlobs) this.makeBlobs(rs.visuals.filter((v) => !isGroundVisual(v) && (v.opacity ?? 1) >= 1));
    // Follow the first dynamic visual whose name suggests a base, else the first dynamic one.
    const dyn = rs.visuals.filter((v) => !v.isStatic && !isGroundVisual(v));
    const base = dyn.find((v) => /pelvis|torso|base|chassis|body|ego|ball/i.test(v.name)) ?? dyn[0];
    this.followId = base ? base.id : null;
    this.followOn = false;
    this.followLast.set(NaN, NaN, NaN);
    this.controls.target.set(rs.focus[0], rs.focus[1], rs.focus[2]);
  }

  private makeBlobs(vs: RenderVisual[]): void {
    if (!vs.length) return;
    // A disc whose vertex alpha fades from the centre to the rim (no texture fetch).
    const rings = [[0, 0.42], [0.55, 0.22], [1, 0]] as const, sides = 20;
    const pos: number[] = [], col: number[] = [], idx: number[] = [];
    pos.push(0, 0, 0); col.push(0, 0, 0, rings[0][1]);
    for (let r = 1; r < rings.length; r++) {
      for (let k = 0; k < sides; k++) {
        const a = (2 * Math.PI * k) / sides;
        pos.push(rings[r]![0] * Math.cos(a), 0, rings[r]![0] * Math.sin(a));
        col.push(0, 0, 0, rings[r]![1]);
      }
    }
    for (let k = 0; k < sides; k++) {
      const k1 = (k + 1) % sides;
      idx.push(0, 1 + k1, 1 + k);
      for (let r = 1; r + 1 < rings.length; r++) {
        const a0 = 1 + (r - 1) * sides, b0 = 1 + r * sides;
        idx.push(a0 + k, a0 + k1, b0 + k, a0 + k1, b0 + k1, b0 + k);
      }
    }
    const geo = new THREE.BufferGeometry();
    geo.setAttribute('position', new THREE.Float32BufferAttribute(pos, 3));
    geo.setAttribute('color', new THREE.Float32BufferAttribute(col, 4));
    geo.setIndex(idx);
    const mat = new THREE.MeshBasicMaterial({ vertexColors: true, transparent: true, depthWrite: false, toneMapped: false, side: THREE.DoubleSide });
    this.blobs = new THREE.InstancedMesh(geo, mat, vs.length);
    this.blobs.frustumCulled = false;
    this.blobs.renderOrder = -1;
    this.blobIds = vs.map((v) => v.id);
    this.platforms = vs.filter((v) => v.isStatic && v.shape.kind === 'box' && v.pose).map((v) => {
      const h = (v.shape as { halfExtentsM: [number, number, number] }).halfExtentsM, p = v.pose!;
      return [p[0]! - h[0], p[0]! + h[0], p[2]! - h[2], p[2]! + h[2], p[1]! + h[1]];
    });
    this.blobRadius = vs.map((v) => {
      const sh = v.shape;
      if (sh.kind === 'box') return v.isStatic ? Math.max(sh.halfExtentsM[0], sh.halfExtentsM[2]) * 1.08 : Math.hypot(sh.halfExtentsM[0], sh.halfExtentsM[2]) * 1.15;
      return Math.max(0.05, shapeRadius(sh) * 0.9);
    });
    this.bodies.add(this.blobs);
    this.updateBlobs();
  }

  /** Place each blob under its body on the floor or the table top below it; it shrinks as the body rises. */
  private updateBlobs(): void {
    const b = this.blobs;
    if (!b) return;
    const floor = this.ground.position.y + 0.004;
    const p = new THREE.Vector3(), q = new THREE.Quaternion(), sc = new THREE.Vector3();
    for (let i = 0; i < this.blobIds.length; i++) {
      const slot = this.slots.get(this.blobIds[i]!);
      if (!slot) continue;
      slot.mesh.getMatrixAt(slot.index, this.m4);
      this.m4.decompose(p, q, sc);
      let base = floor;
      for (const [x0, x1, z0, z1, top] of this.platforms) {
        if (p.x >= x0 && p.x <= x1 && p.z >= z0 && p.z <= z1 && top <= p.y + 1e-3 && top + 0.004 > base) base = top + 0.004;
      }
      const h = Math.max(0, p.y - base);
      // Only bodies near their support cast a blob (the rest would be hidden under them anyway: no overdraw).
      const k = h > BLOB_MAX_HEIGHT_M + this.blobRadius[i]! ? 0 : this.blobRadius[i]! * (1 - h / (2 * (BLOB_MAX_HEIGHT_M + this.blobRadius[i]!)));
      this.m4.compose(this.v3.set(p.x, base, p.z), this.q4.identity(), sc.set(k, 1, k));
      b.setMatrixAt(i, this.m4);
    }
    b.instanceMatrix.needsUpdate = true;
  }

  private setPose(mesh: THREE.InstancedMesh, index: number, poses: ArrayLike<number>, o: number): void {
    this.v3.set(poses[o]!, poses[o + 1]!, poses[o + 2]!);
    this.q4.set(poses[o + 3]!, poses[o + 4]!, poses[o + 5]!, poses[o + 6]!);
    this.m4.compose(this.v3, this.q4, this.one);
    mesh.setMatrixAt(index, this.m4);
  }

  /** Apply one frame: body poses and overlays (the draw happens on the next animation frame). */
  setFrame(f: RenderFrame): void {
    const touched = new Set<THREE.InstancedMesh>();
    for (let i = 0; i < f.ids.length; i++) {
      const slot = this.slots.get(f.ids[i]!);
      if (!slot) continue;
      this.setPose(slot.mesh, slot.index, f.poses, i * 7);
      touched.add(slot.mesh);
    }
    for (const m of touched) m.instanceMatrix.needsUpdate = true;
    if (touched.size) { this.updateBlobs(); this.updateNecks(); }
    this.updateOverlays(f.overlays ?? []);
    this.lastFrame = f;
    this.updateTrail();
    if (!this.framed) { this.frameAll(); this.framed = true; }
    if (this.followOn) this.follow();
  }

  get following(): boolean { return this.followOn; }

  setFollow(on: boolean): void {
    this.followOn = on;
    this.followLast.set(NaN, NaN, NaN);
    if (on) this.follow();
  }

  private follow(): void {
    if (this.followId === null) return;
    const p = this.poseOf(this.followId);
    if (!p) return;
    const cur = new THREE.Vector3(p[0], p[1], p[2]);
    if (Number.isNaN(this.followLast.x)) {
      // Re-centre on the body once, keeping the camera's offset.
      const offset = this.camera.position.clone().sub(this.controls.target);
      this.controls.target.copy(cur);
      this.camera.position.copy(cur).add(offset);
    } else {
      const d = cur.clone().sub(this.followLast);
      this.controls.target.add(d);
      this.camera.position.add(d);
    }
    this.followLast.copy(cur);
  }

  /** Point the camera so every body (ground excluded) fits the view. */
  frameAll(): void {
    const box = new THREE.Box3();
    let any = false;
    // Frame what moves (and the task's markers/zones); static furniture only when nothing moves.
    const anyDynamic = [...this.visuals.values()].some((v) => !v.isStatic && !isGroundVisual(v));
    for (const [id, v] of this.visuals) {
      if (isGroundVisual(v) || (anyDynamic && v.isStatic)) continue;
      const p = this.poseOf(id);
      if (!p) continue;
      const r = Math.min(shapeRadius(v.shape), 5);
      box.expandByPoint(new THREE.Vector3(p[0] - r, p[1] - r, p[2] - r));
      box.expandByPoint(new THREE.Vector3(p[0] + r, p[1] + r, p[2] + r));
      any = true;
    }
    for (const o of this.overlays.values()) {
      if (o.kind === 'marker' || o.kind === 'zone') { box.expandByPoint(o.obj.position); any = true; }
    }
    if (!any) return;
    const sphere = box.getBoundingSphere(new THREE.Sphere());
    // A large world (driving): frame the followed body's surroundings and follow it.
    const followPose = this.followId !== null ? this.poseOf(this.followId) : null;
    if (sphere.radius > LARGE_SCENE_M && followPose) {
      sphere.center.set(followPose[0]!, followPose[1]!, followPose[2]!);
      sphere.radius = FOLLOW_RADIUS_M;
      this.followOn = true;
    }
    const radius = Math.max(sphere.radius, 0.6);
    const dist = (radius / Math.sin(THREE.MathUtils.degToRad(this.camera.fov / 2))) * 1.2;
    const target = sphere.center.clone();
    target.y = Math.max(target.y, this.ground.position.y + 0.1);
    const dir = new THREE.Vector3(-0.85, 0.6, 0.8).normalize();
    this.controls.target.copy(target);
    this.camera.position.copy(target).addScaledVector(dir, dist);
    this.camera.near = Math.max(0.03, dist / 60);
    this.camera.far = Math.max(200, dist * 20);
    this.camera.updateProjectionMatrix();
    const fog = this.scene.fog as THREE.Fog;
    fog.near = Math.max(40, dist * 3);
    fog.far = Math.max(140, dist * 8);
    // Shadow camera covers the framed region.
    const s = Math.max(radius * 1.6, 3);
    const cam = this.sun.shadow.camera;
    cam.left = -s; cam.right = s; cam.top = s; cam.bottom = -s; cam.near = 0.5; cam.far = 60 + s * 2;
    cam.updateProjectionMatrix();
    this.sun.target.position.copy(target);
    this.sun.position.copy(target).add(new THREE.Vector3(3, 14, 4));
    this.followLast.set(NaN, NaN, NaN);
  }

  /** The drawn pose [x, y, z, qx, qy, qz, qw] of a visual, or null when not drawn. */
  poseOf(id: number): number[] | null {
    const slot = this.slots.get(id);
    if (!slot) return null;
    slot.mesh.getMatrixAt(slot.index, this.m4);
    const p = new THREE.Vector3(), q = new THREE.Quaternion(), s = new THREE.Vector3();
    this.m4.decompose(p, q, s);
    return [p.x, p.y, p.z, q.x, q.y, q.z, q.w];
  }

  stats(): StageStats {
    let instances = 0, meshInstances = 0, meshTriangles = 0;
    for (const m of this.meshes) {
      instances += m.count;
      const t = m.userData.meshTriangles as number | undefined;
      if (t !== undefined) { meshInstances += m.count; meshTriangles += t * m.count; }
    }
    let dyn = 0;
    for (const v of this.visuals.values()) if (!v.isStatic && this.slots.has(v.id)) dyn++;
    return {
      instances, dynamicInstances: dyn, frameBodies: this.lastFrame?.ids.length ?? 0, frameStep: this.lastFrame?.step ?? -1,
      overlays: this.overlays.size, drawCalls: this.renderer.info.render.calls, drawn: this.drawnCount, meshInstances, meshTriangles,
    };
  }

  /** Draw now (called from the animation loop). */
  draw(): void {
    this.controls.update();
    // Keep the shadow box centred under the camera target while orbiting/following.
    const t = this.controls.target;
    this.sun.target.position.copy(t);
    this.sun.position.set(t.x + 3, t.y + 14, t.z + 4);
    this.renderer.render(this.scene, this.camera);
    this.drawnCount++;
    this.onDraw?.(Date.now());
  }

  // --- overlays -----------------------------------------------------------------------------------------------------

  private clearOverlays(): void {
    for (const o of this.overlays.values()) disposeTree(o.obj);
    this.overlayRoot.clear();
    this.overlays.clear();
  }

  private updateOverlays(all: Overlay[]): void {
    const seen = new Set<string>();
    const list = all.filter((o): o is SceneOverlay => o.kind !== 'bar');
    for (const o of list) {
      const key = `${o.kind}:${o.id}`;
      seen.add(key);
      const sig = overlaySignature(o);
      let cur = this.overlays.get(key);
      if (cur && cur.sig !== sig && needsRebuild(o)) {
        this.overlayRoot.remove(cur.obj);
        disposeTree(cur.obj);
        cur = undefined;
      }
      if (!cur) {
        const obj = buildOverlay(o);
        this.overlayRoot.add(obj);
        cur = { kind: o.kind, obj, sig };
        this.overlays.set(key, cur);
      }
      cur.sig = sig;
      // The marker being dragged stays under the pointer until it is dropped.
      if (!(this.dragging && key === this.dragKey)) placeOverlay(cur.obj, o, this.m4);
    }
    for (const [key, o] of this.overlays) {
      if (!seen.has(key)) { this.overlayRoot.remove(o.obj); disposeTree(o.obj); this.overlays.delete(key); }
    }
  }
}

function disposeTree(obj: THREE.Object3D): void {
  obj.traverse((c) => {
    const m = c as THREE.Mesh;
    m.geometry?.dispose();
    const mat = m.material as THREE.Material | THREE.Material[] | undefined;
    if (Array.isArray(mat)) mat.forEach((x) => x.dispose()); else mat?.dispose();
  });
}

/** Shape-defining part of an overlay: a change rebuilds its geometry; pure moves only re-place it. */
function overlaySignature(o: SceneOverlay): string {
  switch (o.kind) {
    case 'marker': return `${o.radiusM}|${o.color}`;
    case 'zone': return `${o.halfExtentsM.join(',')}|${o.color}`;
    case 'polyline': return `${o.color}|${o.dashed ?? false}|${o.points.length}|${o.points.join(',')}`;
    case 'strip': return `${o.color}|${o.halfWidthM}|${o.dashM ?? 0}|${o.points.join(',')}`;
    case 'arrow': return `${o.color}`;
    case 'frustum': return `${o.fovDeg}|${o.aspect}|${o.farM}|${o.color}`;
    case 'ghost': return `${o.color}|${o.visuals.map((v) => `${v.id}:${shapeKey(v.shape)}`).join(',')}`;
  }
}

function needsRebuild(o: SceneOverlay): boolean {
  return o.kind !== 'arrow';
}

function buildOverlay(o: SceneOverlay): THREE.Object3D {
  switch (o.kind) {
    case 'marker': {
      const g = new THREE.Group();
      const ball = new THREE.Mesh(new THREE.SphereGeometry(o.radiusM, 24, 16),
        new THREE.MeshStandardMaterial({ color: o.color, emissive: o.color, emissiveIntensity: 0.35, transparent: true, opacity: 0.55, depthWrite: false }));
      const ring = new THREE.Mesh(new THREE.RingGeometry(o.radiusM * 1.2, o.radiusM * 1.45, 40),
        new THREE.MeshBasicMaterial({ color: o.color, transparent: true, opacity: 0.8, side: THREE.DoubleSide, depthWrite: false }));
      ring.rotation.x = -Math.PI / 2;
      ring.name = 'ring';
      g.add(ball, ring);
      return g;
    }
    case 'zone': {
      const g = new THREE.Group();
      const [hx, hz] = o.halfExtentsM;
      const fill = new THREE.Mesh(new THREE.PlaneGeometry(2 * hx, 2 * hz),
        new THREE.MeshBasicMaterial({ color: o.color, transparent: true, opacity: 0.3, side: THREE.DoubleSide, depthWrite: false }));
      fill.rotation.x = -Math.PI / 2;
      const pts = [[-hx, -hz], [hx, -hz], [hx, hz], [-hx, hz], [-hx, -hz]].map(([x, z]) => new THREE.Vector3(x, 0.003, z));
      const edge = new THREE.Line(new THREE.BufferGeometry().setFromPoints(pts), new THREE.LineBasicMaterial({ color: o.color }));
      g.add(fill, edge);
      return g;
    }
    case 'polyline': {
      const geo = new THREE.BufferGeometry();
      geo.setAttribute('position', new THREE.BufferAttribute(subdivide(o.points, 1.0), 3));
      const mat = o.dashed
        ? new THREE.LineDashedMaterial({ color: o.color, dashSize: 0.6, gapSize: 0.4 })
        : new THREE.LineBasicMaterial({ color: o.color });
      const line = new THREE.Line(geo, mat);
      if (o.dashed) line.computeLineDistances();
      return line;
    }
    case 'strip': {
      // A ribbon of quads along the centre line (normal up), or only its dashes; polygon offset keeps it above the ground.
      const geo = stripGeometry(o.points, o.halfWidthM, o.dashM);
      const mat = new THREE.MeshBasicMaterial({ color: o.color, side: THREE.DoubleSide, polygonOffset: true, polygonOffsetFactor: -1, polygonOffsetUnits: -1, fog: true });
      const m = new THREE.Mesh(geo, mat);
      m.renderOrder = -2;
      return m;
    }
    case 'arrow':
      return new THREE.ArrowHelper(new THREE.Vector3(1, 0, 0), new THREE.Vector3(), 1, new THREE.Color(o.color).getHex());
    case 'frustum': {
      // Camera looks along −Z of its pose; corners at farM.
      const hh = Math.tan(THREE.MathUtils.degToRad(o.fovDeg / 2)) * o.farM, hw = hh * o.aspect, f = -o.farM;
      const c = [[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]].map(([x, y]) => new THREE.Vector3(x, y, f));
      const apex = new THREE.Vector3();
      const seg: THREE.Vector3[] = [];
      for (let i = 0; i < 4; i++) seg.push(apex, c[i]!, c[i]!, c[(i + 1) % 4]!);
      return new THREE.LineSegments(new THREE.BufferGeometry().setFromPoints(seg), new THREE.LineBasicMaterial({ color: o.color, transparent: true, opacity: 0.9 }));
    }
    case 'ghost': {
      const g = new THREE.Group();
      for (const v of o.visuals) {
        const m = new THREE.Mesh(geometryFor(v.shape), new THREE.MeshStandardMaterial({ color: o.color, transparent: true, opacity: 0.3, depthWrite: false }));
        g.add(m);
      }
      return g;
    }
  }
}

/** Flat ribbon geometry along an xyz centre line; with `dashM`, only the dashes (dash = gap = dashM, metres). */
function stripGeometry(points: number[], w: number, dashM?: number): THREE.BufferGeometry {
  const n = Math.floor(points.length / 3);
  const P = (i: number) => [points[3 * i]!, points[3 * i + 1]!, points[3 * i + 2]!] as const;
  // Centre-line pieces to draw: the whole line, or each dash cut out of it by arc length.
  const pieces: [number, number, number][][] = [];
  if (!dashM) pieces.push(Array.from({ length: n }, (_, i) => [...P(i)] as [number, number, number]));
  else {
    const cum = [0];
    for (let i = 1; i < n; i++) { const a = P(i - 1), b = P(i); cum.push(cum[i - 1]! + Math.hypot(b[0] - a[0], b[2] - a[2])); }
    const at = (s: number): [number, number, number] => {
      let i = 1;
      while (i < n - 1 && cum[i]! < s) i++;
      const a = P(i - 1), b = P(i), t = (s - cum[i - 1]!) / Math.max(1e-9, cum[i]! - cum[i - 1]!);
      return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
    };
    for (let s0 = 0; s0 < cum[n - 1]!; s0 += 2 * dashM) pieces.push([at(s0), at(Math.min(cum[n - 1]!, s0 + dashM))]);
  }
  const pos: number[] = [], idx: number[] = [];
  for (const pts of pieces) {
    const base = pos.length / 3;
    for (let i = 0; i < pts.length; i++) {
      const a = pts[Math.max(0, i - 1)]!, b = pts[Math.min(pts.length - 1, i + 1)]!;
      let dx = b[0] - a[0], dz = b[2] - a[2];
      const len = Math.hypot(dx, dz) || 1;
      dx /= len; dz /= len;
      const [x, y, z] = pts[i]!;
      pos.push(x - dz * w, y, z + dx * w, x + dz * w, y, z - dx * w);
    }
    for (let i = 0; i + 1 < pts.length; i++) { const k = base + 2 * i; idx.push(k, k + 2, k + 1, k + 1, k + 2, k + 3); }
  }
  const geo = new THREE.BufferGeometry();
  geo.setAttribute('position', new THREE.BufferAttribute(Float32Array.from(pos), 3));
  geo.setIndex(idx);
  return geo;
}

/** Resample a flat xyz polyline so no segment is longer than maxSegM (short segments survive near-plane clipping). */
function subdivide(points: number[], maxSegM: number): Float32Array {
  const out: number[] = [];
  for (let i = 0; i + 2 < points.length; i += 3) {
    const x = points[i]!, y = points[i + 1]! + 0.015, z = points[i + 2]!;
    if (i >= 3) {
      const px = points[i - 3]!, py = points[i - 2]! + 0.015, pz = points[i - 1]!;
      const n = Math.min(200, Math.ceil(Math.hypot(x - px, y - py, z - pz) / maxSegM));
      for (let k = 1; k < n; k++) out.push(px + ((x - px) * k) / n, py + ((y - py) * k) / n, pz + ((z - pz) * k) / n);
    }
    out.push(x, y, z);
  }
  return Float32Array.from(out);
}

function placeOverlay(obj: THREE.Object3D, o: SceneOverlay, m4: THREE.Matrix4): void {
  switch (o.kind) {
    case 'marker': obj.position.set(o.p[0], o.p[1], o.p[2]); break;
    case 'zone': obj.position.set(o.center[0], o.center[1] + 0.004, o.center[2]); break;
    case 'polyline': case 'strip': break;
    case 'arrow': {
      const a = obj as THREE.ArrowHelper;
      const from = new THREE.Vector3(...o.from), to = new THREE.Vector3(...o.to);
      const d = to.clone().sub(from);
      const len = Math.max(d.length(), 1e-3);
      a.position.copy(from);
      a.setDirection(d.normalize());
      a.setLength(len, Math.min(0.35 * len, 0.5), Math.min(0.2 * len, 0.3));
      break;
    }
    case 'frustum':
      obj.position.set(o.p[0], o.p[1], o.p[2]);
      obj.quaternion.set(o.q[0], o.q[1], o.q[2], o.q[3]);
      break;
    case 'ghost':
      obj.children.forEach((c, i) => {
        const k = i * 7;
        if (k + 6 >= o.poses.length) return;
        c.position.set(o.poses[k]!, o.poses[k + 1]!, o.poses[k + 2]!);
        c.quaternion.set(o.poses[k + 3]!, o.poses[k + 4]!, o.poses[k + 5]!, o.poses[k + 6]!);
      });
      break;
  }
  void m4;
}
