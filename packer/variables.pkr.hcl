# Inputs of the ECS container-instance image. The CodeBuild buildspec fills them from
# environment variables (buildspec/packer-vars.sh); `make ami` does the same on a laptop.
# There is deliberately no variable for credentials: the amazon plugin takes them from the
# environment, the AWS profile or the CodeBuild role.

variable "region" {
  type        = string
  description = "AWS region to build in and register the AMI in."
  default     = env("AWS_REGION")

  # The regex is AWS_REGION_PATTERN of functions/lib/contracts/index.ts, character for character
  # (a test compares). Packer 1.6.6, used for the offline checks, has no regex function and only
  # checks the syntax; the pinned Packer (CodeBuild, make ami) evaluates it.
  validation {
    condition     = can(regex("^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$", var.region))
    error_message = "The region variable is empty or not an AWS region name such as us-east-1: set AWS_REGION or pass -var region=..."
  }
}

variable "architecture" {
  type        = string
  description = "Architecture of the base AMI: x86_64 or arm64. Only the source_ami_filter fallback reads it; the pipeline and make ami pass a source_ami resolved from AWS's recommended parameter for it. The build instance type must match it."
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "The architecture variable must be x86_64 or arm64."
  }
}

variable "source_ami" {
  type        = string
  description = "Base ECS-optimized Amazon Linux 2023 AMI. The pipeline and make ami pass the one AWS's recommended parameter names; empty selects the newest Amazon-owned ECS-optimized AL2023 AMI of var.architecture (a fallback that can differ from the recommended one)."
  default     = ""

  validation {
    condition     = var.source_ami == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.source_ami))
    error_message = "The source_ami variable must be empty or an AMI id (ami-...)."
  }
}

variable "instance_type" {
  type        = string
  description = "Instance type of the temporary build instance. A Nitro type, so the build meets NVMe device naming like the fleet does. Its architecture must match the base AMI."
  default     = "t3.medium"
}

variable "os_release_version" {
  type        = string
  description = "Amazon Linux release dnf upgrades the image to: latest, or a pinned release such as 2023.9.20251110 (dnf --releasever)."
  default     = "latest"

  validation {
    condition     = can(regex("^(latest|2023\\.[0-9]{1,3}\\.[0-9]{8})$", var.os_release_version))
    error_message = "The os_release_version variable must be latest or a release such as 2023.9.20251110."
  }
}

variable "timezone" {
  type        = string
  description = "IANA time zone of the image (for example Europe/Berlin)."
  default     = "UTC"

  validation {
    condition     = can(regex("^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$", var.timezone))
    error_message = "The timezone variable must be an IANA zone name such as UTC or America/New_York."
  }
}

variable "data_volume_size_gb" {
  type        = number
  description = "Size in GiB of the second EBS volume mounted at /data for Docker volumes."
  default     = 20

  validation {
    condition     = var.data_volume_size_gb >= 1 && var.data_volume_size_gb <= 16384
    error_message = "The data_volume_size_gb variable must be between 1 and 16384."
  }
}

variable "root_volume_size_gb" {
  type        = number
  description = "Size in GiB of the root volume; must not be smaller than the base AMI's root snapshot (30 GiB for the ECS-optimized AL2023 AMI)."
  default     = 30
}

variable "ami_name_prefix" {
  type        = string
  description = "Prefix of the AMI name; a UTC timestamp is appended."
  default     = "ecs-ami-pipeline"

  validation {
    condition     = can(regex("^[A-Za-z0-9()./_-]{3,100}$", var.ami_name_prefix))
    error_message = "The ami_name_prefix variable may only hold letters, digits and ( ) . / _ - (3 to 100 characters)."
  }
}

variable "subnet_id" {
  type        = string
  description = "Optional subnet for the build instance (a private subnet needs ssh_interface = private_ip and a route from the builder). Empty = the default VPC."
  default     = ""
}

variable "vpc_id" {
  type        = string
  description = "Optional VPC of subnet_id, for the temporary security group. Empty = derived from the subnet."
  default     = ""
}

variable "kms_key_id" {
  type        = string
  description = "Optional customer managed KMS key (id, ARN or alias/...) for the root and data volumes and so the AMI's snapshots. Empty = the account's AWS managed EBS key."
  default     = ""
}

variable "ssh_interface" {
  type        = string
  description = "How Packer reaches the build instance: public_ip (default VPC), private_ip (builder in the same VPC) or session_manager (needs iam_instance_profile and the Session Manager plugin)."
  default     = "public_ip"

  validation {
    condition     = contains(["public_ip", "private_ip", "session_manager"], var.ssh_interface)
    error_message = "The ssh_interface variable must be public_ip, private_ip or session_manager."
  }
}

variable "temporary_security_group_source_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach SSH on the build instance. Empty = only the builder's own public IP. Never the whole internet."
  default     = []

  validation {
    condition     = length([for cidr in var.temporary_security_group_source_cidrs : cidr if contains(["0.0.0.0/0", "::/0"], cidr)]) == 0
    error_message = "Opening SSH on the build instance to the whole internet is not allowed."
  }
}

variable "iam_instance_profile" {
  type        = string
  description = "Optional instance profile for the build instance (needed for session_manager). Empty = none. Either way the build's user data masks the base image's ECS agent, so the build instance joins no cluster."
  default     = ""
}

variable "build_id" {
  type        = string
  description = "The pipeline run that asked for the image (Step Functions execution name), or manual-... from a laptop. Tagged as BuildId."
  default     = "manual"
}

variable "stage" {
  type        = string
  description = "The pipeline deployment stage baking the image, or laptop for make ami. Tagged as PipelineStage; retention deletes only images of its own stage."
  default     = "laptop"

  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,32}$", var.stage))
    error_message = "The stage variable must be 1 to 32 letters, digits or hyphens (a serverless stage name)."
  }
}

variable "git_commit" {
  type        = string
  description = "Commit of this repository the image was baked from. Tagged as GitCommit."
  default     = "unknown"
}

variable "packer_assets_sha256" {
  type        = string
  description = "SHA-256 of packer/, files/ and buildspec/ the image was baked from. Tagged as PackerAssetsSha256."
  default     = "unknown"
}

variable "output_directory" {
  type        = string
  description = "Local directory (relative to where packer runs) for manifest.json and image-versions.json."
  default     = ".build/packer"
}
