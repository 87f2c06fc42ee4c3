/**
 * The wave gates' pure decisions (functions/lib/decisions/gates.ts), the rollout steps around them
 * (assessNotApproved, recordSoak, assessSoakRollback, assessWave's approval) and the approval
 * request message (functions/lib/decisions/approval-message.ts): examples, then fast-check
 * properties (seeded by fast-check; a failure prints the seed and the shrunk counterexample).
 */
import fc from 'fast-check';
import { LIMITS, type ClusterTarget, type Wave } from '../../functions/lib/contracts';
import { APPROVAL_DECISIONS, REASON_LIMIT, type ApprovalAnswer, type ApprovalWaiting, type SoakOutcome, type SoakSettings } from '../../functions/lib/contracts/gates';
import { APPROVAL_NEEDED_STATUS, composeApprovalRequest, type ApprovalRequestView } from '../../functions/lib/decisions/approval-message';
import {
  assessSoak,
  boundedReason,
  composeAnswer,
  readAnswer,
  soakCheckInterval,
  soakOutcome,
  soakRollbackItems,
  timedOutAnswer,
  type AlarmView,
  type ServiceView,
  type SoakObservation,
  type SoakProgress,
  type SoakRollbackItem,
} from '../../functions/lib/decisions/gates';
import {
  assessNotApproved,
  assessSoakRollback,
  assessWave,
  recordSoak,
  type BranchEnding,
  type ClusterBranchOutput,
  type ClusterResult,
  type RolloutState,
} from '../../functions/lib/decisions/rollout';

const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const OLDER = 'ami-0cccccccccccccccc';
const T0 = new Date('2026-01-05T12:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const target = (stackName: string): ClusterTarget => ({ stackName, clusterName: `${stackName}-cluster`, imageParameter: 'ApplicationImageId' });

const SOAK: SoakSettings = { minutes: 30, alarms: ['api-5xx', 'api-latency'], checkServices: true, checkEverySeconds: 60 };
const STARTING: SoakProgress = { status: 'STARTING' };

const alarm = (name: string, state: string, reason?: string): AlarmView => ({ name, state, ...(reason ? { reason } : {}) });
const service = (cluster: string, name: string, desired: number, running: number): ServiceView => ({ cluster, service: name, desired, running });
const healthy = (extra: Partial<SoakObservation> = {}): SoakObservation => ({
  alarms: [alarm('api-5xx', 'OK'), alarm('api-latency', 'OK')],
  missingAlarms: [],
  services: [service('prod-a-cluster', 'web', 2, 2), service('prod-b-cluster', 'worker', 1, 1)],
  ...extra,
});

/** The soak as it stands after its first check at T0 (SOAKING, nothing below desired). */
function soakingSince(start: Date, checks: number, belowDesired: string[] = []): SoakProgress {
  return {
    status: 'SOAKING',
    startedAt: start.toISOString(),
    endsAt: new Date(start.getTime() + SOAK.minutes * 60_000).toISOString(),
    checks,
    checkedAt: start.toISOString(),
    belowDesired,
    nextCheckSeconds: 60,
    problems: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Reasons and answers

describe('boundedReason', () => {
  it('keeps nothing for null, undefined, empty and blank text', () => {
    expect(boundedReason(null)).toBeNull();
    expect(boundedReason(undefined)).toBeNull();
    expect(boundedReason('')).toBeNull();
    expect(boundedReason(' \n\t\u2028 ')).toBeNull();
  });

  it('makes one line of several, squeezing the spaces', () => {
    expect(boundedReason('  CVE-2026-1234\r\n  patched\tin   base\u0000 ')).toBe('CVE-2026-1234 patched in base');
  });

  it('keeps a reason of exactly REASON_LIMIT characters and cuts a longer one to REASON_LIMIT with an ellipsis', () => {
    const exact = 'x'.repeat(REASON_LIMIT);
    expect(boundedReason(exact)).toBe(exact);
    const cut = boundedReason(`${'y'.repeat(REASON_LIMIT)}z`);
    expect(cut).toBe(`${'y'.repeat(REASON_LIMIT - 3)}...`);
    expect(cut).toHaveLength(REASON_LIMIT);
  });

  it('property: never longer than REASON_LIMIT, never a control character, never blank', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600, unit: 'binary' }), (text) => {
        const kept = boundedReason(text);
        if (kept === null) return;
        expect(kept.length).toBeLessThanOrEqual(REASON_LIMIT);
        expect(kept).not.toMatch(CONTROL);
        expect(kept.trim()).toBe(kept);
        expect(kept).not.toBe('');
      }),
    );
  });
});

