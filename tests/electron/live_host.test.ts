/**
 * The viewer host's live controls without a browser: act options at start and through 'live:command', scene
 * overrides (in place vs. restart on the same seed), steering the task's target, policy overlays, sensor insets.
 * Every request goes through `validateRequest` first, as in Electron and the web server.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { ViewerHost } from '../../electron/main/host.ts';
import { validateRequest, type Channel, type EventName, type Events, type Req, type Responses } from '../../electron/shared/ipc.ts';

type Got = { event: EventName; data: unknown };

function makeHost(): { host: ViewerHost; events: Got[]; call<C extends Channel>(c: C, p: Req<C>): Promise<Responses[C]>; next<E extends EventName>(e: E, pred?: (d: Events[E]) => boolean): Promise<Events[E]> } {
  const events: Got[] = [];
  const waiters: { e: EventName; pred: (d: unknown) => boolean; res: (d: unknown) => void }[] = [];
  const host = new ViewerHost({
    mode: 'web', cwd: process.cwd(),
    emit: (event, data) => {
      events.push({ event, data });
      for (const w of [...waiters]) if (w.e === event && w.pred(data)) { waiters.splice(waiters.indexOf(w), 1); w.res(data); }
    },
  });
  return {
    host, events,
    call: (c, p) => { validateRequest(c, p); return host.handle(c, p); },
    next: (e, pred = () => true) => new Promise((res) => waiters.push({ e, pred: pred as (d: unknown) => boolean, res: res as (d: unknown) => void })),
  };
}

beforeAll(async () => {
  await initPhysics();
  await import('../../scenes/index.ts');
});

describe('live session controls (host side)', () => {
  it('start with a shift override and act options; change guidance mid-episode; the host reports what the policy got', async () => {
    const h = makeHost();
    try {
      const scene = h.next('live:scene');
      await h.call('live:start', { sceneId: 'manip/push_block', policy: 'random', seed: 4, speed: 20, set: ['shift.occlusion=1'], act: { guidance: 1.5, intent: 2 } });
      const sc = await scene;
      expect(sc.overrides).toEqual({ 'shift.occlusion': 1 });
      expect(sc.liveConfig).toContain('shift.occlusion');
      expect(sc.shifts['shift.distractors']).toBe(0);
      expect(sc.steerable).toBe(true);
      expect(sc.sensors).toEqual({ depth: true, tactile: true });
      const f1 = await h.next('live:frame', (d) => d.seq >= 2);
      expect(f1.act).toEqual({ guidance: 1.5, intent: 2 });
      const r = await h.call('live:command', { act: { guidance: 4 }, clear: ['intent'], sensors: true });
      expect(r.act).toEqual({ guidance: 4 });
      expect(r.restarted).toBe(false);
      const f2 = await h.next('live:frame', (d) => d.act.guidance === 4 && d.frame.step > f1.frame.step);
      expect(f2.act.intent).toBeUndefined();
      // occlusion = 1: every depth image is blank, and the inset says so.
      expect(f2.sensors!.depth!.blank).toBe(true);
      expect(f2.sensors!.depth!.grey.length).toBe(32 * 32);
      expect(f2.sensors!.tactile!.valuesN.length).toBe(2);
      // A live path changes in place (no restart): occlusion off → the depth image comes back.
      const r2 = await h.call('live:command', { set: ['shift.occlusion=0'] });
      expect(r2.restarted).toBe(false);
      const f3 = await h.next('live:frame', (d) => d.frame.step > f2.frame.step + 1);
      expect(f3.sensors!.depth!.blank).toBe(false);
      // A path that needs a rebuild restarts the episode on the same seed, and says so.
      const again = h.next('live:scene');
      const r3 = await h.call('live:command', { set: ['shift.distractors=3'] });
      expect(r3.restarted).toBe(true);
      expect(r3.message).toMatch(/restarted on seed 4/);
      const sc2 = await again;
      expect(sc2.seed).toBe(4);
      expect(sc2.overrides['shift.distractors']).toBe(3);
      expect(sc2.scene.visuals.filter((v) => v.name.startsWith('distractor')).length).toBe(3);
      const f4 = await h.next('live:frame', (d) => d.seq >= 1);
      expect(f4.act.guidance).toBe(4); // act options survive the restart
    } finally {
      await h.host.dispose();
    }
  }, 120_000);

  it('bad overrides and commands get one-line errors and leave the session running', async () => {
    const h = makeHost();
    try {
      await expect(h.call('live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: 1, set: ['nope.x=1'] })).rejects.toThrow(/unknown option 'nope\.x'/);
      expect(() => validateRequest('live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: 1, set: ['__proto__'] })).toThrow(/invalid format/);
      await expect(h.call('live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: 1, set: ['__proto__.polluted=1'] })).rejects.toThrow(/not allowed/);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await h.call('live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: 1, speed: 20 });
      await expect(h.call('live:command', { set: ['maxForceN=fast'] })).rejects.toThrow(/expects number/);
      await expect(h.call('live:command', { steer: [1, 2] })).rejects.toThrow(/steer must be/);
      expect(() => validateRequest('live:command', { act: { guidance: -1 } })).toThrow(/guidance must be ≥ 0/);
      const f = await h.next('live:frame', (d) => d.seq >= 3);
      expect(f.frame.step).toBeGreaterThan(0);
    } finally {
      await h.host.dispose();
    }
  }, 60_000);

  it('steering moves the scene target and the goal the policy receives; the expert follows it; overlays on demand', async () => {
    const h = makeHost();
    try {
      const ended = h.next('live:ended');
      await h.call('live:start', { sceneId: 'toy/point_reach', policy: 'expert', seed: 2, speed: 1 });
      const f0 = await h.next('live:frame', (d) => d.seq >= 1);
      expect(f0.debug).toBeUndefined();
      expect(f0.steer).toBeTruthy();
      // Drag the target to the far side of the arena from the ball.
      const [bx, , bz] = f0.frame.poses;
      const tx = bx! > 0 ? -0.9 : 0.9, tz = bz! > 0 ? -0.9 : 0.9;
      const r = await h.call('live:command', { steer: [tx, 0, tz], overlays: true });
      expect(r.steerTarget).toEqual([tx, 0.001, tz]);
      expect(r.act.goal).toEqual([tx, 0.001, tz]);
      const f1 = await h.next('live:frame', (d) => !!d.debug && d.frame.step > f0.frame.step);
      expect(f1.act.goal).toEqual([tx, 0.001, tz]);
      expect(f1.debug!.map((o) => o.id).sort()).toEqual(['expert-force', 'expert-plan']);
      const zone = f1.frame.overlays.find((o) => o.kind === 'zone')!;
      expect(zone.kind === 'zone' && [zone.center[0], zone.center[2]]).toEqual([tx, tz]);
      const off = await h.call('live:command', { overlays: false });
      expect(off.overlays).toBe(false);
      const f2 = await h.next('live:frame', (d) => d.frame.step > f1.frame.step + 1);
      expect(f2.debug).toBeUndefined();
      // The expert reaches the dragged target (episode ends in success).
      const end = await ended;
      expect(end.success).toBe(true);
      expect(Math.hypot(h.events.filter((e) => e.event === 'live:frame').map((e) => (e.data as Events['live:frame']).frame.poses).at(-1)![0]! - tx,
        h.events.filter((e) => e.event === 'live:frame').map((e) => (e.data as Events['live:frame']).frame.poses).at(-1)![2]! - tz)).toBeLessThan(0.1);
    } finally {
      await h.host.dispose();
    }
  }, 60_000);

  it("humanoid/hoi: steering sets goal.override — the observation's snapshot goal moves there, trajectory/contact masked", async () => {
    const h = makeHost();
    try {
      await h.call('live:start', { sceneId: 'humanoid/hoi', policy: 'zero', seed: 3, speed: 1 });
      const f0 = await h.next('live:frame', (d) => d.seq >= 1);
      const t0 = f0.steer!;
      const t: [number, number, number] = [t0[0] + 0.2, t0[1], t0[2] - 0.15];
      const r = await h.call('live:command', { steer: t });
      expect(r.steerTarget![0]).toBeCloseTo(t[0], 9);
      // hoi's goal feature (25 numbers, root frame) is rewritten by the scene; the policy reads it from the observation.
      expect(r.act.goal).toBeUndefined();
      const f1 = await h.next('live:frame', (d) => d.frame.step > f0.frame.step);
      expect(f1.frame.hud.mask).toBe('011 (steered)');
      const goal = f1.frame.overlays.find((o) => o.id === 'goal')!;
      expect(goal.kind === 'marker' && goal.p[0]).toBeCloseTo(t[0], 6);
    } finally {
      await h.host.dispose();
    }
  }, 60_000);
});
