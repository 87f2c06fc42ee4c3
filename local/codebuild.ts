/**
 * Stands in for the CodeBuild project behind `codebuild:startBuild.sync`: moto's CodeBuild never
 * runs a buildspec and exports no variables, and there is no EC2 to run Packer against.
 *
 * What is real: the per-build variables become Packer variables through buildspec/packer-vars.sh
 * and the real template is checked with `packer validate` (syntax-only: the Debian Packer here
 * predates the plugin's fields; see TOOLCHAIN.md). What is simulated: the instance Packer would
 * provision. The AMI is made from an instance of the source AMI in moto, tagged as the template
 * and buildspec/tag-image-versions.sh tag it, and returned in CodeBuild's `{Build: ...}` shape with
 * the exported variables the buildspec declares.
 */
import { snapshotIdsOf } from '../functions/lib/contracts/ami';
import {
  CreateImageCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  EC2Client,
  RunInstancesCommand,
  type _InstanceType,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeImage, recommendedBaseAmi } from '../functions/lib/aws/aws-lookups';
import {
  AMI_TAGS,
  BUILD_EXPORTS,
  BUILD_OVERRIDES,
  BUILD_PROJECT_ENV,
  MANAGED_BY_VALUE,
  recommendedBaseAmiParameter,
  type BaseAmiArchitecture,
} from '../functions/lib/contracts';

const ROOT = path.join(__dirname, '..');

export interface StartBuildInput {
  ProjectName: string;
  EnvironmentVariablesOverride: { Name: string; Value: string; Type?: string }[];
}

export interface SimulatedBuildOptions {
  region: string;
  /** The project's deploy-time variables (BUILD_PROJECT_ENV), as serverless.yml sets them. */
  projectEnvironment: Record<string, string>;
  /** Fail the way a Packer build failure fails the build (after validation passed). */
  fail?: boolean;
  log: (message: string) => void;
  onBaked?: (amiId: string) => void;
}

