import { z } from 'zod';
import { amiIdSchema } from '../contracts/ami';
import { TRIGGERS, type ClusterTarget, type Wave } from '../contracts';
import { InvalidRequestError } from '../contracts/errors';
import { issuePath } from './waves';

/**
 * Free text a person gave (why, who): it lands in records, subjects and logs, so control characters
 * (new lines, escapes) become spaces.
 */
export function sanitized(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/**
 * The state machine's input, as typed by a person in the console, sent by the CLI or by a
 * schedule. Unknown fields are rejected: a typo such as `dryrun` must not silently roll prod.
 */
export const runRequestSchema = z
  .object({
    trigger: z.enum(TRIGGERS, {
      errorMap: () => ({ message: `must be one of ${TRIGGERS.join(', ')}` }),
    }),
    sourceAmi: amiIdSchema.optional(),
    dryRun: z.boolean({ invalid_type_error: 'must be true or false' }).optional(),
    clusters: z
      .array(z.string({ invalid_type_error: 'must be a stack or cluster name (text)' }).min(1, 'must not be empty'), {
        invalid_type_error: 'must be a list of stack or cluster names',
      })
      .min(1, 'must name at least one cluster; omit the field to roll every configured cluster')
      .optional(),
    waves: z
      .array(
        z
          .array(z.string({ invalid_type_error: 'must be a stack or cluster name (text)' }).min(1, 'must not be empty'), {
            invalid_type_error: 'each wave must be a list of names',
          })
          .min(1, 'a wave needs at least one cluster'),
        { invalid_type_error: 'must be a list of waves, each a list of stack or cluster names' },
      )
      .min(1, 'must have at least one wave; omit the field to use the configured waves')
      .optional(),
    skipEarlierWaves: z.boolean({ invalid_type_error: 'must be true or false' }).optional(),
    rollback: z
      .object({ toAmi: amiIdSchema.optional() }, { invalid_type_error: 'must be an object, e.g. {} or {"toAmi": "ami-..."}' })
      .strict()
      .optional(),
    reason: z.string({ invalid_type_error: 'must be text' }).max(500, 'must be at most 500 characters').transform(sanitized).optional(),
    requestedBy: z.string({ invalid_type_error: 'must be text' }).max(200, 'must be at most 200 characters').transform(sanitized).optional(),
  }, { invalid_type_error: 'the execution input must be a JSON object like {"trigger": "manual"}' })
  .strict();

export type RunRequest = z.infer<typeof runRequestSchema>;

function reject(field: string, problem: string): never {
  throw new InvalidRequestError(field, problem);
}

/** A value a person typed, echoed in a message: quoted, and cut when it is long. */
export function quoted(value: string, limit = 60): string {
  return value.length <= limit ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, limit))}... (${value.length} characters)`;
}

/** Validates a run request; throws {@link InvalidRequestError} naming the first bad field. */
export function parseRunRequest(input: unknown): RunRequest {
  const parsed = runRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      // Only rollback nests a strict object; its unknown keys are named with their path.
      if (issue.path[0] === 'rollback') {
        const known = Object.keys(runRequestSchema.shape.rollback.unwrap().shape).join(', ');
        reject(issue.keys.map((k) => `rollback.${k}`).join(', '), `unknown field; rollback accepts ${known}`);
      }
      const known = Object.keys(runRequestSchema.shape).join(', ');
      reject(issue.keys.join(', '), `unknown field; the input accepts ${known}`);
    }
    reject(issuePath(issue, '') || 'input', issue.message);
  }
  const request = parsed.data;
  if (request.rollback) {
    if (request.sourceAmi) reject('sourceAmi', 'cannot be combined with rollback (a rollback does not bake)');
    if (request.dryRun) reject('dryRun', 'cannot be combined with rollback (a rollback only rolls)');
  }
  if (request.clusters && request.waves) reject('waves', 'give either clusters or waves, not both');
  if (request.skipEarlierWaves && !request.clusters && !request.waves) {
    reject('skipEarlierWaves', 'only means something with clusters or waves; omit it to roll every configured wave in order');
  }
  return request;
}

/** A configured cluster a run would leave behind, or roll too late, relative to a later wave it does roll. */
export interface WaveOrderBreach {
  /** The cluster the run rolls. */
  stackName: string;
  wave: string;
  /** The cluster of an earlier configured wave that it would overtake. */
  overtakes: string;
  overtakesWave: string;
}

/**
 * Waves exist so that an image proves itself on dev before prod. A run that names its own clusters
 * or waves keeps that order: every configured cluster of an earlier wave than a cluster the run rolls
 * must be rolled by the run in an earlier wave. `alreadyOn` says which clusters need no roll because
 * they already confirmed the image the run rolls (only known for a rollback to a named image).
 * Returns what the run would overtake; the caller refuses it unless `skipEarlierWaves` is set.
 */
export function waveOrderBreaches(configured: Wave[], selected: Wave[], alreadyOn: (stackName: string) => boolean = () => false): WaveOrderBreach[] {
  const configuredWave = new Map<string, number>();
  configured.forEach((w, i) => w.clusters.forEach((t) => configuredWave.set(t.stackName, i)));
  const runWave = new Map<string, number>();
  selected.forEach((w, i) => w.clusters.forEach((t) => runWave.set(t.stackName, i)));
  const breaches: WaveOrderBreach[] = [];
  selected.forEach((wave, i) => {
    for (const target of wave.clusters) {
      const own = configuredWave.get(target.stackName) ?? 0;
      for (let earlier = 0; earlier < own; earlier++) {
        for (const other of configured[earlier]!.clusters) {
          const rolledAt = runWave.get(other.stackName);
          if ((rolledAt !== undefined && rolledAt < i) || (rolledAt === undefined && alreadyOn(other.stackName))) continue;
          breaches.push({ stackName: target.stackName, wave: wave.name, overtakes: other.stackName, overtakesWave: configured[earlier]!.name });
        }
      }
    }
  });
  return breaches;
}

/** Refuses a run that overtakes earlier waves without `skipEarlierWaves`, naming what it would skip. */
export function enforceWaveOrder(request: RunRequest, breaches: WaveOrderBreach[]): void {
  if (breaches.length === 0 || request.skipEarlierWaves) return;
  const field = request.waves ? 'waves' : 'clusters';
  const overtaken = [...new Set(breaches.map((b) => `${b.overtakes} (wave ${b.overtakesWave})`))];
  const rolled = [...new Set(breaches.map((b) => b.stackName))];
  reject(
    field,
    `${rolled.join(', ')} would roll before ${overtaken.join(', ')}, whose wave comes first; add ${overtaken.length === 1 ? 'it' : 'them'} to the run, or set skipEarlierWaves: true (CLI: --skip-earlier-waves) to roll without ${overtaken.length === 1 ? 'it' : 'them'}`,
  );
}

function indexTargets(configured: Wave[]): Map<string, { target: ClusterTarget; wave: number }> {
  const byName = new Map<string, { target: ClusterTarget; wave: number }>();
  configured.forEach((wave, w) => {
    for (const target of wave.clusters) {
      byName.set(target.stackName, { target, wave: w });
      if (!byName.has(target.clusterName)) byName.set(target.clusterName, { target, wave: w });
    }
  });
  return byName;
}

/**
 * The waves this run rolls. Without an override, the configured waves. `clusters` picks a
 * subset and keeps the configured order and grouping; `waves` regroups configured targets.
 * Only configured targets can be named: the pipeline's IAM permissions cover those stacks only.
 */
export function selectWaves(request: RunRequest, configured: Wave[]): Wave[] {
  const byName = indexTargets(configured);
  const known = () => [...new Set(configured.flatMap((w) => w.clusters.map((t) => t.stackName)))].join(', ');
  const lookup = (name: string, field: string): { target: ClusterTarget; wave: number } => {
    const found = byName.get(name);
    if (!found) {
      reject(field, `${quoted(name)} is not a configured cluster or stack (configured stacks: ${known() || 'none'}); add it to the waves param and redeploy`);
    }
    return found;
  };
  const ensureOnce = (seen: Set<string>, target: ClusterTarget, field: string) => {
    if (seen.has(target.stackName)) reject(field, `stack "${target.stackName}" is named more than once`);
    seen.add(target.stackName);
  };

  if (request.clusters) {
    const seen = new Set<string>();
    const picked = request.clusters.map((name, i) => {
      const found = lookup(name, `clusters[${i}]`);
      ensureOnce(seen, found.target, `clusters[${i}]`);
      return found;
    });
    return configured
      .map((wave, w) => ({
        name: wave.name,
        clusters: wave.clusters.filter((t) => picked.some((p) => p.wave === w && p.target.stackName === t.stackName)),
      }))
      .filter((wave) => wave.clusters.length > 0);
  }

  if (request.waves) {
    const seen = new Set<string>();
    return request.waves.map((names, w) => ({
      name: `wave-${w + 1}`,
      clusters: names.map((name, c) => {
        const found = lookup(name, `waves[${w}][${c}]`);
        ensureOnce(seen, found.target, `waves[${w}][${c}]`);
        return found.target;
      }),
    }));
  }

  if (configured.length === 0 && !request.dryRun) {
    reject('clusters', 'no cluster waves are configured for this stage; configure the waves param, or use dryRun');
  }
  return configured;
}
