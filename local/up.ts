/**
 * `make up` and `make down`: a local emulated account that stays up for the CLI to use.
 *
 *   tsx local/up.ts up   --dir .build/up --stage dev [--scenario success] [--port 5000]
 *   tsx local/up.ts down --dir .build/up
 *
 * `up` starts local/up-server.ts in the background (its own session, output to up.log), waits
 * until it is ready and prints what to export. Already up: says so, prints the same, exits 0.
 * `down` stops that process only: the pid in up.pid, and only while its command line is still
 * local/up-server.ts with this --dir. A pid file whose process is gone (or is something else now)
 * is stale: it is removed, and a moto_server the dead process left behind is stopped.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { motoCommandPattern } from './moto';
import { isAlive, isOurs, waitForExit, words } from './own-process';
import { envPath, exportLines, logPath, pidPath, statePath, type UpState } from './up-state';

const ROOT = path.join(__dirname, '..');
const SERVER = path.join(__dirname, 'up-server.ts');
/** The Makefile's UP_DIR default, so the hints leave it out when it is the one in use. */
const DEFAULT_DIR = path.join(ROOT, '.build', 'up');
/** World.create bakes a first image and creates two cluster stacks: about 10 s here, more on a busy machine. */
const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 15_000;

const say = (text = '') => process.stderr.write(`${text}\n`);

/** The command line up() gives the server: its script, then this --dir. */
function serverPattern(dir: string): RegExp {
  return words(`${SERVER} --dir ${dir} --stage`);
}

function readPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidPath(dir), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function readState(dir: string): UpState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(dir), 'utf8')) as UpState;
  } catch {
    return undefined;
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A moto_server the environment's process left running when it died without stopping it. */
function stopLeftoverMoto(state: UpState | undefined): void {
  if (!state?.motoPid || !isOurs(state.motoPid, motoCommandPattern(state.motoPort))) return;
  try {
    // Its own process group (local/moto.ts): the group reaches python behind a pyenv shim.
    process.kill(-state.motoPid, 'SIGTERM');
    say(`stopped moto_server ${state.motoPid}, which the environment's process left running`);
  } catch {
    // gone meanwhile
  }
}

function removeFiles(dir: string): void {
  for (const file of [pidPath(dir), statePath(dir), envPath(dir)]) rmSync(file, { force: true });
}

/** Removes what a process that is gone left behind, and stops its moto_server if that still runs. */
function clearStale(dir: string, why: string): void {
  stopLeftoverMoto(readState(dir));
  removeFiles(dir);
  say(`removed a stale pid file (${why})`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A path as short as it can be said from here: relative inside the working directory, absolute outside. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? relative : file;
}

function printEnvironment(dir: string, state: UpState): void {
  const stageFlag = `--stage ${state.stage}`;
  const makeDir = dir === DEFAULT_DIR ? '' : ` UP_DIR=${dir}`;
  console.log(`Local emulated account up (pid ${state.pid}, stage ${state.stage}, scenario ${state.scenario}).`);
  console.log(`  endpoint:  ${state.env.AWS_ENDPOINT_URL} (moto_server), Step Functions ${state.env.AWS_ENDPOINT_URL_SFN}, CloudFormation ${state.env.AWS_ENDPOINT_URL_CLOUDFORMATION} (harness proxies)`);
  console.log(`  log:       ${shown(logPath(dir))}`);
  console.log('');
  console.log(`Export this in your shell (or: source ${shown(envPath(dir))}):`);
  for (const line of exportLines(state.env)) console.log(`  ${line}`);
  console.log('');
  console.log('Then:');
  console.log(`  bin/ami-pipeline.js ${stageFlag} status`);
  console.log(`  bin/ami-pipeline.js ${stageFlag} run --reason "try it"`);
  console.log(`  bin/ami-pipeline.js ${stageFlag} history`);
  console.log(`  make down${makeDir}`);
}

/** Waits for state.json, or for the process to die (then its log says why). */
async function waitUntilReady(dir: string, pid: number): Promise<UpState> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const state = readState(dir);
    if (state?.pid === pid) return state;
    if (!isAlive(pid)) {
      rmSync(pidPath(dir), { force: true });
      throw new Error(`the environment stopped while starting; the end of ${logPath(dir)}:\n${tail(logPath(dir))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s (still running as pid ${pid}: make down stops it); the end of ${logPath(dir)}:\n${tail(logPath(dir))}`);
}

async function up(dir: string, options: { stage: string; scenario: string; port: number }): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const running = readPid(dir);
  if (running !== undefined) {
    if (isOurs(running, serverPattern(dir))) {
      say(readState(dir) ? `already up (pid ${running}): make down stops it` : `already starting (pid ${running}): waiting until it is ready`);
      printEnvironment(dir, await waitUntilReady(dir, running));
      return 0;
    }
    clearStale(dir, isAlive(running) ? `pid ${running} is another program now` : `pid ${running} is gone`);
  } else if (existsSync(pidPath(dir))) {
    clearStale(dir, 'it held no pid');
  }
  if (options.port && !(await portFree(options.port))) {
    say(`port ${options.port} is in use: pick another with make up PORT=<port> (or leave PORT unset for a free one)`);
    return 1;
  }

  const log = openSync(logPath(dir), 'w');
  // Its own session (detached), so it outlives make and the terminal. Only the machine's PATH and
  // locale go along: AWS_* variables from a shell that sourced an earlier env.sh would point the
  // harness at endpoints that are gone.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('AMI_PIPELINE_')));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', SERVER, '--dir', dir, '--stage', options.stage, '--scenario', options.scenario, '--port', String(options.port)],
    { cwd: ROOT, detached: true, stdio: ['ignore', log, log], env },
  );
  closeSync(log);
  const pid = child.pid!;
  child.unref();
  try {
    // wx: two `make up` at once leave one environment, not two behind one pid file.
    const fd = openSync(pidPath(dir), 'wx');
    writeSync(fd, `${pid}\n`);
    closeSync(fd);
  } catch {
    process.kill(pid, 'SIGTERM');
    say('another make up started at the same moment; run make up again to see it');
    return 1;
  }
  say(`starting (pid ${pid}; log ${shown(logPath(dir))}): moto_server, the pipeline deployed, a first image baked, two cluster stacks...`);
  const started = Date.now();
  const state = await waitUntilReady(dir, pid);
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  printEnvironment(dir, state);
  return 0;
}

