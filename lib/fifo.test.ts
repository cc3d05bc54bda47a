import { describe, expect, it } from '@jest/globals';
import { Fifo } from './fifo.ts';

describe('Fifo', () => {
  it('hands items out in order through compactions, interleaved with pushes', () => {
    const fifo = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) fifo.push(next++);
      for (let i = 0; i < 200; i++) out.push(fifo.shift()!);
    }
    expect(fifo.length).toBe(next - out.length);
    expect(fifo.peek()).toBe(out.length);
    out.push(...fifo.drain());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.peek()).toBeUndefined();
  });

  it('keeps falsy items', () => {
    const fifo = new Fifo<number | null>();
    fifo.push(0);
    fifo.push(null);
    expect(fifo.shift()).toBe(0);
    expect(fifo.length).toBe(1);
    expect(fifo.shift()).toBeNull();
  });
});
