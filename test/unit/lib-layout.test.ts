/**
 * functions/lib is grouped by concern, and the grouping is a rule, not a habit: decisions and
 * contracts make no AWS call (no value import of an SDK client package, nothing from aws/), so they
 * are tested without mocks; the AWS adapters live in aws/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const LIB = path.join(__dirname, '..', '..', 'functions', 'lib');
const GROUPS = ['aws', 'contracts', 'decisions'];

function modules(group: string): string[] {
  return readdirSync(path.join(LIB, group)).filter((f) => f.endsWith('.ts'));
}

/** Module specifiers a file imports for their values (type-only imports are erased). */
function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^import\s+(?!type\s)([\s\S]*?)\s+from\s+'([^']+)'/gm)]
    .filter(([, clause]) => {
      const named = /^\{([^}]*)\}$/.exec(clause!.trim());
      // `import { type A, B }` imports B's value; `import { type A }` only a type.
      return !named || named[1]!.split(',').map((n) => n.trim()).some((n) => n !== '' && !/^type\s/.test(n));
    })
    .map(([, , spec]) => spec!);
}

it('has only the three groups and the handler shell (with how its stack traces read) at its top', () => {
  const entries = readdirSync(LIB, { withFileTypes: true });
  expect(entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()).toEqual(GROUPS);
  expect(entries.filter((e) => e.isFile()).map((e) => e.name).sort()).toEqual(['handler.ts', 'source-mapped-stacks.ts']);
});

describe.each(['contracts', 'decisions'])('%s/', (group) => {
  it.each(modules(group))('%s makes no AWS call: no SDK client and nothing from aws/', (file) => {
    const imports = valueImports(path.join(LIB, group, file));
    expect(imports.filter((spec) => spec.startsWith('@aws-sdk/') || spec.startsWith('../aws'))).toEqual([]);
  });
});

it('catches a value import of an SDK client (the rule can fail)', () => {
  const tmp = path.join(require('node:os').tmpdir(), `layout-${process.pid}.ts`);
  require('node:fs').writeFileSync(
    tmp,
    "import type { Image } from '@aws-sdk/client-ec2';\nimport { type EC2Client, DescribeImagesCommand } from '@aws-sdk/client-ec2';\nimport { x } from '../aws/y';\n",
  );
  expect(valueImports(tmp)).toEqual(['@aws-sdk/client-ec2', '../aws/y']);
});
