import { CloudFormationClient, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { createHash } from 'node:crypto';
import { LAMBDA_ENV, type ClusterTarget } from '../lib/contracts';
import { createLogger, lambdaHandler } from '../lib/handler';
import { isNoUpdatesError, planImageUpdate } from '../lib/stack';
import { describeStack, stackView } from '../lib/stack-lookups';

const cfn = new CloudFormationClient({});
const logger = createLogger('update-stack');

export interface UpdateStackEvent {
  executionArn: string;
  runId: string;
  target: ClusterTarget;
  amiId: string;
  /** rollout: move to the new image; rollback: put the previous image back. */
  purpose: 'rollout' | 'rollback';
}

export interface UpdateStackResult {
  stackName: string;
  previousAmiId: string;
  changed: boolean;
  requestedAt: string;
}

/**
 * Idempotency token for UpdateStack: [a-zA-Z0-9-], at most 128 characters. Readable when it fits;
 * otherwise cut, with a hash of the whole so two runs never share a token.
 */
export function requestToken(runId: string, purpose: string, stackName: string): string {
  const token = `${purpose}-${stackName}-${runId}`.replace(/[^a-zA-Z0-9-]/g, '-');
  if (token.length <= 128) return token;
  return `${token.slice(0, 111)}-${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

export const handler = lambdaHandler(logger, async (event: UpdateStackEvent): Promise<UpdateStackResult> => {
  const { target, amiId } = event;
  const stack = await describeStack(cfn, target.stackName);
  const plan = planImageUpdate(stackView(target.stackName, stack), target.imageParameter, amiId);
  const requestedAt = new Date().toISOString();
  const result = { stackName: target.stackName, previousAmiId: plan.previousAmiId, requestedAt };
  if (plan.kind === 'none') {
    logger.info('stack already runs the image; nothing to update', { stackName: target.stackName, amiId });
    return { ...result, changed: false };
  }
  try {
    // UpdateStack is the last call, so most retries follow a failure before CloudFormation took the
    // update. If it took it and the answer was lost, the retry finds the stack busy, then already
    // on the image, and reports no change: that stack then cannot be rolled back automatically
    // (README, Known limitations). The token keeps a repeated request from starting a second update.
    await cfn.send(
      new UpdateStackCommand({
        StackName: target.stackName,
        UsePreviousTemplate: true,
        Parameters: plan.parameters,
        // Acknowledgements only: the template is the stack's own; without them CloudFormation
        // refuses any update of a stack that holds IAM resources or macros.
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
        ClientRequestToken: requestToken(event.runId, event.purpose, target.stackName),
        // With a service role, CloudFormation acts with the platform team's role instead of this
        // function's, which then needs nothing but UpdateStack and PassRole on that one role.
        RoleARN: process.env[LAMBDA_ENV.stackRoleArn] || undefined,
      }),
    );
  } catch (error) {
    if (!isNoUpdatesError(error)) throw error;
    return { ...result, changed: false };
  }
  logger.info('stack update started', { stackName: target.stackName, from: plan.previousAmiId, to: amiId, purpose: event.purpose });
  return { ...result, changed: true };
});
