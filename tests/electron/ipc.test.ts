/**
 * The viewer's IPC table: every payload is validated before the host sees it (Electron ipcMain and the web mode's
 * WebSocket share the table). Also checks the Electron shell bundles (main, sandboxed preload, renderer with CSP).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNELS, IPC, validateRequest, validateWsMessage } from '../../electron/shared/ipc.ts';

describe('IPC table validation', () => {
  it('accepts well-formed requests on every channel', () => {
    expect(CHANNELS.length).toBeGreaterThanOrEqual(10);
    expect(() => validateRequest('app:init', {})).not.toThrow();
    expect(() => validateRequest('recording:open', { file: '/tmp/a.mcap' })).not.toThrow();
    expect(() => validateRequest('live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: 3 })).not.toThrow();
    expect(() => validateRequest('fork:start', { episode: 0, step: 5, policy: 'random', goal: [0.1, 0.2], intent: 2, guidance: 1.5 })).not.toThrow();
    expect(() => validateRequest('run:metrics', { run: 'runs/x', fromLine: 10 })).not.toThrow();
  });

  it('rejects malformed requests with a one-line reason naming the field', () => {
    const bad: [unknown, unknown, RegExp][] = [
      ['nope:channel', {}, /unknown IPC channel/],
      ['__proto__', {}, /unknown IPC channel/],
      [42, {}, /unknown IPC channel/],
      ['live:start', { sceneId: 'toy/point_reach', policy: 'expert' }, /payload\.seed is required/],
      ['live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: -1 }, /payload\.seed must be ≥ 0/],
      ['live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: 1.5 }, /payload\.seed must be an integer/],
      ['live:start', { sceneId: 'x; rm -rf /', policy: 'expert', seed: 1 }, /payload\.sceneId has an invalid format/],
      ['live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: 1, evil: true }, /payload\.evil is not an allowed field/],
      ['recording:open', { file: '/etc/passwd' }, /payload\.file has an invalid format/],
      ['recording:open', null, /payload must be an object/],
      ['fork:start', { episode: 0, step: 2, policy: 'expert', goal: [1, 'x'] }, /payload\.goal\[1\] must be a finite number/],
      ['fork:start', { episode: 0, step: 2, policy: 'expert', guidance: Number.NaN }, /payload\.guidance must be a finite number/],
      ['live:pause', { paused: 'yes' }, /payload\.paused must be a boolean/],
    ];
    for (const [ch, payload, re] of bad) expect(() => validateRequest(ch, payload)).toThrow(re);
  });

  it('validates the WebSocket envelope too', () => {
    expect(validateWsMessage(JSON.stringify({ id: 7, channel: 'live:stop', payload: {} }))).toEqual({ id: 7, channel: 'live:stop', payload: {} });
    expect(() => validateWsMessage('{not json')).toThrow(/not valid JSON/);
    expect(() => validateWsMessage('[1,2]')).toThrow(/must be an object/);
    expect(() => validateWsMessage(JSON.stringify({ id: -1, channel: 'live:stop', payload: {} }))).toThrow(/id/);
    expect(() => validateWsMessage(JSON.stringify({ id: 1, channel: 'live:stop', payload: {}, extra: 1 }))).toThrow(/extra is not an allowed/);
  });

  it('every channel schema is a strict object: prototype names are refused like any unknown key, on every channel', () => {
    const valid: Record<string, Record<string, unknown>> = {
      'app:init': {}, 'recording:open': { file: 'a.mcap' }, 'recording:episode': { episode: 0 },
      'live:start': { sceneId: 'toy/point_reach', policy: 'expert', seed: 1 }, 'live:reset': { seed: 1 }, 'live:pause': { paused: true },
      'live:stop': {}, 'fork:start': { episode: 0, step: 1, policy: 'zero' }, 'run:metrics': { run: 'runs/x' }, 'results:list': {},
      'live:command': { overlays: true },
    };
    expect(Object.keys(valid).sort()).toEqual([...CHANNELS].sort());
    for (const ch of CHANNELS) {
      expect(() => validateRequest(ch, valid[ch])).not.toThrow();
      expect(() => validateRequest(ch, [])).toThrow(/payload must be an object/);
      expect(() => validateRequest(ch, 'x')).toThrow(/payload must be an object/);
      for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'evil']) {
        // JSON.parse makes `__proto__` an own key, exactly as a hostile web-mode message would.
        const good = JSON.stringify(valid[ch]);
        const payload = JSON.parse(`{"${key}": 1${good === '{}' ? '' : ','}${good.slice(1)}`) as unknown;
        expect(() => validateRequest(ch, payload), `${ch} with key ${key}`).toThrow(new RegExp(`payload\\.${key} is not an allowed field`));
        expect(() => validateWsMessage(`{"id":1,"channel":"${ch}","payload":${JSON.stringify(payload)}}`), `${ch} ws ${key}`)
          .toThrow(/is not an allowed field/);
      }
    }
    for (const key of ['__proto__', 'constructor', 'toString']) {
      expect(() => validateWsMessage(`{"id":1,"channel":"live:stop","payload":{},"${key}":{}}`)).toThrow(new RegExp(`message\\.${key} is not an allowed field`));
    }
    expect(() => validateRequest('fork:start', { episode: 0, step: 2, policy: 'x', goal: new Array(65).fill(0) })).toThrow(/payload\.goal has more than 64 elements/);
    expect(() => validateRequest('live:start', { sceneId: 'a'.repeat(201), policy: 'x', seed: 1 })).toThrow(/payload\.sceneId is longer than 200/);
    expect(() => validateRequest('live:start', { sceneId: 'toy/point_reach', policy: 'x', seed: 1, speed: Infinity })).toThrow(/payload\.speed must be a finite number/);
    expect(() => validateRequest('live:pause', {})).toThrow(/payload\.paused is required/);
  });
});

describe('Electron shell bundle', () => {
  it('bundles main (ESM), the sandboxed preload (CJS) and the renderer with a strict CSP', async () => {
    const { bundleElectron } = await import('../../cli/view.ts');
    const dir = mkdtempSync(join(tmpdir(), 'stride-electron-'));
    try {
      const b = await bundleElectron(dir);
      const main = readFileSync(b.main, 'utf8');
      expect(main).toMatch(/contextIsolation:\s*true/);
      expect(main).toMatch(/sandbox:\s*true/);
      expect(main).toMatch(/nodeIntegration:\s*false/);
      const preload = readFileSync(b.preload, 'utf8');
      expect(preload).toContain('exposeInMainWorld');
      expect(preload).not.toMatch(/require\(["']fs["']\)|child_process/);
      const html = readFileSync(join(b.rendererDir, 'index.html'), 'utf8');
      expect(html).toContain("default-src 'none'");
      expect(html).toContain("connect-src 'none'");
      expect(html).not.toMatch(/https?:\/\//);
      expect(existsSync(join(b.rendererDir, 'app.js'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
