import { PutParameterCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { RunPlan } from '../../../functions/lib/plan';
import type { RolloutState } from '../../../functions/lib/rollout';
import { handler, type PromoteAmiEvent } from '../../../functions/promote-ami/handler';
import { caught, freezeTime, unsetEnv, useEnv } from './env';

const ssmMock = mockClient(SSMClient);
const PREFIX = '/ecs-ami-pipeline/prod';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';
const NEW = 'ami-0dddddddddddddddd';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const BASE = 'ami-0cccccccccccccccc';

useEnv({ AWS_REGION: 'eu-west-1', PARAMETER_PREFIX: PREFIX });

const result = (stackName: string) => ({ stackName, clusterName: stackName, status: 'ROLLED' as const, step: 'registration', amiId: NEW, finishedAt: '2026-01-01T11:00:00.000Z' });
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
    executionArn: EXEC,
    startedAt: '2026-01-01T10:00:00.000Z',
    trigger: 'weekly',
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

beforeEach(() => {
  ssmMock.reset();
  // The most specific behaviour last: aws-sdk-client-mock answers with the latest matching one.
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
  ssmMock.on(PutParameterCommand, { Name: `${PREFIX}/ami/current` }).resolves({ Version: 9 });
});
afterEach(() => jest.useRealTimers());
afterAll(() => ssmMock.restore());

describe('promote-ami handler', () => {
  it('bake: writes the current record, then the current AMI, then the current base', async () => {
    const now = freezeTime('2026-01-01T11:30:00.000Z');
    await expect(handler(event())).resolves.toEqual({ amiId: NEW, previousAmiId: OLD, baseAmiId: BASE, version: 9 });

    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 3);
    expect(ssmMock).toHaveReceivedNthCommandWith(1, PutParameterCommand, {
      Name: `${PREFIX}/ami/current/record`,
      DataType: 'text',
      Overwrite: true,
      Description: `Record of the current AMI ${NEW} (rollout)`,
    });
    expect(JSON.parse(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input.Value!)).toEqual({
      amiId: NEW,
      previousAmiId: OLD,
      baseAmiId: BASE,
      buildId: 'weekly-1',
      executionArn: EXEC,
      promotedAt: now.toISOString(),
      reason: 'rollout',
      clusters: ['dev-ecs', 'prod-a-ecs', 'prod-b-ecs'],
    });
    expect(ssmMock).toHaveReceivedNthCommandWith(2, PutParameterCommand, {
      Name: `${PREFIX}/ami/current`,
      Value: NEW,
      DataType: 'aws:ec2:image',
      Overwrite: true,
      Description: 'Current AMI, confirmed on 3 cluster(s) by run weekly-1',
    });
    expect(ssmMock).toHaveReceivedNthCommandWith(3, PutParameterCommand, {
      Name: `${PREFIX}/base-ami/current`,
      Value: BASE,
      DataType: 'text',
      Overwrite: true,
      Description: `ECS-optimized base of the current AMI ${NEW}`,
    });
  });

  it('rollback: writes the record and the current AMI, but keeps the current base', async () => {
    const result = await handler(
      event({
        plan: plan({ mode: 'rollback', trigger: 'manual', currentAmiId: NEW, rollbackTo: { amiId: OLD, baseAmiId: BASE, buildId: 'weekly-0' } }),
        // "Roll back to the earlier image" copies plan.rollbackTo into the release.
        release: { amiId: OLD, baseAmiId: BASE, buildId: 'weekly-0' },
      }),
    );
    expect(result).toEqual({ amiId: OLD, previousAmiId: NEW, baseAmiId: BASE, version: 9 });
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 2);
    expect(ssmMock).not.toHaveReceivedCommandWith(PutParameterCommand, { Name: `${PREFIX}/base-ami/current` });
    const record = JSON.parse(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input.Value!);
    // The build that made the image, not the rollback run.
    expect(record).toMatchObject({ amiId: OLD, previousAmiId: NEW, baseAmiId: BASE, reason: 'rollback', buildId: 'weekly-0' });
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: `${PREFIX}/ami/current`, Value: OLD, DataType: 'aws:ec2:image' });
  });

  it('does not write a base it does not know', async () => {
    await handler(event({ release: { amiId: NEW } }));
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 2);
    expect(ssmMock).not.toHaveReceivedCommandWith(PutParameterCommand, { Name: `${PREFIX}/base-ami/current` });
  });

  it.each(['IN_PROGRESS', 'FAILED', 'ROLLED_BACK', 'CRITICAL'] as const)('refuses to promote when the rollout is %s', async (status) => {
    const error = await caught(handler(event({ rollout: { ...COMPLETE, status } })));
    expect(error.message).toBe(`refusing to promote ${NEW}: rollout is ${status}`);
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('refuses to promote a dry run', async () => {
    const error = await caught(handler(event({ plan: plan({ dryRun: true }) })));
    expect(error.message).toBe(`refusing to promote ${NEW}: rollout is COMPLETE (dry run)`);
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('stops after a failed write: the current AMI is not written without its record', async () => {
    ssmMock.on(PutParameterCommand).rejects(new SSMServiceException({ name: 'ParameterLimitExceeded', $fault: 'client', $metadata: {}, message: 'too many versions' }));
    const error = await caught(handler(event()));
    expect(error.name).toBe('ParameterLimitExceeded');
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 1);
  });

  it('turns a throttled write into TransientAwsError', async () => {
    ssmMock.on(PutParameterCommand).rejects(new SSMServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    expect((await caught(handler(event()))).name).toBe('TransientAwsError');
  });

  it('fails when the parameter prefix is not set', async () => {
    unsetEnv('PARAMETER_PREFIX');
    expect((await caught(handler(event()))).message).toBe('environment variable PARAMETER_PREFIX is not set; it comes from serverless.yml');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });
});
