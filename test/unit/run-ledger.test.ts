import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { holdFleet, markNotified, notificationMarker, readLock, releaseLock, writeLock } from '../../functions/lib/aws/run-ledger';
import { caught } from './handlers/env';

const ddbMock = mockClient(DynamoDBClient);
const ddb = new DynamoDBClient({ region: 'eu-west-1' });
const TABLE = 'ecs-ami-pipeline-prod-runs';
const EXEC = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;
const ME = EXEC('run-1');
const OTHER = EXEC('run-0');
const LOCK_KEY = { pk: { S: 'fleet-lock' } };
const NOW = new Date('2026-01-01T10:00:00.000Z');

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const lockItem = (owner: string, extra: object = {}) => ({ Item: { ...LOCK_KEY, ownerExecutionArn: { S: owner }, acquiredAt: { S: '2026-01-01T09:00:00.000Z' }, ...extra } });

beforeEach(() => {
  ddbMock.reset();
  ddbMock.on(GetItemCommand).resolves({});
  ddbMock.on(PutItemCommand).resolves({});
  ddbMock.on(DeleteItemCommand).resolves({});
});
afterAll(() => ddbMock.restore());

describe('readLock', () => {
  it('reads the lock item strongly consistent', async () => {
    ddbMock.on(GetItemCommand).resolves(lockItem(OTHER, { trigger: { S: 'weekly' } }));
    await expect(readLock(ddb, TABLE)).resolves.toEqual({ ownerExecutionArn: OTHER, acquiredAt: '2026-01-01T09:00:00.000Z', trigger: 'weekly' });
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: LOCK_KEY, ConsistentRead: true });
  });

  it('is undefined without an item, or with an item that names no owner', async () => {
    await expect(readLock(ddb, TABLE)).resolves.toBeUndefined();
    ddbMock.on(GetItemCommand).resolves({ Item: { ...LOCK_KEY, acquiredAt: { S: 'x' } } });
    await expect(readLock(ddb, TABLE)).resolves.toBeUndefined();
  });
});

describe('writeLock', () => {
  it('writes only if nobody holds the lock or this run does', async () => {
    await expect(writeLock(ddb, TABLE, { ownerExecutionArn: ME, acquiredAt: NOW.toISOString(), trigger: 'manual' })).resolves.toBe(true);
    expect(ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Item: { ...LOCK_KEY, ownerExecutionArn: { S: ME }, acquiredAt: { S: NOW.toISOString() }, trigger: { S: 'manual' } },
      ConditionExpression: 'attribute_not_exists(pk) OR ownerExecutionArn = :me',
      ExpressionAttributeValues: { ':me': { S: ME } },
    });
  });

  it('takes over from exactly the stale holder it names', async () => {
    await writeLock(ddb, TABLE, { ownerExecutionArn: ME, acquiredAt: NOW.toISOString() }, OTHER);
    expect(ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Item: { ...LOCK_KEY, ownerExecutionArn: { S: ME }, acquiredAt: { S: NOW.toISOString() } },
      ConditionExpression: 'attribute_not_exists(pk) OR ownerExecutionArn = :me OR ownerExecutionArn = :stale',
      ExpressionAttributeValues: { ':me': { S: ME }, ':stale': { S: OTHER } },
    });
  });

  it('is false when the condition failed: someone else holds it', async () => {
    ddbMock.on(PutItemCommand).rejects(conditionFailed());
    await expect(writeLock(ddb, TABLE, { ownerExecutionArn: ME, acquiredAt: NOW.toISOString() })).resolves.toBe(false);
    // also when the error only carries the name (another copy of the SDK)
    ddbMock.on(PutItemCommand).rejects(Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' }));
    await expect(writeLock(ddb, TABLE, { ownerExecutionArn: ME, acquiredAt: NOW.toISOString() })).resolves.toBe(false);
  });

  it('passes any other error on', async () => {
    ddbMock.on(PutItemCommand).rejects(new DynamoDBServiceException({ name: 'ResourceNotFoundException', $fault: 'client', $metadata: {}, message: 'no table' }));
    expect((await caught(writeLock(ddb, TABLE, { ownerExecutionArn: ME, acquiredAt: NOW.toISOString() }))).name).toBe('ResourceNotFoundException');
  });
});

