/**
 * Both servers — the viewer's web server (`stride view --web`) and the sim-robot (rosbridge v2) — on loopback, sent
 * malformed traffic of many kinds by a raw `ws` client: each frame must get an error reply or a close of that socket
 * (never silence, never a dead process), a well-behaved client must still be served afterwards, and memory must stay
 * bounded through a flood. No sleeps: every wait is for an event (a reply, a close), with a generous deadline that
 * only a hang would reach.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startWebServer, type WebServer } from '../../electron/main/server.ts';
import { SimRobotServer } from '../../sim/bridge/sim_robot.ts';
import { loadScenes } from '../bridge/helpers.ts';

type Msg = Record<string, unknown>;
/** A deadline only a hang reaches (the server answers in milliseconds even on a loaded machine). */
const HANG_MS = 30_000;

interface Client {
  ws: WebSocket;
  /** Resolves with the first message matching `pred` received from now on (or already queued), or 'closed'. */
  next(pred: (m: Msg) => boolean): Promise<Msg | 'closed'>;
  closed: Promise<number>;
}

async function connect(url: string, origin?: string): Promise<Client> {
  const ws = new WebSocket(url, origin ? { origin } : {});
  const queue: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg | 'closed') => void }[] = [];
  let isClosed = false;
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Msg;
    const w = waiters.find((x) => x.pred(m));
    if (w) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); } else queue.push(m);
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => { isClosed = true; for (const w of waiters.splice(0)) w.resolve('closed'); r(code); }));
  ws.on('error', () => { /* the close event follows */ });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  return {
    ws, closed,
    next: (pred) => new Promise((resolve, reject) => {
      const i = queue.findIndex(pred);
      if (i >= 0) return resolve(queue.splice(i, 1)[0]!);
      if (isClosed) return resolve('closed');
      const t = setTimeout(() => reject(new Error('no reply and no close: the server went silent')), HANG_MS);
      waiters.push({ pred, resolve: (m) => { clearTimeout(t); resolve(m); } });
    }),
  };
}

/** Deeply nested JSON text (a stack-overflow probe for recursive validators). */
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const invalidUtf8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);

/** Malformed frames common to both servers: [name, frame, binary?]. The servers answer each or close the socket. */
function malformedKinds(validPrefix: Record<string, unknown>): [string, string | Buffer, boolean][] {
  return [
    ['bad JSON', '{not json', false],
    ['empty frame', '', false],
    ['JSON null', 'null', false],
    ['JSON array', '[1,2,3]', false],
    ['JSON number', '42', false],
    ['JSON string', '"hello"', false],
    ['truncated object', JSON.stringify(validPrefix).slice(0, 9), false],
    ['prototype key __proto__', `{"__proto__":{"polluted":1},${JSON.stringify(validPrefix).slice(1)}`, false],
    ['prototype key constructor', `{"constructor":{"prototype":{"x":1}},${JSON.stringify(validPrefix).slice(1)}`, false],
    ['prototype key toString', `{"toString":1,${JSON.stringify(validPrefix).slice(1)}`, false],
    ['huge string value (200 kB)', JSON.stringify({ ...validPrefix, junk: 'x'.repeat(200_000) }), false],
    ['deep nesting (depth 5000)', `{"id":1,"op":${deep(5000)},"channel":${deep(5000)}}`, false],
    ['deep nesting inside a known field', JSON.stringify({ ...validPrefix }).replace(/}$/, `,"payload":${deep(3000)},"msg":${deep(3000)}}`), false],
    ['1e400 (Infinity after JSON.parse)', JSON.stringify(validPrefix).replace(/}$/, ',"id":1e400,"seed":1e400}'), false],
    ['wrong types everywhere', JSON.stringify({ op: 7, id: [], channel: {}, payload: 'x', topic: false }), false],
    ['binary frame', Buffer.from([0, 1, 2, 3, 255]), true],
    ['binary frame holding valid JSON', Buffer.from(JSON.stringify(validPrefix)), true],
    ['unicode junk', '\u0000\u202e\ud800', false],
    ['invalid UTF-8 in a text frame', invalidUtf8, false],
  ];
}

