import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, GetParametersCommand, PutParameterCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { ClusterRecord } from '../../../functions/lib/contracts';
import type { RunPlan } from '../../../functions/lib/contracts/plan';
import type { RolloutState } from '../../../functions/lib/decisions/rollout';
import { handler, type PromoteAmiEvent } from '../../../functions/promote-ami/handler';
import { caught, freezeTime, unsetEnv, useEnv } from './env';

const ssmMock = mockClient(SSMClient);
const ec2Mock = mockClient(EC2Client);
const ddbMock = mockClient(DynamoDBClient);
const PREFIX = '/ecs-ami-pipeline/prod';
const TABLE = 'ecs-ami-pipeline-prod-runs';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';
const OTHER = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-9';
const NEW = 'ami-0dddddddddddddddd';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const BASE = 'ami-0cccccccccccccccc';
const CURRENT = `${PREFIX}/ami/current`;
const CURRENT_RECORD = `${PREFIX}/ami/current/record`;
const CURRENT_BASE = `${PREFIX}/base-ami/current`;
const target = (stackName: string, clusterName: string) => ({ stackName, clusterName });
const CONFIGURED = [
  { name: 'dev', clusters: [target('dev-ecs', 'dev')] },
  { name: 'prod', clusters: [target('prod-a-ecs', 'prod-a'), target('prod-b-ecs', 'prod-b')] },
];
const STACKS = ['dev-ecs', 'prod-a-ecs', 'prod-b-ecs'];

useEnv({ AWS_REGION: 'eu-west-1', PARAMETER_PREFIX: PREFIX, RUN_LEDGER_TABLE: TABLE, CLUSTER_WAVES: JSON.stringify(CONFIGURED) });

const result = (stackName: string) => ({
  stackName,
  clusterName: stackName,
  status: 'ROLLED' as const,
  ending: 'rolled' as const,
  step: 'registration',
  amiId: NEW,
  finishedAt: '2026-01-01T11:00:00.000Z',
});
const COMPLETE: RolloutState = {
  nextWave: 2,
  status: 'COMPLETE',
  waves: [
    { name: 'dev', results: [result('dev-ecs')] },
    { name: 'prod', results: [result('prod-a-ecs'), result('prod-b-ecs')] },
  ],
};

function plan(extra: Partial<RunPlan> = {}): RunPlan {
  return {
    runId: 'weekly-1',
    approvalTimeoutSeconds: 86400,
    copyRegions: [],
    otherBuilds: [],
    executionArn: EXEC,
    startedAt: '2026-01-01T10:00:00.000Z',
    trigger: 'weekly',
    audit: { trigger: 'weekly', requestedBy: 'weekly schedule', reason: null, runId: 'weekly-1' },
    mode: 'bake',
    dryRun: false,
    waves: [],
    currentAmiId: OLD,
    ...extra,
  };
}

function event(extra: Partial<PromoteAmiEvent> = {}): PromoteAmiEvent {
  return {
    executionArn: EXEC,
    plan: plan(),
    release: { amiId: NEW, baseAmiId: BASE, buildId: 'weekly-1' },
    rollout: COMPLETE,
    ...extra,
  };
}

const record = (stackName: string, amiId: string): ClusterRecord => ({
  stackName,
  clusterName: stackName,
  amiId,
  purpose: 'rollout',
  runId: 'weekly-1',
  executionArn: EXEC,
  confirmedAt: '2026-01-01T11:00:00.000Z',
});

/** The cluster records SSM holds, by stack: an image id, a raw value, or nothing. */
function records(byStack: Record<string, string | { raw: string } | undefined>) {
  ssmMock.on(GetParametersCommand).callsFake(({ Names }: { Names: string[] }) => ({
    Parameters: Names.flatMap((name) => {
      const value = byStack[name.slice(`${PREFIX}/clusters/`.length)];
      if (value === undefined) return [];
      return [{ Name: name, Value: typeof value === 'string' ? JSON.stringify(record(name, value)) : value.raw }];
    }),
    InvalidParameters: Names.filter((name) => byStack[name.slice(`${PREFIX}/clusters/`.length)] === undefined),
  }));
}

