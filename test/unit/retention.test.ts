/**
 * Image retention's decision (functions/lib/decisions/retention.ts): examples per rule, then
 * properties over generated stages. The properties are seeded by fast-check and print the seed
 * and the shrunk counterexample on failure; rerun one with RETENTION_SEED=<seed> (and
 * RETENTION_PATH=<path>), or run more with RETENTION_RUNS=<n>.
 */
import fc from 'fast-check';
import {
  decideRetention,
  describeReasons,
  freedGiB,
  type BakeInstance,
  type ImageUse,
  type KeptImage,
  type RetentionInput,
  type RetentionPlan,
  type RetentionPolicy,
  type StageImage,
  type StageSnapshot,
  type UseKind,
} from '../../functions/lib/decisions/retention';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const NOW = new Date('2026-06-01T12:00:00.000Z');
const daysAgo = (days: number): Date => new Date(NOW.getTime() - days * DAY_MS);
const hoursAgo = (hours: number): Date => new Date(NOW.getTime() - hours * HOUR_MS);

const POLICY: RetentionPolicy = { keepPromoted: 2, graceDays: 7, bakeLeftoverHours: 6 };

function image(imageId: string, overrides: Partial<StageImage> = {}): StageImage {
  return {
    imageId,
    name: `ecs-ami-prod-${imageId}`,
    architecture: 'x86_64',
    createdAt: daysAgo(30),
    state: 'available',
    snapshotIds: [`snap-${imageId}`],
    sizeGiB: 30,
    deprecated: false,
    versionsRecorded: true,
    ...overrides,
  };
}

function snapshot(snapshotId: string, overrides: Partial<StageSnapshot> = {}): StageSnapshot {
  return { snapshotId, createdAt: daysAgo(30), sizeGiB: 30, ...overrides };
}

function input(overrides: Partial<RetentionInput> = {}): RetentionInput {
  return { now: NOW, policy: POLICY, images: [], promotedNewestFirst: [], uses: [], runsInFlight: [], bakeInstances: [], ...overrides };
}

const ids = (items: { image: StageImage }[]): string[] => items.map((i) => i.image.imageId);
const kept = (plan: RetentionPlan, imageId: string): KeptImage => {
  const found = plan.keep.find((k) => k.image.imageId === imageId);
  if (!found) throw new Error(`${imageId} is not kept; deregistered: ${ids(plan.deregister).join(', ')}`);
  return found;
};
const whyRemoved = (plan: RetentionPlan, imageId: string): string => {
  const found = plan.deregister.find((r) => r.image.imageId === imageId);
  if (!found) throw new Error(`${imageId} is not deregistered; kept: ${ids(plan.keep).join(', ')}`);
  return found.why;
};

const USE_KINDS: UseKind[] = ['current', 'latest', 'cluster-confirmed', 'replaced-by-current', 'stack-parameter', 'launch-template', 'instance', 'run-in-flight'];

