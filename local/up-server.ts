/**
 * The process `make up` leaves running: moto_server with the emulated account set up as the demo
 * sets it up (local/world.ts: the pipeline deployed, a first image baked by a dry run, the dev and
 * prod cluster stacks on it), plus the Step Functions proxy that runs what the CLI starts. When it
 * is ready it writes <dir>/state.json and <dir>/env.sh; SIGTERM (make down) stops everything.
 *
 * Started by local/up.ts, never by hand: tsx local/up-server.ts --dir D --stage S --scenario C [--port P]
 */
import { Command, Option } from 'commander';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto, type Moto } from './moto';
import { MOTO_SERVER_ENVIRONMENT } from './gates';
import { startStepFunctionsProxy, type StepFunctionsProxy } from './sfn-proxy';
import { SCENARIOS, World, type Scenario } from './world';
import { envFile, statePath, envPath, type UpState } from './up-state';

const program = new Command()
  .requiredOption('--dir <path>', 'where the state, env and pid files live')
  .requiredOption('--stage <name>', 'the stage to deploy')
  .addOption(new Option('--scenario <name>', 'how the images runs bake behave').choices([...SCENARIOS]).default('success'))
  .option('--port <n>', "moto_server's port (0: a free one)", '0');
program.parse();
const options = program.opts<{ dir: string; stage: string; scenario: Scenario; port: string }>();
const dir = path.resolve(options.dir);

function log(source: string, message: string): void {
  console.log(`${new Date().toISOString()}  ${source.padEnd(15)} ${message}`);
}

function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

let moto: Moto | undefined;
let world: World | undefined;
let proxy: StepFunctionsProxy | undefined;
let stopping = false;

async function stop(signal: string, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('up', `${signal}: stopping`);
  // A run in flight is abandoned, as the whole account is: the next make up starts from scratch.
  const forced = setTimeout(() => {
    log('up', 'did not stop within 10 s: exiting (moto_server is killed on exit)');
    process.exit(1);
  }, 10_000);
  forced.unref();
  rmSync(statePath(dir), { force: true });
  rmSync(envPath(dir), { force: true });
  await proxy?.stop().catch(() => undefined);
  await world?.close().catch(() => undefined);
  await moto?.stop().catch(() => undefined);
  log('up', 'stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // One broken run must not take the environment down with it.
  process.on('unhandledRejection', (reason) => log('up', `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));

  moto = await startMoto(undefined, MOTO_SERVER_ENVIRONMENT, Number(options.port));
  log('setup', `moto_server listening on ${moto.endpoint} (pid ${moto.pid})`);
  world = await World.create(moto, { scenario: options.scenario, stage: options.stage, log, approvals: 'wait' });
  const current = world;
  const stateMachineArn = current.deployment.config.stateMachineArn;
  proxy = await startStepFunctionsProxy({
    motoEndpoint: moto.endpoint,
    records: current.executions,
    runs: (arn) => arn === stateMachineArn,
    run: async (executionArn) => {
      const name = executionArn.split(':').pop();
      log('state machine', `${name}: started`);
      const outcome = await current.runExecution(executionArn, (event) => {
        if (event.type === 'StateEntered') log('state machine', `${name}: ${event.index === undefined ? '' : `[${(event.input as { target?: { stackName?: string } })?.target?.stackName ?? event.index}] `}${event.state}`);
      });
      log('state machine', `${name}: ${outcome.status}${outcome.error ? ` (${outcome.error.name})` : ''}, ended in "${outcome.path.at(-1)}"`);
    },
    log: (message) => log('sfn proxy', message),
  });
  log('setup', `Step Functions proxy on ${proxy.endpoint}; CloudFormation proxy on ${current.cloudFormationEndpoint}`);

  const state: UpState = {
    pid: process.pid,
    motoPid: moto.pid,
    motoPort: Number(new URL(moto.endpoint).port),
    stage: options.stage,
    scenario: options.scenario,
    startedAt: new Date().toISOString(),
    env: {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ENDPOINT_URL_SFN: proxy.endpoint,
      AWS_ENDPOINT_URL_CLOUDFORMATION: current.cloudFormationEndpoint,
      AWS_REGION: moto.region,
      AWS_DEFAULT_REGION: moto.region,
      AWS_ACCESS_KEY_ID: moto.env.AWS_ACCESS_KEY_ID!,
      AWS_SECRET_ACCESS_KEY: moto.env.AWS_SECRET_ACCESS_KEY!,
      AWS_SESSION_TOKEN: moto.env.AWS_SESSION_TOKEN!,
      AMI_PIPELINE_STAGE: options.stage,
    },
  };
  writeAtomically(envPath(dir), envFile(state));
  // Last: its presence tells local/up.ts the environment is ready.
  writeAtomically(statePath(dir), `${JSON.stringify(state, null, 2)}\n`);
  log('up', 'ready');
}

main().catch((error: unknown) => {
  log('up', `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  void stop('setup failed', 1);
});
