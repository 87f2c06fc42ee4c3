import { ConfigurationError } from '../../functions/lib/contracts/errors';
import { LIMITS } from '../../functions/lib/contracts';
import { allTargets, describeIssue, parseConfiguredWaves, validateWaves, wavesSchema } from '../../functions/lib/decisions/waves';

const ENV = 'CLUSTER_WAVES';

function configure(value: unknown): string {
  return JSON.stringify(value);
}

function configurationError(json: string | undefined): ConfigurationError {
  try {
    parseConfiguredWaves(json, ENV);
  } catch (error) {
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('parseConfiguredWaves', () => {
  it('reads waves in order and defaults imageParameter to ApplicationImageId', () => {
    const waves = parseConfiguredWaves(
      configure([
        { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster' }] },
        {
          name: 'prod',
          clusters: [
            { stackName: 'prod-a-ecs', clusterName: 'prod-a', imageParameter: 'ImageId' },
            { stackName: 'prod-b-ecs', clusterName: 'prod_b' },
          ],
        },
      ]),
      ENV,
    );
    expect(waves).toEqual([
      { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster', imageParameter: 'ApplicationImageId' }] },
      {
        name: 'prod',
        clusters: [
          { stackName: 'prod-a-ecs', clusterName: 'prod-a', imageParameter: 'ImageId' },
          { stackName: 'prod-b-ecs', clusterName: 'prod_b', imageParameter: 'ApplicationImageId' },
        ],
      },
    ]);
  });

  it('accepts an empty list (the request check decides whether that is allowed)', () => {
    expect(parseConfiguredWaves('[]', ENV)).toEqual([]);
  });

  it.each([undefined, '', '   '])('names the variable when it is not set (%p)', (value) => {
    const error = configurationError(value);
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toBe(`${ENV} is not set; configure the stage's waves in serverless.yml params and redeploy`);
  });

  it('rejects bad JSON', () => {
    const error = configurationError('[{"name": "dev",');
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toBe(`${ENV} is not valid JSON; check the waves param in serverless.yml`);
  });

  it('rejects a wave name used twice', () => {
    const error = configurationError(
      configure([
        { name: 'dev', clusters: [{ stackName: 'a', clusterName: 'a' }] },
        { name: 'dev', clusters: [{ stackName: 'b', clusterName: 'b' }] },
      ]),
    );
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toBe('the configured waves are invalid: waves[1].name: wave name "dev" is used twice');
  });

  it('rejects a stack rolled twice, in the same wave or in two waves', () => {
    expect(
      configurationError(
        configure([
          { name: 'dev', clusters: [{ stackName: 'a', clusterName: 'a' }] },
          { name: 'prod', clusters: [{ stackName: 'b', clusterName: 'b' }, { stackName: 'a', clusterName: 'other' }] },
        ]),
      ).message,
    ).toBe('the configured waves are invalid: waves[1].clusters[1].stackName: stack "a" appears in more than one place; roll each stack once');
    expect(
      configurationError(configure([{ name: 'dev', clusters: [{ stackName: 'a', clusterName: 'x' }, { stackName: 'a', clusterName: 'y' }] }]))
        .message,
    ).toContain('waves[0].clusters[1].stackName: stack "a" appears in more than one place');
  });

  it('names every bad field', () => {
    const error = configurationError(
      configure([
        { name: 'dev', clusters: [] },
        { name: 'prod', clusters: [{ stackName: '1-starts-with-digit', clusterName: 'bad name', imageParameter: 'Image-Id' }] },
      ]),
    );
    expect(error.message).toBe(
      [
        'the configured waves are invalid: waves[0].clusters: a wave needs at least one cluster',
        'waves[1].clusters[0].stackName: must be a CloudFormation stack name (letters, digits, hyphens)',
        'waves[1].clusters[0].clusterName: must be an ECS cluster name',
        'waves[1].clusters[0].imageParameter: must be a CloudFormation parameter name',
      ].join('; '),
    );
  });

  it('rejects unknown keys and a non-list', () => {
    expect(configurationError(configure([{ name: 'dev', clusters: [{ stackName: 'a', clusterName: 'a', zone: 'x' }] }])).message).toContain(
      "waves[0].clusters[0]: Unrecognized key(s) in object: 'zone'",
    );
    // A cluster may name its region; it must be a region.
    expect(configurationError(configure([{ name: 'dev', clusters: [{ stackName: 'a', clusterName: 'a', region: 'x' }] }])).message).toContain(
      'waves[0].clusters[0].region: must be a region name like eu-west-1',
    );
    expect(validateWaves([{ name: 'dev', clusters: [{ stackName: 'a', clusterName: 'a', region: 'eu-west-1' }] }])[0]!.clusters[0]!.region).toBe('eu-west-1');
    expect(configurationError(configure({ dev: [] })).message).toBe('the configured waves are invalid: waves: Expected array, received object');
  });

  it('rejects wave names that are not short labels', () => {
    expect(configurationError(configure([{ name: '-dev', clusters: [{ stackName: 'a', clusterName: 'a' }] }])).message).toBe(
      'the configured waves are invalid: waves[0].name: must be a short wave name like dev or prod',
    );
    expect(wavesSchema.safeParse([{ name: 'x'.repeat(65), clusters: [{ stackName: 'a', clusterName: 'a' }] }]).success).toBe(false);
  });
});

describe('the size limits', () => {
  let next = 0;
  const clusters = (n: number) => Array.from({ length: n }, () => ({ stackName: `s${++next}`, clusterName: `c${next}` }));
  const waves = (...sizes: number[]) => sizes.map((n, i) => ({ name: `w${i}`, clusters: clusters(n) }));
  const problem = (raw: unknown) => {
    try {
      validateWaves(raw);
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  };

  it(`allows ${LIMITS.clustersPerWave} clusters in a wave and ${LIMITS.clustersPerStage} in a stage`, () => {
    expect(LIMITS).toMatchObject({ clustersPerWave: 50, clustersPerStage: 200 });
    expect(validateWaves(waves(50))[0]!.clusters).toHaveLength(50);
    expect(allTargets(validateWaves(waves(50, 50, 50, 50)))).toHaveLength(200);
  });

  it('refuses a wave of 51 clusters, naming the wave', () => {
    expect(problem(waves(1, 51))).toBe('the configured waves are invalid: waves[1].clusters: a wave has at most 50 clusters; split it into several waves');
  });

  it('refuses 201 clusters in a stage, however they are split', () => {
    expect(problem(waves(50, 50, 50, 50, 1))).toBe(
      'the configured waves are invalid: waves: 201 clusters configured; a stage rolls at most 200 (deploy another stage for the rest)',
    );
    expect(problem(waves(...Array.from({ length: 21 }, () => 10)))).toContain('210 clusters configured; a stage rolls at most 200');
  });
});

describe('describeIssue', () => {
  it('writes paths with dots for keys and brackets for indexes', () => {
    expect(describeIssue({ code: 'custom', path: [2, 'clusters', 0, 'stackName'], message: 'bad' }, 'waves')).toBe(
      'waves[2].clusters[0].stackName: bad',
    );
    expect(describeIssue({ code: 'custom', path: ['rollback', 'toAmi'], message: 'bad' }, '')).toBe('rollback.toAmi: bad');
    expect(describeIssue({ code: 'custom', path: ['waves', 1, 0], message: 'bad' }, '')).toBe('waves[1][0]: bad');
  });

  it('says "value" for an issue about the root with no root name', () => {
    expect(describeIssue({ code: 'custom', path: [], message: 'bad' }, '')).toBe('value: bad');
  });
});

describe('allTargets', () => {
  it('lists every target in wave order', () => {
    const a = { stackName: 'a', clusterName: 'a', imageParameter: 'ApplicationImageId' };
    const b = { stackName: 'b', clusterName: 'b', imageParameter: 'ApplicationImageId' };
    const c = { stackName: 'c', clusterName: 'c', imageParameter: 'ApplicationImageId' };
    expect(allTargets([{ name: 'one', clusters: [a, b] }, { name: 'two', clusters: [c] }])).toEqual([a, b, c]);
  });
});

describe('the gates of a wave', () => {
  const cluster = { stackName: 'dev-ecs', clusterName: 'dev' };
  const parse = (wave: Record<string, unknown>) => validateWaves([{ name: 'dev', clusters: [cluster], ...wave }]);

  it('fills a soak\'s defaults: services checked, a check a minute, no alarms unless named', () => {
    expect(parse({ soak: { minutes: 30 } })[0]!.soak).toEqual({ minutes: 30, alarms: [], checkServices: true, checkEverySeconds: 60 });
    expect(parse({ requireApproval: true })[0]!.requireApproval).toBe(true);
  });

  it.each([
    [{ soak: { minutes: 0 } }, 'waves[0].soak.minutes: must be at least 1'],
    [{ soak: { minutes: 2000 } }, 'waves[0].soak.minutes: must be at most 1440'],
    [{ soak: { minutes: 10, checkServices: false } }, 'waves[0].soak: a soak that watches no alarm and no service checks nothing'],
    [{ soak: { minutes: 10, alarms: ['ok', 'bad\nname'] } }, 'waves[0].soak.alarms[1]: must be a CloudWatch alarm name'],
    [{ soak: { minutes: 10, alarms: Array.from({ length: 21 }, (_, i) => `a${i}`) } }, 'a wave watches at most 20 alarms'],
    [{ soak: { minutes: 10, checkEverySeconds: 5 } }, 'waves[0].soak.checkEverySeconds: must be at least 10'],
    [{ soak: { minutes: 10, extra: 1 } }, "Unrecognized key(s) in object: 'extra'"],
    [{ requireApproval: 'yes' }, 'waves[0].requireApproval: must be true or false'],
  ])('refuses %j, naming the field', (wave, message) => {
    expect(() => parse(wave)).toThrow(message);
  });
});
