import type { Wave } from '../../functions/lib/contracts';
import { InvalidRequestError } from '../../functions/lib/contracts/errors';
import { enforceWaveOrder, parseRunRequest, selectWaves, waveOrderBreaches, type RunRequest, type WaveOrderBreach } from '../../functions/lib/decisions/request';

const AMI = 'ami-0123456789abcdef0';

function rejection(run: () => unknown): InvalidRequestError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error('expected an InvalidRequest error');
}

const rejects = (input: unknown) => rejection(() => parseRunRequest(input));

describe('parseRunRequest', () => {
  it('accepts every field', () => {
    const input = {
      trigger: 'manual',
      sourceAmi: AMI,
      dryRun: true,
      clusters: ['dev-ecs'],
      reason: 'patch Tuesday',
      requestedBy: 'alice',
    };
    expect(parseRunRequest(input)).toEqual(input);
    expect(parseRunRequest({ trigger: 'weekly', waves: [['a'], ['b', 'c']] })).toEqual({ trigger: 'weekly', waves: [['a'], ['b', 'c']] });
    expect(parseRunRequest({ trigger: 'manual', rollback: {} })).toEqual({ trigger: 'manual', rollback: {} });
    expect(parseRunRequest({ trigger: 'manual', rollback: { toAmi: AMI } })).toEqual({ trigger: 'manual', rollback: { toAmi: AMI } });
    expect(parseRunRequest({ trigger: 'base-ami', sourceAmi: AMI }).trigger).toBe('base-ami');
  });

  it('needs a known trigger', () => {
    for (const input of [{}, { trigger: 'daily' }, { trigger: 7 }]) {
      const error = rejects(input);
      expect(error.field).toBe('trigger');
      expect(error.message).toBe('trigger: must be one of weekly, base-ami, manual');
    }
  });

  it('names unknown fields and lists the accepted ones', () => {
    const error = rejects({ trigger: 'manual', dryrun: true });
    expect(error.name).toBe('InvalidRequest');
    expect(error.field).toBe('dryrun');
    expect(error.message).toBe(
      'dryrun: unknown field; the input accepts trigger, sourceAmi, dryRun, clusters, waves, skipEarlierWaves, rollback, reason, requestedBy',
    );
    expect(rejects({ trigger: 'manual', foo: 1, bar: 2 }).field).toBe('foo, bar');
  });

  it('names an unknown field inside rollback with its path and what rollback accepts', () => {
    const error = rejects({ trigger: 'manual', rollback: { to: AMI } });
    expect(error.field).toBe('rollback.to');
    expect(error.message).toBe('rollback.to: unknown field; rollback accepts toAmi');
  });

  it.each([
    [{ trigger: 'manual', sourceAmi: 'ami-123' }, 'sourceAmi', 'must be an AMI id like ami-0123456789abcdef0'],
    [{ trigger: 'manual', sourceAmi: 123 }, 'sourceAmi', 'must be an AMI id string like ami-0123456789abcdef0'],
    [{ trigger: 'manual', dryRun: 'yes' }, 'dryRun', 'must be true or false'],
    [{ trigger: 'manual', clusters: 'dev' }, 'clusters', 'must be a list of stack or cluster names'],
    [{ trigger: 'manual', clusters: [] }, 'clusters', 'must name at least one cluster; omit the field to roll every configured cluster'],
    [{ trigger: 'manual', clusters: ['dev', ''] }, 'clusters[1]', 'must not be empty'],
    [{ trigger: 'manual', waves: 'dev' }, 'waves', 'must be a list of waves, each a list of stack or cluster names'],
    [{ trigger: 'manual', waves: [] }, 'waves', 'must have at least one wave; omit the field to use the configured waves'],
    [{ trigger: 'manual', waves: [['a'], []] }, 'waves[1]', 'a wave needs at least one cluster'],
    [{ trigger: 'manual', waves: [['a'], 'b'] }, 'waves[1]', 'each wave must be a list of names'],
    [{ trigger: 'manual', waves: [['a', '']] }, 'waves[0][1]', 'must not be empty'],
    [{ trigger: 'manual', clusters: ['a'], skipEarlierWaves: 'yes' }, 'skipEarlierWaves', 'must be true or false'],
    [{ trigger: 'manual', rollback: true }, 'rollback', 'must be an object, e.g. {} or {"toAmi": "ami-..."}'],
    [{ trigger: 'manual', rollback: { toAmi: 'previous' } }, 'rollback.toAmi', 'must be an AMI id like ami-0123456789abcdef0'],
    [{ trigger: 'manual', reason: 'x'.repeat(501) }, 'reason', 'must be at most 500 characters'],
    [{ trigger: 'manual', requestedBy: 'x'.repeat(201) }, 'requestedBy', 'must be at most 200 characters'],
  ])('rejects %j naming %s', (input, field, problem) => {
    const error = rejects(input);
    expect(error.field).toBe(field);
    expect(error.problem).toBe(problem);
    expect(error.message).toBe(`${field}: ${problem}`);
  });

  it.each([null, [], 'manual', 42])('rejects a non-object input (%j)', (input) => {
    const error = rejects(input);
    expect(error.field).toBe('input');
    expect(error.problem).toBe('the execution input must be a JSON object like {"trigger": "manual"}');
  });

  it('refuses rollback with sourceAmi or dryRun', () => {
    expect(rejects({ trigger: 'manual', rollback: {}, sourceAmi: AMI }).message).toBe(
      'sourceAmi: cannot be combined with rollback (a rollback does not bake)',
    );
    expect(rejects({ trigger: 'manual', rollback: { toAmi: AMI }, dryRun: true }).message).toBe(
      'dryRun: cannot be combined with rollback (a rollback only rolls)',
    );
    expect(parseRunRequest({ trigger: 'manual', rollback: {}, dryRun: false }).dryRun).toBe(false);
  });

  it('says in its own words what a name of the wrong type is, not the validator\'s', () => {
    expect(rejection(() => parseRunRequest({ trigger: 'manual', waves: [['a', ['b']]] })).message).toBe('waves[0][1]: must be a stack or cluster name (text)');
    expect(rejection(() => parseRunRequest({ trigger: 'manual', clusters: [7] })).message).toBe('clusters[0]: must be a stack or cluster name (text)');
    expect(rejection(() => parseRunRequest({ trigger: 'manual', reason: 42 })).message).toBe('reason: must be text');
  });

  it('refuses clusters and waves together', () => {
    expect(rejects({ trigger: 'manual', clusters: ['a'], waves: [['b']] }).message).toBe('waves: give either clusters or waves, not both');
  });

  it('accepts skipEarlierWaves only with clusters or waves', () => {
    expect(parseRunRequest({ trigger: 'manual', clusters: ['a'], skipEarlierWaves: true })).toEqual({ trigger: 'manual', clusters: ['a'], skipEarlierWaves: true });
    expect(parseRunRequest({ trigger: 'manual', waves: [['a']], skipEarlierWaves: true }).skipEarlierWaves).toBe(true);
    const error = rejects({ trigger: 'manual', skipEarlierWaves: true });
    expect(error.field).toBe('skipEarlierWaves');
    expect(error.message).toBe('skipEarlierWaves: only means something with clusters or waves; omit it to roll every configured wave in order');
    // false says nothing, so it needs nothing
    expect(parseRunRequest({ trigger: 'manual', skipEarlierWaves: false }).skipEarlierWaves).toBe(false);
  });
});

