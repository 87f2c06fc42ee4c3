/**
 * The AWS calls each Lambda handler can make, found statically: every handler
 * (functions/<name>/handler.ts) is bundled by esbuild with tree shaking and the AWS SDK left
 * external, so the bundle keeps only the code the handler can reach; each `new XxxCommand(` left in
 * it, with Xxx imported from `@aws-sdk/client-<service>`, is a call `<service>:Xxx`.
 *
 * This over-approximates a little (a branch the handler never takes still counts) and never under-
 * approximates a direct call, which is what the unused-grant rule needs: a grant no reachable code
 * can use is reported (test/iam/unused-grants.test.ts). It does not replace the recorded calls of
 * the e2e scenarios, which are evaluated with their real resources (test/e2e/scenario.ts).
 *
 * esbuild runs as a child process: in jest's module sandbox its JS API trips over typed arrays.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** IAM prefix of an @aws-sdk/client-* package where it is not the package's own suffix. */
const CLIENT_PREFIX: Record<string, string> = { 'auto-scaling': 'autoscaling', sfn: 'states', 'cloudwatch-logs': 'logs', eventbridge: 'events' };

/** functions/<dir> -> Serverless function key (check-request -> checkRequest). */
export function functionKey(dir: string): string {
  return dir.replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase());
}

export function handlerDirs(root = ROOT): string[] {
  const dir = path.join(root, 'functions');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'lib' && existsSync(path.join(dir, d.name, 'handler.ts')))
    .map((d) => d.name)
    .sort();
}

/** `<service>:<Operation>` for every SDK command a bundle constructs. */
export function commandsInBundle(text: string): string[] {
  const local = new Map<string, string>();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*["']@aws-sdk\/client-([a-z0-9-]+)["']/g)) {
    const prefix = CLIENT_PREFIX[m[2]!] ?? m[2]!;
    for (const spec of m[1]!.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [imported, alias] = spec.split(/\s+as\s+/);
      const op = /^([A-Za-z0-9]+)Command$/.exec(imported!)?.[1];
      if (op) local.set(alias ?? imported!, `${prefix}:${op}`);
    }
  }
  const out = new Set<string>();
  for (const m of text.matchAll(/new\s+([A-Za-z_$][\w$]*)\s*\(/g)) {
    const action = local.get(m[1]!);
    if (action) out.add(action);
  }
  return [...out].sort();
}

/** What else a handler's calls make AWS check with its role, given how the pipeline uses them. */
export interface ImpliedAction {
  action: string;
  when: (bundle: string) => boolean;
  because: string;
}

/**
 * The requests resources.ts adds to a call (`via`), decided statically from the bundle: SSM checks
 * an aws:ec2:image value with the caller's ec2:DescribeImages; SNS uses the publisher's permissions
 * on the topic's KMS key (the ops topic is always encrypted with a customer managed key).
 */
export const IMPLIED: Record<string, ImpliedAction[]> = {
  'ssm:PutParameter': [
    { action: 'ec2:DescribeImages', when: (b) => /["'`]aws:ec2:image["'`]/.test(b), because: 'SSM validates an aws:ec2:image parameter with the caller’s ec2:DescribeImages' },
  ],
  'ec2:CopyImage': [
    { action: 'ec2:CreateTags', when: () => true, because: 'CopyImage tags the copy as it creates it (TagSpecifications, ec2:CreateAction)' },
    // EBS uses the caller's permissions on a customer managed key of the copy's region.
    ...['kms:DescribeKey', 'kms:CreateGrant', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:Decrypt'].map((action) => ({
      action,
      when: (b: string) => /KmsKeyId/.test(b),
      because: 'a copy encrypted under a customer managed key of its region (copyToRegions kmsKeyId)',
    })),
  ],
  'sns:Publish': [
    { action: 'kms:GenerateDataKey', when: () => true, because: 'the ops topic is KMS-encrypted (NotificationsKey)' },
    { action: 'kms:Decrypt', when: () => true, because: 'the ops topic is KMS-encrypted (NotificationsKey)' },
  ],
};

/** IAM actions per function key: the SDK commands its handler can reach, plus what they imply. */
export function handlerActions(root = ROOT): Record<string, string[]> {
  const dirs = handlerDirs(root);
  const out = mkdtempSync(path.join(tmpdir(), 'handler-actions-'));
  try {
    const result = spawnSync(
      path.join(root, 'node_modules', '.bin', 'esbuild'),
      [
        ...dirs.map((d) => `${d}=${path.join(root, 'functions', d, 'handler.ts')}`),
        '--bundle',
        '--format=esm',
        '--platform=node',
        '--target=node24',
        '--tree-shaking=true',
        // No comments (a comment mentioning aws:ec2:image is not a parameter of that type); names kept.
        '--minify-whitespace',
        '--log-level=error',
        // Only the SDK clients matter; everything else from node_modules is left out of the bundle.
        '--packages=external',
        `--outdir=${out}`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`esbuild failed:\n${result.stdout}\n${result.stderr}`);
    const actions: Record<string, string[]> = {};
    for (const dir of dirs) {
      const bundle = readFileSync(path.join(out, `${dir}.js`), 'utf8');
      const direct = commandsInBundle(bundle);
      const implied = direct.flatMap((a) => (IMPLIED[a] ?? []).filter((i) => i.when(bundle)).map((i) => i.action));
      actions[functionKey(dir)] = [...new Set([...direct, ...implied])].sort();
    }
    return actions;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
