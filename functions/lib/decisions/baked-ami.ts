import type { Image } from '@aws-sdk/client-ec2';
import { isAmiId } from '../contracts/ami';
import { tagValue } from '../contracts/ami';
import { AMI_TAGS, BUILD_EXPORTS, MANAGED_BY_VALUE } from '../contracts';
import { ERROR_NAMES, PipelineError } from '../contracts/errors';

export interface ExportedVariable {
  Name?: string;
  Value?: string;
}

/** The AMI the build exported, checked for shape and region before anything is looked up. */
export function exportedAmi(
  buildId: string | undefined,
  exported: ExportedVariable[] | undefined,
  region: string,
): { amiId: string; sourceAmiId?: string } {
  const value = (name: string) => exported?.find((v) => v.Name === name)?.Value?.trim() || undefined;
  const amiId = value(BUILD_EXPORTS.amiId);
  const build = buildId ?? 'the build';
  if (!amiId) {
    throw new PipelineError(
      ERROR_NAMES.noAmiExported,
      `${build} succeeded but exported no ${BUILD_EXPORTS.amiId}; check the buildspec's env.exported-variables and its manifest step`,
    );
  }
  if (!isAmiId(amiId)) {
    throw new PipelineError(ERROR_NAMES.noAmiExported, `${build} exported ${BUILD_EXPORTS.amiId}=${JSON.stringify(amiId)}, which is not an AMI id`);
  }
  const amiRegion = value(BUILD_EXPORTS.amiRegion);
  if (amiRegion && amiRegion !== region) {
    throw new PipelineError(ERROR_NAMES.amiUnusable, `${build} baked ${amiId} in ${amiRegion}, but the pipeline runs in ${region}`);
  }
  return { amiId, sourceAmiId: value(BUILD_EXPORTS.sourceAmi) };
}

/**
 * Can the pipeline record this image? It must be available (pending is retried by the state
 * machine), carry this pipeline's marker tag, and come from the base the run asked for.
 */
export function checkBakedImage(amiId: string, image: Image | undefined, expectedBaseAmiId: string | undefined): void {
  if (!image) throw new PipelineError(ERROR_NAMES.amiUnusable, `${amiId} does not exist in this region`);
  if (image.State === 'pending') {
    throw new PipelineError(ERROR_NAMES.amiNotAvailableYet, `${amiId} is still pending; waiting for it to become available`);
  }
  if (image.State !== 'available') {
    throw new PipelineError(ERROR_NAMES.amiUnusable, `${amiId} is ${image.State}${image.StateReason?.Message ? ` (${image.StateReason.Message})` : ''}`);
  }
  if (tagValue(image, AMI_TAGS.managedBy) !== MANAGED_BY_VALUE) {
    throw new PipelineError(
      ERROR_NAMES.amiUnusable,
      `${amiId} has no ${AMI_TAGS.managedBy}=${MANAGED_BY_VALUE} tag: it was not baked from this pipeline's Packer template`,
    );
  }
  const builtFrom = tagValue(image, AMI_TAGS.sourceAmiId);
  if (expectedBaseAmiId && builtFrom && builtFrom !== expectedBaseAmiId) {
    throw new PipelineError(ERROR_NAMES.amiUnusable, `${amiId} was built from ${builtFrom}, but the run asked for ${expectedBaseAmiId}`);
  }
}
