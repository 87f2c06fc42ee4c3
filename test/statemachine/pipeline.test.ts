/**
 * The real definition (statemachine/pipeline.asl.json) executed in-process. The request, record,
 * assess, promote and notify functions are the real handlers against an in-memory AWS (FakeAws);
 * the CodeBuild build and the three cluster functions are scenario stand-ins.
 */
import { FakeAws } from '../support/fake-aws';
import { ACCOUNT, REGION, STATE_MACHINE_NAME, runPipeline } from '../../local/state-machine';
import {
  NEW_AMI,
  NEW_BASE,
  OLDER_AMI,
  OLD_AMI,
  OLD_BASE,
  STACKS,
  configureEnvironment,
  createAws,
  names,
  scenario as worldScenario,
  succeedingBake,
  type BakeCall,
} from '../support/pipeline-world';
import type { StackBehaviour } from '../support/fake-fleet';

let aws: FakeAws;

beforeAll(configureEnvironment);
beforeEach(() => {
  aws = createAws();
});
afterEach(() => aws.restore());

const scenario = (behaviours: Record<string, StackBehaviour> = {}, initial: Record<string, string> = {}) =>
  worldScenario(aws, behaviours, initial);

function failingBake() {
  return async () => {
    const build = {
      Id: 'ecs-ami-pipeline-test-bake:failed-build',
      BuildStatus: 'FAILED',
      Logs: { DeepLink: 'https://console.aws.amazon.com/cloudwatch/home#logsV2:log-groups/bake-failed' },
      Phases: [
        { PhaseType: 'INSTALL', PhaseStatus: 'SUCCEEDED' },
        { PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ Message: 'COMMAND_EXECUTION_ERROR: packer build exited 1' }] },
      ],
    };
    // What Step Functions raises when a .sync build fails: States.TaskFailed with the build as the cause.
    const error = new Error(JSON.stringify(build));
    error.name = 'States.TaskFailed';
    throw error;
  };
}

function onlyNotification() {
  expect(aws.published).toHaveLength(1);
  return aws.published[0]!;
}

