/**
 * The wave gates' functions against mocked AWS clients: request-approval (ledger item, ops message),
 * check-soak (alarms, services, the rollout it hands back), assess-wave's not-approved path, and the
 * approvals adapter (functions/lib/aws/approvals.ts).
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, ECSClient, ListServicesCommand } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { assess } from '../../../functions/assess-wave/handler';
import { checkSoak, type CheckSoakEvent } from '../../../functions/check-soak/handler';
import { claimAnswer, readApprovalWaiting, releaseClaim } from '../../../functions/lib/aws/approvals';
import type { ClusterTarget, Wave } from '../../../functions/lib/contracts';
import type { ApprovalAnswer, ApprovalWaiting, SoakSettings } from '../../../functions/lib/contracts/gates';
import type { ClusterResult, RolloutState } from '../../../functions/lib/decisions/rollout';
import { handler as requestApproval, type RequestApprovalEvent } from '../../../functions/request-approval/handler';
import { caught, freezeTime, useEnv } from './env';

const ddbMock = mockClient(DynamoDBClient);
const snsMock = mockClient(SNSClient);
const cloudwatchMock = mockClient(CloudWatchClient);
const ecsMock = mockClient(ECSClient);

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ecs-ami-pipeline-prod-ops';
const TABLE = 'ecs-ami-pipeline-prod-runs';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-2026-01-05';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAS3cr3tT0k3nDoNotLeakThisValue0123456789abcdefABCDEF+/==';
const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const OLDER = 'ami-0cccccccccccccccc';
const NOW_ISO = '2026-01-05T09:00:00.000Z';

useEnv({
  AWS_REGION: 'eu-west-1',
  STAGE: 'prod',
  SERVICE_NAME: 'ecs-ami-pipeline',
  NOTIFICATION_TOPIC_ARN: TOPIC,
  RUN_LEDGER_TABLE: TABLE,
  APPROVAL_TIMEOUT_HOURS: undefined,
  CHAT_NOTIFICATIONS: undefined,
});

const target = (stackName: string): ClusterTarget => ({ stackName, clusterName: `${stackName}-cluster`, imageParameter: 'ApplicationImageId' });
const rolled = (stackName: string, confirmedAmiId?: string): ClusterResult => ({
  stackName,
  clusterName: `${stackName}-cluster`,
  status: 'ROLLED',
  ending: 'rolled',
  step: 'registration',
  amiId: NEW,
  ...(confirmedAmiId ? { confirmedAmiId, previousAmiId: confirmedAmiId } : {}),
  leftOn: NEW,
  finishedAt: '2026-01-05T08:20:00.000Z',
});

let calls: string[] = [];

beforeEach(() => {
  ddbMock.reset();
  snsMock.reset();
  cloudwatchMock.reset();
  ecsMock.reset();
  calls = [];
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  ddbMock.restore();
  snsMock.restore();
  cloudwatchMock.restore();
  ecsMock.restore();
});

// ---------------------------------------------------------------------------------------------

describe('request-approval handler', () => {
  const event: RequestApprovalEvent = {
    token: TOKEN,
    executionArn: EXEC,
    wave: { name: 'prod', clusters: [target('prod-a'), target('prod-b')], requireApproval: true },
    amiId: NEW,
    baseAmi: { id: 'ami-0base0000000000000', name: 'al2023-ami-ecs-hvm-2023.0.20260101' },
    audit: { trigger: 'weekly', requestedBy: null, reason: null, runId: 'weekly-2026-01-05' },
    timeoutSeconds: 86_400,
    rollout: {
      nextWave: 1,
      status: 'IN_PROGRESS',
      waves: [
        {
          name: 'dev',
          results: [rolled('dev', OLD)],
          soak: { status: 'PASSED', startedAt: '2026-01-05T08:20:00.000Z', endedAt: '2026-01-05T08:50:00.000Z', checks: 31, problems: [] },
        },
      ],
    },
  };

  beforeEach(() => {
    ddbMock.on(PutItemCommand).callsFake(() => {
      calls.push('put');
      return {};
    });
    snsMock.on(PublishCommand).callsFake(() => {
      calls.push('publish');
      return { MessageId: 'message-7' };
    });
  });

  const ttl = (expiresIso: string) => String(Date.parse(expiresIso) / 1000 + 30 * 24 * 3600);

  it('stores the token in the ledger item approval#<execution>, with a TTL, before it tells ops', async () => {
    freezeTime(NOW_ISO);
    await expect(requestApproval(event)).resolves.toEqual({ waiting: true, expiresAt: '2026-01-06T09:00:00.000Z', messageId: 'message-7' });
    expect(calls).toEqual(['put', 'publish']);
    expect(ddbMock).toHaveReceivedCommandTimes(PutItemCommand, 1);
    const put = ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(put.TableName).toBe(TABLE);
    expect(put.Item).toEqual({
      pk: { S: `approval#${EXEC}` },
      executionArn: { S: EXEC },
      wave: { S: 'prod' },
      amiId: { S: NEW },
      clusters: { S: '["prod-a","prod-b"]' },
      token: { S: TOKEN },
      requestedAt: { S: NOW_ISO },
      expiresAtIso: { S: '2026-01-06T09:00:00.000Z' },
      expiresAt: { N: ttl('2026-01-06T09:00:00.000Z') },
    });
    // DynamoDB's TTL reads whole epoch seconds.
    expect(Number.isInteger(Number(put.Item!.expiresAt!.N))).toBe(true);
  });

  it('publishes one message with status APPROVAL_NEEDED and without the token', async () => {
    freezeTime(NOW_ISO);
    await requestApproval(event);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = snsMock.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.TopicArn).toBe(TOPIC);
    expect(input.Subject).toBe('[ecs-ami-pipeline prod] APPROVAL NEEDED: wave prod of run weekly-2026-01-05');
    expect(input.MessageAttributes).toEqual({
      status: { DataType: 'String', StringValue: 'APPROVAL_NEEDED' },
      stage: { DataType: 'String', StringValue: 'prod' },
      step: { DataType: 'String', StringValue: 'approval' },
    });
    expect(input.Message).toContain('  ami-pipeline approve weekly-2026-01-05 --stage prod');
    expect(input.Message).toContain('  dev: 1/1 clusters confirmed, soaked 30 min (PASSED)');
    expect(input.Message).toContain('Answer by:     2026-01-06T09:00:00.000Z');
    expect(input.Message).not.toContain(TOKEN);
    expect(input.Subject).not.toContain(TOKEN);
    expect(JSON.stringify(input)).not.toContain(TOKEN);
  });

  it('keeps the token out of the chat form of the message too', async () => {
    process.env.CHAT_NOTIFICATIONS = 'true';
    freezeTime(NOW_ISO);
    await requestApproval(event);
    const input = snsMock.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.MessageStructure).toBe('json');
    expect(Object.keys(JSON.parse(input.Message!) as object).sort()).toEqual(['default', 'https']);
    expect(input.Message).not.toContain(TOKEN);
  });

  it('waits as long as the task\'s own timeout (the plan\'s approvalTimeoutSeconds), so the message names Step Functions\' deadline', async () => {
    freezeTime(NOW_ISO);
    await expect(requestApproval({ ...event, timeoutSeconds: 7200 })).resolves.toMatchObject({ expiresAt: '2026-01-05T11:00:00.000Z' });
    const put = ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(put.Item!.expiresAtIso).toEqual({ S: '2026-01-05T11:00:00.000Z' });
    expect(put.Item!.expiresAt).toEqual({ N: ttl('2026-01-05T11:00:00.000Z') });
    expect(snsMock.commandCalls(PublishCommand)[0]!.args[0].input.Message).toContain('Answer by:     2026-01-05T11:00:00.000Z');
  });

  it.each([0, -3, 1.5, undefined])('refuses a timeoutSeconds of %s before writing or sending anything', async (value) => {
    const error = await caught(requestApproval({ ...event, timeoutSeconds: value as number }));
    expect(error.message).toContain('timeoutSeconds');
    expect(ddbMock).toHaveReceivedCommandTimes(PutItemCommand, 0);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('check-soak', () => {
  const SOAK: SoakSettings = { minutes: 30, alarms: ['api-5xx', 'api-latency'], checkServices: true, checkEverySeconds: 60 };
  const WAVE: Wave = { name: 'prod', clusters: [target('prod-a'), target('prod-b'), target('prod-c')], soak: SOAK };
  const ROLLOUT: RolloutState = {
    nextWave: 2,
    status: 'COMPLETE',
    waves: [
      { name: 'dev', results: [rolled('dev', OLD)] },
      // prod-c was on the new image already: it has nothing to go back to.
      { name: 'prod', results: [rolled('prod-a', OLD), rolled('prod-b', OLDER), rolled('prod-c', NEW)] },
    ],
    soak: { status: 'STARTING' },
  };
  const event = (extra: Partial<CheckSoakEvent> = {}): CheckSoakEvent => ({ executionArn: EXEC, wave: WAVE, rollout: ROLLOUT, ...extra });
  const NOW = new Date('2026-01-05T10:00:00.000Z');

  const servicesOf: Record<string, number> = { 'prod-a-cluster': 23, 'prod-b-cluster': 1, 'prod-c-cluster': 0 };
  const arn = (cluster: string, i: number) => `arn:aws:ecs:eu-west-1:123456789012:service/${cluster}/svc-${i}`;
  let running: (cluster: string, name: string) => number;

  function alarms(states: Record<string, string>) {
    cloudwatchMock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: Object.entries(states)
        .filter(([name]) => name !== 'composite')
        .map(([AlarmName, StateValue]) => ({ AlarmName, StateValue: StateValue as 'OK', StateReason: `${AlarmName} is ${StateValue}` })),
      CompositeAlarms: [],
    });
  }

  beforeEach(() => {
    running = () => 2;
    alarms({ 'api-5xx': 'OK', 'api-latency': 'INSUFFICIENT_DATA' });
    // ListServices pages of 10, as ECS returns them by default.
    ecsMock.on(ListServicesCommand).callsFake((input: { cluster: string; nextToken?: string }) => {
      const all = Array.from({ length: servicesOf[input.cluster] ?? 0 }, (_, i) => arn(input.cluster, i));
      const from = input.nextToken ? Number(input.nextToken) : 0;
      const page = all.slice(from, from + 10);
      return { serviceArns: page, ...(from + 10 < all.length ? { nextToken: String(from + 10) } : {}) };
    });
    ecsMock.on(DescribeServicesCommand).callsFake((input: { cluster: string; services: string[] }) => ({
      services: input.services.map((serviceArn) => {
        const serviceName = serviceArn.split('/').pop()!;
        return { serviceArn, serviceName, status: 'ACTIVE', desiredCount: 2, runningCount: running(input.cluster, serviceName) };
      }),
      failures: [],
    }));
  });

  it("reads the wave's alarms and every service of its clusters, and hands back the rollout with the soak's progress", async () => {
    const out = await checkSoak(event(), NOW);

    expect(cloudwatchMock).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
    expect(cloudwatchMock.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).toMatchObject({ AlarmNames: ['api-5xx', 'api-latency'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });

    const listed = ecsMock.commandCalls(ListServicesCommand).map((c) => c.args[0].input.cluster);
    expect([...new Set(listed)]).toEqual(['prod-a-cluster', 'prod-b-cluster', 'prod-c-cluster']);
    expect(listed.filter((c) => c === 'prod-a-cluster')).toHaveLength(3); // 23 services in pages of 10

    const described = ecsMock.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input);
    expect(described.map((d) => [d.cluster, d.services!.length])).toEqual([
      ['prod-a-cluster', 10],
      ['prod-a-cluster', 10],
      ['prod-a-cluster', 3],
      ['prod-b-cluster', 1],
    ]);
    for (const d of described) expect(d.services!.length).toBeLessThanOrEqual(10);
    // Every service of prod-a described exactly once.
    expect(described.filter((d) => d.cluster === 'prod-a-cluster').flatMap((d) => d.services).sort()).toEqual(Array.from({ length: 23 }, (_, i) => arn('prod-a-cluster', i)).sort());

    expect(out).toEqual({
      ...ROLLOUT,
      soak: {
        status: 'SOAKING',
        startedAt: NOW.toISOString(),
        endsAt: '2026-01-05T10:30:00.000Z',
        checks: 1,
        checkedAt: NOW.toISOString(),
        belowDesired: [],
        nextCheckSeconds: 60,
        problems: [],
        lastCheck: 'api-5xx OK, api-latency INSUFFICIENT_DATA; 24/24 services at their desired count',
      },
    });
    expect(out).not.toHaveProperty('soakRollBack');
  });

  it('remembers a service below its desired count and fails the soak when it is still below at the next check', async () => {
    running = (cluster, name) => (cluster === 'prod-a-cluster' && name === 'svc-17' ? 1 : 2);
    const first = await checkSoak(event(), NOW);
    expect(first.soak).toMatchObject({ status: 'SOAKING', belowDesired: ['prod-a-cluster/svc-17'] });
    const second = await checkSoak(event({ rollout: first }), new Date('2026-01-05T10:01:00.000Z'));
    expect(second.soak).toMatchObject({ status: 'FAILED', checks: 2, problems: ['service svc-17 on prod-a-cluster runs 1 of 2 desired tasks at two checks in a row'] });
    expect(second.soakRollBack!.map((i) => i.target.stackName)).toEqual(['prod-a', 'prod-b']);
  });

  it("names the wave's ROLLED clusters with their confirmed image to put back when an alarm is ALARM", async () => {
    alarms({ 'api-5xx': 'ALARM', 'api-latency': 'OK' });
    const previous: RolloutState = {
      ...ROLLOUT,
      soak: { status: 'SOAKING', startedAt: '2026-01-05T09:50:00.000Z', checks: 10, belowDesired: [], nextCheckSeconds: 60 },
    };
    const out = await checkSoak(event({ rollout: previous }), NOW);
    expect(out.soak).toMatchObject({ status: 'FAILED', checks: 11, startedAt: '2026-01-05T09:50:00.000Z', problems: ['alarm api-5xx is ALARM: api-5xx is ALARM'] });
    expect(out.soakRollBack).toEqual([
      { target: target('prod-a'), amiId: OLD, since: NOW.toISOString(), copyOf: null },
      { target: target('prod-b'), amiId: OLDER, since: NOW.toISOString(), copyOf: null },
    ]);
    expect(out.waves[1]!.soak).toEqual({
      status: 'FAILED',
      startedAt: '2026-01-05T09:50:00.000Z',
      endedAt: NOW.toISOString(),
      checks: 11,
      problems: ['alarm api-5xx is ALARM: api-5xx is ALARM'],
    });
    expect(out.waves[0]).toEqual(ROLLOUT.waves[0]);
    expect(out.status).toBe('COMPLETE');
  });

  it('fails the soak when a watched alarm is gone', async () => {
    alarms({ 'api-5xx': 'OK' });
    const out = await checkSoak(event(), NOW);
    expect(out.soak).toMatchObject({ status: 'FAILED', problems: ['alarm api-latency does not exist any more; the soak cannot watch it'] });
    expect(out.soakRollBack).toHaveLength(2);
  });

  it('passes at the end, keeping the soak on the wave and nothing to put back', async () => {
    const previous: RolloutState = { ...ROLLOUT, soak: { status: 'SOAKING', startedAt: '2026-01-05T09:30:00.000Z', checks: 30, belowDesired: [] } };
    const out = await checkSoak(event({ rollout: previous }), NOW);
    expect(out.soak!.status).toBe('PASSED');
    expect(out.soakRollBack).toBeUndefined();
    expect(out.waves[1]!.soak).toEqual({ status: 'PASSED', startedAt: '2026-01-05T09:30:00.000Z', endedAt: NOW.toISOString(), checks: 31, problems: [] });
  });

  it('skips services that are not ACTIVE', async () => {
    ecsMock.on(DescribeServicesCommand).callsFake((input: { cluster: string; services: string[] }) => ({
      services: input.services.map((serviceArn, i) => ({ serviceArn, serviceName: `s${i}`, status: i === 0 ? 'DRAINING' : 'ACTIVE', desiredCount: 2, runningCount: i === 0 ? 0 : 2 })),
    }));
    const out = await checkSoak(event(), NOW);
    expect(out.soak!.lastCheck).toBe('api-5xx OK, api-latency INSUFFICIENT_DATA; 20/20 services at their desired count');
  });

  it('reads no service when checkServices is off', async () => {
    const wave: Wave = { ...WAVE, soak: { ...SOAK, checkServices: false } };
    const out = await checkSoak(event({ wave }), NOW);
    expect(ecsMock).toHaveReceivedCommandTimes(ListServicesCommand, 0);
    expect(ecsMock).toHaveReceivedCommandTimes(DescribeServicesCommand, 0);
    expect(out.soak!.lastCheck).toBe('api-5xx OK, api-latency INSUFFICIENT_DATA; services not checked');
  });

  it('reads no alarm when the soak watches none', async () => {
    const wave: Wave = { ...WAVE, soak: { ...SOAK, alarms: [] } };
    const out = await checkSoak(event({ wave }), NOW);
    expect(cloudwatchMock).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 0);
    expect(out.soak!.status).toBe('SOAKING');
  });

  it('throws a ConfigurationError for a wave without a soak, reading nothing', async () => {
    const wave: Wave = { name: 'prod', clusters: WAVE.clusters };
    const error = await caught(checkSoak(event({ wave }), NOW));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('wave prod has no soak');
    expect(cloudwatchMock).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 0);
    expect(ecsMock).toHaveReceivedCommandTimes(ListServicesCommand, 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('assess-wave: a wave that was not approved', () => {
  const WAVE: Wave = { name: 'prod', clusters: [target('prod-a')], requireApproval: true };
  const PREVIOUS: RolloutState = { nextWave: 1, status: 'IN_PROGRESS', waves: [{ name: 'dev', results: [rolled('dev', OLD)] }] };
  const NOW = new Date('2026-01-06T09:00:00.000Z');
  const notApproved = (approval: unknown, timeoutSeconds = 86_400) =>
    assess({ kind: 'not-approved', executionArn: EXEC, rollout: PREVIOUS, wave: WAVE, approval, timeoutSeconds }, NOW);

  it('records a time-out as TIMED_OUT, naming the timeout in hours', () => {
    expect(notApproved({ decision: 'TIMED_OUT' })).toEqual({
      nextWave: 1,
      status: 'NOT_APPROVED',
      waves: [
        PREVIOUS.waves[0],
        { name: 'prod', results: [], approval: { decision: 'TIMED_OUT', by: null, reason: 'nobody answered within 24 hours', at: NOW.toISOString(), wave: 'prod' } },
      ],
    });
    expect(notApproved({ decision: 'TIMED_OUT' }, 7200).waves[1]!.approval!.reason).toBe('nobody answered within 2 hours');
  });

  it('records a rejection as it was answered', () => {
    const answer: ApprovalAnswer = { decision: 'REJECTED', by: 'arn:aws:sts::123456789012:assumed-role/ops/bob', reason: 'change freeze', at: '2026-01-05T15:00:00.000Z', wave: 'prod' };
    expect(notApproved(answer).waves[1]).toEqual({ name: 'prod', results: [], approval: answer });
  });

  it('still records an answer that says APPROVED as not approved', () => {
    const state = notApproved({ decision: 'APPROVED', by: 'arn:aws:sts::123456789012:assumed-role/ops/alice', reason: 'ok', at: '2026-01-05T15:00:00.000Z' });
    expect(state.status).toBe('NOT_APPROVED');
    expect(state.nextWave).toBe(1);
    expect(state.waves[1]!.approval).toEqual({ decision: 'REJECTED', by: 'arn:aws:sts::123456789012:assumed-role/ops/alice', reason: 'ok', at: '2026-01-05T15:00:00.000Z', wave: 'prod' });
  });

  it('records an answer it does not understand as a rejection quoting it', () => {
    expect(notApproved('yes please').waves[1]!.approval).toEqual({
      decision: 'REJECTED',
      by: null,
      reason: 'the answer was not an approval the pipeline understands: "yes please"',
      at: NOW.toISOString(),
      wave: 'prod',
    });
  });

  it('keeps the approval on a wave that rolled', () => {
    const answer: ApprovalAnswer = { decision: 'APPROVED', by: 'arn:aws:sts::123456789012:assumed-role/ops/alice', reason: null, at: '2026-01-05T15:00:00.000Z', wave: 'prod' };
    const state = assess(
      {
        executionArn: EXEC,
        rollout: PREVIOUS,
        wave: WAVE,
        totalWaves: 2,
        approval: answer,
        results: [
          {
            stackName: 'prod-a',
            clusterName: 'prod-a-cluster',
            amiId: NEW,
            outcome: { ending: 'rolled', step: 'registration' },
            baseline: { amiId: OLD },
            update: { previousAmiId: OLD, changed: true },
            registration: null,
            rollbackRegistration: null,
            error: null,
            rollbackError: null,
          },
        ],
      },
      NOW,
    );
    expect(state.status).toBe('COMPLETE');
    expect(state.waves[1]!.approval).toEqual(answer);
  });
});

// ---------------------------------------------------------------------------------------------

describe('approvals adapter', () => {
  const WAITING: ApprovalWaiting = {
    executionArn: EXEC,
    wave: 'prod',
    amiId: NEW,
    clusters: ['prod-a', 'prod-b'],
    token: TOKEN,
    requestedAt: NOW_ISO,
    expiresAt: '2026-01-06T09:00:00.000Z',
  };
  const ANSWER: ApprovalAnswer = { decision: 'APPROVED', by: 'arn:aws:sts::123456789012:assumed-role/ops/alice', reason: null, at: '2026-01-05T10:00:00.000Z', wave: 'prod' };
  const EARLIER: ApprovalAnswer = { decision: 'REJECTED', by: 'arn:aws:sts::123456789012:assumed-role/ops/bob', reason: 'change freeze', at: '2026-01-05T09:59:00.000Z', wave: 'prod' };
  const item = (answer?: ApprovalAnswer) => ({
    pk: { S: `approval#${EXEC}` },
    executionArn: { S: EXEC },
    wave: { S: 'prod' },
    amiId: { S: NEW },
    clusters: { S: '["prod-a","prod-b"]' },
    token: { S: TOKEN },
    requestedAt: { S: NOW_ISO },
    expiresAtIso: { S: '2026-01-06T09:00:00.000Z' },
    ...(answer ? { answer: { S: JSON.stringify(answer) } } : {}),
  });
  const ddb = new DynamoDBClient({ region: 'eu-west-1' });
  const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

  /** Every attribute name and value an expression set uses is declared, every declared one is used, and no reserved word appears bare. */
  function expectWellFormed(input: UpdateItemCommandInput) {
    const text = `${input.UpdateExpression} ${input.ConditionExpression ?? ''}`;
    const names = Object.keys(input.ExpressionAttributeNames ?? {});
    const values = Object.keys(input.ExpressionAttributeValues ?? {});
    for (const used of text.match(/[#:][A-Za-z0-9_]+/g) ?? []) expect([...names, ...values]).toContain(used);
    for (const declared of [...names, ...values]) expect(text).toContain(declared);
    const bare = text.replace(/[#:][A-Za-z0-9_]+/g, ' ');
    expect(bare).not.toMatch(/\btoken\b/);
    expect(bare).not.toMatch(/\banswer\b/);
  }

  it('claims the answer with a conditional update on the token read, naming token and answer through ExpressionAttributeNames', async () => {
    ddbMock.on(UpdateItemCommand).resolves({});
    await expect(claimAnswer(ddb, TABLE, WAITING, ANSWER)).resolves.toEqual({ claimed: true });
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    const input = ddbMock.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(input).toEqual({
      TableName: TABLE,
      Key: { pk: { S: `approval#${EXEC}` } },
      UpdateExpression: 'SET #answer = :answer',
      ConditionExpression: 'attribute_not_exists(#answer) AND #token = :token',
      ExpressionAttributeNames: { '#answer': 'answer', '#token': 'token' },
      ExpressionAttributeValues: { ':answer': { S: JSON.stringify(ANSWER) }, ':token': { S: TOKEN } },
    });
    expectWellFormed(input);
    expect(ddbMock).toHaveReceivedCommandTimes(GetItemCommand, 0);
  });

  it('on ConditionalCheckFailedException, does not claim and names the earlier answer, read strongly consistent', async () => {
    ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
    ddbMock.on(GetItemCommand).resolves({ Item: item(EARLIER) });
    await expect(claimAnswer(ddb, TABLE, WAITING, ANSWER)).resolves.toEqual({ claimed: false, earlier: EARLIER });
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: { pk: { S: `approval#${EXEC}` } }, ConsistentRead: true });
  });

  it('on ConditionalCheckFailedException without an earlier answer (a newer token), does not claim and names none', async () => {
    ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
    ddbMock.on(GetItemCommand).resolves({ Item: { ...item(), token: { S: 'a-newer-token' } } });
    await expect(claimAnswer(ddb, TABLE, WAITING, ANSWER)).resolves.toEqual({ claimed: false, earlier: undefined });
  });

  it('also recognises the condition failure by its name alone', async () => {
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));
    ddbMock.on(GetItemCommand).resolves({ Item: item(EARLIER) });
    await expect(claimAnswer(ddb, TABLE, WAITING, ANSWER)).resolves.toEqual({ claimed: false, earlier: EARLIER });
  });

  it('lets any other error through', async () => {
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const error = await caught(claimAnswer(ddb, TABLE, WAITING, ANSWER));
    expect(error.name).toBe('AccessDeniedException');
    expect(ddbMock).toHaveReceivedCommandTimes(GetItemCommand, 0);
  });

  it('gives a claim back only for the token it claimed with', async () => {
    ddbMock.on(UpdateItemCommand).resolves({});
    await releaseClaim(ddb, TABLE, WAITING);
    const input = ddbMock.commandCalls(UpdateItemCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ UpdateExpression: 'REMOVE #answer', ConditionExpression: '#token = :token', ExpressionAttributeValues: { ':token': { S: TOKEN } } });
    expectWellFormed(input);
  });

  it('reads the waiting approval back, with its answer', async () => {
    ddbMock.on(GetItemCommand).resolves({ Item: item(EARLIER) });
    await expect(readApprovalWaiting(ddb, TABLE, EXEC)).resolves.toEqual({ ...WAITING, answer: EARLIER });
    ddbMock.on(GetItemCommand).resolves({});
    await expect(readApprovalWaiting(ddb, TABLE, EXEC)).resolves.toBeUndefined();
  });
});
