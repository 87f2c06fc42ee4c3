/**
 * The contracts between the parts of the pipeline, defined once.
 *
 * Packer, the buildspec, the state machine, the Lambdas, the CLI and the local harness all
 * agree on these names. Non-TypeScript parts (HCL, YAML, ASL) cannot import this file, so
 * tests check them against it (test/unit/contracts-*.test.ts); change a name here and those
 * tests show every place that must follow.
 */

import type { SoakSettings } from './gates';

export const SERVICE_NAME = 'ecs-ami-pipeline';

/** The value of the {@link AMI_TAGS.managedBy} tag on every image this pipeline bakes. */
export const MANAGED_BY_VALUE = SERVICE_NAME;

/** Tags Packer puts on the AMI and on its snapshots. Retention and rollback select on `managedBy`. */
export const AMI_TAGS = {
  name: 'Name',
  managedBy: 'ManagedBy',
  sourceAmiId: 'SourceAmiId',
  sourceAmiName: 'SourceAmiName',
  ecsAgentVersion: 'EcsAgentVersion',
  dockerVersion: 'DockerVersion',
  /** The Amazon Linux release the bake upgraded to (`system-release`'s version, e.g. 2023.9.20251110). */
  osRelease: 'OsRelease',
  timezone: 'Timezone',
  /** The pipeline run (Step Functions execution name) that asked for the image, or `manual-...` from a laptop. */
  buildId: 'BuildId',
  /**
   * The deployment stage that baked the image (`laptop` for `make ami`). Retention considers only
   * images tagged ManagedBy and this stage's PipelineStage, and its IAM role may deregister and delete
   * nothing else (deploy/iam.js, conditions on both tags).
   */
  stage: 'PipelineStage',
  gitCommit: 'GitCommit',
  /** SHA-256 of the Packer assets (packer/, files/, buildspec/) the image was baked from. */
  packerAssets: 'PackerAssetsSha256',
} as const;

/** One region the stage copies its images to (param copyToRegions), and the key the copy is encrypted with there. */
export interface CopyTarget {
  region: string;
  /** A customer managed key of that region; absent: the region's AWS managed EBS key. */
  kmsKeyId?: string;
}

/** Tags a copy in another region carries besides the image's own (param copyToRegions). */
export const COPY_TAGS = {
  /** The image in the stage's region this one is a copy of. */
  copiedFrom: 'CopiedFrom',
  copiedFromRegion: 'CopiedFromRegion',
} as const;

/** Tags Packer puts on its temporary build instance (the template's run_tags); retention terminates leftovers by them. */
export const BAKE_INSTANCE_TAGS = {
  managedBy: AMI_TAGS.managedBy,
  stage: AMI_TAGS.stage,
  buildId: AMI_TAGS.buildId,
  /** Always {@link BAKE_INSTANCE_PURPOSE}: tells a build instance from a cluster's instances. */
  purpose: 'Purpose',
} as const;
export const BAKE_INSTANCE_PURPOSE = 'ami-bake';

/** Environment variables the state machine overrides on each CodeBuild build. */
export const BUILD_OVERRIDES = {
  sourceAmi: 'SOURCE_AMI',
  buildId: 'BUILD_ID',
  gitCommit: 'GIT_COMMIT',
} as const;

/** What a bake for another architecture than the stage's overrides besides (buildspec/packer-vars.sh reads both). */
export const ARCHITECTURE_BUILD_OVERRIDES = {
  ...BUILD_OVERRIDES,
  architecture: 'ARCHITECTURE',
  instanceType: 'BUILD_INSTANCE_TYPE',
} as const;

/** Variables the buildspec exports (`env: exported-variables`), read back from `Build.ExportedEnvironmentVariables`. */
export const BUILD_EXPORTS = {
  amiId: 'AMI_ID',
  amiRegion: 'AMI_REGION',
  sourceAmi: 'SOURCE_AMI_ID',
} as const;

/** The stack parameter that carries the AMI when a cluster target does not name another. */
export const DEFAULT_IMAGE_PARAMETER = 'ApplicationImageId';

/** Public SSM parameter AWS keeps pointing at the recommended ECS-optimized AMI, per architecture. */
export function recommendedBaseAmiParameter(architecture: BaseAmiArchitecture): string {
  return architecture === 'arm64'
    ? '/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended'
    : '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';
}
export const BASE_AMI_ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type BaseAmiArchitecture = (typeof BASE_AMI_ARCHITECTURES)[number];

