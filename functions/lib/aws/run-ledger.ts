import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { RUN_LEDGER, type FleetLock } from '../contracts';
import { ERROR_NAMES, PipelineError, isAwsError } from '../contracts/errors';

/** The run ledger's DynamoDB calls (contracts.ts, RUN_LEDGER): the fleet lock and the notification markers. */

const key = (pk: string): Record<string, AttributeValue> => ({ [RUN_LEDGER.key]: { S: pk } });
const LOCK = key(RUN_LEDGER.lockKey);

// By name, not class: the bundles leave the modeled exception classes out (scripts/sdk-error-registrations.mjs).
function conditionFailed(error: unknown): boolean {
  return isAwsError(error, 'ConditionalCheckFailedException');
}

/** The holder of the fleet, read strongly consistent: the lock must never be judged from a stale copy. */
export async function readLock(ddb: DynamoDBClient, table: string): Promise<FleetLock | undefined> {
  const out = await ddb.send(new GetItemCommand({ TableName: table, Key: LOCK, ConsistentRead: true }));
  const item = out.Item;
  const owner = item?.ownerExecutionArn?.S;
  if (!item || !owner) return undefined;
  return {
    ownerExecutionArn: owner,
    acquiredAt: item.acquiredAt?.S ?? '',
    trigger: item.trigger?.S,
    ...(item.tookOverFrom?.S ? { tookOverFrom: { executionArn: item.tookOverFrom.S, status: item.tookOverStatus?.S ?? 'ended' } } : {}),
  };
}

/**
 * Writes the lock for `lock.ownerExecutionArn` only if nobody holds it, it is already this run's, or
 * (take-over) it is still held by exactly `replacing`. False when the condition failed: someone else won.
 */
export async function writeLock(ddb: DynamoDBClient, table: string, lock: FleetLock, replacing?: string): Promise<boolean> {
  const values: Record<string, AttributeValue> = { ':me': { S: lock.ownerExecutionArn } };
  let condition = `attribute_not_exists(${RUN_LEDGER.key}) OR ownerExecutionArn = :me`;
  if (replacing) {
    condition += ' OR ownerExecutionArn = :stale';
    values[':stale'] = { S: replacing };
  }
  try {
    await ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          ...LOCK,
          ownerExecutionArn: { S: lock.ownerExecutionArn },
          acquiredAt: { S: lock.acquiredAt },
          ...(lock.trigger ? { trigger: { S: lock.trigger } } : {}),
          // Kept with the lock, so a retried check still reports the take-over.
          ...(lock.tookOverFrom ? { tookOverFrom: { S: lock.tookOverFrom.executionArn }, tookOverStatus: { S: lock.tookOverFrom.status } } : {}),
        },
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (conditionFailed(error)) return false;
    throw error;
  }
}

/**
 * The fence every step that changes something passes first: the lock is this run's (or free, and
 * now this run's: a redriven run takes it again). Throws {@link ERROR_NAMES.fleetHeldByAnotherRun}
 * otherwise, so a run that lost the fleet changes nothing.
 */
export async function holdFleet(ddb: DynamoDBClient, table: string, executionArn: string, now: Date): Promise<void> {
  const current = await readLock(ddb, table);
  if (current?.ownerExecutionArn === executionArn) return;
  if (!current && (await writeLock(ddb, table, { ownerExecutionArn: executionArn, acquiredAt: now.toISOString() }))) return;
  const holder = current?.ownerExecutionArn ?? (await readLock(ddb, table))?.ownerExecutionArn;
  throw new PipelineError(
    ERROR_NAMES.fleetHeldByAnotherRun,
    `${holder ? `run ${holder}` : 'another run'} holds the fleet; this run (${executionArn}) changes nothing more`,
  );
}

/** Lets go of the fleet if this run holds it. False when it did not (already released, or another run's). */
export async function releaseLock(ddb: DynamoDBClient, table: string, executionArn: string): Promise<boolean> {
  try {
    await ddb.send(
      new DeleteItemCommand({
        TableName: table,
        Key: LOCK,
        ConditionExpression: 'ownerExecutionArn = :me',
        ExpressionAttributeValues: { ':me': { S: executionArn } },
      }),
    );
    return true;
  } catch (error) {
    if (conditionFailed(error)) return false;
    throw error;
  }
}

export interface NotificationMarker {
  kind: 'run' | 'alert';
  status: string;
  messageId?: string;
  notifiedAt: string;
}

/** The marker of a run that already reached ops, if any. */
export async function notificationMarker(ddb: DynamoDBClient, table: string, executionArn: string): Promise<NotificationMarker | undefined> {
  const out = await ddb.send(
    new GetItemCommand({ TableName: table, Key: key(RUN_LEDGER.notifiedKey(executionArn)), ConsistentRead: true }),
  );
  const item = out.Item;
  if (!item) return undefined;
  return {
    kind: item.kind?.S === 'alert' ? 'alert' : 'run',
    status: item.status?.S ?? '',
    messageId: item.messageId?.S,
    notifiedAt: item.notifiedAt?.S ?? '',
  };
}

const YEAR_SECONDS = 365 * 24 * 3600;

/** Notes that ops got this run's message. Written after the publish: a lost answer must not lose the message. */
export async function markNotified(
  ddb: DynamoDBClient,
  table: string,
  executionArn: string,
  marker: NotificationMarker,
): Promise<void> {
  await ddb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        ...key(RUN_LEDGER.notifiedKey(executionArn)),
        kind: { S: marker.kind },
        status: { S: marker.status },
        notifiedAt: { S: marker.notifiedAt },
        ...(marker.messageId ? { messageId: { S: marker.messageId } } : {}),
        [RUN_LEDGER.expiresAt]: { N: String(Math.floor(Date.parse(marker.notifiedAt) / 1000) + YEAR_SECONDS) },
      },
    }),
  );
}
