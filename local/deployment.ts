/**
 * What `serverless deploy` creates, created in the local emulator instead: the ops topic (with an
 * SQS queue subscribed so the messages can be read back), the state machine resource, the run
 * ledger table (fleet lock, notification markers) and the stage's config parameter. Lambda functions and the CodeBuild project are not created: the
 * harness calls the real handler code in-process and simulates the build (moto runs neither).
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DEFAULTS, DEFAULT_RETENTION, LAMBDA_ENV, RUN_LEDGER, SERVICE_NAME, defaultParameterPrefix, parameterNames, type CopyTarget, type PipelineConfig, type Wave } from '../functions/lib/contracts';
import { substitutedDefinitionText, type DeployedNames } from './state-machine';

export const ACCOUNT_ID = '123456789012'; // moto's default account

export interface EmulatedDeployment {
  config: PipelineConfig;
  /** What DefinitionSubstitutions filled in, so local runs use the same definition. */
  names: DeployedNames;
  parameterPrefix: string;
  queueUrl: string;
  /** The Lambda environment serverless.yml would set, for running the handlers in-process. */
  lambdaEnvironment: Record<string, string>;
}

/** The ARN a deployed function would have; the emulated state machine only records it. */
export function functionArn(region: string, stage: string, fn: string): string {
  return `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${SERVICE_NAME}-${stage}-${fn}`;
}

export async function deployPipeline(options: { stage: string; region: string; waves: Wave[]; copyToRegions?: CopyTarget[] }): Promise<EmulatedDeployment> {
  const { stage, region, waves } = options;
  const sns = new SNSClient({ region });
  const sqs = new SQSClient({ region });
  const sfn = new SFNClient({ region });
  const ssm = new SSMClient({ region });
  const name = `${SERVICE_NAME}-${stage}`;

  const topic = await sns.send(new CreateTopicCommand({ Name: `${name}-ops` }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-ops-inbox` }));
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: queueArn }));

  const names: DeployedNames = {
    functionArn: (key) => functionArn(region, stage, key),
    bakeProjectName: `${name}-bake`,
    gitCommit: 'local',
  };
  const definition = substitutedDefinitionText(names);
  const machine = await sfn.send(
    new CreateStateMachineCommand({ name, definition, roleArn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}-state-machine` }),
  );
  const runLedgerTable = `${name}-runs`;
  await new DynamoDBClient({ region }).send(
    new CreateTableCommand({
      TableName: runLedgerTable,
      AttributeDefinitions: [{ AttributeName: RUN_LEDGER.key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: RUN_LEDGER.key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );

  const parameterPrefix = defaultParameterPrefix(stage);
  const config: PipelineConfig = {
    service: SERVICE_NAME,
    stage,
    region,
    stateMachineArn: machine.stateMachineArn!,
    topicArn: topic.TopicArn!,
    bakeProjectName: `${name}-bake`,
    baseAmiArchitecture: 'x86_64',
    runLedgerTable,
    baseAmiMaxAttempts: DEFAULTS.baseAmiMaxAttempts,
    waves,
    amiNamePrefix: `${SERVICE_NAME}-${stage}`,
    retention: DEFAULT_RETENTION,
    copyToRegions: options.copyToRegions ?? [],
  };
  await ssm.send(
    new PutParameterCommand({ Name: parameterNames(parameterPrefix).config, Type: 'String', Value: JSON.stringify(config), Overwrite: true }),
  );
  return {
    config,
    names,
    parameterPrefix,
    queueUrl: queue.QueueUrl!,
    lambdaEnvironment: {
      [LAMBDA_ENV.serviceName]: SERVICE_NAME,
      [LAMBDA_ENV.stage]: stage,
      [LAMBDA_ENV.parameterPrefix]: parameterPrefix,
      [LAMBDA_ENV.clusterWaves]: JSON.stringify(waves),
      [LAMBDA_ENV.baseAmiArchitecture]: config.baseAmiArchitecture,
      [LAMBDA_ENV.stateMachineArn]: config.stateMachineArn,
      [LAMBDA_ENV.topicArn]: config.topicArn,
      [LAMBDA_ENV.runLedgerTable]: runLedgerTable,
      [LAMBDA_ENV.amiNamePrefix]: config.amiNamePrefix!,
      [LAMBDA_ENV.chatNotifications]: 'false',
      [LAMBDA_ENV.copyToRegions]: JSON.stringify(options.copyToRegions ?? []),
    },
  };
}

export interface OpsMessage {
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

/** Drains what ops received so far (the SQS queue subscribed to the topic). */
export async function receivedMessages(queueUrl: string, region: string): Promise<OpsMessage[]> {
  const sqs = new SQSClient({ region });
  const messages: OpsMessage[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!out.Messages?.length) return messages;
    for (const m of out.Messages) {
      const envelope = JSON.parse(m.Body ?? '{}') as {
        Subject?: string;
        Message?: string;
        MessageAttributes?: Record<string, { Value: string }>;
      };
      messages.push({
        subject: envelope.Subject ?? '',
        message: envelope.Message ?? '',
        attributes: Object.fromEntries(Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value])),
      });
    }
    // Received messages stay invisible for the queue's visibility timeout: draining once is enough.
  }
}
