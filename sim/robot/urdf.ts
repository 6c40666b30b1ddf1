/**
 * URDF → a checked, plain-data robot model (`UrdfModel`). The XML is read with `@xmldom/xmldom` (a maintained W3C
 * DOMParser for Node; it reports fatal XML errors and keeps each element's line number, so every error names the
 * element *and* its line). The URDF rules are checked here, strictly, because the physics must never see a half-valid
 * robot: every error is one line `urdf <file>: line N: <joint name="j2">: what is wrong`.
 *
 * Why not three.js's `urdf-loader`: it needs the browser's DOM (global `DOMParser`, `Document`, `querySelector` — not
 * in Node, and not in xmldom), it reads numbers with `parseFloat(x) || 0` (a NaN inertia silently becomes 0), it
 * ignores unknown tags and builds three.js objects we would then have to take apart. The viewer does not parse URDF at
 * all: the scene sends it the link meshes (read once here, in Node) in its RenderScene, so a recording is
 * self-contained.
 *
 * Supported: links with `<inertial>` (mass, inertia, origin), `<visual>` and `<collision>` with box / cylinder / sphere
 * / mesh geometry; joints `revolute` (limits), `continuous`, `prismatic` (limits), `fixed`, with `<limit effort
 * velocity>`, `<dynamics damping>` and `<mimic>`; `<material>` colours. Ignored (standard ROS extras): `<transmission>`,
 * `<gazebo>`, `<calibration>`, `<safety_controller>`, `<texture>`, joint `friction`. Refused with one line: `floating`
 * and `planar` joints, mimic chains, unknown tags, anything that is not a tree.
 */
import { DOMParser } from '@xmldom/xmldom';

export type Tuple3 = [number, number, number];

/** A pose in the parent frame: translation (m) and fixed-axis roll-pitch-yaw (rad), as in URDF. */
export interface UrdfPose { xyz: Tuple3; rpy: Tuple3 }

export type UrdfGeometry =
  | { kind: 'box'; sizeM: Tuple3 }
  /** Cylinder along the element's local Z axis (URDF convention). */
  | { kind: 'cylinder'; radiusM: number; lengthM: number }
  | { kind: 'sphere'; radiusM: number }
  /** A mesh file as written in the URDF (`package://…`, `file://…` or relative), with its scale. */
  | { kind: 'mesh'; filename: string; scale: Tuple3 };

export interface UrdfShape {
  origin: UrdfPose;
  geometry: UrdfGeometry;
  /** CSS colour of a visual (from its material), if any. */
  color?: string;
  /** Line of the `<visual>` / `<collision>` element. */
  line: number;
}

export interface UrdfInertial {
  /** Centre of mass and inertia frame in the link frame. */
  origin: UrdfPose;
  massKg: number;
  /** Inertia tensor about the centre of mass in the inertial frame, kg·m². */
  inertia: { ixx: number; ixy: number; ixz: number; iyy: number; iyz: number; izz: number };
}

export interface UrdfLink {
  name: string;
  inertial: UrdfInertial | null;
  visuals: UrdfShape[];
  collisions: UrdfShape[];
  line: number;
}

export type UrdfJointType = 'revolute' | 'continuous' | 'prismatic' | 'fixed';

export interface UrdfJoint {
  name: string;
  type: UrdfJointType;
  parent: string;
  child: string;
  /** Child link frame in the parent link frame at joint position 0. */
  origin: UrdfPose;
  /** Unit joint axis in the joint (= child link) frame. */
  axis: Tuple3;
  /** Position limits (rad or m; null for continuous and fixed), effort (N·m or N) and velocity (rad/s or m/s) limits. */
  limit: { lower: number; upper: number; effort: number; velocity: number } | null;
  /** `<limit effort velocity>` of a continuous joint (its position is unlimited); null when absent. */
  continuousLimit: { effort: number; velocity: number } | null;
  /** Viscous joint damping from `<dynamics damping>`, N·m·s/rad or N·s/m. */
  damping: number;
  /** This joint follows `joint`: q = multiplier · q_joint + offset. */
  mimic: { joint: string; multiplier: number; offset: number } | null;
  line: number;
}