async function down(dir: string): Promise<number> {
  const pid = readPid(dir);
  if (pid === undefined) {
    if (existsSync(pidPath(dir))) clearStale(dir, 'it held no pid');
    else say(`not up (no ${pidPath(dir)})`);
    return 0;
  }
  if (!isOurs(pid, serverPattern(dir))) {
    clearStale(dir, isAlive(pid) ? `pid ${pid} is another program now; left alone` : `pid ${pid} is gone`);
    return 0;
  }
  const state = readState(dir);
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
    say(`pid ${pid} did not stop within ${STOP_TIMEOUT_MS / 1000} s: killing it`);
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5000);
  }
  stopLeftoverMoto(state);
  removeFiles(dir);
  say(`stopped (pid ${pid}); the log stays in ${shown(logPath(dir))}`);
  return 0;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number, e.g. 5000');
  return n;
}

const program = new Command().name('local/up.ts').description('A local emulated account that stays up: make up / make down.');
program
  .command('up')
  .requiredOption('--dir <path>', 'where the pid file, log and state live')
  .option('--stage <name>', 'the stage to deploy', 'dev')
  // local/up-server.ts checks the scenario: loading the world here would double the start-up time.
  .option('--scenario <name>', 'how the images runs bake behave (a make demo scenario)', 'success')
  .addOption(new Option('--port <n>', "moto_server's port (default: a free one)").argParser(port).default(0))
  .action(async (options: { dir: string; stage: string; scenario: string; port: number }) => {
    process.exitCode = await up(path.resolve(options.dir), options);
  });
program
  .command('down')
  .requiredOption('--dir <path>', 'where make up keeps its pid file')
  .action(async (options: { dir: string }) => {
    process.exitCode = await down(path.resolve(options.dir));
  });

program.parseAsync().catch((error: unknown) => {
  say(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
