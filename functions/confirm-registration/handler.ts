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
import type { ApprovalAnswer } from '../lib/contracts/gates';
import { ERROR_NAMES, PipelineError } from '../lib/contracts/errors';
import { createLogger, lambdaHandler, registrationTimeoutSeconds, runLedgerTable, stageParameters } from '../lib/handler';
import { holdFleet } from '../lib/aws/run-ledger';
import { describeStack } from '../lib/aws/stack-lookups';

const cfn = new CloudFormationClient({});
const autoscaling = new AutoScalingClient({});
const ecs = new ECSClient({});
const ssm = new SSMClient({});
const ddb = new DynamoDBClient({});
const logger = createLogger('confirm-registration');

export interface ConfirmRegistrationEvent {
  executionArn: string;
  runId: string;
  target: ClusterTarget;
  amiId: string;
  /** When the stack settled; the deadline counts from here. */
  since: string;
  /** rollout: the new image; rollback: the cluster's last confirmed image, put back. */
  purpose: 'rollout' | 'rollback';
  /** Who started the run and why: the record keeps it. */
  audit?: RunAudit;
  /** The answer to the wave's approval (null when the wave needed none); kept on a rollout's record. */
  approval?: ApprovalAnswer | null;
  /** The stage-region image `amiId` is a copy of, when the target is in another region (null: none or unknown). */
  homeAmiId?: string | null;
}

export interface ConfirmRegistrationResult {
  confirmed: true;
  summary: string;
  checkedAt: string;
}

/**
 * Is the cluster on `amiId`, by the ECS API? When it is, the cluster's record (clusters/<stack>)
 * says so before the function answers: the record is what promotion and the next rollback read.
 */
export const handler = lambdaHandler(logger, async (event: ConfirmRegistrationEvent): Promise<ConfirmRegistrationResult> => {
  const { target } = event;
  // A target in another region is confirmed there (its stack, group and cluster).
  const fleet = fleetClientsFor(target.region, { cfn, ecs, autoscaling });
  const stack = await describeStack(fleet.cfn, target.stackName);
  const assessment = await clusterRegistration(fleet, target, stack, event.amiId);
  const checkedAt = new Date();
  logger.info('registration assessed', { clusterName: target.clusterName, ...assessment });
  if (assessment.confirmed) {
    const names = stageParameters();
    const existing = await readClusterRecord(ssm, names, target.stackName);
    // A retry after a lost answer finds its own record: nothing to write twice.
    if (existing?.amiId !== event.amiId || existing.executionArn !== event.executionArn) {
      await holdFleet(ddb, runLedgerTable(), event.executionArn, checkedAt);
      await writeClusterRecord(ssm, names, {
        stackName: target.stackName,
        clusterName: target.clusterName,
        amiId: event.amiId,
        purpose: event.purpose,
        runId: event.runId,
        executionArn: event.executionArn,
        confirmedAt: checkedAt.toISOString(),
        summary: assessment.summary,
        ...auditFields(event.audit),
        ...(target.region && target.region !== process.env.AWS_REGION ? { region: target.region } : {}),
        // A copy in another region, or the other architecture's image of the same build: promotion and
        // rollback compare the stage-region image it stands for.
        ...(event.homeAmiId && event.homeAmiId !== event.amiId ? { copyOf: event.homeAmiId } : {}),
        ...(event.purpose === 'rollout' && event.approval?.decision === 'APPROVED'
          ? { approval: { by: event.approval.by, reason: event.approval.reason, at: event.approval.at } }
          : {}),
      });
    }
    return { confirmed: true, summary: assessment.summary, checkedAt: checkedAt.toISOString() };
  }

  const limit = registrationTimeoutSeconds();
  const deadline = new Date(event.since).getTime() + limit * 1000;
  if (checkedAt.getTime() < deadline) {
    throw new PipelineError(ERROR_NAMES.registrationPending, `cluster ${target.clusterName}: ${assessment.summary}`);
  }
  throw new PipelineError(
    ERROR_NAMES.registrationTimedOut,
    `cluster ${target.clusterName} did not confirm ${event.amiId} within ${limit} s of the stack settling: ${assessment.summary}`,
  );
});
