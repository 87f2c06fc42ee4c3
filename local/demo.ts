/**
 * `make demo`: the whole pipeline on a local emulated AWS account (moto_server), in under a minute.
 * The base-AMI check job finds a base that has not been built, starts the workflow, and the real
 * state machine bakes (simulated CodeBuild), records, rolls the dev then the prod cluster stack
 * (simulated rolling updates), confirms through the ECS API, promotes and notifies ops.
 *
 * Usage: npx tsx local/demo.ts [--scenario success|build-fails|registration-timeout|stack-update-fails|partial-run|concurrent|retention|approval-rejected|alarm-during-soak]
 *        [--regional-cluster] (or DEMO_REGIONAL_CLUSTER=1 make demo): prod also rolls ecs-prod-eu in eu-west-1
 */
import { Command, Option } from 'commander';
import { startMoto, type Moto } from './moto';
import type { RunEvent, RunOutcome } from './state-machine';
import { describeRetention, SCENARIOS, World, type Scenario } from './world';
import { LAMBDA_ENV } from '../functions/lib/contracts';
import type { OpsMessage } from './deployment';
import { MOTO_SERVER_ENVIRONMENT } from './gates';
import { REGIONAL_CLUSTER, REGIONAL_CLUSTER_ENV } from './regional-cluster';

const started = Date.now();
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
const dim = (text: string) => paint(2, text);
const bold = (text: string) => paint(1, text);

