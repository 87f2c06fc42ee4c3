/**
 * local/state-machine.ts validates a definition once per exact content across processes: a marker
 * per digest. A definition that fails validation must never get one, or a later process would run it.
 */
import { readdirSync } from 'node:fs';
import { machineFor, TEST_NAMES, VALIDATED_DIR } from '../../local/state-machine';

const markers = (): string[] => {
  try {
    return readdirSync(VALIDATED_DIR);
  } catch {
    return [];
  }
};

it('fails an invalid definition every time, leaving no marker', () => {
  const invalid = { StartAt: 'Nowhere', States: { Somewhere: { Type: 'Succeed' } }, Comment: `invalid ${Date.now()}` };
  const before = markers();
  for (let i = 0; i < 2; i++) expect(() => machineFor({ ...TEST_NAMES }, invalid)).toThrow();
  expect(markers()).toEqual(before);
});

it('marks a valid definition once, and builds it again without a second marker', () => {
  const valid = { StartAt: 'Done', States: { Done: { Type: 'Succeed' } }, Comment: `valid ${Date.now()}-${process.pid}` };
  const before = markers();
  machineFor({ ...TEST_NAMES }, valid);
  const added = markers().filter((m) => !before.includes(m));
  expect(added).toHaveLength(1);
  machineFor({ ...TEST_NAMES }, valid);
  expect(markers().filter((m) => !before.includes(m))).toEqual(added);
});
