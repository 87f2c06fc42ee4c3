/**
 * scripts/build.mjs reuses .build/functions only when it was bundled from exactly the same inputs:
 * run in a throwaway project with one small function, so the real bundles are never touched.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bundlerFiles from '../../scripts/bundler-files.json';

const ROOT = path.join(__dirname, '..', '..');
let project: string;

function build(): string {
  return execFileSync(process.execPath, [path.join(project, 'scripts', 'build.mjs')], { cwd: project, encoding: 'utf8' });
}

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), 'bundle-reuse-'));
  mkdirSync(path.join(project, 'scripts'));
  for (const file of bundlerFiles.files) cpSync(path.join(ROOT, file), path.join(project, file));
  cpSync(path.join(ROOT, 'package-lock.json'), path.join(project, 'package-lock.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  mkdirSync(path.join(project, 'functions', 'hello'), { recursive: true });
  mkdirSync(path.join(project, 'functions', 'lib'));
  writeFileSync(path.join(project, 'functions', 'lib', 'greeting.ts'), "export const greeting = 'hello';\n");
  writeFileSync(
    path.join(project, 'functions', 'hello', 'handler.ts'),
    "import { greeting } from '../lib/greeting';\nexport const handler = async () => greeting;\n",
  );
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

it('bundles, then reuses the bundles while nothing changed', () => {
  expect(build()).toMatch(/^bundled: 1 functions/);
  expect(build()).toMatch(/^up to date: 1 functions/);
});

it('bundles again when shared code changes, and the bundle has the change', () => {
  writeFileSync(path.join(project, 'functions', 'lib', 'greeting.ts'), "export const greeting = 'hello again';\n");
  expect(build()).toMatch(/^bundled: 1 functions/);
  expect(readFileSync(path.join(project, '.build', 'functions', 'hello', 'index.js'), 'utf8')).toContain('hello again');
});

it('bundles again when a bundle is missing or the locked dependencies change', () => {
  rmSync(path.join(project, '.build', 'functions', 'hello', 'index.js'));
  expect(build()).toMatch(/^bundled: 1 functions/);
  writeFileSync(path.join(project, 'package-lock.json'), `${readFileSync(path.join(project, 'package-lock.json'), 'utf8')}\n`);
  expect(build()).toMatch(/^bundled: 1 functions/);
  expect(build()).toMatch(/^up to date: 1 functions/);
});
