'use strict';
const { paramError } = require('./param-error');
// Resources that exist only when a stage param asks for them. The params are known when the
// template is packaged, so they are left out of the template instead of guarded by conditions.

async function value(resolveVariable, name) {
  const v = await resolveVariable(`param:${name}`);
  return v === undefined || v === null ? '' : String(v).trim();
}

async function buildNetwork(resolveVariable) {
  const vpcId = await value(resolveVariable, 'buildVpcId');
  const subnetId = await value(resolveVariable, 'buildSubnetId');
  if (Boolean(vpcId) !== Boolean(subnetId)) {
    throw paramError('serverless.yml params.<stage>.buildVpcId and buildSubnetId go together: set both (a private-subnet build) or neither');
  }
  if (vpcId && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) throw paramError(`params.<stage>.buildVpcId ${JSON.stringify(vpcId)} is not a VPC id`);
  if (subnetId && !/^subnet-[0-9a-f]{8,17}$/.test(subnetId)) throw paramError(`params.<stage>.buildSubnetId ${JSON.stringify(subnetId)} is not a subnet id`);
  return vpcId ? { vpcId, subnetId } : undefined;
}

module.exports = {
  bakeVpcConfig: async ({ resolveVariable }) => {
    const network = await buildNetwork(resolveVariable);
    if (!network) return { Ref: 'AWS::NoValue' };
    return { VpcId: network.vpcId, Subnets: [network.subnetId], SecurityGroupIds: [{ Ref: 'BuildSecurityGroup' }] };
  },
  resources: async ({ resolveVariable }) => {
    const resources = {};
    const network = await buildNetwork(resolveVariable);
    if (network) {
      // CodeBuild and the Packer instance talk over SSH inside the VPC; both reach AWS over HTTPS.
      resources.BuildSecurityGroup = {
        Type: 'AWS::EC2::SecurityGroup',
        Properties: {
          GroupDescription: 'ECS AMI pipeline CodeBuild project (outbound only)',
          VpcId: network.vpcId,
          SecurityGroupEgress: [
            { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0', Description: 'HTTPS to AWS APIs and the Packer download' },
            ...['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((cidr) => ({
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              CidrIp: cidr,
              Description: 'SSH to the Packer build instance in the VPC',
            })),
          ],
        },
      };
    }
    const email = await value(resolveVariable, 'opsEmail');
    if (email) {
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw paramError(`params.<stage>.opsEmail ${JSON.stringify(email)} is not an e-mail address`);
      resources.OpsEmailSubscription = {
        Type: 'AWS::SNS::Subscription',
        Properties: { TopicArn: { Ref: 'NotificationsTopic' }, Protocol: 'email', Endpoint: email },
      };
    }
    return { Resources: resources };
  },
};
