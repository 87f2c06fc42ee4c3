import type { Wave } from '../../functions/lib/contracts';
import { InvalidRequestError } from '../../functions/lib/errors';
import { parseRunRequest, selectWaves, type RunRequest } from '../../functions/lib/request';

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
      'dryrun: unknown field; the input accepts trigger, sourceAmi, dryRun, clusters, waves, rollback, reason, requestedBy',
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

  it('refuses clusters and waves together', () => {
    expect(rejects({ trigger: 'manual', clusters: ['a'], waves: [['b']] }).message).toBe('waves: give either clusters or waves, not both');
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