/**
 * SSM parameters the pipeline owns, under a per-stage prefix such as `/ecs-ami-pipeline/prod`.
 * Values are plain AMI ids (`aws:ec2:image` where the value is an AMI of this account); the
 * `record` companions hold JSON describing the value's latest version. Parameter history is the
 * audit trail: the pipeline only ever overwrites, never deletes.
 */
export function parameterNames(prefix: string) {
  const p = prefix.replace(/\/+$/, '');
  return {
    /** Newest image baked and recorded, promoted or not. */
    latestAmi: `${p}/ami/latest`,
    latestAmiRecord: `${p}/ami/latest/record`,
    /** The newest image baked for another architecture than the stage's (clusters that declare it). */
    latestAmiFor: (architecture: BaseAmiArchitecture) => `${p}/ami/${architecture}/latest`,
    latestAmiRecordFor: (architecture: BaseAmiArchitecture) => `${p}/ami/${architecture}/latest/record`,
    /** Image every configured cluster has confirmed; what new instances should run. */
    currentAmi: `${p}/ami/current`,
    currentAmiRecord: `${p}/ami/current/record`,
    /** The other architecture's image promoted with `ami/current` (the same build, confirmed by its clusters). */
    currentAmiFor: (architecture: BaseAmiArchitecture) => `${p}/ami/${architecture}/current`,
    /** ECS-optimized base AMI of the newest promoted build; the base-AMI check compares against it. */
    currentBaseAmi: `${p}/base-ami/current`,
    /** What the deployment is ({@link PipelineConfig}), written by the stack so tools need only the stage. */
    config: `${p}/config`,
    /** Runs the base-AMI check started for the newest recommended base ({@link BaseAmiAttempts}). */
    baseAmiAttempts: `${p}/base-ami/attempts`,
    /**
     * The last wave approval that was refused or not answered ({@link RefusedApproval}); its parameter
     * history is the audit trail of refusals (approvals are in the promotion and cluster records).
     */
    refusedApproval: `${p}/approvals/refused`,
    /** Folder of the per-cluster records ({@link ClusterRecord}), one parameter per stack. */
    clusterRecords: `${p}/clusters`,
    /** The image a cluster last confirmed through the ECS API, and which run confirmed it. */
    clusterRecord: (stackName: string) => `${p}/clusters/${stackName}`,
  };
}
export type ParameterNames = ReturnType<typeof parameterNames>;

export function defaultParameterPrefix(stage: string): string {
  return `/${SERVICE_NAME}/${stage}`;
}

/** JSON value of `config`, written by serverless.yml at deploy time. */
export interface PipelineConfig {
  service: string;
  stage: string;
  region: string;
  stateMachineArn: string;
  topicArn: string;
  bakeProjectName: string;
  baseAmiArchitecture: BaseAmiArchitecture;
  /** The run ledger table (fleet lock, notification markers). */
  runLedgerTable: string;
  /** Runs the base-AMI check starts for one base before it waits for a person. */
  baseAmiMaxAttempts: number;
  waves: Wave[];
  /** The image name prefix (param amiNamePrefix); absent in deployments older than image retention. */
  amiNamePrefix?: string;
  /** How retention treats the stage's images (params imageRetention, retainPromotedImages, ...). */
  retention?: { mode: ImageRetentionMode; keepPromoted: number; graceDays: number; bakeLeftoverHours: number };
  /** Regions every baked image is copied to (param copyToRegions); absent in deployments older than copies. */
  copyToRegions?: CopyTarget[];
}

/** JSON value of `ami/latest/record`. */
export interface BakedAmiRecord {
  amiId: string;
  baseAmiId: string;
  baseAmiName?: string;
  buildId: string;
  codeBuildId?: string;
  executionArn: string;
  recordedAt: string;
}

/** JSON value of `ami/current/record`. */
export interface PromotionRecord {
  amiId: string;
  /** The value of `ami/current` before this promotion; on a rollback, the image rolled away from. */
  previousAmiId?: string;
  baseAmiId?: string;
  buildId?: string;
  executionArn: string;
  promotedAt: string;
  /** `rollout` after a bake and roll; `rollback` when ops re-rolled the fleet to an older image. */
  reason: 'rollout' | 'rollback';
  clusters: string[];
  /** Who started the run that promoted, and why (the request's trigger, requestedBy and reason). */
  trigger?: Trigger;
  requestedBy?: string | null;
  requestReason?: string | null;
  /** Every wave approval of the run that promoted: who approved it, when and why. */
  approvals?: { wave: string; by: string | null; reason: string | null; at: string }[];
}

