import type { Image } from '@aws-sdk/client-ec2';
import { z } from 'zod';

/** EC2 image ids: `ami-` and 8 (old) or 17 hex digits. */
export const AMI_ID_PATTERN = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export const amiIdSchema = z
  .string({ invalid_type_error: 'must be an AMI id string like ami-0123456789abcdef0' })
  .regex(AMI_ID_PATTERN, 'must be an AMI id like ami-0123456789abcdef0');

/** The EBS snapshots an image is made of (its block device mappings'). */
export function snapshotIdsOf(image: Pick<Image, 'BlockDeviceMappings'> | undefined): string[] {
  return (image?.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter((id): id is string => Boolean(id));
}

export function isAmiId(value: unknown): value is string {
  return typeof value === 'string' && AMI_ID_PATTERN.test(value);
}

/** What AWS's public `.../recommended` parameter says about the newest ECS-optimized AMI. */
export interface RecommendedBaseAmi {
  imageId: string;
  imageName?: string;
  ecsAgentVersion?: string;
  ecsRuntimeVersion?: string;
}

const recommendedSchema = z
  .object({
    image_id: amiIdSchema,
    image_name: z.string().optional(),
    ecs_agent_version: z.string().optional(),
    ecs_runtime_version: z.string().optional(),
  })
  .passthrough();

/**
 * AWS returns the parameter's value as a JSON string; some emulators (moto) return the object
 * itself. Accept both, and fail with the parameter's name when the shape is not what AWS documents.
 */
export function parseRecommendedBaseAmi(parameterName: string, value: unknown): RecommendedBaseAmi {
  let candidate: unknown = value;
  if (typeof value === 'string') {
    try {
      candidate = JSON.parse(value);
    } catch {
      throw new Error(`${parameterName} is not JSON (value starts with ${JSON.stringify(value.slice(0, 40))})`);
    }
  }
  const parsed = recommendedSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${parameterName} has an unexpected shape: ${issue?.path.join('.') || 'value'} ${issue?.message ?? ''}`.trim());
  }
  return {
    imageId: parsed.data.image_id,
    imageName: parsed.data.image_name,
    ecsAgentVersion: parsed.data.ecs_agent_version,
    ecsRuntimeVersion: parsed.data.ecs_runtime_version,
  };
}

/** The value of one tag of an image as EC2 describes it. */
export function tagValue(image: Image | undefined, key: string): string | undefined {
  return image?.Tags?.find((t) => t.Key === key)?.Value;
}
