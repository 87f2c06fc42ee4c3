/**
 * The promises of README "Guarantees", as checks over a model world after its runs, and the
 * generators of the worlds, runs and faults the property tests (test/statemachine/invariants.test.ts)
 * and `make soak` throw at the real definition and the real handlers.
 */
import fc from 'fast-check';
import { DEFAULT_IMAGE_PARAMETER, type Wave } from '../../functions/lib/contracts';
import type { RunOutcome, TaskCall, TaskWrapper } from '../../local/state-machine';
import type { StackBehaviour } from './model-aws';
import { ModelWorld, NEW_BASE, OLDER_AMI, executionArnOf } from './model-world';

export const STATE_LIMIT_BYTES = 256 * 1024;
export const HISTORY_LIMIT_EVENTS = 25_000;

/** The Task states of the definition a fault can hit (cluster states get the cluster's index). */
export const TASK_STATES = [
  'Check the request',
  'Bake the image',
  'Record the baked AMI',
  "Find the cluster's last confirmed image",
  'Update the cluster stack',
  'Check the stack update',
  'Confirm ECS registration',
  'Roll the stack back to its last confirmed image',
  'Check the stack rollback',
  'Confirm the rollback registered',
  'Assess the wave',
  'Promote the AMI',
  'Notify ops',
  'Release the fleet',
] as const;

/**
 * transient: throttling after the SDK's retries; permanent: an error no Retry takes; timeout-before:
 * the function timed out before its effect; timeout-after / lost-answer: the effect happened, the
 * answer never reached Step Functions.
 */
export const FAULT_KINDS = ['transient', 'permanent', 'timeout-before', 'timeout-after', 'lost-answer'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  run: number;
  state: (typeof TASK_STATES)[number];
  /** Which cluster (index into all clusters) for branch states; ignored for the others. */
  cluster: number;
  /** Which call of that state (0: the first). */
  call: number;
  kind: FaultKind;
}

export interface Scenario {
  waves: Wave[];
  behaviours: Record<string, StackBehaviour>;
  withoutRecords: string[];
  runs: unknown[];
  faults: Fault[];
  /** Stop run `run` before its `afterCalls`-th task call, as StopExecution would. */
  abort?: { run: number; afterCalls: number };
  /** SSM refuses the first promotion's value after answering. */
  ssmRefusesPromotion: boolean;
  /** How often EventBridge delivers each abnormal end (at least once). */
  deliveries: number;
}

const stackName = (w: number, c: number) => `c${w}${c}-ecs`;

export function wavesOf(shape: number[]): Wave[] {
  return shape.map((size, w) => ({
    name: `wave${w + 1}`,
    clusters: Array.from({ length: size }, (_, c) => ({ stackName: stackName(w, c), clusterName: `c${w}${c}`, imageParameter: DEFAULT_IMAGE_PARAMETER })),
  }));
}

const behaviour: fc.Arbitrary<StackBehaviour> = fc.record(
  {
    missing: fc.constantFrom(false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true),
    busyLooks: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 6 }) }),
    // An update that never finishes polls up to its Retry maximum (750 looks, most of a second
    // here): rare, so a few hundred scenarios stay within seconds.
    update: fc.oneof(
      { weight: 30, arbitrary: fc.constant('ok' as const) },
      { weight: 4, arbitrary: fc.constant('rolled-back' as const) },
      { weight: 2, arbitrary: fc.constant('rollback-failed' as const) },
      { weight: 1, arbitrary: fc.constant('never-finishes' as const) },
    ),
    settleLooks: fc.integer({ min: 0, max: 3 }),
    registration: fc.oneof(
      { weight: 12, arbitrary: fc.constant('ok' as const) },
      { weight: 2, arbitrary: fc.constant('late' as const) },
      { weight: 3, arbitrary: fc.constant('never' as const) },
    ),
    lateLooks: fc.integer({ min: 1, max: 4 }),
    rollback: fc.oneof(
      { weight: 8, arbitrary: fc.constant('ok' as const) },
      { weight: 1, arbitrary: fc.constant('fails' as const) },
      { weight: 1, arbitrary: fc.constant('never-registers' as const) },
    ),
  },
  { requiredKeys: [] },
);

function runInput(allStacks: string[]): fc.Arbitrary<unknown> {
  const subset = fc.subarray(allStacks, { minLength: 1 });
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant({ trigger: 'weekly' }) },
    { weight: 2, arbitrary: fc.constant({ trigger: 'base-ami', sourceAmi: NEW_BASE }) },
    { weight: 1, arbitrary: fc.constant({ trigger: 'manual', dryRun: true }) },
    { weight: 2, arbitrary: fc.record({ trigger: fc.constant('manual'), clusters: subset, skipEarlierWaves: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ trigger: 'manual', rollback: {} }) },
    { weight: 1, arbitrary: fc.constant({ trigger: 'manual', rollback: { toAmi: OLDER_AMI } }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 0, false, 'roll it', { trigger: 'daily' }, { trigger: 'manual', waves: [[]] }) },
  );
}

