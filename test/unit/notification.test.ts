import { RUN_STATUSES, type Wave } from '../../functions/lib/contracts';
import { clusterCondition, composeNotification, failedBuildOf, formatDuration, settledRunDocument, type RunDocument } from '../../functions/lib/decisions/notification';
import type { RunPlan } from '../../functions/lib/contracts/plan';
import type { BranchEnding, ClusterBranchOutput, ClusterResult, RolloutState } from '../../functions/lib/decisions/rollout';

const REGION = 'eu-west-1';
const EXEC_ID = `arn:aws:states:${REGION}:123456789012:execution:ecs-ami-pipeline-prod:weekly-2026-01-01`;
const START = '2026-01-01T10:00:00.000Z';
const CTX = { serviceName: 'ecs-ami-pipeline', stage: 'prod', now: new Date('2026-01-01T11:30:05.000Z') };
const NEW = 'ami-0dddddddddddddddd';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const BASE = 'ami-0cccccccccccccccc';
const BASE_NAME = 'al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64';
const LOGS = 'https://console.aws.amazon.com/cloudwatch/home#logsV2:log-groups/bake';
const target = (stackName: string, clusterName: string) => ({ stackName, clusterName, imageParameter: 'ApplicationImageId' });
const WAVES: Wave[] = [
  { name: 'dev', clusters: [target('dev-ecs', 'dev-cluster')] },
  { name: 'prod', clusters: [target('prod-a-ecs', 'prod-a'), target('prod-b-ecs', 'prod-b')] },
];

function plan(extra: Partial<RunPlan> = {}): RunPlan {
  return {
    runId: 'weekly-2026-01-01',
    approvalTimeoutSeconds: 86400,
    copyRegions: [],
    otherBuilds: [],
    executionArn: EXEC_ID,
    startedAt: START,
    trigger: 'weekly',
    audit: { trigger: 'weekly', requestedBy: 'weekly schedule', reason: null, runId: 'weekly-2026-01-01' },
    mode: 'bake',
    dryRun: false,
    waves: WAVES,
    currentAmiId: OLD,
    sourceAmi: { id: BASE, name: BASE_NAME },
    ...extra,
  };
}

// The usual ending of each status, and the image it leaves the stack on.
const ENDING: Record<ClusterResult['status'], BranchEnding> = {
  ROLLED: 'rolled',
  ROLLED_BACK: 'rolled-back',
  FAILED: 'cloudformation-rolled-back',
  ROLLBACK_FAILED: 'rollback-failed',
  UNCONFIRMED: 'update-timed-out',
};
const LEFT_ON: Record<ClusterResult['status'], string | undefined> = { ROLLED: NEW, ROLLED_BACK: OLD, FAILED: OLD, ROLLBACK_FAILED: undefined, UNCONFIRMED: undefined };

function result(stackName: string, clusterName: string, status: ClusterResult['status'], extra: Partial<ClusterResult> = {}): ClusterResult {
  return {
    stackName,
    clusterName,
    status,
    ending: ENDING[status],
    step: status === 'ROLLED' ? 'registration' : 'stack',
    amiId: NEW,
    confirmedAmiId: OLD,
    previousAmiId: OLD,
    leftOn: LEFT_ON[status],
    registration: status === 'ROLLED' ? `2/2 instances ACTIVE and connected on ${NEW}` : undefined,
    startedAt: '2026-01-01T10:20:00.000Z',
    finishedAt: '2026-01-01T10:35:30.000Z',
    ...extra,
  };
}

function rollout(status: RolloutState['status'], ...waves: ClusterResult[][]): RolloutState {
  return { nextWave: waves.length, status, waves: waves.map((results, i) => ({ name: WAVES[i]!.name, results })) };
}

function doc(extra: Partial<RunDocument> & Pick<RunDocument, 'outcome'>): RunDocument {
  return {
    execution: { id: EXEC_ID, name: 'weekly-2026-01-01', startTime: START },
    plan: plan(),
    baked: { amiId: NEW, baseAmiId: BASE, baseAmiName: BASE_NAME, buildId: 'weekly-2026-01-01', codeBuildId: 'bake:1', logsUrl: LOGS },
    release: { amiId: NEW, baseAmiId: BASE },
    ...extra,
  };
}

const lambdaCause = (errorType: string, errorMessage: string) => ({ Error: errorType, Cause: JSON.stringify({ errorType, errorMessage }) });
const ALL_ROLLED = rollout(
  'COMPLETE',
  [result('dev-ecs', 'dev-cluster', 'ROLLED')],
  [result('prod-a-ecs', 'prod-a', 'ROLLED'), result('prod-b-ecs', 'prod-b', 'ROLLED')],
);

