import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';

/**
 * Reads a CloudFormation YAML template into the plain JSON form CloudFormation itself works with:
 * `!Ref X` becomes `{ Ref: 'X' }`, `!GetAtt A.B` becomes `{ 'Fn::GetAtt': ['A', 'B'] }`, and every
 * other short-form intrinsic becomes its `Fn::` long form. A plain YAML parser rejects the short
 * forms (or silently drops the tag), so tests that inspect a template, or hand its JSON to the
 * emulator, go through this loader.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Metadata?: Record<string, Json>;
  Parameters?: Record<string, CfnParameter>;
  Rules?: Record<string, Json>;
  Mappings?: Record<string, Json>;
  Conditions?: Record<string, Json>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: Json; Description?: string; Export?: Json; Condition?: string }>;
}

export interface CfnParameter {
  Type: string;
  Default?: string | number;
  Description?: string;
  AllowedValues?: (string | number)[];
  AllowedPattern?: string;
  MinValue?: number;
  MaxValue?: number;
  ConstraintDescription?: string;
  NoEcho?: boolean;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, Json>;
  DependsOn?: string | string[];
  Condition?: string;
  CreationPolicy?: Record<string, Json>;
  UpdatePolicy?: Record<string, Json>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

/** Short-form intrinsics whose long form is `Fn::<name>`, keyed by the YAML tag name. */
const FN_TAGS = [
  'And',
  'Base64',
  'Cidr',
  'Contains',
  'EachMemberEquals',
  'EachMemberIn',
  'Equals',
  'FindInMap',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Length',
  'Not',
  'Or',
  'RefAll',
  'Select',
  'Split',
  'Sub',
  'ToJsonString',
  'Transform',
  'ValueOf',
] as const;

function wrap(key: string, value: unknown): unknown {
  return { [key]: value };
}

function tagsFor(tagName: string, key: string, scalar: (s: string) => unknown = (s) => s): Tags {
  return [
    { tag: `!${tagName}`, resolve: (s: string) => wrap(key, scalar(s)) },
    { tag: `!${tagName}`, collection: 'seq', resolve: (seq) => wrap(key, seq.toJSON()) },
    { tag: `!${tagName}`, collection: 'map', resolve: (map) => wrap(key, map.toJSON()) },
  ];
}

/** `!GetAtt Resource.Attribute` splits at the first dot only: attribute names can contain dots. */
function splitGetAtt(s: string): string[] {
  const dot = s.indexOf('.');
  if (dot <= 0) throw new Error(`!GetAtt needs Resource.Attribute, got "${s}"`);
  return [s.slice(0, dot), s.slice(dot + 1)];
}

export const CFN_TAGS: Tags = [
  ...tagsFor('Ref', 'Ref'),
  ...tagsFor('Condition', 'Condition'),
  ...tagsFor('GetAtt', 'Fn::GetAtt', splitGetAtt),
  ...FN_TAGS.flatMap((name) => tagsFor(name, `Fn::${name}`)),
];

export function parseCfnYaml(text: string): CfnTemplate {
  const parsed = parse(text, { customTags: CFN_TAGS, prettyErrors: true, strict: true, uniqueKeys: true });
  if (parsed === null || typeof parsed !== 'object' || !('Resources' in parsed)) {
    throw new Error('not a CloudFormation template: it has no Resources section');
  }
  return parsed as CfnTemplate;
}

export function loadCfnYaml(path: string): CfnTemplate {
  return parseCfnYaml(readFileSync(path, 'utf8'));
}

/** Every value anywhere under `root` (depth first), with the path of keys that leads to it. */
export function* walk(root: unknown, path: string[] = []): Generator<{ path: string[]; value: unknown }> {
  yield { path, value: root };
  if (Array.isArray(root)) {
    for (const [i, item] of root.entries()) yield* walk(item, [...path, String(i)]);
  } else if (root !== null && typeof root === 'object') {
    for (const [k, v] of Object.entries(root)) yield* walk(v, [...path, k]);
  }
}
