/**
 * The gates between waves (issue 13), run with the real definition and handlers against the model
 * account: approval on a task token (approve, reject, time out, malformed answers), soak with
 * alarms and services (passes, alarm, services below desired, rollback failing), and the audit
 * fields the records keep.
 */
import { RUN_LEDGER, type PromotionRecord, type Wave } from '../../functions/lib/contracts';
import type { SoakSettings } from '../../functions/lib/contracts/gates';
import { ModelWorld, OLD_AMI, STACKS, executionArnOf, names, target, type WorldSetup } from '../support/model-world';

const worlds: ModelWorld[] = [];
afterEach(() => {
  while (worlds.length) worlds.pop()!.restore();
});

const soak = (extra: Partial<SoakSettings> = {}): SoakSettings => ({ minutes: 10, alarms: ['dev-errors'], checkServices: true, checkEverySeconds: 60, ...extra });

function gatedWaves(gates: { devSoak?: SoakSettings; prodApproval?: boolean; prodSoak?: SoakSettings } = {}): Wave[] {
  return [
    { name: 'dev', clusters: [target('dev-ecs')], ...(gates.devSoak ? { soak: gates.devSoak } : {}) },
    {
      name: 'prod',
      clusters: [target('prod-a-ecs'), target('prod-b-ecs')],
      ...(gates.prodApproval ? { requireApproval: true } : {}),
      ...(gates.prodSoak ? { soak: gates.prodSoak } : {}),
    },
  ];
}

function setUp(setup: WorldSetup): ModelWorld {
  const world = new ModelWorld(setup);
  worlds.push(world);
  world.aws.alarms.set('dev-errors', { state: 'OK', reason: 'Threshold Crossed: no datapoints were greater than the threshold' });
  world.aws.alarms.set('prod-latency', { state: 'OK' });
  for (const stack of STACKS) {
    const cluster = stack.replace(/-ecs$/, '');
    world.aws.services.set(cluster, [{ name: `${cluster}-web`, desired: 2, running: 2 }]);
  }
  return world;
}

const runMessage = (world: ModelWorld, name: string) => world.messagesAbout(executionArnOf(name)).filter((m) => m.attributes.status !== 'APPROVAL_NEEDED');
const approvalMessages = (world: ModelWorld) => world.aws.published.filter((m) => m.attributes.status === 'APPROVAL_NEEDED');

