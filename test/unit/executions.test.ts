import { executionName, runToGiveWayTo, stateMachineArnOf } from '../../functions/lib/contracts/executions';

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod';
const arn = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;
const at = (iso: string) => new Date(iso);

describe('runToGiveWayTo', () => {
  const mine = { executionArn: arn('b-run'), startDate: at('2026-01-01T10:00:00Z') };

  it('gives way to a run that started earlier', () => {
    const earlier = { executionArn: arn('z-run'), startDate: at('2026-01-01T09:59:59Z') };
    expect(runToGiveWayTo(mine, [mine, earlier])).toBe(earlier);
  });

  it('does not give way to a run that started later', () => {
    const later = { executionArn: arn('a-run'), startDate: at('2026-01-01T10:00:01Z') };
    expect(runToGiveWayTo(mine, [later, mine])).toBeUndefined();
  });

  it('ignores itself', () => {
    expect(runToGiveWayTo(mine, [mine])).toBeUndefined();
    expect(runToGiveWayTo(mine, [])).toBeUndefined();
  });

  it('breaks a same-instant tie by ARN, so exactly one of the two runs goes on', () => {
    const twin = { executionArn: arn('a-run'), startDate: new Date(mine.startDate) };
    expect(runToGiveWayTo(mine, [mine, twin])).toBe(twin);
    expect(runToGiveWayTo(twin, [mine, twin])).toBeUndefined();
  });

  it('names the earliest of several earlier runs', () => {
    const first = { executionArn: arn('first'), startDate: at('2026-01-01T08:00:00Z') };
    const second = { executionArn: arn('second'), startDate: at('2026-01-01T09:00:00Z') };
    expect(runToGiveWayTo(mine, [second, mine, first])).toBe(first);
  });
});

describe('stateMachineArnOf', () => {
  it('turns an execution ARN into its state machine ARN', () => {
    expect(stateMachineArnOf(arn('weekly-2026-01-01'))).toBe(MACHINE);
    expect(stateMachineArnOf('arn:aws-cn:states:cn-north-1:123456789012:execution:m:n')).toBe(
      'arn:aws-cn:states:cn-north-1:123456789012:stateMachine:m',
    );
  });

  it.each([
    MACHINE,
    'arn:aws:lambda:eu-west-1:123456789012:function:f:x',
    'arn:aws:states:eu-west-1:123456789012:execution:only-machine',
    'not-an-arn',
  ])('rejects %s', (value) => {
    expect(() => stateMachineArnOf(value)).toThrow(`not a Step Functions execution ARN: ${value}`);
  });
});

describe('executionName', () => {
  it('joins the parts with hyphens', () => {
    expect(executionName('base-ami', 'ami-0123456789abcdef0')).toBe('base-ami-ami-0123456789abcdef0');
  });

  it('replaces characters Step Functions does not allow', () => {
    expect(executionName('weekly', '2026-01-01T10:00:00.000Z', 'a b/c')).toBe('weekly-2026-01-01T10-00-00-000Z-a-b-c');
    expect(executionName('keep_underscores')).toBe('keep_underscores');
  });

  it('keeps at most 80 characters', () => {
    const name = executionName('x'.repeat(50), 'y'.repeat(50));
    expect(name).toHaveLength(80);
    expect(name).toBe(`${'x'.repeat(50)}-${'y'.repeat(29)}`);
  });
});
