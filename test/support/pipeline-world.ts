/**
 * The world the state-machine tests (and scripts/measure.ts) run the real definition in: the real
 * request, record, assess, promote and notify handlers against an in-memory AWS, and stand-ins
 * for the CodeBuild build and the three cluster functions.
 */
import { handler as assessWave } from '../../functions/assess-wave/handler';
import { handler as checkRequest } from '../../functions/check-request/handler';
import { parameterNames } from '../../functions/lib/contracts';
import { handler as notify } from '../../functions/notify/handler';
import { handler as promoteAmi } from '../../functions/promote-ami/handler';
import { handler as recordBakedAmi } from '../../functions/record-baked-ami/handler';
import { FakeAws } from './fake-aws';
import { FakeFleet, type StackBehaviour } from './fake-fleet';
import { ACCOUNT, REGION, type Handlers } from '../../local/state-machine';

export const PREFIX = '/ecs-ami-pipeline/test';
export const names = parameterNames(PREFIX);
export const OLD_BASE = 'ami-0b0b0b0b0b0b0b0b0';
export const NEW_BASE = 'ami-0c0c0c0c0c0c0c0c0';
export const OLD_AMI = 'ami-0a0a0a0a0a0a0a0a0';
export const OLDER_AMI = 'ami-09090909090909090';
export const NEW_AMI = 'ami-0d0d0d0d0d0d0d0d0';
export const WAVES = [
  { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster' }] },
  {
    name: 'prod',
    clusters: [
      { stackName: 'prod-a-ecs', clusterName: 'prod-a' },
      { stackName: 'prod-b-ecs', clusterName: 'prod-b' },
    ],
  },
];
export const STACKS = ['dev-ecs', 'prod-a-ecs', 'prod-b-ecs'];

/** The handlers' configuration, as serverless.yml would set it. */
export function configureEnvironment(): void {
  Object.assign(process.env, {
    AWS_REGION: REGION,
    STAGE: 'test',
    SERVICE_NAME: 'ecs-ami-pipeline',
    PARAMETER_PREFIX: PREFIX,
    CLUSTER_WAVES: JSON.stringify(WAVES),
    NOTIFICATION_TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:ops`,
  });
}

/** Before the run: OLD_AMI promoted (after OLDER_AMI), built on OLD_BASE; AWS now recommends NEW_BASE. */
export function createAws(): FakeAws {
  const aws = new FakeAws();
  aws.publishRecommendedBase(NEW_BASE);
  aws.addPipelineImage(OLDER_AMI, OLD_BASE);
  aws.addPipelineImage(OLD_AMI, OLD_BASE);
  aws.put(names.currentAmi, OLDER_AMI);
  aws.put(names.currentAmi, OLD_AMI);
  aws.put(names.currentBaseAmi, OLD_BASE);
  return aws;
}

export interface BakeCall {
  ProjectName: string;
  EnvironmentVariablesOverride: { Name: string; Value: string; Type: string }[];
}

/** A build that succeeds: it registers NEW_AMI, tagged as the Packer template would, and exports it. */
export function succeedingBake(aws: FakeAws, calls: BakeCall[], exported = true) {
  return async (input: BakeCall) => {
    calls.push(input);
    const source = input.EnvironmentVariablesOverride.find((v) => v.Name === 'SOURCE_AMI')!.Value;
    aws.addPipelineImage(NEW_AMI, source);
    return {
      Build: {
        Id: 'ecs-ami-pipeline-test-bake:11111111-2222-3333-4444-555555555555',
        BuildStatus: 'SUCCEEDED',
        Logs: { DeepLink: 'https://console.aws.amazon.com/cloudwatch/home#logsV2:log-groups/bake' },
        ExportedEnvironmentVariables: exported
          ? [
              { Name: 'AMI_ID', Value: NEW_AMI },
              { Name: 'AMI_REGION', Value: REGION },
              { Name: 'SOURCE_AMI_ID', Value: source },
            ]
          : [],
      },
    };
  };
}

/** The fleet (every stack on OLD_AMI unless `initial` says otherwise) and all handlers. */
export function scenario(aws: FakeAws, behaviours: Record<string, StackBehaviour> = {}, initial: Record<string, string> = {}) {
  const fleet = new FakeFleet({ ...Object.fromEntries(STACKS.map((s) => [s, OLD_AMI])), ...initial }, behaviours);
  const bakeCalls: BakeCall[] = [];
  const handlers: Handlers = {
    checkRequest,
    recordBakedAmi,
    assessWave,
    promoteAmi,
    notify,
    bake: succeedingBake(aws, bakeCalls),
    ...fleet.handlers(),
  };
  return { fleet, bakeCalls, handlers };
}
