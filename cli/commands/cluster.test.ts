// `pvctl get` flags checked before any cluster is contacted.
import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../exit-codes.ts';
import { runGet } from './cluster.ts';

describe('pvctl get --outdated', () => {
  it('is a wrong command line for anything but pvar (exit 64, no cluster contacted)', async () => {
    const io = { out: () => {}, err: () => {}, now: () => 0 };
    for (const type of ['pvset', 'pvrepo']) {
      await expect(runGet(type, [], { outdated: true }, io)).rejects.toThrow(
        new UsageError('--outdated is for pvar only'),
      );
    }
  });
});
