import { describe, expect, it } from '@jest/globals';
import { getCondition, isConditionTrue, rfc3339Now, setCondition } from './conditions.ts';

const t1 = '2026-01-01T00:00:00Z';
const t2 = '2026-01-02T00:00:00Z';

describe('setCondition', () => {
  it('adds a condition with the transition time and generation', () => {
    const conditions = setCondition([], { type: 'Ready', status: 'True', reason: 'NoErrors', message: 'ok' }, 3, t1);
    expect(conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'NoErrors',
        message: 'ok',
        observedGeneration: 3,
        lastTransitionTime: t1,
      },
    ]);
  });

  it('keeps the transition time while the status holds, moves it when the status flips', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Error', message: 'a' }, 1, t1);
    const same = setCondition(first, { type: 'Ready', status: 'False', reason: 'Error', message: 'b' }, 2, t2);
    expect(getCondition(same, 'Ready')).toMatchObject({ message: 'b', observedGeneration: 2, lastTransitionTime: t1 });
    const flipped = setCondition(same, { type: 'Ready', status: 'True', reason: 'NoErrors', message: 'ok' }, 2, t2);
    expect(getCondition(flipped, 'Ready')?.lastTransitionTime).toBe(t2);
    expect(isConditionTrue(flipped, 'Ready')).toBe(true);
  });

  it('keeps other conditions, sorted by type', () => {
    const a = setCondition([], { type: 'Stalled', status: 'False', reason: 'Valid', message: '' }, 1, t1);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'NoErrors', message: '' }, 1, t1);
    expect(b.map((c) => c.type)).toEqual(['Ready', 'Stalled']);
    expect(a).toHaveLength(1); // not mutated
  });

  it('formats timestamps with seconds precision', () => {
    expect(rfc3339Now(new Date('2026-03-04T05:06:07.891Z'))).toBe('2026-03-04T05:06:07Z');
  });
});
