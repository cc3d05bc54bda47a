import { describe, expect, it } from '@jest/globals';
import { packFiles, reviveModes, unpackFiles } from './packages.ts';
import { ThreadPool } from './pool.ts';

const script = new URL('./testdata/echo-thread.ts', import.meta.url);

describe('ThreadPool', () => {
  it('runs tasks on its threads, spread over them, and returns each result to its caller', async () => {
    const pool = new ThreadPool<number | 'who', number>({ script, size: 2 });
    try {
      const [a, b] = await Promise.all([pool.run('who'), pool.run('who')]);
      expect(a).not.toBe(b);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run(i)));
      expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    } finally {
      await pool.close();
    }
  });

  it('rejects with what the handler threw, revived, and keeps serving', async () => {
    const pool = new ThreadPool<number | 'throw', number>({
      script,
      size: 1,
      reviveError: (e) => Object.assign(new Error((e as Error).message), { name: (e as Error).name }),
    });
    try {
      await expect(pool.run('throw')).rejects.toMatchObject({ name: 'RangeError', message: 'asked to throw' });
      await expect(pool.run(4)).resolves.toBe(8);
    } finally {
      await pool.close();
    }
  });

  it('a thread that dies fails its tasks, not the process, and is replaced for the next task', async () => {
    const pool = new ThreadPool<number | 'exit', number>({ script, size: 1 });
    try {
      await expect(pool.run('exit')).rejects.toThrow(/exited \(code 3\)/);
      await expect(pool.run(5)).resolves.toBe(10);
    } finally {
      await pool.close();
    }
  });

  it('close fails the tasks in flight and refuses new ones', async () => {
    const pool = new ThreadPool<number | 'hang', number>({ script, size: 1 });
    await pool.run(1);
    const hanging = pool.run('hang');
    await pool.close();
    await expect(hanging).rejects.toThrow(/exited/);
    await expect(pool.run(1)).rejects.toThrow(/closed/);
  });
});

describe('packages across threads', () => {
  it('packs files into one transferable buffer and unpacks them byte for byte, in order', () => {
    const slab = Buffer.from('xxKptfile-bytesyydeployment\u00e9\u0000zz');
    const files = new Map([
      ['Kptfile', slab.subarray(2, 15)],
      ['empty', Buffer.alloc(0)],
      ['sub/deployment.yaml', slab.subarray(17, 30)],
    ]);
    const packed = packFiles(files);
    expect(packed.bytes.byteLength).toBe(26);
    const back = unpackFiles(structuredClone(packed, { transfer: [packed.bytes] }));
    expect([...back.keys()]).toEqual(['Kptfile', 'empty', 'sub/deployment.yaml']);
    for (const [path, content] of files) {
      expect(Buffer.isBuffer(back.get(path))).toBe(true);
      expect(back.get(path)!.equals(content)).toBe(true);
    }
  });

  it('modes survive a structured clone with symlink targets as Buffers', () => {
    const modes = new Map([
      ['run.sh', { kind: 'executable' as const }],
      ['link', { kind: 'symlink' as const, target: Buffer.from([0x2e, 0x2e, 0xff]) }],
      ['sub', { kind: 'gitlink' as const, commit: 'a'.repeat(40) }],
    ]);
    const back = reviveModes(structuredClone(modes));
    expect(back).toEqual(modes);
    const link = back.get('link');
    expect(link?.kind === 'symlink' && Buffer.isBuffer(link.target)).toBe(true);
  });
});
