import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * scripts/deploy-cluster.sh (behind `make cluster STAGE=...`) run against a stand-in `aws` that
 * records its arguments, in a scratch copy of the repository layout so that parameter files can
 * be varied.
 */

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'deploy-cluster.sh');

const FAKE_AWS = `#!/usr/bin/env bash
# One line per call, arguments separated by a unit separator.
(IFS=$'\\x1f'; printf '%s\\n' "$*") >>"$FAKE_AWS_LOG"
if [[ "$1 $2" == "cloudformation describe-stacks" ]]; then
  if [[ -n \${FAKE_DESCRIBE_ERROR:-} ]]; then echo "$FAKE_DESCRIBE_ERROR" >&2; exit 254; fi
  if [[ -n \${FAKE_STACK_STATUS:-} ]]; then echo "$FAKE_STACK_STATUS"; exit 0; fi
  echo "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id $4 does not exist" >&2
  exit 254
fi
if [[ "$1 $2" == "ssm get-parameter" ]]; then
  if [[ -n \${FAKE_LATEST_AMI:-} ]]; then echo "$FAKE_LATEST_AMI"; exit 0; fi
  echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: " >&2
  exit 254
fi
if [[ "$1 $2" == "ec2 describe-images" ]]; then
  echo "\${FAKE_IMAGE_MANAGED_BY-ecs-ami-pipeline}"
  exit 0
fi
exit 0
`;

const GOOD_CFG = [
  'ApplicationImageId=ami-0a1b2c3d4e5f60718',
  'InstanceType=t3.medium',
  'VpcId=vpc-0a1b2c3d4e5f60718',
  'ApplicationSubnets=subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719',
  'ApplicationMinSize=1',
  'ApplicationDesiredCount=2',
  'ApplicationMaxSize=3',
  'MaxBatchSize=1',
  '',
].join('\n');

let scratch: string;

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'deploy-cluster-'));
  mkdirSync(join(scratch, 'scripts'));
  mkdirSync(join(scratch, 'cluster', 'params'), { recursive: true });
  mkdirSync(join(scratch, 'bin'));
  copyFileSync(SCRIPT, join(scratch, 'scripts', 'deploy-cluster.sh'));
  writeFileSync(join(scratch, 'bin', 'aws'), FAKE_AWS);
  chmodSync(join(scratch, 'bin', 'aws'), 0o755);
  writeFileSync(join(scratch, 'cluster', 'params', 'dev.cfg'), GOOD_CFG);
  writeFileSync(join(scratch, 'cluster', 'params', 'prod.cfg'), GOOD_CFG);
});

afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}, script = join(scratch, 'scripts', 'deploy-cluster.sh')) {
  const log = join(scratch, 'aws.log');
  const base: Record<string, string> = { PATH: `${join(scratch, 'bin')}:${process.env.PATH}`, HOME: scratch, FAKE_AWS_LOG: log };
  const result = spawnSync('bash', [script, ...args], { env: { ...base, ...env }, encoding: 'utf8' });
  const calls = existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\x1f'))
    : [];
  return { status: result.status, stderr: result.stderr, calls };
}

function deployCall(calls: string[][]): string[] {
  const deploys = calls.filter((c) => c[0] === 'cloudformation' && c[1] === 'deploy');
  expect(deploys).toHaveLength(1);
  return deploys[0]!;
}

function overridesOf(call: string[]): string[] {
  const start = call.indexOf('--parameter-overrides') + 1;
  const end = call.indexOf('--capabilities');
  return call.slice(start, end);
}

it('names the available stages when STAGE is missing', () => {
  const { status, stderr, calls } = run([]);
  expect(status).not.toBe(0);
  expect(stderr).toContain('no STAGE given; use one of: dev prod');
  expect(calls).toEqual([]);
});

it('rejects an unknown STAGE clearly, without calling AWS', () => {
  const { status, stderr, calls } = run(['qa']);
  expect(status).not.toBe(0);
  expect(stderr).toContain("unknown STAGE 'qa'");
  expect(stderr).toContain('stages: dev prod');
  expect(calls).toEqual([]);
});

it('rejects a STAGE that is a path', () => {
  const { status, stderr } = run(['../params/dev']);
  expect(status).not.toBe(0);
  expect(stderr).toContain('not a plain name');
});

