import { createHash } from 'node:crypto';

/** What the pipeline needs to know about a Step Functions execution. */
export interface ExecutionSummary {
  executionArn: string;
  startDate: Date;
}

/**
 * The run this one must give way to, if any. Only one run may roll the fleet at a time; when two
 * start together, both see each other, so the earlier start (then the smaller ARN) wins and only
 * the later one is skipped.
 */
export function runToGiveWayTo(mine: ExecutionSummary, running: ExecutionSummary[]): ExecutionSummary | undefined {
  const precedes = (a: ExecutionSummary, b: ExecutionSummary) =>
    a.startDate.getTime() < b.startDate.getTime() ||
    (a.startDate.getTime() === b.startDate.getTime() && a.executionArn < b.executionArn);
  return running
    .filter((other) => other.executionArn !== mine.executionArn && precedes(other, mine))
    .sort((a, b) => a.startDate.getTime() - b.startDate.getTime())[0];
}

/** arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME -> arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE */
export function stateMachineArnOf(executionArn: string): string {
  const parts = executionArn.split(':');
  if (parts.length < 8 || parts[0] !== 'arn' || parts[2] !== 'states' || parts[5] !== 'execution') {
    throw new Error(`not a Step Functions execution ARN: ${executionArn}`);
  }
  return [...parts.slice(0, 5), 'stateMachine', parts[6]].join(':');
}

/** arn:...:stateMachine:MACHINE + NAME -> arn:...:execution:MACHINE:NAME */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** The name of an execution: the last part of its ARN. */
export function executionNameOf(executionArn: string): string {
  return executionArn.split(':').pop() ?? executionArn;
}

/** Where a person opens the execution in the Step Functions console. */
export function executionConsoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3] || 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/**
 * An idempotency token of at most `limit` characters: the text itself when it fits, otherwise cut
 * with a hash of the whole, so two different texts never share a token.
 */
export function boundedToken(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit - 17)}-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** Execution names allow 1-80 characters from [A-Za-z0-9-_]. */
export function executionName(...parts: string[]): string {
  return parts
    .join('-')
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 80);
}