/** What the handler sent, in order, by name. */
let calls: string[] = [];
const track = (name: string, answer: object) => () => {
  calls.push(name);
  return answer;
};

function puts() {
  return ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
}

beforeEach(() => {
  ssmMock.reset();
  ec2Mock.reset();
  ddbMock.reset();
  calls = [];
  records({ 'dev-ecs': NEW, 'prod-a-ecs': NEW, 'prod-b-ecs': NEW });
  ec2Mock.on(DescribeImagesCommand).callsFake(track('describe-image', { Images: [{ ImageId: NEW, State: 'available' }] }));
  ddbMock
    .on(GetItemCommand)
    .callsFake(track('fence', { Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: EXEC }, acquiredAt: { S: '2026-01-01T10:00:00.000Z' } } }));
  ssmMock.on(PutParameterCommand).callsFake((input: { Name: string }) => {
    calls.push(`put ${input.Name}`);
    return { Version: input.Name === CURRENT ? 9 : 1 };
  });
  ssmMock.on(GetParameterCommand, { Name: CURRENT }).callsFake(track(`get ${CURRENT}`, { Parameter: { Name: CURRENT, Value: NEW, Version: 9 } }));
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  ssmMock.restore();
  ec2Mock.restore();
  ddbMock.restore();
});

describe('promote-ami handler', () => {
  it('promotes even when the base AMI cannot be read for the metric (the metric is left out)', async () => {
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [BASE] }).rejects(Object.assign(new Error('throttled'), { name: 'RequestLimitExceeded' }));
    await expect(handler(event())).resolves.toMatchObject({ promoted: true, amiId: NEW });
    expect(calls.at(-1)).toBe(`put ${CURRENT_BASE}`);
  });

  it('bake: checks the image, fences, writes the current AMI, reads it back, then the record and the base', async () => {
    const now = freezeTime('2026-01-01T11:30:00.000Z');
    await expect(handler(event())).resolves.toEqual({ promoted: true, amiId: NEW, previousAmiId: OLD, baseAmiId: BASE, version: 9 });

    // The last describe reads the base's creation date, for the time-to-patched-fleet metric.
    expect(calls).toEqual(['describe-image', 'fence', `put ${CURRENT}`, `get ${CURRENT}`, `put ${CURRENT_RECORD}`, `put ${CURRENT_BASE}`, 'describe-image']);
    expect(ec2Mock).toHaveReceivedNthCommandWith(1, DescribeImagesCommand, { ImageIds: [NEW] });
    expect(ec2Mock).toHaveReceivedNthCommandWith(2, DescribeImagesCommand, { ImageIds: [BASE] });
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: { pk: { S: 'fleet-lock' } }, ConsistentRead: true });
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
    const [current, promotion, base] = puts();
    expect(current).toEqual({
      Name: CURRENT,
      Value: NEW,
      Type: 'String',
      DataType: 'aws:ec2:image',
      Overwrite: true,
      Description: 'Current AMI, confirmed by every configured cluster; promoted by run weekly-1',
    });
    expect(promotion).toMatchObject({ Name: CURRENT_RECORD, DataType: 'text', Overwrite: true, Description: `Record of the current AMI ${NEW} (rollout)` });
    expect(JSON.parse(promotion!.Value!)).toEqual({
      amiId: NEW,
      previousAmiId: OLD,
      baseAmiId: BASE,
      buildId: 'weekly-1',
      executionArn: EXEC,
      promotedAt: now.toISOString(),
      reason: 'rollout',
      clusters: STACKS,
      // Who started the run that promoted, and why.
      trigger: 'weekly',
      requestedBy: 'weekly schedule',
      requestReason: null,
      approvals: [],
    });
    expect(base).toEqual({
      Name: CURRENT_BASE,
      Value: BASE,
      Type: 'String',
      DataType: 'text',
      Overwrite: true,
      Description: `ECS-optimized base of the current AMI ${NEW}`,
    });
  });

  it('reads the records of every configured cluster, not only the run\'s', async () => {
    // A run limited to prod-b: the rollout only knows prod-b, the records decide.
    await handler(event({ rollout: { nextWave: 1, status: 'COMPLETE', waves: [{ name: 'prod', results: [result('prod-b-ecs')] }] } }));
    expect(ssmMock).toHaveReceivedCommandWith(GetParametersCommand, { Names: STACKS.map((s) => `${PREFIX}/clusters/${s}`) });
    expect(JSON.parse(puts()[1]!.Value!).clusters).toEqual(STACKS);
  });

  it('promotes nothing while a configured cluster is behind, naming each with the image it confirmed', async () => {
    records({ 'dev-ecs': NEW, 'prod-a-ecs': OLD, 'prod-b-ecs': undefined });
    await expect(handler(event())).resolves.toEqual({
      promoted: false,
      amiId: NEW,
      currentAmiId: OLD,
      behind: [
        { stackName: 'prod-a-ecs', clusterName: 'prod-a', amiId: OLD },
        { stackName: 'prod-b-ecs', clusterName: 'prod-b', amiId: undefined },
      ],
    });
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it('counts a record edited by hand as no confirmation', async () => {
    records({ 'dev-ecs': NEW, 'prod-a-ecs': { raw: 'not json' }, 'prod-b-ecs': { raw: JSON.stringify({ amiId: 'latest' }) } });
    const answer = await handler(event());
    expect(answer).toMatchObject({ promoted: false, behind: [{ stackName: 'prod-a-ecs', amiId: undefined }, { stackName: 'prod-b-ecs', amiId: undefined }] });
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('reads the records ten names at a time', async () => {
    const many = Array.from({ length: 12 }, (_, i) => target(`s${i}`, `c${i}`));
    process.env.CLUSTER_WAVES = JSON.stringify([{ name: 'a', clusters: many.slice(0, 6) }, { name: 'b', clusters: many.slice(6) }]);
    records(Object.fromEntries(many.map((t) => [t.stackName, NEW])));
    await expect(handler(event())).resolves.toMatchObject({ promoted: true });
    const batches = ssmMock.commandCalls(GetParametersCommand).map((c) => c.args[0].input.Names!.length);
    expect(batches).toEqual([10, 2]);
  });

  it('rollback: writes the record and the current AMI, but keeps the current base', async () => {
    records({ 'dev-ecs': OLD, 'prod-a-ecs': OLD, 'prod-b-ecs': OLD });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: OLD, State: 'available' }] });
    ssmMock.on(GetParameterCommand, { Name: CURRENT }).resolves({ Parameter: { Name: CURRENT, Value: OLD, Version: 9 } });
    const answer = await handler(
      event({
        plan: plan({ mode: 'rollback', trigger: 'manual', currentAmiId: NEW, rollbackTo: { amiId: OLD, baseAmiId: BASE, buildId: 'weekly-0' } }),
        // "Roll back to the earlier image" copies plan.rollbackTo into the release.
        release: { amiId: OLD, baseAmiId: BASE, buildId: 'weekly-0' },
      }),
    );
    expect(answer).toEqual({ promoted: true, amiId: OLD, previousAmiId: NEW, baseAmiId: BASE, version: 9 });
    expect(puts().map((p) => p.Name)).toEqual([CURRENT, CURRENT_RECORD]);
    // The build that made the image, not the rollback run.
    expect(JSON.parse(puts()[1]!.Value!)).toMatchObject({ amiId: OLD, previousAmiId: NEW, baseAmiId: BASE, reason: 'rollback', buildId: 'weekly-0' });
    expect(puts()[1]!.Description).toBe(`Record of the current AMI ${OLD} (rollback)`);
    expect(puts()[0]).toMatchObject({ Name: CURRENT, Value: OLD, DataType: 'aws:ec2:image' });
  });

  it('does not write a base it does not know', async () => {
    await handler(event({ release: { amiId: NEW } }));
    expect(puts().map((p) => p.Name)).toEqual([CURRENT, CURRENT_RECORD]);
  });

  it.each([
    ['another value', { Value: OLD, Version: 10 }],
    ['an older version', { Value: NEW, Version: 8 }],
    ['nothing', undefined],
  ])('fails with PromotionNotVisibleYet when the current AMI reads back %s, writing no record or base', async (_, parameter) => {
    ssmMock.on(GetParameterCommand, { Name: CURRENT }).resolves({ Parameter: parameter });
    const error = await caught(handler(event()));
    expect(error.name).toBe('PromotionNotVisibleYet');
    expect(error.message).toBe(
      `${CURRENT} reads ${parameter?.Value ?? 'nothing'} (version ${parameter?.Version ?? '?'}) after writing ${NEW} (version 9): SSM has not accepted the value`,
    );
    expect(puts().map((p) => p.Name)).toEqual([CURRENT]);
  });

  it('accepts the read-back when SSM gives no versions to compare', async () => {
    ssmMock.on(PutParameterCommand).resolves({});
    ssmMock.on(GetParameterCommand, { Name: CURRENT }).resolves({ Parameter: { Name: CURRENT, Value: NEW } });
    await expect(handler(event())).resolves.toMatchObject({ promoted: true, version: undefined });
  });

  it.each([
    [[{ ImageId: NEW, State: 'pending' as const }], `${NEW} is pending; not promoting an image new instances could not launch from`],
    [[], `${NEW} is gone (deregistered?); not promoting an image new instances could not launch from`],
  ])('refuses an image new instances cannot launch from (%#), writing nothing', async (images, message) => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: images });
    const error = await caught(handler(event()));
    expect(error.name).toBe('AmiUnusable');
    expect(error.message).toBe(message);
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it('writes nothing when another run holds the fleet', async () => {
    ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: OTHER }, acquiredAt: { S: '2026-01-01T11:00:00.000Z' } } });
    const error = await caught(handler(event()));
    expect(error.name).toBe('FleetHeldByAnotherRun');
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it.each(['IN_PROGRESS', 'FAILED', 'ROLLED_BACK', 'CRITICAL'] as const)('refuses to promote when the rollout is %s', async (status) => {
    const error = await caught(handler(event({ rollout: { ...COMPLETE, status } })));
    expect(error.message).toBe(`refusing to promote ${NEW}: rollout is ${status}`);
    expect(ssmMock).not.toHaveReceivedAnyCommand();
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it('refuses to promote a dry run', async () => {
    const error = await caught(handler(event({ plan: plan({ dryRun: true }) })));
    expect(error.message).toBe(`refusing to promote ${NEW}: rollout is COMPLETE (dry run)`);
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('stops after a failed write: no record or base without the current AMI', async () => {
    ssmMock.on(PutParameterCommand).rejects(new SSMServiceException({ name: 'ParameterLimitExceeded', $fault: 'client', $metadata: {}, message: 'too many versions' }));
    const error = await caught(handler(event()));
    expect(error.name).toBe('ParameterLimitExceeded');
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    expect(ssmMock).not.toHaveReceivedCommand(GetParameterCommand);
  });

  it('turns a throttled write into TransientAwsError', async () => {
    ssmMock.on(PutParameterCommand).rejects(new SSMServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    expect((await caught(handler(event()))).name).toBe('TransientAwsError');
  });

  it('fails when the parameter prefix or the waves are not set', async () => {
    unsetEnv('PARAMETER_PREFIX');
    expect((await caught(handler(event()))).message).toBe('environment variable PARAMETER_PREFIX is not set; it comes from serverless.yml');
    process.env.PARAMETER_PREFIX = PREFIX;
    unsetEnv('CLUSTER_WAVES');
    expect((await caught(handler(event()))).name).toBe('ConfigurationError');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });
});
