/**
 * The viewer UI (same code in Electron and in the browser): tabs Replay / Live / Training / Results around one 3D stage.
 *
 * Replay: open an MCAP recording (the host reads it), pick an episode, scrub/play/step at a speed, read the current
 * frame's metrics, and fork from the current frame with another policy/goal/intent/guidance.
 * Live: pick a scene and a policy, run it in the host (off the UI thread), reset with a seed.
 * Training: follow a run's metrics.jsonl (polled once a second). Results: plots of results/*.json.
 *
 * `window.__strideDebug` is a small read-only window into the stage for tests and benchmarks.
 */
import type { EpisodeData, Events, RecordingInfo, Responses, StrideApi } from '../shared/ipc.ts';
import type { Overlay, RenderFrame, RenderScene } from '../../sim/core/render.ts';
import { Stage, defaultStageOptions } from './stage.ts';
import { connect } from './transport.ts';
import { Chart, findTables, panelsOf, studyView } from './plots.ts';

type Tab = 'replay' | 'live' | 'training' | 'results';

/** The draggable steering marker: a sphere of this radius standing on the target (metres). */
const STEER_LIFT_M = 0.06;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el as T;
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

class App {
  private api: StrideApi;
  private rawWs: { sendRaw(t: string): Promise<unknown> } | null;
  private stage: Stage;
  private tab: Tab = 'replay';
  private init!: Responses['app:init'];

  // replay state
  private rec: RecordingInfo | null = null;
  private ep: EpisodeData | null = null;
  private index = 0;
  private playing = false;
  private speed = 1;
  private playAccumMs = 0;
  private lastTickMs = 0;

  // live state
  private liveInfo: Events['live:scene'] | null = null;
  private liveFrame: Events['live:frame'] | null = null;
  private pendingLive: Events['live:frame'] | null = null;
  private delays: number[] = [];
  private liveRet = 0;

  // what is on stage
  private shownScene: RenderScene | null = null;
  private shownFrame: RenderFrame | null = null;
  private source: 'replay' | 'live' | 'none' = 'none';
  private fpsFrames: number[] = [];

  // training/results
  private charts = new Map<string, Chart>();
  /** Followed runs (one, or several compared): rows read so far and the next line to ask for. */
  private runs: { name: string; rows: Record<string, unknown>[]; next: number; exists: boolean }[] = [];
  private runName = '';
  /** Live: the steered target as the host reports it, and where the user dropped it (until the host confirms). */
  private steer: [number, number, number] | null = null;
  private dropped: [number, number, number] | null = null;
  private lastCommand: Responses['live:command'] | null = null;
  /** A live session is running (started and not ended/stopped/failed). */
  private liveRunning = false;
  private pollTimer: number | null = null;

  constructor() {
    const c = connect();
    this.api = c.api;
    this.rawWs = c.ws;
    const bench = new URLSearchParams(location.search).has('bench');
    const q = new URLSearchParams(location.search);
    this.stage = new Stage($<HTMLCanvasElement>('stage'), {
      ...defaultStageOptions(), noBlobs: q.has('noblob'), noToneMapping: q.has('notm'), plainGround: q.has('plainground'),
    });
    this.stage.onDraw = (now) => this.afterDraw(now);
    new ResizeObserver(() => this.stage.resize()).observe($('view3d'));
    this.bindUi();
    this.api.on('live:scene', (d) => this.onLiveScene(d));
    this.api.on('live:frame', (d) => {
      // Every frame counts toward the return; only the latest one is drawn.
      if (d.seq > 0) this.liveRet += d.reward;
      this.pendingLive = d;
    });
    this.api.on('live:ended', (d) => (this.liveRunning = false, this.status(`live episode ended: ${d.reason}, return ${d.return.toFixed(3)}, ${d.length} steps, success ${d.success ? 'yes' : 'no'}${d.file ? ` — branch recorded to ${d.file}` : ''}`)));
    this.api.on('app:open', (d) => void this.guard(() => this.openRecording(d.file)));
    this.api.on('live:error', (d) => { this.liveRunning = false; this.status(`live error: ${d.message}`, true); });
    this.exposeDebug(bench);
    requestAnimationFrame((t) => this.loop(t));
  }

