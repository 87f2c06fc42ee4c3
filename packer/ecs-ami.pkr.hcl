# The custom ECS container-instance AMI: the ECS-optimized Amazon Linux 2023 base plus a
# /data volume for Docker volumes, time and cloud-init settings, patched packages, the
# CloudWatch agent and the first-run script the cluster stack's cfn-init runs.

locals {
  ami_name = "${var.ami_name_prefix}-${formatdate("YYYYMMDDhhmmss", timestamp())}"

  # Only the device name is ours to choose. On Nitro instances the volume appears as an
  # NVMe disk; scripts/storage.sh maps this name to it (see docs/image.md).
  data_device_name = "/dev/xvdcy"
  # Root device of the ECS-optimized AL2023 AMIs. Mapping it here encrypts the root volume
  # at launch, which avoids the slow copy that encrypt_boot would add.
  root_device_name = "/dev/xvda"

  kms_key_id = var.kms_key_id == "" ? null : var.kms_key_id

  # Must stay the FIRSTRUN_PATH_IN_IMAGE of functions/lib/contracts/index.ts.
  firstrun_path = "/opt/ecs-ami-pipeline/firstrun.sh"

  # The keys are AMI_TAGS of functions/lib/contracts/index.ts; the retention and rollback logic
  # select images on ManagedBy. Docker, the ECS agent and the OS release are only known on the
  # build instance: packer/scripts/versions.sh records them and buildspec/tag-image-versions.sh
  # overwrites the three "pending" values on the AMI and its snapshots after the build.
  image_tags = {
    Name               = local.ami_name
    ManagedBy          = "ecs-ami-pipeline"
    SourceAmiId        = "{{ .SourceAMI }}"
    SourceAmiName      = "{{ .SourceAMIName }}"
    EcsAgentVersion    = "pending"
    DockerVersion      = "pending"
    OsRelease          = "pending"
    Timezone           = var.timezone
    BuildId            = var.build_id
    PipelineStage      = var.stage
    GitCommit          = var.git_commit
    PackerAssetsSha256 = var.packer_assets_sha256
  }

  # The base AMI enables ecs.service: with an instance profile that allows it, the build
  # instance would join the `default` cluster (creating it) while being baked. bootcmd runs in
  # cloud-init.service, before network-online.target and so before Docker and the agent can
  # start, whatever the vendor units' ordering. --runtime keeps the mask in /run, off the image
  # even if cleanup.sh never ran; cleanup.sh still unmasks it before it disables the agent,
  # because systemd skips a masked unit on disable and would leave it enabled in the image.
  build_user_data = <<-EOT
    #cloud-config
    bootcmd:
      - [systemctl, mask, --runtime, ecs.service]
  EOT

  # Provisioners run as ec2-user; `env` passes the provisioner's variables through sudo
  # whatever the sudoers env policy is.
  sudo_execute = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
}

