import type { ClusterRecord, ClusterTarget, PromotionRecord } from '../../functions/lib/contracts';
import { chooseRollbackTarget, decidePromotion, otherArchitectureImages, type PromotionHistory } from '../../functions/lib/decisions/promotion';

const A = 'ami-0aaaaaaaaaaaaaaaa';
const B = 'ami-0bbbbbbbbbbbbbbbb';
const C = 'ami-0cccccccccccccccc';
const D = 'ami-0dddddddddddddddd';
const target = (stackName: string): ClusterTarget => ({ stackName, clusterName: `${stackName}-cluster`, imageParameter: 'ApplicationImageId' });
const CONFIGURED = [target('dev'), target('prod-a'), target('prod-b')];

function record(stackName: string, amiId: string, purpose: ClusterRecord['purpose'] = 'rollout'): ClusterRecord {
  return { stackName, clusterName: `${stackName}-cluster`, amiId, purpose, runId: 'weekly-1', executionArn: 'arn:exec', confirmedAt: '2026-01-01T11:00:00.000Z' };
}

/** Records by stack: an image id, or undefined for a cluster that never confirmed one. */
function records(byStack: Record<string, string | undefined>): Map<string, ClusterRecord | undefined> {
  return new Map(Object.entries(byStack).map(([stack, amiId]) => [stack, amiId ? record(stack, amiId) : undefined]));
}

const promotion = (amiId: string, reason: PromotionRecord['reason'], previousAmiId?: string): PromotionRecord => ({
  amiId,
  previousAmiId,
  reason,
  executionArn: 'arn:exec',
  promotedAt: '2026-01-01T12:00:00.000Z',
  clusters: CONFIGURED.map((t) => t.stackName),
});

describe('decidePromotion', () => {
  it('promotes when every configured cluster\'s record names the image', () => {
    expect(decidePromotion(CONFIGURED, records({ dev: C, 'prod-a': C, 'prod-b': C }), C)).toEqual({ promote: true });
  });

  it('promotes nothing while one is behind, naming every cluster behind with what it confirmed, in wave order', () => {
    expect(decidePromotion(CONFIGURED, records({ dev: C, 'prod-a': B, 'prod-b': undefined }), C)).toEqual({
      promote: false,
      behind: [
        { stackName: 'prod-a', clusterName: 'prod-a-cluster', amiId: B },
        { stackName: 'prod-b', clusterName: 'prod-b-cluster', amiId: undefined },
      ],
    });
  });

  it('counts a configured cluster missing from the records as behind', () => {
    expect(decidePromotion(CONFIGURED, records({ dev: C }), C)).toMatchObject({ promote: false, behind: [{ stackName: 'prod-a' }, { stackName: 'prod-b' }] });
  });

  it('ignores records of clusters no longer configured', () => {
    expect(decidePromotion([target('dev')], records({ dev: C, retired: A }), C)).toEqual({ promote: true });
  });

  it('promotes vacuously when no cluster is configured', () => {
    expect(decidePromotion([], new Map(), C)).toEqual({ promote: true });
  });
});