  async start(): Promise<void> {
    this.init = await this.api.invoke('app:init', {});
    const sceneSel = $<HTMLSelectElement>('live-scene');
    for (const s of this.init.scenes) sceneSel.append(el('option', { value: s.id }, `${s.id}`));
    const defaultScene = this.init.scenes.find((s) => s.id === 'toy/point_reach') ?? this.init.scenes[0];
    if (defaultScene) sceneSel.value = defaultScene.id;
    const dl = $('policy-list');
    for (const p of this.init.policies) dl.append(el('option', { value: p }));
    this.fillRunPicker(this.init.runs);
    $('mode-label').textContent = this.init.mode === 'electron' ? 'app' : 'web';
    if (this.init.run) { $<HTMLInputElement>('run-path').value = this.init.run; }
    if (this.init.file) {
      $<HTMLInputElement>('rec-path').value = this.init.file;
      await this.openRecording(this.init.file);
    } else if (this.init.run) {
      this.setTab('training');
    } else {
      this.setTab('live');
    }
    document.body.dataset.ready = '1';
  }

  // --- UI wiring ---------------------------------------------------------------------------------------------------

  private bindUi(): void {
    for (const t of ['replay', 'live', 'training', 'results'] as Tab[]) $(`tab-${t}`).addEventListener('click', () => this.setTab(t));
    $('rec-open').addEventListener('click', () => void this.guard(() => this.openRecording($<HTMLInputElement>('rec-path').value.trim())));
    $<HTMLSelectElement>('rec-episode').addEventListener('change', (e) => void this.guard(() => this.loadEpisode(Number((e.target as HTMLSelectElement).value))));
    const slider = $<HTMLInputElement>('timeline');
    slider.addEventListener('input', () => { this.playing = false; this.updatePlayButton(); this.seek(Number(slider.value)); });
    $('btn-play').addEventListener('click', () => this.togglePlay());
    $('btn-prev').addEventListener('click', () => { this.playing = false; this.updatePlayButton(); this.seek(this.index - 1); });
    $('btn-next').addEventListener('click', () => { this.playing = false; this.updatePlayButton(); this.seek(this.index + 1); });
    $<HTMLSelectElement>('speed').addEventListener('change', (e) => { this.speed = Number((e.target as HTMLSelectElement).value); });
    $('btn-fork').addEventListener('click', () => void this.guard(() => this.fork()));
    $('live-start').addEventListener('click', () => void this.guard(() => this.liveStart()));
    $('live-reset').addEventListener('click', () => void this.guard(async () => {
      this.liveRet = 0;
      await this.api.invoke('live:reset', { seed: this.seedInput('live-seed') });
    }));
    $('live-pause').addEventListener('click', () => void this.guard(async () => {
      const btn = $('live-pause');
      const paused = btn.dataset.paused !== '1';
      await this.api.invoke('live:pause', { paused });
      btn.dataset.paused = paused ? '1' : '0';
      btn.textContent = paused ? 'Resume' : 'Pause';
    }));
    $('live-stop').addEventListener('click', () => void this.guard(async () => { this.liveRunning = false; await this.api.invoke('live:stop', {}); }));
    $<HTMLInputElement>('follow').addEventListener('change', (e) => this.stage.setFollow((e.target as HTMLInputElement).checked));
    $('btn-frame').addEventListener('click', () => this.stage.frameAll());
    $<HTMLInputElement>('trail').addEventListener('change', (e) => this.stage.setTrail((e.target as HTMLInputElement).checked));
    // Live policy inputs: each change is one 'live:command' (no reset).
    const guid = $<HTMLInputElement>('live-guidance');
    guid.addEventListener('input', () => { $('live-guidance-v').textContent = Number(guid.value).toFixed(2); guid.dataset.touched = '1'; });
    guid.addEventListener('change', () => void this.guard(() => this.command({ act: { guidance: Number(guid.value) } })));
    $<HTMLSelectElement>('live-intent').addEventListener('change', (e) => {
      const v = (e.target as HTMLSelectElement).value;
      void this.guard(() => this.command(v === '' ? { clear: ['intent'] } : { act: { intent: Number(v) } }));
    });
    $<HTMLInputElement>('live-steps').addEventListener('change', (e) => {
      const v = (e.target as HTMLInputElement).value.trim();
      void this.guard(() => this.command(v === '' ? { clear: ['steps'] } : { act: { steps: Number(v) } }));
    });
    $('live-goal-set').addEventListener('click', () => void this.guard(() => {
      const txt = $<HTMLInputElement>('live-goal').value.trim();
      if (!txt) return this.command({ clear: ['goal'] });
      const g = txt.split(/[\s,]+/).map(Number);
      if (g.some((x) => !Number.isFinite(x))) throw new Error(`goal must be numbers separated by commas, got '${txt}'`);
      // A 3-number goal on a steerable scene moves the task's target too; otherwise it only conditions the policy.
      return this.command(g.length === 3 && this.liveInfo?.steerable ? { steer: g } : { act: { goal: g } });
    }));
    $<HTMLInputElement>('live-overlays').addEventListener('change', (e) => void this.guard(async () => {
      // Hide at once (also when paused or ended); the host stops computing them on the command.
      if (this.liveFrame && this.source === 'live') this.applyLive(this.liveFrame);
      await this.command({ overlays: (e.target as HTMLInputElement).checked });
    }));
    $<HTMLInputElement>('live-sensors').addEventListener('change', (e) => void this.guard(() => this.command({ sensors: (e.target as HTMLInputElement).checked })));
    this.stage.onDragEnd = (p) => {
      // The marker floats STEER_LIFT_M above the target it stands for.
      const t: [number, number, number] = [p[0], p[1] - STEER_LIFT_M, p[2]];
      this.dropped = t;
      void this.guard(() => this.command({ steer: t }));
    };
    $('run-compare').addEventListener('click', () => {
      const sel = [...$<HTMLSelectElement>('run-pick').selectedOptions].map((o) => o.value);
      if (sel.length) $<HTMLInputElement>('run-path').value = sel.join(', ');
      this.runName = '';
      void this.guard(() => this.pollRun());
    });
    $('run-follow').addEventListener('click', () => { this.runName = ''; void this.guard(() => this.pollRun()); });
    $('results-refresh').addEventListener('click', () => void this.guard(() => this.loadResults()));
    window.addEventListener('keydown', (e) => {
      if ((e.target as HTMLElement).tagName === 'INPUT' || this.tab !== 'replay') return;
      if (e.key === ' ') { e.preventDefault(); this.togglePlay(); }
      if (e.key === 'ArrowRight') this.seek(this.index + 1);
      if (e.key === 'ArrowLeft') this.seek(this.index - 1);
    });
  }