describe('decideRetention: what keeps an image', () => {
  it.each(USE_KINDS)('keeps an old, never promoted image used as %s, with that use as its only reason', (kind) => {
    const old = image('ami-old');
    const use: ImageUse = { imageId: 'ami-old', kind, detail: `detail of ${kind}` };
    const plan = decideRetention(input({ images: [old], uses: [use] }));
    expect(plan.deregister).toEqual([]);
    expect(plan.keep).toEqual([{ image: old, reasons: [{ kind, detail: `detail of ${kind}` }], deprecate: false }]);
    // Without the use nothing keeps it.
    expect(ids(decideRetention(input({ images: [old] })).deregister)).toEqual(['ami-old']);
  });

  it('keeps every use as a reason, in the order the uses came', () => {
    const uses: ImageUse[] = [
      { imageId: 'ami-a', kind: 'stack-parameter', detail: 'stack ecs-prod (ApplicationImageId)' },
      { imageId: 'ami-b', kind: 'instance', detail: 'instances i-0b' },
      { imageId: 'ami-a', kind: 'instance', detail: 'instances i-0a, i-0c' },
    ];
    const plan = decideRetention(input({ images: [image('ami-a'), image('ami-b')], uses }));
    expect(kept(plan, 'ami-a').reasons).toEqual([
      { kind: 'stack-parameter', detail: 'stack ecs-prod (ApplicationImageId)' },
      { kind: 'instance', detail: 'instances i-0a, i-0c' },
    ]);
    expect(kept(plan, 'ami-b').reasons).toEqual([{ kind: 'instance', detail: 'instances i-0b' }]);
  });

  it('keeps an image baked by a run in flight (by its BuildId), and only that one', () => {
    const mine = image('ami-mine', { buildId: 'weekly-2026-05-30', versionsRecorded: false });
    const other = image('ami-other', { buildId: 'weekly-2026-05-01' });
    const untagged = image('ami-nobuild');
    const plan = decideRetention(input({ images: [mine, other, untagged], runsInFlight: ['weekly-2026-05-30'] }));
    expect(kept(plan, 'ami-mine').reasons).toEqual([{ kind: 'run-in-flight', detail: 'run weekly-2026-05-30 baked it and is still running' }]);
    expect(ids(plan.deregister)).toEqual(['ami-other', 'ami-nobuild']);
  });

  it('keeps the last N promoted images of each architecture, counting x86_64 and arm64 independently', () => {
    const images = [
      image('ami-x1', { createdAt: daysAgo(50) }),
      image('ami-x2', { createdAt: daysAgo(40) }),
      image('ami-x3', { createdAt: daysAgo(30) }),
      image('ami-x4', { createdAt: daysAgo(20) }),
      image('ami-a1', { architecture: 'arm64', createdAt: daysAgo(45) }),
      image('ami-a2', { architecture: 'arm64', createdAt: daysAgo(35) }),
      image('ami-a3', { architecture: 'arm64', createdAt: daysAgo(25) }),
    ];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-x4', 'ami-a3', 'ami-x3', 'ami-a2', 'ami-x2', 'ami-a1', 'ami-x1'] }));
    expect(ids(plan.keep).sort()).toEqual(['ami-a2', 'ami-a3', 'ami-x3', 'ami-x4']);
    expect(ids(plan.deregister).sort()).toEqual(['ami-a1', 'ami-x1', 'ami-x2']);
    expect(kept(plan, 'ami-x4').reasons).toEqual([{ kind: 'promoted-recently', detail: 'promoted most recently (keeping 2 per architecture)' }]);
    expect(kept(plan, 'ami-x3').reasons).toEqual([{ kind: 'promoted-recently', detail: 'promoted 2 promotions ago (keeping 2 per architecture)' }]);
    expect(kept(plan, 'ami-a3').reasons).toEqual([{ kind: 'promoted-recently', detail: 'promoted most recently (keeping 2 per architecture)' }]);
    expect(kept(plan, 'ami-a2').reasons).toEqual([{ kind: 'promoted-recently', detail: 'promoted 2 promotions ago (keeping 2 per architecture)' }]);
  });

  it('counts an image promoted again (a rollback) once', () => {
    const images = [image('ami-1', { createdAt: daysAgo(50) }), image('ami-2', { createdAt: daysAgo(40) }), image('ami-3', { createdAt: daysAgo(30) })];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-3', 'ami-3', 'ami-2', 'ami-3', 'ami-1'] }));
    expect(ids(plan.keep)).toEqual(['ami-2', 'ami-3']);
    expect(ids(plan.deregister)).toEqual(['ami-1']);
    expect(kept(plan, 'ami-2').reasons).toEqual([{ kind: 'promoted-recently', detail: 'promoted 2 promotions ago (keeping 2 per architecture)' }]);
  });

  it('does not count promoted images that no longer exist toward N', () => {
    const images = [image('ami-1', { createdAt: daysAgo(50) }), image('ami-2', { createdAt: daysAgo(40) }), image('ami-3', { createdAt: daysAgo(35) })];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-gone-1', 'ami-gone-2', 'ami-2', 'ami-gone-3', 'ami-1', 'ami-3'] }));
    expect(ids(plan.keep)).toEqual(['ami-1', 'ami-2']);
    expect(kept(plan, 'ami-2').reasons).toEqual([{ kind: 'promoted-recently', detail: 'promoted most recently (keeping 2 per architecture)' }]);
    expect(kept(plan, 'ami-1').reasons).toEqual([{ kind: 'promoted-recently', detail: 'promoted 2 promotions ago (keeping 2 per architecture)' }]);
    expect(ids(plan.deregister)).toEqual(['ami-3']);
  });

  it('keeps an image within the grace period and removes one just past it', () => {
    const young = image('ami-young', { createdAt: daysAgo(6.9), versionsRecorded: false });
    const past = image('ami-past', { createdAt: daysAgo(7.1) });
    const plan = decideRetention(input({ images: [young, past] }));
    expect(plan.keep).toEqual([{ image: young, reasons: [{ kind: 'grace-period', detail: '6 days old, younger than the 7-day grace period' }], deprecate: false }]);
    expect(plan.deregister).toEqual([{ image: past, why: 'never promoted; 7 days old, in use by nothing' }]);
  });

  it('keeps a failed image within the grace period', () => {
    const plan = decideRetention(input({ images: [image('ami-f', { state: 'failed', createdAt: daysAgo(1) })] }));
    expect(kept(plan, 'ami-f').reasons).toEqual([{ kind: 'grace-period', detail: '1 day old, younger than the 7-day grace period' }]);
  });

  it('lists every reason an image is kept for, uses first, then run in flight, promotion and grace', () => {
    const img = image('ami-all', { createdAt: daysAgo(2), buildId: 'run-1' });
    const plan = decideRetention(
      input({ images: [img], uses: [{ imageId: 'ami-all', kind: 'current', detail: 'ami/current' }], runsInFlight: ['run-1'], promotedNewestFirst: ['ami-all'] }),
    );
    expect(kept(plan, 'ami-all').reasons.map((r) => r.kind)).toEqual(['current', 'run-in-flight', 'promoted-recently', 'grace-period']);
    expect(describeReasons(kept(plan, 'ami-all').reasons)).toBe(
      'ami/current; run run-1 baked it and is still running; promoted most recently (keeping 2 per architecture); 2 days old, younger than the 7-day grace period',
    );
  });

  it('ignores uses and promotions of images that are not the stage\'s', () => {
    const plan = decideRetention(
      input({
        images: [image('ami-mine')],
        uses: [{ imageId: 'ami-elsewhere', kind: 'instance', detail: 'instances i-0z' }],
        promotedNewestFirst: ['ami-elsewhere'],
      }),
    );
    expect(plan.keep).toEqual([]);
    expect(ids(plan.deregister)).toEqual(['ami-mine']);
  });

  it('decides nothing for a stage without images', () => {
    expect(decideRetention(input({ uses: [{ imageId: 'ami-x', kind: 'current', detail: 'ami/current' }], promotedNewestFirst: ['ami-x'] }))).toEqual({
      keep: [],
      deregister: [],
      terminate: [],
      deleteSnapshots: [],
      deleteBakeResources: [],
    });
  });
});

