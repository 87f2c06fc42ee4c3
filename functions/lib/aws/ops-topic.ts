import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { LAMBDA_ENV } from '../contracts';
import { chatNotification, type OpsMessage } from '../decisions/chat-message';

/**
 * Publishes an ops message to the stage's topic. With chat notifications on (param
 * chatNotifications), one message per protocol (MessageStructure json): e-mail and every other
 * subscriber read the plain text (`default`), and HTTPS subscribers, which Amazon Q Developer in chat
 * applications is, read the custom-notification JSON (`https`).
 */
export async function publishToOps(
  sns: SNSClient,
  topicArn: string,
  ops: OpsMessage,
  chat: { threadId?: string; eventType: 'run' | 'retention' | 'alert' | 'approval' },
): Promise<string | undefined> {
  const MessageAttributes = Object.fromEntries(Object.entries(ops.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]));
  const structured = process.env[LAMBDA_ENV.chatNotifications] === 'true';
  const out = await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: ops.subject,
      MessageAttributes,
      ...(structured
        ? { MessageStructure: 'json', Message: JSON.stringify({ default: ops.message, https: JSON.stringify(chatNotification(ops, chat)) }) }
        : { Message: ops.message }),
    }),
  );
  return out.MessageId;
}