  private async guard(fn: () => Promise<unknown>): Promise<void> {
    try { await fn(); } catch (e) { this.status(e instanceof Error ? e.message : String(e), true); }
  }

  private status(msg: string, error = false): void {
    const s = $('status');
    s.textContent = msg;
    s.classList.toggle('error', error);
  }

  private setTab(t: Tab): void {
    this.tab = t;
    for (const x of ['replay', 'live', 'training', 'results'] as Tab[]) {
      $(`tab-${x}`).classList.toggle('active', x === t);
      $(`panel-${x}`).hidden = x !== t;
    }
    const plots = t === 'training' || t === 'results';
    $('view3d').hidden = plots;
    $('plots').hidden = !plots;
    $('timeline-bar').hidden = t !== 'replay';
    document.body.dataset.tab = t;
    if (this.pollTimer !== null) { clearInterval(this.pollTimer); this.pollTimer = null; }
    this.clearCharts();
    if (t === 'training') {
      this.runName = '';
      void this.guard(async () => this.fillRunPicker((await this.api.invoke('app:init', {})).runs));
      void this.guard(() => this.pollRun());
      this.pollTimer = window.setInterval(() => void this.guard(() => this.pollRun()), 1000);
    }
    if (t === 'results') void this.guard(() => this.loadResults());
    if (t === 'replay' && this.ep) this.showReplayFrame();
    if (!plots) requestAnimationFrame(() => this.stage.resize());
  }

  private seedInput(id: string): number {
    const v = Number($<HTMLInputElement>(id).value);
    if (!Number.isInteger(v) || v < 0) throw new Error('seed must be a non-negative integer');
    return v;
  }

  // --- replay --------------------------------------------------------------------------------------------------------

  private async openRecording(file: string): Promise<void> {
    if (!file) throw new Error('enter the path of an .mcap recording');
    this.status(`opening ${file}…`);
    this.rec = await this.api.invoke('recording:open', { file });
    const sel = $<HTMLSelectElement>('rec-episode');
    sel.replaceChildren(...this.rec.episodes.map((e) => el('option', { value: String(e.index) }, `#${e.index} seed ${e.seed} · ${e.length} steps · ${e.success ? 'success' : e.reason || 'fail'}`)));
    const m = this.rec.meta;
    $('rec-meta').textContent = `${m.sceneId} · policy ${m.policy} · ${this.rec.episodes.length} episode(s)${m.parent ? ` · fork of ${m.parent.file.split('/').pop()} ep ${m.parent.episode} step ${m.parent.step}` : ''}`;
    this.setTab('replay');
    await this.loadEpisode(0);
    this.status(`opened ${file}`);
  }

  private async loadEpisode(i: number): Promise<void> {
    this.ep = await this.api.invoke('recording:episode', { episode: i });
    const slider = $<HTMLInputElement>('timeline');
    slider.min = '0';
    slider.max = String(Math.max(0, this.ep.steps.length - 1));
    this.source = 'replay';
    this.shownScene = null;
    this.index = 0;
    this.playing = false;
    this.updatePlayButton();
    this.showReplayFrame();
  }

  private seek(i: number): void {
    if (!this.ep) return;
    this.index = Math.max(0, Math.min(this.ep.steps.length - 1, i));
    this.showReplayFrame();
  }