it('refuses the shipped parameter files until their placeholder ids are replaced', () => {
  for (const stage of ['dev', 'prod']) {
    const { status, stderr, calls } = run([stage], {}, SCRIPT);
    expect([stage, status]).toEqual([stage, 1]);
    expect(stderr).toContain('placeholder');
    expect(calls).toEqual([]);
  }
});

it('creates a new stack with every value of the stage file, as the book deploys it', () => {
  const { status, stderr, calls } = run(['dev']);
  expect([status, stderr]).toEqual([0, expect.any(String)]);
  expect(calls[0]?.slice(0, 4)).toEqual(['cloudformation', 'describe-stacks', '--stack-name', 'ecs-cluster-dev']);
  const deploy = deployCall(calls);
  expect(deploy.slice(0, 6)).toEqual([
    'cloudformation',
    'deploy',
    '--template-file',
    'cluster/ecs-cluster.yml',
    '--stack-name',
    'ecs-cluster-dev',
  ]);
  expect(overridesOf(deploy)).toEqual(GOOD_CFG.split('\n').filter((l) => l !== ''));
  expect(deploy.slice(deploy.indexOf('--capabilities'))).toEqual([
    '--capabilities',
    'CAPABILITY_NAMED_IAM',
    '--no-fail-on-empty-changeset',
  ]);
});

it('takes the stage from the environment too, and the stack name from CLUSTER_STACK_NAME', () => {
  const { status, calls } = run([], { STAGE: 'prod', CLUSTER_STACK_NAME: 'payments-cluster' });
  expect(status).toBe(0);
  expect(deployCall(calls)).toContain('payments-cluster');
});

it('leaves the image of an existing stack to the pipeline', () => {
  const { status, stderr, calls } = run(['dev'], { FAKE_STACK_STATUS: 'UPDATE_COMPLETE' });
  expect(status).toBe(0);
  const overrides = overridesOf(deployCall(calls));
  expect(overrides.filter((o) => o.startsWith('ApplicationImageId='))).toEqual([]);
  expect(overrides).toContain('ApplicationMaxSize=3');
  expect(stderr).toContain('Keeping the image the stack runs');
});

it('deploys an explicit IMAGE_ID, on an existing stack as on a new one', () => {
  for (const status of ['UPDATE_COMPLETE', '']) {
    const result = run(['dev'], { FAKE_STACK_STATUS: status, IMAGE_ID: 'ami-0fedcba9876543210' });
    expect(result.status).toBe(0);
    const images = overridesOf(deployCall(result.calls)).filter((o) => o.startsWith('ApplicationImageId='));
    expect(images).toEqual(['ApplicationImageId=ami-0fedcba9876543210']);
    rmSync(join(scratch, 'aws.log'), { force: true });
  }
  expect(run(['dev'], { IMAGE_ID: 'not-an-ami' }).status).not.toBe(0);
});

it('treats a stack that never left REVIEW_IN_PROGRESS as new', () => {
  const { calls } = run(['dev'], { FAKE_STACK_STATUS: 'REVIEW_IN_PROGRESS' });
  expect(overridesOf(deployCall(calls))).toContain('ApplicationImageId=ami-0a1b2c3d4e5f60718');
});

it('stops when the stack cannot be looked up for another reason', () => {
  const { status, stderr, calls } = run(['dev'], { FAKE_DESCRIBE_ERROR: 'An error occurred (AccessDenied)' });
  expect(status).not.toBe(0);
  expect(stderr).toContain('could not look up stack ecs-cluster-dev');
  expect(calls.filter((c) => c[1] === 'deploy')).toEqual([]);
});

it('passes a CloudFormation service role when one is given, and refuses anything else', () => {
  const role = 'arn:aws:iam::123456789012:role/ecs-cluster-deployer';
  const { status, calls } = run(['dev'], { CFN_ROLE_ARN: role });
  expect(status).toBe(0);
  expect(deployCall(calls).slice(-2)).toEqual(['--role-arn', role]);
  rmSync(join(scratch, 'aws.log'), { force: true });
  const bad = run(['dev'], { CFN_ROLE_ARN: 'ecs-cluster-deployer' });
  expect(bad.status).not.toBe(0);
  expect(bad.calls.filter((c) => c[1] === 'deploy')).toEqual([]);
});

