'use strict';
// The pipeline as `osls package` makes it, for the two stages the checks read: `default` (every
// param at its default) and `configured` (the demo's stage and waves, with every optional param
// set). Packaging takes about 20 s a stage, and the deploy tests, the IAM evaluation and the
// proactive controls all read the same templates, so each is packaged once per change of its inputs
// and kept under .build/packaged/<name>. Packaging runs in a copy of the project, so a `make
// package` or a test packaging a bad config at the same time cannot race it on .serverless/.
//
// Usage: node deploy/packaged-stages.js   (packages what is stale, prints where)
const { createHash } = require('node:crypto');
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, '.build', 'packaged');

/**
 * The demo fleet's stacks, clusters and gates (local/world.ts), so the IAM evaluation of the demo
 * scenarios reads roles granted on the demo's names and alarm; prod names its image parameter, to
 * package a non-default.
 */
const DEMO_WAVES = [
  {
    name: 'dev',
    clusters: [{ stackName: 'ecs-dev', clusterName: 'ecs-dev' }],
    // local/gates.ts DEMO_DEV_SOAK (test/deploy/packaged-stages.test.ts keeps them equal).
    soak: { minutes: 2, alarms: ['ecs-dev-errors'], checkServices: true, checkEverySeconds: 30 },
  },
  {
    name: 'prod',
    clusters: [
      { stackName: 'ecs-prod', clusterName: 'ecs-prod', imageParameter: 'ImageId' },
      // local/regional-cluster.ts: prod's cluster in the copy region.
      { stackName: 'ecs-prod-eu', clusterName: 'ecs-prod-eu', region: 'eu-west-1' },
      // local/arm-cluster.ts: prod's Graviton cluster.
      { stackName: 'ecs-prod-arm', clusterName: 'ecs-prod-arm', architecture: 'arm64' },
    ],
    requireApproval: true,
  },
];

const STAGES = {
  default: { stage: 'ci', params: [] },
  configured: {
    stage: 'demo',
    params: [
      `waves=${JSON.stringify(DEMO_WAVES)}`,
      'opsEmail=ops@example.com',
      'buildVpcId=vpc-0123456789abcdef0',
      'buildSubnetId=subnet-0123456789abcdef0',
      'ebsKmsKeyId=arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555',
      'chatNotifications=true',
      'shareWith=["111122223333","arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-abcd-efghijkl"]',
      'imageRetention=report',
      // The demo copies to eu-west-1 (local/gates.ts DEMO_COPY_REGION); a sharing stage needs the region's own key.
      'copyToRegions=[{"region":"eu-west-1","kmsKeyId":"arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"}]',
    ],
  },
};

// What a package is made from. node_modules counts through the lockfile.
const INPUTS = ['serverless.yml', 'package-lock.json', 'deploy', 'functions', 'statemachine', 'packer', 'files', 'buildspec', ...require('../scripts/bundler-files.json').files];

function inputDigest() {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '--', ...INPUTS], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && fs.existsSync(path.join(ROOT, f)))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(file).update('\0').update(fs.readFileSync(path.join(ROOT, file))).update('\0');
  return hash.digest('hex');
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One packager at a time (jest workers may ask together); a lock older than 5 minutes is stale. */
function withLock(fn) {
  const lock = path.join(OUT, '.lock');
  fs.mkdirSync(OUT, { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      if (Date.now() - fs.statSync(lock).mtimeMs > 300_000) fs.rmSync(lock, { recursive: true, force: true });
      else sleep(500);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

const BUNDLES = path.join(OUT, '.bundles');
const NOT_COPIED = new Set(['node_modules', '.build', '.serverless', '.git', 'coverage']);

function packageInCopy(name, digest) {
  const { stage, params } = STAGES[name];
  const dir = path.join(OUT, name);
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'osls-project-'));
  try {
    fs.cpSync(ROOT, copy, { recursive: true, filter: (src) => path.dirname(src) !== ROOT || !NOT_COPIED.has(path.basename(src)) });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    // The function bundles do not depend on the stage: the last packaging's are reused when their
    // inputs digest matches (scripts/build.mjs checks), so the second stage skips esbuild.
    const bundles = path.join(copy, '.build', 'functions');
    if (fs.existsSync(BUNDLES)) fs.cpSync(BUNDLES, bundles, { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
    const result = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'osls'),
      ['package', '--stage', stage, '--package', dir, ...params.map((p) => `--param=${p}`)],
      // The commit is baked into the template; the copy has no .git, so say which it is.
      { cwd: copy, encoding: 'utf8', env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', GIT_COMMIT: process.env.GIT_COMMIT || 'packaged-for-tests' } },
    );
    if (result.status !== 0) throw new Error(`osls package (${name}) failed:\n${result.stdout}\n${result.stderr}`);
    fs.rmSync(BUNDLES, { recursive: true, force: true });
    fs.cpSync(bundles, BUNDLES, { recursive: true });
    fs.writeFileSync(path.join(dir, 'inputs.sha256'), `${digest}\n`);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

/** Packages the stage if its inputs changed since; returns the directory holding the package. */
function packagedStage(name, digest = inputDigest()) {
  if (!STAGES[name]) throw new Error(`no packaged stage "${name}"; known: ${Object.keys(STAGES).join(', ')}`);
  const dir = path.join(OUT, name);
  const fresh = () => {
    try {
      return fs.readFileSync(path.join(dir, 'inputs.sha256'), 'utf8').trim() === digest;
    } catch {
      return false;
    }
  };
  if (!fresh()) withLock(() => fresh() || packageInCopy(name, digest));
  return dir;
}

function packagedTemplate(name) {
  return JSON.parse(fs.readFileSync(path.join(packagedStage(name), 'cloudformation-template-update-stack.json'), 'utf8'));
}

/** Every stage, each packaged if its inputs changed; `each` hears its name, directory and seconds. */
function packagedStages(each = () => undefined) {
  const digest = inputDigest();
  for (const name of Object.keys(STAGES)) {
    const started = Date.now();
    const dir = packagedStage(name, digest);
    each(name, dir, (Date.now() - started) / 1000);
  }
}

module.exports = { STAGES, DEMO_WAVES, packagedStage, packagedStages, packagedTemplate, inputDigest };

if (require.main === module) {
  packagedStages((name, dir, seconds) => console.log(`packaged ${name}: ${path.relative(ROOT, dir)} (${seconds.toFixed(1)} s)`));
}
