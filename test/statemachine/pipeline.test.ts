/**
 * The real definition (statemachine/pipeline.asl.json) executed in-process with every real handler
 * against the in-memory ModelAws; only the CodeBuild build is a stand-in. One test per path the
 * README describes, and one per defect of issue 9 (each failed before its fix).
 */
import { RUN_LEDGER } from '../../functions/lib/contracts';
import type { TaskCall } from '../../local/state-machine';
import {
  ModelWorld,
  NEW_BASE,
  OLDER_AMI,
  OLD_AMI,
  OLD_BASE,
  STACKS,
  executionArnOf,
  names,
  type WorldSetup,
} from '../support/model-world';

let world: ModelWorld;
const worlds: ModelWorld[] = [];
function setUp(setup: WorldSetup = {}): ModelWorld {
  world = new ModelWorld(setup);
  worlds.push(world);
  return world;
}
afterEach(() => {
  while (worlds.length) worlds.pop()!.restore();
});

function onlyMessage(executionArn?: string) {
  const messages = executionArn ? world.messagesAbout(executionArn) : world.aws.published;
  expect(messages).toHaveLength(1);
  return messages[0]!;
}

/** Throws `name` from the wrapped call, after running the real handler when `afterEffect` is set. */
function fault(match: (call: TaskCall) => boolean, name: string, afterEffect = false) {
  return async (call: TaskCall, run: () => Promise<unknown>) => {
    if (!match(call)) return run();
    if (afterEffect) await run();
    const error = new Error(`${name} (injected)`);
    error.name = name;
    throw error;
  };
}

const lockHolder = () => world.aws.lockOwner();

