/**
 * Task tokens of `.waitForTaskToken` states run in-process: the local task handler waits on its
 * token, and the Step Functions proxy (local/sfn-proxy.ts) answers it when a SendTaskSuccess,
 * SendTaskFailure or SendTaskHeartbeat call arrives, as Step Functions does for a deployed run.
 * Depends on nothing else in the harness, so a state's local handler can use it directly:
 *
 *   const answer = await waitForTaskAnswer(token);   // resolves on SendTaskSuccess / SendTaskFailure
 *   if ('error' in answer) throw Object.assign(new Error(answer.cause ?? ''), { name: answer.error });
 *   return JSON.parse(answer.output);
 */
import { randomBytes } from 'node:crypto';

export type TaskAnswer = { output: string } | { error: string; cause?: string };

/** What answering a token did, in the terms of Step Functions' errors for SendTask*. */
export type AnswerResult =
  | 'answered'
  /** Issued once, but nobody waits on it any more (answered, or forgotten when its run ended). */
  | 'TaskDoesNotExist'
  /** Never issued here: Step Functions cannot decode a token it did not make. */
  | 'InvalidToken';

interface Waiting {
  resolve: (answer: TaskAnswer) => void;
  lastHeartbeat?: Date;
}

export class TaskTokenRegistry {
  private readonly waiting = new Map<string, Waiting>();
  private readonly issued = new Set<string>();

  /** A fresh token, shaped like the opaque ones Step Functions hands a task. */
  newToken(): string {
    const token = randomBytes(96).toString('base64url');
    this.issued.add(token);
    return token;
  }

  /** Resolves with the first SendTaskSuccess or SendTaskFailure for this token. */
  waitForTaskAnswer(token: string): Promise<TaskAnswer> {
    this.issued.add(token);
    return new Promise((resolve) => {
      this.waiting.set(token, { resolve });
    });
  }

  /** Resolves the waiting task; a token answers once, like on AWS. */
  answerTask(token: string, answer: TaskAnswer): AnswerResult {
    const waiting = this.waiting.get(token);
    if (!waiting) return this.missing(token);
    this.waiting.delete(token);
    waiting.resolve(answer);
    return 'answered';
  }

  /** Heartbeats only prove the token is still awaited: local runs have no heartbeat timeout to reset. */
  heartbeat(token: string): AnswerResult {
    const waiting = this.waiting.get(token);
    if (!waiting) return this.missing(token);
    waiting.lastHeartbeat = new Date();
    return 'answered';
  }

  /** Stops waiting on a token (its run was stopped): later answers get TaskDoesNotExist. */
  forget(token: string): void {
    this.waiting.delete(token);
  }

  isWaiting(token: string): boolean {
    return this.waiting.has(token);
  }

  lastHeartbeat(token: string): Date | undefined {
    return this.waiting.get(token)?.lastHeartbeat;
  }

  private missing(token: string): AnswerResult {
    return this.issued.has(token) ? 'TaskDoesNotExist' : 'InvalidToken';
  }
}

/** The registry of this process: the proxy and the local task handlers meet here. */
export const taskTokens = new TaskTokenRegistry();

export const newTaskToken = (): string => taskTokens.newToken();
export const waitForTaskAnswer = (token: string): Promise<TaskAnswer> => taskTokens.waitForTaskAnswer(token);
export const answerTask = (token: string, answer: TaskAnswer): AnswerResult => taskTokens.answerTask(token, answer);
export const heartbeatTask = (token: string): AnswerResult => taskTokens.heartbeat(token);
export const forgetTask = (token: string): void => taskTokens.forget(token);
