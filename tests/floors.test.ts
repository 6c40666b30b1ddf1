/**
 * The import rule, checked statically (no module is loaded). Every .ts/.mjs file under sim/, scenes/, policies/,
 * experiments/, cli/ and electron/ is parsed with the TypeScript parser; every import is an arrow — static
 * `import … from`, `import type`, `export … from`, dynamic `import('…')` and type-level `import('…').T` — and
 * relative specifiers are resolved to files. Each file gets a floor:
 *
 *   1 sim/   2 scenes/, policies/ (beside each other)   3 experiments/   4 cli/, electron/
 *
 * A failure names file:line for: an arrow to a higher floor, an arrow between scenes/ and policies/, an arrow
 * from electron/ into cli/, an arrow to a source file outside those folders, and any file-level import cycle
 * (printed as the chain of file:line arrows). Non-literal dynamic imports (`import(moduleUrl)`) and worker entry
 * URLs (`new URL('…', import.meta.url)`) are not imports and are not checked.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Top-level folder → floor. */
const FLOORS: Readonly<Record<string, number>> = { sim: 1, scenes: 2, policies: 2, experiments: 3, cli: 4, electron: 4 };
const SOURCE_EXT = ['.ts', '.mjs'];

/** One import arrow: `from` (repo-relative, posix) imports `to` at `line` (1-based). */
interface Edge { from: string; to: string; line: number; kind: 'import' | 'export' | 'dynamic' | 'type-query' }

/** A raw import found in a file, before resolution. */
interface RawImport { spec: string; line: number; kind: Edge['kind'] }

/** Every module specifier in a source text (comments and strings that only look like imports are ignored). */
function parseImports(fileName: string, text: string): RawImport[] {
  const kind = fileName.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const out: RawImport[] = [];
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ spec: n.moduleSpecifier.text, line: lineOf(n), kind: 'import' });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ spec: n.moduleSpecifier.text, line: lineOf(n), kind: 'export' });
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) && ts.isStringLiteral(n.moduleReference.expression)) {
      out.push({ spec: n.moduleReference.expression.text, line: lineOf(n), kind: 'import' });
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = n.arguments[0];
      if (a && (ts.isStringLiteral(a) || ts.isNoSubstitutionTemplateLiteral(a))) out.push({ spec: a.text, line: lineOf(n), kind: 'dynamic' });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push({ spec: n.argument.literal.text, line: lineOf(n), kind: 'type-query' });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Repo-relative posix path of the file a relative specifier names, or null when nothing is there. */
function resolveRelative(fromFile: string, spec: string, exists: (p: string) => boolean): string | null {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), spec));
  for (const cand of [base, ...SOURCE_EXT.map((e) => base + e), ...SOURCE_EXT.map((e) => `${base}/index${e}`)]) {
    if (exists(cand)) return cand;
  }
  return null;
}

/** Floor of a repo-relative path, or null outside the layered folders. */
function floorOf(file: string): number | null {
  return FLOORS[file.split('/')[0]!] ?? null;
}

/** Edges of an in-memory tree: file path → source text. */
function graphOf(files: ReadonlyMap<string, string>, exists: (p: string) => boolean): { edges: Edge[]; unresolved: string[] } {
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  for (const [file, text] of files) {
    for (const imp of parseImports(file, text)) {
      if (!imp.spec.startsWith('.')) continue; // packages and node: builtins
      const to = resolveRelative(file, imp.spec, exists);
      if (to === null) unresolved.push(`${file}:${imp.line} imports '${imp.spec}', which does not exist`);
      else if (to.startsWith('node_modules/')) continue; // a package's file named by path (sim/bridge/roslib.ts's typings)
      else edges.push({ from: file, to, line: imp.line, kind: imp.kind });
    }
  }
  return { edges, unresolved };
}

/** Arrows that break the floor rule, one line each (file:line → target: why). */
function floorViolations(edges: readonly Edge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    if (!SOURCE_EXT.some((x) => e.to.endsWith(x))) continue; // JSON, CSS, HTML assets
    const fa = floorOf(e.from), fb = floorOf(e.to);
    const top = (p: string) => p.split('/')[0]!;
    const at = `${e.from}:${e.line} → ${e.to}`;
    if (fa === null) continue;
    if (fb === null) out.push(`${at}: imports a file outside sim/ scenes/ policies/ experiments/ cli/ electron/`);
    else if (fb > fa) out.push(`${at}: floor ${fa} (${top(e.from)}/) imports floor ${fb} (${top(e.to)}/)`);
    else if (fa === 2 && fb === 2 && top(e.from) !== top(e.to)) out.push(`${at}: scenes/ and policies/ stand beside each other and never import each other`);
    else if (top(e.from) === 'electron' && top(e.to) === 'cli') out.push(`${at}: electron/ never imports cli/`);
  }
  return out;
}