describe('decideRetention: why an image goes', () => {
  it('says EC2 marked it failed, before anything else', () => {
    const plan = decideRetention(input({ images: [image('ami-f', { state: 'failed', versionsRecorded: false })], promotedNewestFirst: [] }));
    expect(whyRemoved(plan, 'ami-f')).toBe('EC2 marked it failed; 30 days old');
  });

  it('says its bake never finished when the versions were never recorded', () => {
    const plan = decideRetention(input({ images: [image('ami-p', { versionsRecorded: false, createdAt: daysAgo(12.5) })] }));
    expect(whyRemoved(plan, 'ami-p')).toBe('its bake never finished (versions still "pending"); 12 days old, in use by nothing');
  });

  it('says it was promoted once but is older than the last N of its architecture', () => {
    const images = [
      image('ami-1', { architecture: 'arm64', createdAt: daysAgo(90) }),
      image('ami-2', { architecture: 'arm64', createdAt: daysAgo(60) }),
      image('ami-3', { architecture: 'arm64', createdAt: daysAgo(30) }),
    ];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-3', 'ami-2', 'ami-1'] }));
    expect(plan.deregister).toEqual([{ image: images[0], why: 'promoted once, now older than the last 2 promoted arm64 images; 90 days old, in use by nothing' }]);
  });

  it('says it was never promoted, with a singular day', () => {
    const plan = decideRetention(input({ policy: { ...POLICY, graceDays: 1 }, images: [image('ami-n', { createdAt: daysAgo(1.5) })] }));
    expect(whyRemoved(plan, 'ami-n')).toBe('never promoted; 1 day old, in use by nothing');
  });

  it('keeps the image as it was given, snapshots and size included, for the cleanup and freedGiB', () => {
    const a = image('ami-a', { sizeGiB: 8, snapshotIds: ['snap-1', 'snap-2'] });
    const b = image('ami-b', { sizeGiB: 30 });
    const c = image('ami-c', { sizeGiB: 100 });
    const plan = decideRetention(input({ images: [a, b, c], uses: [{ imageId: 'ami-c', kind: 'latest', detail: 'ami/latest' }] }));
    expect(plan.deregister.map((r) => r.image)).toEqual([a, b]);
    expect(freedGiB(plan)).toBe(38);
    expect(freedGiB({ keep: [], deregister: [], terminate: [], deleteSnapshots: [], deleteBakeResources: [] })).toBe(0);
  });

  it("adds the orphan snapshots' sizes to freedGiB", () => {
    const plan = decideRetention(
      input({
        images: [image('ami-a', { sizeGiB: 8 })],
        snapshots: [snapshot('snap-orphan-1', { sizeGiB: 30 }), snapshot('snap-orphan-2', { sizeGiB: 4 }), snapshot('snap-young', { sizeGiB: 100, createdAt: daysAgo(1) })],
      }),
    );
    expect(plan.deleteSnapshots.map((s) => s.snapshotId)).toEqual(['snap-orphan-1', 'snap-orphan-2']);
    expect(freedGiB(plan)).toBe(42);
    expect(freedGiB({ keep: [], deregister: [], terminate: [], deleteSnapshots: [{ ...snapshot('snap-x', { sizeGiB: 16 }), why: 'orphan' }], deleteBakeResources: [] })).toBe(16);
  });
});

