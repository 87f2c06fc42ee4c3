#!/usr/bin/env python3
"""Writes local/moto-amis.json, the AMI catalogue the project's moto_server starts with.

moto's EC2 loads every ECS-optimized AMI it knows (about 1,100 a region, each with a snapshot)
into every region it touches. The checks need only the images the recommended-AMI parameters
(amazon-linux-2023, x86_64 and arm64) name, plus moto's default Amazon images; with MOTO_AMIS_PATH
pointing at that short list, moto starts its EC2 regions and answers DescribeImages and
DescribeSnapshots several times faster. local/moto.ts checks at start that the catalogue still
holds the images this moto's parameters name, and starts moto without it when not.

Run it with the Python that runs moto_server, after upgrading moto:
  python3 scripts/moto-amis.py
"""
import json
import os
import re
import sys

try:
    import moto
    from moto.ssm.utils import convert_to_params
    from moto.utilities.utils import load_resource
except ImportError:
    sys.exit("moto is not importable from this python: run this with the python that runs moto_server")

RECOMMENDED = re.compile(r"/aws/service/ecs/optimized-ami/amazon-linux-2023/(arm64/)?recommended")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "local", "moto-amis.json")


def recommended_image_ids(region):
    ids = set()
    for param in convert_to_params(load_resource("moto.ssm.models", f"resources/ecs/optimized_amis/{region}.json")):
        if RECOMMENDED.fullmatch(param["Name"]):
            value = param["Value"]
            ids.add((json.loads(value) if isinstance(value, str) else value)["image_id"])
    return ids


def main():
    catalogue = list(load_resource("moto.ec2.models.amis", "../resources/amis.json"))
    seen = {ami["ami_id"] for ami in catalogue}
    ssm_dir = os.path.join(os.path.dirname(moto.__file__), "ssm", "resources", "ecs", "optimized_amis")
    regions = sorted(name[: -len(".json.gz")] for name in os.listdir(ssm_dir) if name.endswith(".json.gz"))
    for region in regions:
        wanted = recommended_image_ids(region)
        try:
            images = load_resource("moto.ec2.models.amis", f"../resources/ecs/optimized_amis/{region}.json")
        except FileNotFoundError:
            continue
        for ami in images:
            if ami["ami_id"] in wanted and ami["ami_id"] not in seen:
                catalogue.append(ami)
                seen.add(ami["ami_id"])
    with open(OUT, "w", encoding="utf-8") as f:
        # One image a line: a moto upgrade shows as a readable diff.
        f.write("[\n" + ",\n".join(json.dumps(ami, sort_keys=True) for ami in catalogue) + "\n]\n")
    print(f"{os.path.relpath(OUT)}: {len(catalogue)} images (moto {moto.__version__}, {len(regions)} regions)")


if __name__ == "__main__":
    main()
