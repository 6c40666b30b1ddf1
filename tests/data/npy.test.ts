/** .npy v1.0 writer/reader: hand-computed header fixture, round trips, numpy interop, clear errors on bad files. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, npyHeader, NpyStreamWriter, readNpy, writeNpy } from '../../sim/data/npy.ts';

const dir = mkdtempSync(join(tmpdir(), 'stride-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hasNumpy(): boolean {
  return spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
}

describe('npy', () => {
  it('writes the header numpy writes (hand-computed fixture)', () => {
    const h = npyHeader('float32', [2, 3]);
    // magic, version 1.0, header length 118 (little-endian u16), so the data starts at byte 128.
    expect(Array.from(h.subarray(0, 10))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const text = new TextDecoder().decode(h.subarray(10));
    expect(h.length).toBe(128);
    expect(text).toBe(dict + ' '.repeat(128 - 10 - dict.length - 1) + '\n');
    expect(new TextDecoder().decode(npyHeader('uint8', [5]).subarray(10))).toMatch(/^\{'descr': '\|u1', 'fortran_order': False, 'shape': \(5,\), \} +\n$/);
    expect(new TextDecoder().decode(npyHeader('int32', []).subarray(10))).toMatch(/'descr': '<i4'.*'shape': \(\), \}/);
  });

  it('round-trips float32, int32 and uint8 arrays with their shapes', () => {
    const cases = [
      { data: Float32Array.from([1.5, -2.25, 3e-8, 0, 1e30, -7]), shape: [2, 3] },
      { data: Int32Array.from([-2147483648, 0, 2147483647, 5]), shape: [4] },
      { data: Uint8Array.from([0, 1, 254, 255, 7, 8, 9, 10]), shape: [2, 2, 2] },
    ];
    for (const c of cases) {
      const f = join(dir, `rt-${c.data.constructor.name}.npy`);
      writeNpy(f, c.data, c.shape);
      const back = readNpy(f);
      expect(back.shape).toEqual(c.shape);
      expect(back.data.constructor).toBe(c.data.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(c.data));
      // The data starts at a multiple of 64 bytes (the header is padded, as numpy writes it) and fills the rest exactly.
      const bytes = readFileSync(f);
      expect((bytes.length - c.data.byteLength) % 64).toBe(0);
      expect(bytes[bytes.length - c.data.byteLength - 1]).toBe(0x0a); // the header ends with '\n' right before the data
    }
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/holds 6 elements/);
  });

  it('streams rows and rewrites the final shape in place', () => {
    const f = join(dir, 'stream.npy');
    const w = new NpyStreamWriter(f, 'float32', [3]);
    w.append(Float32Array.from([1, 2, 3]));
    w.append(Float32Array.from([4, 5, 6, 7, 8, 9]));
    w.close();
    const back = readNpy(f);
    expect(back.shape).toEqual([3, 3]);
    expect(Array.from(back.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => new NpyStreamWriter(join(dir, 's2.npy'), 'float32', [3]).append(new Float32Array(4))).toThrow(/whole number of rows/);
  });

  it('numpy loads our files and we load numpy files (skips the numpy half only when numpy is absent)', () => {
    const f = join(dir, 'interop.npy');
    writeNpy(f, Float32Array.from([0.5, 1, 2, 4, 8, 16]), [3, 2]);
    const g = join(dir, 'from-numpy.npy');
    if (!hasNumpy()) {
      // Without numpy, the hand-computed header fixture above is the check; make sure the file parses back.
      expect(readNpy(f).shape).toEqual([3, 2]);
      return;
    }
    const py = spawnSync('python3', ['-c', `
import numpy as np, io, sys
a = np.load(sys.argv[1])
assert a.dtype == np.float32 and a.shape == (3, 2), (a.dtype, a.shape)
assert a.tolist() == [[0.5, 1], [2, 4], [8, 16]], a.tolist()
b = io.BytesIO(); np.save(b, a)
assert b.getvalue() == open(sys.argv[1], 'rb').read(), 'byte-for-byte differs from np.save'
np.save(sys.argv[2], np.arange(12, dtype=np.int32).reshape(3, 4))
`, f, g], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const back = readNpy(g);
    expect(back.dtype).toBe('int32');
    expect(back.shape).toEqual([3, 4]);
    expect(Array.from(back.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('corrupt or truncated files give one-line errors naming the file', () => {
    const good = encodeNpy(Float32Array.from([1, 2, 3, 4]), [4]);
    const cut = join(dir, 'cut.npy');
    writeFileSync(cut, good.subarray(0, good.length - 3));
    expect(() => readNpy(cut)).toThrow(new RegExp(`^corrupt npy file ${cut.replace(/[.]/g, '\\.')}: truncated data`));
    const junk = join(dir, 'junk.npy');
    writeFileSync(junk, 'hello world, not numpy');
    expect(() => readNpy(junk)).toThrow(/corrupt npy file .*junk\.npy: not a \.npy file/);
    const f8 = new TextEncoder().encode("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }");
    const bad = new Uint8Array(10 + f8.length + 8);
    bad.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, f8.length, 0]);
    bad.set(f8, 10);
    expect(() => decodeNpy(bad, 'x.npy')).toThrow(/x\.npy: unsupported dtype '<f8'/);
    expect(() => readNpy(join(dir, 'missing.npy'))).toThrow(/cannot read .*missing\.npy: ENOENT/);
    try { readNpy(cut); } catch (e) { expect((e as Error).message).not.toContain('\n'); }
  });
});
