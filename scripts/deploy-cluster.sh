#!/usr/bin/env bash
# Deploys the reference ECS cluster stack (cluster/ecs-cluster.yml) for one stage, with the
# parameters in cluster/params/STAGE.cfg, through `aws cloudformation deploy`.
#
# Usage: scripts/deploy-cluster.sh STAGE        (or STAGE=dev scripts/deploy-cluster.sh; `make cluster STAGE=dev`)
# Environment:
#   CLUSTER_STACK_NAME  stack (and cluster) name; default ecs-cluster-STAGE
#   IMAGE_ID            AMI to deploy. When the stack already exists the image is left as it is
#                       (the pipeline owns it after creation) unless IMAGE_ID is set. A new stack
#                       takes IMAGE_ID, else ApplicationImageId from the .cfg, else the pipeline's
#                       newest baked image (ami/latest of the stage): the first deployment is
#                       `ami-pipeline run --dry-run` (bakes, touches no cluster), then this.
#   PIPELINE_PARAMETER_PREFIX  where the pipeline keeps its parameters; default /ecs-ami-pipeline/STAGE
#   CFN_ROLE_ARN        optional CloudFormation service role for the stack. Later updates that name
#                       no role (the pipeline's) reuse it, so the pipeline needs only
#                       cloudformation:UpdateStack and iam:PassRole on that role.
#   AWS_PROFILE, AWS_REGION ...  passed to the aws CLI as usual
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
params_dir="$root/cluster/params"
template="cluster/ecs-cluster.yml"
image_parameter="ApplicationImageId"

die() {
  echo "error: $*" >&2
  exit 1
}

available_stages() {
  local f names=()
  for f in "$params_dir"/*.cfg; do
    [[ -e $f ]] || continue
    f="${f##*/}"
    names+=("${f%.cfg}")
  done
  echo "${names[*]:-none}"
}

stage="${1:-${STAGE:-}}"
[[ -n $stage ]] || die "no STAGE given; use one of: $(available_stages)"
[[ $stage =~ ^[A-Za-z0-9_-]+$ ]] || die "STAGE '$stage' is not a plain name; use one of: $(available_stages)"
params_file="$params_dir/$stage.cfg"
[[ -f $params_file ]] || die "unknown STAGE '$stage': there is no cluster/params/$stage.cfg (stages: $(available_stages))"

stack_name="${CLUSTER_STACK_NAME:-ecs-cluster-$stage}"

