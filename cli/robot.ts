/**
 * `stride robot import FILE.urdf --out DIR [--fixed-base | --floating-base] [--mesh-dir DIR] [--up z|y] [--force] [--json]`
 *
 * Checks a URDF the way `robot/reach` builds it (parse, tree, masses, limits, meshes, one reset and step in Rapier),
 * then writes a self-contained robot folder:
 *   DIR/robot.urdf     the URDF with every readable mesh re-pointed at DIR/meshes/ (so the folder can move)
 *   DIR/meshes/        copies of those meshes
 *   DIR/robot.json     the bridge's robot config (joint names, command scaling, hold, safety envelope) for
 *                      `stride bridge run --config DIR/robot.json`
 *   DIR/scene.json     { scene: 'robot/reach', overrides } — the `--set` flags that load this robot
 *   DIR/model.json     what was built: links (mass), joints (type, limits, effort, velocity, PD gains), warnings
 * The folder is written next to DIR under a temporary name and renamed when complete; a bad URDF is one line on
 * stderr, exit 1, and nothing is written. DIR is replaced only with --force.
 */
import type { Command } from 'commander';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CliError, action, info, loadScenes, printJson } from './util.ts';

interface ImportOpts { out: string; fixedBase?: boolean; floatingBase?: boolean; meshDir?: string; up: string; force?: boolean; json?: boolean }