describe('composeAnswer', () => {
  const BY = 'arn:aws:sts::123456789012:assumed-role/ops/alice';

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['whitespace and control characters only', '\n\t\r \u0007 '],
  ])('refuses a rejection whose reason is %s, naming --reason', (_label, reason) => {
    const result = composeAnswer('REJECTED', BY, reason, 'prod', T0);
    expect(result.ok).toBe(false);
    if (result.ok) throw new Error('unreachable');
    expect(result.problem.field).toBe('--reason');
    expect(result.problem.problem).toMatch(/rejection needs a reason/);
  });

  it('takes an approval without a reason', () => {
    expect(composeAnswer('APPROVED', BY, undefined, 'prod', T0)).toEqual({
      ok: true,
      answer: { decision: 'APPROVED', by: BY, reason: null, at: T0.toISOString(), wave: 'prod' },
    });
  });

  it('keeps a rejection reason as one bounded line', () => {
    const result = composeAnswer('REJECTED', BY, `change freeze\nuntil Monday ${'!'.repeat(400)}`, 'prod', T0);
    if (!result.ok) throw new Error(`refused: ${result.problem.problem}`);
    expect(result.answer.decision).toBe('REJECTED');
    expect(result.answer.by).toBe(BY);
    expect(result.answer.reason).toHaveLength(REASON_LIMIT);
    expect(result.answer.reason!.startsWith('change freeze until Monday !!!')).toBe(true);
    expect(result.answer.reason!.endsWith('...')).toBe(true);
  });

  it('property: a rejection is refused exactly when its reason has no visible text; every reason kept is one bounded line', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('APPROVED' as const, 'REJECTED' as const),
        fc.option(fc.string({ maxLength: 400, unit: 'binary' }), { nil: undefined }),
        (decision, reason) => {
          const result = composeAnswer(decision, BY, reason, 'wave-1', T0);
          const visible = reason !== undefined && reason.replace(/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '') !== '';
          expect(result.ok).toBe(decision === 'APPROVED' || visible);
          if (!result.ok) {
            expect(result.problem.field).toBe('--reason');
            return;
          }
          expect(result.answer.decision).toBe(decision);
          expect(result.answer.wave).toBe('wave-1');
          if (result.answer.reason !== null) {
            expect(result.answer.reason.length).toBeLessThanOrEqual(REASON_LIMIT);
            expect(result.answer.reason).not.toMatch(CONTROL);
          }
        },
      ),
    );
  });
});

describe('readAnswer', () => {
  const BY = 'arn:aws:sts::123456789012:assumed-role/ops/bob';

  it('reads the CLI approval as it was sent', () => {
    const sent: ApprovalAnswer = { decision: 'APPROVED', by: BY, reason: 'dev soaked fine', at: '2026-01-05T11:00:00.000Z', wave: 'ignored' };
    expect(readAnswer(sent, 'prod', T0)).toEqual({ decision: 'APPROVED', by: BY, reason: 'dev soaked fine', at: '2026-01-05T11:00:00.000Z', wave: 'prod' });
  });

  it('keeps REJECTED with its reason sanitised; TIMED_OUT is the state machine\'s, not a person\'s answer', () => {
    expect(readAnswer({ decision: 'REJECTED', by: BY, reason: 'freeze\nuntil\tMonday' }, 'prod', T0)).toEqual({
      decision: 'REJECTED',
      by: BY,
      reason: 'freeze until Monday',
      at: T0.toISOString(),
      wave: 'prod',
    });
    expect(readAnswer({ decision: 'TIMED_OUT', by: BY }, 'prod', T0)).toMatchObject({ decision: 'REJECTED', by: BY });
  });

  it.each([
    ['a string', 'APPROVED', '"APPROVED"'],
    ['a lower-case decision', { decision: 'approved' }, '{"decision":"approved"}'],
    ['an array', [{ decision: 'APPROVED' }], '[{"decision":"APPROVED"}]'],
    ['true', true, 'true'],
    ['null', null, 'null'],
    ['an empty object', {}, '{}'],
  ])('reads %s as a rejection that quotes what it said', (_label, output, quoted) => {
    const answer = readAnswer(output, 'prod', T0);
    expect(answer).toEqual({
      decision: 'REJECTED',
      by: null,
      reason: `the answer was not an approval the pipeline understands: ${quoted}`,
      at: T0.toISOString(),
      wave: 'prod',
    });
  });

  it('uses the time it read the answer when the answer carries none, or none that parses', () => {
    expect(readAnswer({ decision: 'APPROVED', at: 'yesterday-ish' }, 'prod', T0).at).toBe(T0.toISOString());
    expect(readAnswer({ decision: 'APPROVED', at: 1767610800000 }, 'prod', T0).at).toBe(T0.toISOString());
  });

  it('ignores a by or reason that is not text', () => {
    expect(readAnswer({ decision: 'REJECTED', by: 42, reason: { why: 'x' } }, 'prod', T0)).toMatchObject({ by: null, reason: null });
  });

  it('property: only an object whose decision is exactly APPROVED reads as APPROVED', () => {
    const approvedLike = fc.record(
      { decision: fc.constantFrom('APPROVED', 'approved', 'APPROVED ', 'Approved', 'REJECTED', 'TIMED_OUT', 'YES'), by: fc.string(), reason: fc.string(), at: fc.string() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), approvedLike), (output) => {
        const answer = readAnswer(output, 'prod', T0);
        const approves = typeof output === 'object' && output !== null && !Array.isArray(output) && (output as { decision?: unknown }).decision === 'APPROVED';
        expect(answer.decision === 'APPROVED').toBe(approves);
        expect(APPROVAL_DECISIONS).toContain(answer.decision);
        expect(answer.wave).toBe('prod');
      }),
    );
  });

  it('property: an answer the pipeline understands keeps its by and reason sanitised and bounded', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('APPROVED' as const, 'REJECTED' as const),
        fc.option(fc.string({ maxLength: 500, unit: 'binary' }), { nil: undefined }),
        fc.option(fc.string({ maxLength: 500, unit: 'binary' }), { nil: undefined }),
        (decision, by, reason) => {
          const answer = readAnswer({ decision, by, reason }, 'prod', T0);
          expect(answer.decision).toBe(decision);
          expect(answer.by).toBe(boundedReason(by));
          expect(answer.reason).toBe(boundedReason(reason));
          for (const text of [answer.by, answer.reason]) {
            if (text === null) continue;
            expect(Array.from(text).length).toBeLessThanOrEqual(REASON_LIMIT);
            expect(text).not.toMatch(CONTROL);
          }
        },
      ),
    );
  });

  it('property: any JSON answer yields a reason without control characters', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (output) => {
        const { reason, by } = readAnswer(output, 'prod', T0);
        for (const text of [reason, by]) if (text !== null) expect(text).not.toMatch(CONTROL);
      }),
    );
  });

  // The reason of an answer the pipeline does not understand is bounded as a whole, sentence included.
  it('property: any JSON answer yields a reason of at most REASON_LIMIT characters', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (output) => {
        const { reason } = readAnswer(output, 'prod', T0);
        if (reason !== null) expect(Array.from(reason).length).toBeLessThanOrEqual(REASON_LIMIT);
      }),
    );
  });

  // V8's Date.parse skips parenthesised comments: the time is kept normalised, never as sent.
  it('keeps only a real timestamp as the answer time', () => {
    const at = `Jan 5 2026 (line one\nline two ${'x'.repeat(300)})`;
    const answer = readAnswer({ decision: 'REJECTED', reason: 'no', at }, 'prod', T0);
    expect(answer.at).not.toMatch(CONTROL);
    expect(Number.isNaN(Date.parse(answer.at))).toBe(false);
    expect(answer.at.length).toBeLessThanOrEqual(30);
  });
});

