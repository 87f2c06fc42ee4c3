import {
  CreateImageCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AMI_TAGS, MANAGED_BY_VALUE, recommendedBaseAmiParameter } from '../../functions/lib/contracts';
import { parseRecommendedBaseAmi } from '../../functions/lib/contracts/ami';
import type { Moto } from '../../local/moto';
import { cliBundle } from '../support/cli-bundle';

const ROOT = path.join(__dirname, '..', '..');
/** The entry users run: TypeScript through tsx (test/cli/entry.test.ts runs it as it ships). */
export const BIN = path.join(ROOT, 'bin', 'ami-pipeline.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A home with empty AWS config files: the CLI sees only the environment a test gives it, never
 * the profiles of whoever runs the tests.
 */
export function isolatedHome(): Record<string, string> {
  const home = mkdtempSync(path.join(tmpdir(), 'ami-pipeline-cli-'));
  writeFileSync(path.join(home, 'config'), '');
  writeFileSync(path.join(home, 'credentials'), '');
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    USER: 'cli-test',
    AWS_CONFIG_FILE: path.join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** The environment of a user whose AWS is the given moto. */
export function motoUser(moto: Moto): Record<string, string> {
  return { ...isolatedHome(), ...moto.env };
}

/**
 * The CLI for one command line, in this process: the code main.ts runs (cli/run-cli.ts), with
 * `env` as the whole environment for the call, as a process started with it would have (the SDK
 * reads its credentials, region and endpoints from it), stdout and stderr captured, and stdin not
 * a terminal. A process start per call cost about half a CPU-second (loading the CLI and the SDK
 * again); runCliProcess runs the CLI as it ships where the process itself is the point.
 *
 * The environment is this process's for the duration of the call: one call at a time, and
 * nothing else in the test may make AWS calls while it runs.
 */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 25_000): Promise<CliResult> {
  if (inProcessCall) throw new Error(`runCli(${args.join(' ')}) while ${inProcessCall} runs: one in-process CLI call at a time`);
  inProcessCall = args.join(' ') || '(no arguments)';
  const saved = process.env;
  process.env = { ...env };
  let stdout = '';
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  try {
    const { runCli: run } = await import('../../cli/run-cli');
    const code = await Promise.race([
      run(['node', 'ami-pipeline', ...args], { writeOut: (t) => (stdout += t), writeErr: (t) => (stderr += t), stdinIsTTY: () => false }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`ami-pipeline ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`)), timeoutMs);
      }),
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    process.env = saved;
    inProcessCall = undefined;
  }
}
let inProcessCall: string | undefined;

/** Runs the CLI as it ships (its bundle, in a node process of its own), as a user would, with stdin not a terminal. */
export async function runCliProcess(args: string[], env: Record<string, string>, timeoutMs = 25_000): Promise<CliResult> {
  const bundle = await cliBundle();
  return new Promise((resolve, reject) => {
    // V8's compile cache beside the bundle: every start after the first skips compiling it again.
    const child = spawn(process.execPath, [bundle, ...args], {
      env: { ...env, NODE_COMPILE_CACHE: path.join(path.dirname(bundle), 'compile-cache') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ami-pipeline ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI in this process with this process's environment, for what never reaches AWS (help, usage and option errors). */
export function runCliInProcess(args: string[]): Promise<CliResult> {
  return runCli(args, process.env as Record<string, string>);
}

/** Non-empty lines of a stream. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

export const REGION = 'us-east-1';

export async function recommendedBase(): Promise<{ imageId: string; imageName?: string }> {
  const name = recommendedBaseAmiParameter('x86_64');
  const out = await new SSMClient({ region: REGION }).send(new GetParameterCommand({ Name: name }));
  return parseRecommendedBaseAmi(name, out.Parameter?.Value);
}

/** Two of the AMIs moto ships (Amazon's), to launch instances from and to stand in for old bases. */
export async function amazonImages(count: number): Promise<string[]> {
  const out = await new EC2Client({ region: REGION }).send(
    new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'architecture', Values: ['x86_64'] }] }),
  );
  return (out.Images ?? []).slice(0, count).map((i) => i.ImageId!);
}

/** An image as Packer bakes it: tagged as the pipeline's (stage `dev` unless told), built on `baseAmiId`. */
export async function pipelineImage(baseAmiId: string, name: string, stage = 'dev'): Promise<string> {
  const ec2 = new EC2Client({ region: REGION });
  const run = await ec2.send(new RunInstancesCommand({ ImageId: baseAmiId, MinCount: 1, MaxCount: 1 }));
  const image = await ec2.send(new CreateImageCommand({ InstanceId: run.Instances![0]!.InstanceId!, Name: name }));
  await ec2.send(
    new CreateTagsCommand({
      Resources: [image.ImageId!],
      Tags: [
        { Key: AMI_TAGS.managedBy, Value: MANAGED_BY_VALUE },
        { Key: AMI_TAGS.sourceAmiId, Value: baseAmiId },
        { Key: AMI_TAGS.stage, Value: stage },
      ],
    }),
  );
  return image.ImageId!;
}

export async function executions(stateMachineArn: string) {
  const out = await new SFNClient({ region: REGION }).send(new ListExecutionsCommand({ stateMachineArn }));
  return out.executions ?? [];
}
