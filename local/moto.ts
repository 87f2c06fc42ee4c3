import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { BASE_AMI_ARCHITECTURES, recommendedBaseAmiParameter } from '../functions/lib/contracts';
import { words } from './own-process';

/**
 * A private moto_server for one test file: its own loopback port, so jest workers never share
 * state. Call `startMoto()` in beforeAll and `stop()` in afterAll.
 */
export interface Moto {
  endpoint: string;
  region: string;
  /** Environment for a child process or SDK client that should talk to this moto. */
  env: Record<string, string>;
  /** The server's process id, also its process group's: what `make down` checks and stops after a crash. */
  pid?: number;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export const TEST_REGION = 'us-east-1';

const INSTALL_HINT = "Install it with: pip install 'moto[server]>=5.2.3'";

/**
 * The first executable moto_server on PATH, or undefined. A lookup, not a run: starting Python to
 * ask costs most of a second per test file. A shim without moto behind it (pyenv) fails at start
 * instead, with the same hint.
 */
function motoServerOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', 'moto_server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether an executable moto_server is on PATH. */
export function motoAvailable(): boolean {
  return motoServerOnPath() !== undefined;
}

/**
 * moto's server with the list of its service packages read once (local/moto-launcher/moto_server
 * says why): about 40% less of moto's CPU per request.
 */
export const MOTO_LAUNCHER = path.join(__dirname, 'moto-launcher', 'moto_server');

const PYTHON = /^python[\d.]*$/;

/**
 * How to start moto_server with `args`, given the first line of the moto_server script on PATH: the
 * launcher under the Python interpreter that line names (pip's console scripts name it), or, for
 * anything else (a pyenv shim, pip's /bin/sh trampoline for long paths, a binary), moto_server as it is.
 */
export function motoServerCommand(firstLine: string | undefined, args: string[]): { command: string; args: string[] } {
  const interpreter = /^#!\s*(\S+)(?:\s+(\S+))?\s*$/.exec(firstLine ?? '');
  if (interpreter) {
    const [, program, argument] = interpreter;
    if (argument === undefined && PYTHON.test(path.basename(program!))) {
      return { command: program!, args: [MOTO_LAUNCHER, ...args] };
    }
    if (path.basename(program!) === 'env' && argument !== undefined && PYTHON.test(argument)) {
      return { command: program!, args: [argument, MOTO_LAUNCHER, ...args] };
    }
  }
  return { command: 'moto_server', args };
}

/** How startMoto starts moto_server with `args`, from the moto_server script on PATH (motoServerCommand). */
export function motoServerLaunch(args: string[]): { command: string; args: string[] } {
  return motoServerCommand(firstLineOf(motoServerOnPath()), args);
}

function firstLineOf(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(256);
    const read = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, read).toString('latin1').split('\n')[0];
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('could not read the port of a loopback listener'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

async function waitUntilReady(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited with ${child.exitCode} before it was ready (${INSTALL_HINT}):\n${output()}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within 20 s:\n${output()}`);
}

/**
 * The command line startMoto gives a server on `port`: what a pid file's or note's process must still
 * show before anything stops it (pids are reused).
 */
export function motoCommandPattern(port: number): RegExp {
  return words(`moto_server -H 127.0.0.1 -p ${port}`);
}

/** Environment for a child process or SDK client that should talk to the moto at `endpoint`. */
export function motoEnvironment(endpoint: string, region: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: 'testing',
  };
}

export interface StartOptions {
  /**
   * Where the server's output goes, instead of a pipe to this process: for a server that other
   * code (the next test file of a jest worker) goes on using after the code that started it ends.
   */
  logFile?: string;
  /** The AMI catalogue moto starts with (MOTO_AMIS_PATH); default MOTO_AMI_CATALOGUE, false: moto's own. */
  amiCatalogue?: string | false;
}

/**
 * moto's default Amazon images and the images its recommended-AMI parameters name, in every
 * region (scripts/moto-amis.py writes it). moto otherwise loads about 1,100 ECS-optimized images,
 * each with a snapshot, into every region it touches: starting each EC2 region and every
 * DescribeImages or DescribeSnapshots of the checks then costs several times more.
 */
export const MOTO_AMI_CATALOGUE = path.join(__dirname, 'moto-amis.json');

/**
 * Why moto at `endpoint` cannot serve the pipeline from the catalogue it started with: a
 * recommended base image (x86_64, arm64) that its EC2 does not have, as after a moto upgrade that
 * moved the parameters. Undefined when it can.
 */
async function catalogueGap(endpoint: string, region: string): Promise<string | undefined> {
  // Loaded here, not with the module: `make down` and `make up` when already up import this file
  // for its process patterns only, and the two SDK clients are most of a second of CPU to load.
  const [{ EC2Client }, { SSMClient }, { describeImage, recommendedBaseAmi }] = await Promise.all([
    import('@aws-sdk/client-ec2'),
    import('@aws-sdk/client-ssm'),
    import('../functions/lib/aws/aws-lookups'),
  ]);
  const config = { region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 };
  const ssm = new SSMClient(config);
  const ec2 = new EC2Client(config);
  try {
    const missing = (
      await Promise.all(
        BASE_AMI_ARCHITECTURES.map(async (architecture) => {
          const { imageId } = await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(architecture));
          return (await describeImage(ec2, imageId)) ? undefined : imageId;
        }),
      )
    ).filter((id) => id !== undefined);
    return missing.length ? `it lacks ${missing.join(', ')}, which this moto's recommended-AMI parameters name` : undefined;
  } catch (error) {
    return `moto could not read it: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    ssm.destroy();
    ec2.destroy();
  }
}

/**
 * `serverEnvironment` reaches the moto_server process only, e.g. SF_EXECUTION_HISTORY_TYPE=FAILURE
 * to make moto's fixed execution history a failing one. `port` 0 (the default): a free one.
 * moto starts with the AMI catalogue (MOTO_AMI_CATALOGUE) unless told otherwise; when that no
 * longer holds what this moto's parameters name, it is restarted with its own, and says so.
 */
export async function startMoto(
  region: string = TEST_REGION,
  serverEnvironment: Record<string, string> = {},
  port = 0,
  options: StartOptions = {},
): Promise<Moto> {
  if (!motoAvailable()) {
    throw new Error(`moto_server is not on PATH. ${INSTALL_HINT}`);
  }
  port ||= await freePort();
  const catalogue = options.amiCatalogue ?? MOTO_AMI_CATALOGUE;
  if (catalogue === false || serverEnvironment.MOTO_AMIS_PATH !== undefined || process.env.MOTO_AMIS_PATH !== undefined) {
    return launchMoto(region, serverEnvironment, port, options);
  }
  const moto = await launchMoto(region, { ...serverEnvironment, MOTO_AMIS_PATH: catalogue }, port, options);
  const gap = await catalogueGap(moto.endpoint, region);
  if (gap === undefined) return moto;
  await moto.stop();
  process.stderr.write(
    `moto_server: not using the AMI catalogue ${path.relative(process.cwd(), catalogue) || catalogue}: ${gap}. ` +
      'Started it with all of its own images instead (slower). Regenerate the catalogue: python3 scripts/moto-amis.py\n',
  );
  return launchMoto(region, serverEnvironment, port, options);
}

async function launchMoto(region: string, serverEnvironment: Record<string, string>, port: number, options: StartOptions): Promise<Moto> {
  const endpoint = `http://127.0.0.1:${port}`;
  // Its own process group: moto_server is often a shim (pyenv) in front of python, and killing the
  // group reaches the server itself. The exit hook covers a caller that dies without stop()
  // (a broken pipe, an uncaught error): no orphaned server keeps a port.
  const logFd = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
  const server = motoServerLaunch(['-H', '127.0.0.1', '-p', String(port)]);
  const child = spawn(server.command, server.args, {
    stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
    detached: true,
    env: { ...process.env, ...serverEnvironment },
  });
  if (logFd !== undefined) closeSync(logFd);
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  let log = '';
  const keepTail = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  const output = () => (options.logFile === undefined ? log : readFileSync(options.logFile, 'utf8').slice(-4000));
  await waitUntilReady(endpoint, child, output);
  if (logFd !== undefined) child.unref();

  return {
    endpoint,
    region,
    env: motoEnvironment(endpoint, region),
    pid: child.pid,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      process.removeListener('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      killGroup('SIGTERM');
      await exited;
    },
  };
}

/** Points the SDK clients created after this call (in this process) at the given moto. */
export function useMotoInThisProcess(moto: Moto): void {
  Object.assign(process.env, moto.env);
}
