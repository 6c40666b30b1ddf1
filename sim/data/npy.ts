/**
 * NumPy `.npy` format version 1.0, the subset Stride datasets use: little-endian float32 (`<f4`), int32 (`<i4`) and
 * uint8 (`|u1`), C order. `numpy.load(path)` reads every file written here.
 *
 * Layout: `\x93NUMPY` | u8 major=1 | u8 minor=0 | u16le headerLen | ASCII dict
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (T, 6), }` padded with spaces and ending in '\n' so that the data
 * starts at a multiple of 64 bytes | raw data.
 *
 * Bad input (wrong magic, unsupported dtype/order, data length ≠ shape) is a one-line error naming the file.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import type { DType, FeatureArray } from '../core/features.ts';
import { writeAtomic } from './atomic.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Data starts at a multiple of this (numpy's own alignment). */
const ALIGN = 64;
const DESCR: Record<DType, string> = { float32: '<f4', int32: '<i4', uint8: '|u1' };
const ITEMSIZE: Record<DType, number> = { float32: 4, int32: 4, uint8: 1 };

if (endianness() !== 'LE') throw new Error('sim/data/npy: only little-endian hosts are supported');

export interface NpyArray {
  dtype: DType;
  shape: number[];
  data: FeatureArray;
}

export function dtypeOf(a: FeatureArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'uint8';
  throw new Error(`npy: unsupported array type ${(a as object).constructor.name}`);
}

function shapeStr(shape: readonly number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * The header (magic … trailing '\n') for an array; `totalLen` pads it to exactly that many bytes (a multiple of 64,
 * used by the streaming writer to reserve room and rewrite the row count in place).
 */
export function npyHeader(dtype: DType, shape: readonly number[], totalLen?: number): Uint8Array {
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`npy: bad shape [${shape.join(', ')}]`);
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeStr(shape)}, }`;
  const minLen = 10 + dict.length + 1;
  const len = totalLen ?? Math.ceil(minLen / ALIGN) * ALIGN;
  if (len < minLen || len % ALIGN !== 0) throw new Error(`npy: header of ${minLen} bytes does not fit in ${len}`);
  if (len - 10 > 0xffff) throw new Error('npy: header too long for format 1.0');
  const out = new Uint8Array(len);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, len - 10, true);
  const text = dict.padEnd(len - 11, ' ') + '\n';
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

function bytesOf(a: FeatureArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function checkShape(data: FeatureArray, shape: readonly number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`npy: shape [${shape.join(', ')}] holds ${n} elements but the array has ${data.length}`);
}

export function encodeNpy(data: FeatureArray, shape: readonly number[]): Uint8Array {
  checkShape(data, shape);
  const header = npyHeader(dtypeOf(data), shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(bytesOf(data), header.length);
  return out;
}

/** Write `data` with `shape` to `file` atomically (temp file + rename). */
export function writeNpy(file: string, data: FeatureArray, shape: readonly number[]): void {
  checkShape(data, shape);
  writeAtomic(file, [npyHeader(dtypeOf(data), shape), bytesOf(data)]);
}

/** Parse `.npy` bytes; `name` (the file path) prefixes every error. */
export function decodeNpy(bytes: Uint8Array, name = '<npy>'): NpyArray {
  const fail = (what: string): never => { throw new Error(`corrupt npy file ${name}: ${what}`); };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file (bad magic)');
  const major = bytes[6]!;
  let headerLen: number, start: number;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) { headerLen = dv.getUint16(8, true); start = 10; }
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('truncated header');
    headerLen = dv.getUint32(8, true); start = 12;
  } else return fail(`unsupported format version ${major}.${bytes[7]}`);
  if (start + headerLen > bytes.length) fail('truncated header');
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail('malformed header');
  if (fortran === 'True') fail('Fortran order is not supported');
  const dtype = (Object.keys(DESCR) as DType[]).find((k) => DESCR[k] === descr || (k === 'uint8' && descr === '<u1'));
  if (!dtype) return fail(`unsupported dtype '${descr}' (supported: <f4, <i4, |u1)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`bad shape (${shapeText})`);
  const n = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const expectBytes = n * ITEMSIZE[dtype];
  const have = bytes.length - dataStart;
  if (have < expectBytes) fail(`truncated data (${have} of ${expectBytes} bytes for shape [${shape.join(', ')}])`);
  if (have > expectBytes) fail(`${have - expectBytes} trailing bytes after data of shape [${shape.join(', ')}]`);
  // Copy into a fresh, aligned buffer (Buffer#slice would be a view into a shared pool).
  const raw = new Uint8Array(expectBytes);
  raw.set(bytes.subarray(dataStart, dataStart + expectBytes));
  const data = dtype === 'float32' ? new Float32Array(raw.buffer, 0, n) : dtype === 'int32' ? new Int32Array(raw.buffer, 0, n) : raw;
  return { dtype, shape, data };
}

export function readNpy(file: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodeNpy(bytes, file);
}

/** Size in bytes of the header the streaming writer reserves (room for any realistic shape). */
const STREAM_HEADER_LEN = 128;

/**
 * Appends rows (leading dimension) to a `.npy` file whose row count is unknown up front: a fixed-size header is
 * reserved and rewritten with the final shape on `close()`.
 */
export class NpyStreamWriter {
  private fd: number | null;
  private rows = 0;
  readonly rowSize: number;

  constructor(readonly file: string, readonly dtype: DType, readonly innerShape: readonly number[]) {
    this.rowSize = innerShape.reduce((a, b) => a * b, 1);
    this.fd = openSync(file, 'w');
    writeSync(this.fd, npyHeader(dtype, [0, ...innerShape], STREAM_HEADER_LEN));
  }

  get numRows(): number { return this.rows; }

  append(data: FeatureArray): void {
    if (this.fd === null) throw new Error(`npy: ${this.file} is closed`);
    if (dtypeOf(data) !== this.dtype) throw new Error(`npy: ${this.file} holds ${this.dtype}, got ${dtypeOf(data)}`);
    if (this.rowSize === 0 ? data.length !== 0 : data.length % this.rowSize !== 0) {
      throw new Error(`npy: ${this.file}: ${data.length} elements is not a whole number of rows of ${this.rowSize}`);
    }
    writeSync(this.fd, bytesOf(data));
    this.rows += this.rowSize === 0 ? 0 : data.length / this.rowSize;
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      writeSync(fd, npyHeader(this.dtype, [this.rows, ...this.innerShape], STREAM_HEADER_LEN), 0, STREAM_HEADER_LEN, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Close without finishing (the file is left for the caller to delete). */
  abort(): void {
    if (this.fd !== null) { closeSync(this.fd); this.fd = null; }
  }
}
