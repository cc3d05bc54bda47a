import { describe, expect, it } from '@jest/globals';
import { createProgress, shouldWrite } from './progress.ts';

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, write: (t: string) => written.push(t), written };
}

describe('progress', () => {
  it('redraws one terminal line at most every 100 ms and leaves the final count', () => {
    let t = 0;
    const s = stream(true);
    const p = createProgress(s, 'reconciled', { now: () => t });
    p.update(1, 3);
    t = 50;
    p.update(2, 3); // too soon
    t = 250;
    p.update(3, 3);
    p.finish();
    expect(s.written).toEqual([
      '\r\x1b[Kreconciled 1/3 (0.0s)',
      '\r\x1b[Kreconciled 3/3 (0.3s)',
      '\r\x1b[Kreconciled 3/3 (0.3s)\n',
    ]);
  });

  it('writes a log line every 10 s and nothing for a short run', () => {
    let t = 0;
    const short = stream(false);
    const p = createProgress(short, 'reconciled', { now: () => t });
    p.update(1, 2);
    t = 900;
    p.update(2, 2);
    p.finish();
    expect(short.written).toEqual([]);

    t = 0;
    const long = stream(false);
    const q = createProgress(long, 'reconciled', { now: () => t });
    q.update(1, 100); // the first line comes after 10 s, not at once
    t = 10_000;
    q.update(40, 100);
    t = 15_000;
    q.update(60, 100);
    t = 20_500;
    q.update(100, 100);
    q.finish();
    expect(long.written).toEqual([
      'reconciled 40/100 (10.0s)\n',
      'reconciled 100/100 (20.5s)\n',
      'reconciled 100/100 (20.5s)\n',
    ]);
  });

  it('is silent when quiet (structured output) or with nothing to count', () => {
    const s = stream(true);
    const p = createProgress(s, 'reconciled', { quiet: true });
    p.update(1, 1);
    p.finish();
    const empty = stream(true);
    createProgress(empty, 'reconciled').finish();
    expect([...s.written, ...empty.written]).toEqual([]);
    expect(shouldWrite(false, 5, undefined, true)).toBe(false);
  });
});
