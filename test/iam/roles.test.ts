/**
 * Resolving a packaged template's roles: intrinsic functions in inline policies become the ARNs
 * AWS would see, and each Lambda function key maps to its role.
 */
import { evaluationContext, functionKeyOf, resolvePackagedIam, rolesByActor, type Template } from '../../local/iam/roles';

const A = '444455556666';
const R = 'eu-west-1';

const lambdaTrust = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

const TEMPLATE: Template = {
  Parameters: { Owner: { Type: 'String', Default: 'platform' } },
  Conditions: { HasKey: { 'Fn::Equals': ['yes', 'yes'] }, NoExtra: { 'Fn::Not': [{ Condition: 'HasKey' }] } },
  Resources: {
    ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket', Properties: {} },
    Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'svc-dev-ops', KmsMasterKeyId: { Ref: 'Key' } } },
    TopicPolicy: {
      Type: 'AWS::SNS::TopicPolicy',
      Properties: {
        Topics: [{ Ref: 'Topic' }],
        PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sns:Publish', Resource: { Ref: 'Topic' } }] },
      },
    },
    Key: {
      Type: 'AWS::KMS::Key',
      Condition: 'HasKey',
      Properties: {
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } }, Action: 'kms:*', Resource: '*' }],
        },
      },
    },
    Ledger: {
      Type: 'AWS::DynamoDB::Table',
      Properties: { TableName: { 'Fn::Sub': '${AWS::StackName}-ledger' }, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] },
    },
    Bake: { Type: 'AWS::CodeBuild::Project', Properties: { Name: 'svc-dev-bake' } },
    Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: 'svc-dev' } },
    DoThingLambdaFunction: {
      Type: 'AWS::Lambda::Function',
      Properties: { FunctionName: 'svc-dev-doThing', Role: { 'Fn::GetAtt': ['DoThingRole', 'Arn'] } },
    },
    DoThingRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: lambdaTrust,
        Policies: [
          {
            PolicyName: 'do-thing',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                { Sid: 'Sub', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/svc/${Owner}/*' } },
                { Sid: 'Bucket', Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${ServerlessDeploymentBucket}/assets/*' } },
                { Sid: 'Topic', Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: 'Topic' } },
                { Sid: 'Key', Effect: 'Allow', Action: ['kms:GenerateDataKey*'], Resource: { 'Fn::GetAtt': ['Key', 'Arn'] } },
                { Sid: 'Table', Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': ['Ledger', 'Arn'] } },
                { Sid: 'Build', Effect: 'Allow', Action: 'codebuild:StartBuild', Resource: { 'Fn::GetAtt': ['Bake', 'Arn'] } },
                { Sid: 'Machine', Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'Machine' } },
                {
                  Sid: 'Join',
                  Effect: 'Allow',
                  Action: 'lambda:InvokeFunction',
                  Resource: [{ 'Fn::GetAtt': ['DoThingLambdaFunction', 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DoThingLambdaFunction', 'Arn'] }, ':*']] }],
                },
                {
                  Sid: 'Conditional',
                  Effect: 'Allow',
                  Action: 'ec2:DescribeImages',
                  Resource: '*',
                  Condition: { StringEquals: { 'aws:RequestedRegion': { 'Fn::If': ['NoExtra', 'us-east-1', { Ref: 'AWS::Region' }] } } },
                },
                { Sid: 'NoValue', Effect: 'Allow', Action: 'ecs:ListClusters', Resource: ['*', { Ref: 'AWS::NoValue' }] },
              ],
            },
          },
        ],
      },
    },
    OtherRole: {
      Type: 'AWS::IAM::Role',
      Properties: { RoleName: 'named-role', Path: '/service/', AssumeRolePolicyDocument: { ...lambdaTrust, Statement: [{ ...lambdaTrust.Statement[0]!, Principal: { Service: ['states.amazonaws.com'] } }] }, Policies: [] },
    },
    SkippedRole: { Type: 'AWS::IAM::Role', Condition: 'NoExtra', Properties: { AssumeRolePolicyDocument: lambdaTrust } },
  },
  Outputs: { ServerlessDeploymentBucketName: { Value: { Ref: 'ServerlessDeploymentBucket' }, Export: { Name: 'sls-svc-dev-ServerlessDeploymentBucketName' } } },
};

describe('resolving a packaged template', () => {
  const iam = resolvePackagedIam(TEMPLATE, { account: A, region: R });
  const statements = iam.functionRoles.doThing!.policies[0]!.document.Statement;
  const resourceOf = (sid: string) => statements.find((s) => s.Sid === sid)!.Resource;

  it('takes the stack name from the serverless exports', () => {
    expect(iam.stackName).toBe('svc-dev');
  });

  it('maps each function key to the role its Role attribute names', () => {
    expect(Object.keys(iam.functionRoles)).toEqual(['doThing']);
    expect(iam.functionRoles.doThing!.logicalId).toBe('DoThingRole');
    expect(iam.functionRoles.doThing!.arn).toMatch(new RegExp(`^arn:aws:iam::${A}:role/svc-dev-DoThingRole-[A-Z0-9]{12}$`));
    expect(iam.functionRoles.doThing!.assumedBy).toEqual(['lambda.amazonaws.com']);
    expect(iam.functionArns.doThing).toBe(`arn:aws:lambda:${R}:${A}:function:svc-dev-doThing`);
  });

  it('resolves Fn::Sub with pseudo parameters and template parameters', () => {
    expect(resourceOf('Sub')).toBe(`arn:aws:ssm:${R}:${A}:parameter/svc/platform/*`);
  });

  it('resolves ${ServerlessDeploymentBucket} to a generated, valid bucket name', () => {
    expect(resourceOf('Bucket')).toMatch(/^arn:aws:s3:::svc-dev-serverlessdeploymentbucket-[a-z0-9]{12}\/assets\/\*$/);
  });

  it('resolves Ref and Fn::GetAtt of topics, keys, tables, projects, state machines and functions', () => {
    expect(resourceOf('Topic')).toBe(`arn:aws:sns:${R}:${A}:svc-dev-ops`);
    expect(resourceOf('Key')).toMatch(new RegExp(`^arn:aws:kms:${R}:${A}:key/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`));
    expect(resourceOf('Table')).toBe(`arn:aws:dynamodb:${R}:${A}:table/svc-dev-ledger`);
    expect(resourceOf('Build')).toBe(`arn:aws:codebuild:${R}:${A}:project/svc-dev-bake`);
    expect(resourceOf('Machine')).toBe(`arn:aws:states:${R}:${A}:stateMachine:svc-dev`);
    expect(resourceOf('Join')).toEqual([`arn:aws:lambda:${R}:${A}:function:svc-dev-doThing`, `arn:aws:lambda:${R}:${A}:function:svc-dev-doThing:*`]);
  });

  it('evaluates Fn::If with conditions and drops AWS::NoValue', () => {
    expect(statements.find((s) => s.Sid === 'Conditional')!.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': R } });
    expect(resourceOf('NoValue')).toEqual(['*']);
  });

  it('skips resources whose condition is false, and honours RoleName and Path', () => {
    expect(Object.keys(iam.roles).sort()).toEqual(['DoThingRole', 'OtherRole']);
    expect(iam.roles.OtherRole!.arn).toBe(`arn:aws:iam::${A}:role/service/named-role`);
    expect(iam.roles.OtherRole!.assumedBy).toEqual(['states.amazonaws.com']);
  });

  it('collects resource policies, the topic key and table keys', () => {
    const keyArn = resourceOf('Key') as string;
    expect(iam.topicKeys).toEqual({ [`arn:aws:sns:${R}:${A}:svc-dev-ops`]: keyArn });
    expect(iam.resourcePolicies[keyArn]!.Statement[0]!.Principal).toEqual({ AWS: `arn:aws:iam::${A}:root` });
    expect(iam.resourcePolicies[`arn:aws:sns:${R}:${A}:svc-dev-ops`]!.Statement[0]!.Resource).toBe(`arn:aws:sns:${R}:${A}:svc-dev-ops`);
    expect(iam.tableHashKeys).toEqual({ 'svc-dev-ledger': 'pk' });
  });

  it('is deterministic, and differs per account and region', () => {
    const again = resolvePackagedIam(TEMPLATE, { account: A, region: R });
    expect(again.functionRoles.doThing).toEqual(iam.functionRoles.doThing);
    const elsewhere = resolvePackagedIam(TEMPLATE, { account: '777788889999', region: 'us-west-2' });
    expect(elsewhere.functionRoles.doThing!.policies[0]!.document.Statement[0]!.Resource).toBe('arn:aws:ssm:us-west-2:777788889999:parameter/svc/platform/*');
  });

  it('gives evaluate.ts its roles by actor and context', () => {
    expect(Object.keys(rolesByActor(iam)).sort()).toEqual(['DoThingRole', 'OtherRole', 'doThing']);
    expect(evaluationContext(iam)).toMatchObject({ account: A, region: R, topicKeys: iam.topicKeys, functionArns: iam.functionArns });
  });

  it('refuses what it cannot resolve instead of guessing', () => {
    const bad: Template = {
      Resources: {
        Thing: { Type: 'AWS::Some::Unknown', Properties: {} },
        XRole: {
          Type: 'AWS::IAM::Role',
          Properties: { AssumeRolePolicyDocument: lambdaTrust, Policies: [{ PolicyName: 'p', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'x:Y', Resource: { 'Fn::GetAtt': ['Thing', 'Arn'] } }] } }] },
        },
      },
    };
    expect(() => resolvePackagedIam(bad, { account: A, region: R })).toThrow(/Fn::GetAtt Thing.Arn \(AWS::Some::Unknown\) is not modelled/);
  });
});

describe('function keys', () => {
  it('undo serverless logical id normalisation', () => {
    expect(functionKeyOf('CheckRequestLambdaFunction')).toBe('checkRequest');
    expect(functionKeyOf('MyDashfnLambdaFunction')).toBe('my-fn');
    expect(functionKeyOf('MyUnderscorefnLambdaFunction')).toBe('my_fn');
  });
});