describe('timedOutAnswer', () => {
  it.each([
    [3600, 'nobody answered within 1 hour'],
    [86_400, 'nobody answered within 24 hours'],
    [5400, 'nobody answered within 90 minutes'],
  ])('names a timeout of %i seconds', (seconds, reason) => {
    expect(timedOutAnswer('prod', seconds, T0)).toEqual({ decision: 'TIMED_OUT', by: null, reason, at: T0.toISOString(), wave: 'prod' });
  });
});

// ---------------------------------------------------------------------------------------------
// Soak

describe('soakCheckInterval', () => {
  it('is the configured pause while the soak fits in LIMITS.soakChecks checks', () => {
    expect(soakCheckInterval(SOAK)).toBe(60);
    expect(soakCheckInterval({ ...SOAK, minutes: 1440, checkEverySeconds: 900 })).toBe(900);
  });

  it('stretches so a long soak takes at most LIMITS.soakChecks checks', () => {
    // 1440 minutes = 86,400 s over 200 checks = 432 s.
    expect(soakCheckInterval({ ...SOAK, minutes: 1440, checkEverySeconds: 60 })).toBe(432);
    expect(soakCheckInterval({ ...SOAK, minutes: 61, checkEverySeconds: 10 })).toBe(Math.ceil((61 * 60) / LIMITS.soakChecks));
  });
});

