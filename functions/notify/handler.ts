import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { publishToOps } from '../lib/aws/ops-topic';
import { LAMBDA_ENV, SERVICE_NAME } from '../lib/contracts';
import { createLogger, lambdaHandler, requireEnv, runLedgerTable } from '../lib/handler';
import { composeNotification, settledRunDocument, type RunDocument } from '../lib/decisions/notification';
import { markNotified, notificationMarker } from '../lib/aws/run-ledger';
import { publishMetrics } from '../lib/aws/metrics';
import { runEndMetrics } from '../lib/decisions/metrics';

const sns = new SNSClient({});
const ddb = new DynamoDBClient({});
const logger = createLogger('notify');

export interface NotifyEvent {
  execution: RunDocument['execution'];
  document: Omit<RunDocument, 'execution'>;
}

/**
 * The run's one message to ops. The marker in the run ledger is written after the publish and read
 * before it: a retry after a lost answer finds the marker and sends nothing twice.
 */
export const handler = lambdaHandler(logger, async (event: NotifyEvent) => {
  const table = runLedgerTable();
  const earlier = await notificationMarker(ddb, table, event.execution.id);
  if (earlier) {
    logger.info('this run already notified ops; not sending again', { ...earlier });
    return { messageId: earlier.messageId, status: earlier.status, alreadySent: true };
  }
  const now = new Date();
  // A wave rolled but not assessed is folded in once, for the message and the metrics alike.
  const document = settledRunDocument({ ...event.document, execution: event.execution }, now);
  const notification = composeNotification(document, {
    serviceName: process.env[LAMBDA_ENV.serviceName] ?? SERVICE_NAME,
    stage: requireEnv(LAMBDA_ENV.stage),
    now,
  });
  const messageId = await publishToOps(sns, requireEnv(LAMBDA_ENV.topicArn), notification, { threadId: event.execution.name, eventType: 'run' });
  await markNotified(ddb, table, event.execution.id, {
    kind: 'run',
    status: notification.attributes.status,
    messageId,
    notifiedAt: new Date().toISOString(),
  });
  publishMetrics(runEndMetrics({ outcome: document.outcome, rollout: document.rollout }));
  return { messageId, subject: notification.subject, ...notification.attributes };
});
