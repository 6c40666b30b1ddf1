/**
 * The sim-robot as a rosbridge server, poked with a raw `ws` client and the real roslib client: auth, schema checks,
 * size limits — every bad frame gets a status error and the server keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SimRobotServer } from '../../sim/bridge/sim_robot.ts';
import { RosbridgeRobot } from '../../sim/bridge/ros_robot.ts';
import { defaultRobotConfig } from '../../sim/bridge/robot_config.ts';
import { makeAuth } from '../../sim/bridge/protocol.ts';
import { Rng } from '../../sim/math/rng.ts';
import { loadScenes } from './helpers.ts';

type Msg = Record<string, unknown>;

/** A raw client that collects every message it receives. */
async function rawClient(url: string): Promise<{ ws: WebSocket; msgs: Msg[]; next(pred: (m: Msg) => boolean, ms?: number): Promise<Msg>; send(x: unknown): void; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const msgs: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Msg;
    msgs.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  return {
    ws, msgs, closed,
    send: (x) => ws.send(typeof x === 'string' ? x : JSON.stringify(x)),
    next: (pred, ms = 5000) => new Promise((resolve, reject) => {
      const hit = msgs.find(pred);
      if (hit) { msgs.splice(msgs.indexOf(hit), 1); return resolve(hit); }
      const t = setTimeout(() => reject(new Error('timed out waiting for a message')), ms);
      waiters.push({ pred, resolve: (m) => { clearTimeout(t); msgs.splice(msgs.indexOf(m), 1); resolve(m); } });
    }),
  };
}

const isStatusError = (m: Msg) => m.op === 'status' && m.level === 'error';

