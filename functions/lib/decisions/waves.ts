import { z } from 'zod';
import { AWS_REGION_PATTERN, BASE_AMI_ARCHITECTURES, DEFAULT_IMAGE_PARAMETER, DEFAULTS, LIMITS, type ClusterTarget, type Wave } from '../contracts';
import { ConfigurationError } from '../contracts/errors';

// CloudFormation stack names: letters, digits and hyphens, starting with a letter, up to 128.
const stackNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name (letters, digits, hyphens)');
// ECS cluster names: letters, digits, hyphens and underscores, up to 255.
const clusterNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be an ECS cluster name');
const parameterKeySchema = z.string().regex(/^[A-Za-z0-9]{1,255}$/, 'must be a CloudFormation parameter name');

export const clusterTargetSchema = z
  .object({
    stackName: stackNameSchema,
    clusterName: clusterNameSchema,
    imageParameter: parameterKeySchema.default(DEFAULT_IMAGE_PARAMETER),
    // A cluster in another region than the stage's rolls with that region's copy (copyToRegions).
    region: z.string().regex(AWS_REGION_PATTERN, 'must be a region name like eu-west-1').optional(),
    // A cluster of another architecture than the stage's rolls with an image baked for it in the same run.
    architecture: z.enum(BASE_AMI_ARCHITECTURES, { errorMap: () => ({ message: 'must be x86_64 or arm64' }) }).optional(),
  })
  .strict();

// CloudWatch alarm names: 1-255 characters, no control characters.
const alarmNameSchema = z
  .string()
  .regex(/^[^\u0000-\u001f\u007f]{1,255}$/, 'must be a CloudWatch alarm name (1-255 characters, no control characters)')
  .refine((name) => name.trim() === name, 'must not start or end with spaces');

const soakSchema = z
  .object({
    minutes: z
      .number({ invalid_type_error: 'must be a number of minutes' })
      .int('must be a whole number of minutes')
      .min(LIMITS.soakMinutes.min, `must be at least ${LIMITS.soakMinutes.min}`)
      .max(LIMITS.soakMinutes.max, `must be at most ${LIMITS.soakMinutes.max} (a day); a longer watch belongs to the services' own alarms`),
    alarms: z
      .array(alarmNameSchema)
      .max(LIMITS.soakAlarms, `a wave watches at most ${LIMITS.soakAlarms} alarms; combine them in a composite alarm`)
      .default([]),
    checkServices: z.boolean({ invalid_type_error: 'must be true or false' }).default(true),
    checkEverySeconds: z
      .number({ invalid_type_error: 'must be a number of seconds' })
      .int('must be a whole number of seconds')
      .min(LIMITS.soakCheckEverySeconds.min, `must be at least ${LIMITS.soakCheckEverySeconds.min}`)
      .max(LIMITS.soakCheckEverySeconds.max, `must be at most ${LIMITS.soakCheckEverySeconds.max}`)
      .default(DEFAULTS.soakCheckEverySeconds),
  })
  .strict()
  .refine((soak) => soak.alarms.length > 0 || soak.checkServices, {
    message: 'a soak that watches no alarm and no service checks nothing: name alarms or leave checkServices on',
  });

export const wavesSchema = z
  .array(
    z
      .object({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, 'must be a short wave name like dev or prod'),
        clusters: z
          .array(clusterTargetSchema)
          .min(1, 'a wave needs at least one cluster')
          // A wave's results pass through one Step Functions state (256 KiB): split bigger waves.
          .max(LIMITS.clustersPerWave, `a wave has at most ${LIMITS.clustersPerWave} clusters; split it into several waves`),
        requireApproval: z.boolean({ invalid_type_error: 'must be true or false' }).optional(),
        soak: soakSchema.optional(),
      })
      .strict(),
  )
  .superRefine((waves, ctx) => {
    const total = waves.reduce((n, w) => n + w.clusters.length, 0);
    if (total > LIMITS.clustersPerStage) {
      ctx.addIssue({ code: 'custom', path: [], message: `${total} clusters configured; a stage rolls at most ${LIMITS.clustersPerStage} (deploy another stage for the rest)` });
    }
    const seenWaves = new Set<string>();
    const seenStacks = new Set<string>();
    waves.forEach((wave, w) => {
      if (seenWaves.has(wave.name)) {
        ctx.addIssue({ code: 'custom', path: [w, 'name'], message: `wave name "${wave.name}" is used twice` });
      }
      seenWaves.add(wave.name);
      wave.clusters.forEach((target, c) => {
        if (seenStacks.has(target.stackName)) {
          ctx.addIssue({
            code: 'custom',
            path: [w, 'clusters', c, 'stackName'],
            message: `stack "${target.stackName}" appears in more than one place; roll each stack once`,
          });
        }
        seenStacks.add(target.stackName);
      });
    });
  });

/** Where an issue is, as a person writes it: waves[1].clusters[0].stackName. */
export function issuePath(issue: z.ZodIssue, root: string): string {
  return issue.path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : String(part)),
    root,
  );
}

export function describeIssue(issue: z.ZodIssue, root: string): string {
  return `${issuePath(issue, root) || 'value'}: ${issue.message}`;
}

/** The waves configured for this deployment (serverless param `waves`, passed as JSON in the environment). */
export function parseConfiguredWaves(json: string | undefined, envName: string): Wave[] {
  if (json === undefined || json.trim() === '') {
    throw new ConfigurationError(`${envName} is not set; configure the stage's waves in serverless.yml params and redeploy`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ConfigurationError(`${envName} is not valid JSON; check the waves param in serverless.yml`);
  }
  return validateWaves(raw);
}

/** Configured waves as values (the serverless param, the stage's config parameter), checked and defaulted. */
export function validateWaves(raw: unknown): Wave[] {
  const parsed = wavesSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigurationError(
      `the configured waves are invalid: ${parsed.error.issues.map((i) => describeIssue(i, 'waves')).join('; ')}`,
    );
  }
  return parsed.data;
}

export function allTargets(waves: Wave[]): ClusterTarget[] {
  return waves.flatMap((wave) => wave.clusters);
}