describe('the pipeline state machine: paths', () => {
  it('bakes, records, rolls two waves in order, confirms, records each cluster, promotes, notifies and releases the fleet', async () => {
    setUp();
    const run = await world.run({ trigger: 'weekly' }, 'weekly-run');
    const [ami] = world.baked;

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path.at(-1)).toBe('Fleet is on the new image');
    expect(world.bakeCalls[0]!.EnvironmentVariablesOverride).toEqual(
      expect.arrayContaining([
        { Name: 'SOURCE_AMI', Type: 'PLAINTEXT', Value: NEW_BASE },
        { Name: 'BUILD_ID', Type: 'PLAINTEXT', Value: 'weekly-run' },
      ]),
    );
    // dev was confirmed (its record written) before prod was touched.
    const order = world.aws.mutations.map((m) => `${m.kind}:${m.target}`);
    expect(order.indexOf('cluster-record:dev-ecs')).toBeLessThan(order.indexOf('update-stack:prod-a-ecs'));
    expect(STACKS.map((s) => world.imageOf(s))).toEqual([ami, ami, ami]);
    expect(STACKS.map((s) => world.recordOf(s)?.amiId)).toEqual([ami, ami, ami]);
    expect(world.recordOf('dev-ecs')).toMatchObject({ purpose: 'rollout', runId: 'weekly-run', executionArn: executionArnOf('weekly-run') });

    expect(world.aws.value(names.latestAmi)).toBe(ami);
    expect(world.aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI, ami]);
    expect(world.aws.value(names.currentBaseAmi)).toBe(NEW_BASE);
    expect(JSON.parse(world.aws.value(names.currentAmiRecord)!)).toMatchObject({
      amiId: ami,
      previousAmiId: OLD_AMI,
      baseAmiId: NEW_BASE,
      buildId: 'weekly-run',
      reason: 'rollout',
      clusters: STACKS,
    });
    const note = onlyMessage();
    expect(note.subject).toBe(`[ecs-ami-pipeline test] SUCCEEDED: ${ami} rolled to 3 clusters`);
    expect(note.attributes).toEqual({ status: 'SUCCEEDED', stage: 'test', step: 'promote' });
    expect(note.message).toContain(`Previous AMI: ${OLD_AMI}`);
    expect(lockHolder()).toBeUndefined();
    expect(world.aws.ledger.get(RUN_LEDGER.notifiedKey(executionArnOf('weekly-run')))?.status?.S).toBe('SUCCEEDED');
  });

  it('keeps who started the run and why, sanitised, in the promotion and in every cluster record', async () => {
    setUp();
    await world.run({ trigger: 'manual', requestedBy: 'arn:aws:sts::123456789012:assumed-role/ops/alice', reason: 'CVE fix\nrolled\u0007 today' }, 'audited');
    const audit = { trigger: 'manual', requestedBy: 'arn:aws:sts::123456789012:assumed-role/ops/alice', requestReason: 'CVE fix rolled today' };
    expect(JSON.parse(world.aws.value(names.currentAmiRecord)!)).toMatchObject(audit);
    for (const stack of STACKS) expect(world.recordOf(stack)).toMatchObject({ ...audit, runId: 'audited' });
    expect(onlyMessage().message).toContain('Request:  arn:aws:sts::123456789012:assumed-role/ops/alice: CVE fix rolled today');
  });

  it('dry run: bakes and records the latest AMI, touches no cluster and keeps current', async () => {
    setUp();
    const run = await world.run({ trigger: 'manual', dryRun: true }, 'dry');
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path.at(-1)).toBe('Image baked (dry run)');
    expect(world.aws.mutations.filter((m) => m.kind !== 'cluster-record')).toEqual([]);
    expect(world.aws.value(names.latestAmi)).toBe(world.baked[0]);
    expect(world.aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    expect(onlyMessage().attributes.status).toBe('DRY_RUN');
  });

  it.each([
    [{ trigger: 'daily' }, 'trigger'],
    [{ trigger: 'manual', dryrun: true }, 'dryrun'],
    [{ trigger: 'manual', sourceAmi: 'ami-123' }, 'sourceAmi'],
    [{ trigger: 'manual', clusters: ['no-such-stack'] }, 'clusters[0]'],
    [{ trigger: 'manual', waves: [[]] }, 'waves[0]'],
    [{ trigger: 'manual', skipEarlierWaves: true }, 'skipEarlierWaves'],
    ['roll everything', 'input'],
  ])('rejects %j naming %s, takes no lock and changes nothing', async (input, field) => {
    setUp();
    const run = await world.run(input, 'rejected');
    expect(run.error?.name).toBe('RequestRejected');
    expect(world.bakeCalls).toEqual([]);
    expect(world.aws.mutations).toEqual([]);
    expect(lockHolder()).toBeUndefined();
    const note = onlyMessage();
    expect(note.attributes).toMatchObject({ status: 'REJECTED', step: 'request' });
    expect(note.message).toContain(`${field}:`);
  });

  it('an input that is no JSON object at all (null, 0, false) fails at the first state and still reaches ops, once, through the alert', async () => {
    for (const input of [null, 0, false]) {
      setUp();
      const arn = executionArnOf(`odd-${String(input)}`);
      const run = await world.run(input, `odd-${String(input)}`, { deliveries: 2 });
      expect(run.error?.name).toBe('States.Runtime');
      expect(world.bakeCalls).toEqual([]);
      const alert = onlyMessage(arn);
      expect(alert.fn).toBe('runEnded');
      expect(alert.subject).toContain('failed before it could notify');
    }
  });

  it('build failure: records nothing, touches no cluster, links the build logs', async () => {
    setUp();
    const run = await world.run({ trigger: 'weekly' }, 'bad-build', { handlers: world.handlers({ bake: world.bake({ fail: true }) }) });
    expect(run.path).toEqual(expect.arrayContaining(['The build failed', 'Notify ops', 'Run failed']));
    expect(world.aws.mutations).toEqual([]);
    expect(world.aws.value(names.latestAmi)).toBeUndefined();
    const note = onlyMessage();
    expect(note.attributes).toMatchObject({ status: 'FAILED', step: 'bake' });
    expect(note.message).toContain('BUILD phase FAILED: COMMAND_EXECUTION_ERROR: packer build exited 1');
    expect(lockHolder()).toBeUndefined();
  });

  it('build succeeded but exported no AMI: records nothing and says which variable is missing', async () => {
    setUp();
    await world.run({ trigger: 'weekly' }, 'no-ami', { handlers: world.handlers({ bake: world.bake({ exported: false }) }) });
    expect(world.aws.value(names.latestAmi)).toBeUndefined();
    const note = onlyMessage();
    expect(note.attributes).toMatchObject({ status: 'FAILED', step: 'record' });
    expect(note.message).toContain('exported no AMI_ID');
  });

  it('CloudFormation rolls the stack back: stops, promotes nothing, says where the stack is, later waves untouched', async () => {
    setUp({ behaviours: { 'dev-ecs': { update: 'rolled-back', settleLooks: 1 } } });
    const run = await world.run({ trigger: 'weekly' }, 'cfn-rollback');
    expect(run.path).toContain('A cluster failed to roll');
    expect(world.aws.mutations.filter((m) => m.target.startsWith('prod'))).toEqual([]);
    expect(world.imageOf('dev-ecs')).toBe(OLD_AMI);
    expect(world.aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    const note = onlyMessage();
    expect(note.attributes).toMatchObject({ status: 'FAILED', step: 'rollout' });
    expect(note.message).toContain(`CloudFormation rolled the stack back to ${OLD_AMI}`);
    expect(note.message).toContain('Wave prod: not started');
    expect(note.message).not.toMatch(/rolled back to their previous image/);
  });

  it('"No updates": a stack already on the image counts as rolled once the ECS API confirms it', async () => {
    setUp();
    const ami = 'ami-0e0e0e0e0e0e0e0e0';
    world.aws.addPipelineImage(ami, NEW_BASE);
    world.aws.stacks.get('dev-ecs')!.image = ami;
    world.aws.stacks.get('dev-ecs')!.instances.forEach((i) => (i.ami = ami));
    const run = await world.run({ trigger: 'manual', rollback: { toAmi: ami } }, 'same-image');
    expect(run.entered).toContain('The stack already runs the image');
    expect(world.recordOf('dev-ecs')?.amiId).toBe(ami);
  });

  it('registration not confirmed in time: rolls that stack back to the image it last confirmed, confirms it, and reports', async () => {
    setUp({ behaviours: { 'prod-a-ecs': { registration: 'never' } } });
    const run = await world.run({ trigger: 'weekly' }, 'reg-timeout');
    const [ami] = world.baked;
    expect(run.error?.name).toBe('RolledBack');
    expect(run.entered).toEqual(expect.arrayContaining(['Roll the stack back to its last confirmed image', 'Confirm the rollback registered', 'Cluster rolled back']));
    expect(world.imageOf('prod-a-ecs')).toBe(OLD_AMI);
    expect(world.recordOf('prod-a-ecs')).toMatchObject({ amiId: OLD_AMI, purpose: 'rollback' });
    expect(world.recordOf('prod-b-ecs')?.amiId).toBe(ami);
    expect(world.aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    const note = onlyMessage();
    expect(note.attributes.status).toBe('ROLLED_BACK');
    expect(note.message).toContain(`prod-a-ecs back to ${OLD_AMI}`);
  });

  it('the rollback target is the image the cluster last confirmed, not whatever its stack held (defect 7)', async () => {
    const unconfirmed = 'ami-0f0f0f0f0f0f0f0f0';
    setUp({ images: { 'dev-ecs': unconfirmed }, withoutRecords: ['dev-ecs'], behaviours: { 'dev-ecs': { registration: 'never' } } });
    world.aws.addPipelineImage(unconfirmed, OLD_BASE);
    // Someone left dev on an image no run confirmed, and its instances are not healthy on it.
    world.aws.stacks.get('dev-ecs')!.instances.forEach((i) => (i.healthy = false));
    world.aws.put(names.clusterRecord('dev-ecs'), JSON.stringify({ stackName: 'dev-ecs', clusterName: 'dev', amiId: OLD_AMI, purpose: 'rollout', runId: 'r0', executionArn: executionArnOf('r0'), confirmedAt: '2026-11-01T00:00:00Z' }));
    await world.run({ trigger: 'weekly' }, 'target');
    expect(world.imageOf('dev-ecs')).toBe(OLD_AMI);
    expect(onlyMessage().message).toContain(`dev-ecs back to ${OLD_AMI}`);
  });

  it('a cluster never confirmed before is adopted on the image it runs, which becomes its rollback target', async () => {
    setUp({ withoutRecords: ['dev-ecs'], behaviours: { 'dev-ecs': { registration: 'never' } } });
    await world.run({ trigger: 'weekly' }, 'adopt');
    expect(world.imageOf('dev-ecs')).toBe(OLD_AMI);
    // Adopted before the update (its first record), then the rollback confirmed it again.
    expect(world.recordOf('dev-ecs')).toMatchObject({ amiId: OLD_AMI, purpose: 'adopted', runId: 'adopt' });
    const devWrites = world.aws.mutations.filter((m) => m.target === 'dev-ecs').map((m) => `${m.kind}:${m.value}`);
    expect(devWrites).toEqual([`cluster-record:${OLD_AMI}`, `update-stack:${world.baked[0]}`, `update-stack:${OLD_AMI}`]);
  });

  it('a failed rollback is CRITICAL and names the stack', async () => {
    setUp({ behaviours: { 'prod-a-ecs': { registration: 'never', rollback: 'fails' } } });
    const run = await world.run({ trigger: 'weekly' }, 'critical');
    expect(run.error?.name).toBe('RollbackFailed');
    expect(run.entered).toContain('The rollback failed');
    expect(world.aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    const note = onlyMessage();
    expect(note.attributes.status).toBe('CRITICAL');
    expect(note.subject).toMatch(/CRITICAL: rollback of prod-a-ecs failed/);
    expect(note.message).toContain('ACTION REQUIRED');
  });

  it('a failure in wave 1 leaves wave 2 untouched, and the message says the current image is unchanged (defect 11)', async () => {
    setUp({ behaviours: { 'dev-ecs': { missing: true } } });
    // A missing stack is found before anything is baked (defect 10).
    const run = await world.run({ trigger: 'weekly' }, 'missing');
    expect(run.path).toContain('A cluster target is not ready');
    expect(world.bakeCalls).toEqual([]);
    expect(world.aws.mutations).toEqual([]);
    expect(lockHolder()).toBeUndefined();
    const note = onlyMessage();
    expect(note.attributes).toMatchObject({ status: 'FAILED', step: 'request' });
    expect(note.message).toContain('stack dev-ecs does not exist');
    expect(note.message).toContain(`Current AMI:  ${OLD_AMI} (unchanged)`);
    expect(note.message).not.toContain('none (first promotion)');
  });

  it('rollback mode: re-rolls the fleet to the image promoted before current, without baking', async () => {
    setUp();
    const run = await world.run({ trigger: 'manual', rollback: {}, reason: 'bad kernel' }, 'rb');
    expect(run.status).toBe('SUCCEEDED');
    expect(world.bakeCalls).toEqual([]);
    expect(STACKS.map((s) => world.imageOf(s))).toEqual([OLDER_AMI, OLDER_AMI, OLDER_AMI]);
    expect(world.aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI, OLDER_AMI]);
    expect(JSON.parse(world.aws.value(names.currentAmiRecord)!)).toMatchObject({ reason: 'rollback', amiId: OLDER_AMI, previousAmiId: OLD_AMI, baseAmiId: OLD_BASE });
    expect(world.aws.value(names.currentBaseAmi)).toBe(OLD_BASE);
    expect(onlyMessage().subject).toBe(`[ecs-ami-pipeline test] SUCCEEDED: ${OLDER_AMI} rolled back to 3 clusters`);
  });

  it('rollback mode refuses an image this pipeline did not bake', async () => {
    setUp();
    const run = await world.run({ trigger: 'manual', rollback: { toAmi: NEW_BASE } }, 'rb-foreign');
    expect(run.error?.name).toBe('RequestRejected');
    expect(world.aws.mutations).toEqual([]);
    expect(onlyMessage().message).toContain('rollback.toAmi:');
  });
});