  private showReplayFrame(): void {
    if (!this.ep || !this.ep.steps.length) return;
    if (this.source !== 'replay' || this.shownScene !== this.ep.scene) {
      this.source = 'replay';
      this.stage.setScene(this.ep.scene);
      this.shownScene = this.ep.scene;
    }
    const s = this.ep.steps[this.index]!;
    this.stage.setFrame(s.frame);
    this.shownFrame = s.frame;
    $<HTMLInputElement>('timeline').value = String(this.index);
    $('step-label').textContent = `step ${s.frame.step} / ${this.ep.steps[this.ep.steps.length - 1]!.frame.step} · t ${s.frame.tSec.toFixed(2)} s`;
    let ret = 0;
    for (let i = 0; i <= this.index; i++) ret += this.ep.steps[i]!.reward;
    this.renderMetrics('rec-metrics', { reward: s.reward, return: ret, ...s.metrics, ...s.frame.hud, action: s.action.map((a) => a.toFixed(2)).join(' ') });
    this.renderHud(this.rec?.meta.sceneId ?? this.ep.scene.sceneId, this.rec?.meta.policy ?? '', s.frame, { reward: s.reward, return: ret, ...s.metrics });
  }

  private togglePlay(): void {
    if (!this.ep) return;
    if (!this.playing && this.index >= this.ep.steps.length - 1) this.seek(0);
    this.playing = !this.playing;
    this.playAccumMs = 0;
    this.updatePlayButton();
  }

  private updatePlayButton(): void { $('btn-play').textContent = this.playing ? 'Pause' : 'Play'; }

  private async fork(): Promise<void> {
    if (!this.ep || !this.rec) throw new Error('open a recording first');
    const s = this.ep.steps[this.index]!;
    const goalTxt = $<HTMLInputElement>('fork-goal').value.trim();
    const intentTxt = $<HTMLInputElement>('fork-intent').value.trim();
    const guidTxt = $<HTMLInputElement>('fork-guidance').value.trim();
    const payload: Parameters<StrideApi['invoke']>[1] & Record<string, unknown> = {
      episode: this.ep.episode, step: s.frame.step, policy: $<HTMLInputElement>('fork-policy').value.trim() || 'expert', speed: this.speed,
    };
    if (goalTxt) payload.goal = goalTxt.split(/[\s,]+/).map(Number);
    if (intentTxt) payload.intent = Number(intentTxt);
    if (guidTxt) payload.guidance = Number(guidTxt);
    this.playing = false;
    this.updatePlayButton();
    const r = await this.api.invoke('fork:start', payload as never) as Responses['fork:start'];
    const out = $('fork-result');
    out.textContent = `${r.match ? '✓ restored state matches' : '✗ restored state DIFFERS from'} the recording at step ${r.parent.step} (${r.branchHash.slice(0, 12)}…). Branch → ${r.file}`;
    out.classList.toggle('error', !r.match);
    this.status(`fork at step ${r.parent.step}: ${r.match ? 'state hash matches the recording' : 'state hash DIFFERS from the recording'} — branch recording → ${r.file}`, !r.match);
    (document.body.dataset as DOMStringMap).forkFile = r.file;
    this.setTab('live');
  }

  // --- live ----------------------------------------------------------------------------------------------------------

  /** The act options the Live panel's inputs set (only those the user touched). */
  private actInputs(): { goal?: number[]; intent?: number; guidance?: number; steps?: number } {
    const act: { goal?: number[]; intent?: number; guidance?: number; steps?: number } = {};
    const g = $<HTMLInputElement>('live-guidance');
    if (g.dataset.touched === '1') act.guidance = Number(g.value);
    const i = $<HTMLSelectElement>('live-intent').value;
    if (i !== '') act.intent = Number(i);
    const st = $<HTMLInputElement>('live-steps').value.trim();
    if (st) act.steps = Number(st);
    const goal = $<HTMLInputElement>('live-goal').value.trim();
    if (goal) act.goal = goal.split(/[\s,]+/).map(Number);
    return act;
  }

  private async liveStart(): Promise<void> {
    this.liveRet = 0;
    const policy = $<HTMLInputElement>('live-policy').value.trim() || 'expert';
    const setTxt = $<HTMLInputElement>('live-set').value.trim();
    const set = setTxt ? setTxt.split(/\s*,\s*/).filter(Boolean) : [];
    await this.api.invoke('live:start', {
      sceneId: $<HTMLSelectElement>('live-scene').value, policy, seed: this.seedInput('live-seed'), speed: Number($<HTMLSelectElement>('live-speed').value),
      ...(set.length ? { set } : {}), act: this.actInputs(),
    });
    this.liveRunning = true;
    // The overlay/inset toggles persist in the host across sessions: bring them in line with the page.
    await this.command({ overlays: $<HTMLInputElement>('live-overlays').checked, sensors: $<HTMLInputElement>('live-sensors').checked });
    const b = $('live-pause');
    b.dataset.paused = '0';
    b.textContent = 'Pause';
  }