describe('composeNotification', () => {
  it('SUCCEEDED: subject, attributes and a body with the images, clusters, durations and links', () => {
    const note = composeNotification(doc({ rollout: ALL_ROLLED, outcome: { status: 'SUCCEEDED', step: 'promote' } }), CTX);
    expect(note.subject).toBe(`[ecs-ami-pipeline prod] SUCCEEDED: ${NEW} rolled to 3 clusters`);
    expect(note.attributes).toEqual({ status: 'SUCCEEDED', stage: 'prod', step: 'promote' });
    const console = `https://${REGION}.console.aws.amazon.com`;
    expect(note.message).toBe(
      [
        'Status:   SUCCEEDED',
        'Run:      weekly-2026-01-01 (trigger: weekly, mode: bake)',
        'Ended at: promote',
        'Duration: 1h 30m',
        '',
        'What happened',
        `  Every cluster confirmed ${NEW} through the ECS API.`,
        '',
        'Left as it was',
        '  Nothing: the run completed.',
        '',
        'What the pipeline did',
        `  Promoted ${NEW} to current in SSM.`,
        '',
        'Image',
        `  New AMI:      ${NEW}`,
        `  Previous AMI: ${OLD}`,
        `  Base AMI:     ${BASE} (${BASE_NAME})`,
        '',
        'Clusters',
        '  Wave dev:',
        '    dev-ecs (dev-cluster): ROLLED in 15m 30s',
        `        confirmed on ${NEW}`,
        `        2/2 instances ACTIVE and connected on ${NEW}`,
        '  Wave prod:',
        '    prod-a-ecs (prod-a): ROLLED in 15m 30s',
        `        confirmed on ${NEW}`,
        `        2/2 instances ACTIVE and connected on ${NEW}`,
        '    prod-b-ecs (prod-b): ROLLED in 15m 30s',
        `        confirmed on ${NEW}`,
        `        2/2 instances ACTIVE and connected on ${NEW}`,
        '',
        'Links',
        `  Execution:  ${console}/states/home?region=${REGION}#/v2/executions/details/${EXEC_ID}`,
        `  Build logs: ${LOGS}`,
        `  Stack dev-ecs: ${console}/cloudformation/home?region=${REGION}#/stacks?filteringText=dev-ecs`,
        `  Cluster dev-cluster: ${console}/ecs/v2/clusters/dev-cluster/infrastructure?region=${REGION}`,
        `  Stack prod-a-ecs: ${console}/cloudformation/home?region=${REGION}#/stacks?filteringText=prod-a-ecs`,
        `  Cluster prod-a: ${console}/ecs/v2/clusters/prod-a/infrastructure?region=${REGION}`,
        `  Stack prod-b-ecs: ${console}/cloudformation/home?region=${REGION}#/stacks?filteringText=prod-b-ecs`,
        `  Cluster prod-b: ${console}/ecs/v2/clusters/prod-b/infrastructure?region=${REGION}`,
        '',
      ].join('\n'),
    );
  });

  it('SUCCEEDED: prefers the build\'s own log link and shows who asked and why', () => {
    const note = composeNotification(
      doc({
        plan: plan({ trigger: 'manual', requestedBy: 'alice', reason: 'CVE-2026-0001' }),
        build: { Build: { Id: 'bake:1', Logs: { DeepLink: 'https://logs.example/build-1' } } },
        rollout: ALL_ROLLED,
        outcome: { status: 'SUCCEEDED', step: 'promote' },
      }),
      CTX,
    );
    expect(note.message).toContain('Request:  alice: CVE-2026-0001\n');
    expect(note.message).toContain('  Build logs: https://logs.example/build-1\n');
    expect(note.message).not.toContain(LOGS);
  });

  it('SUCCEEDED in rollback mode says rolled back, with singular wording for one cluster', () => {
    const note = composeNotification(
      {
        execution: { id: EXEC_ID, name: 'rollback-1', startTime: START },
        plan: plan({ mode: 'rollback', trigger: 'manual', sourceAmi: undefined, rollbackTo: { amiId: OLD, baseAmiId: BASE }, currentAmiId: NEW, waves: [WAVES[0]!] }),
        release: { amiId: OLD, baseAmiId: BASE },
        rollout: rollout('COMPLETE', [result('dev-ecs', 'dev-cluster', 'ROLLED', { amiId: OLD })]),
        outcome: { status: 'SUCCEEDED', step: 'promote' },
      },
      CTX,
    );
    expect(note.subject).toBe(`[ecs-ami-pipeline prod] SUCCEEDED: ${OLD} rolled back to 1 cluster`);
    expect(note.message).toContain('mode: rollback');
    expect(note.message).toContain(`  New AMI:      ${OLD}\n  Previous AMI: ${NEW}\n  Base AMI:     ${BASE}\n`);
  });

  it('DRY_RUN: baked, not rolled; every wave not started', () => {
    const note = composeNotification(
      doc({ plan: plan({ dryRun: true, trigger: 'manual' }), release: undefined, outcome: { status: 'DRY_RUN', step: 'record' } }),
      CTX,
    );
    expect(note.subject).toBe(`[ecs-ami-pipeline prod] DRY RUN: ${NEW} baked, not rolled (dry run)`);
    expect(note.attributes).toEqual({ status: 'DRY_RUN', stage: 'prod', step: 'record' });
    expect(note.message).toContain('(trigger: manual, mode: bake, dry run)');
    expect(note.message).toContain(`Baked and recorded ${NEW} as the latest image.`);
    expect(note.message).toContain('Every cluster and the current AMI in SSM.');
    expect(note.message).toContain('  Wave dev: not started (dev-ecs)\n  Wave prod: not started (prod-a-ecs, prod-b-ecs)\n');
    expect(note.message).toContain(`  Build logs: ${LOGS}`);
  });

  it('SKIPPED: names the run in progress and since when', () => {
    const other = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-earlier';
    const note = composeNotification(
      {
        execution: { id: EXEC_ID, name: 'weekly-2026-01-01', startTime: START },
        plan: plan({ sourceAmi: undefined, currentAmiId: undefined, skip: { runningExecutionArn: other, runningSince: '2026-01-01T09:00:00.000Z' } }),
        outcome: { status: 'SKIPPED', step: 'request' },
      },
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] SKIPPED: run manual-earlier holds the fleet');
    expect(note.message).toContain('  Wave dev: not started (dev-ecs)\n');
    expect(note.attributes).toEqual({ status: 'SKIPPED', stage: 'prod', step: 'request' });
    expect(note.message).toContain(
      'Run manual-earlier has held the fleet since 2026-01-01T09:00:00.000Z; only one run may roll the fleet at a time.',
    );
    expect(note.message).toContain(`Ended this run as skipped. In-progress run: ${other}`);
    expect(note.message).toContain('Everything: this run changed nothing.');
    expect(note.message).toContain('  Current AMI:  none promoted yet (unchanged)\n');
    expect(note.message).not.toContain('Previous AMI');
    expect(note.message).not.toContain('New AMI:');
  });

  it('REJECTED: names the bad field in the subject and the whole error in the body', () => {
    const note = composeNotification(
      {
        execution: { id: EXEC_ID, name: 'manual-1', startTime: START },
        request: { trigger: 'manual', clusters: ['dev-ecs', 'staging'] },
        error: lambdaCause('InvalidRequest', 'clusters[1]: "staging" is not a configured cluster or stack'),
        outcome: { status: 'REJECTED', step: 'request' },
      },
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] REJECTED: invalid input (clusters[1])');
    expect(note.attributes).toEqual({ status: 'REJECTED', stage: 'prod', step: 'request' });
    expect(note.message).toContain('Run:      manual-1 (trigger: unknown, mode: unknown)');
    expect(note.message).toContain('The request was rejected: InvalidRequest: clusters[1]: "staging" is not a configured cluster or stack.');
    expect(note.message).toContain('Nothing. Fix the input and start the run again.');
    expect(note.message).not.toContain('\nImage\n');
    expect(note.message).not.toContain('\nClusters\n');
    expect(note.message).toContain('Links\n  Execution:  ');
  });

  it('REJECTED: keeps the subject to one printable line even when the bad field name is not', () => {
    const note = composeNotification(
      {
        execution: { id: EXEC_ID, name: 'manual-1', startTime: START },
        error: lambdaCause('InvalidRequest', 'dry\nrün: unknown field; the input accepts trigger'),
        outcome: { status: 'REJECTED', step: 'request' },
      },
      CTX,
    );
    // SNS refuses subjects with line breaks or control characters.
    expect(note.subject).toMatch(/^[\x20-\x7E]+$/);
    expect(note.subject).toContain('REJECTED: invalid input (dry r');
  });

  describe('FAILED at bake', () => {
    const build = {
      Id: 'ecs-ami-pipeline-prod-bake:failed-build',
      BuildStatus: 'FAILED',
      Logs: { DeepLink: 'https://logs.example/failed-build' },
      Phases: [
        { PhaseType: 'INSTALL', PhaseStatus: 'SUCCEEDED' },
        { PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ Message: 'COMMAND_EXECUTION_ERROR: packer build exited 1' }] },
        { PhaseType: 'POST_BUILD', PhaseStatus: 'IN_PROGRESS' },
      ],
    };

    it.each([
      ['the build itself', JSON.stringify(build)],
      ['{"Build": ...}', JSON.stringify({ Build: build })],
    ])('reads the build from a cause that is %s (PascalCase fields) and links its logs', (_, cause) => {
      const note = composeNotification(
        doc({ baked: undefined, release: undefined, error: { Error: 'States.TaskFailed', Cause: cause }, outcome: { status: 'FAILED', step: 'bake' } }),
        CTX,
      );
      expect(note.subject).toBe('[ecs-ami-pipeline prod] FAILED: the image build failed');
      expect(note.attributes).toEqual({ status: 'FAILED', stage: 'prod', step: 'bake' });
      expect(note.message).toContain(
        'CodeBuild build ecs-ami-pipeline-prod-bake:failed-build ended FAILED (BUILD phase FAILED: COMMAND_EXECUTION_ERROR: packer build exited 1).',
      );
      expect(note.message).toContain('Everything: no AMI was recorded and no cluster was touched.');
      expect(note.message).toContain('  Build logs: https://logs.example/failed-build\n');
      expect(note.message).toContain(`  Base AMI:     ${BASE} (${BASE_NAME})`);
      expect(note.message).not.toContain('New AMI:');
    });

    it('falls back to the error when the cause is not a build', () => {
      const note = composeNotification(
        doc({ baked: undefined, release: undefined, error: { Error: 'States.Timeout', Cause: 'The task timed out' }, outcome: { status: 'FAILED', step: 'bake' } }),
        CTX,
      );
      expect(note.message).toContain('ended in failure. States.Timeout: The task timed out');
      expect(note.message).not.toContain('Build logs:');
    });
  });

  it('FAILED at record: the image could not be recorded, nothing changed', () => {
    const note = composeNotification(
      doc({ baked: undefined, release: undefined, error: lambdaCause('NoAmiExported', 'bake:1 succeeded but exported no AMI_ID'), outcome: { status: 'FAILED', step: 'record' } }),
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] FAILED: the baked image could not be recorded');
    expect(note.message).toContain('  NoAmiExported: bake:1 succeeded but exported no AMI_ID\n');
    expect(note.message).toContain('The latest and current AMI in SSM, and every cluster.');
  });

  it('FAILED at promote: rolled out but not promoted, current unchanged', () => {
    const note = composeNotification(
      doc({ rollout: ALL_ROLLED, error: lambdaCause('AccessDeniedException', 'not allowed'), outcome: { status: 'FAILED', step: 'promote' } }),
      CTX,
    );
    expect(note.subject).toBe(`[ecs-ami-pipeline prod] FAILED: ${NEW} rolled out but not promoted`);
    expect(note.message).toContain(`Every cluster confirmed ${NEW}, then making it current in SSM failed: AccessDeniedException: not allowed.`);
    expect(note.message).toContain(`The current AMI in SSM (${OLD}), as far as the pipeline could tell; every cluster runs ${NEW}.`);
    expect(note.message).toContain('rollback mode with toAmi set to this AMI re-promotes it without baking');
    expect(note.message).toContain(`  Current AMI:  ${OLD} (unchanged)\n`);
    expect(note.message).not.toContain('Previous AMI');
  });

  it('FAILED in the rollout: names the failed stacks, the ones that stay rolled, and the untouched waves', () => {
    const note = composeNotification(
      doc({
        rollout: rollout(
          'FAILED',
          [result('dev-ecs', 'dev-cluster', 'ROLLED')],
          [
            result('prod-a-ecs', 'prod-a', 'ROLLED'),
            result('prod-b-ecs', 'prod-b', 'FAILED', { error: 'StackUpdateRolledBack: CloudFormation rolled stack prod-b-ecs back: Asg: no signal' }),
          ],
        ),
        outcome: { status: 'FAILED', step: 'rollout' },
      }),
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] FAILED: rollout stopped at prod-b-ecs');
    expect(note.attributes.step).toBe('rollout');
    expect(note.message).toContain(
      `  prod-b-ecs: CloudFormation rolled the stack back to ${OLD}; the pipeline changed nothing more; cause: StackUpdateRolledBack: CloudFormation rolled stack prod-b-ecs back: Asg: no signal\n`,
    );
    expect(note.message).toContain(`  The current AMI in SSM (${OLD}); later waves were not touched. dev-ecs, prod-a-ecs run ${NEW} and stay there.\n`);
    expect(note.message).toContain(
      `    prod-b-ecs (prod-b): FAILED in 15m 30s\n        CloudFormation rolled the stack back to ${OLD}; the pipeline changed nothing more\n        cause: StackUpdateRolledBack`,
    );
    expect(note.message).toContain('Stopped the rollout and promoted nothing.');
  });

  it('FAILED in the first wave lists later waves as not started', () => {
    const note = composeNotification(
      doc({
        rollout: rollout('FAILED', [result('dev-ecs', 'dev-cluster', 'FAILED', { error: undefined })]),
        outcome: { status: 'FAILED', step: 'registration' },
      }),
      CTX,
    );
    expect(note.message).toContain(`  dev-ecs: CloudFormation rolled the stack back to ${OLD}; the pipeline changed nothing more\n`);
    expect(note.message).toContain('  Wave prod: not started (prod-a-ecs, prod-b-ecs)');
    expect(note.message).not.toContain('stay there');
    expect(note.message).not.toContain('Stack prod-a-ecs:');
  });

  it('FAILED checking the request: the error, and nothing was touched', () => {
    const note = composeNotification(
      doc({ baked: undefined, release: undefined, error: lambdaCause('ConfigurationError', 'CLUSTER_WAVES is not set'), outcome: { status: 'FAILED', step: 'request' } }),
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] FAILED: the request could not be checked');
    expect(note.message).toContain('What happened\n  ConfigurationError: CLUSTER_WAVES is not set\n');
    expect(note.message).toContain('Everything: nothing was baked, recorded or rolled.');
    expect(note.message).toContain('Stopped before baking.');
  });

  it('FAILED at request with targets not ready: counts and lists every problem', () => {
    const problems = [
      'stack dev-ecs does not exist in this account and region; fix the waves param or create the stack',
      'ECS cluster prod-a is INACTIVE, not ACTIVE',
    ];
    const note = composeNotification(
      doc({ plan: plan({ notReady: problems }), baked: undefined, release: undefined, outcome: { status: 'FAILED', step: 'request' } }),
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] FAILED: 2 problems with the cluster targets');
    expect(note.message).toContain(`What happened\n  ${problems[0]}\n  ${problems[1]}\n`);
    expect(note.message).toContain('Stopped before baking. Fix what is named above and start the run again.');
    expect(note.message).toContain(`  Current AMI:  ${OLD} (unchanged)\n`);
    expect(composeNotification(doc({ plan: plan({ notReady: [problems[1]!] }), outcome: { status: 'FAILED', step: 'request' } }), CTX).subject).toBe(
      '[ecs-ami-pipeline prod] FAILED: 1 problem with the cluster targets',
    );
  });

  it('FAILED elsewhere: says where', () => {
    const note = composeNotification(
      doc({ error: lambdaCause('States.Runtime', 'no such path'), outcome: { status: 'FAILED', step: 'rollback' } }),
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] FAILED: failed at rollback');
    expect(note.message).toContain('  States.Runtime: no such path\n');
    expect(note.message).toContain('Whatever the steps before this one did (see below).');
  });

  it('ROLLED_BACK: names the stack, why, and the image it went back to', () => {
    const note = composeNotification(
      doc({
        rollout: rollout(
          'ROLLED_BACK',
          [result('dev-ecs', 'dev-cluster', 'ROLLED')],
          [
            result('prod-a-ecs', 'prod-a', 'ROLLED_BACK', {
              step: 'registration',
              error: 'RegistrationTimedOut: cluster prod-a did not confirm',
              registration: `2/2 instances ACTIVE and connected on ${OLD}`,
            }),
            result('prod-b-ecs', 'prod-b', 'ROLLED'),
          ],
        ),
        outcome: { status: 'ROLLED_BACK', step: 'registration' },
      }),
      CTX,
    );
    expect(note.subject).toBe(`[ecs-ami-pipeline prod] ROLLED BACK: ${NEW} not confirmed on prod-a-ecs`);
    expect(note.attributes).toEqual({ status: 'ROLLED_BACK', stage: 'prod', step: 'registration' });
    expect(note.message).toContain('  prod-a-ecs: RegistrationTimedOut: cluster prod-a did not confirm\n');
    expect(note.message).toContain(`Rolled prod-a-ecs back to ${OLD}, the image last confirmed, and confirmed it; promoted nothing.`);
    expect(note.message).toContain(`dev-ecs, prod-b-ecs run ${NEW} and stay there.`);
    expect(note.message).toContain(
      `    prod-a-ecs (prod-a): ROLLED BACK in 15m 30s\n        rolled back to ${OLD}, the image it last confirmed, and confirmed there\n        cause: RegistrationTimedOut: cluster prod-a did not confirm\n        2/2 instances ACTIVE and connected on ${OLD}\n`,
    );
    expect(note.message).toContain(`  Current AMI:  ${OLD} (unchanged)\n`);
  });

  it('CRITICAL: the failed rollback, what to do, and the filterable status', () => {
    const note = composeNotification(
      doc({
        rollout: rollout('CRITICAL', [
          result('dev-ecs', 'dev-cluster', 'ROLLBACK_FAILED', {
            step: 'rollback',
            error: 'RegistrationTimedOut: cluster dev-cluster did not confirm',
            rollbackError: 'StackRollbackFailed: stack dev-ecs is UPDATE_ROLLBACK_FAILED: Asg: no signal',
          }),
        ]),
        outcome: { status: 'CRITICAL', step: 'rollback' },
      }),
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] CRITICAL: rollback of dev-ecs failed');
    expect(note.attributes).toEqual({ status: 'CRITICAL', stage: 'prod', step: 'rollback' });
    expect(note.message).toContain(
      `  dev-ecs: NEEDS A PERSON: rolling back to ${OLD} failed; the stack may be half-updated; cause: RegistrationTimedOut: cluster dev-cluster did not confirm; rollback error: StackRollbackFailed: stack dev-ecs is UPDATE_ROLLBACK_FAILED: Asg: no signal\n`,
    );
    expect(note.message).toContain('ACTION REQUIRED');
    expect(note.message).toContain('ContinueUpdateRollback');
    expect(note.message).toContain('    dev-ecs (dev-cluster): ROLLBACK FAILED in 15m 30s');
    expect(note.message).toContain('  Wave prod: not started (prod-a-ecs, prod-b-ecs)');
  });

  it('PARTIAL: the run\'s clusters confirmed the image, the others are behind, nothing promoted', () => {
    const note = composeNotification(
      doc({
        plan: plan({ waves: [WAVES[1]!], skipEarlierWaves: true }),
        rollout: rollout('COMPLETE', [result('prod-a-ecs', 'prod-a', 'ROLLED'), result('prod-b-ecs', 'prod-b', 'ROLLED')]),
        promotion: { promoted: false, behind: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster', amiId: OLD }, { stackName: 'new-ecs', clusterName: 'new' }] },
        outcome: { status: 'PARTIAL', step: 'promote' },
      }),
      CTX,
    );
    expect(note.subject).toBe(`[ecs-ami-pipeline prod] PARTIAL: ${NEW} rolled to 2 clusters, not promoted`);
    expect(note.attributes).toEqual({ status: 'PARTIAL', stage: 'prod', step: 'promote' });
    expect(note.message).toContain(
      `  The run's clusters confirmed ${NEW} through the ECS API. Still on older images: dev-ecs (${OLD}), new-ecs (no confirmed image).\n`,
    );
    expect(note.message).toContain(`  The current AMI in SSM (${OLD}): it changes only when every configured cluster confirmed the image.\n`);
    expect(note.message).toContain(`  Rolled and confirmed 2 clusters; promoted nothing. Roll the others (or the whole fleet) to promote ${NEW}.\n`);
    expect(note.message).toContain('Waves:    earlier waves skipped on request (skipEarlierWaves)\n');
    expect(note.message).toContain(`  New AMI:      ${NEW}\n  Current AMI:  ${OLD} (unchanged)\n`);
    expect(note.message).not.toContain('Previous AMI');
  });

  it('PARTIAL without the promotion\'s answer says none are behind rather than failing', () => {
    const note = composeNotification(doc({ rollout: ALL_ROLLED, outcome: { status: 'PARTIAL', step: 'promote' } }), CTX);
    expect(note.message).toContain('Still on older images: none.');
  });

  it('CRITICAL with an unconfirmed cluster asks a person to check it, saying where it was left', () => {
    const note = composeNotification(
      doc({
        rollout: rollout('CRITICAL', [
          result('dev-ecs', 'dev-cluster', 'UNCONFIRMED', { ending: 'registration-not-confirmed', error: 'RegistrationTimedOut: cluster dev-cluster did not confirm' }),
        ]),
        outcome: { status: 'CRITICAL', step: 'rollback' },
      }),
      CTX,
    );
    expect(note.subject).toBe('[ecs-ami-pipeline prod] CRITICAL: a person must check dev-ecs');
    expect(note.message).toContain(
      `  dev-ecs: NEEDS A PERSON: left on ${NEW}, not confirmed, with no confirmed image to go back to; cause: RegistrationTimedOut: cluster dev-cluster did not confirm\n`,
    );
    expect(note.message).toContain('    dev-ecs (dev-cluster): UNCONFIRMED in 15m 30s');
  });

  it('names the run the lock was taken over from, and how it had ended', () => {
    const note = composeNotification(
      doc({
        plan: plan({ tookOverFrom: { executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-0', status: 'ABORTED' } }),
        rollout: ALL_ROLLED,
        outcome: { status: 'SUCCEEDED', step: 'promote' },
      }),
      CTX,
    );
    expect(note.message).toContain('Duration: 1h 30m\nLock:     taken over from run weekly-0, which had ended (ABORTED) without releasing the fleet\n');
    expect(note.message).not.toContain('Waves:    ');
  });

  it.each(RUN_STATUSES.filter((s) => s !== 'SUCCEEDED'))('%s says the current AMI is unchanged and names no previous one', (status) => {
    const note = composeNotification(doc({ rollout: ALL_ROLLED, outcome: { status, step: 'promote' } }), CTX);
    expect(note.message).toContain(`  Current AMI:  ${OLD} (unchanged)\n`);
    expect(note.message).not.toContain('Previous AMI');
    const first = composeNotification(doc({ plan: plan({ currentAmiId: undefined }), rollout: ALL_ROLLED, outcome: { status, step: 'promote' } }), CTX);
    expect(first.message).toContain('  Current AMI:  none promoted yet (unchanged)\n');
  });

  it('SUCCEEDED names the previous AMI, or says it is the first promotion', () => {
    const first = composeNotification(doc({ plan: plan({ currentAmiId: undefined }), rollout: ALL_ROLLED, outcome: { status: 'SUCCEEDED', step: 'promote' } }), CTX);
    expect(first.message).toContain('  Previous AMI: none (first promotion)\n');
    expect(first.message).not.toContain('Current AMI:');
  });

  it('keeps the subject under 100 characters with long stack names', () => {
    const long = (suffix: string) => `${'a'.repeat(100)}-${suffix}`;
    const note = composeNotification(
      doc({
        plan: plan({ waves: [{ name: 'prod', clusters: [target(long('one'), 'c1'), target(long('two'), 'c2')] }] }),
        rollout: {
          nextWave: 1,
          status: 'CRITICAL',
          waves: [{ name: 'prod', results: [result(long('one'), 'c1', 'ROLLBACK_FAILED'), result(long('two'), 'c2', 'ROLLBACK_FAILED')] }],
        },
        outcome: { status: 'CRITICAL', step: 'rollback' },
      }),
      CTX,
    );
    expect(note.subject.length).toBeLessThan(100);
    expect(note.subject).toMatch(/^\[ecs-ami-pipeline prod\] CRITICAL: rollback of a+/);
    expect(note.subject).toMatch(/\.\.\.$/);
    expect(note.subject).toMatch(/^[\x20-\x7E]+$/);
    // the body keeps the full names
    expect(note.message).toContain(long('two'));
  });

  it('URL-encodes stack and cluster names in links and takes the region from the execution ARN', () => {
    const note = composeNotification(
      {
        execution: { id: 'arn:aws:states:ap-southeast-2:123456789012:execution:m:run', name: 'run', startTime: START },
        plan: plan({ waves: [{ name: 'w', clusters: [target('s', 'a_b')] }] }),
        rollout: { nextWave: 1, status: 'COMPLETE', waves: [{ name: 'w', results: [result('s', 'a b', 'ROLLED')] }] },
        outcome: { status: 'SUCCEEDED', step: 'promote' },
      },
      CTX,
    );
    expect(note.message).toContain('https://ap-southeast-2.console.aws.amazon.com/states/home?region=ap-southeast-2#/v2/executions/details/');
    expect(note.message).toContain('/ecs/v2/clusters/a%20b/infrastructure?region=ap-southeast-2');
  });

  it('says "unknown" for a duration it cannot compute', () => {
    const note = composeNotification(
      { execution: { id: EXEC_ID, name: 'x', startTime: 'not a date' }, outcome: { status: 'FAILED', step: 'request' } },
      CTX,
    );
    expect(note.message).toContain('Duration: unknown\n');
    expect(note.message).toContain('Checking the request failed.');
    expect(note.message).not.toContain('\nImage\n');
  });
});

/** A cluster child's output as "Roll the wave's clusters" returns it, before "Assess the wave". */
function branchOutput(stackName: string, clusterName: string, ending: BranchEnding, error?: string): ClusterBranchOutput {
  return {
    stackName,
    clusterName,
    amiId: NEW,
    outcome: { ending, step: ending === 'rolled' ? 'registration' : 'stack' },
    baseline: { amiId: OLD, startedAt: '2026-01-01T10:20:00.000Z' },
    update: { previousAmiId: OLD, changed: true, requestedAt: '2026-01-01T10:20:00.000Z' },
    registration: ending === 'rolled' ? { summary: `2/2 instances ACTIVE and connected on ${NEW}`, checkedAt: '2026-01-01T10:35:30.000Z' } : null,
    rollbackRegistration: null,
    error: error ? { Error: error.split(':')[0], Cause: error } : null,
    rollbackError: null,
  };
}

describe('a wave rolled whose assessment failed ("Assess the wave" caught)', () => {
  const assessFailed = lambdaCause('Error', 'assess-wave crashed');
  const rolledProd = (prodB: ClusterBranchOutput): Partial<RunDocument> => ({
    rollout: { nextWave: 1, status: 'IN_PROGRESS', waves: [{ name: 'dev', results: [result('dev-ecs', 'dev-cluster', 'ROLLED')] }] },
    currentWave: { wave: WAVES[1]!, approval: null, results: [branchOutput('prod-a-ecs', 'prod-a', 'rolled'), prodB] },
    error: assessFailed,
  });
  const stuck = branchOutput('prod-b-ecs', 'prod-b', 'update-timed-out', 'StackUpdateInProgress: stack prod-b-ecs is UPDATE_IN_PROGRESS');

  it('lists the wave\'s clusters as they ended, not as "not started", and says the assessment failed', () => {
    const note = composeNotification(doc({ ...rolledProd(branchOutput('prod-b-ecs', 'prod-b', 'rolled')), outcome: { status: 'FAILED', step: 'rollout' } }), CTX);
    expect(note.attributes.status).toBe('FAILED');
    expect(note.message).not.toContain('not started');
    expect(note.message).toContain('    prod-b-ecs (prod-b): ROLLED in 15m 30s');
    expect(note.message).toContain('Then assessing wave prod failed: Error: assess-wave crashed. Its clusters are listed as they ended.');
    expect(note.message).toContain(`dev-ecs, prod-a-ecs, prod-b-ecs run ${NEW} and stay there.`);
  });

  it('makes the run CRITICAL, naming the cluster, when one of them was left needing a person', () => {
    const note = composeNotification(doc({ ...rolledProd(stuck), outcome: { status: 'FAILED', step: 'rollout' } }), CTX);
    expect(note.attributes).toEqual({ status: 'CRITICAL', stage: 'prod', step: 'rollout' });
    expect(note.subject).toBe('[ecs-ami-pipeline prod] CRITICAL: a person must check prod-b-ecs');
    expect(note.message).toContain(`  prod-b-ecs: NEEDS A PERSON: the stack is still updating to ${NEW} past its time bound`);
    expect(note.message).toContain('Then assessing wave prod failed');
  });

  it('folds the wave in once: a settled document, or one whose wave was assessed, is left as it is', () => {
    const received = doc({ ...rolledProd(stuck), outcome: { status: 'FAILED', step: 'rollout' } });
    const settled = settledRunDocument(received, CTX.now);
    expect(settled.rollout?.waves.map((w) => w.name)).toEqual(['dev', 'prod']);
    expect(settled.rollout?.status).toBe('CRITICAL');
    expect(settledRunDocument(settled, CTX.now)).toBe(settled);
    // Assessed, then a later step failed: the wave is already in the rollout.
    const assessed = { ...received, rollout: settled.rollout, unassessedWave: undefined };
    expect(settledRunDocument(assessed, CTX.now)).toBe(assessed);
    expect(received.rollout?.waves).toHaveLength(1);
  });

  it('lists every cluster of a wave whose roll failed as a whole as needing a person, and makes the run CRITICAL', () => {
    const mapFailed = { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'The specified tolerated failure threshold was exceeded' };
    const received = doc({ ...rolledProd(stuck), currentWave: { wave: WAVES[1]!, approval: null }, error: mapFailed, outcome: { status: 'FAILED', step: 'rollout' } });
    const note = composeNotification(received, CTX);
    expect(note.attributes.status).toBe('CRITICAL');
    expect(note.subject).toBe('[ecs-ami-pipeline prod] CRITICAL: a person must check prod-a-ecs, prod-b-ecs');
    expect(note.message).toContain('Rolling wave prod failed as a whole (States.ExceedToleratedFailureThreshold: The specified tolerated failure threshold was exceeded)');
    for (const stack of ['prod-a-ecs', 'prod-b-ecs']) {
      expect(note.message).toContain(`  ${stack}: NEEDS A PERSON: the stack update to ${NEW} could not be followed to its end; cause: States.ExceedToleratedFailureThreshold`);
    }
    expect(note.message).not.toContain('not started');
  });

  it('leaves every other ending alone: another step, a wave whose approval was refused, no rollout', () => {
    const base = rolledProd(stuck);
    const rejected = { decision: 'REJECTED' as const, by: 'ops', at: '2026-01-01T10:40:00.000Z', reason: 'not today', wave: 'prod' };
    for (const other of [
      doc({ ...base, outcome: { status: 'FAILED', step: 'soak' } }),
      doc({ ...base, currentWave: { wave: WAVES[1]!, approval: rejected }, outcome: { status: 'FAILED', step: 'rollout' } }),
      doc({ ...base, rollout: undefined, outcome: { status: 'FAILED', step: 'rollout' } }),
    ]) {
      expect(settledRunDocument(other, CTX.now)).toBe(other);
    }
  });
});

describe('clusterCondition', () => {
  const at = (status: ClusterResult['status'], ending: BranchEnding, extra: Partial<ClusterResult> = {}) =>
    clusterCondition(result('prod-ecs', 'prod', status, { ending, ...extra }));

  it.each<[ClusterResult['status'], BranchEnding, Partial<ClusterResult>, string]>([
    ['ROLLED', 'rolled', {}, `confirmed on ${NEW}`],
    ['ROLLED_BACK', 'rolled-back', {}, `rolled back to ${OLD}, the image it last confirmed, and confirmed there`],
    ['ROLLED_BACK', 'rolled-back', { leftOn: undefined }, 'rolled back to its last confirmed image, the image it last confirmed, and confirmed there'],
    ['FAILED', 'cloudformation-rolled-back', {}, `CloudFormation rolled the stack back to ${OLD}; the pipeline changed nothing more`],
    ['FAILED', 'cloudformation-rolled-back', { previousAmiId: undefined }, 'CloudFormation rolled the stack back; the pipeline changed nothing more'],
    ['FAILED', 'registration-not-confirmed', {}, `not confirmed on ${NEW}; the stack was not changed by this run`],
    ['FAILED', 'registration-not-checked', {}, `not confirmed on ${NEW}; the stack was not changed by this run`],
    ['FAILED', 'not-updated', {}, `not changed by this run (still on ${OLD})`],
    ['FAILED', 'baseline-failed', { previousAmiId: undefined }, 'not changed by this run'],
    ['ROLLBACK_FAILED', 'stack-rollback-failed', {}, 'NEEDS A PERSON: the stack update failed and CloudFormation could not roll it back'],
    ['ROLLBACK_FAILED', 'rollback-failed', {}, `NEEDS A PERSON: rolling back to ${OLD} failed; the stack may be half-updated`],
    ['ROLLBACK_FAILED', 'rollback-failed', { confirmedAmiId: undefined }, 'NEEDS A PERSON: rolling back to its last confirmed image failed; the stack may be half-updated'],
    [
      'UNCONFIRMED',
      'update-timed-out',
      {},
      `NEEDS A PERSON: the stack is still updating to ${NEW} past its time bound; the pipeline stopped waiting and did not cancel it`,
    ],
    ['UNCONFIRMED', 'registration-not-confirmed', {}, `NEEDS A PERSON: left on ${NEW}, not confirmed, with no confirmed image to go back to`],
    ['UNCONFIRMED', 'registration-not-checked', {}, `NEEDS A PERSON: left on ${NEW}; its registration could not be checked`],
    ['UNCONFIRMED', 'not-updated', {}, `NEEDS A PERSON: the update step failed after its retries; CloudFormation may have taken the update to ${NEW}`],
    ['UNCONFIRMED', 'update-not-followed', {}, `NEEDS A PERSON: the stack update to ${NEW} could not be followed to its end`],
  ])('%s / %s %j: %s', (status, ending, extra, text) => {
    expect(at(status, ending, extra)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [-5000, '0s'],
    [1499, '1s'],
    [1500, '2s'],
    [59_000, '59s'],
    [60_000, '1m 0s'],
    [61_000, '1m 1s'],
    [3_599_000, '59m 59s'],
    [3_600_000, '1h 0m'],
    [5_405_000, '1h 30m'],
    [90_000_000, '25h 0m'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('failedBuildOf', () => {
  it('reads a build from the cause, bare or under Build', () => {
    expect(failedBuildOf({ Cause: JSON.stringify({ Id: 'b:1', BuildStatus: 'FAILED' }) })).toEqual({ Id: 'b:1', BuildStatus: 'FAILED' });
    expect(failedBuildOf({ Cause: JSON.stringify({ Build: { Id: 'b:2' } }) })).toEqual({ Id: 'b:2' });
  });

  it('is undefined for a cause that is not a build', () => {
    expect(failedBuildOf(undefined)).toBeUndefined();
    expect(failedBuildOf({ Error: 'States.Timeout' })).toBeUndefined();
    expect(failedBuildOf({ Cause: 'The task timed out' })).toBeUndefined();
    expect(failedBuildOf({ Cause: JSON.stringify({ errorMessage: 'x' }) })).toBeUndefined();
  });
});
