/**
 * Prints the figures the README quotes: each function's bundle size, its cold module-load time
 * (median of several fresh node processes), and how many state transitions the success path of
 * the state machine costs. A measurement, not a test: nothing here passes or fails on a number.
 * Usage: npx tsx scripts/measure.ts [--runs N]
 */
import '../test/support/setup';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { runPipeline } from '../local/state-machine';
import { STACKS, WAVES, configureEnvironment, createAws, scenario } from '../test/support/pipeline-world';

const ROOT = path.join(__dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function coldLoadMs(bundle: string): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const out = spawnSync(
      process.execPath,
      ['-e', `const t=process.hrtime.bigint();require(${JSON.stringify(bundle)});console.log(Number(process.hrtime.bigint()-t)/1e6)`],
      { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1' } },
    );
    if (out.status !== 0) throw new Error(`loading ${bundle} failed: ${out.stderr}`);
    samples.push(Number(out.stdout.trim()));
  }
  return median(samples);
}

/** Runs the real definition once in a fresh in-memory world and returns its event counts. */
async function successfulRun(input: Record<string, unknown>) {
  const aws = createAws();
  try {
    const run = await runPipeline(input, scenario(aws).handlers);
    if (run.status !== 'SUCCEEDED') throw new Error(`the success path did not succeed: ${JSON.stringify(run.error)}`);
    return run;
  } finally {
    aws.restore();
  }
}

async function main() {
  const build = await import('./build.mjs');
  const names = await build.bundleFunctions();
  console.log(`Functions (esbuild, minified, node22, AWS SDK bundled; load = median of ${runs} fresh processes on node ${process.version})`);
  console.log('function               bundle KiB  zipped KiB  cold load ms');
  for (const name of names) {
    const bundle = path.join(ROOT, '.build', 'functions', name, 'index.js');
    const size = statSync(bundle).size / 1024;
    const zipped = deflateRawSync(readFileSync(bundle), { level: 9 }).length / 1024;
    console.log(`${name.padEnd(22)} ${size.toFixed(0).padStart(10)}  ${zipped.toFixed(0).padStart(10)}  ${coldLoadMs(bundle).toFixed(0).padStart(12)}`);
  }

  configureEnvironment();
  const run = await successfulRun({ trigger: 'weekly' });
  const oneWave = await successfulRun({ trigger: 'weekly', clusters: [STACKS[0]!] });
  const clusters = STACKS.length;
  const perCluster = (run.entered.length - run.path.length) / clusters;
  const perWave = (run.path.length - oneWave.path.length) / (WAVES.length - 1);
  console.log('');
  console.log(`State machine, success path (${WAVES.length} waves, ${clusters} clusters, no retries needed):`);
  console.log(`  state transitions: ${run.entered.length + run.retries} (${run.path.length} top-level, ${run.entered.length - run.path.length} in the per-cluster branches)`);
  console.log(`  each extra cluster adds ${perCluster}, each extra wave ${perWave}; every poll that has to wait (stack still updating, registration pending) adds 1 retry`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