describe('decideRetention: orphan snapshots', () => {
  it('deletes a snapshot of the stage no image names, older than the grace period, saying why', () => {
    const orphan = snapshot('snap-orphan', { createdAt: daysAgo(12.5), sizeGiB: 30 });
    const plan = decideRetention(input({ snapshots: [orphan] }));
    expect(plan.deleteSnapshots).toEqual([
      { ...orphan, why: 'no image names it any more (its image was deregistered and the snapshot was left); 12 days old' },
    ]);
    // Nothing else changes because of it.
    expect(plan).toMatchObject({ keep: [], deregister: [], terminate: [] });
  });

  it('says a singular day', () => {
    const plan = decideRetention(input({ policy: { ...POLICY, graceDays: 1 }, snapshots: [snapshot('snap-orphan', { createdAt: daysAgo(1.5) })] }));
    expect(plan.deleteSnapshots.map((s) => s.why)).toEqual(['no image names it any more (its image was deregistered and the snapshot was left); 1 day old']);
  });

  it('leaves an orphan snapshot younger than the grace period (its image may still be registering) and takes one just past it', () => {
    const young = snapshot('snap-young', { createdAt: daysAgo(6.9) });
    const past = snapshot('snap-past', { createdAt: daysAgo(7.1) });
    const plan = decideRetention(input({ snapshots: [young, past] }));
    expect(plan.deleteSnapshots.map((s) => s.snapshotId)).toEqual(['snap-past']);
  });

  it.each<[string, Partial<StageImage>]>([
    ['kept', { createdAt: daysAgo(2) }],
    ['deregistered in this very plan (its snapshots go with it)', {}],
    ['failed', { state: 'failed' }],
  ])('does not list a snapshot of one of the stage images, %s', (_label, overrides) => {
    const img = image('ami-a', { snapshotIds: ['snap-root', 'snap-data'], ...overrides });
    const plan = decideRetention(input({ images: [img], snapshots: [snapshot('snap-root'), snapshot('snap-data'), snapshot('snap-orphan')] }));
    expect(plan.deleteSnapshots.map((s) => s.snapshotId)).toEqual(['snap-orphan']);
  });

  it('does not list a snapshot another image of the account names (referencedSnapshotIds), such as an untagged copy', () => {
    const plan = decideRetention(
      input({ snapshots: [snapshot('snap-used-elsewhere'), snapshot('snap-orphan')], referencedSnapshotIds: ['snap-used-elsewhere', 'snap-not-the-stages'] }),
    );
    expect(plan.deleteSnapshots.map((s) => s.snapshotId)).toEqual(['snap-orphan']);
  });

  it('lists nothing without snapshots (the field is optional)', () => {
    expect(decideRetention(input({ images: [image('ami-a')], referencedSnapshotIds: ['snap-x'] })).deleteSnapshots).toEqual([]);
  });
});

describe('decideRetention: deprecation', () => {
  const arch = (architecture: string, days: number, overrides: Partial<StageImage> = {}) => ({ architecture, createdAt: daysAgo(days), ...overrides });
  const use = (imageId: string, kind: UseKind): ImageUse => ({ imageId, kind, detail: `${kind} of ${imageId}` });

  it('deprecates a kept image older than the newest promoted one of its architecture, and not the newest promoted itself', () => {
    const images = [image('ami-old', arch('x86_64', 40)), image('ami-prev', arch('x86_64', 30)), image('ami-new', arch('x86_64', 20))];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-new', 'ami-prev'], uses: [use('ami-old', 'cluster-confirmed')] }));
    expect(kept(plan, 'ami-old').deprecate).toBe(true);
    expect(kept(plan, 'ami-prev').deprecate).toBe(true);
    expect(kept(plan, 'ami-new').deprecate).toBe(false);
  });

  it('does not deprecate an image newer than the newest promoted one, such as a latest not yet promoted', () => {
    const images = [image('ami-promoted', arch('x86_64', 20)), image('ami-latest', arch('x86_64', 10)), image('ami-newer', arch('x86_64', 12))];
    const plan = decideRetention(
      input({ images, promotedNewestFirst: ['ami-promoted'], uses: [use('ami-latest', 'latest'), use('ami-newer', 'instance')] }),
    );
    expect(kept(plan, 'ami-latest').deprecate).toBe(false);
    expect(kept(plan, 'ami-newer').deprecate).toBe(false);
  });

  it.each(['current', 'latest'] as const)('never deprecates the %s image, even when older than the newest promoted one', (kind) => {
    const images = [image('ami-it', arch('x86_64', 40)), image('ami-new', arch('x86_64', 20))];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-new', 'ami-it'], uses: [use('ami-it', kind), use('ami-it', 'instance')] }));
    expect(kept(plan, 'ami-it').deprecate).toBe(false);
  });

  it('does not deprecate an image EC2 already deprecates', () => {
    const images = [image('ami-dep', arch('x86_64', 40, { deprecated: true })), image('ami-new', arch('x86_64', 20))];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-new', 'ami-dep'] }));
    expect(kept(plan, 'ami-dep')).toMatchObject({ deprecate: false, reasons: [{ kind: 'promoted-recently' }] });
  });

  it.each(['pending', 'failed'])('does not deprecate an image in state %s', (state) => {
    const images = [image('ami-odd', arch('x86_64', 40, { state })), image('ami-new', arch('x86_64', 20))];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-new'], uses: [use('ami-odd', 'instance')] }));
    expect(kept(plan, 'ami-odd').deprecate).toBe(false);
  });

  it('compares only within an architecture', () => {
    const images = [image('ami-arm', arch('arm64', 40)), image('ami-x86', arch('x86_64', 20)), image('ami-arm-new', arch('arm64', 50))];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-x86', 'ami-arm-new'], uses: [use('ami-arm', 'instance')] }));
    // ami-arm is older than the newest x86_64 promoted image but newer than the newest arm64 one.
    expect(kept(plan, 'ami-arm').deprecate).toBe(false);
    expect(kept(plan, 'ami-arm-new').deprecate).toBe(false);
  });

  it('takes the newest promoted image that still exists, and the newest promotion rather than the newest creation', () => {
    const images = [image('ami-older', arch('x86_64', 50)), image('ami-a', arch('x86_64', 40)), image('ami-b', arch('x86_64', 30)), image('ami-c', arch('x86_64', 20))];
    // ami-c was promoted, then a rollback promoted ami-a again; ami-gone is newer still but no longer exists.
    const plan = decideRetention(
      input({ images, promotedNewestFirst: ['ami-gone', 'ami-a', 'ami-c', 'ami-b'], uses: [use('ami-b', 'instance'), use('ami-older', 'instance')] }),
    );
    expect(kept(plan, 'ami-older').deprecate).toBe(true);
    expect(kept(plan, 'ami-a').deprecate).toBe(false);
    expect(kept(plan, 'ami-b').deprecate).toBe(false);
    expect(kept(plan, 'ami-c').deprecate).toBe(false);
  });

  it('deprecates an image kept only by the grace period when a newer one was already promoted', () => {
    const images = [image('ami-young', arch('x86_64', 5)), image('ami-new', arch('x86_64', 3))];
    const plan = decideRetention(input({ images, promotedNewestFirst: ['ami-new'] }));
    expect(kept(plan, 'ami-young')).toMatchObject({ reasons: [{ kind: 'grace-period' }], deprecate: true });
  });

  it('deprecates nothing while nothing of the architecture was promoted', () => {
    const plan = decideRetention(input({ images: [image('ami-1', arch('x86_64', 40)), image('ami-2', arch('x86_64', 2))], uses: [use('ami-1', 'instance')] }));
    expect(plan.keep.map((k) => k.deprecate)).toEqual([false, false]);
  });
});

