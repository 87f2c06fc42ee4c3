import type { BaseAmiArchitecture, CopyTarget, Trigger, Wave } from './index';

/** A bake for another architecture than the stage's: its base and its build instance type. */
export interface ArchitectureBuild {
  architecture: BaseAmiArchitecture;
  sourceAmi: { id: string; name?: string };
  instanceType: string;
}

/** What "Check the request" decided this run will do; every later step reads it from `$.plan`. */
export interface RunPlan {
  runId: string;
  executionArn: string;
  startedAt: string;
  trigger: Trigger;
  mode: 'bake' | 'rollback';
  dryRun: boolean;
  reason?: string;
  requestedBy?: string;
  /** Who started the run and why, as every record this run writes keeps it (null: not given). */
  audit: RunAudit;
  /** The caller chose to roll later waves without the earlier ones (request field skipEarlierWaves). */
  skipEarlierWaves?: boolean;
  waves: Wave[];
  /** How long a wave's approval waits before it counts as a rejection (param approvalTimeoutHours). */
  approvalTimeoutSeconds: number;
  /** Regions the baked image is copied to (param copyToRegions); empty when none. */
  copyRegions: CopyTarget[];
  /** Bake mode: images to bake besides the stage's architecture, for the run's clusters that declare another one. */
  otherBuilds: ArchitectureBuild[];
  /** The promoted AMI before this run, when there is one. */
  currentAmiId?: string;
  /** Bake mode: the ECS-optimized base to build from. */
  sourceAmi?: { id: string; name?: string };
  /** Rollback mode: the earlier pipeline image to put back, with its base and build from its tags, and why it was chosen. */
  rollbackTo?: { amiId: string; baseAmiId?: string; baseAmiName?: string; buildId?: string; why?: string };
  /** Set when another run holds the fleet: this one ends as skipped. */
  skip?: { runningExecutionArn: string; runningSince: string };
  /** Set when a cluster target cannot be rolled (checked before anything is baked): the run stops there. */
  notReady?: string[];
  /** Set when this run took the fleet lock over from a run that had ended without releasing it. */
  tookOverFrom?: { executionArn: string; status: string };
}

export interface RunAudit {
  trigger: Trigger;
  requestedBy: string | null;
  reason: string | null;
  runId: string;
}

/** What "Record the baked AMI" wrote as the latest image (`$.baked`). */
export interface BakedAmi {
  amiId: string;
  baseAmiId: string;
  baseAmiName?: string;
  buildId: string;
  codeBuildId?: string;
  logsUrl?: string;
  /** Its copies in other regions (copyToRegions), each recorded there as ami/latest; set by "Copy the image to each region". */
  copies?: RegionalCopy[];
  /** Set on an image baked for another architecture than the stage's. */
  architecture?: BaseAmiArchitecture;
  /** The images the same run baked for the other architectures its clusters need ("Bake for each other architecture"). */
  otherArchitectures?: BakedAmi[];
}

/** A copy of the baked image in another region, recorded there as `ami/latest` (`$.baked.copies[]`). */
export interface RegionalCopy {
  region: string;
  amiId: string;
}

/** The image the rollout moves clusters to (`$.release`): the baked record, or the rollback target. */
export interface Release {
  amiId: string;
  baseAmiId?: string;
  baseAmiName?: string;
  buildId?: string;
  codeBuildId?: string;
  logsUrl?: string;
  copies?: RegionalCopy[];
  otherArchitectures?: BakedAmi[];
}