describe('sim-robot server', () => {
  let server: SimRobotServer;
  let tokenServer: SimRobotServer;

  beforeAll(async () => {
    await loadScenes();
    server = new SimRobotServer({ sceneId: 'toy/point_reach', maxMessageBytes: 4096 });
    await server.start();
    tokenServer = new SimRobotServer({ sceneId: 'toy/point_reach', token: 's3cret' });
    await tokenServer.start();
  });
  afterAll(async () => {
    await server?.close();
    await tokenServer?.close();
  });

  it('answers malformed JSON, unknown ops, wrong message types and oversized frames with status errors and stays up', async () => {
    const c = await rawClient(server.url);
    const cases: [unknown, RegExp][] = [
      ['{not json', /malformed JSON/],
      ['[1,2,3]', /JSON object/],
      [{ op: 'frobnicate', id: 'x1' }, /unknown or unsupported op 'frobnicate'/],
      [{ op: 'publish', topic: 42, msg: {} }, /field 'topic' must be a string/],
      [{ op: 'advertise', topic: '/command', type: 'std_msgs/String', id: 'adv1' }, /wrong message type for '\/command'/],
      [{ op: 'advertise', topic: '/x', type: 'evil_msgs/Bomb' }, /unsupported message type/],
      [{ op: 'publish', topic: '/command', msg: { data: ['a', 'b'] }, id: 'p1' }, /not a finite number/],
      [{ op: 'publish', topic: '/command', msg: { data: [0.1, 0.2, 0.3] } }, /3 values, the robot takes 2/],
      [{ op: 'publish', topic: '/joint_states', msg: { name: [], position: [] } }, /published by the robot/],
      [{ op: 'subscribe', topic: '/joint_states', type: 'geometry_msgs/Twist' }, /wrong message type/],
      [{ op: 'call_service', service: 7 }, /'service' must be a string/],
      [{ op: 'subscribe', topic: '../etc', type: 'std_msgs/Bool' }, /invalid topic name/],
      [JSON.stringify({ op: 'publish', topic: '/command', msg: { data: new Array(2000).fill(0.5) } }), /exceeds the 4096-byte limit/],
    ];
    for (const [frame, re] of cases) {
      c.send(frame);
      const m = await c.next(isStatusError);
      expect(String(m.msg), JSON.stringify(frame).slice(0, 80)).toMatch(re);
    }
    // Error replies carry the offending op's id, so roslib can route them.
    c.send({ op: 'frobnicate', id: 'abc' });
    expect((await c.next(isStatusError)).id).toBe('abc');
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(String((await c.next(isStatusError)).msg)).toMatch(/binary frames/);
    expect(server.getStats().rejected).toBeGreaterThanOrEqual(cases.length + 2);

    // Still serving: subscribe, receive joint states, send a valid command, call a service.
    c.send({ op: 'subscribe', topic: '/joint_states', type: 'sensor_msgs/JointState', id: 's1' });
    const js = await c.next((m) => m.op === 'publish' && m.topic === '/joint_states');
    expect((js.msg as { name: string[] }).name).toEqual(['x', 'z', 'vx', 'vz', 'dx_goal', 'dz_goal']);
    const before = server.getStats().commands;
    c.send({ op: 'advertise', topic: '/command', type: 'std_msgs/msg/Float64MultiArray' });
    c.send({ op: 'publish', topic: '/command', msg: { layout: { dim: [], data_offset: 0 }, data: [0.1, -0.1] } });
    c.send({ op: 'call_service', service: '/stride/info', id: 'i1' });
    const info = await c.next((m) => m.op === 'service_response' && m.id === 'i1');
    expect(info.result).toBe(true);
    expect((info.values as { actionNames: string[] }).actionNames).toEqual(['fx', 'fz']);
    expect(server.getStats().commands).toBe(before + 1);
    c.send({ op: 'call_service', service: '/nope', id: 'n1' });
    expect((await c.next((m) => m.op === 'service_response' && m.id === 'n1')).result).toBe(false);
    c.ws.close();
  });

  it('survives a seeded fuzz of mutated ops', async () => {
    const c = await rawClient(server.url);
    const rng = new Rng(99);
    const seeds: Msg[] = [
      { op: 'publish', topic: '/command', msg: { data: [0.1, 0.2] } },
      { op: 'subscribe', topic: '/joint_states', type: 'sensor_msgs/JointState' },
      { op: 'call_service', service: '/stride/reset', args: { seed: 3 } },
      { op: 'advertise', topic: '/estop', type: 'std_msgs/Bool' },
      { op: 'publish', topic: '/command', msg: { joint_names: ['fx'], points: [{ positions: [1] }] } },
    ];
    const junk = [null, 1e308, -1, 'x'.repeat(300), [], {}, true, NaN, { data: [1, 2, 3] }, '/command', [[[[[]]]]]];
    for (let i = 0; i < 300; i++) {
      const m: Msg = JSON.parse(JSON.stringify(rng.pick(seeds)));
      const keys = Object.keys(m);
      for (let j = 0; j <= rng.int(3); j++) {
        const k = rng.int(4) === 0 ? `k${rng.int(5)}` : rng.pick(keys);
        m[k] = rng.pick(junk);
        if (m.msg && typeof m.msg === 'object' && rng.int(2)) (m.msg as Msg)[rng.pick(['data', 'points', 'linear'])] = rng.pick(junk);
      }
      let frame = JSON.stringify(m);
      if (rng.int(10) === 0) frame = frame.slice(0, rng.int(frame.length));
      c.send(frame);
    }
    c.send({ op: 'call_service', service: '/stride/info', id: 'alive' });
    const info = await c.next((m) => m.op === 'service_response' && m.id === 'alive', 10_000);
    expect(info.result).toBe(true);
    expect(server.getStats().rejected).toBeGreaterThan(100);
    c.ws.close();
  });

  it('requires auth with a token: wrong token rejected and disconnected, ops before auth refused, right token works', async () => {
    const a = await rawClient(tokenServer.url);
    a.send({ op: 'subscribe', topic: '/joint_states', type: 'sensor_msgs/JointState' });
    expect(String((await a.next(isStatusError)).msg)).toMatch(/authentication required/);
    a.send({ op: 'auth', ...makeAuth('wrong') });
    expect(String((await a.next(isStatusError)).msg)).toMatch(/wrong token/);
    expect(await a.closed).toBe(4001);
    expect(a.msgs.some((m) => m.op === 'publish')).toBe(false);

    // The real roslib client through the bridge's robot: wrong token refuses to start, right token connects.
    const cfg = defaultRobotConfig(tokenServer.env.observationFeatures, tokenServer.env.actionFeatures);
    const bad = new RosbridgeRobot(cfg, { url: tokenServer.url, token: 'nope', connectTimeoutSec: 5 });
    await expect(bad.connect()).rejects.toThrow(/rejected the token/);
    await bad.disconnect();
    const good = new RosbridgeRobot(cfg, { url: tokenServer.url, token: 's3cret', connectTimeoutSec: 5 });
    await good.connect();
    const o = await good.getObservation(2);
    expect(o.obs['observation.state']!.length).toBe(6);
    await good.disconnect();
  });
});
