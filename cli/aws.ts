import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { userInfo } from 'node:os';
import { DEFAULTS, SERVICE_NAME, parameterNames, type PipelineConfig } from '../functions/lib/contracts';
import { readParameter } from '../functions/lib/aws/parameters';
import { validateWaves } from '../functions/lib/decisions/waves';
import { CliError } from './errors';

export interface ClientOptions {
  region?: string;
  endpointUrl?: string;
  profile?: string;
}

export interface Clients {
  ssm: SSMClient;
  sfn: SFNClient;
  ec2: EC2Client;
  ecs: ECSClient;
  cfn: CloudFormationClient;
  sts: STSClient;
  ddb: DynamoDBClient;
  autoscaling: AutoScalingClient;
}

/**
 * One client per service for the whole command. Region, profile and credentials come from the
 * usual AWS environment (AWS_REGION, AWS_PROFILE, ~/.aws); the SDK itself reads AWS_ENDPOINT_URL,
 * so an emulator needs no code path of its own.
 */
export function createClients(options: ClientOptions): Clients {
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  return {
    ssm: new SSMClient(config),
    sfn: new SFNClient(config),
    ec2: new EC2Client(config),
    ecs: new ECSClient(config),
    cfn: new CloudFormationClient(config),
    sts: new STSClient(config),
    ddb: new DynamoDBClient(config),
    autoscaling: new AutoScalingClient(config),
  };
}

/** The region the clients resolved (flag, environment or profile), for messages. */
export async function regionOf(clients: Clients): Promise<string> {
  return clients.ssm.config.region();
}

/** Stages deployed in this region: every `/<service>/<stage>/config` parameter. */
export async function deployedStages(ssm: SSMClient): Promise<string[]> {
  const configName = new RegExp(`^/${SERVICE_NAME}/([^/]+)/config$`);
  const stages: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(new GetParametersByPathCommand({ Path: `/${SERVICE_NAME}`, Recursive: true, NextToken: nextToken }));
    for (const p of page.Parameters ?? []) {
      const match = configName.exec(p.Name ?? '');
      if (match) stages.push(match[1]!);
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return stages.sort();
}

/**
 * The stage's deployment, as the stack wrote it to SSM. A missing parameter almost always means
 * a wrong --stage or --region, so the error lists what is deployed in this region.
 */
export async function loadPipelineConfig(clients: Clients, stage: string, parameterPrefix: string): Promise<PipelineConfig> {
  const name = parameterNames(parameterPrefix).config;
  const raw = await readParameter(clients.ssm, name);
  const region = await regionOf(clients);
  if (raw === undefined) {
    const stages = await deployedStages(clients.ssm).catch(() => undefined);
    const found =
      stages === undefined ? '' : stages.length ? ` Stages deployed there: ${stages.join(', ')}.` : ' No stage is deployed there.';
    throw new CliError(
      `stage "${stage}" not found: no parameter ${name} in ${region}.${found} Pass --stage (or AMI_PIPELINE_STAGE), or --region if the stage is deployed elsewhere.`,
    );
  }
  let config: PipelineConfig;
  try {
    config = JSON.parse(raw) as PipelineConfig;
  } catch {
    throw new CliError(`${name} in ${region} is not JSON; redeploy stage "${stage}" to rewrite it`);
  }
  if (typeof config?.stateMachineArn !== 'string') {
    throw new CliError(`${name} in ${region} has no stateMachineArn; redeploy stage "${stage}" to rewrite it`);
  }
  if (typeof config.runLedgerTable !== 'string') {
    throw new CliError(`${name} in ${region} has no runLedgerTable (deployed by an older version); redeploy stage "${stage}"`);
  }
  config.baseAmiMaxAttempts = Number(config.baseAmiMaxAttempts) || DEFAULTS.baseAmiMaxAttempts;
  // The same validation the Lambdas apply to their copy of the waves (and the same defaults).
  config.waves = validateWaves(config.waves ?? []);
  return config;
}

/** Who starts a run, for the notification and the audit trail: the caller's ARN, else the login name. */
export async function requester(sts: STSClient): Promise<string> {
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    if (identity.Arn) return identity.Arn;
  } catch {
    // A role without sts:GetCallerIdentity (rare) still gets a useful name below.
  }
  return process.env.USER || process.env.USERNAME || userInfo().username;
}
