'use strict';
const { paramError } = require('./param-error');
// Variable resolvers for serverless.yml (`${file(./deploy/settings.js):name}`). Each checks what a
// person configured and fails `serverless package` with the param's name instead of deploying
// something that breaks at the first run.
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { requireTs } = require('./load-ts');

const ROOT = path.resolve(__dirname, '..');

async function param(resolveVariable, name) {
  return resolveVariable(`param:${name}`);
}

/** The configured waves, validated by the same schema the Lambdas use, as the JSON they read. */
async function validatedWaves(resolveVariable) {
  const { parseConfiguredWaves, validateWaves } = requireTs('functions/lib/decisions/waves.ts');
  const raw = await param(resolveVariable, 'waves');
  try {
    // `--param waves=[...]` arrives as text; the params block in serverless.yml as a value.
    return typeof raw === 'string' ? parseConfiguredWaves(raw, 'param waves') : validateWaves(raw ?? []);
  } catch (error) {
    throw paramError(`serverless.yml params.<stage>.waves: ${error.message}`);
  }
}

async function validatedArchitecture(resolveVariable) {
  const { BASE_AMI_ARCHITECTURES } = requireTs('functions/lib/contracts/index.ts');
  const value = await param(resolveVariable, 'baseAmiArchitecture');
  if (!BASE_AMI_ARCHITECTURES.includes(value)) {
    throw paramError(`serverless.yml params.<stage>.baseAmiArchitecture must be ${BASE_AMI_ARCHITECTURES.join(' or ')}; got ${JSON.stringify(value)}`);
  }
  return value;
}

