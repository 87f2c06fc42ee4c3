import { fleetClientsFor } from '../lib/aws/regional-clients';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { publishToOps } from '../lib/aws/ops-topic';
import { executionNameOf } from '../lib/contracts/executions';
import { SSMClient } from '@aws-sdk/client-ssm';
import pLimit from 'p-limit';
import { readClusterRecords } from '../lib/aws/cluster-records';
import { LAMBDA_ENV, SERVICE_NAME } from '../lib/contracts';
import { createLogger, lambdaHandler, requireEnv, runLedgerTable, stageParameters } from '../lib/handler';
import { clustersToCheck, composeRunEndAlert, decideRunEnd, type ExecutionStatusChange, type StackNow } from '../lib/decisions/run-end';
import { markNotified, notificationMarker, readLock, releaseLock } from '../lib/aws/run-ledger';
import { publishMetrics } from '../lib/aws/metrics';
import { abnormalEndMetrics } from '../lib/decisions/metrics';
import { stackParameter } from '../lib/decisions/stack';
import { describeStack, stackView } from '../lib/aws/stack-lookups';
import { allTargets, parseConfiguredWaves } from '../lib/decisions/waves';

const ddb = new DynamoDBClient({});
const sns = new SNSClient({});
const ssm = new SSMClient({});
const cfn = new CloudFormationClient({});
const logger = createLogger('run-ended');

export interface RunEndedEvent {
  source?: string;
  'detail-type'?: string;
  detail: ExecutionStatusChange;
}

/** Each configured stack's image parameter and status now; undefined when it cannot be read. */
async function stacksNow(): Promise<Map<string, StackNow | undefined>> {
  const targets = allTargets(parseConfiguredWaves(process.env[LAMBDA_ENV.clusterWaves], LAMBDA_ENV.clusterWaves));
  const limit = pLimit(5);
  return new Map(
    await Promise.all(
      targets.map((t) =>
        limit(async (): Promise<[string, StackNow | undefined]> => {
          try {
            const view = stackView(t.stackName, await describeStack(fleetClientsFor(t.region, { cfn }).cfn, t.stackName));
            return [t.stackName, { image: stackParameter(view, t.imageParameter)?.value, status: view.status }];
          } catch {
            return [t.stackName, undefined];
          }
        }),
      ),
    ),
  );
}

/**
 * The target of the abnormal-end rule: releases the fleet lock a run still holds, and tells ops about
 * any run that ended without its own message. Each run reaches ops exactly once: the notification
 * marker in the run ledger says whether the run (or an earlier delivery of this event) already did.
 */
export const handler = lambdaHandler(logger, async (event: RunEndedEvent) => {
  const change = event.detail;
  const table = runLedgerTable();
  const lock = await readLock(ddb, table);
  const marker = await notificationMarker(ddb, table, change.executionArn);
  const decision = decideRunEnd(change, lock?.ownerExecutionArn, marker !== undefined);
  if (decision.ignore) return { ...decision, executionArn: change.executionArn };
  const released = decision.release ? await releaseLock(ddb, table, change.executionArn) : false;
  if (!decision.alert) return { ...decision, released, executionArn: change.executionArn };

  let off: ReturnType<typeof clustersToCheck> | undefined;
  try {
    const waves = parseConfiguredWaves(process.env[LAMBDA_ENV.clusterWaves], LAMBDA_ENV.clusterWaves);
    const targets = allTargets(waves);
    off = clustersToCheck(targets, await stacksNow(), await readClusterRecords(ssm, stageParameters(), targets));
  } catch (error) {
    // The alert matters more than its detail: send it without the comparison.
    logger.warn('could not compare the stacks with their records', { error: error as Error });
  }
  const alert = composeRunEndAlert(change, {
    serviceName: process.env[LAMBDA_ENV.serviceName] ?? SERVICE_NAME,
    stage: requireEnv(LAMBDA_ENV.stage),
    off,
    lockReleased: released,
  });
  const messageId = await publishToOps(sns, requireEnv(LAMBDA_ENV.topicArn), alert, { threadId: change.name ?? executionNameOf(change.executionArn), eventType: 'alert' });
  await markNotified(ddb, table, change.executionArn, { kind: 'alert', status: change.status, messageId, notifiedAt: new Date().toISOString() });
  // The run's own end was never counted (notify did not run to the end): count it here.
  publishMetrics(abnormalEndMetrics(change.status));
  return { ...decision, released, executionArn: change.executionArn, messageId };
});
