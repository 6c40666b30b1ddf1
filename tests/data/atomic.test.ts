/** sim/data/atomic.ts: atomic replace, failure leaves the old file and no temp files, JSON bytes, provenance. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitCommit, provenance, writeAtomic, writeJsonAtomic } from '../../sim/data/atomic.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'stride-atomic-'));
  dirs.push(d);
  return d;
}
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('writeAtomic', () => {
  it('creates and replaces a file; strings, bytes and chunks', () => {
    const d = tmp(), f = path.join(d, 'a.txt');
    writeAtomic(f, 'old');
    expect(readFileSync(f, 'utf8')).toBe('old');
    writeAtomic(f, Uint8Array.of(104, 105));
    expect(readFileSync(f, 'utf8')).toBe('hi');
    writeAtomic(f, ['a', Uint8Array.of(98), 'c']);
    expect(readFileSync(f, 'utf8')).toBe('abc');
    expect(readdirSync(d)).toEqual(['a.txt']);
  });

  it('a write that fails half-way leaves the old file intact and no temp file', () => {
    const d = tmp(), f = path.join(d, 'a.json');
    writeFileSync(f, 'the old bytes');
    // the first chunk reaches the temp file, the second is not writable data
    expect(() => writeAtomic(f, ['new ', 42 as unknown as string])).toThrow();
    expect(readFileSync(f, 'utf8')).toBe('the old bytes');
    expect(readdirSync(d)).toEqual(['a.json']);
  });

  it('a rename that fails (target is a non-empty directory) removes the temp file', () => {
    const d = tmp(), target = path.join(d, 'x');
    mkdirSync(target);
    writeFileSync(path.join(target, 'keep'), 'k');
    expect(() => writeAtomic(target, 'data')).toThrow();
    expect(readdirSync(d)).toEqual(['x']);
    expect(readFileSync(path.join(target, 'keep'), 'utf8')).toBe('k');
  });

  it('a missing directory is an error (writeJsonAtomic creates it)', () => {
    const d = tmp();
    expect(() => writeAtomic(path.join(d, 'no', 'f'), 'x')).toThrow();
    writeJsonAtomic(path.join(d, 'yes', 'f.json'), { a: [1, 2] }, 1);
    expect(readFileSync(path.join(d, 'yes', 'f.json'), 'utf8')).toBe(JSON.stringify({ a: [1, 2] }, null, 1));
    writeJsonAtomic(path.join(d, 'yes', 'g.json'), { a: 1 });
    expect(readFileSync(path.join(d, 'yes', 'g.json'), 'utf8')).toBe('{"a":1}');
  });
});

describe('provenance', () => {
  it('commit of this checkout (cached), dirty flag, command', () => {
    const c = gitCommit();
    expect(c === 'unknown' || /^[0-9a-f]{40}$/.test(c)).toBe(true);
    const p = provenance({ command: 'stride test', paths: ['sim/data/atomic.ts'] });
    expect(p.commit).toBe(c);
    expect(p.command).toBe('stride test');
    if (c !== 'unknown') expect(typeof p.dirty).toBe('boolean');
    expect(typeof provenance().command).toBe('string');
  });

  it("outside git: commit 'unknown', dirty null", () => {
    const p = provenance({ cwd: tmp(), command: 'x' });
    expect(p).toEqual({ commit: 'unknown', dirty: null, command: 'x' });
  });
});
