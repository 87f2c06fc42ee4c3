import { DescribeImagesCommand, type EC2Client, type Image } from '@aws-sdk/client-ec2';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { parseRecommendedBaseAmi, type RecommendedBaseAmi } from '../contracts/ami';
import { isAwsError } from '../contracts/errors';
import type { ExecutionSummary } from '../contracts/executions';

/** The image, or undefined when EC2 does not know it in this region. */
export async function describeImage(ec2: EC2Client, amiId: string): Promise<Image | undefined> {
  try {
    const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] }));
    return out.Images?.[0];
  } catch (error) {
    if (isAwsError(error, 'InvalidAMIID.NotFound') || isAwsError(error, 'InvalidAMIID.Unavailable')) return undefined;
    throw error;
  }
}

/** Executions of the state machine that are still running. */
export async function listRunningExecutions(sfn: SFNClient, stateMachineArn: string): Promise<ExecutionSummary[]> {
  const running: ExecutionSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 100, nextToken }),
    );
    for (const e of page.executions ?? []) {
      // Emulators may ignore the filter; the status check keeps the answer right either way.
      if (e.executionArn && e.startDate && (e.status ?? 'RUNNING') === 'RUNNING') {
        running.push({ executionArn: e.executionArn, startDate: new Date(e.startDate) });
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return running;
}

/** The newest ECS-optimized base AMI, from AWS's public parameter. */
export async function recommendedBaseAmi(ssm: SSMClient, parameterName: string): Promise<RecommendedBaseAmi> {
  const out = await ssm.send(new GetParameterCommand({ Name: parameterName }));
  return parseRecommendedBaseAmi(parameterName, out.Parameter?.Value);
}
