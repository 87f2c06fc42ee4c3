import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { RUN_LEDGER } from '../contracts';
import { isAwsError } from '../contracts/errors';
import type { ApprovalAnswer, ApprovalWaiting } from '../contracts/gates';

/** The approvals in the run ledger (contracts RUN_LEDGER.approvalKey, gates ApprovalWaiting). */

const key = (executionArn: string): Record<string, AttributeValue> => ({ [RUN_LEDGER.key]: { S: RUN_LEDGER.approvalKey(executionArn) } });

// The item outlives its wait by a month, so `approve` can still say who answered or that it expired.
const KEEP_AFTER_EXPIRY_SECONDS = 30 * 24 * 3600;

/**
 * Records the approval a run now waits for. Overwrites: a retried approval task has a new token, and
 * only the newest one can still be answered.
 */
export async function recordApprovalWaiting(ddb: DynamoDBClient, table: string, waiting: ApprovalWaiting): Promise<void> {
  await ddb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        ...key(waiting.executionArn),
        executionArn: { S: waiting.executionArn },
        wave: { S: waiting.wave },
        amiId: { S: waiting.amiId },
        clusters: { S: JSON.stringify(waiting.clusters) },
        token: { S: waiting.token },
        requestedAt: { S: waiting.requestedAt },
        expiresAtIso: { S: waiting.expiresAt },
        [RUN_LEDGER.expiresAt]: { N: String(Math.floor(Date.parse(waiting.expiresAt) / 1000) + KEEP_AFTER_EXPIRY_SECONDS) },
      },
    }),
  );
}

function parseClusters(text: string | undefined): string[] {
  try {
    const value = JSON.parse(text ?? '[]') as unknown;
    return Array.isArray(value) ? value.filter((c): c is string => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

function parseAnswer(text: string | undefined): ApprovalAnswer | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as ApprovalAnswer;
  } catch {
    return undefined;
  }
}

/** The approval a run waits for (or waited for), read strongly consistent. */
export async function readApprovalWaiting(ddb: DynamoDBClient, table: string, executionArn: string): Promise<ApprovalWaiting | undefined> {
  const out = await ddb.send(new GetItemCommand({ TableName: table, Key: key(executionArn), ConsistentRead: true }));
  const item = out.Item;
  if (!item?.token?.S) return undefined;
  const answer = parseAnswer(item.answer?.S);
  return {
    executionArn: item.executionArn?.S ?? executionArn,
    wave: item.wave?.S ?? '',
    amiId: item.amiId?.S ?? '',
    clusters: parseClusters(item.clusters?.S),
    token: item.token.S,
    requestedAt: item.requestedAt?.S ?? '',
    expiresAt: item.expiresAtIso?.S ?? '',
    ...(answer ? { answer } : {}),
  };
}

/**
 * Claims the right to answer this wait: only for the token read, and only once. Two people answering
 * in the same second both read the wait; exactly one claim succeeds and the other is told who won.
 */
export async function claimAnswer(
  ddb: DynamoDBClient,
  table: string,
  waiting: ApprovalWaiting,
  answer: ApprovalAnswer,
): Promise<{ claimed: true } | { claimed: false; earlier?: ApprovalAnswer }> {
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key(waiting.executionArn),
        // `token` is a DynamoDB reserved word.
        UpdateExpression: 'SET #answer = :answer',
        ConditionExpression: 'attribute_not_exists(#answer) AND #token = :token',
        ExpressionAttributeNames: { '#answer': 'answer', '#token': 'token' },
        ExpressionAttributeValues: { ':answer': { S: JSON.stringify(answer) }, ':token': { S: waiting.token } },
      }),
    );
    return { claimed: true };
  } catch (error) {
    if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
    const now = await readApprovalWaiting(ddb, table, waiting.executionArn);
    return { claimed: false, earlier: now?.answer };
  }
}

/** Gives a claim back when Step Functions refused the answer, so the wait reads as unanswered again. */
export async function releaseClaim(ddb: DynamoDBClient, table: string, waiting: ApprovalWaiting): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: key(waiting.executionArn),
      UpdateExpression: 'REMOVE #answer',
      ConditionExpression: '#token = :token',
      ExpressionAttributeNames: { '#answer': 'answer', '#token': 'token' },
      ExpressionAttributeValues: { ':token': { S: waiting.token } },
    }),
  );
}