declare -A values=()
keys=()
line_number=0
while IFS= read -r line || [[ -n $line ]]; do
  line_number=$((line_number + 1))
  [[ -z ${line//[[:space:]]/} ]] && continue
  # The same file must work as `--parameter-overrides $(cat file)`, so no comments and no spaces.
  [[ $line =~ ^([A-Za-z0-9]+)=([^[:space:]]*)$ ]] ||
    die "cluster/params/$stage.cfg line $line_number is not Key=Value without spaces: $line"
  key="${BASH_REMATCH[1]}"
  [[ -z ${values[$key]+set} ]] || die "cluster/params/$stage.cfg sets $key twice"
  values[$key]="${BASH_REMATCH[2]}"
  keys+=("$key")
done <"$params_file"

for key in "${!values[@]}"; do
  if [[ ${values[$key]} == *0123456789abcdef* ]]; then
    die "cluster/params/$stage.cfg still has the placeholder $key=${values[$key]}; put your own VPC, subnet and AMI ids in it (docs/cluster.md)"
  fi
done

# CloudFormation cannot compare parameters, so the sizes a rolling update depends on are checked here.
number() { [[ ${values[$1]:-} =~ ^[0-9]+$ ]] && echo "${values[$1]}" || echo ""; }
min="$(number ApplicationMinSize)"
desired="$(number ApplicationDesiredCount)"
max="$(number ApplicationMaxSize)"
batch="$(number MaxBatchSize)"
batch="${batch:-1}"
if [[ -n $min && -n $desired ]] && ((min > desired)); then
  die "ApplicationMinSize ($min) is larger than ApplicationDesiredCount ($desired)"
fi
if [[ -n $desired && -n $max ]] && ((desired + batch > max)); then
  die "ApplicationMaxSize ($max) must be at least ApplicationDesiredCount + MaxBatchSize ($desired + $batch): a rolling update launches a batch before it terminates old instances"
fi

stack_exists=false
if status="$(aws cloudformation describe-stacks --stack-name "$stack_name" --query 'Stacks[0].StackStatus' --output text 2>&1)"; then
  # REVIEW_IN_PROGRESS is a stack that only ever had an unexecuted change set: it has no image yet.
  [[ $status == REVIEW_IN_PROGRESS ]] || stack_exists=true
elif [[ $status != *"does not exist"* ]]; then
  die "could not look up stack $stack_name: $status"
fi

# A new stack needs an image baked by this pipeline: its cfn-init runs the first-run script only such
# an image has, so the stock ECS-optimized AMI would fail the stack's creation after minutes.
if [[ $stack_exists == false && -z ${IMAGE_ID:-} && -z ${values[$image_parameter]:-} ]]; then
  prefix="${PIPELINE_PARAMETER_PREFIX:-/ecs-ami-pipeline/$stage}"
  if ! IMAGE_ID="$(aws ssm get-parameter --name "$prefix/ami/latest" --query Parameter.Value --output text 2>/dev/null)" || [[ -z $IMAGE_ID || $IMAGE_ID == None ]]; then
    die "no image for the new stack $stack_name: $prefix/ami/latest does not exist yet. Bake one first with: npx ami-pipeline run --stage $stage --dry-run (it bakes and records ami/latest without touching a cluster), or set IMAGE_ID"
  fi
  echo "Creating the stack on the pipeline's newest baked image $IMAGE_ID ($prefix/ami/latest)." >&2
fi
new_image="${IMAGE_ID:-${values[$image_parameter]:-}}"
if [[ $stack_exists == false && -n $new_image ]]; then
  [[ $new_image =~ ^ami-[0-9a-f]{8,17}$ ]] || die "the image '$new_image' is not an AMI id"
  managed_by="$(aws ec2 describe-images --image-ids "$new_image" --query "Images[0].Tags[?Key=='ManagedBy'].Value | [0]" --output text 2>/dev/null || true)"
  if [[ $managed_by != ecs-ami-pipeline ]]; then
    die "$new_image is not an image this pipeline baked (no ManagedBy=ecs-ami-pipeline tag, or not in this region): the stack's cfn-init runs /opt/ecs-ami-pipeline/firstrun.sh, which only a baked image has. Bake one first with: npx ami-pipeline run --stage $stage --dry-run"
  fi
fi

overrides=()
for key in "${keys[@]}"; do
  if [[ $key == "$image_parameter" ]]; then
    if [[ -n ${IMAGE_ID:-} ]]; then
      continue
    fi
    if [[ $stack_exists == true ]]; then
      echo "Keeping the image the stack runs ($image_parameter is the pipeline's once the stack exists; set IMAGE_ID to change it here)." >&2
      continue
    fi
  fi
  overrides+=("$key=${values[$key]}")
done
if [[ -n ${IMAGE_ID:-} ]]; then
  [[ $IMAGE_ID =~ ^ami-[0-9a-f]{8,17}$ ]] || die "IMAGE_ID '$IMAGE_ID' is not an AMI id"
  overrides+=("$image_parameter=$IMAGE_ID")
fi

role_option=()
if [[ -n ${CFN_ROLE_ARN:-} ]]; then
  [[ $CFN_ROLE_ARN =~ ^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+ ]] || die "CFN_ROLE_ARN '$CFN_ROLE_ARN' is not an IAM role ARN"
  role_option=(--role-arn "$CFN_ROLE_ARN")
fi

cd "$root"
echo "Deploying $template as stack $stack_name with cluster/params/$stage.cfg" >&2
aws cloudformation deploy \
  --template-file "$template" \
  --stack-name "$stack_name" \
  --parameter-overrides "${overrides[@]}" \
  --capabilities CAPABILITY_NAMED_IAM \
  --no-fail-on-empty-changeset \
  "${role_option[@]}"