const target = (stackName: string, clusterName: string) => ({ stackName, clusterName, imageParameter: 'ApplicationImageId' });
const DEV = target('dev-ecs', 'dev-cluster');
const PROD_A = target('prod-a-ecs', 'prod-a');
const PROD_B = target('prod-b-ecs', 'prod-b');
const CONFIGURED: Wave[] = [
  { name: 'dev', clusters: [DEV] },
  { name: 'prod', clusters: [PROD_A, PROD_B] },
];
const request = (extra: Partial<RunRequest> = {}): RunRequest => ({ trigger: 'manual', ...extra });

describe('selectWaves', () => {
  it('returns the configured waves without an override', () => {
    expect(selectWaves(request(), CONFIGURED)).toEqual(CONFIGURED);
  });

  it('picks a subset by stack or cluster name and keeps the configured order and grouping', () => {
    expect(selectWaves(request({ clusters: ['prod-b', 'dev-ecs'] }), CONFIGURED)).toEqual([
      { name: 'dev', clusters: [DEV] },
      { name: 'prod', clusters: [PROD_B] },
    ]);
    expect(selectWaves(request({ clusters: ['prod-b-ecs', 'prod-a'] }), CONFIGURED)).toEqual([{ name: 'prod', clusters: [PROD_A, PROD_B] }]);
  });

  it('names the field of an unknown cluster and lists the configured stacks', () => {
    const error = rejection(() => selectWaves(request({ clusters: ['dev-ecs', 'staging'] }), CONFIGURED));
    expect(error.field).toBe('clusters[1]');
    expect(error.message).toBe(
      'clusters[1]: "staging" is not a configured cluster or stack (configured stacks: dev-ecs, prod-a-ecs, prod-b-ecs); add it to the waves param and redeploy',
    );
  });

  it('shortens a very long name when it echoes it', () => {
    const error = rejection(() => selectWaves(request({ clusters: ['x'.repeat(5000)] }), CONFIGURED));
    expect(error.message).toBe(
      `clusters[0]: "${'x'.repeat(60)}"... (5000 characters) is not a configured cluster or stack (configured stacks: dev-ecs, prod-a-ecs, prod-b-ecs); add it to the waves param and redeploy`,
    );
  });

  it('refuses a stack named twice, also through its cluster name', () => {
    expect(rejection(() => selectWaves(request({ clusters: ['dev-ecs', 'dev-ecs'] }), CONFIGURED)).message).toBe(
      'clusters[1]: stack "dev-ecs" is named more than once',
    );
    expect(rejection(() => selectWaves(request({ clusters: ['prod-a', 'prod-b', 'prod-a-ecs'] }), CONFIGURED)).field).toBe('clusters[2]');
  });

  it('regroups configured targets with waves, in the order given', () => {
    expect(selectWaves(request({ waves: [['prod-a'], ['dev-cluster', 'prod-b-ecs']] }), CONFIGURED)).toEqual([
      { name: 'wave-1', clusters: [PROD_A] },
      { name: 'wave-2', clusters: [DEV, PROD_B] },
    ]);
  });

  it('names the field of an unknown or repeated name in waves', () => {
    expect(rejection(() => selectWaves(request({ waves: [['dev-ecs'], ['prod-a', 'nope']] }), CONFIGURED)).field).toBe('waves[1][1]');
    const twice = rejection(() => selectWaves(request({ waves: [['dev-ecs'], ['dev-cluster']] }), CONFIGURED));
    expect(twice.message).toBe('waves[1][0]: stack "dev-ecs" is named more than once');
  });

  it('allows no configured waves only for a dry run', () => {
    expect(selectWaves(request({ dryRun: true }), [])).toEqual([]);
    const error = rejection(() => selectWaves(request(), []));
    expect(error.field).toBe('clusters');
    expect(error.message).toBe('clusters: no cluster waves are configured for this stage; configure the waves param, or use dryRun');
    expect(rejection(() => selectWaves(request({ rollback: {} }), [])).field).toBe('clusters');
    expect(rejection(() => selectWaves(request({ clusters: ['dev'] }), [])).message).toContain('(configured stacks: none)');
  });
});