function run(command: string, args: string[], env: Record<string, string>): string {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** The buildspec's pre_build: variables from the environment, then validate the real template. */
function validateTemplate(env: Record<string, string>): void {
  const work = mkdtempSync(path.join(tmpdir(), 'simulated-bake-'));
  try {
    writeFileSync(path.join(work, 'vars.json'), run('bash', ['buildspec/packer-vars.sh'], env));
    const template = path.join(work, 'template');
    spawnSync('mkdir', ['-p', template]);
    // packer/plugins.pkr.hcl holds the required_plugins block Packer 1.6.6 rejects (TOOLCHAIN.md).
    for (const file of readdirSync(path.join(ROOT, 'packer')).filter((f) => f.endsWith('.pkr.hcl') && f !== 'plugins.pkr.hcl')) {
      copyFileSync(path.join(ROOT, 'packer', file), path.join(template, file));
    }
    run('packer', ['validate', '-syntax-only', `-var-file=${path.join(work, 'vars.json')}`, template], { CHECKPOINT_DISABLE: '1' });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function failedBuild(projectName: string, message: string) {
  const id = `${projectName}:${randomUUID()}`;
  const build = {
    Id: id,
    BuildStatus: 'FAILED',
    Logs: { DeepLink: `https://console.aws.amazon.com/codesuite/codebuild/projects/${projectName}/build/${encodeURIComponent(id)}/log` },
    Phases: [
      { PhaseType: 'INSTALL', PhaseStatus: 'SUCCEEDED' },
      { PhaseType: 'PRE_BUILD', PhaseStatus: 'SUCCEEDED' },
      { PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: message }] },
    ],
  };
  // What Step Functions raises when a .sync build fails: States.TaskFailed, the build as cause.
  const error = new Error(JSON.stringify(build));
  error.name = 'States.TaskFailed';
  return error;
}

export function simulatedBake(options: SimulatedBuildOptions) {
  const ec2 = new EC2Client({ region: options.region });
  const ssm = new SSMClient({ region: options.region });

  return async (input: StartBuildInput) => {
    const overrides = Object.fromEntries(input.EnvironmentVariablesOverride.map((v) => [v.Name, v.Value]));
    const env: Record<string, string> = { ...options.projectEnvironment, ...overrides, AWS_REGION: options.region };
    const sourceAmi = env[BUILD_OVERRIDES.sourceAmi] ?? '';
    const buildId = env[BUILD_OVERRIDES.buildId] ?? '';

    validateTemplate(env);
    options.log(`packer validate: the template accepts the build's variables (source ${sourceAmi}, build ${buildId})`);
    if (options.fail) {
      options.log('packer build failed (simulated): the build ends FAILED');
      throw failedBuild(input.ProjectName, 'Error while executing command: packer build ... Reason: exit status 1');
    }

    const source = await describeImage(ec2, sourceAmi);
    const architecture = (env.ARCHITECTURE || source?.Architecture || 'x86_64') as BaseAmiArchitecture;
    const recommended = await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(architecture));
    // The real build reads the versions off the instance; the public parameter knows them for its AMI.
    const versions = recommended.imageId === sourceAmi ? recommended : undefined;
    const name = `${env[BUILD_PROJECT_ENV.amiNamePrefix] || 'ecs-ami-pipeline'}-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${randomUUID().slice(0, 4)}`;
    const tags: Record<string, string> = {
      [AMI_TAGS.name]: name,
      [AMI_TAGS.managedBy]: MANAGED_BY_VALUE,
      [AMI_TAGS.sourceAmiId]: sourceAmi,
      [AMI_TAGS.sourceAmiName]: source?.Name ?? '',
      [AMI_TAGS.ecsAgentVersion]: versions?.ecsAgentVersion ?? 'unknown',
      [AMI_TAGS.dockerVersion]: versions?.ecsRuntimeVersion ?? 'unknown',
      // dnf --releasever: a pinned release is reached as it is; `latest` stands in as the base's own.
      [AMI_TAGS.osRelease]: osReleaseReached(env[BUILD_PROJECT_ENV.osReleaseVersion], source?.Name),
      [AMI_TAGS.timezone]: env[BUILD_PROJECT_ENV.timezone] || 'UTC',
      [AMI_TAGS.buildId]: buildId,
      [AMI_TAGS.stage]: env[BUILD_PROJECT_ENV.stage] || 'laptop',
      [AMI_TAGS.gitCommit]: env[BUILD_OVERRIDES.gitCommit] ?? '',
      [AMI_TAGS.packerAssets]: env[BUILD_PROJECT_ENV.packerAssetsSha256] ?? '',
    };
    const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

    // Packer launches the source AMI, provisions it and makes an image of it.
    const instance = (await ec2.send(new RunInstancesCommand({ ImageId: sourceAmi, MinCount: 1, MaxCount: 1, InstanceType: (env[BUILD_PROJECT_ENV.instanceType] || 't3.medium') as _InstanceType })))
      .Instances![0]!.InstanceId!;
    const image = await ec2.send(
      new CreateImageCommand({ InstanceId: instance, Name: name, TagSpecifications: [{ ResourceType: 'image', Tags }] }),
    );
    const amiId = image.ImageId!;
    const snapshots = snapshotIdsOf((await ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] }))).Images?.[0]);
    // moto cannot tag snapshots through CreateImage's TagSpecifications; the template's
    // snapshot_tags (and tag-image-versions.sh) end in the same tags.
    if (snapshots.length) await ec2.send(new CreateTagsCommand({ Resources: snapshots, Tags }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance] }));
    options.log(`baked ${amiId} (${architecture}) from ${sourceAmi}, tagged ${AMI_TAGS.managedBy}=${MANAGED_BY_VALUE}`);
    options.onBaked?.(amiId);

    const id = `${input.ProjectName}:${randomUUID()}`;
    return {
      Build: {
        Id: id,
        Arn: `arn:aws:codebuild:${options.region}:123456789012:build/${id}`,
        BuildStatus: 'SUCCEEDED',
        Logs: { DeepLink: `https://console.aws.amazon.com/codesuite/codebuild/projects/${input.ProjectName}/build/${encodeURIComponent(id)}/log` },
        ExportedEnvironmentVariables: [
          { Name: BUILD_EXPORTS.amiId, Value: amiId },
          { Name: BUILD_EXPORTS.amiRegion, Value: options.region },
          { Name: BUILD_EXPORTS.sourceAmi, Value: sourceAmi },
        ],
      },
    };
  };
}

/** The Amazon Linux release a simulated bake reaches: the pinned one, else the base image's (from its name). */
function osReleaseReached(pinned: string | undefined, baseName: string | undefined): string {
  if (pinned && pinned !== 'latest') return pinned;
  return /-(2023\.\d+\.\d{8})-/.exec(baseName ?? '')?.[1] ?? 'unknown';
}
