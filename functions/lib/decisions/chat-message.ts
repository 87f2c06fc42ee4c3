/**
 * The ops message as a custom notification of Amazon Q Developer in chat applications (formerly AWS
 * Chatbot), which posts it to Slack or Microsoft Teams. Its documented event schema:
 * https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
 * (version "1.0", source "custom", content {textType, title, description, nextSteps, keywords},
 * metadata {threadId, summary, eventType, relatedResources, additionalContext}).
 */
import { SERVICE_NAME } from '../contracts';

export interface OpsMessage {
  subject: string;
  /** The plain-text message e-mail readers get. */
  message: string;
  /** The SNS message attributes: status, stage, step. */
  attributes: Record<string, string>;
}

export interface ChatNotification {
  version: '1.0';
  source: 'custom';
  id?: string;
  content: { textType: 'client-markdown'; title: string; description: string; nextSteps?: string[]; keywords: string[] };
  metadata: { threadId?: string; summary: string; eventType: string; relatedResources?: string[]; additionalContext: Record<string, string> };
}

/** Chat channels show a short card: the message's head, then a pointer to the full text in e-mail. */
export const CHAT_DESCRIPTION_LIMIT = 3000;

const STATUS_EMOJI: Record<string, string> = {
  SUCCEEDED: ':white_check_mark:',
  PARTIAL: ':large_yellow_circle:',
  DRY_RUN: ':test_tube:',
  SKIPPED: ':fast_forward:',
  REJECTED: ':no_entry_sign:',
  FAILED: ':x:',
  ROLLED_BACK: ':leftwards_arrow_with_hook:',
  CRITICAL: ':rotating_light:',
  TIMED_OUT: ':hourglass:',
  ABORTED: ':octagonal_sign:',
  CLEANED_UP: ':broom:',
  WOULD_CLEAN_UP: ':broom:',
  APPROVAL_NEEDED: ':raised_hand:',
  NOT_APPROVED: ':no_entry:',
};

const NEXT_STEPS: Record<string, string[]> = {
  CRITICAL: ['A cluster needs a person: read the message for the stack and what it was left on', 'ami-pipeline status --stage <stage>'],
  FAILED: ['Read the cause in the message (and the build log for a bake)', 'Fix it, then start a run again: ami-pipeline run --stage <stage>'],
  ROLLED_BACK: ['The cluster is back on the image it last confirmed; look at why the new instances did not register'],
  REJECTED: ['Fix the field the message names and start the run again'],
  NOT_APPROVED: ['Nothing was promoted and later waves were not touched; start a new run when the image may go on'],
  TIMED_OUT: ['ami-pipeline status --stage <stage> shows where each cluster stands'],
  ABORTED: ['ami-pipeline status --stage <stage> shows where each cluster stands'],
};

/** The URLs and ARNs a message names, for the card's related resources. */
function relatedResources(message: string): string[] {
  const arns = message.match(/arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:[^\s)]+/g) ?? [];
  return [...new Set(arns)].slice(0, 5);
}

function clip(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const cut = text.slice(0, limit);
  return `${cut.slice(0, cut.lastIndexOf('\n') > 0 ? cut.lastIndexOf('\n') : limit)}\n… (the full message is in the e-mail)`;
}

export function chatNotification(ops: OpsMessage, context: { threadId?: string; eventType: 'run' | 'retention' | 'alert' | 'approval' }): ChatNotification {
  const status = ops.attributes.status ?? 'UNKNOWN';
  const stage = ops.attributes.stage ?? '';
  const steps = (NEXT_STEPS[status] ?? []).map((s) => s.replace('<stage>', stage));
  return {
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title: `${STATUS_EMOJI[status] ?? ':information_source:'} ${ops.subject}`,
      description: clip(ops.message.trim(), CHAT_DESCRIPTION_LIMIT),
      ...(steps.length ? { nextSteps: steps } : {}),
      keywords: [status, stage, ops.attributes.step ?? ''].filter(Boolean),
    },
    metadata: {
      ...(context.threadId ? { threadId: context.threadId } : {}),
      summary: ops.subject,
      eventType: `${SERVICE_NAME}.${context.eventType}`,
      relatedResources: relatedResources(ops.message),
      additionalContext: Object.fromEntries(Object.entries(ops.attributes).map(([k, v]) => [k, String(v)])),
    },
  };
}
