import fc from 'fast-check';
import type { RetentionStatus } from '../../functions/lib/contracts';
import {
  decideRetention,
  type KeptImage,
  type RemovedImage,
  type RetentionPlan,
  type StageImage,
  type StageSnapshot,
} from '../../functions/lib/decisions/retention';
import { combinedRetentionMessage, retentionMessage, worthTelling, type RetentionOutcome } from '../../functions/lib/decisions/retention-message';

const CONTEXT = { serviceName: 'ecs-ami', stage: 'prod', region: 'eu-west-1' };
const DAY_MS = 86_400_000;
const NOW = new Date('2026-06-01T12:00:00.000Z');

function image(imageId: string, overrides: Partial<StageImage> = {}): StageImage {
  return {
    imageId,
    name: `ecs-ami-prod-${imageId.slice(4)}`,
    architecture: 'x86_64',
    createdAt: new Date('2026-04-01T08:00:00.000Z'),
    state: 'available',
    snapshotIds: [`snap-${imageId.slice(4)}`],
    sizeGiB: 30,
    deprecated: false,
    versionsRecorded: true,
    ...overrides,
  };
}

const removed = (img: StageImage, why = 'never promoted; 61 days old, in use by nothing'): RemovedImage => ({ image: img, why });
const keptImage = (img: StageImage, details: string[], deprecate = false): KeptImage => ({
  image: img,
  reasons: details.map((detail) => ({ kind: 'instance', detail })),
  deprecate,
});
const EMPTY_PLAN: RetentionPlan = { keep: [], deregister: [], terminate: [], deleteSnapshots: [], deleteBakeResources: [] };
const orphan = (snapshotId: string, sizeGiB = 30): StageSnapshot & { why: string } => ({
  snapshotId,
  createdAt: new Date('2026-04-01T08:00:00.000Z'),
  sizeGiB,
  why: 'no image names it any more (its image was deregistered and the snapshot was left); 61 days old',
});
/** What deregisterWithSnapshots answers for an image whose snapshots all went. */
const done = (img: StageImage) => ({ imageId: img.imageId, snapshotsDeleted: img.snapshotIds, snapshotsKept: [] });
/** A cleanup pass that did all of the plan. */
const didAll = (plan: RetentionPlan): Partial<RetentionOutcome> => ({
  plan,
  deregistered: plan.deregister.map((r) => done(r.image)),
  terminated: plan.terminate.map((t) => t.instanceId),
  snapshotsDeleted: plan.deleteSnapshots.map((sn) => sn.snapshotId),
});
const leftover = { instanceId: 'i-0abc', state: 'running', launchedAt: new Date('2026-05-31T00:00:00.000Z'), buildId: 'weekly-1', why: 'build instance of bake weekly-1, running for 36 h (longer than any bake lives: 6 h)' };

function outcome(overrides: Partial<RetentionOutcome> = {}): RetentionOutcome {
  return { status: 'CLEANED_UP', plan: EMPTY_PLAN, deregistered: [], deprecated: [], terminated: [], failures: [], warnings: [], untagged: [], notes: [], ...overrides };
}

const lines = (message: string): string[] => message.split('\n');

