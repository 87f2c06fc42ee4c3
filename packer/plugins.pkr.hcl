# Kept in its own file: the Debian Packer 1.6.6 used for offline checks rejects this block,
# so scripts/check-packer.sh validates the template without it. CodeBuild runs the pinned
# Packer from buildspec/install-packer.sh, whose `packer init` reads this file.
packer {
  required_version = ">= 1.11.0, < 2.0.0"

  required_plugins {
    amazon = {
      # Pinned: a plugin release can change builder defaults. Bump deliberately.
      version = "= 1.8.2"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
