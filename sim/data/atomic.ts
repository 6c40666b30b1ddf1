/**
 * Durable, atomic file writes and run provenance — the one home for "temp file + fsync + rename" and the git probe.
 *
 * `writeAtomic(file, data)` writes a temp file in the same directory (`<file>.tmp-<pid>-<hex>`, so the rename never
 * crosses a file system), fsyncs it, renames it over `file` and fsyncs the directory (best effort): a reader sees the
 * old bytes or the new bytes, never a torn file, and a failed write leaves the old file as it was and removes the temp.
 *
 * `provenance()` says which code produced a result: the commit of the repository this module lives in (`git rev-parse
 * HEAD`, cached per process), whether the work tree (or only some paths of it) has uncommitted changes (`git status
 * --porcelain`), and the command line. Outside a git checkout the commit is 'unknown' and `dirty` is null.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bytes to write: a string (UTF-8), bytes, or chunks written one after the other. */
export type FileData = string | Uint8Array | readonly (string | Uint8Array)[];

function writeChunks(fd: number, data: FileData): void {
  if (typeof data === 'string' || data instanceof Uint8Array) writeFileSync(fd, data);
  else for (const chunk of data) writeFileSync(fd, chunk);
}

/** Write `file` (create or truncate) and fsync it before returning. Not atomic: use for files inside a temp folder. */
export function writeDurable(file: string, data: FileData): void {
  const fd = openSync(file, 'w');
  try {
    writeChunks(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync a directory so a rename inside it is durable; ignored where directories cannot be opened or synced. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort (e.g. not permitted on this platform)
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Replace `file` atomically with `data`: temp file in the same directory, fsync, rename, fsync of the directory.
 * On any failure the temp file is removed, `file` keeps its old content, and the error is rethrown. The directory
 * must exist.
 */
export function writeAtomic(file: string, data: FileData): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    writeDurable(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true, recursive: true });
    throw e;
  }
  fsyncDir(path.dirname(file));
}

/**
 * `writeAtomic(file, JSON.stringify(value, null, indent))` — no trailing newline — after creating `file`'s directory
 * if needed.
 */
export function writeJsonAtomic(file: string, value: unknown, indent?: number | string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeAtomic(file, JSON.stringify(value, null, indent));
}

/** Where the code runs from and what was run. */
export interface Provenance {
  /** `git rev-parse HEAD` of this checkout, or 'unknown' outside git. */
  commit: string;
  /** Uncommitted changes (in `paths` when given, else anywhere in the work tree); null when git could not say. */
  dirty: boolean | null;
  /** The command line that produced the result. */
  command: string;
}

/** The repository root this module is in (sim/data/atomic.ts → ../..): provenance is about this code, not the cwd. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const commitCache = new Map<string, string>();

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
}

/** `git rev-parse HEAD` of the checkout at `cwd` (default: this code's repository), cached; 'unknown' outside git. */
export function gitCommit(cwd: string = repoRoot): string {
  let c = commitCache.get(cwd);
  if (c === undefined) {
    try { c = git(cwd, ['rev-parse', 'HEAD']); } catch { c = 'unknown'; }
    commitCache.set(cwd, c);
  }
  return c;
}

/**
 * The commit, dirty flag and command of this run. `paths` (relative to the repository root) limits the dirty check to
 * the code that matters (e.g. a study's folders); `command` defaults to this process's command line
 * (`<script name> <args…>`). The dirty flag is re-read on every call (the commit is cached).
 */
export function provenance(opts: { paths?: readonly string[]; command?: string; cwd?: string } = {}): Provenance {
  const cwd = opts.cwd ?? repoRoot;
  const commit = gitCommit(cwd);
  let dirty: boolean | null = null;
  if (commit !== 'unknown') {
    try { dirty = git(cwd, ['status', '--porcelain', ...(opts.paths?.length ? ['--', ...opts.paths] : [])]).length > 0; } catch { dirty = null; }
  }
  const command = opts.command ?? [path.basename(process.argv[1] ?? process.argv0), ...process.argv.slice(2)].join(' ');
  return { commit, dirty, command };
}