/**
 * JSON value of `clusters/<stackName>`: the image this cluster last confirmed through the ECS API.
 * Written when a cluster confirms an image (`rollout`), confirms its rollback (`rollback`), or, the
 * first time the pipeline meets it, confirms the image it already runs (`adopted`). It is the
 * cluster's rollback target, and promotion follows from it: `ami/current` changes only when every
 * configured cluster's record names the new image.
 */
export interface ClusterRecord {
  stackName: string;
  clusterName: string;
  amiId: string;
  purpose: 'rollout' | 'rollback' | 'adopted';
  runId: string;
  executionArn: string;
  confirmedAt: string;
  /** What the ECS API showed, e.g. `3/3 instances ACTIVE and connected on ami-...`. */
  summary?: string;
  /** Who started the run that confirmed it, and why. */
  trigger?: Trigger;
  requestedBy?: string | null;
  requestReason?: string | null;
  /** Who approved the wave that rolled this cluster, and why (waves with requireApproval). */
  approval?: { by: string | null; reason: string | null; at: string };
  /** The cluster's region when it is not the stage's own; `amiId` is then that region's copy... */
  region?: string;
  /** ...of this image of the stage's region, the one promotion compares (copyToRegions). */
  copyOf?: string;
}

/** The stage-region image a cluster record stands for: its copy's source in another region, else its own image. */
export function confirmedStageImage(record: Pick<ClusterRecord, 'amiId' | 'copyOf'> | undefined): string | undefined {
  return record ? (record.copyOf ?? record.amiId) : undefined;
}

/** JSON value of `approvals/refused`: a wave a person rejected, or nobody approved in time. */
export interface RefusedApproval {
  executionArn: string;
  wave: string;
  amiId: string;
  decision: 'REJECTED' | 'TIMED_OUT';
  by: string | null;
  reason: string | null;
  at: string;
  /** Who started the run, and why. */
  trigger?: Trigger;
  requestedBy?: string | null;
  requestReason?: string | null;
}

/** The audit fields a record keeps from the run that wrote it. */
export function auditFields(audit: { trigger: Trigger; requestedBy: string | null; reason: string | null } | undefined) {
  return audit ? { trigger: audit.trigger, requestedBy: audit.requestedBy, requestReason: audit.reason } : {};
}

/** JSON value of `base-ami/attempts`: runs the base-AMI check started for one recommended base. */
export interface BaseAmiAttempts {
  baseAmiId: string;
  attempts: number;
  lastStartedAt: string;
  lastExecutionArn: string;
}

/** One stack the pipeline rolls. The stack must take its AMI from `imageParameter`. */
export interface ClusterTarget {
  stackName: string;
  clusterName: string;
  imageParameter: string;
  /** The stack's region when it is not the stage's own: it rolls with that region's copy (copyToRegions). */
  region?: string;
  /**
   * The cluster's instance architecture when it is not the stage's (baseAmiArchitecture): a run that
   * rolls it also bakes an image for this architecture, and it rolls with that one.
   */
  architecture?: BaseAmiArchitecture;
}

/**
 * Clusters rolled together; waves run in order and the first failure stops the rollout. A wave may
 * wait for a person's approval before it starts and soak (alarms, services) after it confirmed
 * (contracts/gates.ts).
 */
export interface Wave {
  name: string;
  clusters: ClusterTarget[];
  requireApproval?: boolean;
  soak?: SoakSettings;
}