it('refuses sizes that leave no room for a rolling batch', () => {
  writeFileSync(join(scratch, 'cluster', 'params', 'dev.cfg'), GOOD_CFG.replace('ApplicationMaxSize=3', 'ApplicationMaxSize=2').replace('MaxBatchSize=1', 'MaxBatchSize=2'));
  const { status, stderr, calls } = run(['dev']);
  expect(status).not.toBe(0);
  expect(stderr).toContain('ApplicationMaxSize (2) must be at least ApplicationDesiredCount + MaxBatchSize (2 + 2)');
  expect(calls).toEqual([]);
});

it('refuses lines that --parameter-overrides $(cat file) would split or misread', () => {
  for (const bad of ['# a comment', 'HostDirectories=/data/my dir:1:1', 'InstanceType t3.medium']) {
    writeFileSync(join(scratch, 'cluster', 'params', 'dev.cfg'), `${GOOD_CFG}${bad}\n`);
    const { status, stderr } = run(['dev']);
    expect([bad, status]).toEqual([bad, 1]);
    expect(stderr).toContain('is not Key=Value without spaces');
  }
});

describe('the first deployment: a new stack needs an image this pipeline baked', () => {
  const WITHOUT_IMAGE = GOOD_CFG.split('\n').filter((l) => !l.startsWith('ApplicationImageId=')).join('\n');
  beforeEach(() => writeFileSync(join(scratch, 'cluster', 'params', 'dev.cfg'), WITHOUT_IMAGE));

  it("takes the stage's newest baked image (ami/latest) when the .cfg names none", () => {
    const { status, stderr, calls } = run(['dev'], { FAKE_LATEST_AMI: 'ami-0aaaabbbbccccdddd' });
    expect(status).toBe(0);
    expect(calls).toContainEqual(['ssm', 'get-parameter', '--name', '/ecs-ami-pipeline/dev/ami/latest', '--query', 'Parameter.Value', '--output', 'text']);
    expect(overridesOf(deployCall(calls))).toContain('ApplicationImageId=ami-0aaaabbbbccccdddd');
    expect(stderr).toContain('Creating the stack on the pipeline\'s newest baked image ami-0aaaabbbbccccdddd');
  });

  it('reads the pipeline parameters where PIPELINE_PARAMETER_PREFIX says', () => {
    const { calls } = run(['dev'], { FAKE_LATEST_AMI: 'ami-0aaaabbbbccccdddd', PIPELINE_PARAMETER_PREFIX: '/platform/ami/prod' });
    expect(calls[1]).toEqual(expect.arrayContaining(['--name', '/platform/ami/prod/ami/latest']));
  });

  it('says to bake first, and deploys nothing, when nothing is baked yet', () => {
    const { status, stderr, calls } = run(['dev']);
    expect(status).toBe(1);
    expect(stderr).toContain('error: no image for the new stack ecs-cluster-dev: /ecs-ami-pipeline/dev/ami/latest does not exist yet. Bake one first with: npx ami-pipeline run --stage dev --dry-run');
    expect(calls.filter((c) => c[1] === 'deploy')).toEqual([]);
  });

  it('refuses a stock image (no ManagedBy tag): the stack would fail on its missing first-run script', () => {
    const { status, stderr, calls } = run(['dev'], { IMAGE_ID: 'ami-0123412341234abcd', FAKE_IMAGE_MANAGED_BY: 'None' });
    expect(status).toBe(1);
    expect(stderr).toContain('error: ami-0123412341234abcd is not an image this pipeline baked');
    expect(calls.filter((c) => c[1] === 'deploy')).toEqual([]);
  });

  it('leaves an existing stack\'s image alone: the pipeline owns it', () => {
    const { status, calls } = run(['dev'], { FAKE_STACK_STATUS: 'UPDATE_COMPLETE' });
    expect(status).toBe(0);
    expect(calls.some((c) => c[0] === 'ssm')).toBe(false);
    expect(overridesOf(deployCall(calls)).filter((o) => o.startsWith('ApplicationImageId='))).toEqual([]);
  });
});