describe('the pipeline state machine: the defects of issue 9', () => {
  it('1. a run limited to later clusters is refused unless it asks to skip earlier waves, and then promotes nothing', async () => {
    setUp();
    const refused = await world.run({ trigger: 'manual', clusters: ['prod-a-ecs'] }, 'subset-refused');
    expect(refused.error?.name).toBe('RequestRejected');
    expect(onlyMessage(executionArnOf('subset-refused')).message).toMatch(/prod-a-ecs would roll before dev-ecs \(wave dev\).*skipEarlierWaves/);
    expect(world.bakeCalls).toEqual([]);

    const run = await world.run({ trigger: 'manual', clusters: ['prod-a-ecs'], skipEarlierWaves: true }, 'subset');
    const [ami] = world.baked;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path.at(-1)).toBe('Rolled out to part of the fleet');
    expect(world.imageOf('prod-a-ecs')).toBe(ami);
    expect(world.imageOf('dev-ecs')).toBe(OLD_AMI);
    // ami/current and the base stay: the daily check must still see the fleet as behind.
    expect(world.aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    expect(world.aws.value(names.currentBaseAmi)).toBe(OLD_BASE);
    const note = onlyMessage(executionArnOf('subset'));
    expect(note.attributes.status).toBe('PARTIAL');
    expect(note.message).toContain(`Still on older images: dev-ecs (${OLD_AMI}), prod-b-ecs (${OLD_AMI})`);
  });

  it('2. a notify function that fails still leaves exactly one word to ops: the alert', async () => {
    setUp();
    const arn = executionArnOf('mute');
    const run = await world.run({ trigger: 'weekly' }, 'mute', { wrapTask: fault((c) => c.key === 'notify', 'Error'), deliveries: 2 });
    expect(run.error?.name).toBe('NotificationFailed');
    const alert = onlyMessage(arn);
    expect(alert.fn).toBe('runEnded');
    expect(lockHolder()).toBeUndefined();
  });

  it('2. a run that notified and then ended FAILED is not reported again, however often EventBridge delivers', async () => {
    setUp({ behaviours: { 'dev-ecs': { update: 'rolled-back' } } });
    const arn = executionArnOf('notified');
    await world.run({ trigger: 'weekly' }, 'notified', { deliveries: 3 });
    expect(onlyMessage(arn).fn).toBe('notify');
  });

  it('2. a stopped run releases the fleet and reaches ops through the alert, naming the stack it left mid-update', async () => {
    setUp({ behaviours: { 'dev-ecs': { settleLooks: 50 } } });
    const arn = executionArnOf('stopped');
    const run = await world.run({ trigger: 'weekly' }, 'stopped', { abortWhen: (c) => c.state === 'Check the stack update' && c.call === 3 });
    expect(run.status).toBe('ABORTED');
    expect(lockHolder()).toBeUndefined();
    const alert = onlyMessage(arn);
    expect(alert.subject).toContain('ABORTED: run stopped was stopped before it could notify');
    expect(alert.message).toMatch(/dev-ecs \(UPDATE_IN_PROGRESS\): stack has ami-0d\w+, last confirmed ami-0a0a0a0a0a0a0a0a0/);
  });

  it('4. a run whose release step fails still frees the fleet: the run-ended function releases it, without a second message', async () => {
    setUp();
    const arn = executionArnOf('sticky');
    const run = await world.run({ trigger: 'weekly' }, 'sticky', { wrapTask: fault((c) => c.key === 'releaseFleet', 'Error') });
    expect(run.status).toBe('SUCCEEDED');
    expect(lockHolder()).toBeUndefined();
    expect(onlyMessage(arn).fn).toBe('notify');
  });

  it('4. two runs started together: exactly one holds the fleet, the other is skipped and names it', async () => {
    setUp();
    const [a, b] = await Promise.all([world.run({ trigger: 'weekly' }, 'first'), world.run({ trigger: 'base-ami', sourceAmi: NEW_BASE }, 'second')]);
    const skipped = [a, b].filter((r) => r.path.includes('Another run holds the fleet'));
    expect(skipped).toHaveLength(1);
    expect(world.baked).toHaveLength(1);
    const updaters = new Set(world.aws.mutations.filter((m) => m.kind === 'update-stack').map((m) => m.by?.executionArn));
    expect(updaters.size).toBe(1);
    const skippedArn = executionArnOf(skipped[0] === a ? 'first' : 'second');
    const winner = executionArnOf(skipped[0] === a ? 'second' : 'first');
    expect(onlyMessage(skippedArn).message).toContain(winner.split(':').pop()!);
  });

  it('4. a run that lost the fleet to another changes nothing more (the fence redrive cannot bypass)', async () => {
    setUp();
    const other = executionArnOf('other');
    world.aws.executions.set(other, { status: 'RUNNING' });
    const run = await world.run({ trigger: 'weekly' }, 'fenced', {
      wrapTask: async (call, next) => {
        const result = await next();
        // As if this run's lock had been lost and another run had taken the fleet after the check.
        if (call.key === 'checkRequest') world.aws.ledger.set(RUN_LEDGER.lockKey, { pk: { S: RUN_LEDGER.lockKey }, ownerExecutionArn: { S: other }, acquiredAt: { S: new Date().toISOString() } });
        return result;
      },
    });
    expect(run.path).toContain('Recording the AMI failed');
    expect(world.aws.value(names.latestAmi)).toBeUndefined();
    expect(world.aws.mutations).toEqual([]);
    expect(lockHolder()).toBe(other);
    expect(onlyMessage().message).toContain('FleetHeldByAnotherRun');
  });

  it('4. a lock left by a run that ended is taken over, and the message says so', async () => {
    setUp();
    const dead = executionArnOf('dead');
    world.aws.executions.set(dead, { status: 'FAILED' });
    world.aws.ledger.set(RUN_LEDGER.lockKey, { pk: { S: RUN_LEDGER.lockKey }, ownerExecutionArn: { S: dead }, acquiredAt: { S: '2026-11-01T00:00:00Z' } });
    // The answer of the check that took the lock over is lost: its retry still reports the take-over.
    const run = await world.run({ trigger: 'weekly' }, 'taker', {
      wrapTask: fault((c) => c.key === 'checkRequest' && c.call === 0, 'Lambda.ServiceException', true),
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(onlyMessage().message).toContain('taken over from run dead, which had ended (FAILED)');
  });

  it('5a. the update function times out after CloudFormation took the update: the retry rejoins it and the run succeeds', async () => {
    setUp();
    const run = await world.run({ trigger: 'weekly' }, 'slow-lambda', {
      wrapTask: fault((c) => c.state === 'Update the cluster stack' && c.cluster === 'dev-ecs' && c.call === 0, 'Sandbox.Timedout', true),
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(world.aws.mutations.filter((m) => m.kind === 'update-stack' && m.target === 'dev-ecs')).toHaveLength(1);
  });

  it('5b. the answer to an accepted update is lost: the retry rejoins the update, so a failing image can still be rolled back', async () => {
    setUp({ behaviours: { 'dev-ecs': { registration: 'never' } } });
    const run = await world.run({ trigger: 'weekly' }, 'lost-answer', {
      wrapTask: fault((c) => c.state === 'Update the cluster stack' && c.cluster === 'dev-ecs' && c.call === 0, 'Lambda.ServiceException', true),
    });
    expect(run.error?.name).toBe('RolledBack');
    expect(world.imageOf('dev-ecs')).toBe(OLD_AMI);
  });

  it('5c. a stack still updating when the pipeline stops waiting is reported as updating (CRITICAL), never as rolled back', async () => {
    setUp({ behaviours: { 'dev-ecs': { update: 'never-finishes' } } });
    const run = await world.run({ trigger: 'weekly' }, 'still-updating');
    expect(run.error?.name).toBe('RollbackFailed');
    const note = onlyMessage();
    expect(note.attributes.status).toBe('CRITICAL');
    expect(note.message).toMatch(/dev-ecs: NEEDS A PERSON: the stack update to ami-\w+ could not be followed to its end/);
    expect(note.message).not.toMatch(/rolled back|back to/);
  });

  it('6. SSM refusing the new current value fails the promotion: nothing else is recorded and ops are told', async () => {
    setUp();
    const run = await world.run({ trigger: 'weekly' }, 'refused', {
      wrapTask: async (call, next) => {
        if (call.key === 'promoteAmi') world.aws.ssmRefuses.add(world.baked[0]!);
        return next();
      },
    });
    expect(run.path).toContain('Promoting the AMI failed');
    expect(world.aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    expect(world.aws.value(names.currentBaseAmi)).toBe(OLD_BASE);
    expect(JSON.parse(world.aws.value(names.currentAmiRecord) ?? '{}').amiId).not.toBe(world.baked[0]);
    const note = onlyMessage();
    expect(note.attributes).toMatchObject({ status: 'FAILED', step: 'promote' });
    expect(note.message).toContain('SSM has not accepted the value');
  });

  it('7. two rollbacks in a row never swing back to the image just rolled away from', async () => {
    setUp();
    // History: OLDER, OLD, then a weekly run promotes a new image.
    await world.run({ trigger: 'weekly' }, 'weekly');
    const [newest] = world.baked;
    expect(world.aws.value(names.currentAmi)).toBe(newest);
    await world.run({ trigger: 'manual', rollback: {} }, 'back-1');
    expect(world.aws.value(names.currentAmi)).toBe(OLD_AMI);
    // The previous distinct value is the new image again; the rollback's record says it was left.
    await world.run({ trigger: 'manual', rollback: {} }, 'back-2');
    expect(world.aws.value(names.currentAmi)).toBe(OLDER_AMI);
    expect(STACKS.map((s) => world.imageOf(s))).toEqual([OLDER_AMI, OLDER_AMI, OLDER_AMI]);
  });

  it('7. after a second wave failed, rollback {} puts every cluster back on current, not on the image before it', async () => {
    setUp({ behaviours: { 'prod-a-ecs': { update: 'rolled-back' } } });
    await world.run({ trigger: 'weekly' }, 'half');
    expect(world.imageOf('dev-ecs')).toBe(world.baked[0]);
    const run = await world.run({ trigger: 'manual', rollback: {} }, 'undo');
    expect(run.status).toBe('SUCCEEDED');
    expect(STACKS.map((s) => world.imageOf(s))).toEqual([OLD_AMI, OLD_AMI, OLD_AMI]);
    expect(world.aws.value(names.currentAmi)).toBe(OLD_AMI);
  });

  it('9. a stack busy far longer than the old retry budget is waited for, and the bake retries a CodeBuild 5xx', async () => {
    setUp({ behaviours: { 'dev-ecs': { busyLooks: 60 } } });
    let failedOnce = false;
    const run = await world.run({ trigger: 'weekly' }, 'patient', {
      wrapTask: async (call, next) => {
        if (call.key === 'bake' && !failedOnce) {
          failedOnce = true;
          const error = new Error('Internal error');
          error.name = 'CodeBuild.AWSCodeBuildException';
          throw error;
        }
        return next();
      },
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(world.bakeCalls).toHaveLength(1);
  });
});
