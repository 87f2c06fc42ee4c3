/**
 * local/moto-launcher/moto_server: moto's server with its service-package list read once. The
 * harness starts it in place of moto_server, and it changes nothing moto answers.
 */
import { spawnSync } from 'node:child_process';
import { MOTO_LAUNCHER, motoCommandPattern, motoServerLaunch } from '../../local/moto';
import { commandLine } from '../../local/own-process';
import { workerMoto } from '../support/worker-moto';

/** The Python (with env's argument, if any) that runs the launcher, or undefined where moto starts as it is (a shim). */
function motoPython(): string[] | undefined {
  const launch = motoServerLaunch([]);
  const at = launch.args.indexOf(MOTO_LAUNCHER);
  return at < 0 ? undefined : [launch.command, ...launch.args.slice(0, at)];
}

const python = motoPython();
const itWithPipScript = python ? it : it.skip;

itWithPipScript('is what the harness starts, with a command line its process checks still recognise', async () => {
  const moto = await workerMoto();
  const port = Number(new URL(moto.endpoint).port);
  const args = commandLine(moto.pid!)!;
  expect(args).toContain(`${MOTO_LAUNCHER} -H 127.0.0.1 -p ${port}`);
  expect(motoCommandPattern(port).test(args)).toBe(true);
  // Still moto: its own API answers.
  expect((await fetch(`${moto.endpoint}/moto-api/data.json`)).ok).toBe(true);
});

itWithPipScript("reads moto's own list once: the same packages, and no directory listing after start", () => {
  const [interpreter, ...interpreterArgs] = python!;
  const check = spawnSync(
    interpreter!,
    [
      ...interpreterArgs,
      '-c',
      [
        'import json, os, runpy, sys',
        'import moto.backends',
        'own = list(moto.backends.list_of_moto_modules())',
        `runpy.run_path(${JSON.stringify(MOTO_LAUNCHER)}, run_name="launcher")`,
        'listed = []',
        'real = os.listdir',
        'os.listdir = lambda *a: listed.append(a) or real(*a)',
        'once = list(moto.backends.list_of_moto_modules())',
        'again = "sqs" in moto.backends.list_of_moto_modules()',
        'print(json.dumps({"same": once == own, "count": len(once), "listed": len(listed), "membership": again}))',
      ].join('\n'),
    ],
    { encoding: 'utf8' },
  );
  expect(check.stderr).toBe('');
  const result = JSON.parse(check.stdout) as { same: boolean; count: number; listed: number; membership: boolean };
  expect(result).toEqual({ same: true, count: expect.any(Number), listed: 0, membership: true });
  expect(result.count).toBeGreaterThan(100);
}, 30_000);