export function register(program: Command): void {
  const robot = program.command('robot').description('bring your own robot: import a URDF as a robot/reach robot + bridge mapping');
  robot
    .command('import')
    .description('check a URDF and write a robot folder (URDF + meshes, bridge robot config, scene overrides, model summary)')
    .argument('<file.urdf>', 'the robot description')
    .requiredOption('--out <dir>', 'robot folder to write, e.g. scenes/robots/my_arm')
    .option('--fixed-base', 'weld the root link to the world (an arm; the default)')
    .option('--floating-base', 'leave the root link a free body (a mobile or legged base)')
    .option('--mesh-dir <dir>', 'folder searched for package:// and relative mesh files')
    .option('--up <axis>', "the URDF's up axis: z (ROS) or y", 'z')
    .option('--force', 'replace an existing folder at --out (only once the new one is complete)')
    .option('--json', 'print the summary as JSON on stdout')
    .action(action(async (file: string, opts: ImportOpts) => {
      if (opts.fixedBase && opts.floatingBase) throw new CliError('--fixed-base and --floating-base exclude each other', 2);
      if (opts.up !== 'z' && opts.up !== 'y') throw new CliError(`--up must be z or y, got '${opts.up}'`, 2);
      if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`urdf ${file}: not found`);
      const out = resolve(opts.out);
      if (existsSync(out) && !opts.force) throw new CliError(`${opts.out} exists (use --force to replace it)`);
      await loadScenes();
      const { makeEnv } = await import('../scenes/index.ts');
      const { robotOf } = await import('../scenes/robot/reach.ts');
      const { resolveMeshPath } = await import('../sim/robot/mesh.ts');
      const { robotConfigFromUrdf, defaultUrdfBridgeOptions } = await import('../sim/bridge/urdf_config.ts');
      const { validateRobotConfig } = await import('../sim/bridge/robot_config.ts');
      const { writeDurable } = await import('../sim/data/atomic.ts');

      const base = {
        'robot.fixedBase': !opts.floatingBase, 'robot.upAxis': opts.up,
        ...(opts.meshDir ? { 'robot.meshDir': resolve(opts.meshDir) } : {}),
      };
      // --- check: features (parse + tree + masses), then a real reset and step in Rapier ---
      const env = makeEnv('robot/reach', { ...base, 'robot.urdf': resolve(file) });
      let robot;
      try {
        env.reset({ seed: 0 });
        const r = env.step(env.expert().act());
        if (r.info.reason === 'physics-diverged') throw new CliError(`urdf ${file}: the robot blows up in simulation (check masses, inertias and joint origins)`);
        robot = robotOf(env.config as never);
      } finally {
        env.dispose();
      }
      const bridge = robotConfigFromUrdf(robot, env.observationFeatures, env.actionFeatures, defaultUrdfBridgeOptions(env.ctrlDtSec));
      validateRobotConfig(bridge, env.observationFeatures, env.actionFeatures);

      // --- write DIR.tmp-…, then rename ---
      const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
      mkdirSync(tmp, { recursive: true });
      try {
        const used = new Map<string, string>();
        let text = readFileSync(file, 'utf8');
        text = text.replace(/filename\s*=\s*"([^"]*)"/g, (whole, ref: string) => {
          const src = resolveMeshPath(ref, resolve(file), robot.opts.meshDirs);
          if (!robot.meshes.get(src)) return whole;
          let name = used.get(src);
          if (!name) {
            const stem = basename(src, extname(src));
            name = `${stem}${extname(src)}`;
            for (let k = 2; [...used.values()].includes(name); k++) name = `${stem}_${k}${extname(src)}`;
            used.set(src, name);
            mkdirSync(join(tmp, 'meshes'), { recursive: true });
            copyFileSync(src, join(tmp, 'meshes', name));
          }
          return `filename="meshes/${name}"`;
        });
        writeDurable(join(tmp, 'robot.urdf'), text);
        const urdfAt = relative(process.cwd(), join(out, 'robot.urdf')) || join(out, 'robot.urdf');
        const overrides = { 'robot.urdf': urdfAt, ...base, ...(opts.meshDir ? { 'robot.meshDir': relative(process.cwd(), resolve(opts.meshDir)) } : {}) };
        writeDurable(join(tmp, 'robot.json'), `${JSON.stringify(bridge, null, 2)}\n`);
        writeDurable(join(tmp, 'scene.json'), `${JSON.stringify({ scene: 'robot/reach', overrides }, null, 2)}\n`);
        const model = {
          name: robot.model.name, source: resolve(file), urdfSha256: robot.urdfSha256, root: robot.model.root, fixedBase: !opts.floatingBase,
          links: robot.model.links.map((l) => ({ name: l.name, massKg: l.inertial?.massKg ?? 0, visuals: l.visuals.length, collisions: l.collisions.length })),
          joints: robot.joints.map((j) => ({
            name: j.name, type: j.type, parent: robot.model.links[j.parentLink]!.name, child: robot.model.links[j.childLink]!.name,
            ...(j.type === 'fixed' ? {} : { lower: j.rangeLo, upper: j.rangeHi, limited: j.limited, effort: j.effort, velocity: j.velocity, gains: j.gains }),
            ...(j.mimic ? { mimic: robot.joints[j.mimic.leader]!.name, multiplier: j.mimic.multiplier, offset: j.mimic.offset } : {}),
          })),
          actuated: robot.actuated.map((i) => robot.joints[i]!.name),
          meshes: used.size,
          warnings: robot.warnings,
        };
        writeDurable(join(tmp, 'model.json'), `${JSON.stringify(model, null, 2)}\n`);
        if (existsSync(out)) rmSync(out, { recursive: true, force: true });
        mkdirSync(dirname(out), { recursive: true });
        renameSync(tmp, out);
        const set = Object.entries(overrides).map(([k, v]) => `--set ${k}=${v}`).join(' ');
        const summary = { out: opts.out, ...model, sceneOverrides: overrides, robotConfig: join(opts.out, 'robot.json') };
        if (opts.json) printJson(summary);
        else {
          const mass = model.links.reduce((s, l) => s + l.massKg, 0);
          info(false, `imported ${model.name}: ${model.links.length} links (${mass.toFixed(3)} kg), ${model.joints.length} joints, ${model.actuated.length} actuated (${model.actuated.join(', ')}), ${used.size} meshes, ${robot.warnings.length} warnings → ${opts.out}`);
          info(false, `simulate: stride rollout --scene robot/reach ${set} --policy expert`);
          info(false, `hardware: stride bridge run --run RUN --url ws://ROBOT:9090 --config ${join(opts.out, 'robot.json')}`);
        }
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
    }));
}
