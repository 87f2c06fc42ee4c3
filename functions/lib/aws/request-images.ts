import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { tagValue } from '../contracts/ami';
import { describeImage } from './aws-lookups';
import { readClusterRecords } from './cluster-records';
import { AMI_TAGS, MANAGED_BY_VALUE, type ClusterTarget, type ParameterNames, type PromotionRecord } from '../contracts';
import { InvalidRequestError } from '../contracts/errors';
import { parameterHistory, readParameter } from './parameters';
import type { RunPlan } from '../contracts/plan';
import { chooseRollbackTarget, type PromotionHistory } from '../decisions/promotion';

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

/** The promotions so far, newest first: the values of `ami/current` and the records that explain them. */
export async function promotionHistory(ssm: SSMClient, names: ParameterNames): Promise<PromotionHistory> {
  const records = (await parameterHistory(ssm, names.currentAmiRecord))
    .map((v) => {
      try {
        return JSON.parse(v.value) as PromotionRecord;
      } catch {
        return undefined;
      }
    })
    .filter((r): r is PromotionRecord => typeof r?.amiId === 'string')
    .reverse();
  const promoted = (await parameterHistory(ssm, names.currentAmi)).map((v) => v.value).reverse();
  return { promoted, records };
}

/**
 * The image a rollback puts back: `toAmi`, or the one {@link chooseRollbackTarget} picks from the
 * promotions and the clusters' records. It must be an available image this pipeline baked.
 */
export async function resolveRollbackTarget(
  clients: { ssm: SSMClient; ec2: EC2Client },
  toAmi: string | undefined,
  names: ParameterNames,
  configured: ClusterTarget[],
): Promise<NonNullable<RunPlan['rollbackTo']>> {
  let amiId = toAmi;
  let why: string | undefined;
  if (!amiId) {
    const currentAmiId = await readParameter(clients.ssm, names.currentAmi);
    const choice = chooseRollbackTarget(
      currentAmiId,
      await promotionHistory(clients.ssm, names),
      configured,
      await readClusterRecords(clients.ssm, names, configured),
    );
    if (!choice.amiId) {
      throw new InvalidRequestError('rollback.toAmi', `${choice.why}; name one with {"rollback": {"toAmi": "ami-..."}}`);
    }
    amiId = choice.amiId;
    why = choice.why;
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
  return {
    amiId,
    baseAmiId: tagValue(image, AMI_TAGS.sourceAmiId),
    baseAmiName: tagValue(image, AMI_TAGS.sourceAmiName),
    buildId: tagValue(image, AMI_TAGS.buildId),
    ...(why ? { why } : {}),
  };
}