/** Every import cycle, one per strongly connected component, as "a:line → b:line → … → a". */
function findCycles(edges: readonly Edge[]): string[] {
  const adj = new Map<string, Edge[]>();
  for (const e of edges) {
    if (!adj.has(e.from)) adj.set(e.from, []);
    if (!adj.has(e.to)) adj.set(e.to, []);
    adj.get(e.from)!.push(e);
  }
  for (const list of adj.values()) list.sort((a, b) => a.to.localeCompare(b.to) || a.line - b.line);
  // Tarjan's strongly connected components (iterative: deep trees must not overflow the stack).
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  let next = 0;
  for (const root of [...adj.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { v: string; i: number }[] = [{ v: root, i: 0 }];
    index.set(root, next); low.set(root, next); next++; stack.push(root); onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1]!;
      const out = adj.get(top.v)!;
      if (top.i < out.length) {
        const w = out[top.i++]!.to;
        if (!index.has(w)) {
          index.set(w, next); low.set(w, next); next++; stack.push(w); onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) { const p = work[work.length - 1]!.v; low.set(p, Math.min(low.get(p)!, low.get(top.v)!)); }
      if (low.get(top.v) === index.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do { w = stack.pop()!; onStack.delete(w); comp.push(w); } while (w !== top.v);
        const selfLoop = out.some((e) => e.to === top.v);
        if (comp.length > 1 || selfLoop) sccs.push(comp.sort());
      }
    }
  }
  // One concrete cycle per component: breadth-first from its first file back to itself, inside the component.
  return sccs.map((comp) => {
    const inComp = new Set(comp);
    const start = comp[0]!;
    const via = new Map<string, Edge>();
    const queue = [start];
    let closing: Edge | null = null;
    while (queue.length && !closing) {
      const v = queue.shift()!;
      for (const e of adj.get(v)!) {
        if (!inComp.has(e.to)) continue;
        if (e.to === start) { closing = e; break; }
        if (!via.has(e.to)) { via.set(e.to, e); queue.push(e.to); }
      }
    }
    const chain: Edge[] = [closing!];
    for (let v = closing!.from; v !== start; v = via.get(v)!.from) chain.unshift(via.get(v)!);
    return `${chain.map((e) => `${e.from}:${e.line}`).join(' → ')} → ${start}`;
  });
}

/** Every .ts/.mjs file under the layered folders of the repository, with its text. */
function repoSources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(ROOT, rel)).sort()) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const r = `${rel}/${name}`;
      if (statSync(path.join(ROOT, r)).isDirectory()) walk(r);
      else if (SOURCE_EXT.some((e) => name.endsWith(e)) && !name.endsWith('.d.ts')) files.set(r, readFileSync(path.join(ROOT, r), 'utf8'));
    }
  };
  for (const top of Object.keys(FLOORS)) if (existsSync(path.join(ROOT, top))) walk(top);
  return files;
}

const onDisk = (p: string) => existsSync(path.join(ROOT, p)) && statSync(path.join(ROOT, p)).isFile();