function memMb(): number { return process.memoryUsage().rss / 2 ** 20; }

describe('web viewer server under malformed traffic', () => {
  let web: WebServer;
  let cwd: string;
  let origin: string;
  let wsUrl: string;
  beforeAll(async () => {
    await loadScenes();
    cwd = mkdtempSync(path.join(tmpdir(), 'stride-fuzz-web-'));
    web = await startWebServer({ port: 0, cwd });
    origin = `http://127.0.0.1:${web.port}`;
    wsUrl = `ws://127.0.0.1:${web.port}/ws`;
  }, 120_000);
  afterAll(async () => { await web?.close(); rmSync(cwd, { recursive: true, force: true }); });

  const alive = async () => {
    const c = await connect(wsUrl, origin);
    c.ws.send(JSON.stringify({ id: 777, channel: 'app:init', payload: {} }));
    const r = await c.next((m) => m.id === 777);
    c.ws.close();
    return r !== 'closed' && r.ok === true;
  };

  it('answers or closes on each of 20+ malformed kinds, and keeps serving', async () => {
    const kinds = malformedKinds({ id: 5, channel: 'live:stop', payload: {} });
    kinds.push(
      ['unknown channel', JSON.stringify({ id: 1, channel: 'fs:readFile', payload: { file: '/etc/passwd' } }), false],
      ['channel __proto__', JSON.stringify({ id: 1, channel: '__proto__', payload: {} }), false],
      ['payload key hasOwnProperty', '{"id":1,"channel":"live:reset","payload":{"seed":1,"hasOwnProperty":1}}', false],
      ['negative id', JSON.stringify({ id: -4, channel: 'live:stop', payload: {} }), false],
      ['out-of-range seed', JSON.stringify({ id: 1, channel: 'live:reset', payload: { seed: 2 ** 40 } }), false],
    );
    expect(kinds.length).toBeGreaterThanOrEqual(20);
    let replies = 0, closes = 0;
    for (const [name, frame, binary] of kinds) {
      const c = await connect(wsUrl, origin);
      c.ws.send(frame, { binary });
      const r = await c.next((m) => 'ok' in m);
      if (r === 'closed') closes++;
      else { expect(r.ok, name).toBe(false); expect(String(r.error), name).not.toMatch(/\n/); replies++; }
      c.ws.terminate();
      expect(await alive(), `still serving after: ${name}`).toBe(true);
    }
    expect(replies).toBeGreaterThan(15);
  });

  it('closes a socket that sends a frame over maxPayload (1009) and stays up', async () => {
    const c = await connect(wsUrl, origin);
    c.ws.send('x'.repeat(1_100_000));
    expect(await c.closed).toBe(1009);
    expect(await alive()).toBe(true);
  });

  it('survives a bounded flood of small frames with bounded memory', async () => {
    const c = await connect(wsUrl, origin);
    const before = memMb();
    const N = 3000;
    for (let i = 0; i < N; i++) c.ws.send(i % 2 ? '{bad' : JSON.stringify({ id: i, channel: 'nope', payload: {} }));
    let answered = 0;
    for (;;) {
      const r = await c.next((m) => 'ok' in m);
      if (r === 'closed') break;
      if (++answered === N) break;
    }
    expect(answered).toBe(N);
    expect(memMb() - before).toBeLessThan(300);
    c.ws.close();
    expect(await alive()).toBe(true);
  });

  it('refuses a cross-origin WebSocket', async () => {
    await expect(connect(wsUrl, 'http://evil.example')).rejects.toThrow(/401|403|Unexpected server response/);
    expect(await alive()).toBe(true);
  });
});