  private onLiveScene(d: Events['live:scene']): void {
    this.liveInfo = d;
    this.liveRunning = true;
    this.liveRet = 0;
    this.pendingLive = null;
    this.source = 'live';
    this.stage.setScene(d.scene);
    this.shownScene = d.scene;
    this.playing = false;
    if (this.tab !== 'live') this.setTab('live');
    const ov = Object.entries(d.overrides).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
    $('live-info').textContent = `${d.sceneId} · ${d.policy} · seed ${d.seed}${d.branchOf ? ` · branch of episode ${d.branchOf.episode} at step ${d.branchOf.step}` : ''}${ov ? ` · ${ov}` : ''}`;
    this.steer = null;
    this.dropped = null;
    this.stage.setDraggable(d.steerable ? 'steer' : null);
    this.buildShiftToggles(d);
    $('insets').hidden = !$<HTMLInputElement>('live-sensors').checked;
    $('inset-depth').hidden = !d.sensors.depth;
    $('inset-tactile').hidden = !d.sensors.tactile;
  }

  /**
   * One toggle per shift knob of the scene (manipulation's distractors / occlusion / camera jitter): on = a typical
   * strength, off = 0. Knobs the scene reads per step change in place; the others restart the episode on its seed.
   */
  private buildShiftToggles(d: Events['live:scene']): void {
    const box = $('live-shifts');
    const ON: Record<string, number> = { 'shift.distractors': 3, 'shift.occlusion': 0.5, 'shift.cameraJitter': 0.02 };
    box.replaceChildren(...Object.entries(d.shifts).map(([k, v]) => {
      const live = d.liveConfig.includes(k);
      const cb = el('input', { type: 'checkbox', checked: v > 0 });
      cb.dataset.path = k;
      cb.addEventListener('change', () => void this.guard(() => this.command({ set: [`${k}=${cb.checked ? ON[k] ?? 1 : 0}`] })));
      const lab = el('label', { title: live ? 'changes in place' : 'needs a rebuild: restarts the episode on the same seed' });
      const span = el('span');
      span.append(cb, ` ${k.slice(6)}${live ? '' : ' ↻'}`);
      lab.append(span, el('span', { className: 'val' }, v > 0 ? String(v) : 'off'));
      return lab;
    }));
  }

  /** Send one 'live:command' and show what the host applied. */
  private async command(c: Parameters<StrideApi['invoke']>[1] & Record<string, unknown>): Promise<void> {
    // No session running: the panel's inputs are read when the next one starts (no error for setting them first).
    if (!this.liveRunning) { this.status('no live session running: these inputs apply when you press Start'); return; }
    const r = await this.api.invoke('live:command', c as never) as Responses['live:command'];
    this.lastCommand = r;
    this.showAct(r.act);
    // Keep the shift toggles' value labels true to what the host applied.
    for (const cb of document.querySelectorAll<HTMLInputElement>('#live-shifts input[data-path]')) {
      const v = r.overrides[cb.dataset.path!];
      if (typeof v !== 'number') continue;
      cb.checked = v > 0;
      const val = cb.closest('label')?.querySelector('.val');
      if (val) val.textContent = v > 0 ? String(v) : 'off';
    }
    if (r.message) this.status(r.message);
    document.body.dataset.commands = String(Number(document.body.dataset.commands ?? '0') + 1);
  }

  private showAct(a: Events['live:frame']['act']): void {
    const parts = Object.entries(a).map(([k, v]) => `${k} ${Array.isArray(v) ? `(${v.map((x) => x.toFixed(2)).join(', ')})` : v}`);
    $('live-act').textContent = `policy receives: ${parts.length ? parts.join(' · ') : 'no act options (method defaults)'}`;
  }