export interface UrdfModel {
  name: string;
  /** The file it came from (for error messages and mesh paths). */
  file: string;
  /** Links in document order. */
  links: UrdfLink[];
  /** Joints in document order. */
  joints: UrdfJoint[];
  /** The one link that is no joint's child. */
  root: string;
}

/** One line naming the file, the line and the element. */
export class UrdfError extends Error {}

interface El { tagName: string; lineNumber?: number; getAttribute(n: string): string | null; hasAttribute(n: string): boolean; childNodes: ArrayLike<{ nodeType: number }> }

const ELEMENT_NODE = 1;

function children(e: El): El[] {
  const out: El[] = [];
  for (let i = 0; i < e.childNodes.length; i++) {
    const n = e.childNodes[i]!;
    if (n.nodeType === ELEMENT_NODE) out.push(n as unknown as El);
  }
  return out;
}

/** `<joint name="j2">` — how an element is named in errors. */
function label(e: El): string {
  const n = e.getAttribute('name');
  return n !== null ? `<${e.tagName} name="${n}">` : `<${e.tagName}>`;
}

const ALLOWED: Record<string, readonly string[]> = {
  robot: ['link', 'joint', 'material', 'transmission', 'gazebo'],
  link: ['inertial', 'visual', 'collision'],
  inertial: ['origin', 'mass', 'inertia'],
  visual: ['origin', 'geometry', 'material'],
  collision: ['origin', 'geometry'],
  geometry: ['box', 'cylinder', 'sphere', 'mesh'],
  material: ['color', 'texture'],
  joint: ['origin', 'parent', 'child', 'axis', 'limit', 'dynamics', 'mimic', 'calibration', 'safety_controller'],
};

