import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import type { Wave } from '../functions/lib/contracts';
import { executionConsoleUrl, executionName } from '../functions/lib/contracts/executions';
import { formatDuration } from '../functions/lib/decisions/notification';
import type { RunRequest } from '../functions/lib/decisions/request';
import type { Context } from './context';
import { EXIT, CliError } from './errors';
import { describeResult, exitCodeOf, outcomeOf, type RunResult } from './outcome';
import { followExecution, formatStep, type RunEnd, type Step } from './progress';
import type { Style } from './style';

/** `manual-20261126-013000-a1b2c3`: sortable, says who started it, unique even for two ops in the same second. */
export function manualExecutionName(now: Date, suffix: string = randomBytes(3).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return executionName('manual', stamp, suffix);
}

export function describeWaves(waves: Wave[]): string {
  if (waves.length === 0) return 'no cluster';
  return waves.map((w) => `${w.name} (${w.clusters.map((c) => c.stackName).join(', ')})`).join(' → ');
}

/** What the run will do, in one line, from the validated request. */
export function describeRequest(request: RunRequest, waves: Wave[]): string {
  if (request.rollback) return `roll back to ${request.rollback.toAmi ?? 'the previous image'} on ${describeWaves(waves)}`;
  const base = request.sourceAmi ? `bake from ${request.sourceAmi}` : 'bake from the newest ECS-optimized base';
  return request.dryRun ? `${base}, dry run: roll nothing` : `${base}, then roll ${describeWaves(waves)}`;
}

/** `Ended ROLLED_BACK after 14m 2s: Rolled back: new image not confirmed`, then the Fail state's cause. */
export function formatEnd(end: RunEnd, result: RunResult, style: Style): string[] {
  const code = exitCodeOf(result);
  const colour = code === EXIT.ok ? style.green : code === EXIT.rolledBack || code === EXIT.skipped ? style.yellow : style.red;
  const lines = [colour(style.bold(`Ended ${result} after ${formatDuration(end.elapsedMs)}: ${end.lastState ?? describeResult(result)}`))];
  if (end.cause) lines.push(`  ${end.cause}`);
  return lines;
}

/** Asks on the terminal; anything but y/yes is a no. */
export async function confirm(question: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<boolean> {
  const rl = createInterface({ input, output, terminal: false });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

interface Reporter {
  step(step: Step): void;
  stop(): void;
}

// A spinner only where someone watches: on a terminal it shows the current step's time; in CI and
// pipes every step is one plain line. A terminal that reports no width (some CI pseudo-terminals)
// gets plain lines too: ora divides by the width to know how many lines to clear.
/** The state that waits for a person (statemachine/pipeline.asl.json), and how to answer it. */
export const APPROVAL_STATE = 'Ask ops to approve the wave';
export function approvalHint(run: string, stage: string): string {
  return `  waiting for approval: ami-pipeline approve ${run} --stage ${stage}  (or: reject ${run} --stage ${stage} --reason "...")`;
}

async function createReporter(ctx: Context, run: string): Promise<Reporter> {
  const print = (step: Step) => {
    ctx.print(formatStep(step, ctx.style.dim));
    if (step.state === APPROVAL_STATE) ctx.print(ctx.style.yellow(approvalHint(run, ctx.stage)));
  };
  if (!process.stderr.isTTY || !(process.stderr.columns > 0)) return { step: print, stop: () => undefined };
  const { default: ora } = await import('ora');
  const spinner = ora({ stream: process.stderr, color: ctx.style.enabled ? 'cyan' : false, discardStdin: false });
  let current: { state: string; since: number } | undefined;
  const timer = setInterval(() => {
    if (current) spinner.text = `${current.state} ${ctx.style.dim(formatDuration(Date.now() - current.since))}`;
  }, 1000);
  return {
    step(step) {
      print(step);
      current = { state: step.detail ? `${step.state} · ${step.detail}` : step.state, since: Date.now() };
      spinner.text = current.state;
      if (!spinner.isSpinning) spinner.start();
    },
    stop() {
      clearInterval(timer);
      spinner.stop();
    },
  };
}

export interface StartOptions {
  wait: boolean;
  pollMs: number;
}

/** Starts the validated request as a manual run, then follows it to its end (unless --no-wait). */
export async function startRun(ctx: Context, stateMachineArn: string, request: RunRequest, waves: Wave[], options: StartOptions): Promise<number> {
  const name = manualExecutionName(new Date());
  const started = await ctx.clients.sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(request) }),
  );
  const executionArn = started.executionArn!;
  if (!options.wait) {
    // stdout carries only the ARN, for scripts: ARN=$(ami-pipeline run --no-wait)
    ctx.note(`Started ${name} on stage ${ctx.stage}: ${describeRequest(request, waves)}`);
    ctx.print(executionArn);
    return EXIT.ok;
  }
  ctx.print(`Started ${ctx.style.bold(name)} on stage ${ctx.stage}: ${describeRequest(request, waves)}`);
  ctx.print(ctx.style.dim(`  ${executionConsoleUrl(executionArn)}`));
  ctx.print();

  const reporter = await createReporter(ctx, name);
  const interrupted = () => {
    reporter.stop();
    ctx.note(`\nStopped following. The run goes on: ${executionArn}`);
    process.exit(EXIT.interrupted);
  };
  process.once('SIGINT', interrupted);
  let end: RunEnd;
  try {
    end = await followExecution(ctx.clients.sfn, executionArn, (step) => reporter.step(step), {
      pollMs: options.pollMs,
      startedAt: started.startDate ?? new Date(),
    });
  } finally {
    reporter.stop();
    process.removeListener('SIGINT', interrupted);
  }
  const result = outcomeOf(end);
  ctx.print();
  for (const line of formatEnd(end, result, ctx.style)) ctx.print(line);
  return exitCodeOf(result);
}

/** The refusal when nobody can answer the question. */
export function needsConfirmation(what: string): CliError {
  return new CliError(`${what} needs confirmation, and stdin is not a terminal: add --yes to confirm; nothing was started`);
}

/** A run can take an hour; every few seconds is live enough and a small share of the API's rate. */
export const POLL_MS = 5000;

/** The exit codes of `run` and `rollback`; `dryRun` says whether the command has --dry-run. */
export function runExitCodes(options: { dryRun: boolean }): string {
  const zero = options.dryRun
    ? 'succeeded: the fleet (or, with --clusters, the clusters named) is on the image; with --dry-run, the image is baked'
    : 'succeeded: the fleet (or, with --clusters, the clusters named) is on the image';
  return `
Exit codes (how the run ended):
    0  ${zero}; --no-wait: started
    1  failed, or rejected by the state machine (the notification says why)
    2  rolled back: a cluster did not confirm the image and was put back on the image it last confirmed
    3  CRITICAL: a cluster needs a person (the notification says which and why)
    4  nothing started: bad option or input, unknown stage, credentials, or no confirmation
    5  skipped: another run held the fleet; nothing changed
  130  interrupted: you stopped following; the run goes on
`;
}
