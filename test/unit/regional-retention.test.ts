/** Retention of the copies in another region: what the stage's region knows is carried over by CopiedFrom. */
import fc from 'fast-check';
import { regionalSurvey } from '../../functions/lib/decisions/regional-retention';
import { decideRetention, type ImageUse, type StageImage } from '../../functions/lib/decisions/retention';

const NOW = new Date('2026-11-28T00:00:00.000Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);
const POLICY = { keepPromoted: 2, graceDays: 7, bakeLeftoverHours: 4 };

function copy(imageId: string, copiedFrom: string, overrides: Partial<StageImage> = {}): StageImage {
  return { imageId, copiedFrom, architecture: 'x86_64', createdAt: daysAgo(40), state: 'available', snapshotIds: [`snap-${imageId}`], sizeGiB: 30, deprecated: false, versionsRecorded: true, ...overrides };
}

const empty = { images: [] as StageImage[], promotedNewestFirst: [] as string[], uses: [] as ImageUse[], runsInFlight: [] as string[] };
const regionalInput = (survey: ReturnType<typeof regionalSurvey<typeof empty>>) => ({ now: NOW, policy: POLICY, bakeInstances: [], ...survey });

describe('regionalSurvey', () => {
  const home = {
    images: [],
    promotedNewestFirst: ['ami-h4', 'ami-h3', 'ami-h2', 'ami-h1'],
    uses: [
      { imageId: 'ami-h4', kind: 'current', detail: '/p/ami/current' },
      { imageId: 'ami-h3', kind: 'replaced-by-current', detail: 'the image ami-h4 replaced' },
      { imageId: 'ami-c1', kind: 'cluster-confirmed', detail: 'cluster stack prod-eu confirmed it last', stackName: 'prod-eu' },
      { imageId: 'ami-h0', kind: 'cluster-confirmed', detail: 'cluster stack dev confirmed it last', stackName: 'dev' },
      { imageId: 'ami-h5', kind: 'run-in-flight', detail: 'run weekly-9' },
    ] as ImageUse[],
    runsInFlight: ['weekly-9'],
  };
  const regional = {
    ...empty,
    images: [copy('ami-c1', 'ami-h1'), copy('ami-c2', 'ami-h2'), copy('ami-c3', 'ami-h3'), copy('ami-c4', 'ami-h4'), copy('ami-c5', 'ami-h5'), copy('ami-c9', 'ami-h9')],
    uses: [{ imageId: 'ami-c4', kind: 'latest', detail: '/p/ami/latest (eu-west-1)' }] as ImageUse[],
  };
  const survey = regionalSurvey(home, regional, [{ stackName: 'prod-eu', clusterName: 'prod-eu', imageParameter: 'ApplicationImageId', region: 'eu-west-1' }]);

  it('maps the promotions, current, replaced-by-current and runs in flight to their copies, and keeps the regional clusters\' records', () => {
    expect(survey.promotedNewestFirst).toEqual(['ami-c4', 'ami-c3', 'ami-c2', 'ami-c1']);
    expect(survey.uses.map((u) => [u.imageId, u.kind])).toEqual([
      ['ami-c4', 'latest'],
      ['ami-c4', 'current'],
      ['ami-c3', 'replaced-by-current'],
      ['ami-c1', 'cluster-confirmed'],
      ['ami-c5', 'run-in-flight'],
    ]);
    expect(survey.runsInFlight).toEqual(['weekly-9']);
  });

  it('lets retention keep what the region or the stage still needs and remove the rest', () => {
    const plan = decideRetention(regionalInput(survey));
    // c2 is a copy of the third newest promotion (2 are kept), nothing uses it; c9's source was never promoted.
    expect(plan.deregister.map((r) => r.image.imageId).sort()).toEqual(['ami-c2', 'ami-c9']);
    expect(plan.keep.map((k) => k.image.imageId).sort()).toEqual(['ami-c1', 'ami-c3', 'ami-c4', 'ami-c5']);
    expect(plan.keep.find((k) => k.image.imageId === 'ami-c1')!.reasons.map((r) => r.kind)).toContain('cluster-confirmed');
  });

  it('property: never removes a copy of an image the stage\'s region keeps current or a run in flight uses, whatever else is there', () => {
    const ids = fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(ids, fc.nat(), fc.nat(), (n, currentAt, runAt) => {
        const homeIds = n.map((i) => `ami-h${i}`);
        const current = homeIds[currentAt % homeIds.length]!;
        const inFlight = homeIds[runAt % homeIds.length]!;
        const images = homeIds.map((h) => copy(h.replace('-h', '-c'), h));
        const s = regionalSurvey(
          { ...empty, uses: [{ imageId: current, kind: 'current', detail: 'current' }, { imageId: inFlight, kind: 'run-in-flight', detail: 'run' }] },
          { ...empty, images },
          [],
        );
        const removed = decideRetention(regionalInput(s)).deregister.map((r) => r.image.copiedFrom);
        expect(removed).not.toContain(current);
        expect(removed).not.toContain(inFlight);
      }),
    );
  });
});
