/**
 * The unused-grant report (`make iam-report`): per packaged stage, role and statement, the granted
 * actions that no call used, where the calls are
 * - every call the e2e scenarios recorded (.build/iam-calls/<scenario>.json, written by
 *   test/e2e/scenario.ts; run `make unit` or `jest test/e2e` first), with their real resources,
 *   for the configured stage (the demo's stage and stacks), and
 * - the on-behalf lists (local/iam/on-behalf.ts): what AWS services do with the roles.
 * Each unused grant is shown with whether a handler can reach the call at all
 * (local/iam/handler-actions.ts) and the note deploy/iam.js keeps for it (`usedOn`).
 *
 * Usage: node_modules/.bin/tsx scripts/iam-unused.ts [--strict]
 *   --strict: exit 1 when a grant is neither used, nor reachable in handler code, nor noted.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AMI_TAGS, MANAGED_BY_VALUE } from '../functions/lib/contracts';
import { ACCOUNT_ID } from '../local/deployment';
import type { EvaluableCall } from '../local/iam/evaluate';
import { handlerActions } from '../local/iam/handler-actions';
import { onBehalfCalls } from '../local/iam/on-behalf';
import { evaluationContext, resolvePackagedIam, type Template } from '../local/iam/roles';
import { iamContextOf, isUsed, roleOfActor, unusedGrants, usesOfCalls, usesOfHandlers, type GrantNotes, type GrantUse } from '../local/iam/unused';

const ROOT = path.resolve(__dirname, '..');
const CALLS_DIR = path.join(ROOT, '.build', 'iam-calls');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packagedTemplate } = require('../deploy/packaged-stages') as { packagedTemplate: (name: string) => Template };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { grantNotes } = require('../deploy/iam.js') as { grantNotes: (ctx: Record<string, unknown>) => GrantNotes };

function recordedScenarios(): { scenario: string; calls: EvaluableCall[] }[] {
  if (!existsSync(CALLS_DIR)) return [];
  return readdirSync(CALLS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(CALLS_DIR, f), 'utf8')) as { scenario: string; calls: EvaluableCall[] });
}

function main(): number {
  const strict = process.argv.includes('--strict');
  const scenarios = recordedScenarios();
  const region = scenarios.flatMap((s) => s.calls).find((c) => c.region)?.region ?? 'us-east-1';
  const reachable = usesOfHandlers(handlerActions());
  let problems = 0;
  console.log(
    scenarios.length
      ? `Recorded calls of ${scenarios.length} scenario(s): ${scenarios.map((s) => `${s.scenario} (${s.calls.length})`).join(', ')}`
      : `No recorded calls under ${path.relative(ROOT, CALLS_DIR)}/: run the e2e scenarios first (node_modules/.bin/jest test/e2e); only the on-behalf lists count below.`,
  );
  for (const stage of ['default', 'configured']) {
    const template = packagedTemplate(stage);
    // The demo's account and region, so the recorded calls' resources are the packaged roles' ones.
    const iam = resolvePackagedIam(template, { account: ACCOUNT_ID, region });
    const onBehalf = onBehalfCalls(template, iam);
    const env = { ...evaluationContext(iam), ...onBehalf.environment };
    const uses: GrantUse[] = usesOfCalls(onBehalf.lists.flatMap((l) => l.calls), env, 'on-behalf');
    // The scenarios run the configured stage (stage demo, stacks ecs-dev and ecs-prod). For the
    // default stage, whose resources no scenario touches, what handler code can reach counts instead.
    if (stage === 'configured') for (const s of scenarios) uses.push(...usesOfCalls(s.calls, env, s.scenario));
    else uses.push(...reachable);
    const notes = grantNotes(iamContextOf(template, iam, { managedByTag: AMI_TAGS.managedBy, managedBy: MANAGED_BY_VALUE }));
    const roles = roleOfActor(iam);
    const unused = unusedGrants(iam, uses, notes);
    console.log(
      `\n== ${stage} stage (${iam.stackName}): ${unused.length} grant(s) no ${stage === 'configured' ? 'recorded' : 'reachable handler'} or on-behalf call used`,
    );
    let lastRole = '';
    for (const g of unused) {
      if (g.role !== lastRole) console.log(`\n${g.role}`);
      lastRole = g.role;
      const inCode = isUsed(g, reachable, roles);
      console.log(`  ${g.sid}: ${g.action}`);
      if (inCode) console.log('      reachable in handler code; no scenario took that path');
      if (g.note) console.log(`      used on: ${g.note}`);
      if (!inCode && !g.note) {
        problems++;
        console.log('      NO NOTE, and no handler can make this call: remove the grant or add { usedOn } in deploy/iam.js');
      }
    }
  }
  if (problems) console.log(`\n${problems} grant(s) without a use or a note.`);
  return strict && problems ? 1 : 0;
}

process.exitCode = main();