describe('holdFleet', () => {
  it('passes without writing when this run holds the fleet', async () => {
    ddbMock.on(GetItemCommand).resolves(lockItem(ME));
    await expect(holdFleet(ddb, TABLE, ME, NOW)).resolves.toBeUndefined();
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('takes a free fleet with a conditional write', async () => {
    await expect(holdFleet(ddb, TABLE, ME, NOW)).resolves.toBeUndefined();
    expect(ddbMock).toHaveReceivedCommandWith(PutItemCommand, {
      Item: { ...LOCK_KEY, ownerExecutionArn: { S: ME }, acquiredAt: { S: NOW.toISOString() } },
      ConditionExpression: 'attribute_not_exists(pk) OR ownerExecutionArn = :me',
    });
  });

  it('throws FleetHeldByAnotherRun, writing nothing, when another run holds it', async () => {
    ddbMock.on(GetItemCommand).resolves(lockItem(OTHER));
    const error = await caught(holdFleet(ddb, TABLE, ME, NOW));
    expect(error.name).toBe('FleetHeldByAnotherRun');
    expect(error.message).toBe(`run ${OTHER} holds the fleet; this run (${ME}) changes nothing more`);
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('names the run that took the free fleet first, or "another run" when it is gone again', async () => {
    ddbMock.on(GetItemCommand).resolvesOnce({}).resolves(lockItem(OTHER));
    ddbMock.on(PutItemCommand).rejects(conditionFailed());
    expect((await caught(holdFleet(ddb, TABLE, ME, NOW))).message).toBe(`run ${OTHER} holds the fleet; this run (${ME}) changes nothing more`);
    ddbMock.on(GetItemCommand).resolves({});
    const error = await caught(holdFleet(ddb, TABLE, ME, NOW));
    expect(error.name).toBe('FleetHeldByAnotherRun');
    expect(error.message).toBe(`another run holds the fleet; this run (${ME}) changes nothing more`);
  });
});

describe('releaseLock', () => {
  it('deletes the lock only if this run holds it', async () => {
    await expect(releaseLock(ddb, TABLE, ME)).resolves.toBe(true);
    expect(ddbMock.commandCalls(DeleteItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Key: LOCK_KEY,
      ConditionExpression: 'ownerExecutionArn = :me',
      ExpressionAttributeValues: { ':me': { S: ME } },
    });
  });

  it('is false when the lock is gone or another run\'s', async () => {
    ddbMock.on(DeleteItemCommand).rejects(conditionFailed());
    await expect(releaseLock(ddb, TABLE, ME)).resolves.toBe(false);
  });

  it('passes other errors on', async () => {
    ddbMock.on(DeleteItemCommand).rejects(new DynamoDBServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' }));
    expect((await caught(releaseLock(ddb, TABLE, ME))).name).toBe('AccessDeniedException');
  });
});

describe('notification markers', () => {
  const MARKER_KEY = { pk: { S: `notified#${ME}` } };

  it('reads a run\'s marker strongly consistent, by its execution ARN', async () => {
    ddbMock.on(GetItemCommand).resolves({
      Item: { ...MARKER_KEY, kind: { S: 'alert' }, status: { S: 'ABORTED' }, messageId: { S: 'm-1' }, notifiedAt: { S: NOW.toISOString() } },
    });
    await expect(notificationMarker(ddb, TABLE, ME)).resolves.toEqual({ kind: 'alert', status: 'ABORTED', messageId: 'm-1', notifiedAt: NOW.toISOString() });
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: MARKER_KEY, ConsistentRead: true });
  });

  it('is undefined without a marker, and reads an incomplete one as a run\'s', async () => {
    await expect(notificationMarker(ddb, TABLE, ME)).resolves.toBeUndefined();
    ddbMock.on(GetItemCommand).resolves({ Item: { ...MARKER_KEY } });
    await expect(notificationMarker(ddb, TABLE, ME)).resolves.toEqual({ kind: 'run', status: '', messageId: undefined, notifiedAt: '' });
  });

  it('writes a marker that expires a year after the message', async () => {
    await markNotified(ddb, TABLE, ME, { kind: 'run', status: 'SUCCEEDED', messageId: 'm-2', notifiedAt: NOW.toISOString() });
    expect(ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Item: {
        ...MARKER_KEY,
        kind: { S: 'run' },
        status: { S: 'SUCCEEDED' },
        notifiedAt: { S: NOW.toISOString() },
        messageId: { S: 'm-2' },
        expiresAt: { N: String(NOW.getTime() / 1000 + 365 * 24 * 3600) },
      },
    });
  });

  it('leaves the message id out when SNS gave none', async () => {
    await markNotified(ddb, TABLE, ME, { kind: 'alert', status: 'FAILED', notifiedAt: NOW.toISOString() });
    expect(ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input.Item).not.toHaveProperty('messageId');
  });
});
