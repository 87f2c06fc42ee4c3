import { fleetClientsFor } from '../lib/aws/regional-clients';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { readClusterRecord, writeClusterRecord } from '../lib/aws/cluster-records';
import { clusterRegistration } from '../lib/aws/cluster-registration';
import { auditFields, type ClusterTarget } from '../lib/contracts';
import type { RunAudit } from '../lib/contracts/plan';
import { createLogger, lambdaHandler, runLedgerTable, stageParameters } from '../lib/handler';
import { holdFleet } from '../lib/aws/run-ledger';
import { stackParameter } from '../lib/decisions/stack';
import { describeStack, stackView } from '../lib/aws/stack-lookups';

const cfn = new CloudFormationClient({});
const autoscaling = new AutoScalingClient({});
const ecs = new ECSClient({});
const ssm = new SSMClient({});
const ddb = new DynamoDBClient({});
const logger = createLogger('find-confirmed-image');

export interface FindConfirmedImageEvent {
  executionArn: string;
  runId: string;
  target: ClusterTarget;
  /** Who started the run and why: an adoption record keeps it. */
  audit?: RunAudit;
}

export interface FindConfirmedImageResult {
  /** The image this cluster last confirmed: where it goes back to if the new one fails. Null when none is known. */
  amiId: string | null;
  /** record: from clusters/<stack>; adopted: confirmed just now on the image the stack runs; none: no known-good image. */
  source: 'record' | 'adopted' | 'none';
  detail: string;
  /** When this cluster's step began (a busy stack is waited for from here). */
  startedAt: string;
  /** For a cluster in another region: the stage-region image `amiId` is a copy of (null otherwise, or unknown). */
  copyOf: string | null;
}

/**
 * The cluster's rollback target, found before anything changes: the image it last confirmed. The
 * first time the pipeline meets a cluster there is no record; if the ECS API shows every instance on
 * the stack's current image, that image is adopted as confirmed. Otherwise the cluster has no
 * known-good image, and a failure on the new one is reported, never "rolled back" to a guess.
 */
export const handler = lambdaHandler(logger, async (event: FindConfirmedImageEvent): Promise<FindConfirmedImageResult> => {
  const { target } = event;
  const startedAt = new Date();
  const names = stageParameters();
  const record = await readClusterRecord(ssm, names, target.stackName);
  if (record) {
    return {
      amiId: record.amiId,
      copyOf: record.copyOf ?? null,
      source: 'record',
      detail: `confirmed ${record.confirmedAt} by run ${record.runId} (${record.purpose})`,
      startedAt: startedAt.toISOString(),
    };
  }
  // A target in another region is read there (its stack, group and cluster).
  const fleet = fleetClientsFor(target.region, { cfn, ecs, autoscaling });
  const stack = await describeStack(fleet.cfn, target.stackName);
  const image = stackParameter(stackView(target.stackName, stack), target.imageParameter)?.value;
  if (!image?.startsWith('ami-')) {
    return { amiId: null, copyOf: null, source: 'none', detail: `stack ${target.stackName} names no image in ${target.imageParameter}`, startedAt: startedAt.toISOString() };
  }
  const assessment = await clusterRegistration(fleet, target, stack, image);
  if (!assessment.confirmed) {
    logger.warn('no confirmed image for this cluster', { stackName: target.stackName, image, summary: assessment.summary });
    return { amiId: null, copyOf: null, source: 'none', detail: `never confirmed by the pipeline, and not confirmed on ${image} now: ${assessment.summary}`, startedAt: startedAt.toISOString() };
  }
  await holdFleet(ddb, runLedgerTable(), event.executionArn, startedAt);
  await writeClusterRecord(ssm, names, {
    stackName: target.stackName,
    clusterName: target.clusterName,
    amiId: image,
    purpose: 'adopted',
    runId: event.runId,
    executionArn: event.executionArn,
    confirmedAt: startedAt.toISOString(),
    summary: assessment.summary,
    ...auditFields(event.audit),
  });
  return { amiId: image, copyOf: null, source: 'adopted', detail: `adopted: ${assessment.summary}`, startedAt: startedAt.toISOString() };
});
