import { boundedToken } from '../lib/contracts/executions';
import { fleetClientsFor } from '../lib/aws/regional-clients';
import { CloudFormationClient, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LAMBDA_ENV, type ClusterTarget } from '../lib/contracts';
import { ERROR_NAMES, PipelineError } from '../lib/contracts/errors';
import { createLogger, lambdaHandler, maxRolloutMinutes, runLedgerTable } from '../lib/handler';
import { holdFleet } from '../lib/aws/run-ledger';
import { deadlineAfter, isBusy, isNoUpdatesError, planImageUpdate, stackParameter, updateAcceptedWith } from '../lib/decisions/stack';
import { describeStack, stackEventsSince, stackView } from '../lib/aws/stack-lookups';

const homeCfn = new CloudFormationClient({});
const ddb = new DynamoDBClient({});
const logger = createLogger('update-stack');

export interface UpdateStackEvent {
  executionArn: string;
  runId: string;
  target: ClusterTarget;
  amiId: string;
  /** rollout: move to the new image; rollback: put the cluster's last confirmed image back. */
  purpose: 'rollout' | 'rollback';
  /** When this cluster's step began: a busy stack is waited for until `since` plus the time bound. */
  since: string;
}

export interface UpdateStackResult {
  /** The stack's image before this run's update; null when the retry found its own update already under way. */
  previousAmiId: string | null;
  /** True when this run's update is (or was) CloudFormation's work; false when the stack already ran the image. */
  changed: boolean;
  requestedAt: string;
  /** When the pipeline stops waiting for the update to finish. */
  deadline: string;
  /** The ClientRequestToken the update was sent with; its events carry it. */
  token: string;
}

/**
 * Idempotency token for UpdateStack: [a-zA-Z0-9-], at most 128 characters. Readable when it fits;
 * otherwise cut, with a hash of the whole so two runs never share a token.
 */
export function requestToken(runId: string, purpose: string, stackName: string): string {
  return boundedToken(`${purpose}-${stackName}-${runId}`.replace(/[^a-zA-Z0-9-]/g, '-'), 128);
}

/**
 * Moves one stack's image parameter, and nothing else. Safe to retry in every case: a retry whose
 * first attempt's update was accepted (answer lost, or the function timed out after the call) finds
 * the update by its token in the stack's events and rejoins it, instead of reporting "not updated"
 * or "no change" for a stack that is rolling.
 */
export const handler = lambdaHandler(logger, async (event: UpdateStackEvent): Promise<UpdateStackResult> => {
  const { target, amiId } = event;
  // A target in another region is updated there.
  const { cfn } = fleetClientsFor(target.region, { cfn: homeCfn });
  const now = new Date();
  await holdFleet(ddb, runLedgerTable(), event.executionArn, now);
  const token = requestToken(event.runId, event.purpose, target.stackName);
  const bound = maxRolloutMinutes();
  const stack = stackView(target.stackName, await describeStack(cfn, target.stackName));
  const image = stackParameter(stack, target.imageParameter)?.value ?? null;

  if (isBusy(stack.status) || image === amiId) {
    const ours = updateAcceptedWith(await stackEventsSince(cfn, target.stackName, new Date(event.since)), token);
    if (ours) {
      logger.info('found this run\'s own update; rejoining it', { stackName: target.stackName, token, status: stack.status });
      const requestedAt = ours.timestamp.toISOString();
      return { previousAmiId: null, changed: true, requestedAt, deadline: deadlineAfter(requestedAt, bound).toISOString(), token };
    }
  }
  if (isBusy(stack.status)) {
    const deadline = deadlineAfter(event.since, bound);
    const waited = Math.round((now.getTime() - new Date(event.since).getTime()) / 60_000);
    if (now.getTime() < deadline.getTime()) {
      throw new PipelineError(ERROR_NAMES.stackBusy, `stack ${target.stackName} is busy (${stack.status}); waiting for it to settle before updating it`);
    }
    throw new PipelineError(
      ERROR_NAMES.stackBusyTooLong,
      `stack ${target.stackName} stayed busy (${stack.status}) for ${waited} minutes, past the ${bound}-minute bound (maxRolloutMinutes); the pipeline did not update it`,
    );
  }

  const plan = planImageUpdate(stack, target.imageParameter, amiId);
  const requestedAt = now.toISOString();
  const result = { previousAmiId: plan.previousAmiId, requestedAt, deadline: deadlineAfter(requestedAt, bound).toISOString(), token };
  if (plan.kind === 'none') {
    logger.info('stack already runs the image; nothing to update', { stackName: target.stackName, amiId });
    return { ...result, changed: false };
  }
  try {
    await cfn.send(
      new UpdateStackCommand({
        StackName: target.stackName,
        UsePreviousTemplate: true,
        Parameters: plan.parameters,
        // Acknowledgements only: the template is the stack's own; without them CloudFormation
        // refuses any update of a stack that holds IAM resources or macros.
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
        // The token marks this update's events, which is how a retry recognises it (above).
        ClientRequestToken: token,
        // With a service role, CloudFormation acts with the platform team's role instead of this
        // function's, which then needs nothing but UpdateStack and PassRole on that one role.
        RoleARN: process.env[LAMBDA_ENV.stackRoleArn] || undefined,
      }),
    );
  } catch (error) {
    if (!isNoUpdatesError(error)) throw error;
    return { ...result, changed: false };
  }
  logger.info('stack update started', { stackName: target.stackName, from: plan.previousAmiId, to: amiId, purpose: event.purpose, token });
  return { ...result, changed: true };
});
