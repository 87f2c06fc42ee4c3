/**
 * Ops messages in chat (Amazon Q Developer in chat applications / AWS Chatbot): the custom
 * notification it documents, and the per-protocol publish that keeps e-mail plain text.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { publishToOps } from '../../functions/lib/aws/ops-topic';
import { CHAT_DESCRIPTION_LIMIT, chatNotification, type OpsMessage } from '../../functions/lib/decisions/chat-message';

const EXEC = 'arn:aws:states:eu-west-1:111122223333:execution:ecs-ami-pipeline-prod:weekly-20261123';
const FAILED: OpsMessage = {
  subject: '[ecs-ami-pipeline prod] FAILED: ecs-prod-eu update rolled back by CloudFormation',
  message: `What happened: ...\n\nExecution: ${EXEC}\nStack: https://console.aws.amazon.com/cloudformation/...\n`,
  attributes: { status: 'FAILED', stage: 'prod', step: 'rollout' },
};

describe('chatNotification', () => {
  it('follows the documented custom-notification schema, threaded by run', () => {
    const card = chatNotification(FAILED, { threadId: 'weekly-20261123', eventType: 'run' });
    expect(card).toEqual({
      version: '1.0',
      source: 'custom',
      content: {
        textType: 'client-markdown',
        title: `:x: ${FAILED.subject}`,
        description: FAILED.message.trim(),
        nextSteps: ['Read the cause in the message (and the build log for a bake)', 'Fix it, then start a run again: ami-pipeline run --stage prod'],
        keywords: ['FAILED', 'prod', 'rollout'],
      },
      metadata: {
        threadId: 'weekly-20261123',
        summary: FAILED.subject,
        eventType: 'ecs-ami-pipeline.run',
        relatedResources: [EXEC],
        additionalContext: { status: 'FAILED', stage: 'prod', step: 'rollout' },
      },
    });
  });

  it('keeps the card short: a long message is cut at a line, pointing to the e-mail', () => {
    const long = { ...FAILED, message: Array.from({ length: 500 }, (_, i) => `cluster-${i}: confirmed on ami-0123456789abcdef0`).join('\n') };
    const description = chatNotification(long, { eventType: 'run' }).content.description;
    expect(description.length).toBeLessThanOrEqual(CHAT_DESCRIPTION_LIMIT + 60);
    expect(description).toMatch(/confirmed on ami-0123456789abcdef0\n… \(the full message is in the e-mail\)$/);
  });

  it('has no next steps for a success, and a threadless card for retention', () => {
    const card = chatNotification({ subject: 's', message: 'm', attributes: { status: 'CLEANED_UP', stage: 'dev', step: 'retention' } }, { eventType: 'retention' });
    expect(card.content.nextSteps).toBeUndefined();
    expect(card.metadata.threadId).toBeUndefined();
    expect(card.metadata.eventType).toBe('ecs-ami-pipeline.retention');
    expect(card.content.title.startsWith(':broom: ')).toBe(true);
  });
});

describe('publishToOps', () => {
  const sns = mockClient(SNSClient);
  const client = new SNSClient({ region: 'eu-west-1' });
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });
  afterAll(() => {
    delete process.env.CHAT_NOTIFICATIONS;
    sns.restore();
  });

  it('sends plain text with the attributes when chat notifications are off', async () => {
    process.env.CHAT_NOTIFICATIONS = 'false';
    await expect(publishToOps(client, 'arn:topic', FAILED, { eventType: 'run' })).resolves.toBe('m-1');
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input).toEqual({
      TopicArn: 'arn:topic',
      Subject: FAILED.subject,
      Message: FAILED.message,
      MessageAttributes: {
        status: { DataType: 'String', StringValue: 'FAILED' },
        stage: { DataType: 'String', StringValue: 'prod' },
        step: { DataType: 'String', StringValue: 'rollout' },
      },
    });
  });

  it('sends the card to HTTPS subscribers (the chat service) and the plain text to everyone else when on', async () => {
    process.env.CHAT_NOTIFICATIONS = 'true';
    await publishToOps(client, 'arn:topic', FAILED, { threadId: 'weekly-20261123', eventType: 'run' });
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.MessageStructure).toBe('json');
    expect(input.Subject).toBe(FAILED.subject);
    const perProtocol = JSON.parse(input.Message!) as Record<string, string>;
    expect(Object.keys(perProtocol).sort()).toEqual(['default', 'https']);
    expect(perProtocol.default).toBe(FAILED.message);
    expect(JSON.parse(perProtocol.https!)).toMatchObject({ version: '1.0', source: 'custom', metadata: { threadId: 'weekly-20261123' } });
  });
});