export const TRIGGERS = ['weekly', 'base-ami', 'manual'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/**
 * How a run ended, as ops read it. Sent as the SNS message attribute `status`, next to `stage`
 * (the deployment stage, e.g. `prod`) and `step` (where the run ended).
 */
export const RUN_STATUSES = [
  'SUCCEEDED',
  /** The run's clusters confirmed the image, but others are still on older ones: nothing promoted. */
  'PARTIAL',
  'DRY_RUN',
  'SKIPPED',
  'REJECTED',
  'FAILED',
  'ROLLED_BACK',
  'CRITICAL',
  /** A wave's approval was rejected or not answered in time: later waves untouched, nothing promoted. */
  'NOT_APPROVED',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The steps of a run, named as in notifications and logs. */
export const PIPELINE_STEPS = ['request', 'bake', 'record', 'copy', 'approval', 'rollout', 'registration', 'soak', 'rollback', 'promote'] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

/** Environment variables the Lambdas read their configuration from (set by serverless.yml). */
export const LAMBDA_ENV = {
  serviceName: 'SERVICE_NAME',
  stage: 'STAGE',
  parameterPrefix: 'PARAMETER_PREFIX',
  clusterWaves: 'CLUSTER_WAVES',
  baseAmiArchitecture: 'BASE_AMI_ARCHITECTURE',
  stateMachineArn: 'STATE_MACHINE_ARN',
  topicArn: 'NOTIFICATION_TOPIC_ARN',
  registrationTimeoutSeconds: 'REGISTRATION_TIMEOUT_SECONDS',
  /** Optional CloudFormation service role the stack updates run under (serverless param stackRoleArn). */
  stackRoleArn: 'STACK_ROLE_ARN',
  /** DynamoDB table holding the fleet lock and the notification markers ({@link RUN_LEDGER}). */
  runLedgerTable: 'RUN_LEDGER_TABLE',
  /** How long a stack may stay busy or updating before the pipeline stops waiting (serverless param maxRolloutMinutes). */
  maxRolloutMinutes: 'MAX_ROLLOUT_MINUTES',
  /** How many runs the base-AMI check starts for one base before it waits for a person (param baseAmiMaxAttempts). */
  baseAmiMaxAttempts: 'BASE_AMI_MAX_ATTEMPTS',
  /** Image retention (params retainPromotedImages, retentionGraceDays, bakeLeftoverHours, imageRetention). */
  retainPromotedImages: 'RETAIN_PROMOTED_IMAGES',
  retentionGraceDays: 'RETENTION_GRACE_DAYS',
  bakeLeftoverHours: 'BAKE_LEFTOVER_HOURS',
  imageRetention: 'IMAGE_RETENTION',
  amiNamePrefix: 'AMI_NAME_PREFIX',
  /** Who the stage's images are shared with: JSON ShareTargets (functions/lib/decisions/sharing.ts), from param shareWith. */
  shareWith: 'SHARE_WITH',
  /** `true`: ops messages also carry the chat (Amazon Q Developer / AWS Chatbot) form (param chatNotifications). */
  chatNotifications: 'CHAT_NOTIFICATIONS',
  /** How long a wave's approval waits before it counts as a rejection (param approvalTimeoutHours). */
  approvalTimeoutHours: 'APPROVAL_TIMEOUT_HOURS',
  /** Regions each baked image is copied to: JSON CopyTarget[] (functions/lib/decisions/copies.ts), from param copyToRegions. */
  copyToRegions: 'COPY_TO_REGIONS',
} as const;

/**
 * The run ledger, a DynamoDB table of the stage (`<service>-<stage>-runs`, key `pk`):
 * - the fleet lock, item `pk = fleet-lock`: the execution that holds the fleet. Taken with a
 *   conditional write, so two runs started in the same second cannot both hold it; released on every
 *   end (by the run itself, or by the run-ended function for stopped, timed-out and failed runs).
 * - one notification marker per run, item `pk = notified#<execution ARN>`: ops got this run's one
 *   message (the run's own, or the abnormal-end alert), so a retry or a second event sends nothing.
 */
export const RUN_LEDGER = {
  key: 'pk',
  lockKey: 'fleet-lock',
  notifiedKey: (executionArn: string) => `notified#${executionArn}`,
  /** The approval a run waits for ({@link ApprovalWaiting}): its task token, readable by approvers only. */
  approvalKey: (executionArn: string) => `approval#${executionArn}`,
  /** Attribute DynamoDB's time to live reads (epoch seconds): markers expire after a year. */
  expiresAt: 'expiresAt',
} as const;

/** The lock item's attributes besides the key. */
export interface FleetLock {
  ownerExecutionArn: string;
  acquiredAt: string;
  trigger?: string;
  /** The run this one took the lock over from, which had ended without releasing it. */
  tookOverFrom?: { executionArn: string; status: string };
}

/** Stage defaults the functions fall back to when the environment does not say (serverless.yml sets them). */
export const DEFAULTS = {
  maxRolloutMinutes: 240,
  registrationTimeoutSeconds: 900,
  baseAmiMaxAttempts: 3,
  retainPromotedImages: 3,
  retentionGraceDays: 7,
  bakeLeftoverHours: 4,
  staleFleetDays: 14,
  maxClusterImageAgeDays: 35,
  approvalTimeoutHours: 24,
  soakCheckEverySeconds: 60,
} as const;

/**
 * What retention does with what it finds: `delete` deregisters images (with their snapshots),
 * deprecates superseded ones and terminates leftover build instances; `report` only says what it
 * would do (the same message, nothing changed).
 */
export const IMAGE_RETENTION_MODES = ['delete', 'report'] as const;
export type ImageRetentionMode = (typeof IMAGE_RETENTION_MODES)[number];

/** The retention settings a stage has with every retention param at its default. */
export const DEFAULT_RETENTION: NonNullable<PipelineConfig['retention']> = {
  mode: 'delete',
  keepPromoted: DEFAULTS.retainPromotedImages,
  graceDays: DEFAULTS.retentionGraceDays,
  bakeLeftoverHours: DEFAULTS.bakeLeftoverHours,
};

/**
 * Retention's SNS message (sent when it deleted or terminated something, would have in `report`
 * mode, or failed): the attributes `stage`, `step` = `retention` and `status` =
 * {@link RETENTION_STATUSES}, so a subscription filter on `status` = FAILED sees its failures too.
 */
export const RETENTION_STATUSES = ['CLEANED_UP', 'WOULD_CLEAN_UP', 'FAILED'] as const;
export type RetentionStatus = (typeof RETENTION_STATUSES)[number];

/** Bounds the packaging checks: past them the state machine's Retry budgets or the state size no longer fit. */
export const LIMITS = {
  maxRolloutMinutes: { min: 10, max: 1440 },
  clustersPerWave: 50,
  clustersPerStage: 200,
  /** Fewer than two promoted images kept would leave `ami-pipeline rollback` nothing to go back to. */
  retainPromotedImages: { min: 2, max: 50 },
  /** A bake and its recording take hours; a shorter grace could race a run that has not recorded yet. */
  retentionGraceDays: { min: 1, max: 365 },
  /** CodeBuild's build timeout (120 min) plus its queue timeout (60 min) is the longest a bake lives. */
  bakeLeftoverHours: { min: 3, max: 168 },
  /** The alarms read one daily figure; a day or less would alarm between two of them. */
  staleFleetDays: { min: 2, max: 365 },
  maxClusterImageAgeDays: { min: 2, max: 3650 },
  /** A run lives at most 7 days (the state machine's TimeoutSeconds): two waves' approvals must fit with the bake. */
  approvalTimeoutHours: { min: 1, max: 72 },
  soakMinutes: { min: 1, max: 1440 },
  soakCheckEverySeconds: { min: 10, max: 900 },
  /** Checks per soak: each is about nine history events of the run's 25,000; a long soak checks less often. */
  soakChecks: 200,
  /** DescribeAlarms takes up to 100 names per call; a wave watches at most this many. */
  soakAlarms: 20,
} as const;

/**
 * Environment variables set on the CodeBuild project at deploy time (serverless.yml), read by the
 * buildspec. Empty optional values mean "not set" (Packer's own default applies).
 */
export const BUILD_PROJECT_ENV = {
  packerAssetsSha256: 'PACKER_ASSETS_SHA256',
  amiNamePrefix: 'AMI_NAME_PREFIX',
  timezone: 'TIMEZONE',
  instanceType: 'BUILD_INSTANCE_TYPE',
  dataVolumeSizeGb: 'DATA_VOLUME_SIZE_GB',
  /** Optional: build in a private subnet of this VPC (both or neither). */
  subnetId: 'BUILD_SUBNET_ID',
  vpcId: 'BUILD_VPC_ID',
  /** Optional: customer managed KMS key for the image's volumes; empty = the AWS managed EBS key. */
  kmsKeyId: 'EBS_KMS_KEY_ID',
  /** The Amazon Linux release dnf upgrades to: `latest`, or a pinned one such as 2023.9.20251110. */
  osReleaseVersion: 'OS_RELEASE_VERSION',
  /** The deployment stage, tagged on the image and the build instance ({@link AMI_TAGS.stage}). */
  stage: 'PIPELINE_STAGE',
} as const;

/**
 * The shape of an AWS region name, in every partition: a 2-4 letter area (us, cn, eusc), words
 * (gov-west, isob-east, de-east) and a number: us-east-1, us-gov-west-1, cn-northwest-1,
 * us-isob-east-1, eusc-de-east-1. A shape, not a list, so a new region needs no release; it keeps
 * out what would break a command line, a file or a TOML value ("us-east-1; rm", "US-EAST-1").
 * Written with [0-9] rather than \d because bash (`=~`, POSIX ERE) has no \d: files/firstrun.sh,
 * buildspec/read-manifest.sh and packer/variables.pkr.hcl (RE2) carry this exact text, and
 * test/unit/contracts-image.test.ts fails when a copy differs.
 */
/**
 * The full ARN of a KMS key (groups: partition, region, account, key id). IAM matches keys by ARN
 * only, so an alias or a bare key id would yield a policy that never matches the key.
 */
export const KMS_KEY_ARN_PATTERN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):kms:([a-z0-9-]+):(\d{12}):key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export const AWS_REGION_PATTERN = /^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$/;

/** `latest`, or an Amazon Linux 2023 release version (`2023.<minor>.<yyyymmdd>`). */
export const OS_RELEASE_VERSION_PATTERN = /^(latest|2023\.\d{1,3}\.\d{8})$/;

/**
 * CloudWatch metrics (embedded metric format, through Powertools Metrics) in namespace
 * {@link METRICS_NAMESPACE}, every one with the dimensions `service` (= {@link SERVICE_NAME}) and
 * `Stage`; some add `Status` or `Cluster`. The stack's dashboard and alarms name them from here.
 */
export const METRICS_NAMESPACE = 'EcsAmiPipeline';
export const METRIC_DIMENSIONS = { service: 'service', stage: 'Stage', status: 'Status', cluster: 'Cluster' } as const;
export const METRIC_NAMES = {
  /** Count per run end, dimension Status (a RUN_STATUSES value, or the execution's for an alert). */
  runsEnded: 'RunsEnded',
  /** Seconds from a run's start to its image recorded as ami/latest (the bake, mostly). */
  bakeDuration: 'BakeDurationSeconds',
  /** Seconds a cluster's roll took, from its update to its confirmation; dimension Cluster. */
  rolloutDuration: 'RolloutDurationSeconds',
  clustersRolled: 'ClustersRolled',
  clustersRolledBack: 'ClustersRolledBack',
  /** Seconds from the creation of the base AMI a run built on to every cluster confirming the image: the exposure window. */
  timeToPatchedFleet: 'TimeToPatchedFleetSeconds',
  /** Days since the image a cluster last confirmed was baked; dimension Cluster (daily, from the retention pass). */
  clusterImageAge: 'ClusterImageAgeDays',
  /** The largest ClusterImageAgeDays of the stage (the alarm's metric). */
  oldestClusterImageAge: 'OldestClusterImageAgeDays',
  /** Days since ami/current last changed (daily, from the retention pass; the alarm's metric). */
  daysSinceLastPromotion: 'DaysSinceLastPromotion',
} as const;
export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** Where the image keeps the first-run script that the cluster stack's cfn-init runs. */
export const FIRSTRUN_PATH_IN_IMAGE = '/opt/ecs-ami-pipeline/firstrun.sh';

/** Outputs a rollable cluster stack offers (the reference stack has all three). */
export const STACK_OUTPUTS = {
  clusterName: 'ClusterName',
  /** The pipeline finds the group to confirm against here; without it, the stack's only ASG. */
  autoScalingGroupName: 'AutoScalingGroupName',
  imageParameterName: 'ImageParameterName',
} as const;

/**
 * What the cluster stack's cfn-init passes to the first-run script (PROXY_URL may be empty).
 * CFN_SIGNAL_RESOURCE is the logical id of the group the image's registration unit signals.
 */
export const FIRSTRUN_ENV = ['ECS_CLUSTER', 'STACK_NAME', 'AUTOSCALING_GROUP', 'CFN_SIGNAL_RESOURCE', 'AWS_DEFAULT_REGION', 'PROXY_URL'] as const;
