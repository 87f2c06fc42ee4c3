/**
 * Prints the figures the README quotes: each function's bundle size, its cold module-load time
 * (median of several fresh node processes), how many state transitions the success path of the
 * state machine costs, and the worst-case state size and history of a 200-cluster run, computed by
 * running the real definition with the real handlers against the model fleet. A measurement, not a
 * test: nothing here passes or fails on a number (the I5 tests hold the limits).
 * Usage: npx tsx scripts/measure.ts [--runs N]
 */
import '../test/support/setup';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { HISTORY_LIMIT_EVENTS, STATE_LIMIT_BYTES } from '../test/support/invariants';
import { ModelWorld, STACKS, WAVES } from '../test/support/model-world';
import { largestHistory, largestState } from '../test/support/scale';

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

/** Runs the real definition once in a fresh model world and returns its event counts. */
async function successfulRun(input: Record<string, unknown>) {
  const world = new ModelWorld();
  try {
    const run = await world.run(input, `measure-${Date.now()}`);
    if (run.status !== 'SUCCEEDED') throw new Error(`the success path did not succeed: ${JSON.stringify(run.error)}`);
    return { run, message: world.aws.published[0]?.message ?? '' };
  } finally {
    world.restore();
  }
}

async function main() {
  const build = await import('./build.mjs');
  const names = await build.bundleFunctions();
  console.log(`Functions (esbuild, minified, node24, AWS SDK bundled; load = median of ${runs} fresh processes on node ${process.version})`);
  console.log('function               bundle KiB  zipped KiB  cold load ms');
  for (const name of names) {
    const bundle = path.join(ROOT, '.build', 'functions', name, 'index.js');
    const size = statSync(bundle).size / 1024;
    const zipped = deflateRawSync(readFileSync(bundle), { level: 9 }).length / 1024;
    console.log(`${name.padEnd(22)} ${size.toFixed(0).padStart(10)}  ${zipped.toFixed(0).padStart(10)}  ${coldLoadMs(bundle).toFixed(0).padStart(12)}`);
  }

  const { run } = await successfulRun({ trigger: 'weekly' });
  const { run: oneWave } = await successfulRun({ trigger: 'manual', clusters: [STACKS[0]!] });
  const clusters = STACKS.length;
  const perCluster = (run.entered.length - run.path.length) / clusters;
  const perWave = (run.path.length - oneWave.path.length) / (WAVES.length - 1);
  console.log('');
  console.log(`State machine, success path (${WAVES.length} waves, ${clusters} clusters, no retries needed):`);
  console.log(`  state transitions: ${run.entered.length + run.retries} (${run.path.length} top-level, ${run.entered.length - run.path.length} in the per-cluster child executions)`);
  console.log(`  each extra cluster adds ${perCluster}, each extra wave ${perWave}; every poll that has to wait (stack still updating, registration pending) adds 1 retry`);

  console.log('');
  console.log('Worst case, 200 clusters in 4 waves of 50 (every cluster of a wave failing with 4 KiB CloudFormation reasons, every rollback failing,');
  console.log('every poll of a cluster at its Retry maximum; run with the real definition and handlers against the model fleet):');
  const state = await largestState();
  const history = await largestHistory();
  const events = Math.max(state.history.parent, history.history.parent, history.history.largestChild);
  console.log(`worst-case state size, 200 clusters: ${(state.maxStateBytes / 1024).toFixed(0)} KiB (limit ${STATE_LIMIT_BYTES / 1024})`);
  console.log(`worst-case history, 200 clusters: ${events} events (limit ${HISTORY_LIMIT_EVENTS})`);
  console.log(`  largest state: ${state.maxStateAt}; run history ${state.history.parent} events; largest cluster child execution ${history.history.largestChild} events (${history.retries} retries)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