source "amazon-ebs" "ecs" {
  region = var.region

  source_ami = var.source_ami == "" ? null : var.source_ami
  dynamic "source_ami_filter" {
    for_each = var.source_ami == "" ? ["newest"] : []
    content {
      # GPU and Neuron variants are named al2023-ami-ecs-gpu-* / -neuron-*, so they do not match.
      # Only a fallback: the newest by name is not always AWS's recommended image (AWS has
      # pulled releases), which is why the pipeline and make ami resolve source_ami from the
      # recommended parameter instead.
      filters = {
        name                = "al2023-ami-ecs-hvm-*-${var.architecture}"
        architecture        = var.architecture
        root-device-type    = "ebs"
        virtualization-type = "hvm"
      }
      owners      = ["amazon"]
      most_recent = true
    }
  }

  user_data = local.build_user_data

  instance_type        = var.instance_type
  iam_instance_profile = var.iam_instance_profile == "" ? null : var.iam_instance_profile
  subnet_id            = var.subnet_id == "" ? null : var.subnet_id
  vpc_id               = var.vpc_id == "" ? null : var.vpc_id
  # A private subnet must not hand out a public address; elsewhere the subnet decides.
  associate_public_ip_address = var.subnet_id == "" ? null : false
  # If Packer dies half-way, an OS-initiated shutdown removes the builder instead of leaving it.
  shutdown_behavior = "terminate"

  communicator  = "ssh"
  ssh_username  = "ec2-user"
  ssh_interface = var.ssh_interface
  ssh_timeout   = "10m"

  # SSH only from the builder's own public IP (or the CIDRs given for a private build),
  # never 0.0.0.0/0, which is Packer's default and the book's.
  temporary_security_group_source_public_ip = true
  temporary_security_group_source_cidrs     = var.temporary_security_group_source_cidrs

  # IMDSv2 only, on the build instance and (imds_support) on instances launched from the AMI.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  imds_support = "v2.0"

  ami_name        = local.ami_name
  ami_description = "ECS container instance (Amazon Linux 2023) baked by ecs-ami-pipeline, build ${var.build_id}"

  launch_block_device_mappings {
    device_name           = local.root_device_name
    volume_size           = var.root_volume_size_gb
    volume_type           = "gp3"
    encrypted             = true
    kms_key_id            = local.kms_key_id
    delete_on_termination = true
  }

  launch_block_device_mappings {
    device_name           = local.data_device_name
    volume_size           = var.data_volume_size_gb
    volume_type           = "gp3"
    encrypted             = true
    kms_key_id            = local.kms_key_id
    delete_on_termination = true
  }

  tags          = local.image_tags
  snapshot_tags = local.image_tags
  # BAKE_INSTANCE_TAGS of functions/lib/contracts/index.ts: retention terminates a build instance
  # a stopped or killed build left behind by these tags.
  run_tags = {
    Name          = "ecs-ami-pipeline-bake"
    ManagedBy     = "ecs-ami-pipeline"
    PipelineStage = var.stage
    BuildId       = var.build_id
    Purpose       = "ami-bake"
  }

  # Registering an AMI with two snapshots can outlast the SDK's default ten minutes.
  aws_polling {
    delay_seconds = 15
    max_attempts  = 160
  }
}

build {
  name    = "ecs-ami"
  sources = ["source.amazon-ebs.ecs"]

  # Storage first: later steps (and Docker) must already see /data.
  provisioner "shell" {
    script          = "${path.root}/scripts/storage.sh"
    execute_command = local.sudo_execute
    environment_vars = [
      "DATA_DEVICE_NAME=${local.data_device_name}",
      "DATA_LABEL=docker",
      "DATA_MOUNT_POINT=/data",
    ]
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/time.sh"
    execute_command  = local.sudo_execute
    environment_vars = ["TIMEZONE=${var.timezone}"]
  }

  provisioner "shell" {
    script          = "${path.root}/scripts/cloudinit.sh"
    execute_command = local.sudo_execute
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/packages.sh"
    execute_command  = local.sudo_execute
    environment_vars = ["OS_RELEASE_VERSION=${var.os_release_version}"]
  }

  provisioner "shell" {
    script          = "${path.root}/scripts/logging.sh"
    execute_command = local.sudo_execute
  }

  provisioner "file" {
    source      = "${path.root}/../files/firstrun.sh"
    destination = "/tmp/firstrun.sh"
  }

  # firstrun.sh hands the wait for the ECS agent and the cfn-signal to this script, outside
  # cloud-final (see docs/image.md, "Boot order").
  provisioner "file" {
    source      = "${path.root}/../files/await-registration.sh"
    destination = "/tmp/await-registration.sh"
  }

  provisioner "shell" {
    script          = "${path.root}/scripts/firstrun-install.sh"
    execute_command = local.sudo_execute
    environment_vars = [
      "FIRSTRUN_SOURCE=/tmp/firstrun.sh",
      "AWAIT_REGISTRATION_SOURCE=/tmp/await-registration.sh",
      "FIRSTRUN_PATH=${local.firstrun_path}",
    ]
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/versions.sh"
    execute_command  = local.sudo_execute
    environment_vars = ["IMAGE_VERSIONS_FILE=/tmp/image-versions.json"]
  }

  provisioner "file" {
    direction   = "download"
    source      = "/tmp/image-versions.json"
    destination = "${var.output_directory}/image-versions.json"
  }

  # Last, because it removes the authorized_keys Packer logged in with.
  provisioner "shell" {
    script          = "${path.root}/scripts/cleanup.sh"
    execute_command = local.sudo_execute
  }

  # The AMI id is read from this file (buildspec/read-manifest.sh), never from the log.
  post-processor "manifest" {
    output     = "${var.output_directory}/manifest.json"
    strip_path = true
    custom_data = {
      source_ami_id   = "${build.SourceAMI}"
      source_ami_name = "${build.SourceAMIName}"
      build_id        = var.build_id
    }
  }
}