describe('approval before a wave', () => {
  it('waits before prod, asks ops without the token, and rolls prod once approved; the records keep who approved', async () => {
    const world = setUp({ waves: gatedWaves({ prodApproval: true }) });
    let devDoneWhenAsked = false;
    world.answerApproval = () => {
      devDoneWhenAsked = world.recordOf('dev-ecs')?.amiId === world.baked[0] && world.imageOf('prod-a-ecs') === OLD_AMI;
      return { decision: 'APPROVED', by: 'arn:aws:iam::123456789012:user/alice', reason: 'change ticket 42', at: '2026-11-28T10:00:00.000Z', wave: 'prod' };
    };
    const run = await world.run({ trigger: 'weekly' }, 'approved');
    const [ami] = world.baked;

    expect(run.status).toBe('SUCCEEDED');
    expect(devDoneWhenAsked).toBe(true);
    expect(run.path).toContain('Ask ops to approve the wave');
    expect(STACKS.map((s) => world.imageOf(s))).toEqual([ami, ami, ami]);

    const [asked] = approvalMessages(world);
    expect(approvalMessages(world)).toHaveLength(1);
    expect(asked!.subject).toContain('APPROVAL NEEDED: wave prod');
    expect(asked!.message).toContain('ami-pipeline approve approved --stage test');
    expect(asked!.message).toContain('prod-a-ecs');
    // The token is kept in the ledger for approvers, never put in the message.
    const token = world.approvalTokens[0]!;
    expect(asked!.message).not.toContain(token);
    expect(world.aws.ledger.get(RUN_LEDGER.approvalKey(executionArnOf('approved')))?.token?.S).toBe(token);

    const promotion = JSON.parse(world.aws.value(names.currentAmiRecord)!) as PromotionRecord;
    expect(promotion.approvals).toEqual([{ wave: 'prod', by: 'arn:aws:iam::123456789012:user/alice', reason: 'change ticket 42', at: '2026-11-28T10:00:00.000Z' }]);
    expect(world.recordOf('prod-a-ecs')?.approval).toEqual({ by: 'arn:aws:iam::123456789012:user/alice', reason: 'change ticket 42', at: '2026-11-28T10:00:00.000Z' });
    expect(world.recordOf('dev-ecs')?.approval).toBeUndefined();
    expect(runMessage(world, 'approved')[0]!.message).toContain('Approved by arn:aws:iam::123456789012:user/alice');
  });

  it('stops before prod when rejected: prod untouched, nothing promoted, the message says who and why, the fleet released', async () => {
    const world = setUp({ waves: gatedWaves({ prodApproval: true }) });
    world.answerApproval = () => ({ decision: 'REJECTED', by: 'arn:aws:iam::123456789012:user/bob', reason: 'freeze until Monday', at: '2026-11-28T10:05:00.000Z', wave: 'prod' });
    const run = await world.run({ trigger: 'weekly' }, 'rejected');
    const [ami] = world.baked;

    expect(run.status).toBe('FAILED');
    expect(run.error?.name).toBe('NotApproved');
    expect(run.path.at(-1)).toBe('Stopped: a wave was not approved');
    expect(world.imageOf('dev-ecs')).toBe(ami);
    expect(['prod-a-ecs', 'prod-b-ecs'].map((s) => world.imageOf(s))).toEqual([OLD_AMI, OLD_AMI]);
    expect(world.aws.mutations.filter((m) => m.target.startsWith('prod'))).toEqual([]);
    expect(world.aws.value(names.currentAmi)).toBe(OLD_AMI);
    expect(world.aws.lockOwner()).toBeUndefined();

    const [message] = runMessage(world, 'rejected');
    expect(runMessage(world, 'rejected')).toHaveLength(1);
    expect(message!.attributes).toMatchObject({ status: 'NOT_APPROVED', step: 'approval' });
    expect(message!.subject).toContain('wave prod rejected by arn:aws:iam::123456789012:user/bob');
    expect(message!.message).toContain('freeze until Monday');
    expect(message!.message).toContain('dev-ecs runs');
    // The refusal outlives the run: approvals/refused, whose history ami-pipeline history shows.
    expect(JSON.parse(world.aws.value(names.refusedApproval)!)).toEqual({
      executionArn: executionArnOf('rejected'),
      wave: 'prod',
      amiId: ami,
      decision: 'REJECTED',
      by: 'arn:aws:iam::123456789012:user/bob',
      reason: 'freeze until Monday',
      at: '2026-11-28T10:05:00.000Z',
      trigger: 'weekly',
      requestedBy: null,
      requestReason: null,
    });
  });

  it('counts an approval nobody answered in time as a rejection', async () => {
    const world = setUp({ waves: gatedWaves({ prodApproval: true }) });
    world.answerApproval = () => {
      const timeout = new Error('the task timed out');
      timeout.name = 'States.Timeout';
      throw timeout;
    };
    const run = await world.run({ trigger: 'weekly' }, 'unanswered');

    expect(run.error?.name).toBe('NotApproved');
    expect(run.path).toContain('Nobody answered the approval in time');
    expect(world.imageOf('prod-a-ecs')).toBe(OLD_AMI);
    const [message] = runMessage(world, 'unanswered');
    expect(message!.subject).toContain('wave prod nobody answered in time');
    expect(message!.message).toContain('nobody answered within 24 hours');
    expect(JSON.parse(world.aws.value(names.refusedApproval)!)).toMatchObject({ decision: 'TIMED_OUT', by: null, wave: 'prod' });
  });

  it.each([
    ['a lowercase decision', { decision: 'approved', by: 'someone' }],
    ['no decision', { by: 'someone', reason: 'ok' }],
    ['a string', 'yes'],
    ['null', null],
  ])('never reads %s as an approval', async (_, answer) => {
    const world = setUp({ waves: gatedWaves({ prodApproval: true }) });
    world.answerApproval = () => answer;
    const run = await world.run({ trigger: 'weekly' }, 'odd-answer');
    expect(run.error?.name).toBe('NotApproved');
    expect(world.imageOf('prod-a-ecs')).toBe(OLD_AMI);
    expect(runMessage(world, 'odd-answer')[0]!.message).toContain('not an approval the pipeline understands');
  });

  it('ends at the approval step, prod untouched, when asking for approval fails after its retries', async () => {
    const world = setUp({ waves: gatedWaves({ prodApproval: true }) });
    const run = await world.run({ trigger: 'weekly' }, 'ask-fails', {
      wrapTask: async (call, go) => {
        if (call.key !== 'requestApproval') return go();
        const error = new Error('AccessDeniedException: not allowed to publish');
        error.name = 'AccessDeniedException';
        throw error;
      },
    });
    expect(run.status).toBe('FAILED');
    expect(run.path).toContain('Asking for approval failed');
    expect(world.imageOf('prod-a-ecs')).toBe(OLD_AMI);
    expect(runMessage(world, 'ask-fails')[0]!.attributes).toMatchObject({ status: 'FAILED', step: 'approval' });
  });

  it('does not ask for approval in a rollback run: the rollback is already a person\'s decision', async () => {
    const world = setUp({ waves: gatedWaves({ prodApproval: true, devSoak: soak() }) });
    const run = await world.run({ trigger: 'manual', rollback: {} }, 'rollback-run');
    expect(run.path).not.toContain('Ask ops to approve the wave');
    expect(run.path).not.toContain('Start the soak');
    expect(approvalMessages(world)).toEqual([]);
  });
});

