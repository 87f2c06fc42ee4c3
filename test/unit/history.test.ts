import { previousDistinctValue } from '../../functions/lib/decisions/history';

const A = 'ami-0aaaaaaaaaaaaaaaa';
const B = 'ami-0bbbbbbbbbbbbbbbb';
const C = 'ami-0cccccccccccccccc';

describe('previousDistinctValue', () => {
  it('is undefined without history or with a single value', () => {
    expect(previousDistinctValue([])).toBeUndefined();
    expect(previousDistinctValue([{ version: 1, value: A }])).toBeUndefined();
    expect(previousDistinctValue([{ version: 1, value: A }, { version: 2, value: A }])).toBeUndefined();
  });

  it('is the newest earlier version with another value', () => {
    expect(
      previousDistinctValue([
        { version: 1, value: A },
        { version: 2, value: B },
        { version: 3, value: C },
      ]),
    ).toEqual({ version: 2, value: B });
  });

  it('skips re-promotions of the current value', () => {
    expect(
      previousDistinctValue([
        { version: 1, value: A },
        { version: 2, value: B },
        { version: 3, value: C },
        { version: 4, value: C },
      ]),
    ).toEqual({ version: 2, value: B });
  });

  it('orders by version, not by the order given', () => {
    expect(
      previousDistinctValue([
        { version: 3, value: C },
        { version: 1, value: A },
        { version: 2, value: B },
      ])?.value,
    ).toBe(B);
  });

  it('does not reorder the caller\'s array', () => {
    const history = [{ version: 2, value: B }, { version: 1, value: A }];
    previousDistinctValue(history);
    expect(history.map((v) => v.version)).toEqual([2, 1]);
  });
});
