import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { recordApprovalWaiting } from '../lib/aws/approvals';
import { publishToOps } from '../lib/aws/ops-topic';
import { LAMBDA_ENV, SERVICE_NAME, type Wave } from '../lib/contracts';
import type { RunAudit } from '../lib/contracts/plan';
import { composeApprovalRequest } from '../lib/decisions/approval-message';
import type { RolloutState } from '../lib/decisions/rollout';
import { createLogger, lambdaHandler, requireEnv, runLedgerTable } from '../lib/handler';

const ddb = new DynamoDBClient({});
const sns = new SNSClient({});
const logger = createLogger('request-approval');

/** The payload of "Ask ops to approve the wave" (a `lambda:invoke.waitForTaskToken` task). */
export interface RequestApprovalEvent {
  /** The task token ($$.Task.Token): the only way to answer; stored, never sent in the message. */
  token: string;
  executionArn: string;
  wave: Wave;
  amiId: string;
  baseAmi?: { id?: string; name?: string } | null;
  audit: RunAudit;
  rollout: RolloutState;
  /** The task's own timeout (the plan's approvalTimeoutSeconds): the message's deadline is the one Step Functions keeps. */
  timeoutSeconds: number;
}

function earlierWaves(rollout: RolloutState): string[] {
  return rollout.waves.map((w) => {
    const rolled = w.results.filter((r) => r.status === 'ROLLED').length;
    const soak = w.soak ? `, soaked ${Math.round((Date.parse(w.soak.endedAt) - Date.parse(w.soak.startedAt)) / 60_000)} min (${w.soak.status})` : '';
    return `${w.name}: ${rolled}/${w.results.length} clusters confirmed${soak}`;
  });
}

/**
 * Puts the wave's approval in the run ledger, then tells ops what waits and how to answer. The run
 * waits on the token until `ami-pipeline approve|reject` answers or the stage's timeout passes.
 */
export const handler = lambdaHandler(logger, async (event: RequestApprovalEvent) => {
  if (!Number.isInteger(event.timeoutSeconds) || event.timeoutSeconds <= 0) {
    throw new Error(`timeoutSeconds is ${JSON.stringify(event.timeoutSeconds)}; the state machine passes the plan's approvalTimeoutSeconds`);
  }
  const now = new Date();
  const expiresAt = new Date(now.getTime() + event.timeoutSeconds * 1000);
  await recordApprovalWaiting(ddb, runLedgerTable(), {
    executionArn: event.executionArn,
    wave: event.wave.name,
    amiId: event.amiId,
    clusters: event.wave.clusters.map((c) => c.stackName),
    token: event.token,
    requestedAt: now.toISOString(),
    expiresAt: expiresAt.toISOString(),
  });
  const message = composeApprovalRequest({
    serviceName: process.env[LAMBDA_ENV.serviceName] ?? SERVICE_NAME,
    stage: requireEnv(LAMBDA_ENV.stage),
    executionArn: event.executionArn,
    wave: event.wave.name,
    clusters: event.wave.clusters,
    amiId: event.amiId,
    baseAmi: event.baseAmi?.id ? { id: event.baseAmi.id, name: event.baseAmi.name } : undefined,
    requestedBy: event.audit.requestedBy,
    reason: event.audit.reason,
    earlierWaves: earlierWaves(event.rollout),
    requestedAt: now,
    expiresAt,
  });
  const messageId = await publishToOps(sns, requireEnv(LAMBDA_ENV.topicArn), message, { threadId: event.audit.runId, eventType: 'approval' });
  logger.info('waiting for approval', { wave: event.wave.name, amiId: event.amiId, expiresAt: expiresAt.toISOString(), messageId });
  return { waiting: true, expiresAt: expiresAt.toISOString(), messageId };
});
