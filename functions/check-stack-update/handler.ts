import { fleetClientsFor } from '../lib/aws/regional-clients';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ClusterTarget } from '../lib/contracts';
import { ERROR_NAMES, PipelineError } from '../lib/contracts/errors';
import { createLogger, lambdaHandler } from '../lib/handler';
import { rootCauseOfFailure, stackParameter, updateAcceptedWith, updateProgress, type StackEventView } from '../lib/decisions/stack';
import { describeStack, stackEventsSince, stackView } from '../lib/aws/stack-lookups';

const homeCfn = new CloudFormationClient({});
const logger = createLogger('check-stack-update');

export interface CheckStackUpdateEvent {
  executionArn: string;
  target: ClusterTarget;
  amiId: string;
  /** When the update was requested: failures before it belong to someone else. */
  requestedAt: string;
  /** When the pipeline stops waiting for this update (from the stage's maxRolloutMinutes). */
  deadline: string;
  /** The update's ClientRequestToken: a failed or rolled-back status without its events predates it. */
  token?: string;
}

export interface CheckStackUpdateResult {
  status: string;
  settledAt: string;
}

/**
 * One look at an update in flight. "Still going" is an error the state machine retries with
 * backoff until the update's deadline; past it, StackUpdateTimedOut says the stack is still rolling
 * (the pipeline does not cancel it). Every end state is either a result or a distinct error.
 */
export const handler = lambdaHandler(logger, async (event: CheckStackUpdateEvent): Promise<CheckStackUpdateResult> => {
  const { stackName, imageParameter } = event.target;
  // A target in another region is followed there.
  const { cfn } = fleetClientsFor(event.target.region, { cfn: homeCfn });
  const stack = await describeStack(cfn, stackName);
  const status = stack.StackStatus ?? 'UNKNOWN';
  let events: StackEventView[] | undefined;
  const eventsOfThisUpdate = async () => (events ??= await stackEventsSince(cfn, stackName, new Date(event.requestedAt)));
  const reason = async () => rootCauseOfFailure(await eventsOfThisUpdate(), new Date(event.requestedAt)) ?? stack.StackStatusReason ?? 'see the stack events';
  const inProgress = () => {
    if (Date.now() < Date.parse(event.deadline)) {
      throw new PipelineError(ERROR_NAMES.stackUpdateInProgress, `stack ${stackName} is ${status}`);
    }
    const minutes = Math.round((Date.now() - Date.parse(event.requestedAt)) / 60_000);
    throw new PipelineError(
      ERROR_NAMES.stackUpdateTimedOut,
      `stack ${stackName} is still ${status} ${minutes} minutes after the update was requested (bound: maxRolloutMinutes); the pipeline stopped waiting and did not cancel it`,
    );
  };
  // A rolled-back or failed status this update's events do not lead to is an earlier update's end,
  // read before CloudFormation showed this one: not this update's outcome.
  const notThisUpdate = async () => event.token !== undefined && !updateAcceptedWith(await eventsOfThisUpdate(), event.token);

  switch (updateProgress(status)) {
    case 'in-progress':
      return inProgress();
    case 'complete': {
      const image = stackParameter(stackView(stackName, stack), imageParameter)?.value;
      if (image !== event.amiId) {
        throw new PipelineError(
          ERROR_NAMES.stackChangedElsewhere,
          `stack ${stackName} finished updating with ${imageParameter}=${image}, not ${event.amiId}: someone else updated it`,
        );
      }
      return { status, settledAt: new Date().toISOString() };
    }
    case 'rolled-back': {
      if (await notThisUpdate()) return inProgress();
      const back = stackParameter(stackView(stackName, stack), imageParameter)?.value ?? 'its previous image';
      throw new PipelineError(ERROR_NAMES.stackUpdateRolledBack, `CloudFormation rolled stack ${stackName} back to ${back}: ${await reason()}`);
    }
    case 'rollback-failed':
      if (await notThisUpdate()) return inProgress();
      throw new PipelineError(ERROR_NAMES.stackRollbackFailed, `stack ${stackName} is ${status}: ${await reason()}`);
    default:
      throw new PipelineError(ERROR_NAMES.stackNotRollable, `stack ${stackName} is in an unexpected state ${status}`);
  }
});