describe('import floors (sim 1 · scenes, policies 2 · experiments 3 · cli, electron 4)', () => {
  it('every import in the tree runs down the floors, scenes/ and policies/ never meet, electron/ never imports cli/, and there is no cycle', () => {
    const files = repoSources();
    expect(files.size).toBeGreaterThan(100);
    const { edges, unresolved } = graphOf(files, onDisk);
    expect(edges.length).toBeGreaterThan(300);
    const problems = [...unresolved, ...floorViolations(edges), ...findCycles(edges).map((c) => `import cycle: ${c}`)];
    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
  });

  it('the parser sees every kind of import and nothing inside comments or strings', () => {
    const src = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "export { c } from './c.ts';",
      "export * from './d.ts';",
      "import './side_effect.ts';",
      'async function f() {',
      "  const m = await import('./lazy.ts');",
      "  const n = await import(someUrl); // not a literal: not an arrow",
      '}',
      "type T = import('./typed.ts').T;",
      "// import { fake } from './comment.ts';",
      "const s = \"import { x } from './string.ts'\";",
    ].join('\n');
    const got = parseImports('x/m.ts', src).map((i) => `${i.line}:${i.kind}:${i.spec}`);
    expect(got).toEqual([
      '1:import:./a.ts', '2:import:../b.ts', '3:export:./c.ts', '4:export:./d.ts', '5:import:./side_effect.ts',
      '7:dynamic:./lazy.ts', '10:type-query:./typed.ts',
    ]);
    const mjs = parseImports('x/boot.mjs', "import { register } from 'tsx/esm/api';\nawait import('./entry.ts');\n");
    expect(mjs.map((i) => i.spec)).toEqual(['tsx/esm/api', './entry.ts']);
  });

  it('the checker catches planted violations (so it cannot pass vacuously)', () => {
    const tree = new Map<string, string>([
      ['sim/core/a.ts', "import { s } from '../../scenes/s.ts';\n"], // floor 1 → 2
      ['scenes/s.ts', "\nimport type { P } from '../policies/p.ts';\n"], // scenes → policies
      ['policies/p.ts', "export const p = 1;\nconst e = () => import('../experiments/harness/h.ts');\n"], // 2 → 3 (dynamic)
      ['experiments/harness/h.ts', "export { u } from '../../cli/u.ts';\n"], // 3 → 4 (re-export)
      ['electron/main/m.ts', "import { u } from '../../cli/u.ts';\n"], // electron → cli
      ['cli/u.ts', "import { m } from '../electron/main/m.ts';\nimport { t } from '../tests/helpers.ts';\n"], // cycle + outside
      ['tests/helpers.ts', 'export const t = 1;\n'],
      ['sim/x/one.ts', "import { b } from './two.ts';\n"], // a three-file cycle on one floor
      ['sim/x/two.ts', "\n\nimport { c } from './three.ts';\n"],
      ['sim/x/three.ts', "import type { A } from './one.ts';\nimport { k } from './missing.ts';\n"],
    ]);
    const { edges, unresolved } = graphOf(tree, (p) => tree.has(p));
    expect(unresolved).toEqual(["sim/x/three.ts:2 imports './missing.ts', which does not exist"]);
    expect(floorViolations(edges)).toEqual([
      'sim/core/a.ts:1 → scenes/s.ts: floor 1 (sim/) imports floor 2 (scenes/)',
      'scenes/s.ts:2 → policies/p.ts: scenes/ and policies/ stand beside each other and never import each other',
      'policies/p.ts:2 → experiments/harness/h.ts: floor 2 (policies/) imports floor 3 (experiments/)',
      'experiments/harness/h.ts:1 → cli/u.ts: floor 3 (experiments/) imports floor 4 (cli/)',
      'electron/main/m.ts:1 → cli/u.ts: electron/ never imports cli/',
      'cli/u.ts:2 → tests/helpers.ts: imports a file outside sim/ scenes/ policies/ experiments/ cli/ electron/',
    ]);
    expect(findCycles(edges).sort()).toEqual([
      'cli/u.ts:1 → electron/main/m.ts:1 → cli/u.ts',
      'sim/x/one.ts:1 → sim/x/two.ts:3 → sim/x/three.ts:1 → sim/x/one.ts',
    ]);
    // The same tree without the planted arrows is clean.
    const clean = new Map<string, string>([
      ['sim/core/a.ts', 'export const a = 1;\n'],
      ['scenes/s.ts', "import { a } from '../sim/core/a.ts';\n"],
      ['policies/p.ts', "import type { a } from '../sim/core/a.ts';\n"],
      ['experiments/harness/h.ts', "import { s } from '../../scenes/s.ts';\nimport { p } from '../../policies/p.ts';\n"],
      ['cli/u.ts', "import { h } from '../experiments/harness/h.ts';\nimport { m } from '../electron/main/m.ts';\n"],
      ['electron/main/m.ts', "const l = () => import('../../policies/p.ts');\n"],
    ]);
    const g = graphOf(clean, (p) => clean.has(p));
    expect(g.edges).toHaveLength(7);
    expect([...g.unresolved, ...floorViolations(g.edges), ...findCycles(g.edges)]).toEqual([]);
  });
});