describe('decideRetention: leftover build instances', () => {
  const instance = (instanceId: string, state: string, hours: number, buildId?: string): BakeInstance => ({ instanceId, state, launchedAt: hoursAgo(hours), buildId });

  it('terminates only instances older than the bound, not already going, and not of a run in flight', () => {
    const instances = [
      instance('i-old', 'running', 7, 'weekly-1'),
      instance('i-young', 'running', 5, 'weekly-1'),
      instance('i-exact', 'running', 6, 'weekly-1'),
      instance('i-terminated', 'terminated', 30, 'weekly-1'),
      instance('i-shutting', 'shutting-down', 30, 'weekly-1'),
      instance('i-stopped', 'stopped', 30.5),
      instance('i-inflight', 'running', 30, 'weekly-2'),
      instance('i-pending', 'pending', 8, 'weekly-3'),
    ];
    const plan = decideRetention(input({ bakeInstances: instances, runsInFlight: ['weekly-2'] }));
    expect(plan.terminate).toEqual([
      { ...instances[0], why: 'build instance of bake weekly-1, running for 7 h (longer than any bake lives: 6 h)' },
      { ...instances[5], why: 'build instance of an unknown bake, stopped for 30 h (longer than any bake lives: 6 h)' },
      { ...instances[7], why: 'build instance of bake weekly-3, pending for 8 h (longer than any bake lives: 6 h)' },
    ]);
  });

  it('terminates an old instance once its run is no longer in flight', () => {
    const old = instance('i-1', 'running', 48, 'weekly-2');
    expect(decideRetention(input({ bakeInstances: [old], runsInFlight: ['weekly-2'] })).terminate).toEqual([]);
    expect(decideRetention(input({ bakeInstances: [old], runsInFlight: ['weekly-3'] })).terminate.map((t) => t.instanceId)).toEqual(['i-1']);
  });
});

describe('decideRetention: a stopped bake’s security group and key pair', () => {
  const group = (id: string, buildId?: string) => ({ kind: 'security-group' as const, id, buildId });
  const key = (id: string, buildId?: string) => ({ kind: 'key-pair' as const, id, buildId });

  it('deletes those of a bake that is over, and keeps those of a run in flight or with a build instance left', () => {
    const plan = decideRetention(
      input({
        bakeResources: [group('sg-over', 'weekly-1'), key('packer_over', 'weekly-1'), group('sg-flight', 'weekly-2'), key('packer_live', 'weekly-3'), group('sg-unknown')],
        runsInFlight: ['weekly-2'],
        bakeInstances: [{ instanceId: 'i-3', state: 'running', launchedAt: hoursAgo(30), buildId: 'weekly-3' }],
      }),
    );
    expect(plan.deleteBakeResources.map((r) => r.id)).toEqual(['sg-over', 'packer_over', 'sg-unknown']);
    expect(plan.deleteBakeResources[0]!.why).toBe('temporary security group of bake weekly-1, which is over and has no build instance left');
    expect(plan.deleteBakeResources[2]!.why).toBe('temporary security group of an unknown bake, which is over and has no build instance left');
    // The instance of weekly-3 goes this pass (older than the bound); its key pair the next.
    expect(plan.terminate.map((t) => t.instanceId)).toEqual(['i-3']);
  });
});