/** Parse and check a URDF document. Throws `UrdfError` (one line) on anything the builder could not honour. */
export function parseUrdf(xml: string, file = '<inline>'): UrdfModel {
  const fail = (e: El | null, msg: string): never => {
    throw new UrdfError(`urdf ${file}: ${e ? `line ${e.lineNumber ?? '?'}: ${label(e)}: ` : ''}${msg}`);
  };
  let doc: { documentElement: El | null };
  try {
    doc = new DOMParser({
      onError: (level: string, msg: string) => { if (level !== 'warning') throw new Error(msg); },
    }).parseFromString(xml, 'text/xml') as unknown as { documentElement: El | null };
  } catch (e) {
    const m = (e as Error).message.replace(/\s+/g, ' ').replace(/^.*?(fatalError|error): /, '');
    throw new UrdfError(`urdf ${file}: not well-formed XML (${m.slice(0, 200)})`);
  }
  const robot = doc.documentElement;
  if (!robot || robot.tagName !== 'robot') throw new UrdfError(`urdf ${file}: the root element must be <robot>, got ${robot ? `<${robot.tagName}>` : 'nothing'}`);

  const checkTags = (e: El): void => {
    const ok = ALLOWED[e.tagName];
    if (!ok) return;
    for (const c of children(e)) if (!ok.includes(c.tagName)) fail(c, `unknown tag inside ${label(e)} (allowed: ${ok.join(', ')})`);
  };
  const attr = (e: El, name: string): string => {
    const v = e.getAttribute(name);
    if (v === null || v.trim() === '') fail(e, `missing attribute '${name}'`);
    return v!.trim();
  };
  const num = (e: El, name: string, dflt?: number): number => {
    if (!e.hasAttribute(name) && dflt !== undefined) return dflt;
    const s = attr(e, name);
    const v = Number(s);
    if (!Number.isFinite(v)) fail(e, `attribute ${name}="${s}" is not a finite number`);
    return v;
  };
  const tuple = (e: El, name: string, dflt: Tuple3): Tuple3 => {
    if (!e.hasAttribute(name)) return [...dflt];
    const s = attr(e, name);
    const parts = s.split(/\s+/);
    const v = parts.map(Number);
    if (v.length !== 3 || !v.every(Number.isFinite)) fail(e, `attribute ${name}="${s}" must be 3 finite numbers`);
    return v as Tuple3;
  };
  const one = (e: El, tag: string, required: boolean): El | null => {
    const cs = children(e).filter((c) => c.tagName === tag);
    if (cs.length > 1) fail(cs[1]!, `more than one <${tag}> inside ${label(e)}`);
    if (!cs.length && required) fail(e, `missing <${tag}>`);
    return cs[0] ?? null;
  };
  const pose = (e: El | null): UrdfPose => (e ? { xyz: tuple(e, 'xyz', [0, 0, 0]), rpy: tuple(e, 'rpy', [0, 0, 0]) } : { xyz: [0, 0, 0], rpy: [0, 0, 0] });
  const positive = (e: El, name: string, v: number): number => (v > 0 ? v : fail(e, `${name} must be > 0, got ${v}`));

  checkTags(robot);
  const robotName = robot.getAttribute('name') ?? 'robot';

  // --- materials (robot level: named colours) ---
  const colorOf = (m: El): string | undefined => {
    checkTags(m);
    const c = one(m, 'color', false);
    if (!c) return undefined;
    const s = attr(c, 'rgba');
    const v = s.split(/\s+/).map(Number);
    if (v.length !== 4 || !v.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)) fail(c, `attribute rgba="${s}" must be 4 numbers in [0, 1]`);
    const hex = (x: number) => Math.round(x * 255).toString(16).padStart(2, '0');
    return `#${hex(v[0]!)}${hex(v[1]!)}${hex(v[2]!)}`;
  };
  const materials = new Map<string, string | undefined>();
  for (const m of children(robot).filter((c) => c.tagName === 'material')) materials.set(attr(m, 'name'), colorOf(m));

  // --- links ---
  const links: UrdfLink[] = [];
  const linkNames = new Set<string>();
  const geometry = (g: El): UrdfGeometry => {
    checkTags(g);
    const cs = children(g);
    if (cs.length !== 1) fail(g, `needs exactly one of box, cylinder, sphere, mesh (found ${cs.length})`);
    const s = cs[0]!;
    switch (s.tagName) {
      case 'box': {
        const size = tuple(s, 'size', [NaN, NaN, NaN]);
        if (!s.hasAttribute('size')) fail(s, "missing attribute 'size'");
        if (!size.every((x) => x > 0)) fail(s, `size must be 3 positive numbers, got ${size.join(' ')}`);
        return { kind: 'box', sizeM: size };
      }
      case 'cylinder': return { kind: 'cylinder', radiusM: positive(s, 'radius', num(s, 'radius')), lengthM: positive(s, 'length', num(s, 'length')) };
      case 'sphere': return { kind: 'sphere', radiusM: positive(s, 'radius', num(s, 'radius')) };
      default: {
        const scale = tuple(s, 'scale', [1, 1, 1]);
        if (!scale.every((x) => x !== 0)) fail(s, 'scale must not contain 0');
        return { kind: 'mesh', filename: attr(s, 'filename'), scale };
      }
    }
  };
  for (const l of children(robot).filter((c) => c.tagName === 'link')) {
    checkTags(l);
    const name = attr(l, 'name');
    if (linkNames.has(name)) fail(l, 'a link of this name is already defined');
    linkNames.add(name);
    let inertial: UrdfInertial | null = null;
    const ie = one(l, 'inertial', false);
    if (ie) {
      checkTags(ie);
      const m = one(ie, 'mass', true)!;
      const massKg = num(m, 'value');
      if (massKg < 0) fail(m, `mass must be ≥ 0, got ${massKg}`);
      const it = one(ie, 'inertia', true)!;
      const inertia = { ixx: num(it, 'ixx'), ixy: num(it, 'ixy', 0), ixz: num(it, 'ixz', 0), iyy: num(it, 'iyy'), iyz: num(it, 'iyz', 0), izz: num(it, 'izz') };
      const ev = symmetricEigen([[inertia.ixx, inertia.ixy, inertia.ixz], [inertia.ixy, inertia.iyy, inertia.iyz], [inertia.ixz, inertia.iyz, inertia.izz]]).values;
      const scale = Math.max(1e-12, Math.abs(inertia.ixx) + Math.abs(inertia.iyy) + Math.abs(inertia.izz));
      if (ev.some((x) => x < -1e-9 * scale)) fail(it, `inertia is not positive semi-definite (principal moments ${ev.map((x) => x.toPrecision(3)).join(', ')})`);
      const [a, b, c] = [...ev].sort((x, y) => x - y) as Tuple3;
      if (a + b < c * (1 - 1e-6) - 1e-12) fail(it, `inertia violates the triangle inequality (principal moments ${a.toPrecision(3)}, ${b.toPrecision(3)}, ${c.toPrecision(3)}): no rigid body has it`);
      inertial = { origin: pose(one(ie, 'origin', false)), massKg, inertia };
    }
    const shapes = (tag: 'visual' | 'collision'): UrdfShape[] => children(l).filter((c) => c.tagName === tag).map((v) => {
      checkTags(v);
      let color: string | undefined;
      const me = tag === 'visual' ? one(v, 'material', false) : null;
      if (me) {
        color = colorOf(me);
        if (color === undefined && me.hasAttribute('name')) {
          const n = me.getAttribute('name')!;
          if (!materials.has(n)) fail(me, `material '${n}' is not defined at robot level and has no <color>`);
          color = materials.get(n);
        }
      }
      return { origin: pose(one(v, 'origin', false)), geometry: geometry(one(v, 'geometry', true)!), ...(color ? { color } : {}), line: v.lineNumber ?? 0 };
    });
    links.push({ name, inertial, visuals: shapes('visual'), collisions: shapes('collision'), line: l.lineNumber ?? 0 });
  }
  if (!links.length) throw new UrdfError(`urdf ${file}: <robot name="${robotName}"> has no <link>`);

  // --- joints ---
  const joints: UrdfJoint[] = [];
  const jointEls = new Map<string, El>();
  const childOf = new Map<string, string>();
  for (const j of children(robot).filter((c) => c.tagName === 'joint')) {
    checkTags(j);
    const name = attr(j, 'name');
    if (jointEls.has(name)) fail(j, 'a joint of this name is already defined');
    jointEls.set(name, j);
    const type = attr(j, 'type');
    if (type === 'floating' || type === 'planar') fail(j, `type '${type}' is not supported (a floating base is the root link: set robot.fixedBase=false)`);
    if (!['revolute', 'continuous', 'prismatic', 'fixed'].includes(type)) fail(j, `unknown joint type '${type}' (revolute, continuous, prismatic, fixed)`);
    const pe = one(j, 'parent', true)!, ce = one(j, 'child', true)!;
    const parent = attr(pe, 'link'), child = attr(ce, 'link');
    if (!linkNames.has(parent)) fail(j, `parent link '${parent}' is not defined`);
    if (!linkNames.has(child)) fail(j, `child link '${child}' is not defined`);
    if (parent === child) fail(j, `joins link '${parent}' to itself`);
    if (childOf.has(child)) fail(j, `link '${child}' is already the child of joint '${childOf.get(child)}' (a URDF is a tree: joint loops are not allowed)`);
    childOf.set(child, name);
    const ae = one(j, 'axis', false);
    let axis: Tuple3 = ae ? tuple(ae, 'xyz', [1, 0, 0]) : [1, 0, 0];
    const n = Math.hypot(...axis);
    if (type !== 'fixed' && !(n > 1e-9)) fail(ae ?? j, 'axis must not be zero');
    if (n > 0) axis = axis.map((x) => x / n) as Tuple3;
    const le = one(j, 'limit', false);
    let limit: UrdfJoint['limit'] = null;
    let continuousLimit: UrdfJoint['continuousLimit'] = null;
    if (type === 'revolute' || type === 'prismatic') {
      if (!le) fail(j, `a ${type} joint needs <limit lower upper effort velocity>`);
      const lower = num(le!, 'lower', 0), upper = num(le!, 'upper', 0), effort = num(le!, 'effort'), velocity = num(le!, 'velocity');
      if (!(upper > lower)) fail(le!, `upper (${upper}) must be greater than lower (${lower})`);
      if (!(effort > 0)) fail(le!, `effort must be > 0 for an actuated joint, got ${effort}`);
      if (!(velocity > 0)) fail(le!, `velocity must be > 0, got ${velocity}`);
      limit = { lower, upper, effort, velocity };
    } else if (type === 'continuous' && le) {
      const effort = num(le, 'effort'), velocity = num(le, 'velocity');
      if (!(effort > 0)) fail(le, `effort must be > 0 for an actuated joint, got ${effort}`);
      if (!(velocity > 0)) fail(le, `velocity must be > 0, got ${velocity}`);
      continuousLimit = { effort, velocity };
    }
    const de = one(j, 'dynamics', false);
    const damping = de ? num(de, 'damping', 0) : 0;
    if (damping < 0) fail(de!, `damping must be ≥ 0, got ${damping}`);
    const me = one(j, 'mimic', false);
    const mimic = me ? { joint: attr(me, 'joint'), multiplier: num(me, 'multiplier', 1), offset: num(me, 'offset', 0) } : null;
    joints.push({ name, type: type as UrdfJointType, parent, child, origin: pose(one(j, 'origin', false)), axis, limit, continuousLimit, damping, mimic, line: j.lineNumber ?? 0 });
  }

  // --- tree: one root, every link reachable (else a loop) ---
  const roots = links.filter((l) => !childOf.has(l.name));
  if (roots.length === 0) throw new UrdfError(`urdf ${file}: every link is some joint's child: the joints form a loop`);
  if (roots.length > 1) throw new UrdfError(`urdf ${file}: ${roots.length} root links (${roots.map((l) => l.name).join(', ')}): the links must form one tree joined by joints`);
  const root = roots[0]!.name;
  const reached = new Set<string>([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const j of joints) if (reached.has(j.parent) && !reached.has(j.child)) { reached.add(j.child); grew = true; }
  }
  const loop = joints.filter((j) => !reached.has(j.child));
  if (loop.length) fail(jointEls.get(loop[0]!.name)!, `is part of a joint loop (${loop.map((j) => j.name).join(' → ')}), not reachable from the root link '${root}'`);

  // --- mimic joints ---
  const byName = new Map(joints.map((j) => [j.name, j]));
  for (const j of joints) {
    if (!j.mimic) continue;
    const el = jointEls.get(j.name)!;
    if (j.type === 'fixed') fail(el, 'a fixed joint cannot mimic another joint');
    const m = byName.get(j.mimic.joint);
    if (!m) fail(el, `mimics joint '${j.mimic.joint}', which is not defined`);
    if (m!.name === j.name) fail(el, 'mimics itself');
    if (m!.type === 'fixed') fail(el, `mimics fixed joint '${m!.name}'`);
    if (m!.mimic) fail(el, `mimics '${m!.name}', which is itself a mimic joint (mimic chains are not supported)`);
  }

  // --- mass: a link that moves must have some ---
  for (const j of joints) {
    if (j.type === 'fixed') continue;
    const l = links.find((x) => x.name === j.child)!;
    if (!l.inertial || !(l.inertial.massKg > 0)) {
      const el = jointEls.get(j.name)!;
      throw new UrdfError(`urdf ${file}: line ${l.line}: <link name="${l.name}">: zero mass on a moving link (it is the child of ${j.type} joint '${j.name}', line ${el.lineNumber ?? '?'}); give it an <inertial> with mass > 0`);
    }
  }
  return { name: robotName, file, links, joints, root };
}

/**
 * Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations (deterministic: fixed sweep order, only
 * + − × ÷ and sqrt). Returns the eigenvalues and the eigenvectors as the columns of `vectors` (a proper rotation).
 */
export function symmetricEigen(m: number[][]): { values: Tuple3; vectors: number[][] } {
  const a = m.map((r) => [...r]);
  const v = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = Math.abs(a[0]![1]!) + Math.abs(a[0]![2]!) + Math.abs(a[1]![2]!);
    if (off < 1e-300) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
      const apq = a[p]![q]!;
      if (apq === 0) continue;
      const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[k]![p]!, akq = a[k]![q]!;
        a[k]![p] = c * akp - s * akq; a[k]![q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[p]![k]!, aqk = a[q]![k]!;
        a[p]![k] = c * apk - s * aqk; a[q]![k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k]![p]!, vkq = v[k]![q]!;
        v[k]![p] = c * vkp - s * vkq; v[k]![q] = s * vkp + c * vkq;
      }
    }
  }
  // Jacobi rotations keep det(v) = +1.
  return { values: [a[0]![0]!, a[1]![1]!, a[2]![2]!], vectors: v };
}
