import type { ClusterTarget } from '../../functions/lib/contracts';
import type { StackView } from '../../functions/lib/decisions/stack';
import { preflight, targetProblems } from '../../functions/lib/decisions/targets';

const AMI = 'ami-0aaaaaaaaaaaaaaaa';
const target = (stackName: string, clusterName = `${stackName}-cluster`, imageParameter = 'ApplicationImageId'): ClusterTarget => ({
  stackName,
  clusterName,
  imageParameter,
});
const stack = (stackName: string, status = 'UPDATE_COMPLETE', parameters: StackView['parameters'] = [{ key: 'ApplicationImageId', value: AMI }]): StackView => ({
  stackName,
  status,
  parameters,
});

describe('targetProblems', () => {
  it('finds nothing wrong with an updatable stack and an ACTIVE cluster', () => {
    expect(targetProblems(target('dev'), stack('dev'), 'ACTIVE')).toEqual([]);
  });

  it.each(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE'])('accepts a stack in %s', (status) => {
    expect(targetProblems(target('dev'), stack('dev', status), 'ACTIVE')).toEqual([]);
  });

  it.each(['UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'CREATE_IN_PROGRESS'])(
    'accepts a busy stack (%s): the rollout waits for it to settle',
    (status) => {
      expect(targetProblems(target('dev'), stack('dev', status), 'ACTIVE')).toEqual([]);
    },
  );

  it.each(['UPDATE_ROLLBACK_FAILED', 'UPDATE_FAILED', 'ROLLBACK_COMPLETE', 'CREATE_FAILED', 'DELETE_FAILED'])('refuses a stack in %s', (status) => {
    expect(targetProblems(target('dev'), stack('dev', status), 'ACTIVE')).toEqual([
      `stack dev is ${status}, from which CloudFormation accepts no update; repair it first`,
    ]);
  });

  it('names a missing stack', () => {
    expect(targetProblems(target('dev'), undefined, 'ACTIVE')).toEqual([
      'stack dev does not exist in this account and region; fix the waves param or create the stack',
    ]);
  });

  it('names a missing image parameter with the stack\'s parameters, or none', () => {
    expect(targetProblems(target('dev', 'c', 'ImageId'), stack('dev', 'UPDATE_COMPLETE', [{ key: 'VpcId' }, { key: 'ApplicationImageId', value: AMI }]), 'ACTIVE')).toEqual([
      'stack dev has no parameter ImageId (its parameters: VpcId, ApplicationImageId); set imageParameter for this target in the waves param',
    ]);
    expect(targetProblems(target('dev'), stack('dev', 'UPDATE_COMPLETE', []), 'ACTIVE')).toEqual([
      'stack dev has no parameter ApplicationImageId (its parameters: none); set imageParameter for this target in the waves param',
    ]);
  });

  it('refuses an SSM-typed image parameter (it has a resolved value)', () => {
    const ssmTyped = stack('dev', 'UPDATE_COMPLETE', [{ key: 'ApplicationImageId', value: '/aws/service/ecs/recommended', resolvedValue: AMI }]);
    expect(targetProblems(target('dev'), ssmTyped, 'ACTIVE')).toEqual([
      'parameter ApplicationImageId of stack dev is an SSM-parameter type; give the stack a plain String or AWS::EC2::Image::Id parameter',
    ]);
  });

  it('names a missing cluster and one that is not ACTIVE', () => {
    expect(targetProblems(target('dev', 'dev-cluster'), stack('dev'), undefined)).toEqual([
      'ECS cluster dev-cluster does not exist in this account and region; fix clusterName in the waves param',
    ]);
    expect(targetProblems(target('dev', 'dev-cluster'), stack('dev'), 'INACTIVE')).toEqual(['ECS cluster dev-cluster is INACTIVE, not ACTIVE']);
    expect(targetProblems(target('dev', 'dev-cluster'), stack('dev'), 'PROVISIONING')).toEqual(['ECS cluster dev-cluster is PROVISIONING, not ACTIVE']);
  });

  it('lists every problem of one target, the stack\'s first', () => {
    const broken = stack('dev', 'UPDATE_ROLLBACK_FAILED', [{ key: 'Other', value: 'x' }]);
    expect(targetProblems(target('dev', 'dev-cluster'), broken, undefined)).toEqual([
      'stack dev is UPDATE_ROLLBACK_FAILED, from which CloudFormation accepts no update; repair it first',
      'stack dev has no parameter ApplicationImageId (its parameters: Other); set imageParameter for this target in the waves param',
      'ECS cluster dev-cluster does not exist in this account and region; fix clusterName in the waves param',
    ]);
    expect(targetProblems(target('dev', 'dev-cluster'), undefined, 'INACTIVE')).toHaveLength(2);
  });
});

describe('preflight', () => {
  it('is empty when every target can be rolled', () => {
    const targets = [target('dev'), target('prod')];
    expect(preflight(targets, new Map([['dev', stack('dev')], ['prod', stack('prod')]]), new Map([['dev-cluster', 'ACTIVE'], ['prod-cluster', 'ACTIVE']]))).toEqual([]);
  });

  it('lists every problem of every target in target order, each with its stack', () => {
    const targets = [target('dev'), target('staging'), target('prod')];
    const stacks = new Map<string, StackView | undefined>([
      ['dev', undefined],
      ['staging', stack('staging', 'UPDATE_IN_PROGRESS')],
      ['prod', stack('prod', 'DELETE_FAILED')],
    ]);
    const clusters = new Map<string, string | undefined>([
      ['dev-cluster', 'ACTIVE'],
      ['staging-cluster', 'ACTIVE'],
      ['prod-cluster', undefined],
    ]);
    expect(preflight(targets, stacks, clusters)).toEqual([
      { stackName: 'dev', problem: 'stack dev does not exist in this account and region; fix the waves param or create the stack' },
      { stackName: 'prod', problem: 'stack prod is DELETE_FAILED, from which CloudFormation accepts no update; repair it first' },
      { stackName: 'prod', problem: 'ECS cluster prod-cluster does not exist in this account and region; fix clusterName in the waves param' },
    ]);
  });

  it('treats a target absent from the lookups as missing', () => {
    expect(preflight([target('dev')], new Map(), new Map()).map((p) => p.problem)).toEqual([
      'stack dev does not exist in this account and region; fix the waves param or create the stack',
      'ECS cluster dev-cluster does not exist in this account and region; fix clusterName in the waves param',
    ]);
  });
});