  /** Depth image (greyscale, scaled, blank while occluded) and tactile bars. */
  private drawInsets(d: Events['live:frame']): void {
    const box = $('insets');
    box.hidden = !d.sensors;
    if (!d.sensors) return;
    const dep = d.sensors.depth;
    if (dep) {
      const c = $<HTMLCanvasElement>('inset-depth-canvas');
      if (c.width !== dep.widthPx || c.height !== dep.heightPx) { c.width = dep.widthPx; c.height = dep.heightPx; }
      const ctx = c.getContext('2d')!;
      const img = ctx.createImageData(dep.widthPx, dep.heightPx);
      // Near = bright, far = dark; a blank (occluded) image is all black.
      for (let i = 0; i < dep.grey.length; i++) {
        const g = dep.blank ? 0 : 255 - dep.grey[i]!;
        img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = g;
        img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      $('inset-depth').classList.toggle('blank', dep.blank);
      $('inset-depth-note').textContent = dep.blank ? 'OCCLUDED' : `0–${dep.maxRangeM.toFixed(1)} m`;
    }
    const tac = d.sensors.tactile;
    if (tac) {
      const maxN = Math.max(2, ...tac.valuesN);
      $('inset-tactile-bars').replaceChildren(...tac.valuesN.map((v, i) => {
        const col = el('div', { className: 'col', title: `${tac.names[i]}: ${v.toFixed(2)} N` });
        const bar = el('div', { className: 'bar' });
        bar.style.height = `${Math.max(1, (v / maxN) * 100)}%`;
        bar.append(el('span', {}, v.toFixed(1)));
        col.append(bar);
        return col;
      }));
    }
  }

  private applyLive(d: Events['live:frame']): void {
    if (this.source !== 'live' || !this.liveInfo) return;
    // Policy overlays (host sends them only while on) and the draggable target marker join the scene's overlays.
    const showDebug = $<HTMLInputElement>('live-overlays').checked;
    const extra: Overlay[] = showDebug ? (d.debug ?? []).map((o) => ({ ...o, id: `policy:${o.id}` })) : [];
    if (d.steer) {
      this.steer = d.steer;
      if (this.dropped && Math.hypot(d.steer[0] - this.dropped[0], d.steer[2] - this.dropped[2]) < 1e-3) this.dropped = null;
      const p = this.dropped ?? d.steer;
      extra.push({ kind: 'marker', id: 'steer', p: [p[0], p[1] + STEER_LIFT_M, p[2]], radiusM: STEER_LIFT_M, color: '#ffb300' });
    }
    const frame = extra.length ? { ...d.frame, overlays: [...d.frame.overlays, ...extra] } : d.frame;
    this.stage.setFrame(frame);
    this.shownFrame = frame;
    this.liveFrame = d;
    this.showAct(d.act);
    this.drawInsets(d);
    this.renderMetrics('live-metrics', { reward: d.reward, return: this.liveRet, ...d.metrics, ...d.frame.hud });
    this.renderHud(this.liveInfo.sceneId, this.liveInfo.policy, frame, { reward: d.reward, return: this.liveRet, ...d.metrics }, d.act);
  }

  // --- HUD and tables ------------------------------------------------------------------------------------------------

  private renderHud(sceneId: string, policy: string, f: RenderFrame, m: Record<string, number | string | boolean>, act?: Events['live:frame']['act']): void {
    const rows: [string, string][] = [['scene', sceneId], ['policy', policy], ['step', `${f.step}  (t ${f.tSec.toFixed(2)} s)`]];
    const terms = Object.entries(m).filter(([k]) => k.startsWith('reward/'));
    rows.push(['reward', fmt(m.reward ?? 0)], ['return', fmt(m.return ?? 0)]);
    for (const [k, v] of terms) rows.push([`  ${k.slice(7)}`, fmt(v)]);
    for (const [k, v] of Object.entries(f.hud)) rows.push([k, fmt(v)]);
    const succ = m.success === 1 || m.success === true;
    const hud = $('hud');
    hud.replaceChildren(...rows.map(([k, v]) => { const r = el('div', { className: 'row' }); r.append(el('span', { className: 'k' }, k), el('span', { className: 'v' }, v)); return r; }));
    // What the policy is conditioned on (live), then HUD bars from overlays (e.g. a residual's magnitude).
    for (const [k, v] of Object.entries(act ?? {})) {
      const r = el('div', { className: 'row act' });
      r.append(el('span', { className: 'k' }, k), el('span', { className: 'v' }, Array.isArray(v) ? v.map((x) => x.toFixed(2)).join(', ') : fmt(v)));
      hud.append(r);
    }
    for (const o of f.overlays) {
      if (o.kind !== 'bar') continue;
      const b = el('div', { className: 'hbar' });
      const r = el('div', { className: 'row' });
      r.append(el('span', { className: 'k' }, o.label), el('span', { className: 'v' }, `${fmt(o.value)} / ${fmt(o.max)}`));
      const track = el('div', { className: 'track' }), fill = el('div', { className: 'fill' });
      fill.style.width = `${Math.max(0, Math.min(100, (o.value / (o.max || 1)) * 100))}%`;
      fill.style.background = o.color;
      track.append(fill);
      b.append(r, track);
      hud.append(b);
    }
    const badge = el('div', { className: `badge ${succ ? 'ok' : 'no'}` }, succ ? 'SUCCESS' : 'in progress');
    hud.append(badge);
  }

  private renderMetrics(id: string, m: Record<string, unknown>): void {
    const t = $(id);
    t.replaceChildren(...Object.entries(m).map(([k, v]) => { const r = el('tr'); r.append(el('td', {}, k), el('td', {}, fmt(v))); return r; }));
  }

  // --- training & results --------------------------------------------------------------------------------------------

  /** The compare list: runs with a metrics.jsonl (selection kept across refreshes). */
  private fillRunPicker(runs: string[]): void {
    const pick = $<HTMLSelectElement>('run-pick');
    const sel = new Set([...pick.selectedOptions].map((o) => o.value));
    pick.replaceChildren(...runs.map((r) => el('option', { value: r, selected: sel.has(r) }, r)));
  }

  /** Destroy every chart on the plots page. */
  private clearCharts(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
    $('plots').replaceChildren();
  }

  /**
   * Follow one run, or compare several (comma separated): poll each metrics.jsonl from where it was left, then draw
   * one chart per (namespace, unit) panel. Switching runs clears every chart of the previous selection first.
   */
  private async pollRun(): Promise<void> {
    const spec = $<HTMLInputElement>('run-path').value.trim();
    if (!spec) { $('run-info').textContent = 'enter a run directory (runs/<name>) to follow its metrics.jsonl'; return; }
    if (spec !== this.runName) {
      this.runName = spec;
      this.runs = [...new Set(spec.split(/\s*,\s*/).filter(Boolean))].map((name) => ({ name, rows: [], next: 0, exists: false }));
      this.clearCharts();
    }
    const runs = this.runs;
    let grew = false;
    for (const run of runs) {
      const r = await this.api.invoke('run:metrics', { run: run.name, fromLine: run.next });
      if (this.runs !== runs) return; // switched while waiting
      run.rows.push(...r.rows);
      run.next = r.nextLine;
      run.exists = r.exists;
      if (r.rows.length) grew = true;
    }
    $('run-info').textContent = runs.map((r) => (r.exists ? `${r.name}: ${r.rows.length} rows` : `${r.name}: no metrics.jsonl yet (waiting)`)).join(' · ') + (runs.length > 1 ? ' (comparing)' : ' (following)');
    if (!grew && this.charts.size) return;
    const { xs, xLabel, panels } = panelsOf(runs);
    const root = $('plots');
    for (const p of panels) {
      let c = this.charts.get(p.id);
      if (!c) { c = new Chart(root, p.title, xLabel); this.charts.set(p.id, c); }
      c.update(xs, p.series, { yRange: p.yRange, logY: p.logY });
    }
  }

  private async loadResults(): Promise<void> {
    const r = await this.api.invoke('results:list', {});
    const root = $('plots');
    this.clearCharts();
    $('results-info').textContent = r.files.length ? `${r.files.length} file(s) in ${r.dir}` : `no results/*.json in ${r.dir} yet`;
    // Studies first: each gets a claim card at the top (guard line, claims met / not met / not decided, verdict).
    const files = r.files.map((f) => ({ ...f, study: studyView(f.data) })).sort((a, b) => Number(!!b.study) - Number(!!a.study));
    for (const f of files) {
      const study = f.study;
      const tables = study ? study.tables : findTables(f.data);
      root.append(el('h3', {}, f.name));
      if (study) {
        const card = el('div', { className: 'claim-card' });
        root.append(card);
        const counts = { met: 0, 'not met': 0, 'not decided': 0 };
        for (const c of study.claims) counts[c.met]++;
        card.append(el('div', { className: 'claim-counts' }, `${counts.met} met · ${counts['not met']} not met · ${counts['not decided']} not decided`));
        card.append(el('p', { className: 'muted study-guard' }, `${study.title} · ${study.guard}`));
        const t = el('table', { className: 'study-claims' });
        const row = (cells: string[], tag: 'th' | 'td', className = '') => { const tr = el('tr', { className }); tr.append(...cells.map((x) => el(tag, {}, x))); t.append(tr); };
        row(['claim', 'met', 'measured [95% CI]'], 'th');
        for (const c of study.claims) row([c.id, c.met, c.measured], 'td', `claim-${c.met.replace(' ', '-')}`);
        card.append(t, el('p', { className: 'muted' }, study.verdict));
      }
      if (!tables.length) root.append(el('pre', { className: 'json' }, JSON.stringify(f.data, null, 1).slice(0, 1500)));
      tables.slice(0, 12).forEach((t, i) => {
        const c = new Chart(root, `${f.name}: ${t.title}`, t.xLabel, t.xNames ?? null);
        c.update(t.xs, t.series);
        this.charts.set(`${f.name}#${i}`, c);
      });
    }
  }

  // --- animation loop ------------------------------------------------------------------------------------------------

  private loop(nowMs: number): void {
    requestAnimationFrame((t) => this.loop(t));
    const dt = this.lastTickMs ? Math.min(250, nowMs - this.lastTickMs) : 0;
    this.lastTickMs = nowMs;
    if (this.playing && this.ep && this.rec) {
      this.playAccumMs += dt * this.speed;
      const periodMs = this.rec.ctrlDtSec * 1000;
      let n = 0;
      while (this.playAccumMs >= periodMs) { this.playAccumMs -= periodMs; n++; }
      if (n) {
        if (this.index + n >= this.ep.steps.length - 1) { this.playing = false; this.updatePlayButton(); }
        this.seek(this.index + n);
      }
    }
    if (this.pendingLive) {
      const d = this.pendingLive;
      this.pendingLive = null;
      this.applyLive(d);
      this.drawSentAt = d.sentAtMs;
    }
    if (!$('view3d').hidden) this.stage.draw();
    const fol = $<HTMLInputElement>('follow');
    if (fol.checked !== this.stage.following) fol.checked = this.stage.following;
  }

  private drawSentAt = 0;

  private afterDraw(nowMs: number): void {
    this.fpsFrames.push(performance.now());
    if (this.fpsFrames.length > 240) this.fpsFrames.shift();
    if (this.drawSentAt) {
      this.delays.push(nowMs - this.drawSentAt);
      if (this.delays.length > 2000) this.delays.shift();
      this.drawSentAt = 0;
    }
  }

  private fps(): number {
    const f = this.fpsFrames;
    if (f.length < 2) return 0;
    return ((f.length - 1) * 1000) / (f[f.length - 1]! - f[0]!);
  }

  // --- debug / bench ---------------------------------------------------------------------------------------------------

  private exposeDebug(bench: boolean): void {
    const app = this;
    const dbg = {
      get ready() { return document.body.dataset.ready === '1'; },
      get tab() { return app.tab; },
      get source() { return app.source; },
      stats: () => app.stage.stats(),
      poseOf: (id: number) => app.stage.poseOf(id),
      frame: () => (app.shownFrame ? { step: app.shownFrame.step, ids: [...app.shownFrame.ids], poses: [...app.shownFrame.poses] } : null),
      replay: () => (app.ep ? { episode: app.ep.episode, index: app.index, length: app.ep.steps.length, playing: app.playing } : null),
      live: () => (app.liveFrame ? {
        seq: app.liveFrame.seq, step: app.liveFrame.frame.step, sceneId: app.liveInfo?.sceneId, branchOf: app.liveInfo?.branchOf ?? null,
        act: app.liveFrame.act, steer: app.liveFrame.steer ?? null, debug: (app.liveFrame.debug ?? []).length, overrides: app.liveInfo?.overrides ?? {},
        sensors: app.liveFrame.sensors ? { depthBlank: app.liveFrame.sensors.depth?.blank ?? null, tactile: app.liveFrame.sensors.tactile?.valuesN.length ?? 0 } : null,
      } : null),
      lastCommand: () => app.lastCommand,
      /** Drawn overlay keys ('kind:id'), the client-px position of a drawn overlay (for dragging in tests). */
      overlayKeys: () => app.stage.overlayKeys(),
      overlayScreen: (key: string) => { const p = app.stage.overlayPosition(key); return p ? app.stage.screenOf(p) : null; },
      /** Each chart's title, y range and series count (Training/Results). */
      charts: () => [...app.charts.values()].map((c) => ({ title: c.title, yRange: c.yRange, series: Number(c.el.dataset.series ?? 0), ticks: c.ticks })),
      delays: () => [...app.delays],
      fps: () => app.fps(),
      /** Send a raw WebSocket message (web mode) and return the host's reply — for validation tests. */
      sendRaw: (text: string) => (app.rawWs ? app.rawWs.sendRaw(text) : Promise.reject(new Error('not in web mode'))),
      /** Draw a synthetic scene and loop through frames each animation frame (benchmarks). */
      benchLoad: bench ? (scene: RenderScene, frames: RenderFrame[]) => {
        app.source = 'none';
        app.stage.setScene(scene);
        let i = 0;
        const tick = () => { app.stage.setFrame(frames[i++ % frames.length]!); requestAnimationFrame(tick); };
        tick();
      } : undefined,
      resetFps: () => { app.fpsFrames = []; app.delays = []; },
    };
    Object.defineProperty(window, '__strideDebug', { value: Object.freeze(dbg), writable: false });
  }
}

const app = new App();
app.start().catch((e) => {
  const s = document.getElementById('status');
  if (s) { s.textContent = `viewer failed to start: ${e instanceof Error ? e.message : String(e)}`; s.classList.add('error'); }
});
