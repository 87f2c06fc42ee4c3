import { PassThrough } from 'node:stream';
import { InvalidRequestError } from '../../functions/lib/contracts/errors';
import { formatCheck } from '../../cli/commands/check';
import { CliError, NO_CREDENTIALS, describeError } from '../../cli/errors';
import { formatHistory, formatRefusals, promotionsFrom, refusalsFrom } from '../../cli/history-report';
import { clusterList } from '../../cli/options';
import { confirm, describeRequest, formatEnd, manualExecutionName } from '../../cli/start-run';
import { formatStatus, groupInstances, rebuildOf, type StatusReport } from '../../cli/status-report';
import type { BaseAmiCheckState } from '../../functions/lib/decisions/base-ami-check';
import { colorWanted, createStyle } from '../../cli/style';
import { table, visibleLength } from '../../cli/text';
import { formatAge, formatTime } from '../../cli/time';

const plain = createStyle(false);
const NOW = new Date('2026-11-26T12:00:00Z');
const CURRENT = 'ami-0d0d0d0d0d0d0d0d0';
const LATEST = 'ami-0e0e0e0e0e0e0e0e0';
const OLD = 'ami-0a0a0a0a0a0a0a0a0';
const BASE = 'ami-0b0b0b0b0b0b0b0b0';
const NEW_BASE = 'ami-0c0c0c0c0c0c0c0c0';
const EXEC = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;

describe('groupInstances', () => {
  const instance = (amiId: string | undefined, status = 'ACTIVE', agentConnected = true) => ({ arn: 'x', status, agentConnected, amiId });

  it('counts instances per AMI, status and agent, current image first; deregistered ones are gone', () => {
    expect(
      groupInstances(
        [
          instance(OLD, 'DRAINING'),
          instance(CURRENT),
          instance(LATEST),
          instance(CURRENT),
          instance(CURRENT, 'ACTIVE', false),
          instance(OLD, 'INACTIVE'),
          instance(undefined, 'REGISTERING', false),
        ],
        CURRENT,
        LATEST,
      ),
    ).toEqual([
      { amiId: CURRENT, image: 'current', status: 'ACTIVE', agentConnected: true, count: 2 },
      { amiId: CURRENT, image: 'current', status: 'ACTIVE', agentConnected: false, count: 1 },
      { amiId: LATEST, image: 'latest', status: 'ACTIVE', agentConnected: true, count: 1 },
      { amiId: null, image: 'other', status: 'REGISTERING', agentConnected: false, count: 1 },
      { amiId: OLD, image: 'other', status: 'DRAINING', agentConnected: true, count: 1 },
    ]);
  });
});

describe('rebuildOf', () => {
  const state = (newest: string, current: string | undefined, extra: Partial<BaseAmiCheckState> = {}): BaseAmiCheckState => ({
    recommended: { imageId: newest },
    currentBaseAmiId: current,
    now: NOW,
    maxAttempts: 3,
    ...extra,
  });
  const holder = { executionArn: EXEC('weekly-1'), alive: true };
  const attempts = (n: number, lastStartedAt: string) => ({ baseAmiId: NEW_BASE, attempts: n, lastStartedAt, lastExecutionArn: EXEC(`base-${n}`) });

  it('is due when the newest base differs from the current one', () => {
    expect(rebuildOf(state(NEW_BASE, BASE))).toEqual({ due: true, reason: `the newest base ${NEW_BASE} differs from the current base ${BASE}` });
    expect(rebuildOf(state(NEW_BASE, undefined))).toEqual({ due: true, reason: 'no image has been promoted yet' });
  });
  it('is due but waits while a live run holds the fleet, like the scheduled check', () => {
    expect(rebuildOf(state(NEW_BASE, BASE, { holder }))).toEqual({
      due: true,
      reason: 'a new base is out; run weekly-1 holds the fleet, a later check starts the rebuild',
      runningExecutionArn: EXEC('weekly-1'),
    });
    // a dead holder does not hold anything up
    expect(rebuildOf(state(NEW_BASE, BASE, { holder: { ...holder, alive: false } }))).not.toHaveProperty('runningExecutionArn');
  });
  it('is due but waits after a failed attempt, saying until when', () => {
    expect(rebuildOf(state(NEW_BASE, BASE, { attempts: attempts(1, '2026-11-26T11:30:00.000Z') }))).toEqual({
      due: true,
      reason: `1 run(s) for ${NEW_BASE} did not promote it; the check tries again after 2026-11-26T12:30:00.000Z`,
    });
  });
  it('is due, and says the check gave up, after the last attempt', () => {
    expect(rebuildOf(state(NEW_BASE, BASE, { attempts: attempts(3, '2026-11-01T00:00:00.000Z') }))).toEqual({
      due: true,
      reason: `3 run(s) for ${NEW_BASE} did not promote it; the check gave up: start a run once the cause is fixed`,
    });
  });
  it('is not due when the current image is built on the newest base, run or no run', () => {
    expect(rebuildOf(state(BASE, BASE, { holder }))).toEqual({ due: false, reason: `the current image is built on the newest base ${BASE}` });
  });
});