function gitCommit() {
  if (process.env.GIT_COMMIT) return process.env.GIT_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

function boundedNumber(name, value, min, max, why) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw paramError(`serverless.yml params.<stage>.${name} must be a whole number from ${min} to ${max} (${why}); got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A resolver for a whole-number param bounded by LIMITS[name] of the contracts. */
function withinLimits(name, why) {
  return async ({ resolveVariable }) => {
    const { min, max } = requireTs('functions/lib/contracts/index.ts').LIMITS[name];
    return String(boundedNumber(name, await param(resolveVariable, name), min, max, why));
  };
}

/**
 * params.<stage>.ebsKmsKeyId: empty (the AWS managed EBS key) or the full ARN of a KMS key in the
 * deployment's region. The bake role's KMS statements name this value as their Resource, and IAM
 * matches a key's ARN only: an alias (alias/x, arn:...:alias/x) or a bare key id would package fine
 * and yield a policy that never matches the key, so the first bake would fail on AccessDenied.
 */

async function validatedEbsKmsKeyId(resolveVariable) {
  const raw = await param(resolveVariable, 'ebsKmsKeyId');
  const value = raw === undefined || raw === null ? '' : String(raw).trim();
  if (value === '') return '';
  const where = 'serverless.yml params.<stage>.ebsKmsKeyId';
  const match = requireTs('functions/lib/contracts/index.ts').KMS_KEY_ARN_PATTERN.exec(value);
  if (!match || !requireTs('functions/lib/contracts/index.ts').AWS_REGION_PATTERN.test(match[2])) {
    const what = /(^|:)alias\//.test(value) ? 'an alias' : /^arn:/.test(value) ? 'not a KMS key ARN' : 'a bare key id';
    throw paramError(
      `${where} must be the full ARN of a KMS key (arn:<partition>:kms:<region>:<account>:key/<key id>), because IAM policies match keys by ARN only; got ${JSON.stringify(value)} (${what}). Find the ARN with: aws kms describe-key --key-id ${JSON.stringify(value)} --query KeyMetadata.Arn`,
    );
  }
  const region = await resolveVariable('self:provider.region');
  if (region && match[2] !== String(region)) {
    throw paramError(`${where} names a key in ${match[2]}, but the stage deploys to ${region}: EBS encrypts the image's volumes with a key of the build's region; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A list param: a value in serverless.yml's params, or JSON text from `--param name=[...]`. */
async function listParam(resolveVariable, name) {
  const raw = await param(resolveVariable, name);
  if (typeof raw !== 'string' || !raw.trim().startsWith('[')) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw paramError(`serverless.yml params.<stage>.${name} is not a JSON list: ${raw.slice(0, 80)}`);
  }
}

/** params.<stage>.shareWith, checked with ebsKmsKeyId (encrypted images are shared only under a customer managed key). */
async function validatedShareWith(resolveVariable) {
  const { parseShareWith } = requireTs('functions/lib/decisions/sharing.ts');
  const entries = await listParam(resolveVariable, 'shareWith');
  const result = parseShareWith(entries, await validatedEbsKmsKeyId(resolveVariable));
  if (!result.ok) throw paramError(`serverless.yml params.<stage>.shareWith: ${result.problem}`);
  return result.targets;
}

/** params.<stage>.copyToRegions, checked with shareWith (a shared image's copies need a customer managed key each). */
async function validatedCopyToRegions(resolveVariable) {
  const { parseCopyTargets } = requireTs('functions/lib/decisions/copies.ts');
  const entries = await listParam(resolveVariable, 'copyToRegions');
  const home = String((await resolveVariable('self:provider.region')) ?? '');
  const result = parseCopyTargets(entries, home, await validatedShareWith(resolveVariable));
  if (!result.ok) throw paramError(`serverless.yml params.<stage>.copyToRegions: ${result.problem}`);
  const { targetsWithoutCopies } = requireTs('functions/lib/decisions/copies.ts');
  const waves = await validatedWaves(resolveVariable);
  const { regionalTargetsOfOtherArchitectures } = requireTs('functions/lib/decisions/copies.ts');
  const uncopied = [
    ...targetsWithoutCopies(waves, home, result.targets),
    ...regionalTargetsOfOtherArchitectures(waves, home, await validatedArchitecture(resolveVariable)),
  ];
  if (uncopied.length) throw paramError(`serverless.yml params.<stage>.waves: ${uncopied.join('; ')}`);
  return result.targets;
}

module.exports = {
  validatedWaves,
  validatedCopyToRegions,
  copyToRegionsJson: async ({ resolveVariable }) => JSON.stringify(await validatedCopyToRegions(resolveVariable)),
  validatedShareWith,
  shareWithJson: async ({ resolveVariable }) => JSON.stringify(await validatedShareWith(resolveVariable)),
  validatedEbsKmsKeyId,
  ebsKmsKeyId: async ({ resolveVariable }) => validatedEbsKmsKeyId(resolveVariable),
  wavesJson: async ({ resolveVariable }) => JSON.stringify(await validatedWaves(resolveVariable)),
  // Step Functions needs the definition as a string; ${file(x.json)} would hand over an object.
  definitionString: () => readFileSync(path.join(ROOT, 'statemachine', 'pipeline.asl.json'), 'utf8'),
  gitCommit,
  registrationTimeoutSeconds: async ({ resolveVariable }) =>
    String(
      boundedNumber(
        'registrationTimeoutSeconds',
        await param(resolveVariable, 'registrationTimeoutSeconds'),
        60,
        5400,
        "the state machine's Retry on RegistrationPending gives up after about 100 minutes",
      ),
    ),
  maxRolloutMinutes: async ({ resolveVariable }) => {
    const { LIMITS } = requireTs('functions/lib/contracts/index.ts');
    return String(
      boundedNumber(
        'maxRolloutMinutes',
        await param(resolveVariable, 'maxRolloutMinutes'),
        LIMITS.maxRolloutMinutes.min,
        LIMITS.maxRolloutMinutes.max,
        "the state machine's Retry budgets for a busy or updating stack cover at most a day",
      ),
    );
  },
  baseAmiMaxAttempts: async ({ resolveVariable }) =>
    String(boundedNumber('baseAmiMaxAttempts', await param(resolveVariable, 'baseAmiMaxAttempts'), 1, 10, 'runs the base-AMI check starts for one base')),
  retainPromotedImages: withinLimits('retainPromotedImages', 'promoted images kept per architecture; fewer than 2 leaves a rollback nothing to go back to'),
  retentionGraceDays: withinLimits('retentionGraceDays', 'days before retention may touch a new image; a bake and its recording take hours'),
  approvalTimeoutHours: async ({ resolveVariable }) => {
    const hours = Number(await withinLimits('approvalTimeoutHours', 'hours a wave waits for its approval; a run lives at most 7 days')({ resolveVariable }));
    // Every wait at its bound must fit in one run, or Step Functions ends it TIMED_OUT half way.
    const { worstCaseRunHours, RUN_HOURS_LIMIT } = requireTs('functions/lib/decisions/gates.ts');
    const waves = await validatedWaves(resolveVariable);
    const maxRolloutMinutes = Number(await module.exports.maxRolloutMinutes({ resolveVariable }));
    const copies = (await validatedCopyToRegions(resolveVariable)).length > 0;
    const worst = worstCaseRunHours(waves, { approvalTimeoutHours: hours, maxRolloutMinutes, copies });
    if (worst > RUN_HOURS_LIMIT) {
      throw paramError(
        `serverless.yml params.<stage>.approvalTimeoutHours: with ${waves.filter((w) => w.requireApproval).length} approval(s) of ${hours} h, maxRolloutMinutes ${maxRolloutMinutes} per wave and the waves' soaks, a run could take ${Math.ceil(worst)} h, past the ${RUN_HOURS_LIMIT} h a run may live; lower approvalTimeoutHours, maxRolloutMinutes or the soaks, or put fewer waves behind an approval`,
      );
    }
    return String(hours);
  },
  bakeLeftoverHours: withinLimits('bakeLeftoverHours', 'hours after which a build instance is a leftover; a bake lives at most 3 hours in CodeBuild'),
  // Booleans arrive as true/false from the params block and as "true"/"false" from --param.
  chatNotifications: async ({ resolveVariable }) => {
    const value = await param(resolveVariable, 'chatNotifications');
    if (value === true || value === 'true') return 'true';
    if (value === false || value === 'false' || value === undefined || value === '') return 'false';
    throw paramError(`serverless.yml params.<stage>.chatNotifications must be true or false; got ${JSON.stringify(value)}`);
  },
  imageRetention: async ({ resolveVariable }) => {
    const { IMAGE_RETENTION_MODES } = requireTs('functions/lib/contracts/index.ts');
    const value = await param(resolveVariable, 'imageRetention');
    if (!IMAGE_RETENTION_MODES.includes(value)) {
      throw paramError(`serverless.yml params.<stage>.imageRetention must be ${IMAGE_RETENTION_MODES.join(' or ')} (report: say what would go, change nothing); got ${JSON.stringify(value)}`);
    }
    return value;
  },
  dataVolumeSizeGb: async ({ resolveVariable }) =>
    String(boundedNumber('dataVolumeSizeGb', await param(resolveVariable, 'dataVolumeSizeGb'), 1, 16384, 'an EBS gp3 volume size in GiB')),
  baseAmiArchitecture: async ({ resolveVariable }) => validatedArchitecture(resolveVariable),
  osReleaseVersion: async ({ resolveVariable }) => {
    const { OS_RELEASE_VERSION_PATTERN } = requireTs('functions/lib/contracts/index.ts');
    const raw = await param(resolveVariable, 'osReleaseVersion');
    const value = raw === undefined || raw === null || String(raw).trim() === '' ? 'latest' : String(raw).trim();
    if (!OS_RELEASE_VERSION_PATTERN.test(value)) {
      throw paramError(
        `serverless.yml params.<stage>.osReleaseVersion must be latest or an Amazon Linux 2023 release such as 2023.9.20251110 (dnf --releasever); got ${JSON.stringify(raw)}`,
      );
    }
    return value;
  },
  // Empty: the default build type for baseAmiArchitecture. Set: it must run that architecture (an arm64
  // base on the x86 default used to package fine and fail in CodeBuild at the first bake).
  buildInstanceType: async ({ resolveVariable }) => {
    const architecture = await validatedArchitecture(resolveVariable);
    const { buildInstanceTypeFor } = requireTs('functions/lib/decisions/instance-types.ts');
    const raw = await param(resolveVariable, 'buildInstanceType');
    const result = buildInstanceTypeFor(architecture, raw === undefined || raw === null ? '' : String(raw));
    if (!result.ok) throw paramError(`serverless.yml params.<stage>.buildInstanceType: ${result.problem}`);
    return result.instanceType;
  },
};