describe('assessSoak', () => {
  it('starts the soak at its first check and says when to look again', () => {
    expect(assessSoak(SOAK, STARTING, healthy(), T0)).toEqual({
      status: 'SOAKING',
      startedAt: T0.toISOString(),
      endsAt: at(30 * 60).toISOString(),
      checks: 1,
      checkedAt: T0.toISOString(),
      belowDesired: [],
      nextCheckSeconds: 60,
      problems: [],
      lastCheck: 'api-5xx OK, api-latency OK; 2/2 services at their desired count',
    });
  });

  it('counts on from the previous check, keeping its start', () => {
    const next = assessSoak(SOAK, soakingSince(T0, 4), healthy(), at(240));
    expect(next).toMatchObject({ status: 'SOAKING', startedAt: T0.toISOString(), endsAt: at(1800).toISOString(), checks: 5, checkedAt: at(240).toISOString() });
  });

  it('fails at once on an alarm in ALARM, naming it with its one-line reason', () => {
    const seen = healthy({ alarms: [alarm('api-5xx', 'ALARM', 'Threshold Crossed:\n3 datapoints\twere greater'), alarm('api-latency', 'OK')] });
    const failed = assessSoak(SOAK, STARTING, seen, T0);
    expect(failed.status).toBe('FAILED');
    expect(failed.problems).toEqual(['alarm api-5xx is ALARM: Threshold Crossed: 3 datapoints were greater']);
    expect(failed.nextCheckSeconds).toBeUndefined();
    expect(failed.lastCheck).toBe('api-5xx ALARM, api-latency OK; 2/2 services at their desired count');
  });

  it('fails when a watched alarm does not exist any more', () => {
    const failed = assessSoak(SOAK, soakingSince(T0, 2), healthy({ alarms: [alarm('api-5xx', 'OK')], missingAlarms: ['api-latency'] }), at(120));
    expect(failed.status).toBe('FAILED');
    expect(failed.problems).toEqual(['alarm api-latency does not exist any more; the soak cannot watch it']);
  });

  it('does not fail on INSUFFICIENT_DATA: a quiet service is not an alarm', () => {
    const seen = healthy({ alarms: [alarm('api-5xx', 'INSUFFICIENT_DATA'), alarm('api-latency', 'INSUFFICIENT_DATA')] });
    expect(assessSoak(SOAK, STARTING, seen, T0).status).toBe('SOAKING');
    expect(assessSoak(SOAK, soakingSince(T0, 30), seen, at(1800)).status).toBe('PASSED');
  });

  it('lets a service be below its desired count at one check, and fails it at the second in a row', () => {
    const low = healthy({ services: [service('prod-a-cluster', 'web', 2, 1), service('prod-b-cluster', 'worker', 1, 1)] });
    const first = assessSoak(SOAK, STARTING, low, T0);
    expect(first).toMatchObject({ status: 'SOAKING', belowDesired: ['prod-a-cluster/web'], problems: [] });
    expect(first.lastCheck).toBe('api-5xx OK, api-latency OK; 1/2 services at their desired count');

    const second = assessSoak(SOAK, first, low, at(60));
    expect(second.status).toBe('FAILED');
    expect(second.problems).toEqual(['service web on prod-a-cluster runs 1 of 2 desired tasks at two checks in a row']);
    expect(second.checks).toBe(2);
  });

  it('forgets a service that recovered, and does not count a different one below as a second time', () => {
    const first = assessSoak(SOAK, STARTING, healthy({ services: [service('prod-a-cluster', 'web', 2, 1), service('prod-b-cluster', 'worker', 1, 1)] }), T0);
    const other = assessSoak(SOAK, first, healthy({ services: [service('prod-a-cluster', 'web', 2, 2), service('prod-b-cluster', 'worker', 1, 0)] }), at(60));
    expect(other).toMatchObject({ status: 'SOAKING', belowDesired: ['prod-b-cluster/worker'] });
    const back = assessSoak(SOAK, other, healthy(), at(120));
    expect(back).toMatchObject({ status: 'SOAKING', belowDesired: [] });
  });

  it('tells the same service name on two clusters apart', () => {
    const first = assessSoak(SOAK, STARTING, healthy({ services: [service('prod-a-cluster', 'web', 2, 1), service('prod-b-cluster', 'web', 2, 2)] }), T0);
    const next = assessSoak(SOAK, first, healthy({ services: [service('prod-a-cluster', 'web', 2, 2), service('prod-b-cluster', 'web', 2, 1)] }), at(60));
    expect(next.status).toBe('SOAKING');
    expect(next.belowDesired).toEqual(['prod-b-cluster/web']);
  });

  it('fails a service below its desired count at the last check even when it was fine before', () => {
    const failed = assessSoak(SOAK, soakingSince(T0, 30), healthy({ services: [service('prod-a-cluster', 'web', 3, 2)] }), at(1800));
    expect(failed.status).toBe('FAILED');
    expect(failed.problems).toEqual(['service web on prod-a-cluster runs 2 of 3 desired tasks at the end of the soak']);
  });

  it('ignores what a STARTING soak carries over from an earlier wave', () => {
    const stale: SoakProgress = { status: 'STARTING', startedAt: '2026-01-01T00:00:00.000Z', checks: 40, belowDesired: ['prod-a-cluster/web'] };
    const first = assessSoak(SOAK, stale, healthy({ services: [service('prod-a-cluster', 'web', 2, 1)] }), T0);
    expect(first).toMatchObject({ status: 'SOAKING', startedAt: T0.toISOString(), checks: 1, belowDesired: ['prod-a-cluster/web'] });
  });

  it('passes at the end when all is well, with the number of checks', () => {
    expect(assessSoak(SOAK, soakingSince(T0, 30), healthy(), at(1800))).toEqual({
      status: 'PASSED',
      startedAt: T0.toISOString(),
      endsAt: at(1800).toISOString(),
      checks: 31,
      checkedAt: at(1800).toISOString(),
      problems: [],
      lastCheck: 'api-5xx OK, api-latency OK; 2/2 services at their desired count',
    });
  });

  it('waits only until the end for the last check', () => {
    expect(assessSoak(SOAK, soakingSince(T0, 29), healthy(), at(1770)).nextCheckSeconds).toBe(30);
    expect(assessSoak(SOAK, soakingSince(T0, 29), healthy(), new Date(at(1800).getTime() - 200)).nextCheckSeconds).toBe(1);
  });

  it('ignores the services when checkServices is off', () => {
    const soak = { ...SOAK, checkServices: false };
    const seen = healthy({ services: [service('prod-a-cluster', 'web', 2, 0)] });
    const first = assessSoak(soak, STARTING, seen, T0);
    expect(first).toMatchObject({ status: 'SOAKING', belowDesired: [], lastCheck: 'api-5xx OK, api-latency OK; services not checked' });
    expect(assessSoak(soak, first, seen, at(1800)).status).toBe('PASSED');
  });

  it('says there are no alarms when it watches none', () => {
    expect(assessSoak({ ...SOAK, alarms: [] }, STARTING, healthy({ alarms: [] }), T0).lastCheck).toBe('no alarms; 2/2 services at their desired count');
  });

  // --- properties -------------------------------------------------------------------------------

  const SERVICE_KEYS = ['c1/web', 'c1/api', 'c2/web', 'c2/worker'];
  const soakArb: fc.Arbitrary<SoakSettings> = fc.record({
    minutes: fc.integer({ min: LIMITS.soakMinutes.min, max: LIMITS.soakMinutes.max }),
    alarms: fc.uniqueArray(fc.constantFrom('a1', 'a2', 'a3', 'a4'), { maxLength: 4 }),
    checkServices: fc.boolean(),
    checkEverySeconds: fc.integer({ min: LIMITS.soakCheckEverySeconds.min, max: LIMITS.soakCheckEverySeconds.max }),
  });
  const alarmArb = (names: string[]) =>
    fc.tuple(...names.map((name) => fc.record({ name: fc.constant(name), state: fc.constantFrom('OK', 'ALARM', 'INSUFFICIENT_DATA'), reason: fc.option(fc.string(), { nil: undefined }) })));
  const servicesArb = fc.uniqueArray(
    fc.record({ key: fc.constantFrom(...SERVICE_KEYS), desired: fc.nat(4), running: fc.nat(4) }).map(({ key, desired, running }) => {
      const [cluster, name] = key.split('/') as [string, string];
      return service(cluster, name, desired, running);
    }),
    { selector: (s) => `${s.cluster}/${s.service}` },
  );

  /** One check: the settings, what the run had so far (STARTING, or a soak that started at T0), when it looks, and what it sees. */
  const checkArb = soakArb.chain((soak) =>
    fc.record({
      soak: fc.constant(soak),
      previous: fc.oneof(
        fc.constant<SoakProgress>(STARTING),
        fc.record({ checks: fc.integer({ min: 1, max: 200 }), below: fc.subarray(SERVICE_KEYS) }).map(
          ({ checks, below }): SoakProgress => ({ status: 'SOAKING', startedAt: T0.toISOString(), checks, belowDesired: below }),
        ),
      ),
      offsetMs: fc.integer({ min: 0, max: (soak.minutes * 60 + 120) * 1000 }),
      alarms: fc.subarray(soak.alarms).chain((present) => alarmArb(present).map((alarms) => ({ alarms, missing: soak.alarms.filter((a) => !present.includes(a)) }))),
      services: servicesArb,
    }),
  );
  type Check = typeof checkArb extends fc.Arbitrary<infer T> ? T : never;
  const run = (c: Check) => {
    const now = new Date(T0.getTime() + c.offsetMs);
    const seen: SoakObservation = { alarms: c.alarms.alarms, missingAlarms: c.alarms.missing, services: c.services };
    return { now, seen, next: assessSoak(c.soak, c.previous, seen, now) };
  };

  it('property: an alarm in ALARM or a missing alarm always fails the soak, naming it', () => {
    fc.assert(
      fc.property(checkArb, (c) => {
        const { next } = run(c);
        const alarming = c.alarms.alarms.filter((a) => a.state === 'ALARM').map((a) => a.name);
        if (alarming.length === 0 && c.alarms.missing.length === 0) return;
        expect(next.status).toBe('FAILED');
        for (const name of [...alarming, ...c.alarms.missing]) expect(next.problems!.some((p) => p.startsWith(`alarm ${name} `))).toBe(true);
      }),
    );
  });

  it('property: the soak fails exactly for ALARM, missing alarms, and checked services below desired twice in a row or at the end', () => {
    fc.assert(
      fc.property(checkArb, (c) => {
        const { now, next } = run(c);
        const startedAt = c.previous.status === 'STARTING' ? now : T0;
        const last = now.getTime() >= startedAt.getTime() + c.soak.minutes * 60_000;
        const before = new Set(c.previous.status === 'STARTING' ? [] : c.previous.belowDesired);
        const serviceFails =
          c.soak.checkServices && c.services.some((s) => s.running < s.desired && (last || before.has(`${s.cluster}/${s.service}`)));
        const fails = c.alarms.alarms.some((a) => a.state === 'ALARM') || c.alarms.missing.length > 0 || serviceFails;
        expect(next.status).toBe(fails ? 'FAILED' : last ? 'PASSED' : 'SOAKING');
        // INSUFFICIENT_DATA never appears among the problems.
        expect(next.problems!.some((p) => p.includes('INSUFFICIENT_DATA'))).toBe(false);
      }),
    );
  });

  it('property: never PASSED before the end, never SOAKING at or after it', () => {
    fc.assert(
      fc.property(checkArb, (c) => {
        const { now, next } = run(c);
        const ends = Date.parse(next.endsAt!);
        expect(ends).toBe(Date.parse(next.startedAt!) + c.soak.minutes * 60_000);
        if (next.status === 'PASSED') expect(now.getTime()).toBeGreaterThanOrEqual(ends);
        if (next.status === 'SOAKING') expect(now.getTime()).toBeLessThan(ends);
        expect(['SOAKING', 'PASSED', 'FAILED']).toContain(next.status);
      }),
    );
  });

  it('property: the next check comes after 1 s at least, never past the end, never later than soakCheckInterval', () => {
    fc.assert(
      fc.property(checkArb, (c) => {
        const { now, next } = run(c);
        if (next.status !== 'SOAKING') {
          expect(next.nextCheckSeconds).toBeUndefined();
          return;
        }
        const remaining = Math.ceil((Date.parse(next.endsAt!) - now.getTime()) / 1000);
        expect(Number.isInteger(next.nextCheckSeconds)).toBe(true);
        expect(next.nextCheckSeconds).toBeGreaterThanOrEqual(1);
        expect(next.nextCheckSeconds).toBeLessThanOrEqual(remaining);
        expect(next.nextCheckSeconds).toBeLessThanOrEqual(soakCheckInterval(c.soak));
      }),
    );
  });

  it('property: with checkServices off, the services make no difference', () => {
    fc.assert(
      fc.property(checkArb, (c) => {
        const soak = { ...c.soak, checkServices: false };
        const { now, seen } = run(c);
        const withServices = assessSoak(soak, c.previous, seen, now);
        const without = assessSoak(soak, c.previous, { ...seen, services: [] }, now);
        expect(withServices).toEqual(without);
      }),
    );
  });

  it('property: a healthy soak, checked whenever it asks, passes at the end within LIMITS.soakChecks + 1 checks', () => {
    fc.assert(
      fc.property(soakArb, fc.integer({ min: 0, max: 999 }), (soak, lagMs) => {
        const seen: SoakObservation = {
          alarms: soak.alarms.map((name) => alarm(name, 'OK')),
          missingAlarms: [],
          services: [service('c1', 'web', 2, 2)],
        };
        let now = new Date(T0.getTime() + lagMs);
        let progress = assessSoak(soak, STARTING, seen, now);
        const startedAt = now.getTime();
        while (progress.status === 'SOAKING') {
          expect(progress.checks).toBeLessThanOrEqual(LIMITS.soakChecks + 1);
          now = new Date(now.getTime() + progress.nextCheckSeconds! * 1000);
          progress = assessSoak(soak, progress, seen, now);
        }
        expect(progress.status).toBe('PASSED');
        expect(progress.checks).toBeLessThanOrEqual(LIMITS.soakChecks + 1);
        expect(progress.checks).toBeGreaterThanOrEqual(2);
        expect(now.getTime()).toBeGreaterThanOrEqual(startedAt + soak.minutes * 60_000);
        // The last Wait stops at the end of the soak, not an interval after it.
        expect(now.getTime()).toBeLessThan(startedAt + soak.minutes * 60_000 + 1000);
      }),
      { numRuns: 200 },
    );
  });
});

