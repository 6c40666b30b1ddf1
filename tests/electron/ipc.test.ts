/**
 * The viewer's IPC table: every payload is validated before the host sees it (Electron ipcMain and the web mode's
 * WebSocket share the table). Also checks the Electron shell bundles (main, sandboxed preload, renderer with CSP).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNELS, IPC, checkSchema, validateRequest, validateWsMessage, type Schema } from '../../electron/shared/ipc.ts';

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

  it('every channel schema is an object schema (payloads are always objects)', () => {
    for (const ch of CHANNELS) expect((IPC[ch].req as Schema).t).toBe('object');
    expect(checkSchema({ t: 'array', of: { t: 'number' }, maxLen: 2 }, [1, 2, 3])).toMatch(/more than 2/);
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