function line(source: string, message: string): void {
  const at = `${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(6);
  console.log(`${dim(at)}  ${source.padEnd(15)} ${message}`);
}

/** One timeline line per state, retries folded into a count on the next line of that branch. */
function timeline(clusterOf: (index: number | undefined, input: unknown) => string | undefined, run?: string) {
  const retries = new Map<string, number>();
  return (event: RunEvent) => {
    const where = clusterOf(event.index, event.input);
    const key = `${where ?? ''}/${event.state}`;
    if (event.type === 'StateRetried') {
      retries.set(key, (retries.get(key) ?? 0) + 1);
      return;
    }
    const prefix = `${run ? `${run} ` : ''}${where ? `[${where}] ` : ''}`;
    line('state machine', `${prefix}${event.state}`);
    for (const [k, n] of retries) {
      if (k.startsWith(`${where ?? ''}/`)) {
        line('state machine', dim(`${prefix}  (${k.split('/')[1]} retried ${n}x while waiting)`));
        retries.delete(k);
      }
    }
  };
}

function stackOfInput(_index: number | undefined, input: unknown): string | undefined {
  const item = input as { target?: { stackName?: string }; copy?: { region?: string } } | undefined;
  return item?.target?.stackName ?? item?.copy?.region;
}

function printMessages(messages: OpsMessage[]): void {
  console.log(`  what ops received (${messages.length} SNS message${messages.length === 1 ? '' : 's'}):`);
  for (const m of messages) {
    console.log(`    ${bold(m.subject)}`);
    console.log(dim(`      attributes: ${Object.entries(m.attributes).map(([k, v]) => `${k}=${v}`).join(' ')}`));
    for (const text of m.message.trimEnd().split('\n').slice(0, 40)) console.log(dim(`      | ${text}`));
  }
}

async function printFinalState(world: World, outcome: RunOutcome | undefined): Promise<void> {
  console.log('');
  console.log(bold('Final state'));
  if (outcome) {
    console.log(`  run: ${outcome.status === 'SUCCEEDED' ? 'succeeded' : `failed (${outcome.error?.name})`}, ended in "${outcome.path.at(-1)}"`);
  }
  console.log(`  SSM parameters under ${world.deployment.parameterPrefix}:`);
  for (const p of await world.parameters()) {
    const short = p.name.slice(world.deployment.parameterPrefix.length + 1);
    console.log(`    ${short.padEnd(18)} ${(p.value ?? '(not set)').padEnd(22)} history: ${p.history.join(' -> ') || '-'}`);
  }
  for (const p of await world.regionalLatest()) {
    console.log(`  in ${p.region}: ami/latest ${(p.value ?? '(not set)').padEnd(22)} history: ${p.history.join(' -> ') || '-'}`);
  }
  console.log('  clusters (instances by AMI, ECS status; the image each last confirmed):');
  for (const cluster of await world.clusters()) {
    const byAmi = new Map<string, string[]>();
    for (const i of cluster.instances) byAmi.set(i.amiId, [...(byAmi.get(i.amiId) ?? []), i.ecsStatus]);
    const summary = [...byAmi].map(([ami, states]) => `${states.length} x ${ami} (${[...new Set(states)].join(', ')})`).join('; ');
    console.log(`    ${cluster.stackName.padEnd(11)} ${cluster.region.padEnd(10)} ${summary}; confirmed ${(await world.confirmedImage(cluster.stackName)) ?? 'nothing yet'}`);
  }
  console.log(`  fleet lock: ${(await world.lockHolder())?.split(':').pop() ?? 'free'}`);
  const messages = await world.opsMessages();
  printMessages(messages);
}

/** How many promoted images the retention scenario keeps: the smallest allowed, so four weekly runs show it. */
const DEMO_RETAIN_PROMOTED = 2;
const DAYS_LATER = 10;

/**
 * `make demo SCENARIO=retention`: four weekly runs, a bake killed half-way, and a team's own stack
 * pinned to the first image; then the daily retention pass, ten days later, first as a dry run.
 * Passes when the images nothing uses went with their snapshots, the pinned image stayed although it
 * is older than the last N promoted, and the killed bake's instance was terminated.
 */
async function retentionDemo(world: World): Promise<number> {
  process.env[LAMBDA_ENV.retainPromotedImages] = String(DEMO_RETAIN_PROMOTED);
  const pinned = await world.deployPinnedStack('ecs-batch', world.firstImage);
  line('setup', `a team's own stack ${pinned.stackName} (not in the waves) pins the first image ${world.firstImage}`);
  line('setup', `retention keeps the last ${DEMO_RETAIN_PROMOTED} promoted images (param retainPromotedImages) and everything in use`);

  for (let week = 1; week <= 4; week += 1) {
    const arn = await world.startExecution(`weekly-${week}-${Date.now()}`, { trigger: 'weekly', requestedBy: 'weekly schedule' });
    const outcome = await world.runExecution(arn);
    const current = await world.parameter(world.names.currentAmi);
    line('state machine', bold(`weekly run ${week}: ${outcome.status === 'SUCCEEDED' ? 'succeeded' : 'failed'}, ended in "${outcome.path.at(-1)}"; ami/current = ${current}`));
    if (outcome.status !== 'SUCCEEDED') return 1;
  }
  const killed = await world.simulateKilledBake(`weekly-5-${Date.now()}`);
  line('codebuild', `a fifth bake is stopped half-way: build instance ${killed.instanceId} left running, image ${killed.imageId} left without its versions,`);
  line('codebuild', `  security group ${killed.securityGroupId} and key pair ${killed.keyName} left behind`);
  await world.opsMessages();

  const before = await world.stageImages();
  console.log('');
  line('retention', bold(`${DAYS_LATER} days later, a dry run (invoke with {"dryRun": true}) shows the plan:`));
  const plan = await world.runRetention({ dryRun: true, daysLater: DAYS_LATER });
  for (const w of plan.wouldDeregister) line('retention', `  would deregister ${w.imageId}: ${w.why}`);
  for (const k of plan.kept) line('retention', dim(`  would keep ${k.imageId}: ${k.reasons.join('; ')}`));

  console.log('');
  line('retention', bold('the daily pass runs:'));
  const result = await world.runRetention({ daysLater: DAYS_LATER });
  line('retention', describeRetention(result));
  line('retention', bold('a day later, the next pass (the killed bake\'s instance is gone now):'));
  const nextDay = await world.runRetention({ daysLater: DAYS_LATER + 1 });
  line('retention', describeRetention(nextDay));

  const after = await world.stageImages();
  const gone = before.filter((b) => !after.some((a) => a.imageId === b.imageId));
  const leftSnapshots = await world.existingSnapshots(gone.flatMap((g) => g.snapshots));
  console.log('');
  console.log(bold('Final state'));
  console.log(`  images of stage ${world.options.stage}: ${before.length} before, ${after.length} after`);
  for (const image of before) {
    const kept = result.kept.find((k) => k.imageId === image.imageId);
    const deprecated = result.deprecated.includes(image.imageId) ? ' (deprecated)' : '';
    console.log(
      kept
        ? `    kept         ${image.imageId}${deprecated}: ${kept.reasons.join('; ')}`
        : `    deregistered ${image.imageId}, snapshots ${image.snapshots.join(', ') || '-'} ${image.snapshots.some((id) => leftSnapshots.includes(id)) ? 'STILL EXIST' : 'deleted'}`,
    );
  }
  const messages = await world.opsMessages();
  printMessages(messages);

  const pinnedKept = result.kept.find((k) => k.imageId === world.firstImage);
  const checks: [string, boolean][] = [
    ['something was deregistered', gone.length > 0 && result.status === 'CLEANED_UP'],
    ['the snapshots of every deregistered image are deleted', leftSnapshots.length === 0],
    ['the pinned first image is kept because instances still run it', Boolean(pinnedKept?.reasons.some((r) => r.includes('instance')))],
    ['ami/current is kept', result.kept.some((k) => k.imageId === world.bakedAmis.at(-1))],
    ['the killed bake\'s instance is terminated and its image deregistered', result.terminated.includes(killed.instanceId) && result.deregistered.includes(killed.imageId)],
    ['the killed bake\'s security group and key pair are deleted the next day', [killed.securityGroupId, killed.keyName].every((id) => nextDay.bakeResourcesDeleted.includes(id))],
    ['ops got one message per pass that deleted something', messages.length === 2],
  ];
  console.log('');
  for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  return checks.every(([, ok]) => ok) ? 0 : 1;
}