describe('soakOutcome', () => {
  it('is nothing while the soak runs', () => {
    expect(soakOutcome(STARTING, T0)).toBeUndefined();
    expect(soakOutcome(soakingSince(T0, 3), at(180))).toBeUndefined();
  });

  it('keeps how a finished soak ended', () => {
    const failed: SoakProgress = { ...soakingSince(T0, 3), status: 'FAILED', problems: ['alarm api-5xx is ALARM'] };
    expect(soakOutcome(failed, at(200))).toEqual({ status: 'FAILED', startedAt: T0.toISOString(), endedAt: at(200).toISOString(), checks: 3, problems: ['alarm api-5xx is ALARM'] });
    expect(soakOutcome({ status: 'PASSED' }, at(200))).toEqual({ status: 'PASSED', startedAt: at(200).toISOString(), endedAt: at(200).toISOString(), checks: 0, problems: [] });
  });
});

describe('soakRollbackItems', () => {
  const wave: Wave = { name: 'prod', clusters: ['a', 'b', 'c', 'd', 'e', 'f'].map(target) };
  type Row = Parameters<typeof soakRollbackItems>[1][number];
  const row = (stackName: string, status: string, confirmedAmiId?: string): Row => ({ stackName, status, amiId: NEW, ...(confirmedAmiId ? { confirmedAmiId } : {}) });

  it('puts back only clusters this run moved onto the new image, to the image each confirmed before, in the wave order', () => {
    const results = [
      row('f', 'ROLLED', OLDER),
      row('e', 'FAILED', OLD), // not changed by this run
      row('d', 'ROLLED'), // no known-good image
      row('c', 'ROLLED', NEW), // was on the new image already
      row('a', 'ROLLED', OLD),
      // b has no result at all
    ];
    expect(soakRollbackItems(wave, results, T0)).toEqual<SoakRollbackItem[]>([
      { target: target('a'), amiId: OLD, since: T0.toISOString(), copyOf: null },
      { target: target('f'), amiId: OLDER, since: T0.toISOString(), copyOf: null },
    ]);
  });

  it('property: every item is a ROLLED cluster of the wave going back to a different confirmed image, in wave order', () => {
    const rowArb = fc.record({
      stackName: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'z'),
      status: fc.constantFrom('ROLLED', 'FAILED', 'ROLLED_BACK', 'UNCONFIRMED'),
      amiId: fc.constantFrom(NEW, OLD),
      confirmedAmiId: fc.option(fc.constantFrom(NEW, OLD, OLDER), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(rowArb, { selector: (r) => r.stackName }), (results) => {
        const items = soakRollbackItems(wave, results, T0);
        const expected = wave.clusters.filter((t) => {
          const r = results.find((x) => x.stackName === t.stackName);
          return r?.status === 'ROLLED' && r.confirmedAmiId !== undefined && r.confirmedAmiId !== r.amiId;
        });
        expect(items.map((i) => i.target)).toEqual(expected);
        for (const item of items) {
          const r = results.find((x) => x.stackName === item.target.stackName)!;
          expect(item.amiId).toBe(r.confirmedAmiId);
          expect(item.amiId).not.toBe(r.amiId);
          expect(item.since).toBe(T0.toISOString());
        }
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The rollout around the gates

/** What "Report the cluster's outcome" hands back. */
function branch(stackName: string, ending: BranchEnding, step: string, extra: Partial<ClusterBranchOutput> = {}): ClusterBranchOutput {
  return {
    stackName,
    clusterName: `${stackName}-cluster`,
    amiId: NEW,
    outcome: { ending, step },
    baseline: { amiId: OLD, source: 'record', startedAt: '2026-01-05T10:00:00.000Z' },
    update: { previousAmiId: OLD, changed: true, requestedAt: '2026-01-05T10:01:00.000Z' },
    registration: null,
    rollbackRegistration: null,
    error: null,
    rollbackError: null,
    ...extra,
  };
}

const rolledResult = (stackName: string): ClusterResult => ({
  stackName,
  clusterName: `${stackName}-cluster`,
  status: 'ROLLED',
  ending: 'rolled',
  step: 'registration',
  amiId: NEW,
  confirmedAmiId: OLD,
  previousAmiId: OLD,
  leftOn: NEW,
  finishedAt: '2026-01-05T10:20:00.000Z',
});

const APPROVED: ApprovalAnswer = { decision: 'APPROVED', by: 'arn:aws:sts::123456789012:assumed-role/ops/alice', reason: null, at: '2026-01-05T09:00:00.000Z', wave: 'prod' };
const REJECTED: ApprovalAnswer = { decision: 'REJECTED', by: 'arn:aws:sts::123456789012:assumed-role/ops/bob', reason: 'change freeze', at: '2026-01-05T09:00:00.000Z', wave: 'prod' };
const DEV_PASSED: SoakOutcome = { status: 'PASSED', startedAt: '2026-01-05T08:00:00.000Z', endedAt: '2026-01-05T08:30:00.000Z', checks: 31, problems: [] };

/** After the dev wave rolled and soaked, and the prod wave (three clusters) rolled. */
const AFTER_PROD: RolloutState = {
  nextWave: 2,
  status: 'COMPLETE',
  waves: [
    { name: 'dev', results: [rolledResult('dev')], soak: DEV_PASSED },
    { name: 'prod', results: [rolledResult('prod-a'), rolledResult('prod-b'), rolledResult('prod-c')], approval: APPROVED },
  ],
  soak: { ...soakingSince(T0, 5), status: 'FAILED', problems: ['alarm api-5xx is ALARM'] },
};

describe('assessNotApproved', () => {
  it('stops before the wave: keeps nextWave, NOT_APPROVED, the wave recorded with the answer and no results', () => {
    const previous: RolloutState = { nextWave: 1, status: 'IN_PROGRESS', waves: [{ name: 'dev', results: [rolledResult('dev')], soak: DEV_PASSED }] };
    expect(assessNotApproved(previous, { name: 'prod', clusters: [target('prod-a')], requireApproval: true }, REJECTED)).toEqual({
      nextWave: 1,
      status: 'NOT_APPROVED',
      waves: [
        { name: 'dev', results: [rolledResult('dev')], soak: DEV_PASSED },
        { name: 'prod', results: [], approval: REJECTED },
      ],
    });
  });

  it('is NOT_APPROVED on the very first wave too', () => {
    const state = assessNotApproved({ nextWave: 0, status: 'IN_PROGRESS', waves: [] }, { name: 'dev', clusters: [target('dev')] }, { ...REJECTED, decision: 'TIMED_OUT', by: null });
    expect(state).toEqual({ nextWave: 0, status: 'NOT_APPROVED', waves: [{ name: 'dev', results: [], approval: { ...REJECTED, decision: 'TIMED_OUT', by: null } }] });
  });
});

describe('assessWave with an approval', () => {
  const wave: Wave = { name: 'prod', clusters: [target('prod-a')], requireApproval: true };

  it('records the approval on the wave it rolled', () => {
    const state = assessWave({ nextWave: 0, status: 'IN_PROGRESS', waves: [] }, wave, [branch('prod-a', 'rolled', 'registration')], 1, T0, APPROVED);
    expect(state.status).toBe('COMPLETE');
    expect(state.waves).toHaveLength(1);
    expect(state.waves[0]!.approval).toEqual(APPROVED);
  });

  it('records no approval key for a wave that needed none', () => {
    const state = assessWave({ nextWave: 0, status: 'IN_PROGRESS', waves: [] }, wave, [branch('prod-a', 'rolled', 'registration')], 1, T0, null);
    expect(state.waves[0]).not.toHaveProperty('approval');
  });
});

describe('recordSoak', () => {
  const items: SoakRollbackItem[] = [{ target: target('prod-a'), amiId: OLD, since: T0.toISOString(), copyOf: null }];

  it('keeps a passed soak on the last wave, the status as assessed, and no clusters to put back', () => {
    const previous: RolloutState = { ...AFTER_PROD, soakRollBack: items };
    const passed: SoakOutcome = { status: 'PASSED', startedAt: T0.toISOString(), endedAt: at(1800).toISOString(), checks: 31, problems: [] };
    const state = recordSoak(previous, passed, items);
    expect(state.status).toBe('COMPLETE');
    expect(state.nextWave).toBe(2);
    expect(state.soakRollBack).toBeUndefined();
    expect(state.waves[1]!.soak).toEqual(passed);
    expect(state.waves[1]!.results).toEqual(AFTER_PROD.waves[1]!.results);
    expect(state.waves[0]).toEqual(AFTER_PROD.waves[0]);
    expect(state.soak).toEqual(AFTER_PROD.soak);
  });

  it('keeps a failed soak and the clusters to put back; the status waits for the rollback', () => {
    const failed: SoakOutcome = { status: 'FAILED', startedAt: T0.toISOString(), endedAt: at(300).toISOString(), checks: 6, problems: ['alarm api-5xx is ALARM'] };
    const state = recordSoak(AFTER_PROD, failed, items);
    expect(state.status).toBe('COMPLETE');
    expect(state.soakRollBack).toEqual(items);
    expect(state.waves[1]!.soak).toEqual(failed);
    expect(state.waves[0]!.soak).toEqual(DEV_PASSED);
  });

  it('does not change the state it was given', () => {
    const copy = structuredClone(AFTER_PROD);
    recordSoak(AFTER_PROD, DEV_PASSED, items);
    expect(AFTER_PROD).toEqual(copy);
  });
});

describe('assessSoakRollback', () => {
  const previous: RolloutState = { ...AFTER_PROD, soakRollBack: [{ target: target('prod-a'), amiId: OLD, since: T0.toISOString(), copyOf: null }] };
  const back = (stackName: string) => branch(stackName, 'rolled-back', 'rollback', { rollbackRegistration: { summary: `2/2 instances on ${OLD}`, checkedAt: at(600).toISOString() } });

  it('is ROLLED_BACK when clusters went back; those not put back keep their results', () => {
    const state = assessSoakRollback(previous, [back('prod-a'), back('prod-b')], at(700));
    expect(state.status).toBe('ROLLED_BACK');
    expect(state.nextWave).toBe(2);
    expect(state.soak).toEqual(AFTER_PROD.soak);
    expect(state.soakRollBack).toBeUndefined();
    const prod = state.waves[1]!;
    expect(prod.results.map((r) => [r.stackName, r.status])).toEqual([
      ['prod-a', 'ROLLED_BACK'],
      ['prod-b', 'ROLLED_BACK'],
      ['prod-c', 'ROLLED'],
    ]);
    expect(prod.results[0]).toMatchObject({ leftOn: OLD, registration: `2/2 instances on ${OLD}`, finishedAt: at(600).toISOString() });
    expect(prod.results[2]).toEqual(rolledResult('prod-c'));
    expect(prod.approval).toEqual(APPROVED);
    expect(state.waves[0]).toEqual(AFTER_PROD.waves[0]);
  });

  it('is CRITICAL when one rollback failed, even if another went back', () => {
    const failed = branch('prod-b', 'rollback-failed', 'rollback', { rollbackError: { Error: 'StackRollbackFailed', Cause: 'UPDATE_ROLLBACK_FAILED' } });
    const state = assessSoakRollback(previous, [back('prod-a'), failed], at(700));
    expect(state.status).toBe('CRITICAL');
    expect(state.waves[1]!.results.find((r) => r.stackName === 'prod-b')).toMatchObject({ status: 'ROLLBACK_FAILED', rollbackError: 'StackRollbackFailed: UPDATE_ROLLBACK_FAILED' });
  });

  it('is FAILED when no cluster had anything to go back to', () => {
    const state = assessSoakRollback(previous, [], at(700));
    expect(state.status).toBe('FAILED');
    expect(state.waves[1]!.results).toEqual(AFTER_PROD.waves[1]!.results);
  });

  it('is FAILED when the rollback changed nothing', () => {
    const refused = branch('prod-a', 'not-updated', 'rollback', { error: { Error: 'StackNotRollable', Cause: 'no ImageId parameter' }, update: null });
    const state = assessSoakRollback(previous, [refused], at(700));
    expect(state.status).toBe('FAILED');
    expect(state.waves[1]!.results[0]!.status).toBe('FAILED');
  });

  it('ignores outputs for clusters the last wave does not have', () => {
    const state = assessSoakRollback(previous, [back('dev')], at(700));
    expect(state.waves[0]).toEqual(AFTER_PROD.waves[0]);
    expect(state.waves[1]!.results).toEqual(AFTER_PROD.waves[1]!.results);
  });
});

// ---------------------------------------------------------------------------------------------
// The approval request message

describe('composeApprovalRequest', () => {
  const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-2026-01-05';
  const view: ApprovalRequestView = {
    serviceName: 'ecs-ami-pipeline',
    stage: 'prod',
    executionArn: EXEC,
    wave: 'prod',
    clusters: [target('prod-a'), target('prod-b')],
    amiId: NEW,
    baseAmi: { id: 'ami-0base0000000000000', name: 'al2023-ami-ecs-hvm-2023.0.20260101' },
    requestedBy: null,
    reason: null,
    earlierWaves: ['dev: 1/1 clusters confirmed, soaked 30 min (PASSED)'],
    requestedAt: T0,
    expiresAt: at(24 * 3600),
  };

  it('says what waits and how to answer', () => {
    const msg = composeApprovalRequest(view);
    expect(msg.subject).toBe('[ecs-ami-pipeline prod] APPROVAL NEEDED: wave prod of run weekly-2026-01-05');
    expect(msg.attributes).toEqual({ status: APPROVAL_NEEDED_STATUS, stage: 'prod', step: 'approval' });
    expect(APPROVAL_NEEDED_STATUS).toBe('APPROVAL_NEEDED');
    const lines = msg.message.split('\n');
    expect(lines[0]).toBe(`Wave prod of run weekly-2026-01-05 waits for a person before it rolls ${NEW} to 2 clusters.`);
    expect(lines).toContain('  ami-pipeline approve weekly-2026-01-05 --stage prod');
    expect(lines).toContain('  ami-pipeline reject weekly-2026-01-05 --stage prod --reason "why"');
    expect(lines).toContain('  prod-a (prod-a-cluster)');
    expect(lines).toContain('  prod-b (prod-b-cluster)');
    expect(lines).toContain(`Answer by:     ${at(24 * 3600).toISOString()} (no answer by then counts as a rejection)`);
    expect(lines).toContain(`Image:         ${NEW} (base ami-0base0000000000000, al2023-ami-ecs-hvm-2023.0.20260101)`);
    expect(lines).toContain('Requested by:  not given');
    expect(lines).toContain('  dev: 1/1 clusters confirmed, soaked 30 min (PASSED)');
    expect(lines).toContain(`Execution: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXEC}`);
  });

  it('names one cluster in the singular and leaves out earlier waves when there were none', () => {
    const msg = composeApprovalRequest({ ...view, clusters: [target('prod-a')], earlierWaves: [], requestedBy: 'alice', reason: 'CVE-2026-1234' });
    expect(msg.message).toContain(`rolls ${NEW} to 1 cluster.`);
    expect(msg.message).not.toContain('Earlier waves');
    expect(msg.message).toContain('Requested by:  alice: CVE-2026-1234');
  });

  it('keeps the subject under 100 characters for a long wave name', () => {
    const msg = composeApprovalRequest({ ...view, wave: 'w'.repeat(120) });
    expect(msg.subject.length).toBeLessThan(100);
    expect(msg.subject.startsWith('[ecs-ami-pipeline prod] APPROVAL NEEDED: wave www')).toBe(true);
  });

  it('property: subject under 100 characters with APPROVAL NEEDED, commands naming the run and stage, and no token even when the object carries one', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/);
    fc.assert(
      fc.property(
        name,
        fc.constantFrom('dev', 'staging', 'prod', 'prod-eu'),
        name,
        fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,40}$/), { minLength: 1, maxLength: 5 }),
        fc.option(fc.string({ maxLength: 80 }), { nil: null }),
        fc.stringMatching(/^AQ[A-Za-z0-9+/]{80,120}$/),
        (run, stage, wave, stacks, reason, token) => {
          const executionArn = `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-${stage}:${run}`;
          const waiting: ApprovalWaiting = {
            executionArn,
            wave,
            amiId: NEW,
            clusters: stacks,
            token,
            requestedAt: T0.toISOString(),
            expiresAt: at(3600).toISOString(),
          };
          // What reaches composeApprovalRequest, with the waiting item's fields (the token too) on it.
          const carrying = { ...waiting, ...view, stage, executionArn, wave, clusters: stacks.map(target), reason, requestedAt: T0, expiresAt: at(3600) };
          const msg = composeApprovalRequest(carrying);
          expect(msg.subject.length).toBeLessThan(100);
          expect(msg.subject).toContain('APPROVAL NEEDED');
          expect(msg.message).toContain(`  ami-pipeline approve ${run} --stage ${stage}\n`);
          expect(msg.message).toContain(`  ami-pipeline reject ${run} --stage ${stage} --reason "why"\n`);
          expect(msg.attributes).toEqual({ status: 'APPROVAL_NEEDED', stage, step: 'approval' });
          const everything = JSON.stringify(msg);
          expect(everything).not.toContain(token);
        },
      ),
    );
  });
});