export const scenarios: fc.Arbitrary<Scenario> = fc
  .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })
  .chain((shape) => {
    const waves = wavesOf(shape);
    const stacks = waves.flatMap((w) => w.clusters.map((c) => c.stackName));
    return fc.record({
      waves: fc.constant(waves),
      behaviours: fc.tuple(...stacks.map(() => behaviour)).map((list) => Object.fromEntries(stacks.map((s, i) => [s, list[i]!]))),
      withoutRecords: fc.subarray(stacks, { maxLength: Math.min(2, stacks.length) }),
      runs: fc.array(runInput(stacks), { minLength: 1, maxLength: 3 }),
      faults: fc.array(
        fc.record({
          run: fc.integer({ min: 0, max: 2 }),
          state: fc.constantFrom(...TASK_STATES),
          cluster: fc.integer({ min: 0, max: stacks.length - 1 }),
          call: fc.integer({ min: 0, max: 2 }),
          kind: fc.constantFrom(...FAULT_KINDS),
        }),
        { maxLength: 5 },
      ),
      abort: fc.option(fc.record({ run: fc.integer({ min: 0, max: 2 }), afterCalls: fc.integer({ min: 1, max: 30 }) }), { freq: 6, nil: undefined }),
      ssmRefusesPromotion: fc.constantFrom(false, false, false, false, false, false, false, true),
      deliveries: fc.integer({ min: 1, max: 2 }),
    });
  });

function injected(name: string): Error {
  const error = new Error(`${name} (injected fault)`);
  error.name = name;
  return error;
}

/** What a fault throws, per kind (the bake task's errors are CodeBuild's). */
function faultError(kind: FaultKind, call: TaskCall): Error {
  if (call.key === 'bake') return injected(kind === 'permanent' ? 'States.TaskFailed' : 'CodeBuild.ThrottlingException');
  switch (kind) {
    case 'transient':
      return injected('TransientAwsError');
    case 'permanent':
      return injected('Error');
    case 'timeout-before':
    case 'timeout-after':
      return injected('Sandbox.Timedout');
    case 'lost-answer':
      return injected('Lambda.ServiceException');
  }
}

export function faultWrapper(faults: Fault[], run: number, stacks: string[]): TaskWrapper {
  return async (call, next) => {
    const fault = faults.find(
      (f) => f.run === run && f.state === call.state && f.call === call.call && (call.cluster === undefined || stacks[f.cluster] === call.cluster),
    );
    if (!fault) return next();
    if (fault.kind === 'timeout-after' || fault.kind === 'lost-answer') await next();
    throw faultError(fault.kind, call);
  };
}

export interface Played {
  world: ModelWorld;
  scenario: Scenario;
  outcomes: RunOutcome[];
  arns: string[];
  /** Moments when more than one run had been let through "Check the request" and had not ended. */
  overlaps: string[][];
}

/** Runs a scenario's runs at once against a fresh world; `tweak` can switch a safeguard off. */
export async function play(scenario: Scenario, tweak?: (world: ModelWorld) => void): Promise<Played> {
  const world = new ModelWorld({ waves: scenario.waves, behaviours: scenario.behaviours, withoutRecords: scenario.withoutRecords });
  tweak?.(world);
  const stacks = scenario.waves.flatMap((w) => w.clusters.map((c) => c.stackName));
  const arns = scenario.runs.map((_, i) => executionArnOf(`run-${i}`));
  // The runs "Check the request" let through (not skipped) and that have not ended yet: a run holds
  // the fleet from that answer to its end, so this set must never hold two.
  const holding = new Set<string>();
  const overlaps: string[][] = [];
  try {
    let refused = false;
    const outcomes = await Promise.all(
      scenario.runs.map(async (input, i) => {
        let calls = 0;
        const wrap = faultWrapper(scenario.faults, i, stacks);
        const outcome = await world.run(input, `run-${i}`, {
          deliveries: scenario.deliveries,
          abortWhen: () => scenario.abort?.run === i && ++calls > scenario.abort.afterCalls,
          wrapTask: async (call, next) => {
            if (scenario.ssmRefusesPromotion && !refused && call.key === 'promoteAmi' && world.baked.length > 0) {
              refused = true;
              for (const ami of world.baked) world.aws.ssmRefuses.add(ami);
            }
            const result = await wrap(call, next);
            if (call.key === 'checkRequest' && !(result as { skip?: unknown }).skip) {
              holding.add(arns[i]!);
              if (holding.size > 1) overlaps.push([...holding]);
            }
            return result;
          },
        });
        holding.delete(arns[i]!);
        return outcome;
      }),
    );
    return { world, scenario, outcomes, arns, overlaps };
  } catch (error) {
    world.restore();
    throw error;
  }
}

