import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { snapshotIdsOf, tagValue } from '../lib/contracts/ami';
import { describeImage } from '../lib/aws/aws-lookups';
import { checkBakedImage, exportedAmi, type ExportedVariable } from '../lib/decisions/baked-ami';
import { AMI_TAGS, LAMBDA_ENV, parameterNames, type BakedAmiRecord } from '../lib/contracts';
import { createLogger, lambdaHandler, requireEnv, runLedgerTable, shareTargets } from '../lib/handler';
import { writeParameter } from '../lib/aws/parameters';
import { publishMetrics } from '../lib/aws/metrics';
import { bakeMetrics } from '../lib/decisions/metrics';
import type { ArchitectureBuild, BakedAmi, RunPlan } from '../lib/contracts/plan';
import { ERROR_NAMES, PipelineError } from '../lib/contracts/errors';
import { holdFleet } from '../lib/aws/run-ledger';
import { shareImage } from '../lib/aws/image-sharing';
import { isSharing } from '../lib/decisions/sharing';

const ssm = new SSMClient({});
const ec2 = new EC2Client({});
const ddb = new DynamoDBClient({});
const logger = createLogger('record-baked-ami');

export interface RecordBakedAmiEvent {
  executionArn: string;
  plan: RunPlan;
  /** `Build` as `codebuild:startBuild.sync` returns it. */
  build: { Id?: string; Logs?: { DeepLink?: string }; ExportedEnvironmentVariables?: ExportedVariable[] };
  /** A bake for another architecture than the stage's (plan.otherBuilds): recorded as that architecture's latest. */
  other?: ArchitectureBuild;
}

export const handler = lambdaHandler(logger, async (event: RecordBakedAmiEvent): Promise<BakedAmi> => {
  const region = requireEnv('AWS_REGION');
  const names = parameterNames(requireEnv(LAMBDA_ENV.parameterPrefix));
  const { amiId, sourceAmiId } = exportedAmi(event.build.Id, event.build.ExportedEnvironmentVariables, region);
  const image = await describeImage(ec2, amiId);
  const sourceAmi = event.other?.sourceAmi ?? event.plan.sourceAmi;
  checkBakedImage(amiId, image, sourceAmi?.id);
  if (event.other && image?.Architecture !== event.other.architecture) {
    throw new PipelineError(ERROR_NAMES.amiUnusable, `${amiId} is ${image?.Architecture ?? 'of no known architecture'}, not ${event.other.architecture} as its build was asked`);
  }

  const baked: BakedAmi = {
    amiId,
    baseAmiId: tagValue(image, AMI_TAGS.sourceAmiId) ?? sourceAmiId ?? sourceAmi?.id ?? 'unknown',
    baseAmiName: tagValue(image, AMI_TAGS.sourceAmiName) ?? sourceAmi?.name,
    buildId: event.plan.runId,
    codeBuildId: event.build.Id,
    logsUrl: event.build.Logs?.DeepLink,
    ...(event.other ? { architecture: event.other.architecture } : {}),
  };
  const record: BakedAmiRecord = {
    amiId,
    baseAmiId: baked.baseAmiId,
    baseAmiName: baked.baseAmiName,
    buildId: baked.buildId,
    codeBuildId: baked.codeBuildId,
    executionArn: event.executionArn,
    recordedAt: new Date().toISOString(),
  };
  await holdFleet(ddb, runLedgerTable(), event.executionArn, new Date());
  // Shared before it is recorded: whoever the stage shares with can launch ami/latest as soon as it names it.
  const share = shareTargets();
  if (isSharing(share)) {
    await shareImage(ec2, amiId, snapshotIdsOf(image), share);
    logger.info('image shared', { amiId, ...share });
  }
  // The record first: a reader that sees the new latest AMI can always find its record.
  // Another architecture's image is that architecture's latest; the stage's own stays ami/latest.
  const latest = event.other ? names.latestAmiFor(event.other.architecture) : names.latestAmi;
  const latestRecord = event.other ? names.latestAmiRecordFor(event.other.architecture) : names.latestAmiRecord;
  await writeParameter(ssm, latestRecord, JSON.stringify(record), {
    description: `Record of the latest baked AMI ${amiId}`,
  });
  await writeParameter(ssm, latest, amiId, {
    description: `Latest ${event.other ? `${event.other.architecture} ` : ''}AMI baked by run ${event.plan.runId} from ${baked.baseAmiId}`,
    dataType: 'aws:ec2:image',
  });
  if (!event.other) publishMetrics(bakeMetrics(event.plan.startedAt, new Date()));
  return baked;
});