describe('soak after a wave', () => {
  it('watches dev for its soak time, checking at the configured pace, then rolls prod and promotes', async () => {
    const world = setUp({ waves: gatedWaves({ devSoak: soak({ minutes: 10, checkEverySeconds: 60 }) }) });
    const run = await world.run({ trigger: 'weekly' }, 'soaked');
    expect(run.status).toBe('SUCCEEDED');
    const checks = run.path.filter((s) => s === 'Check the wave while it soaks').length;
    // One check at the start, then one a minute until ten minutes have passed.
    expect(checks).toBe(11);
    expect(run.path.indexOf('Start the soak')).toBeLessThan(run.path.lastIndexOf("Roll the wave's clusters"));
    const message = runMessage(world, 'soaked')[0]!;
    expect(message.message).toMatch(/Soak passed: 10m 0s, 11 checks/);
  });

  it('rolls dev back to the image it confirmed before and leaves prod untouched when an alarm goes off during the soak', async () => {
    const world = setUp({ waves: gatedWaves({ devSoak: soak() }) });
    const run = await world.run({ trigger: 'weekly' }, 'alarm', {
      wrapTask: async (call, go) => {
        if (call.state === 'Check the wave while it soaks' && call.call === 3) {
          world.aws.alarms.set('dev-errors', { state: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0)' });
        }
        return go();
      },
    });

    expect(run.status).toBe('FAILED');
    expect(run.error?.name).toBe('RolledBack');
    expect(run.path.at(-1)).toBe('Rolled back: the wave failed its soak');
    expect(world.imageOf('dev-ecs')).toBe(OLD_AMI);
    expect(world.recordOf('dev-ecs')).toMatchObject({ amiId: OLD_AMI, purpose: 'rollback' });
    expect(['prod-a-ecs', 'prod-b-ecs'].map((s) => world.imageOf(s))).toEqual([OLD_AMI, OLD_AMI]);
    expect(world.aws.mutations.filter((m) => m.target.startsWith('prod'))).toEqual([]);
    expect(world.aws.value(names.currentAmi)).toBe(OLD_AMI);

    const [message] = runMessage(world, 'alarm');
    expect(message!.attributes).toMatchObject({ status: 'ROLLED_BACK', step: 'soak' });
    expect(message!.subject).toContain('wave dev failed its soak: alarm dev-errors is ALARM');
    expect(message!.message).toContain('1 datapoint [12.0] was greater than the threshold (5.0)');
    expect(message!.message).toContain(`dev-ecs back to ${OLD_AMI}`);
  });

  it('rolls back when a service stays below its desired count at two checks in a row, not for one dip', async () => {
    const dip = setUp({ waves: gatedWaves({ devSoak: soak({ alarms: [] }) }) });
    const dipped = await dip.run({ trigger: 'weekly' }, 'one-dip', {
      wrapTask: async (call, go) => {
        if (call.state === 'Check the wave while it soaks') dip.aws.services.set('dev', [{ name: 'dev-web', desired: 2, running: call.call === 2 ? 1 : 2 }]);
        return go();
      },
    });
    expect(dipped.status).toBe('SUCCEEDED');

    const down = setUp({ waves: gatedWaves({ devSoak: soak({ alarms: [] }) }) });
    const stayedDown = await down.run({ trigger: 'weekly' }, 'stays-down', {
      wrapTask: async (call, go) => {
        if (call.state === 'Check the wave while it soaks') down.aws.services.set('dev', [{ name: 'dev-web', desired: 2, running: call.call >= 2 ? 1 : 2 }]);
        return go();
      },
    });
    expect(stayedDown.error?.name).toBe('RolledBack');
    expect(down.imageOf('dev-ecs')).toBe(OLD_AMI);
    expect(runMessage(down, 'stays-down')[0]!.message).toContain('service dev-web on dev runs 1 of 2 desired tasks at two checks in a row');
  });

  it('does not promote when the last wave fails its soak', async () => {
    const world = setUp({ waves: gatedWaves({ prodSoak: soak({ alarms: ['prod-latency'] }) }) });
    world.aws.alarms.set('prod-latency', { state: 'ALARM', reason: 'p99 above 2 s' });
    const run = await world.run({ trigger: 'weekly' }, 'last-wave');
    expect(run.error?.name).toBe('RolledBack');
    expect(run.path).not.toContain('Promote the AMI');
    expect(['prod-a-ecs', 'prod-b-ecs'].map((s) => world.imageOf(s))).toEqual([OLD_AMI, OLD_AMI]);
    expect(world.imageOf('dev-ecs')).toBe(world.baked[0]);
    expect(world.aws.value(names.currentAmi)).toBe(OLD_AMI);
  });

  it('ends CRITICAL when putting a cluster back after a failed soak fails', async () => {
    const world = setUp({ waves: gatedWaves({ devSoak: soak() }), behaviours: { 'dev-ecs': { rollback: 'fails', failureReason: 'instance failed to signal' } } });
    world.aws.alarms.set('dev-errors', { state: 'ALARM', reason: 'errors' });
    const run = await world.run({ trigger: 'weekly' }, 'soak-rollback-fails');
    expect(run.error?.name).toBe('RollbackFailed');
    expect(world.imageOf('prod-a-ecs')).toBe(OLD_AMI);
    expect(runMessage(world, 'soak-rollback-fails')[0]!.attributes.status).toBe('CRITICAL');
  });

  it('fails the soak when a watched alarm is deleted during it', async () => {
    const world = setUp({ waves: gatedWaves({ devSoak: soak() }) });
    const run = await world.run({ trigger: 'weekly' }, 'alarm-gone', {
      wrapTask: async (call, go) => {
        // Deleted after the request check saw it.
        if (call.state === 'Check the wave while it soaks' && call.call === 1) world.aws.alarms.delete('dev-errors');
        return go();
      },
    });
    expect(run.error?.name).toBe('RolledBack');
    expect(runMessage(world, 'alarm-gone')[0]!.message).toContain('alarm dev-errors does not exist any more');
  });

  it('refuses to bake when a wave\'s soak alarm does not exist, before touching anything', async () => {
    const world = setUp({ waves: gatedWaves({ devSoak: soak({ alarms: ['dev-errors', 'dev-typo'] }) }) });
    const run = await world.run({ trigger: 'weekly' }, 'alarm-typo');
    expect(run.path).toContain('A cluster target is not ready');
    expect(world.bakeCalls).toEqual([]);
    expect(world.aws.mutations).toEqual([]);
    expect(runMessage(world, 'alarm-typo')[0]!.message).toContain("wave dev: the soak's alarm dev-typo does not exist in this region");
  });

  it('keeps a day-long soak checked every 10 s within its bound of checks', async () => {
    const world = setUp({ waves: [{ name: 'dev', clusters: [target('dev-ecs')], soak: soak({ minutes: 1440, checkEverySeconds: 10 }) }] });
    const run = await world.run({ trigger: 'weekly' }, 'long-soak');
    expect(run.status).toBe('SUCCEEDED');
    const checks = run.path.filter((s) => s === 'Check the wave while it soaks').length;
    expect(checks).toBeLessThanOrEqual(201);
    expect(checks).toBeGreaterThan(150);
  });
});