/** Every promise of README "Guarantees"; throws naming the first one broken. */
export function checkInvariants(played: Played): void {
  const { world, scenario, outcomes, arns, overlaps } = played;
  const aws = world.aws;
  const configured = scenario.waves.flatMap((w) => w.clusters.map((c) => c.stackName));
  const fail = (invariant: string, detail: string) => {
    throw new Error(`${invariant} broken: ${detail}`);
  };

  // I1: ami/current changes only to an image every configured cluster's record names, and only by
  // a run that ended promoting it (never a failed, partial, dry, skipped or rejected one).
  for (const m of aws.mutations.filter((x) => x.kind === 'current-ami')) {
    const behind = configured.filter((s) => m.recordsAtWrite?.[s] !== m.value);
    if (behind.length) fail('I1', `ami/current set to ${m.value} while ${behind.join(', ')} had not confirmed it`);
    const run = arns.indexOf(m.by?.executionArn ?? '');
    if (run < 0 || !outcomes[run]!.path.includes('Rollout succeeded')) fail('I1', `ami/current changed by ${m.by?.executionArn} whose run did not end promoting`);
  }

  // I2: every run reaches ops exactly once (its own message, or the abnormal-end alert).
  arns.forEach((arn, i) => {
    const messages = world.messagesAbout(arn);
    if (messages.length !== 1) {
      fail('I2', `run-${i} (${outcomes[i]!.status}, ended in "${outcomes[i]!.path.at(-1)}") reached ops ${messages.length} times: ${messages.map((m) => m.subject).join(' | ')}`);
    }
  });

  // I3: at most one run holds the fleet at any moment: never two runs let through at once, every
  // change to the fleet made by the lock's holder, and the changes of two runs never interleave.
  if (overlaps.length) fail('I3', `${overlaps[0]!.join(' and ')} held the fleet at the same time`);
  for (const m of aws.mutations) {
    if (m.lockOwner !== m.by?.executionArn) fail('I3', `${m.kind} of ${m.target} by ${m.by?.executionArn} while ${m.lockOwner ?? 'nobody'} held the fleet`);
  }
  const blocks: string[] = [];
  for (const m of [...aws.mutations].sort((a, b) => a.seq - b.seq)) {
    const by = m.by?.executionArn ?? 'unknown';
    if (blocks.at(-1) !== by) {
      if (blocks.includes(by)) fail('I3', `${by} changed the fleet again after ${blocks.at(-1)} had changed it: two runs held the fleet at once`);
      blocks.push(by);
    }
  }
  const lock = aws.lockOwner();
  if (lock) fail('I3', `the fleet lock is still held by ${lock} after every run ended`);

  // I4: every cluster ends on the image it last confirmed, or a message names it as needing a person.
  for (const stackName of configured) {
    const stack = aws.stacks.get(stackName)!;
    // A stack no run changed is as it was, whatever that was.
    if (stack.behaviour.missing || !aws.mutations.some((m) => m.kind === 'update-stack' && m.target === stackName)) continue;
    const record = world.recordOf(stackName);
    if (record && record.amiId === stack.image && !stack.status.endsWith('_FAILED') && !stack.status.endsWith('_IN_PROGRESS')) continue;
    const named = aws.published.some(
      (p) => (p.attributes.status === 'CRITICAL' || p.fn === 'runEnded') && p.message.includes(stackName),
    );
    if (!named) {
      fail('I4', `${stackName} ended on ${stack.image} (${stack.status}), last confirmed ${record?.amiId ?? 'none'}, and no message names it as needing a person`);
    }
  }

  // I5: no state over 256 KiB, no execution (run or cluster child) over 25,000 history events.
  outcomes.forEach((o, i) => {
    if (o.maxStateBytes > STATE_LIMIT_BYTES) fail('I5', `run-${i}: ${o.maxStateBytes} bytes at ${o.maxStateAt}`);
    if (o.history.parent > HISTORY_LIMIT_EVENTS || o.history.largestChild > HISTORY_LIMIT_EVENTS) {
      fail('I5', `run-${i}: history ${o.history.parent} events (largest child ${o.history.largestChild})`);
    }
  });
}

export async function playAndCheck(scenario: Scenario, tweak?: (world: ModelWorld) => void): Promise<void> {
  const played = await play(scenario, tweak);
  try {
    checkInvariants(played);
  } finally {
    played.world.restore();
  }
}
