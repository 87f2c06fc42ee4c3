import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { LAMBDA_ENV, SERVICE_NAME } from '../lib/contracts';
import { createLogger, lambdaHandler, requireEnv } from '../lib/handler';
import { composeNotification, type RunDocument } from '../lib/notification';

const sns = new SNSClient({});
const logger = createLogger('notify');

export interface NotifyEvent {
  execution: RunDocument['execution'];
  document: Omit<RunDocument, 'execution'>;
}

export const handler = lambdaHandler(logger, async (event: NotifyEvent) => {
  const notification = composeNotification(
    { ...event.document, execution: event.execution },
    {
      serviceName: process.env[LAMBDA_ENV.serviceName] ?? SERVICE_NAME,
      stage: requireEnv(LAMBDA_ENV.stage),
      now: new Date(),
    },
  );
  const out = await sns.send(
    new PublishCommand({
      TopicArn: requireEnv(LAMBDA_ENV.topicArn),
      Subject: notification.subject,
      Message: notification.message,
      MessageAttributes: Object.fromEntries(
        Object.entries(notification.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
      ),
    }),
  );
  return { messageId: out.MessageId, subject: notification.subject, ...notification.attributes };
});