describe('the pipeline state machine', () => {
  it('bakes, records, rolls two waves in order, confirms, promotes and reports success', async () => {
    const { fleet, bakeCalls, handlers } = scenario();
    const run = await runPipeline({ trigger: 'weekly' }, handlers, { executionName: 'weekly-run' });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      'Receive the request',
      'Check the request',
      'Which kind of run?',
      'Bake the image',
      'Record the baked AMI',
      'Is this a dry run?',
      'Roll out the baked image',
      'Start the rollout',
      'Pick the next wave',
      "Roll the wave's clusters",
      'Assess the wave',
      'Is the rollout done?',
      'Pick the next wave',
      "Roll the wave's clusters",
      'Assess the wave',
      'Is the rollout done?',
      'Promote the AMI',
      'Rollout succeeded',
      'Notify ops',
      'How did the run end?',
      'Fleet is on the new image',
    ]);
    // The build got the recommended base, the run id and the commit as overrides.
    expect(bakeCalls[0]!.EnvironmentVariablesOverride).toEqual(
      expect.arrayContaining([
        { Name: 'SOURCE_AMI', Type: 'PLAINTEXT', Value: NEW_BASE },
        { Name: 'BUILD_ID', Type: 'PLAINTEXT', Value: 'weekly-run' },
        expect.objectContaining({ Name: 'GIT_COMMIT' }),
      ]),
    );
    // dev finished (confirmed) before prod was touched.
    const order = fleet.calls.map((c) => `${c.fn}:${c.stackName}`);
    expect(order.indexOf('confirmRegistration:dev-ecs')).toBeLessThan(order.indexOf('updateStack:prod-a-ecs'));
    expect(STACKS.map((s) => fleet.images.get(s))).toEqual([NEW_AMI, NEW_AMI, NEW_AMI]);

    expect(aws.value(names.latestAmi)).toBe(NEW_AMI);
    expect(aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI, NEW_AMI]);
    expect(aws.value(names.currentBaseAmi)).toBe(NEW_BASE);
    expect(JSON.parse(aws.value(names.currentAmiRecord)!)).toMatchObject({
      amiId: NEW_AMI,
      previousAmiId: OLD_AMI,
      baseAmiId: NEW_BASE,
      buildId: 'weekly-run',
      reason: 'rollout',
      clusters: STACKS,
    });
    expect(aws.parameters.get(names.currentAmi)!.at(-1)!.dataType).toBe('aws:ec2:image');

    const note = onlyNotification();
    expect(note.subject).toBe(`[ecs-ami-pipeline test] SUCCEEDED: ${NEW_AMI} rolled to 3 clusters`);
    expect(note.subject.length).toBeLessThan(100);
    expect(note.attributes).toEqual({ status: 'SUCCEEDED', stage: 'test', step: 'promote' });
    expect(note.message).toContain(`Previous AMI: ${OLD_AMI}`);
    expect(note.message).toContain(`Base AMI:     ${NEW_BASE}`);
    expect(note.message).toMatch(/prod-b-ecs \(prod-b\): ROLLED/);
  });

  it('dry run: bakes and records the latest AMI, touches no cluster and keeps current', async () => {
    const { fleet, handlers } = scenario();
    const run = await runPipeline({ trigger: 'manual', dryRun: true }, handlers);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path.slice(-5)).toEqual(['Is this a dry run?', 'Dry run finished', 'Notify ops', 'How did the run end?', 'Image baked (dry run)']);
    expect(fleet.calls).toEqual([]);
    expect(aws.value(names.latestAmi)).toBe(NEW_AMI);
    expect(aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    expect(aws.value(names.currentBaseAmi)).toBe(OLD_BASE);
    expect(onlyNotification().attributes.status).toBe('DRY_RUN');
  });

  it('skips at once, changing nothing, when an earlier run is in flight', async () => {
    const earlier = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${STATE_MACHINE_NAME}:weekly-earlier`;
    aws.running.push({ executionArn: earlier, startDate: new Date(Date.now() - 60_000) });
    const { fleet, bakeCalls, handlers } = scenario();
    const run = await runPipeline({ trigger: 'manual' }, handlers);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      'Receive the request',
      'Check the request',
      'Which kind of run?',
      'Another run is in flight',
      'Notify ops',
      'How did the run end?',
      'Skipped: another run is in flight',
    ]);
    expect(bakeCalls).toEqual([]);
    expect(fleet.calls).toEqual([]);
    expect(aws.value(names.latestAmi)).toBeUndefined();
    const note = onlyNotification();
    expect(note.attributes.status).toBe('SKIPPED');
    expect(note.message).toContain('weekly-earlier');
  });

  it.each([
    [{ trigger: 'daily' }, 'trigger'],
    [{ trigger: 'manual', dryrun: true }, 'dryrun'],
    [{ trigger: 'manual', sourceAmi: 'ami-123' }, 'sourceAmi'],
    [{ trigger: 'manual', clusters: ['no-such-stack'] }, 'clusters[0]'],
    [{ trigger: 'manual', waves: [[]] }, 'waves[0]'],
    ['roll everything', 'input'],
  ])('rejects %j naming %s, and changes nothing', async (input, field) => {
    const { fleet, bakeCalls, handlers } = scenario();
    const run = await runPipeline(input, handlers);

    expect(run.status).toBe('FAILED');
    expect(run.error?.name).toBe('RequestRejected');
    expect(run.path).toContain('Request rejected');
    expect(bakeCalls).toEqual([]);
    expect(fleet.calls).toEqual([]);
    expect(aws.value(names.latestAmi)).toBeUndefined();
    const note = onlyNotification();
    expect(note.attributes).toMatchObject({ status: 'REJECTED', step: 'request' });
    expect(note.message).toContain(`${field}:`);
  });

  it('build failure: records nothing, touches no cluster, links the build logs', async () => {
    const { fleet, handlers } = scenario();
    const run = await runPipeline({ trigger: 'weekly' }, { ...handlers, bake: failingBake() });

    expect(run.status).toBe('FAILED');
    expect(run.path).toEqual(expect.arrayContaining(['Bake the image', 'The build failed', 'Notify ops', 'Run failed']));
    expect(run.path).not.toContain('Record the baked AMI');
    expect(fleet.calls).toEqual([]);
    expect(aws.value(names.latestAmi)).toBeUndefined();
    const note = onlyNotification();
    expect(note.attributes).toMatchObject({ status: 'FAILED', step: 'bake' });
    expect(note.subject).toContain('the image build failed');
    expect(note.message).toContain('BUILD phase FAILED: COMMAND_EXECUTION_ERROR: packer build exited 1');
    expect(note.message).toContain('https://console.aws.amazon.com/cloudwatch/home#logsV2:log-groups/bake-failed');
  });

  it('build succeeded but exported no AMI: records nothing and says which variable is missing', async () => {
    const bakeCalls: BakeCall[] = [];
    const { fleet, handlers } = scenario();
    const run = await runPipeline({ trigger: 'weekly' }, { ...handlers, bake: succeedingBake(aws, bakeCalls, false) });

    expect(run.status).toBe('FAILED');
    expect(run.path).toContain('Recording the AMI failed');
    expect(fleet.calls).toEqual([]);
    expect(aws.value(names.latestAmi)).toBeUndefined();
    const note = onlyNotification();
    expect(note.attributes).toMatchObject({ status: 'FAILED', step: 'record' });
    expect(note.message).toContain('exported no AMI_ID');
  });

  it('stack update rolled back by CloudFormation: stops, promotes nothing, later waves untouched', async () => {
    const { fleet, handlers } = scenario({ 'dev-ecs': { stack: 'rolled-back' } });
    const run = await runPipeline({ trigger: 'weekly' }, handlers);

    expect(run.status).toBe('FAILED');
    expect(run.entered).toContain('CloudFormation rolled the stack back');
    expect(run.path).toContain('A cluster failed to roll');
    expect(fleet.callsFor('prod-a-ecs')).toEqual([]);
    expect(fleet.callsFor('prod-b-ecs')).toEqual([]);
    expect(fleet.images.get('dev-ecs')).toBe(OLD_AMI);
    expect(aws.value(names.latestAmi)).toBe(NEW_AMI);
    expect(aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    const note = onlyNotification();
    expect(note.attributes).toMatchObject({ status: 'FAILED', step: 'rollout' });
    expect(note.message).toContain('Received 0 SUCCESS signal(s)');
    expect(note.message).toContain('Wave prod: not started');
  });

  it('"No updates" counts as rolled when the stack already runs the image', async () => {
    const { fleet, handlers } = scenario({}, { 'dev-ecs': NEW_AMI });
    const run = await runPipeline({ trigger: 'weekly' }, handlers);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.entered).toContain('The stack already runs the image');
    expect(fleet.callsFor('dev-ecs').map((c) => c.fn)).toEqual(['updateStack', 'confirmRegistration']);
    expect(aws.value(names.currentAmi)).toBe(NEW_AMI);
  });

  it('registration not confirmed in time: rolls that stack back, waits, confirms, and reports', async () => {
    const { fleet, handlers } = scenario({ 'prod-a-ecs': { registration: 'timeout' } });
    const run = await runPipeline({ trigger: 'weekly' }, handlers);

    expect(run.status).toBe('FAILED');
    expect(run.error?.name).toBe('RolledBack');
    expect(run.entered).toEqual(
      expect.arrayContaining(['Roll the stack back to its previous image', 'Check the stack rollback', 'Confirm the rollback registered', 'Cluster rolled back']),
    );
    expect(run.path).toContain('A cluster was rolled back');
    expect(fleet.callsFor('prod-a-ecs').map((c) => `${c.fn}:${c.amiId}`)).toEqual([
      `updateStack:${NEW_AMI}`,
      `checkStackUpdate:${NEW_AMI}`,
      `confirmRegistration:${NEW_AMI}`,
      `updateStack:${OLD_AMI}`,
      `checkStackUpdate:${OLD_AMI}`,
      `confirmRegistration:${OLD_AMI}`,
    ]);
    expect(fleet.images.get('prod-a-ecs')).toBe(OLD_AMI);
    expect(aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    const note = onlyNotification();
    expect(note.attributes.status).toBe('ROLLED_BACK');
    expect(note.subject).toContain('ROLLED BACK');
    expect(note.message).toContain(`prod-a-ecs back to ${OLD_AMI}`);
    expect(note.message).toMatch(/dev-ecs, prod-b-ecs run ami-0d0d0d0d0d0d0d0d0/);
  });

  it('a failed rollback is a distinct CRITICAL notification', async () => {
    const { handlers } = scenario({ 'prod-a-ecs': { registration: 'timeout', rollback: 'fails' } });
    const run = await runPipeline({ trigger: 'weekly' }, handlers);

    expect(run.status).toBe('FAILED');
    expect(run.error?.name).toBe('RollbackFailed');
    expect(run.entered).toContain('The rollback failed');
    expect(run.path).toContain('A rollback failed');
    expect(aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    const note = onlyNotification();
    expect(note.attributes.status).toBe('CRITICAL');
    expect(note.subject).toMatch(/^\[ecs-ami-pipeline test\] CRITICAL: rollback of prod-a-ecs failed/);
    expect(note.message).toContain('ACTION REQUIRED');
  });

  it('a failure in wave 1 leaves wave 2 untouched', async () => {
    const { fleet, handlers } = scenario({ 'dev-ecs': { update: 'not-rollable' } });
    const run = await runPipeline({ trigger: 'weekly' }, handlers);

    expect(run.status).toBe('FAILED');
    expect(run.entered).toContain('The stack was not updated');
    expect(fleet.calls.map((c) => c.stackName)).toEqual(['dev-ecs']);
    expect(fleet.images.get('prod-a-ecs')).toBe(OLD_AMI);
    expect(aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI]);
    expect(onlyNotification().message).toContain('has no parameter ApplicationImageId');
  });

  it('rollback mode: re-rolls the fleet to the previous promoted AMI without baking', async () => {
    const { fleet, bakeCalls, handlers } = scenario();
    const run = await runPipeline({ trigger: 'manual', rollback: {}, reason: 'bad kernel' }, handlers);

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toContain('Roll back to the earlier image');
    expect(run.path).not.toContain('Bake the image');
    expect(bakeCalls).toEqual([]);
    expect(STACKS.map((s) => fleet.images.get(s))).toEqual([OLDER_AMI, OLDER_AMI, OLDER_AMI]);
    expect(aws.history(names.currentAmi)).toEqual([OLDER_AMI, OLD_AMI, OLDER_AMI]);
    // The record names the image's own base and build, from its tags, not the rollback run's.
    expect(JSON.parse(aws.value(names.currentAmiRecord)!)).toMatchObject({
      reason: 'rollback',
      amiId: OLDER_AMI,
      previousAmiId: OLD_AMI,
      baseAmiId: OLD_BASE,
      buildId: `build-of-${OLDER_AMI}`,
    });
    // The base stays: the base-AMI check must not rebuild what ops just rolled away from.
    expect(aws.value(names.currentBaseAmi)).toBe(OLD_BASE);
    const note = onlyNotification();
    expect(note.subject).toBe(`[ecs-ami-pipeline test] SUCCEEDED: ${OLDER_AMI} rolled back to 3 clusters`);
    expect(note.message).toContain('bad kernel');
  });

  it('rollback mode refuses an image this pipeline did not bake', async () => {
    const { fleet, handlers } = scenario();
    const run = await runPipeline({ trigger: 'manual', rollback: { toAmi: NEW_BASE } }, handlers);

    expect(run.error?.name).toBe('RequestRejected');
    expect(fleet.calls).toEqual([]);
    expect(onlyNotification().message).toContain('rollback.toAmi:');
  });
});
