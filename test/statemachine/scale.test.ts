/**
 * I5 at scale: 200 clusters in one run (4 waves of 50) in the worst case, run with the real
 * definition and handlers against the model fleet (test/support/scale.ts; `make measure` prints the
 * same figures). The history of each cluster is its own child execution's, so the largest one is
 * measured on a cluster whose every poll runs to its Retry maximum.
 */
import { HISTORY_LIMIT_EVENTS, STATE_LIMIT_BYTES } from '../support/invariants';
import { largestHistory, largestState } from '../support/scale';

it('keeps every state of a 200-cluster run whose last wave fails everywhere, rollbacks included, under 256 KiB', async () => {
  const run = await largestState();
  expect(run.path).toContain('A cluster needs a person');
  expect(run.history.children).toBe(200);
  expect(run.maxStateBytes).toBeLessThan(STATE_LIMIT_BYTES);
  // Room to spare: the bound is a measurement, not a hope.
  expect(run.maxStateBytes).toBeLessThan(0.75 * STATE_LIMIT_BYTES);
}, 120_000);

it('keeps the run and every cluster child execution under 25,000 history events with every poll at its maximum', async () => {
  const run = await largestHistory();
  expect(run.retries).toBeGreaterThan(1900);
  expect(run.history.parent).toBeLessThan(HISTORY_LIMIT_EVENTS);
  expect(run.history.largestChild).toBeLessThan(HISTORY_LIMIT_EVENTS);
}, 120_000);
