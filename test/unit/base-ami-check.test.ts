import { decideBaseAmiCheck } from '../../functions/lib/base-ami-check';

const NEW_BASE = 'ami-0cccccccccccccccc';
const OLD_BASE = 'ami-0bbbbbbbbbbbbbbbb';
const recommended = { imageId: NEW_BASE, imageName: 'al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64' };
const running = { executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:m:weekly-1', startDate: new Date('2026-01-01T00:00:00Z') };

describe('decideBaseAmiCheck', () => {
  it('does nothing when the current image is built on the recommended base', () => {
    expect(decideBaseAmiCheck(recommended, NEW_BASE, [running])).toEqual({ action: 'none', reason: 'up-to-date', baseAmiId: NEW_BASE });
  });

  it('does nothing while another run is in flight, naming it', () => {
    expect(decideBaseAmiCheck(recommended, OLD_BASE, [running])).toEqual({
      action: 'none',
      reason: 'run-in-flight',
      baseAmiId: NEW_BASE,
      runningExecutionArn: running.executionArn,
    });
  });

  it('starts a run named after the base AMI with trigger base-ami and the new base as source', () => {
    expect(decideBaseAmiCheck(recommended, OLD_BASE, [])).toEqual({
      action: 'start',
      baseAmiId: NEW_BASE,
      previousBaseAmiId: OLD_BASE,
      executionName: `base-ami-${NEW_BASE}`,
      input: {
        trigger: 'base-ami',
        sourceAmi: NEW_BASE,
        reason: `new ECS-optimized base AMI ${NEW_BASE} (al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64)`,
      },
    });
  });

  it('starts the first run when no base is recorded yet, with no image name in the reason when AWS gives none', () => {
    const decision = decideBaseAmiCheck({ imageId: NEW_BASE }, undefined, []);
    expect(decision).toMatchObject({ action: 'start', previousBaseAmiId: undefined, executionName: `base-ami-${NEW_BASE}` });
    expect(decision.action === 'start' && decision.input.reason).toBe(`new ECS-optimized base AMI ${NEW_BASE}`);
  });
});
