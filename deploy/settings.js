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
  const { parseConfiguredWaves, validateWaves } = requireTs('functions/lib/waves.ts');
  const raw = await param(resolveVariable, 'waves');
  try {
    // `--param waves=[...]` arrives as text; the params block in serverless.yml as a value.
    return typeof raw === 'string' ? parseConfiguredWaves(raw, 'param waves') : validateWaves(raw ?? []);
  } catch (error) {
    throw paramError(`serverless.yml params.<stage>.waves: ${error.message}`);
  }
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

module.exports = {
  validatedWaves,
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
    const { LIMITS } = requireTs('functions/lib/contracts.ts');
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
  dataVolumeSizeGb: async ({ resolveVariable }) =>
    String(boundedNumber('dataVolumeSizeGb', await param(resolveVariable, 'dataVolumeSizeGb'), 1, 16384, 'an EBS gp3 volume size in GiB')),
  baseAmiArchitecture: async ({ resolveVariable }) => {
    const { BASE_AMI_ARCHITECTURES } = requireTs('functions/lib/contracts.ts');
    const value = await param(resolveVariable, 'baseAmiArchitecture');
    if (!BASE_AMI_ARCHITECTURES.includes(value)) {
      throw paramError(
        `serverless.yml params.<stage>.baseAmiArchitecture must be ${BASE_AMI_ARCHITECTURES.join(' or ')}; got ${JSON.stringify(value)}`,
      );
    }
    return value;
  },
};
