import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { describeImage, tagValue } from './aws-lookups';
import { AMI_TAGS, MANAGED_BY_VALUE } from './contracts';
import { InvalidRequestError } from './errors';
import { previousDistinctValue } from './history';
import { parameterHistory } from './parameters';
import type { RunPlan } from './plan';

/**
 * The images a request names, checked against EC2. Shared by "Check the request" and the ops CLI,
 * so `ami-pipeline run`/`rollback` refuse exactly what the state machine would reject.
 */

/** A base AMI named by the request (`sourceAmi`): it must exist here and be available. */
export async function checkSourceImage(ec2: EC2Client, amiId: string): Promise<NonNullable<RunPlan['sourceAmi']>> {
  const image = await describeImage(ec2, amiId);
  if (!image) throw new InvalidRequestError('sourceAmi', `${amiId} does not exist in this region`);
  if (image.State !== 'available') {
    throw new InvalidRequestError('sourceAmi', `${amiId} is ${image.State}, not available`);
  }
  return { id: amiId, name: image.Name };
}

/** The image a rollback puts back: `toAmi`, or the previous distinct value of the current parameter. */
export async function resolveRollbackTarget(
  clients: { ssm: SSMClient; ec2: EC2Client },
  toAmi: string | undefined,
  currentAmiParameter: string,
): Promise<NonNullable<RunPlan['rollbackTo']>> {
  let amiId = toAmi;
  if (!amiId) {
    const previous = previousDistinctValue(await parameterHistory(clients.ssm, currentAmiParameter));
    if (!previous) {
      throw new InvalidRequestError(
        'rollback.toAmi',
        `${currentAmiParameter} has no earlier AMI to roll back to; name one with {"rollback": {"toAmi": "ami-..."}}`,
      );
    }
    amiId = previous.value;
  }
  const image = await describeImage(clients.ec2, amiId);
  if (!image) throw new InvalidRequestError('rollback.toAmi', `${amiId} does not exist in this region (deregistered?)`);
  if (image.State !== 'available') throw new InvalidRequestError('rollback.toAmi', `${amiId} is ${image.State}, not available`);
  if (tagValue(image, AMI_TAGS.managedBy) !== MANAGED_BY_VALUE) {
    throw new InvalidRequestError(
      'rollback.toAmi',
      `${amiId} was not baked by this pipeline (no ${AMI_TAGS.managedBy}=${MANAGED_BY_VALUE} tag); only pipeline images can be rolled back to`,
    );
  }
  return { amiId, baseAmiId: tagValue(image, AMI_TAGS.sourceAmiId), buildId: tagValue(image, AMI_TAGS.buildId) };
}
