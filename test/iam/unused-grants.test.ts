/**
 * No grant without a reason.
 *
 * The rule: in each packaged stage (default and configured), every action a statement grants must be
 * - reachable: some handler of a function with that role can make the call (local/iam/handler-
 *   actions.ts bundles each handler with esbuild's tree shaking and reads the SDK commands left in
 *   it; plus what a call makes AWS check with the caller's role, e.g. KMS for the encrypted topic), or
 * - used by an on-behalf list: a call AWS makes with the role, written from its documentation
 *   (local/iam/on-behalf.ts), on a resource the statement names, or
 * - noted: deploy/iam.js gives it `{ usedOn: '<the path that needs it>' }` (statement(...)'s last
 *   argument, never part of the policy).
 * And a note must not contradict the lists: a grant an on-behalf list uses carries no note.
 *
 * This is a pure, checked-in view: it reads no e2e output (the e2e files run in parallel with this
 * one). Which reachable grants no scenario actually exercises is the report's job (`make
 * iam-report`, scripts/iam-unused.ts, from the calls the scenarios recorded); the notes on those
 * (rollback-only, lock contention, run-ended alerts) are for the report.
 */
import { AMI_TAGS, MANAGED_BY_VALUE } from '../../functions/lib/contracts';
import { actionMatches } from '../../local/iam/evaluate';
import { commandsInBundle, handlerActions } from '../../local/iam/handler-actions';
import { onBehalfCalls } from '../../local/iam/on-behalf';
import { evaluationContext, resolvePackagedIam, type PackagedIam, type Template } from '../../local/iam/roles';
import {
  formatUnused,
  grantsOf,
  iamContextOf,
  staleNotes,
  unusedGrants,
  usesOfCalls,
  usesOfHandlers,
  type GrantNotes,
  type GrantUse,
} from '../../local/iam/unused';

const { packagedTemplate } = require('../../deploy/packaged-stages') as { packagedTemplate: (name: string) => Template };
const { grantNotes, buildIamResources } = require('../../deploy/iam.js') as {
  grantNotes: (ctx: Record<string, unknown>) => GrantNotes;
  buildIamResources: (ctx: Record<string, unknown>) => Record<string, { Properties: { Policies: { PolicyDocument: { Statement: { Sid: string }[] } }[] } }>;
};

const TAGS = { managedByTag: AMI_TAGS.managedBy, managedBy: MANAGED_BY_VALUE };

interface Stage {
  template: Template;
  iam: PackagedIam;
  ctx: Record<string, unknown>;
  notes: GrantNotes;
  onBehalf: GrantUse[];
}
const stages: Record<string, Stage> = {};
let reachable: Record<string, string[]>;

beforeAll(() => {
  reachable = handlerActions();
  for (const name of ['default', 'configured']) {
    const template = packagedTemplate(name);
    const iam = resolvePackagedIam(template, { account: '111122223333', region: 'us-east-1' });
    const lists = onBehalfCalls(template, iam);
    const ctx = iamContextOf(template, iam, TAGS);
    stages[name] = {
      template,
      iam,
      ctx,
      notes: grantNotes(ctx),
      onBehalf: usesOfCalls(lists.lists.flatMap((l) => l.calls), { ...evaluationContext(iam), ...lists.environment }, 'on-behalf'),
    };
  }
}, 120_000);

describe.each(['default', 'configured'])('the %s stage', (name) => {
  const stage = () => stages[name]!;

  it('grants nothing that no handler can reach, no on-behalf list uses and no note explains', () => {
    const unused = unusedGrants(stage().iam, [...usesOfHandlers(reachable), ...stage().onBehalf], stage().notes);
    expect(formatUnused(name, unused.filter((g) => !g.note))).toBe('');
  });

  it('has no note on a grant an on-behalf list uses', () => {
    expect(staleNotes(stage().iam, stage().onBehalf, stage().notes).map((g) => `${g.role} / ${g.sid} / ${g.action}`)).toEqual([]);
  });

  it('keeps notes out of the policies, and on statements and actions the packaged roles have', () => {
    expect(JSON.stringify(stage().template)).not.toContain('usedOn');
    const grants = grantsOf(stage().iam);
    for (const [role, sids] of Object.entries(stage().notes)) {
      for (const [sid, note] of Object.entries(sids)) {
        const actions = grants.filter((g) => g.role === role && g.sid === sid).map((g) => g.action);
        expect([role, sid, actions.length > 0]).toEqual([role, sid, true]);
        if (typeof note !== 'string') for (const action of Object.keys(note)) expect([role, sid, actions]).toEqual([role, sid, expect.arrayContaining([action])]);
      }
    }
  });

  it('reads back the context the roles were generated from (so the notes describe these statements)', () => {
    const sids = (r: { Properties: { Policies: { PolicyDocument: { Statement: { Sid?: string }[] } }[] } }) =>
      r.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement.map((s) => s.Sid));
    const generated = Object.fromEntries(Object.entries(buildIamResources(stage().ctx)).map(([id, r]) => [id, sids(r)]));
    const packaged = Object.fromEntries(Object.keys(generated).map((id) => [id, sids(stage().template.Resources[id] as never)]));
    expect(packaged).toEqual(generated);
  });

  it('grants every call a handler can reach (the action; the e2e evaluation checks the resources)', () => {
    const missing = Object.entries(reachable).flatMap(([fn, actions]) => {
      const role = stage().iam.functionRoles[fn];
      if (!role) return [`${fn}: no role`];
      const granted = role.policies.flatMap((p) => p.document.Statement.flatMap((s) => [s.Action ?? []].flat()));
      // Without waves there is no stack or cluster to grant anything on (and nothing to call), and a
      // stage that shares with nobody never shares an image.
      const sharingOnly = (a: string) => (fn === 'recordBakedAmi' || fn === 'copyImage') && /^ec2:Modify(Image|Snapshot)Attribute$/.test(a);
      // Nor, without copyToRegions, a region to copy to.
      if (name === 'default' && fn === 'copyImage') return [];
      // Nor, without a soak, any alarm to read.
      const applicable = name === 'default' ? actions.filter((a) => !/^(cloudformation|ecs|autoscaling|cloudwatch):/.test(a) && !sharingOnly(a)) : actions;
      return applicable.filter((a) => !granted.some((g) => actionMatches(g, a))).map((a) => `${fn}: ${a}`);
    });
    expect(missing).toEqual([]);
  });
});

describe('the calls each handler can reach', () => {
  it('are found for every function, through the lib code each imports', () => {
    expect(Object.keys(reachable).sort()).toEqual(Object.keys(stages.configured!.iam.functionRoles).sort());
    expect(reachable.updateStack).toEqual(expect.arrayContaining(['cloudformation:UpdateStack', 'cloudformation:DescribeStackEvents', 'dynamodb:GetItem']));
    expect(reachable.notify).toEqual(expect.arrayContaining(['sns:Publish', 'kms:GenerateDataKey', 'kms:Decrypt']));
    // It decides without AWS; it only keeps a refused approval.
    expect(reachable.assessWave).toEqual(['ssm:GetParameter', 'ssm:PutParameter']);
  });

  it('are read from the commands a bundle constructs, not those it only imports', () => {
    const bundle = 'import{GetItemCommand,PutItemCommand as PutItemCommand2}from"@aws-sdk/client-dynamodb";import{ListExecutionsCommand}from"@aws-sdk/client-sfn";new GetItemCommand({});new PutItemCommand2({});';
    expect(commandsInBundle(bundle)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
  });
});
