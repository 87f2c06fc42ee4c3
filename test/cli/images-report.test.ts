/**
 * `ami-pipeline images` as text and JSON from a survey (pure: no AWS), for the states moto cannot
 * show: images past the grace period that retention would delete, leftovers and lookalikes.
 */
import type { ImageSurvey } from '../../functions/lib/aws/image-inventory';
import type { StageImage } from '../../functions/lib/decisions/retention';
import { formatImages, imagesReport } from '../../cli/images-report';
import { createStyle } from '../../cli/style';

const NOW = new Date('2026-11-28T12:00:00Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);
const POLICY = { mode: 'delete' as const, keepPromoted: 2, graceDays: 7, bakeLeftoverHours: 4 };

function image(imageId: string, ageDays: number, extra: Partial<StageImage> = {}): StageImage {
  return {
    imageId,
    name: `ecs-ami-pipeline-dev-${imageId}`,
    architecture: 'x86_64',
    createdAt: daysAgo(ageDays),
    state: 'available',
    snapshotIds: [`snap-${imageId}`],
    sizeGiB: 50,
    deprecated: false,
    baseAmiId: 'ami-0base0000000000001',
    versionsRecorded: true,
    ...extra,
  };
}

const survey: ImageSurvey = {
  images: [image('ami-0current', 3), image('ami-0previous', 10), image('ami-0older', 17), image('ami-0oldest', 24), image('ami-0pinned', 31)],
  promotedNewestFirst: ['ami-0current', 'ami-0previous', 'ami-0older', 'ami-0oldest'],
  uses: [
    { imageId: 'ami-0current', kind: 'current', detail: '/ecs-ami-pipeline/dev/ami/current' },
    { imageId: 'ami-0current', kind: 'latest', detail: '/ecs-ami-pipeline/dev/ami/latest' },
    { imageId: 'ami-0pinned', kind: 'stack-parameter', detail: 'stack ecs-batch (ApplicationImageId)' },
  ],
  runsInFlight: [],
  bakeInstances: [{ instanceId: 'i-0leftover', state: 'running', launchedAt: daysAgo(1), buildId: 'weekly-9' }],
  bakeResources: [
    { kind: 'security-group', id: 'sg-0leftover', buildId: 'weekly-9' },
    { kind: 'key-pair', id: 'packer_0old', buildId: 'weekly-8' },
  ],
  snapshots: [{ snapshotId: 'snap-0orphan', createdAt: daysAgo(20), sizeGiB: 20 }],
  referencedSnapshotIds: [],
  untagged: [image('ami-0lookalike', 40)],
  notes: [],
};

const report = imagesReport(survey, { stage: 'dev', region: 'eu-west-1', now: NOW, policy: POLICY });

it('says of each image whether it is current, latest, kept and why, or would be deleted and why', () => {
  const byId = new Map(report.images.map((r) => [r.imageId, r]));
  expect(report.images.map((r) => r.imageId)).toEqual(['ami-0current', 'ami-0previous', 'ami-0older', 'ami-0oldest', 'ami-0pinned']);
  expect(byId.get('ami-0current')).toMatchObject({ current: true, latest: true, wouldDelete: null });
  expect(byId.get('ami-0previous')).toMatchObject({ wouldDelete: null, wouldDeprecate: true, keptBecause: ['promoted 2 promotions ago (keeping 2 per architecture)'] });
  expect(byId.get('ami-0older')!.wouldDelete).toBe('promoted once, now older than the last 2 promoted x86_64 images; 17 days old, in use by nothing');
  expect(byId.get('ami-0oldest')!.wouldDelete).toMatch(/^promoted once/);
  expect(byId.get('ami-0pinned')).toMatchObject({ wouldDelete: null, keptBecause: ['stack ecs-batch (ApplicationImageId)'] });
  expect(report.leftoverBuildInstances).toEqual([{ instanceId: 'i-0leftover', why: expect.stringContaining('bake weekly-9') }]);
  expect(report.orphanSnapshots).toEqual([{ snapshotId: 'snap-0orphan', why: expect.stringContaining('no image names it') }]);
  // The group of a bake whose instance is still there stays; the key pair of a finished one goes.
  expect(report.leftoverBakeResources).toEqual([{ kind: 'key-pair', id: 'packer_0old', why: expect.stringContaining('bake weekly-8, which is over') }]);
  expect(report.untagged.map((u) => u.imageId)).toEqual(['ami-0lookalike']);
});

it('prints them one per line, with the policy in the heading and the extra sections after', () => {
  const text = formatImages(report, createStyle(false)).split('\n');
  expect(text[0]).toBe(
    'Images of stage dev in eu-west-1 (retention deletes: keeps 2 promoted per architecture and everything in use, nothing younger than 7 days)',
  );
  expect(text.find((l) => l.startsWith('  ami-0current'))).toMatch(/2026-11-25 {2}x86_64 {2}base ami-0base0000000000001 {2,}current, latest, kept: promoted most recently \(keeping 2 per architecture\); 3 days old, younger than the 7-day grace period$/);
  expect(text.find((l) => l.startsWith('  ami-0older'))).toMatch(/would be deleted: promoted once/);
  expect(text.find((l) => l.startsWith('  ami-0pinned'))).toMatch(/kept: stack ecs-batch \(ApplicationImageId\)$/);
  expect(text).toContain('Build instances left by stopped bakes (retention terminates them):');
  expect(text).toContain('Snapshots of images already gone (retention deletes them):');
  expect(text).toContain('  key-pair packer_0old: temporary key pair of bake weekly-8, which is over and has no build instance left');
  expect(text.some((l) => l.startsWith("Named like this stage's images but without"))).toBe(true);
});

it('says when the stage has no image yet, and what bakes one', () => {
  const empty = imagesReport({ ...survey, images: [], bakeInstances: [], bakeResources: [], snapshots: [], untagged: [] }, { stage: 'dev', region: 'eu-west-1', now: NOW, policy: POLICY });
  expect(formatImages(empty, createStyle(false)).split('\n')[1]).toBe('  none: this stage has baked no image here yet (ami-pipeline run --dry-run bakes one)');
});
