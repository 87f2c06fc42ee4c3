// CloudFormation YAML is read the same way by the harness and the tests.
export * from '../../local/cfn-yaml';