describe('waveOrderBreaches', () => {
  const THREE: Wave[] = [
    { name: 'dev', clusters: [DEV] },
    { name: 'staging', clusters: [target('staging-ecs', 'staging')] },
    { name: 'prod', clusters: [PROD_A, PROD_B] },
  ];
  const breaches = (req: RunRequest, configured = CONFIGURED, alreadyOn?: (stack: string) => boolean) =>
    waveOrderBreaches(configured, selectWaves(req, configured), alreadyOn);

  it('finds nothing when the run rolls the configured waves, all or a part of them in order', () => {
    expect(breaches(request())).toEqual([]);
    expect(breaches(request({ clusters: ['dev-ecs', 'prod-b'] }))).toEqual([]);
    expect(breaches(request({ clusters: ['dev-ecs'] }))).toEqual([]);
    expect(breaches(request({ waves: [['dev-ecs'], ['prod-a', 'prod-b']] }))).toEqual([]);
  });

  it('names every earlier cluster a later one would overtake', () => {
    expect(breaches(request({ clusters: ['prod-a'] }), THREE)).toEqual<WaveOrderBreach[]>([
      { stackName: 'prod-a-ecs', wave: 'prod', overtakes: 'dev-ecs', overtakesWave: 'dev' },
      { stackName: 'prod-a-ecs', wave: 'prod', overtakes: 'staging-ecs', overtakesWave: 'staging' },
    ]);
    expect(breaches(request({ clusters: ['dev-ecs', 'prod-a'] }), THREE)).toEqual([
      { stackName: 'prod-a-ecs', wave: 'prod', overtakes: 'staging-ecs', overtakesWave: 'staging' },
    ]);
  });

  it('does not mind clusters of the same configured wave rolled alone', () => {
    expect(breaches(request({ waves: [['dev-ecs'], ['prod-b'], ['prod-a']] }))).toEqual([]);
  });

  it('counts regrouped waves: an earlier cluster must be rolled in an earlier run wave', () => {
    expect(breaches(request({ waves: [['prod-a'], ['dev-ecs']] }))).toEqual([{ stackName: 'prod-a-ecs', wave: 'wave-1', overtakes: 'dev-ecs', overtakesWave: 'dev' }]);
    // the same run wave is not earlier
    expect(breaches(request({ waves: [['dev-ecs', 'prod-a']] }))).toEqual([{ stackName: 'prod-a-ecs', wave: 'wave-1', overtakes: 'dev-ecs', overtakesWave: 'dev' }]);
    expect(breaches(request({ waves: [['dev-ecs'], ['prod-a', 'prod-b']] }))).toEqual([]);
  });

  it('lets a cluster that already runs the image be left out (a rollback), but not one the run rolls too late', () => {
    const devIsThere = (stack: string) => stack === 'dev-ecs';
    expect(breaches(request({ clusters: ['prod-a'] }), CONFIGURED, devIsThere)).toEqual([]);
    expect(breaches(request({ clusters: ['prod-a'] }), CONFIGURED, () => false)).toHaveLength(1);
    // named by the run, it must still come first, already there or not
    expect(breaches(request({ waves: [['prod-a'], ['dev-ecs']] }), CONFIGURED, devIsThere)).toHaveLength(1);
  });
});

