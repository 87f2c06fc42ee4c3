/**
 * local/moto-launcher/moto_server: moto's server with its service-package list read once. The
 * harness starts it in place of moto_server, and it changes nothing moto answers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MOTO_LAUNCHER, motoCommandPattern } from '../../local/moto';
import { commandLine } from '../../local/own-process';
import { workerMoto } from '../support/worker-moto';

/** The Python moto_server's script names (pip's console script), or undefined for a shim. */
function motoPython(): string | undefined {
  const script = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).stdout.trim();
  const shebang = /^#!(\S*python[\d.]*)\s*$/.exec(readFileSync(script, 'utf8').split('\n')[0] ?? '');
  return shebang?.[1];
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
  const check = spawnSync(
    python!,
    [
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
