import { assessRegistration, autoScalingGroupOf, type ContainerInstanceView } from '../../functions/lib/decisions/registration';

const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
let n = 0;
function instance(amiId: string | undefined, status = 'ACTIVE', agentConnected = true): ContainerInstanceView {
  n += 1;
  return { arn: `arn:aws:ecs:eu-west-1:123456789012:container-instance/c/${n}`, ec2InstanceId: `i-${n}`, status, agentConnected, amiId };
}

describe('assessRegistration', () => {
  it('confirms when as many ACTIVE connected instances run the new AMI as desired, and none another', () => {
    expect(assessRegistration(2, [instance(NEW), instance(NEW)], NEW)).toEqual({
      confirmed: true,
      desiredCapacity: 2,
      ready: 2,
      notReady: 0,
      onOtherAmis: {},
      draining: 0,
      summary: `2/2 instances ACTIVE and connected on ${NEW}`,
    });
  });

  it('does not confirm with fewer ready instances than desired', () => {
    const result = assessRegistration(3, [instance(NEW), instance(NEW)], NEW);
    expect(result.confirmed).toBe(false);
    expect(result.ready).toBe(2);
    expect(result.summary).toBe(`2/3 instances ACTIVE and connected on ${NEW}`);
  });

  it('does not confirm while an instance on another AMI still takes tasks', () => {
    const result = assessRegistration(2, [instance(NEW), instance(NEW), instance(OLD, 'DRAINING'), instance(OLD), instance(undefined)], NEW);
    expect(result.confirmed).toBe(false);
    expect(result.ready).toBe(2);
    expect(result.onOtherAmis).toEqual({ [OLD]: 1, 'unknown AMI': 1 });
    expect(result.summary).toBe(
      `2/2 instances ACTIVE and connected on ${NEW}; 2 still on other AMIs (${OLD}: 1, unknown AMI: 1); 1 old instance(s) draining`,
    );
  });

  it('confirms while old instances are still DRAINING: managed draining may outlast the stack update', () => {
    const result = assessRegistration(2, [instance(NEW), instance(NEW), instance(OLD, 'DRAINING'), instance(OLD, 'DRAINING')], NEW);
    expect(result).toMatchObject({ confirmed: true, onOtherAmis: {}, draining: 2 });
    expect(result.summary).toBe(`2/2 instances ACTIVE and connected on ${NEW}; 2 old instance(s) draining`);
  });

  it('ignores INACTIVE and DEREGISTERING instances (they run nothing)', () => {
    const result = assessRegistration(1, [instance(NEW), instance(OLD, 'INACTIVE'), instance(OLD, 'DEREGISTERING', false)], NEW);
    expect(result.confirmed).toBe(true);
    expect(result.onOtherAmis).toEqual({});
  });

  it('counts an instance with a disconnected agent, or not ACTIVE yet, as not ready', () => {
    const result = assessRegistration(2, [instance(NEW), instance(NEW, 'ACTIVE', false), instance(NEW, 'REGISTERING')], NEW);
    expect(result.confirmed).toBe(false);
    expect(result.ready).toBe(1);
    expect(result.notReady).toBe(2);
    expect(result.summary).toBe(`1/2 instances ACTIVE and connected on ${NEW}; 2 on ${NEW} not ready yet`);
  });

  it('confirms an empty cluster when the group desires 0', () => {
    expect(assessRegistration(0, [], NEW)).toMatchObject({ confirmed: true, ready: 0, desiredCapacity: 0 });
    expect(assessRegistration(0, [instance(OLD)], NEW).confirmed).toBe(false);
  });

  it('confirms when more instances than desired are ready (scale-out during the check)', () => {
    expect(assessRegistration(1, [instance(NEW), instance(NEW)], NEW).confirmed).toBe(true);
  });
});

describe('autoScalingGroupOf', () => {
  const ASG = { type: 'AWS::AutoScaling::AutoScalingGroup', physicalId: 'prod-ecs-Asg-1' };

  it('prefers the AutoScalingGroupName output', () => {
    expect(autoScalingGroupOf('prod-ecs', [{ key: 'Other', value: 'x' }, { key: 'AutoScalingGroupName', value: 'from-output' }], [ASG])).toBe(
      'from-output',
    );
  });

  it('falls back to the stack\'s only Auto Scaling group resource', () => {
    expect(autoScalingGroupOf('prod-ecs', [], [{ type: 'AWS::EC2::LaunchTemplate', physicalId: 'lt-1' }, ASG])).toBe('prod-ecs-Asg-1');
    expect(autoScalingGroupOf('prod-ecs', [{ key: 'AutoScalingGroupName', value: '' }], [ASG])).toBe('prod-ecs-Asg-1');
  });

  it('fails when the stack has no group', () => {
    expect(() => autoScalingGroupOf('prod-ecs', [], [{ type: 'AWS::AutoScaling::AutoScalingGroup' }])).toThrow(
      'stack prod-ecs has no Auto Scaling group; the pipeline confirms registration against the group the stack owns',
    );
  });

  it('fails when the stack has several groups and no output saying which', () => {
    expect(() => autoScalingGroupOf('prod-ecs', [], [ASG, { ...ASG, physicalId: 'prod-ecs-Asg-2' }])).toThrow(
      'stack prod-ecs has 2 Auto Scaling groups; add an AutoScalingGroupName output naming the ECS one',
    );
  });
});