describe('enforceWaveOrder', () => {
  const one: WaveOrderBreach[] = [{ stackName: 'prod-a-ecs', wave: 'prod', overtakes: 'dev-ecs', overtakesWave: 'dev' }];
  const two: WaveOrderBreach[] = [
    { stackName: 'prod-a-ecs', wave: 'prod', overtakes: 'dev-ecs', overtakesWave: 'dev' },
    { stackName: 'prod-a-ecs', wave: 'prod', overtakes: 'staging-ecs', overtakesWave: 'staging' },
    { stackName: 'prod-b-ecs', wave: 'prod', overtakes: 'dev-ecs', overtakesWave: 'dev' },
  ];

  it('accepts a run without breaches, or one that chose to skip earlier waves', () => {
    expect(() => enforceWaveOrder(request({ clusters: ['prod-a'] }), [])).not.toThrow();
    expect(() => enforceWaveOrder(request({ clusters: ['prod-a'], skipEarlierWaves: true }), two)).not.toThrow();
  });

  it('refuses the rest, naming the field, what would overtake what, and the way out', () => {
    const error = rejection(() => enforceWaveOrder(request({ clusters: ['prod-a'] }), one));
    expect(error.field).toBe('clusters');
    expect(error.message).toBe(
      'clusters: prod-a-ecs would roll before dev-ecs (wave dev), whose wave comes first; add it to the run, or set skipEarlierWaves: true (CLI: --skip-earlier-waves) to roll without it',
    );
    const many = rejection(() => enforceWaveOrder(request({ waves: [['prod-a', 'prod-b']] }), two));
    expect(many.field).toBe('waves');
    expect(many.message).toBe(
      'waves: prod-a-ecs, prod-b-ecs would roll before dev-ecs (wave dev), staging-ecs (wave staging), whose wave comes first; add them to the run, or set skipEarlierWaves: true (CLI: --skip-earlier-waves) to roll without them',
    );
  });
});