describe('chooseRollbackTarget', () => {
  const history = (promoted: string[], promotions: PromotionRecord[] = []): PromotionHistory => ({ promoted, records: promotions });
  const allOn = (amiId: string) => records({ dev: amiId, 'prod-a': amiId, 'prod-b': amiId });

  it('puts every cluster back on the current image when a cluster\'s record is on another one', () => {
    expect(chooseRollbackTarget(C, history([C, B, A]), CONFIGURED, records({ dev: D, 'prod-a': C, 'prod-b': C }))).toEqual({
      amiId: C,
      why: `dev is not on the current image ${C}: putting every cluster back on it`,
    });
  });

  it('names every cluster off the current image, those without a record too', () => {
    expect(chooseRollbackTarget(C, history([C, B]), CONFIGURED, records({ dev: D, 'prod-a': D, 'prod-b': undefined }))).toEqual({
      amiId: C,
      why: `dev, prod-a, prod-b are not on the current image ${C}: putting every cluster back on it`,
    });
  });

  it('goes further back when the only clusters off the current image never confirmed anything', () => {
    expect(chooseRollbackTarget(C, history([C, B]), CONFIGURED, records({ dev: C, 'prod-a': C, 'prod-b': undefined }))).toEqual({
      amiId: B,
      why: `the newest image promoted before ${C} that no rollback moved away from`,
    });
  });

  it('goes back to the newest earlier promoted image when every cluster is on the current one', () => {
    expect(chooseRollbackTarget(C, history([C, B, A]), CONFIGURED, allOn(C))).toEqual({
      amiId: B,
      why: `the newest image promoted before ${C} that no rollback moved away from`,
    });
  });

  it('skips re-promotions of the current image', () => {
    expect(chooseRollbackTarget(C, history([C, C, C, B, A]), CONFIGURED, allOn(C)).amiId).toBe(B);
  });

  it('skips every image a rollback moved the fleet away from, so two rollbacks never swing back', () => {
    // B was current, a rollback left it for A; a later rollout promoted C. Rolling back from C must not pick B.
    const promotions = [promotion(C, 'rollout', A), promotion(A, 'rollback', B), promotion(B, 'rollout', A), promotion(A, 'rollout')];
    expect(chooseRollbackTarget(C, history([C, A, B, A], promotions), CONFIGURED, allOn(C)).amiId).toBe(A);
    // And a rollback away from C itself then goes to A, never back to B.
    const after = [promotion(A, 'rollback', C), ...promotions];
    expect(chooseRollbackTarget(A, history([A, C, A, B, A], after), CONFIGURED, allOn(A))).toEqual({
      why: `no earlier promoted image to roll back to (skipping ${C}, ${B}, rolled away from before)`,
    });
  });

  it('does not count a rollback onto the image that was already current as leaving it', () => {
    // D, then A promoted; a run for B stopped after dev; rollback {} put every cluster back on A;
    // then C was promoted. Rolling back from C goes to A, the image the fleet ran just before.
    const promotions = [promotion(C, 'rollout', A), promotion(A, 'rollback', A), promotion(A, 'rollout', D)];
    expect(chooseRollbackTarget(C, history([C, A, A, D], promotions), CONFIGURED, allOn(C)).amiId).toBe(A);
  });

  it('does not skip images a rollout merely replaced', () => {
    const promotions = [promotion(C, 'rollout', B), promotion(B, 'rollout', A)];
    expect(chooseRollbackTarget(C, history([C, B, A], promotions), CONFIGURED, allOn(C)).amiId).toBe(B);
  });

  it('says why there is nothing to go back to', () => {
    expect(chooseRollbackTarget(undefined, history([]), CONFIGURED, records({}))).toEqual({ why: 'no earlier promoted image to roll back to' });
    expect(chooseRollbackTarget(C, history([C, C]), CONFIGURED, allOn(C))).toEqual({ why: 'no earlier promoted image to roll back to' });
    expect(chooseRollbackTarget(C, history([C, B], [promotion(C, 'rollback', B)]), CONFIGURED, allOn(C))).toEqual({
      why: `no earlier promoted image to roll back to (skipping ${B}, rolled away from before)`,
    });
  });

  it('without a current image, never takes the clusters\' records for a reason to stay', () => {
    expect(chooseRollbackTarget(undefined, history([B]), CONFIGURED, records({ dev: D }))).toEqual({
      amiId: B,
      why: 'the newest image promoted before the current one that no rollback moved away from',
    });
  });
});

describe('otherArchitectureImages', () => {
  it('names, per other architecture, the image its clusters confirmed for the promoted one', () => {
    const t = (stackName: string, extra: object = {}) => ({ stackName, clusterName: stackName, imageParameter: 'ApplicationImageId', ...extra });
    const rec = (stackName: string, amiId: string, copyOf?: string) => ({ stackName, clusterName: stackName, amiId, purpose: 'rollout' as const, runId: 'r', executionArn: 'e', confirmedAt: 't', ...(copyOf ? { copyOf } : {}) });
    const configured = [t('x'), t('arm-1', { architecture: 'arm64' }), t('arm-2', { architecture: 'arm64' }), t('eu', { region: 'eu-west-1' })];
    const records = new Map([
      ['x', rec('x', 'ami-x')],
      ['arm-1', rec('arm-1', 'ami-a', 'ami-x')],
      ['arm-2', rec('arm-2', 'ami-a', 'ami-x')],
      ['eu', rec('eu', 'ami-eu', 'ami-x')],
    ]);
    expect([...otherArchitectureImages(configured, records, 'ami-x')]).toEqual([['arm64', 'ami-a']]);
    expect([...otherArchitectureImages(configured, records, 'ami-other')]).toEqual([]);
  });
});