async function demo(scenario: Scenario, regionalCluster: boolean | undefined): Promise<number> {
  console.log(bold(`ECS AMI pipeline demo, scenario "${scenario}" (local moto_server; nothing touches AWS)`));
  let moto: Moto | undefined;
  let world: World | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await world?.close().catch(() => undefined);
    await moto?.stop();
  };
  process.once('SIGINT', () => {
    console.error('\ninterrupted: stopping moto_server');
    void stop().then(() => process.exit(130));
  });
  try {
    moto = await startMoto(undefined, MOTO_SERVER_ENVIRONMENT);
    line('setup', `moto_server listening on ${moto.endpoint}`);
    world = await World.create(moto, { scenario, log: line, ...(regionalCluster === undefined ? {} : { regionalCluster }) });
    if (scenario === 'retention') {
      const code = await retentionDemo(world);
      console.log(`demo took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return code;
    }

    line('check job', 'the scheduled base-AMI check runs');
    const check = await world.runCheckJob();
    line('check job', check.message);
    if (check.outcome !== 'started' || !check.executionArn) throw new Error(`the check job did not start a run: ${check.message}`);
    const ended = (outcome: RunOutcome, name = 'run') =>
      line('state machine', bold(outcome.status === 'SUCCEEDED' ? `${name} succeeded, ended in "${outcome.path.at(-1)}"` : `${name} failed: ${outcome.error?.name}`));

    let code: number;
    let outcome: RunOutcome;
    if (scenario === 'concurrent') {
      // A person starts a run from the CLI in the same second the check job started one.
      const manual = await world.startExecution(`manual-${Date.now()}`, { trigger: 'manual', requestedBy: 'demo', reason: 'started by hand at the same time' });
      line('ops (CLI)', `ami-pipeline run: started ${manual.split(':').pop()} in the same second`);
      const [first, second] = await Promise.all([
        world.runExecution(check.executionArn, timeline(stackOfInput, 'A')),
        world.runExecution(manual, timeline(stackOfInput, 'B')),
      ]);
      ended(first, 'run A (check job)');
      ended(second, 'run B (CLI)');
      outcome = second;
      const ends = [first, second].map((o) => o.path.at(-1));
      code = ends.includes('Fleet is on the new image') && ends.includes('Skipped: another run holds the fleet') ? 0 : 1;
    } else {
      outcome = await world.runExecution(check.executionArn, timeline(stackOfInput));
      ended(outcome);
      code = outcome.status === 'SUCCEEDED' ? 0 : 1;
      if (scenario === 'partial-run') {
        await printFinalState(world, outcome);
        console.log('');
        const partial = await world.startExecution(`manual-prod-only-${Date.now()}`, {
          trigger: 'manual',
          clusters: ['ecs-prod'],
          skipEarlierWaves: true,
          requestedBy: 'demo',
          reason: 'hot fix for prod only',
        });
        line('ops (CLI)', `ami-pipeline run --clusters ecs-prod --skip-earlier-waves: started ${partial.split(':').pop()}`);
        outcome = await world.runExecution(partial, timeline(stackOfInput));
        ended(outcome);
        code = code === 0 && outcome.path.at(-1) === 'Rolled out to part of the fleet' ? 0 : 1;
      }
    }
    await printFinalState(world, outcome);

    console.log('');
    line('check job', 'the scheduled check runs again');
    line('check job', (await world.runCheckJob()).message);
    console.log('');
    console.log(dim(`Simulated here: the Packer build (the template is validated, the AMI is created in moto), CloudFormation's`));
    console.log(dim(`rolling update and rollback, and the ECS agent. Real: the state machine, every function, SSM, SNS, EC2, ECS.`));
    console.log(`demo took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return ['success', 'partial-run', 'concurrent'].includes(scenario) ? code : 1;
  } finally {
    await stop();
  }
}

const program = new Command()
  .name('make demo')
  .description('Runs the ECS AMI pipeline end to end against a local moto_server.')
  .addOption(new Option('--scenario <name>', 'what happens during the run').choices([...SCENARIOS]).default('success'))
  .addOption(
    // The gated scenarios have it; DEMO_REGIONAL_CLUSTER=0 (or this flag) leaves it out.
    new Option('--no-regional-cluster', `leave out prod's ${REGIONAL_CLUSTER.stackName} in ${REGIONAL_CLUSTER.region} (the gated scenarios have it; env ${REGIONAL_CLUSTER_ENV}=0)`),
  )
  .showHelpAfterError();
program.parse();
const { scenario, regionalCluster: wanted } = program.opts<{ scenario: Scenario; regionalCluster: boolean }>();
// Only the scenarios with gates copy to its region; World.create decides with the environment.
const regionalCluster = wanted ? undefined : false;

demo(scenario, regionalCluster).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