describe('sim-robot server under malformed traffic', () => {
  let robot: SimRobotServer;
  beforeAll(async () => {
    await loadScenes();
    robot = new SimRobotServer({ sceneId: 'toy/point_reach', maxMessageBytes: 64 * 1024 });
    await robot.start();
  });
  afterAll(async () => { await robot?.close(); });

  const isStatusError = (m: Msg) => m.op === 'status' && m.level === 'error';
  const alive = async () => {
    const c = await connect(robot.url);
    c.ws.send(JSON.stringify({ op: 'call_service', service: '/stride/info', id: 'alive' }));
    const r = await c.next((m) => m.op === 'service_response' && m.id === 'alive');
    c.ws.close();
    return r !== 'closed' && r.result === true;
  };

  it('answers or closes on each of 20+ malformed kinds, and keeps serving', async () => {
    const kinds = malformedKinds({ op: 'publish', topic: '/command', msg: { data: [0, 0] } });
    kinds.push(
      ['unknown op', JSON.stringify({ op: 'frobnicate' }), false],
      ['command 1e300 (Infinity as float32)', JSON.stringify({ op: 'publish', topic: '/command', msg: { data: [1e300, 0] } }), false],
      ['command of the wrong length', JSON.stringify({ op: 'publish', topic: '/command', msg: { data: [0, 0, 0] } }), false],
      ['frame over the size limit', JSON.stringify({ op: 'publish', topic: '/command', msg: { data: new Array(20_000).fill(0.5) } }), false],
      ['topic path traversal', JSON.stringify({ op: 'subscribe', topic: '/../../etc', type: 'std_msgs/Bool' }), false],
    );
    expect(kinds.length).toBeGreaterThanOrEqual(20);
    let replies = 0;
    for (const [name, frame, binary] of kinds) {
      const c = await connect(robot.url);
      c.ws.send(frame, { binary });
      const r = await c.next(isStatusError);
      if (r !== 'closed') { expect(String(r.msg), name).not.toMatch(/\n/); replies++; }
      c.ws.terminate();
      expect(await alive(), `still serving after: ${name}`).toBe(true);
    }
    expect(replies).toBeGreaterThan(15);
  });

  it('a command that is finite in float64 but not in float32 gets a status error, is dropped, and resets nothing', async () => {
    const c = await connect(robot.url);
    c.ws.send(JSON.stringify({ op: 'call_service', service: '/stride/reset', args: { seed: 41 }, id: 'r' }));
    await c.next((m) => m.op === 'service_response' && m.id === 'r');
    const commands = robot.getStats().commands, episodes = robot.getStats().episodes;
    const seen: Float32Array[] = [];
    robot.onCommand = (a) => seen.push(a);
    c.ws.send(JSON.stringify({ op: 'publish', topic: '/command', msg: { data: [1e300, 0] }, id: 'big' }));
    const r = await c.next(isStatusError);
    expect(r).not.toBe('closed');
    expect(String((r as Msg).msg)).toMatch(/fx = 1e\+300 is not a finite float32/);
    expect((r as Msg).id).toBe('big');
    // Dropped (no command accepted), and the episode was not restarted: /stride/info still reports seed 41.
    c.ws.send(JSON.stringify({ op: 'call_service', service: '/stride/info', id: 'i' }));
    const info = await c.next((m) => m.op === 'service_response' && m.id === 'i');
    expect(((info as Msg).values as { seed: number }).seed).toBe(41);
    expect(robot.getStats().commands).toBe(commands);
    expect(robot.getStats().episodes).toBe(episodes);
    expect(seen).toHaveLength(0);
    robot.onCommand = null;
    c.ws.close();
  });

  it('survives a bounded flood of small frames with bounded memory', async () => {
    const c = await connect(robot.url);
    const before = memMb();
    const N = 3000;
    for (let i = 0; i < N; i++) c.ws.send(i % 2 ? '{bad' : JSON.stringify({ op: 'nope', id: `f${i}` }));
    let answered = 0;
    for (;;) {
      const r = await c.next(isStatusError);
      if (r === 'closed') break;
      if (++answered === N) break;
    }
    expect(answered).toBe(N);
    expect(memMb() - before).toBeLessThan(300);
    c.ws.close();
    expect(await alive()).toBe(true);
  });
});