describe('retentionMessage: subject and attributes', () => {
  it('states what was done, with the freed size, in subject and first line', () => {
    const plan: RetentionPlan = { ...EMPTY_PLAN, deregister: [removed(image('ami-1', { sizeGiB: 8 })), removed(image('ami-2', { sizeGiB: 30 }))], terminate: [leftover] };
    const msg = retentionMessage(CONTEXT, outcome(didAll(plan)));
    // 102 characters in full: the subject is cut, the message's first line is not.
    expect(msg.subject).toBe('[ecs-ami prod] CLEANED UP: deregistered 2 images (38 GiB of snapshots), terminated 1 build instance');
    expect(lines(msg.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention deregistered 2 images (38 GiB of snapshots), terminated 1 build instance.');
    expect(msg.attributes).toEqual({ status: 'CLEANED_UP', stage: 'prod', step: 'retention' });
  });

  it('uses the singular for one image and leaves out instances when none were terminated', () => {
    const msg = retentionMessage(CONTEXT, outcome(didAll({ ...EMPTY_PLAN, deregister: [removed(image('ami-1', { sizeGiB: 8 }))] })));
    expect(msg.subject).toBe('[ecs-ami prod] CLEANED UP: deregistered 1 image (8 GiB of snapshots)');
  });

  it('counts the orphan snapshots deleted, singular and plural, and adds their size to the freed GiB', () => {
    const one = retentionMessage(CONTEXT, outcome(didAll({ ...EMPTY_PLAN, deleteSnapshots: [orphan('snap-1', 8)] })));
    expect(lines(one.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention deregistered 0 images (8 GiB of snapshots), deleted 1 orphan snapshot.');
    const two = retentionMessage(
      CONTEXT,
      outcome(didAll({ ...EMPTY_PLAN, deregister: [removed(image('ami-1', { sizeGiB: 8 }))], deleteSnapshots: [orphan('snap-1', 30), orphan('snap-2', 4)] })),
    );
    expect(lines(two.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention deregistered 1 image (42 GiB of snapshots), deleted 2 orphan snapshots.');
  });

  it('counts failed changes in the headline', () => {
    const plan = { ...EMPTY_PLAN, deregister: [removed(image('ami-1')), removed(image('ami-2', { sizeGiB: 8 }))] };
    const msg = retentionMessage(
      CONTEXT,
      outcome({
        status: 'FAILED',
        plan,
        deregistered: [{ imageId: 'ami-2', snapshotsDeleted: [], snapshotsKept: [{ snapshotId: 'snap-2', reason: 'its deletion failed (InternalError); the next pass deletes it' }] }],
        failures: ['deregister ami-1: UnauthorizedOperation', 'delete snapshot snap-2 of ami-2: its deletion failed (InternalError); the next pass deletes it'],
      }),
    );
    expect(msg.subject).toBe('[ecs-ami prod] FAILED: deregistered 1 image (8 GiB of snapshots), 2 changes failed');
  });

  it('counts only what was done, not what was planned: an image EC2 refused to deregister is not in the headline', () => {
    const msg = retentionMessage(
      CONTEXT,
      outcome({ status: 'FAILED', plan: { ...EMPTY_PLAN, deregister: [removed(image('ami-1'))] }, failures: ['deregister ami-1: UnauthorizedOperation'] }),
    );
    expect(msg.subject).toBe('[ecs-ami prod] FAILED: deregistered 0 images (0 GiB of snapshots), 1 change failed');
  });

  it('counts only the build instances terminated and the orphan snapshots deleted', () => {
    const plan = { ...EMPTY_PLAN, terminate: [leftover], deleteSnapshots: [orphan('snap-1', 8), orphan('snap-2', 30)] };
    const msg = retentionMessage(
      CONTEXT,
      outcome({ status: 'FAILED', plan, terminated: [], snapshotsDeleted: ['snap-2'], failures: ['terminate i-0abc: UnauthorizedOperation', 'delete snapshot snap-1: InternalError'] }),
    );
    expect(lines(msg.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention deregistered 0 images (30 GiB of snapshots), deleted 1 orphan snapshot, 2 changes failed.');
    // Without snapshotsDeleted (an outcome from before orphans), none counts.
    const none = retentionMessage(CONTEXT, outcome({ status: 'FAILED', plan, failures: ['f'] }));
    expect(lines(none.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention deregistered 0 images (0 GiB of snapshots), 1 change failed.');
  });

  it.each<RetentionStatus>(['CLEANED_UP', 'WOULD_CLEAN_UP', 'FAILED'])('carries status %s, the stage and step retention as attributes', (status) => {
    expect(retentionMessage({ ...CONTEXT, stage: 'staging' }, outcome({ status })).attributes).toEqual({ status, stage: 'staging', step: 'retention' });
  });

  it('keeps the subject under 100 characters with a long service name or stage, marking the cut', () => {
    const msg = retentionMessage(
      { serviceName: 'a-very-long-service-name-for-the-ecs-golden-image-pipeline', stage: 'feature-branch-with-a-long-name', region: 'eu-west-1' },
      outcome(didAll({ ...EMPTY_PLAN, deregister: [removed(image('ami-1'))], terminate: [leftover] })),
    );
    expect(msg.subject.length).toBeLessThan(100);
    expect(msg.subject.length).toBe(99);
    expect(msg.subject).toBe('[a-very-long-service-name-for-the-ecs-golden-image-pipeline feature-branch-with-a-long-name] CLE...');
    // The body is not cut.
    expect(lines(msg.message)[0]).toContain('terminated 1 build instance.');
  });

  it('cuts the subject only past 99 characters', () => {
    // `[` + service + ` s] FAILED: image retention failed` is 35 characters besides the service name.
    const failed = outcome({ status: 'FAILED', error: 'boom' });
    const fits = retentionMessage({ ...CONTEXT, stage: 's', serviceName: 'x'.repeat(64) }, failed);
    expect(fits.subject).toBe(`[${'x'.repeat(64)} s] FAILED: image retention failed`);
    expect(fits.subject.length).toBe(99);
    const over = retentionMessage({ ...CONTEXT, stage: 's', serviceName: 'x'.repeat(65) }, failed);
    expect(over.subject).toBe(`[${'x'.repeat(65)} s] FAILED: image retention fa...`);
    expect(over.subject.length).toBe(99);
  });

  it('keeps every subject under 100 characters, whatever the names', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), fc.constantFrom<RetentionStatus>('CLEANED_UP', 'WOULD_CLEAN_UP', 'FAILED'), (serviceName, stage, status) => {
        const subject = retentionMessage({ serviceName, stage, region: 'eu-west-1' }, outcome({ status, plan: { ...EMPTY_PLAN, terminate: [leftover] }, terminated: ['i-0abc'] })).subject;
        expect(subject.length).toBeLessThan(100);
        expect(subject.startsWith(`[${serviceName} ${stage}] `.slice(0, 96))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('retentionMessage: report mode', () => {
  it('says what it would do, never that it did', () => {
    const plan: RetentionPlan = { ...EMPTY_PLAN, deregister: [removed(image('ami-1', { sizeGiB: 8 }))], terminate: [leftover] };
    // Report mode did nothing: it counts the plan.
    const msg = retentionMessage(CONTEXT, outcome({ status: 'WOULD_CLEAN_UP', plan }));
    expect(msg.subject).toBe('[ecs-ami prod] WOULD CLEAN UP: would deregister 1 image (8 GiB of snapshots), would terminate 1 ...');
    expect(lines(msg.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention would deregister 1 image (8 GiB of snapshots), would terminate 1 build instance.');
    expect(msg.message).toContain('\nWould deregister, with their snapshots (imageRetention is report):\n  - ami-1 ecs-ami-prod-1 (x86_64, created 2026-04-01, 8 GiB): never promoted; 61 days old, in use by nothing\n');
    expect(msg.message).toContain('\nWould terminate (left behind by a stopped bake):\n  - i-0abc: build instance of bake weekly-1, running for 36 h (longer than any bake lives: 6 h)\n');
    expect(msg.message).not.toMatch(/Deregistered|Terminated| deregistered | terminated /);
    expect(msg.attributes.status).toBe('WOULD_CLEAN_UP');
  });

  it('says which orphan snapshots it would delete, and counts them and their size', () => {
    const plan: RetentionPlan = { ...EMPTY_PLAN, deleteSnapshots: [orphan('snap-0aaaaaaaaaaaaaaa1', 8), orphan('snap-0aaaaaaaaaaaaaaa2', 30)] };
    const msg = retentionMessage(CONTEXT, outcome({ status: 'WOULD_CLEAN_UP', plan }));
    expect(lines(msg.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention would deregister 0 images (38 GiB of snapshots), would delete 2 orphan snapshots.');
    expect(msg.message).toContain(
      [
        '',
        'Would delete (snapshots of images already gone):',
        '  - snap-0aaaaaaaaaaaaaaa1 (8 GiB): no image names it any more (its image was deregistered and the snapshot was left); 61 days old',
        '  - snap-0aaaaaaaaaaaaaaa2 (30 GiB): no image names it any more (its image was deregistered and the snapshot was left); 61 days old',
        '',
      ].join('\n'),
    );
    expect(msg.message).not.toMatch(/Deleted| deleted /);
  });
});

describe('retentionMessage: failures', () => {
  it('says the pass failed and that nothing was deleted after the error', () => {
    const msg = retentionMessage(CONTEXT, outcome({ status: 'FAILED', error: 'AccessDenied: ec2:DescribeImages' }));
    expect(msg.subject).toBe('[ecs-ami prod] FAILED: image retention failed');
    expect(msg.message).toBe(
      [
        'ecs-ami prod (eu-west-1): image retention failed.',
        '',
        'Error: AccessDenied: ec2:DescribeImages',
        'Nothing was deleted after the error; the next pass tries again.',
        '',
      ].join('\n'),
    );
    expect(msg.attributes).toEqual({ status: 'FAILED', stage: 'prod', step: 'retention' });
  });

  it('lists failed changes one a line', () => {
    const msg = retentionMessage(
      CONTEXT,
      outcome({
        status: 'FAILED',
        plan: { ...EMPTY_PLAN, deregister: [removed(image('ami-1'))] },
        failures: ['deregister ami-1: UnauthorizedOperation', 'delete snapshot snap-9: InternalError'],
      }),
    );
    expect(msg.subject).toBe('[ecs-ami prod] FAILED: deregistered 0 images (0 GiB of snapshots), 2 changes failed');
    expect(msg.message).toBe(
      [
        'ecs-ami prod (eu-west-1): image retention deregistered 0 images (0 GiB of snapshots), 2 changes failed.',
        '',
        'Failed (the next pass tries again):',
        '  - deregister ami-1: UnauthorizedOperation',
        '  - delete snapshot snap-9: InternalError',
        '',
      ].join('\n'),
    );
    // No error line, and the image EC2 refused to deregister is not listed as deregistered.
    expect(msg.message).not.toContain('Nothing was deleted after the error');
    expect(msg.message).not.toContain('Deregistered');
  });

  it('lists warnings in their own section', () => {
    const msg = retentionMessage(CONTEXT, outcome({ warnings: ['deprecate ami-2: InvalidAMIID.Unavailable', 'deprecate ami-3: RequestLimitExceeded'] }));
    expect(msg.message).toContain('\nNot done (harmless; the next pass tries again):\n  - deprecate ami-2: InvalidAMIID.Unavailable\n  - deprecate ami-3: RequestLimitExceeded\n');
    expect(msg.message).not.toContain('Failed');
    expect(msg.subject).toBe('[ecs-ami prod] CLEANED UP: deregistered 0 images (0 GiB of snapshots)');
  });
});

describe('retentionMessage: the images', () => {
  it('lists the deregistered images with why, the snapshots deleted and those EC2 kept', () => {
    const one = image('ami-1', { sizeGiB: 8, snapshotIds: ['snap-1a', 'snap-1b', 'snap-1c'] });
    const two = image('ami-2', { name: undefined, architecture: 'arm64', createdAt: new Date('2026-03-15T23:59:59.000Z') });
    const three = image('ami-3');
    const plan: RetentionPlan = {
      ...EMPTY_PLAN,
      deregister: [removed(one), removed(two, 'EC2 marked it failed; 78 days old'), removed(three)],
    };
    const msg = retentionMessage(
      CONTEXT,
      outcome({
        plan,
        deregistered: [
          { imageId: 'ami-1', snapshotsDeleted: ['snap-1a', 'snap-1b'], snapshotsKept: [{ snapshotId: 'snap-1c', reason: 'in use by ami-0other' }] },
          { imageId: 'ami-2', snapshotsDeleted: ['snap-2'], snapshotsKept: [] },
        ],
        // ami-3's deregistration failed: it is not listed as deregistered.
        failures: ['deregister ami-3: UnauthorizedOperation'],
        status: 'FAILED',
      }),
    );
    expect(msg.message).toContain(
      [
        'Deregistered, with their snapshots:',
        '  - ami-1 ecs-ami-prod-1 (x86_64, created 2026-04-01, 8 GiB): never promoted; 61 days old, in use by nothing',
        '      snapshots deleted: snap-1a, snap-1b',
        '      snapshot snap-1c kept: in use by ami-0other',
        '  - ami-2 (arm64, created 2026-03-15, 30 GiB): EC2 marked it failed; 78 days old',
        '      snapshots deleted: snap-2',
        '',
      ].join('\n'),
    );
    expect(msg.message).not.toContain('ami-3 ecs-ami-prod-3');
    expect(lines(msg.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention deregistered 2 images (38 GiB of snapshots), 1 change failed.');
  });

  it('lists a deregistered image whose snapshot could not be deleted with that snapshot kept and why', () => {
    const img = image('ami-1', { snapshotIds: ['snap-1a', 'snap-1b'] });
    const reason = 'its deletion failed (InternalError: An internal error has occurred.); the next pass deletes it';
    const msg = retentionMessage(
      CONTEXT,
      outcome({
        status: 'FAILED',
        plan: { ...EMPTY_PLAN, deregister: [removed(img)] },
        deregistered: [{ imageId: 'ami-1', snapshotsDeleted: ['snap-1a'], snapshotsKept: [{ snapshotId: 'snap-1b', reason }] }],
        failures: [`delete snapshot snap-1b of ami-1: ${reason}`],
      }),
    );
    expect(lines(msg.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention deregistered 1 image (30 GiB of snapshots), 1 change failed.');
    expect(msg.message).toContain(`\nFailed (the next pass tries again):\n  - delete snapshot snap-1b of ami-1: ${reason}\n`);
    expect(msg.message).toContain(
      [
        'Deregistered, with their snapshots:',
        '  - ami-1 ecs-ami-prod-1 (x86_64, created 2026-04-01, 30 GiB): never promoted; 61 days old, in use by nothing',
        '      snapshots deleted: snap-1a',
        `      snapshot snap-1b kept: ${reason}`,
        '',
      ].join('\n'),
    );
  });

  it('lists the orphan snapshots deleted, and only those', () => {
    const plan: RetentionPlan = { ...EMPTY_PLAN, deleteSnapshots: [orphan('snap-0aaaaaaaaaaaaaaa1', 8), orphan('snap-0aaaaaaaaaaaaaaa2', 30)] };
    const msg = retentionMessage(
      CONTEXT,
      outcome({ status: 'FAILED', plan, snapshotsDeleted: ['snap-0aaaaaaaaaaaaaaa2'], failures: ['delete snapshot snap-0aaaaaaaaaaaaaaa1: InternalError'] }),
    );
    expect(msg.message).toContain(
      [
        '',
        'Deleted (snapshots of images already gone):',
        '  - snap-0aaaaaaaaaaaaaaa2 (30 GiB): no image names it any more (its image was deregistered and the snapshot was left); 61 days old',
        '',
      ].join('\n'),
    );
    expect(msg.message).not.toContain('snap-0aaaaaaaaaaaaaaa1 (8 GiB)');
    expect(msg.message).not.toContain('Would delete');
  });

  it('lists only the build instances terminated', () => {
    const msg = retentionMessage(
      CONTEXT,
      outcome({ status: 'FAILED', plan: { ...EMPTY_PLAN, terminate: [leftover] }, terminated: [], failures: ['terminate i-0abc: UnauthorizedOperation'] }),
    );
    expect(msg.message).not.toContain('Terminated');
    expect(msg.message).not.toContain('i-0abc: build instance');
    expect(lines(msg.message)[0]).not.toContain('terminated');
    const terminated = retentionMessage(CONTEXT, outcome({ plan: { ...EMPTY_PLAN, terminate: [leftover] }, terminated: ['i-0abc'] }));
    expect(terminated.message).toContain('\nTerminated (left behind by a stopped bake):\n  - i-0abc: build instance of bake weekly-1, running for 36 h (longer than any bake lives: 6 h)\n');
  });

  it('lists the kept images with their reasons, marking those deprecated now', () => {
    const plan: RetentionPlan = {
      keep: [
        keptImage(image('ami-cur', { sizeGiB: 8 }), ['ami/current', 'stack ecs-prod (ApplicationImageId)']),
        keptImage(image('ami-old', { architecture: 'arm64' }), ['promoted 2 promotions ago (keeping 3 per architecture)'], true),
        // Deprecation planned but not done (EC2 refused): not marked.
        keptImage(image('ami-ref'), ['instances i-0a'], true),
      ],
      deregister: [],
      terminate: [],
      deleteSnapshots: [],
      deleteBakeResources: [],
    };
    const msg = retentionMessage(CONTEXT, outcome({ plan, deprecated: ['ami-old'] }));
    expect(msg.message).toContain(
      [
        'Kept:',
        '  - ami-cur ecs-ami-prod-cur (x86_64, created 2026-04-01, 8 GiB): ami/current; stack ecs-prod (ApplicationImageId)',
        '  - ami-old ecs-ami-prod-old (arm64, created 2026-04-01, 30 GiB) [deprecated now]: promoted 2 promotions ago (keeping 3 per architecture)',
        '  - ami-ref ecs-ami-prod-ref (x86_64, created 2026-04-01, 30 GiB): instances i-0a',
        '',
      ].join('\n'),
    );
    expect(msg.message.match(/\[deprecated now\]/g)).toHaveLength(1);
  });

  it('lists untagged lookalikes as not deleted', () => {
    const msg = retentionMessage(CONTEXT, outcome({ untagged: [image('ami-hand', { name: 'ecs-ami-prod-manual', sizeGiB: 16 })] }));
    expect(msg.message).toContain(
      "\nNamed like this stage's images but without its ManagedBy/PipelineStage tags (not deleted; retention may only delete tagged images):\n" +
        '  - ami-hand ecs-ami-prod-manual (x86_64, created 2026-04-01, 16 GiB)\n',
    );
  });

  it('lists notes', () => {
    const msg = retentionMessage(CONTEXT, outcome({ notes: ['3 images of other stages not considered'] }));
    expect(msg.message).toContain('\nNotes:\n  - 3 images of other stages not considered\n');
  });

  it('leaves out empty sections', () => {
    const msg = retentionMessage(CONTEXT, outcome());
    expect(msg.message).toBe('ecs-ami prod (eu-west-1): image retention deregistered 0 images (0 GiB of snapshots).\n');
  });

  it('puts the sections in order: error, failures, warnings, deregistered, orphan snapshots, terminated, kept, untagged, notes', () => {
    const plan: RetentionPlan = {
      keep: [keptImage(image('ami-k'), ['ami/latest'])],
      deregister: [removed(image('ami-d'))],
      terminate: [leftover],
      deleteSnapshots: [orphan('snap-o')],
      deleteBakeResources: [],
    };
    const msg = retentionMessage(
      CONTEXT,
      outcome({ ...didAll(plan), status: 'FAILED', error: 'Throttling', failures: ['f'], warnings: ['w'], untagged: [image('ami-u')], notes: ['n'] }),
    );
    const headers = [
      'Error: Throttling',
      'Failed (the next pass tries again):',
      'Not done (harmless',
      'Deregistered, with',
      'Deleted (snapshots of images already gone):',
      'Terminated (left behind',
      'Kept:',
      'Named like this stage',
      'Notes:',
    ];
    const positions = headers.map((h) => msg.message.indexOf(h));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('tells the plan decideRetention made, as decided', () => {
    const days = (d: number) => new Date(NOW.getTime() - d * DAY_MS);
    const plan = decideRetention({
      now: NOW,
      policy: { keepPromoted: 1, graceDays: 7, bakeLeftoverHours: 6 },
      images: [image('ami-new', { createdAt: days(10) }), image('ami-old', { createdAt: days(40), sizeGiB: 12 })],
      promotedNewestFirst: ['ami-new', 'ami-old'],
      uses: [{ imageId: 'ami-new', kind: 'current', detail: 'ami/current' }],
      runsInFlight: [],
      bakeInstances: [],
      snapshots: [
        { snapshotId: 'snap-new', createdAt: days(10), sizeGiB: 30 },
        { snapshotId: 'snap-left', createdAt: days(50), sizeGiB: 8 },
      ],
    });
    const msg = retentionMessage(
      CONTEXT,
      outcome({ plan, deregistered: [{ imageId: 'ami-old', snapshotsDeleted: ['snap-old'], snapshotsKept: [] }], snapshotsDeleted: ['snap-left'] }),
    );
    expect(lines(msg.message)[0]).toBe('ecs-ami prod (eu-west-1): image retention deregistered 1 image (20 GiB of snapshots), deleted 1 orphan snapshot.');
    expect(msg.message).toContain('  - snap-left (8 GiB): no image names it any more (its image was deregistered and the snapshot was left); 50 days old\n');
    expect(msg.message).toContain(
      '  - ami-old ecs-ami-prod-old (x86_64, created 2026-04-22, 12 GiB): promoted once, now older than the last 1 promoted x86_64 images; 40 days old, in use by nothing\n      snapshots deleted: snap-old\n',
    );
    expect(msg.message).toContain('  - ami-new ecs-ami-prod-new (x86_64, created 2026-05-22, 30 GiB): ami/current; promoted most recently (keeping 1 per architecture)\n');
  });
});

describe('worthTelling', () => {
  const withDeregister: RetentionPlan = { ...EMPTY_PLAN, deregister: [removed(image('ami-1'))] };
  const withTerminate: RetentionPlan = { ...EMPTY_PLAN, terminate: [leftover] };
  const keepOnly: RetentionPlan = { ...EMPTY_PLAN, keep: [keptImage(image('ami-k'), ['ami/current'], true)] };
  const withOrphan: RetentionPlan = { ...EMPTY_PLAN, deleteSnapshots: [orphan('snap-o')] };

  it.each<[string, Partial<RetentionOutcome>, boolean]>([
    ['an image deregistered', { plan: withDeregister }, true],
    ['an image that would be deregistered', { status: 'WOULD_CLEAN_UP', plan: withDeregister }, true],
    ['a build instance terminated', { plan: withTerminate }, true],
    ['a build instance that would be terminated', { status: 'WOULD_CLEAN_UP', plan: withTerminate }, true],
    ['an orphan snapshot deleted', { plan: withOrphan, snapshotsDeleted: ['snap-o'] }, true],
    ['an orphan snapshot that would be deleted', { status: 'WOULD_CLEAN_UP', plan: withOrphan }, true],
    ['a failed pass with an error', { status: 'FAILED', error: 'boom' }, true],
    ['a failed pass without an error', { status: 'FAILED' }, true],
    ['nothing to do', {}, false],
    ['nothing to do in report mode', { status: 'WOULD_CLEAN_UP' }, false],
    ['only kept and deprecated images', { plan: keepOnly, deprecated: ['ami-k'] }, false],
    ['only warnings, untagged images and notes', { plan: keepOnly, warnings: ['deprecate ami-k: refused'], untagged: [image('ami-u')], notes: ['n'] }, false],
  ])('%s', (_, overrides, expected) => {
    expect(worthTelling(outcome(overrides))).toBe(expected);
  });
});

describe('combinedRetentionMessage', () => {
  const message = (region: string, status: RetentionStatus) => ({
    region,
    subject: `[ecs-ami-pipeline prod] ${status.replace(/_/g, ' ')}: deregistered 1 image (30 GiB of snapshots)`,
    message: `ecs-ami-pipeline prod (${region}): image retention deregistered 1 image.\n`,
    attributes: { status, stage: 'prod', step: 'retention' as const },
  });

  it('keeps a single region\'s message as it is', () => {
    const one = message('us-east-1', 'CLEANED_UP');
    expect(combinedRetentionMessage([one])).toBe(one);
  });

  it('puts every region in one message, FAILED when any region failed', () => {
    const combined = combinedRetentionMessage([message('us-east-1', 'CLEANED_UP'), message('eu-west-1', 'FAILED')]);
    expect(combined.subject).toBe('[ecs-ami-pipeline prod] FAILED: deregistered 1 image (30 GiB of snapshots) (and 1 more region)');
    expect(combined.attributes).toEqual({ status: 'FAILED', stage: 'prod', step: 'retention' });
    expect(combined.message).toContain('=== us-east-1 ===\necs-ami-pipeline prod (us-east-1)');
    expect(combined.message).toContain('=== eu-west-1 ===\necs-ami-pipeline prod (eu-west-1)');
    expect(() => combinedRetentionMessage([])).toThrow('at least one message');
  });
});