describe('describeReasons', () => {
  it('joins the details in order', () => {
    expect(describeReasons([])).toBe('');
    expect(
      describeReasons([
        { kind: 'instance', detail: 'instances i-0a' },
        { kind: 'grace-period', detail: '1 day old' },
      ]),
    ).toBe('instances i-0a; 1 day old');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over generated stages.

const numRuns = Number(process.env.RETENTION_RUNS ?? 300);
const seed = process.env.RETENTION_SEED ? Number(process.env.RETENTION_SEED) : undefined;
const path = process.env.RETENTION_PATH;
const params = { numRuns, seed, path };

const ARCHS = ['x86_64', 'arm64'];
const STATES = ['available', 'available', 'pending', 'failed'];
const BUILDS = ['run-1', 'run-2', 'run-3', 'run-4'];
const MAX_IMAGES = 10;
const slotId = (i: number): string => `ami-${String(i).padStart(17, '0')}`;
// Ids that uses and promotions may name: the slots images can take (some beyond any generated
// image), plus ids that are never the stage's.
const NAMEABLE = [...Array.from({ length: MAX_IMAGES + 2 }, (_, i) => slotId(i)), 'ami-elsewhere1', 'ami-elsewhere2', 'ami-gone'];

const imageSpec = fc.record({
  architecture: fc.constantFrom(...ARCHS),
  ageSeconds: fc.integer({ min: 0, max: 60 * 86_400 }),
  state: fc.constantFrom(...STATES),
  sizeGiB: fc.integer({ min: 1, max: 200 }),
  deprecated: fc.boolean(),
  buildId: fc.option(fc.constantFrom(...BUILDS), { nil: undefined }),
  versionsRecorded: fc.boolean(),
  dataVolume: fc.boolean(),
});
type ImageSpec = typeof imageSpec extends fc.Arbitrary<infer T> ? T : never;

const toImage = (spec: ImageSpec, i: number): StageImage => ({
  imageId: slotId(i),
  name: `ecs-ami-prod-${i}`,
  architecture: spec.architecture,
  createdAt: new Date(NOW.getTime() - spec.ageSeconds * 1000),
  state: spec.state,
  snapshotIds: spec.dataVolume ? [`snap-${i}`, `snap-${i}-data`] : [`snap-${i}`],
  sizeGiB: spec.sizeGiB,
  deprecated: spec.deprecated,
  buildId: spec.buildId,
  versionsRecorded: spec.versionsRecorded,
});

// Snapshot ids the stage's snapshots and the account's other images may name: those of the image
// slots (taken or not), and some no stage image ever names.
const SNAPSHOT_IDS = [
  ...Array.from({ length: MAX_IMAGES + 2 }, (_, i) => [`snap-${i}`, `snap-${i}-data`]).flat(),
  'snap-orphan-1',
  'snap-orphan-2',
  'snap-orphan-3',
  'snap-of-an-untagged-image',
];

const snapshotArb: fc.Arbitrary<StageSnapshot> = fc.record({
  snapshotId: fc.constantFrom(...SNAPSHOT_IDS),
  createdAt: fc.integer({ min: 0, max: 60 * 86_400 }).map((seconds) => new Date(NOW.getTime() - seconds * 1000)),
  sizeGiB: fc.integer({ min: 1, max: 200 }),
});

const useArb: fc.Arbitrary<ImageUse> = fc.record({
  imageId: fc.constantFrom(...NAMEABLE),
  kind: fc.constantFrom(...USE_KINDS),
  detail: fc.constantFrom('stack ecs-prod (ApplicationImageId)', 'instances i-0a', 'ami/current'),
});

const bakeInstanceArb: fc.Arbitrary<BakeInstance> = fc.record({
  instanceId: fc.constantFrom('i-1', 'i-2', 'i-3'),
  state: fc.constantFrom('pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'),
  launchedAt: fc.integer({ min: 0, max: 96 * 60 }).map((minutes) => new Date(NOW.getTime() - minutes * 60_000)),
  buildId: fc.option(fc.constantFrom(...BUILDS), { nil: undefined }),
});

const inputs: fc.Arbitrary<RetentionInput> = fc.record({
  now: fc.constant(NOW),
  policy: fc.record({ keepPromoted: fc.integer({ min: 2, max: 5 }), graceDays: fc.integer({ min: 1, max: 14 }), bakeLeftoverHours: fc.integer({ min: 1, max: 48 }) }),
  images: fc.array(imageSpec, { maxLength: MAX_IMAGES }).map((specs) => specs.map(toImage)),
  // Mostly images that exist (so some go past N), with repeats, and some ids that are not the stage's images.
  promotedNewestFirst: fc.array(
    fc.oneof({ arbitrary: fc.nat(MAX_IMAGES - 1).map(slotId), weight: 4 }, { arbitrary: fc.constantFrom(...NAMEABLE), weight: 1 }),
    { maxLength: 20, size: 'max' },
  ),
  uses: fc.array(useArb, { maxLength: 8 }),
  runsInFlight: fc.subarray(BUILDS),
  bakeInstances: fc.array(bakeInstanceArb, { maxLength: 4 }),
  snapshots: fc.uniqueArray(snapshotArb, { maxLength: 10, selector: (sn) => sn.snapshotId }),
  referencedSnapshotIds: fc.subarray(SNAPSHOT_IDS, { maxLength: 6 }),
});

/** Every snapshot id an image names: the stage's images given, and the account's others. */
function namedByAnImage(input: RetentionInput): Set<string> {
  return new Set([...input.images.flatMap((i) => i.snapshotIds), ...(input.referencedSnapshotIds ?? [])]);
}

/** An independent statement of what must keep an image: each rule on its own, no shared code with the module. */
function mustKeep(input: RetentionInput): Set<string> {
  const protectedIds = new Set<string>();
  const existing = new Map(input.images.map((i) => [i.imageId, i]));
  for (const use of input.uses) if (existing.has(use.imageId)) protectedIds.add(use.imageId);
  for (const img of input.images) {
    if (img.buildId !== undefined && input.runsInFlight.includes(img.buildId)) protectedIds.add(img.imageId);
    if (NOW.getTime() - img.createdAt.getTime() < input.policy.graceDays * DAY_MS) protectedIds.add(img.imageId);
  }
  for (const architecture of ARCHS) {
    const ofArch = input.promotedNewestFirst.filter((id) => existing.get(id)?.architecture === architecture);
    for (const id of [...new Set(ofArch)].slice(0, input.policy.keepPromoted)) protectedIds.add(id);
  }
  return protectedIds;
}

const deregistered = (plan: RetentionPlan): Set<string> => new Set(ids(plan.deregister));

describe('decideRetention: properties', () => {
  it('(a) places every image exactly once, in keep or deregister, and every kept image has a reason', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = decideRetention(input);
        const placed = [...ids(plan.keep), ...ids(plan.deregister)].sort();
        expect(placed).toEqual(input.images.map((i) => i.imageId).sort());
        for (const k of plan.keep) expect(k.reasons.length).toBeGreaterThan(0);
        // The plan carries the images as given.
        for (const item of [...plan.keep, ...plan.deregister]) expect(input.images).toContain(item.image);
      }),
      params,
    );
  });

  it('(b) never deregisters an image in use, of a run in flight, within the grace period or among the last N promoted of its architecture', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = decideRetention(input);
        const protectedIds = mustKeep(input);
        for (const removed of plan.deregister) expect(protectedIds.has(removed.image.imageId)).toBe(false);
        // And the converse: an image nothing protects goes.
        for (const k of plan.keep) expect(protectedIds.has(k.image.imageId)).toBe(true);
      }),
      params,
    );
  });

  it('(c) adding a use never adds a deregistration', () => {
    fc.assert(
      fc.property(inputs, useArb, (input, extra) => {
        const without = deregistered(decideRetention(input));
        const withExtra = deregistered(decideRetention({ ...input, uses: [...input.uses, extra] }));
        for (const id of withExtra) expect(without.has(id)).toBe(true);
        if (input.images.some((i) => i.imageId === extra.imageId)) expect(withExtra.has(extra.imageId)).toBe(false);
      }),
      params,
    );
  });

  it('(d) is idempotent: a second pass over the kept images deregisters nothing and keeps them for the same reasons', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const first = decideRetention(input);
        // The deregistered images took their snapshots with them; the orphans listed are gone too.
        const gone = new Set([...first.deregister.flatMap((r) => r.image.snapshotIds), ...first.deleteSnapshots.map((sn) => sn.snapshotId)]);
        const second = decideRetention({
          ...input,
          images: first.keep.map((k) => k.image),
          snapshots: (input.snapshots ?? []).filter((sn) => !gone.has(sn.snapshotId)),
        });
        expect(second.deregister).toEqual([]);
        expect(second.keep).toEqual(first.keep);
        expect(second.deleteSnapshots).toEqual([]);
      }),
      params,
    );
  });

  it('(e) deregisters only the images it was given, never an id only uses or promotions name', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = decideRetention(input);
        const given = new Set(input.images.map((i) => i.imageId));
        for (const id of [...ids(plan.deregister), ...ids(plan.keep)]) expect(given.has(id)).toBe(true);
        for (const id of ['ami-elsewhere1', 'ami-elsewhere2', 'ami-gone']) expect(deregistered(plan).has(id)).toBe(false);
      }),
      params,
    );
  });

  it('deprecates exactly the kept, available, not yet deprecated images older than the newest promoted one of their architecture, other than current and latest', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = decideRetention(input);
        const existing = new Map(input.images.map((i) => [i.imageId, i]));
        const newest = new Map<string, StageImage>();
        for (const id of input.promotedNewestFirst) {
          const img = existing.get(id);
          if (img && !newest.has(img.architecture)) newest.set(img.architecture, img);
        }
        for (const k of plan.keep) {
          const top = newest.get(k.image.architecture);
          const expected =
            top !== undefined &&
            k.image.createdAt < top.createdAt &&
            k.image.state === 'available' &&
            !k.image.deprecated &&
            !input.uses.some((u) => u.imageId === k.image.imageId && (u.kind === 'current' || u.kind === 'latest'));
          expect(k.deprecate).toBe(expected);
        }
      }),
      params,
    );
  });

  it('(f) never deletes a snapshot any image names, the stage\'s (kept or deregistered) or another of the account', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = decideRetention(input);
        const named = namedByAnImage(input);
        for (const sn of plan.deleteSnapshots) expect(named.has(sn.snapshotId)).toBe(false);
      }),
      params,
    );
  });

  it('deletes exactly the given snapshots no image names that are at least the grace period old, each with why', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = decideRetention(input);
        const named = namedByAnImage(input);
        const expected = (input.snapshots ?? []).filter(
          (sn) => !named.has(sn.snapshotId) && NOW.getTime() - sn.createdAt.getTime() >= input.policy.graceDays * DAY_MS,
        );
        expect(plan.deleteSnapshots.map(({ why: _why, ...rest }) => rest)).toEqual(expected);
        for (const sn of plan.deleteSnapshots) expect(sn.why).toMatch(/^no image names it any more .*; \d+ days? old$/);
        expect(freedGiB(plan)).toBe(
          plan.deregister.reduce((sum, r) => sum + r.image.sizeGiB, 0) + expected.reduce((sum, sn) => sum + sn.sizeGiB, 0),
        );
      }),
      params,
    );
  });

  it('terminates exactly the build instances past the bound, not going, and not of a run in flight', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = decideRetention(input);
        const expected = input.bakeInstances.filter(
          (i) =>
            i.state !== 'terminated' &&
            i.state !== 'shutting-down' &&
            NOW.getTime() - i.launchedAt.getTime() > input.policy.bakeLeftoverHours * HOUR_MS &&
            !(i.buildId !== undefined && input.runsInFlight.includes(i.buildId)),
        );
        expect(plan.terminate.map(({ why: _why, ...rest }) => rest)).toEqual(expected);
      }),
      params,
    );
  });

  it('the generated stages exercise every rule (the properties are not vacuous)', () => {
    const sample = fc.sample(inputs, { numRuns: 500, seed: 1 });
    const plans = sample.map(decideRetention);
    const reasonKinds = new Set(plans.flatMap((p) => p.keep.flatMap((k) => k.reasons.map((r) => r.kind))));
    expect([...reasonKinds].sort()).toEqual([...USE_KINDS, 'grace-period', 'promoted-recently'].sort());
    const withRemoval = (prefix: string) => plans.filter((p) => p.deregister.some((r) => r.why.startsWith(prefix))).length;
    expect(plans.filter((p) => p.deregister.length > 0).length).toBeGreaterThan(150);
    expect(withRemoval('promoted once')).toBeGreaterThan(10);
    expect(withRemoval('never promoted')).toBeGreaterThan(50);
    expect(withRemoval('EC2 marked it failed')).toBeGreaterThan(50);
    expect(withRemoval('its bake never finished')).toBeGreaterThan(50);
    expect(plans.filter((p) => p.keep.some((k) => k.deprecate)).length).toBeGreaterThan(50);
    expect(plans.filter((p) => p.terminate.length > 0).length).toBeGreaterThan(100);
    expect(plans.filter((p) => p.deleteSnapshots.length > 0).length).toBeGreaterThan(100);
    // Snapshots an image names show up among the stage's snapshots often: property (f) is not vacuous.
    const namedAndGiven = sample.filter((i) => (i.snapshots ?? []).some((sn) => namedByAnImage(i).has(sn.snapshotId) && NOW.getTime() - sn.createdAt.getTime() >= i.policy.graceDays * DAY_MS));
    expect(namedAndGiven.length).toBeGreaterThan(100);
    const namedOnlyElsewhere = sample.filter((i) =>
      (i.snapshots ?? []).some((sn) => (i.referencedSnapshotIds ?? []).includes(sn.snapshotId) && !i.images.some((img) => img.snapshotIds.includes(sn.snapshotId))),
    );
    expect(namedOnlyElsewhere.length).toBeGreaterThan(50);
  });
});
