import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand } from '../../local/run-command';
import { freePort } from '../../local/moto';
import { isAlive } from '../../local/own-process';
import type { UpState } from '../../local/up-state';
import { isolatedHome, lines, runCliProcess } from '../cli/harness';

/**
 * `make up` and `make down` as a user runs them, in a directory and on a port of their own: the
 * environment comes up (over a stale pid file), says so when started twice, runs what the CLI
 * starts for real, and `make down` stops it and only it. About 20-30 s, most of it the set-up
 * `make demo` also does (a first image baked, two cluster stacks).
 */
const ROOT = path.join(__dirname, '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'make-up-'));
const pidFile = path.join(dir, 'up.pid');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `make` with `-o` on the dependency stamp: the jest running this already uses the installed
 * dependencies, and a checkout whose files are newer than the stamp must not reinstall them under it.
 */
function make(target: string, vars: string[] = []): Promise<Result> {
  // Not the outer make's flags either (make test runs jest under make; a -j job server would not reach this one).
  const inherited = ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL'];
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('AMI_PIPELINE_') && !inherited.includes(name)),
  );
  return runCommand('make', ['--no-print-directory', '-o', 'node_modules/.package-lock.json', target, `UP_DIR=${dir}`, ...vars], { cwd: ROOT, env });
}

/** A pid that was just used and is gone: what a crashed environment leaves in its pid file. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

function state(): UpState {
  return JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as UpState;
}

let up: Result;
let port: number;

beforeAll(async () => {
  port = await freePort();
  writeFileSync(pidFile, `${deadPid()}\n`);
  up = await make('up', [`PORT=${port}`]);
}, 180_000);

afterAll(async () => {
  // Whatever a failed test left running.
  if (existsSync(pidFile)) await make('down');
}, 30_000);

describe('make up', () => {
  it('replaces a stale pid file, starts moto on the port asked, and prints what to export', () => {
    expect(up.code).toBe(0);
    expect(up.stderr).toMatch(/removed a stale pid file \(pid \d+ is gone\)/);
    expect(up.stdout).toContain(`export AWS_ENDPOINT_URL='http://127.0.0.1:${port}'`);
    for (const name of ['AWS_ENDPOINT_URL_SFN', 'AWS_ENDPOINT_URL_CLOUDFORMATION', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AMI_PIPELINE_STAGE']) {
      expect(up.stdout).toMatch(new RegExp(`^  export ${name}='[^']+'$`, 'm'));
    }
    expect(up.stdout).toContain('bin/ami-pipeline.js --stage dev status');
    expect(up.stdout).toContain(`make down UP_DIR=${dir}`);
    expect(readFileSync(path.join(dir, 'env.sh'), 'utf8')).toContain(`export AWS_ENDPOINT_URL_SFN='${state().env.AWS_ENDPOINT_URL_SFN}'`);
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(state().pid);
    expect(isAlive(state().pid)).toBe(true);
  });

  it('says it is already up when started again, and exits 0', async () => {
    const again = await make('up', [`PORT=${port}`]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`already up (pid ${state().pid})`);
    expect(again.stdout).toContain(`export AWS_ENDPOINT_URL='http://127.0.0.1:${port}'`);
  });

  it('runs what the CLI starts for real: dev soaks, prod waits for the approval given with the CLI, the run succeeds', async () => {
    const env = { ...isolatedHome(), ...state().env };
    const started = await runCliProcess(['run', '--no-wait', '--reason', 'make up test'], env);
    expect(started.stderr).toContain('Started manual-');
    expect(started.code).toBe(0);
    const executionArn = lines(started.stdout)[0]!;

    const sfn = new SFNClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL_SFN, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const enteredSoFar = async () =>
      ((await sfn.send(new GetExecutionHistoryCommand({ executionArn }))).events ?? [])
        .filter((e) => e.type?.endsWith('StateEntered'))
        .map((e) => e.stateEnteredEventDetails!.name);
    const deadline = Date.now() + 60_000;
    while (!(await enteredSoFar()).includes('Ask ops to approve the wave') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The answer goes through the proxy's SendTaskSuccess to the run waiting on its token.
    const approved = await runCliProcess(['approve', executionArn.split(':').pop()!, '--yes', '--reason', 'make up test'], env);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);

    let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    while (described.status === 'RUNNING' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    }
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!).outcome.status).toBe('SUCCEEDED');
    const events = (await sfn.send(new GetExecutionHistoryCommand({ executionArn }))).events!;
    const entered = events.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails!.name);
    expect(entered).toEqual(
      expect.arrayContaining(['Bake the image', "Roll the wave's clusters", 'Check the wave while it soaks', 'Ask ops to approve the wave', 'Promote the AMI', 'Fleet is on the new image']),
    );
    expect(events.at(-1)!.type).toBe('ExecutionSucceeded');
  }, 90_000);
});

describe('make down', () => {
  it('stops the environment and its moto_server, and only says so once', async () => {
    const { pid, motoPid } = state();
    const down = await make('down');
    expect(down.code).toBe(0);
    expect(down.stderr).toContain(`stopped (pid ${pid})`);
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(motoPid!)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);

    const again = await make('down');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('not up');
  }, 30_000);

  it('removes a stale pid file and stops nothing else', async () => {
    writeFileSync(pidFile, `${process.pid}\n`);
    const down = await make('down');
    expect(down.code).toBe(0);
    expect(down.stderr).toContain(`removed a stale pid file (pid ${process.pid} is another program now; left alone)`);
    expect(existsSync(pidFile)).toBe(false);
  });
});