describe('formatStatus', () => {
  const report: StatusReport = {
    stage: 'prod',
    region: 'eu-west-1',
    parameterPrefix: '/ecs-ami-pipeline/prod',
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod',
    waiting: [],
    current: { amiId: CURRENT, name: 'ecs-ami-pipeline-prod-1', createdAt: '2026-11-20T10:00:00.000Z', promotedAt: '2026-11-20T11:30:00.000Z', executionArn: EXEC('manual-1'), reason: 'rollback' },
    latest: { amiId: LATEST, createdAt: '2026-11-26T09:00:00.000Z', recordedAt: '2026-11-26T09:10:00.000Z', executionArn: EXEC('weekly-2'), promoted: false },
    base: { amiId: BASE, name: 'al2023-ami-ecs-hvm-2023.0.20261101-kernel-6.1-x86_64' },
    newestBase: { amiId: NEW_BASE, parameter: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended' },
    rebuild: { due: true, reason: 'the newest base differs' },
    fleetLock: null,
    clusters: [
      {
        wave: 'one',
        stackName: 'a-ecs',
        clusterName: 'a',
        stack: { status: 'UPDATE_COMPLETE', imageId: CURRENT },
        clusterStatus: 'ACTIVE',
        confirmed: { amiId: CURRENT, purpose: 'rollout', runId: 'weekly-1', confirmedAt: '2026-11-20T11:00:00.000Z' },
        onCurrent: true,
        instances: [{ amiId: CURRENT, image: 'current', status: 'ACTIVE', agentConnected: true, count: 3 }],
      },
      {
        wave: 'one',
        stackName: 'b-ecs',
        clusterName: 'b',
        stack: { status: 'UPDATE_ROLLBACK_FAILED' },
        clusterStatus: 'ACTIVE',
        confirmed: { amiId: OLD, purpose: 'adopted', runId: 'manual-0', confirmedAt: '2026-11-01T11:00:00.000Z' },
        onCurrent: false,
        instances: [],
      },
      { wave: 'two', stackName: 'c-ecs', clusterName: 'c', stack: null, clusterStatus: 'INACTIVE', confirmed: null, onCurrent: false, instances: [] },
    ],
    executions: [{ name: 'weekly-2', executionArn: EXEC('weekly-2'), status: 'FAILED', result: 'ROLLED_BACK', startedAt: '2026-11-26T09:00:00.000Z', trigger: 'weekly' }],
    checkedAt: NOW.toISOString(),
  };
  const text = formatStatus(report, NOW, plain).split('\n');

  it('shows each image with its dates and who promoted or baked it', () => {
    expect(text).toContain(`  current      ${CURRENT}  ecs-ami-pipeline-prod-1  created 2026-11-20 10:00 UTC (6d ago)`);
    expect(text).toContain('               promoted 2026-11-20 11:30 UTC (6d ago) by manual-1 (rollback)');
    expect(text).toContain(`  latest       ${LATEST}  created 2026-11-26 09:00 UTC (3h ago)`);
    expect(text).toContain('               baked 2026-11-26 09:10 UTC (2h ago) by weekly-2; not promoted');
    expect(text).toContain('  rebuild      due: the newest base differs');
  });

  it('shows every cluster under its wave, with the stack and the instances', () => {
    const clusters = text.slice(text.indexOf('Clusters'), text.indexOf('Last runs') - 1);
    expect(clusters).toEqual([
      'Clusters',
      '  wave one',
      `    a-ecs → a  ·  stack UPDATE_COMPLETE on ${CURRENT}`,
      `      confirmed ${CURRENT} (rollout, run weekly-1)`,
      `      3 ×  ${CURRENT}  (current)  ACTIVE  agent connected`,
      '    b-ecs → b  ·  stack UPDATE_ROLLBACK_FAILED',
      `      confirmed ${OLD} (adopted, run manual-0)  not on current`,
      '      no container instances',
      '  wave two',
      '    c-ecs → c  ·  stack not found  ·  cluster INACTIVE',
      '      no confirmed image yet',
    ]);
  });

  it('says who holds the fleet, and when the holder has ended without letting go', () => {
    const lock = (ownerStatus: string) =>
      formatStatus({ ...report, fleetLock: { ownerExecutionArn: EXEC('weekly-3'), acquiredAt: '2026-11-26T10:00:00.000Z', ownerStatus } }, NOW, plain).split('\n');
    expect(lock('RUNNING')).toContain('  fleet held by weekly-3 since 2026-11-26 10:00 UTC (2h ago)');
    expect(lock('PENDING_REDRIVE')).toContain('  fleet held by weekly-3 since 2026-11-26 10:00 UTC (2h ago)');
    expect(lock('ABORTED')).toContain('  fleet held by weekly-3 since 2026-11-26 10:00 UTC (2h ago)  (ABORTED: the next run takes it over)');
    expect(text.some((l) => l.includes('fleet held by'))).toBe(false);
  });

  it('lists the last runs with their result', () => {
    expect(text.slice(-2)).toEqual(['  STARTED               RUN       TRIGGER  RESULT', '  2026-11-26 09:00 UTC  weekly-2  weekly   rolled back: new image not confirmed']);
  });

  it('says when nothing is there yet, and when the newest base could not be read', () => {
    const empty = formatStatus({ ...report, current: null, latest: null, base: null, newestBase: null, rebuild: { due: null, reason: 'unknown: no parameter' }, clusters: [], executions: [] }, NOW, plain);
    expect(empty).toMatch(/current +none\n +latest +none\n +base +none\n +newest base +none\n +rebuild +unknown: no parameter/);
    expect(empty).toContain('no cluster waves are configured for this stage');
    expect(empty).toContain('Last runs\n  none yet');
  });

  it('colours only with a colour style', () => {
    expect(text.join('\n')).not.toContain('\u001b[');
    expect(formatStatus(report, NOW, createStyle(true))).toContain('\u001b[');
  });

  it('shows a wave waiting for approval, and the two commands that answer it', () => {
    const waiting = [{ run: 'weekly-4', wave: 'prod', amiId: LATEST, clusters: ['prod-a-ecs', 'prod-b-ecs'], requestedAt: '2026-11-26T11:00:00.000Z', expiresAt: '2026-11-27T11:00:00.000Z' }];
    const text = formatStatus({ ...report, waiting }, NOW, plain);
    expect(text).toContain(`Waiting for approval\n  wave prod of run weekly-4: ${LATEST} to prod-a-ecs, prod-b-ecs, since 2026-11-26 11:00 UTC`);
    expect(text).toContain('ami-pipeline approve weekly-4 --stage prod   |   ami-pipeline reject weekly-4 --stage prod --reason "..."');
    expect(formatStatus(report, NOW, plain)).not.toContain('Waiting for approval');
  });
});

describe('promotionsFrom / formatHistory', () => {
  const record = (amiId: string, extra: object = {}) => JSON.stringify({ amiId, executionArn: EXEC('weekly-1'), promotedAt: '2026-11-01T05:00:00.000Z', reason: 'rollout', clusters: ['a-ecs'], ...extra });
  const versions = [
    { version: 1, value: record(OLD, { baseAmiId: BASE }), modifiedAt: new Date('2026-11-01T05:00:01Z') },
    { version: 3, value: 'edited by hand', modifiedAt: new Date('2026-11-10T08:00:00Z') },
    { version: 2, value: record(CURRENT, { previousAmiId: OLD, reason: 'rollback', promotedAt: undefined }), modifiedAt: new Date('2026-11-05T07:00:00Z') },
  ];

  it('reads each version newest first, keeping the ones it cannot read', () => {
    expect(promotionsFrom(versions)).toEqual([
      { version: 3, promotedAt: '2026-11-10T08:00:00.000Z', clusters: [], approvals: [], unreadable: 'edited by hand' },
      {
        version: 2,
        promotedAt: '2026-11-05T07:00:00.000Z',
        amiId: CURRENT,
        previousAmiId: OLD,
        baseAmiId: undefined,
        run: 'weekly-1',
        executionArn: EXEC('weekly-1'),
        reason: 'rollback',
        clusters: ['a-ecs'],
        approvals: [],
      },
      expect.objectContaining({ version: 1, amiId: OLD, baseAmiId: BASE, promotedAt: '2026-11-01T05:00:00.000Z' }),
    ]);
  });

  it('says who started the run that promoted, and why', () => {
    const record = { amiId: CURRENT, executionArn: 'arn:aws:states:eu-west-1:1:execution:m:manual-1', promotedAt: '2026-11-20T10:00:00.000Z', reason: 'rollout', clusters: ['a-ecs'], trigger: 'manual', requestedBy: 'arn:aws:sts::1:assumed-role/ops/alice', requestReason: 'CVE-2026-1234 kernel fix for the payment services, urgent' };
    const [promotion] = promotionsFrom([{ version: 1, value: JSON.stringify(record) }]);
    expect(promotion).toMatchObject({ trigger: 'manual', requestedBy: record.requestedBy, requestReason: record.requestReason });
    const row = formatHistory([promotion!], '/p', plain).split('\n')[1]!;
    expect(row).toContain('manual: arn:aws:sts::1:assumed-role/ops/alice');
    expect(row).toContain('CVE-2026-1234 kernel fix for the paym...');
  });

  it('prints one aligned row per promotion', () => {
    expect(formatHistory(promotionsFrom(versions), '/p', plain).split('\n')).toEqual([
      'PROMOTED              AMI                    BASE                   RUN       KIND      STARTED BY  WHY  APPROVED BY  REPLACED               CLUSTERS',
      '2026-11-10 08:00 UTC  version 3 is not a promotion record: edited by hand',
      `2026-11-05 07:00 UTC  ${CURRENT}  -                      weekly-1  rollback  -           -    -            ${OLD}  a-ecs`,
      `2026-11-01 05:00 UTC  ${OLD}  ${BASE}  weekly-1  rollout   -           -    -            -                      a-ecs`,
    ]);
    expect(formatHistory([], '/ecs-ami-pipeline/dev/ami/current/record', plain)).toBe('No promotion yet: /ecs-ami-pipeline/dev/ami/current/record has no history.');
  });
});

describe('refusalsFrom / formatRefusals and approvals in the history', () => {
  const refusal = (n: number, extra: object = {}) =>
    JSON.stringify({ executionArn: EXEC(`weekly-${n}`), wave: 'prod', amiId: CURRENT, decision: 'REJECTED', by: 'arn:aws:sts::1:assumed-role/ops/bob', reason: 'freeze', at: `2026-11-0${n}T10:00:00.000Z`, ...extra });

  it('lists the waves not approved newest first, skipping versions it cannot read', () => {
    const refusals = refusalsFrom([
      { version: 1, value: refusal(1) },
      { version: 2, value: 'not json' },
      { version: 3, value: refusal(3, { decision: 'TIMED_OUT', by: null, reason: 'nobody answered within 24 hours' }) },
    ]);
    expect(refusals.map((r) => [r.executionArn, r.decision])).toEqual([
      [EXEC('weekly-3'), 'TIMED_OUT'],
      [EXEC('weekly-1'), 'REJECTED'],
    ]);
    const lines = formatRefusals(refusals, plain).split('\n');
    expect(lines[0]).toBe('Waves not approved');
    expect(lines[2]).toContain('weekly-3  timed out  -');
    expect(lines[3]).toContain('weekly-1  rejected   arn:aws:sts::1:assumed-role/ops/bob  freeze');
    expect(formatRefusals([], plain)).toBe('');
  });

  it('names who approved each wave of the run that promoted', () => {
    const record = { amiId: CURRENT, executionArn: EXEC('weekly-9'), promotedAt: '2026-11-20T10:00:00.000Z', reason: 'rollout', clusters: ['a-ecs'], approvals: [{ wave: 'prod', by: 'arn:aws:sts::1:assumed-role/ops/alice', reason: 'ok', at: '2026-11-20T09:00:00.000Z' }] };
    const [promotion] = promotionsFrom([{ version: 1, value: JSON.stringify(record) }]);
    expect(formatHistory([promotion!], '/p', plain).split('\n')[1]).toContain('prod: arn:aws:sts::1:assumed-role/ops/alice');
  });
});

describe('formatCheck', () => {
  it('says what it found and what it did', () => {
    const text = formatCheck(
      { outcome: 'started', baseAmiId: NEW_BASE, baseAmiName: 'al2023-x', currentBaseAmiId: BASE, executionArn: EXEC(`base-ami-${NEW_BASE}`), message: 'new base AMI ...; started run base-ami-...' },
      plain,
    );
    expect(text.split('\n')).toEqual([
      `Newest ECS-optimized base: ${NEW_BASE} (al2023-x)`,
      `Current base:              ${BASE}`,
      '',
      'Started a run: new base AMI ...; started run base-ami-...',
      `Execution: ${EXEC(`base-ami-${NEW_BASE}`)}`,
    ]);
  });

  it('says when the check waits to retry, and when it waits for a person', () => {
    const result = (outcome: 'retry-later' | 'gave-up') =>
      formatCheck({ outcome, baseAmiId: NEW_BASE, attempts: 2, executionArn: EXEC('base-2'), message: 'm' }, plain).split('\n');
    expect(result('retry-later')).toEqual([`Newest ECS-optimized base: ${NEW_BASE}`, 'Current base:              none (nothing promoted yet)', '', 'Retry later: m', `Execution: ${EXEC('base-2')}`]);
    expect(result('gave-up')).toContain('Waiting for a person: m');
  });
});

describe('runs started from the CLI', () => {
  it('are named manual-<UTC date>-<time>-<random>, within Step Functions rules', () => {
    const name = manualExecutionName(new Date('2026-11-26T01:30:05.123Z'), 'a1b2c3');
    expect(name).toBe('manual-20261126-013005-a1b2c3');
    const random = manualExecutionName(new Date());
    expect(random).toMatch(/^manual-\d{8}-\d{6}-[0-9a-f]{6}$/);
    expect(random).not.toBe(manualExecutionName(new Date()));
    expect(manualExecutionName(NOW, 'x'.repeat(100))).toHaveLength(80);
  });

  it('are described in one line from the validated request', () => {
    const waves = [
      { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev', imageParameter: 'ApplicationImageId' }] },
      { name: 'prod', clusters: [{ stackName: 'p1', clusterName: 'p1', imageParameter: 'ApplicationImageId' }, { stackName: 'p2', clusterName: 'p2', imageParameter: 'ApplicationImageId' }] },
    ];
    expect(describeRequest({ trigger: 'manual' }, waves)).toBe('bake from the newest ECS-optimized base, then roll dev (dev-ecs) → prod (p1, p2)');
    expect(describeRequest({ trigger: 'manual', sourceAmi: BASE, dryRun: true }, waves)).toBe(`bake from ${BASE}, dry run: roll nothing`);
    expect(describeRequest({ trigger: 'manual', rollback: { toAmi: OLD } }, waves.slice(1))).toBe(`roll back to ${OLD} on prod (p1, p2)`);
  });

  it('end with the result, the last state and the cause', () => {
    expect(formatEnd({ status: 'FAILED', error: 'RolledBack', cause: 'A cluster did not confirm', lastState: 'Rolled back: new image not confirmed', elapsedMs: 842_000 }, 'ROLLED_BACK', plain)).toEqual([
      'Ended ROLLED_BACK after 14m 2s: Rolled back: new image not confirmed',
      '  A cluster did not confirm',
    ]);
    expect(formatEnd({ status: 'ABORTED', elapsedMs: 5000 }, 'ABORTED', plain)).toEqual(['Ended ABORTED after 5s: aborted']);
  });
});

describe('confirm', () => {
  it.each([
    ['y\n', true],
    ['YES\n', true],
    ['\n', false],
    ['no\n', false],
    ['yeah\n', false],
  ])('%j means %s', async (answer, expected) => {
    const input = new PassThrough();
    const output = new PassThrough();
    let asked = '';
    output.on('data', (chunk: Buffer) => (asked += chunk.toString()));
    const answered = confirm('Roll back?', input, output);
    input.end(answer);
    expect(await answered).toBe(expected);
    expect(asked).toBe('Roll back? [y/N] ');
  });
});

describe('describeError', () => {
  const named = (name: string, message: string, extra: object = {}) => Object.assign(new Error(message), { name }, extra);

  it.each([
    { error: new InvalidRequestError('sourceAmi', 'must be an AMI id'), message: 'invalid request: sourceAmi (--source-ami): must be an AMI id', exitCode: 4 },
    { error: new InvalidRequestError('clusters[2]', 'is unknown'), message: 'invalid request: clusters[2] (--clusters): is unknown', exitCode: 4 },
    { error: new InvalidRequestError('rollback.toAmi', 'none earlier'), message: 'invalid request: rollback.toAmi (--to): none earlier', exitCode: 4 },
    { error: new InvalidRequestError('waves', 'give either'), message: 'invalid request: waves: give either', exitCode: 4 },
    { error: named('CredentialsProviderError', 'Could not load credentials from any providers'), message: NO_CREDENTIALS, exitCode: 4 },
    { error: named('Error', 'Region is missing'), message: 'no AWS region: pass --region, or set AWS_REGION (or a region in your AWS profile)', exitCode: 4 },
    { error: named('ExpiredTokenException', 'The security token included in the request is expired'), message: 'AWS rejected the credentials (ExpiredTokenException: The security token included in the request is expired); refresh them (aws sso login) or check AWS_PROFILE', exitCode: 4 },
    { error: named('AccessDeniedException', 'User: x is not authorized to perform: ssm:GetParameter\non resource'), message: 'access denied: User: x is not authorized to perform: ssm:GetParameter; use a role allowed to operate the pipeline (AWS_PROFILE)', exitCode: 4 },
    { error: named('Error', 'connect ECONNREFUSED 127.0.0.1:4566', { code: 'ECONNREFUSED' }), message: 'cannot reach AWS (ECONNREFUSED connect ECONNREFUSED 127.0.0.1:4566); check the network, --region and --endpoint-url / AWS_ENDPOINT_URL', exitCode: 1 },
    { error: named('ThrottlingException', 'Rate exceeded\nmore'), message: 'ThrottlingException: Rate exceeded (run with --debug for details)', exitCode: 1 },
    { error: new CliError('stage "x" not found'), message: 'stage "x" not found', exitCode: 4 },
    { error: new CliError('gone', 3), message: 'gone', exitCode: 3 },
  ])('$message', ({ error, message, exitCode }) => {
    expect(describeError(error)).toEqual({ message, exitCode });
  });

  it('names the profile that gave no credentials', () => {
    expect(describeError(named('CredentialsProviderError', 'x'), 'ops').message).toBe(
      'no AWS credentials for profile "ops": check the name (aws configure list-profiles), or run aws configure / aws sso login',
    );
  });
});

describe('small helpers', () => {
  it('colorWanted: off with --no-color or NO_COLOR, forced with FORCE_COLOR, else only on a terminal', () => {
    expect(colorWanted(true, {}, true)).toBe(true);
    expect(colorWanted(true, {}, false)).toBe(false);
    expect(colorWanted(false, { FORCE_COLOR: '1' }, true)).toBe(false);
    expect(colorWanted(true, { NO_COLOR: '1' }, true)).toBe(false);
    expect(colorWanted(true, { FORCE_COLOR: '1' }, false)).toBe(true);
    expect(colorWanted(true, { FORCE_COLOR: '0' }, true)).toBe(false);
    expect(colorWanted(true, { TERM: 'dumb' }, true)).toBe(false);
  });

  it('table aligns on visible width, colour codes or not', () => {
    const bold = createStyle(true).bold;
    expect(table([[bold('ab'), 'x'], ['abcd', 'y']]).map((l) => l.replace(/\u001b\[\d+m/g, ''))).toEqual(['ab    x', 'abcd  y']);
    expect(table([['a', 'b', 'c'], ['aa', 'a long remark that does not widen the second column']])).toEqual(['a   b  c', 'aa  a long remark that does not widen the second column']);
    expect(visibleLength(bold('abc'))).toBe(3);
  });

  it('times are UTC with a coarse age', () => {
    expect(formatTime('2026-11-26T01:29:59.999Z')).toBe('2026-11-26 01:29 UTC');
    expect(formatTime(undefined)).toBe('-');
    expect(formatTime('not a date')).toBe('-');
    expect(formatAge('2026-11-26T11:59:30Z', NOW)).toBe('just now');
    expect(formatAge('2026-11-26T11:15:00Z', NOW)).toBe('45m ago');
    expect(formatAge('2026-11-25T00:00:00Z', NOW)).toBe('36h ago');
    expect(formatAge('2026-11-20T12:00:00Z', NOW)).toBe('6d ago');
  });

  it('--clusters keeps empty names for the request validation to name', () => {
    expect(clusterList('a, b')).toEqual(['a', 'b']);
    expect(clusterList('a,,b')).toEqual(['a', '', 'b']);
  });
});
