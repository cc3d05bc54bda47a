import { describe, expect, it } from '@jest/globals';
import { FileReceiver, FileSender, packFiles, reviveModes, unpackFiles } from './packages.ts';
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

  it('a task that cannot be sent fails alone; the thread keeps serving', async () => {
    const pool = new ThreadPool<unknown, number>({ script, size: 1 });
    try {
      await expect(pool.run({ f: () => 1 })).rejects.toThrow(/could not be cloned/);
      await expect(pool.run(3)).resolves.toBe(6);
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

  it('a file sent again is held by the thread and then sent by id: the thread sees the same Buffer', () => {
    const sender = new FileSender({ limitBytes: 1000 });
    const receiver = new FileReceiver();
    const shared = Buffer.from('kind: Deployment\n');
    const send = (files: Map<string, Buffer>) => {
      const packed = sender.pack(0, files);
      const forget = sender.evictions(0);
      const files2 = receiver.unpack(structuredClone(packed, { transfer: [packed.bytes] }));
      receiver.forget(forget);
      return { packed, files: files2 };
    };
    const first = send(
      new Map([
        ['a.yaml', shared],
        ['own.yaml', Buffer.from('x')],
      ]),
    );
    expect(first.packed.ids).toEqual([0, 0]); // seen once: not held
    const second = send(new Map([['a.yaml', shared]]));
    expect(second.packed.ids[0]).toBeGreaterThan(0);
    expect(second.packed.ends).toEqual([shared.length]);
    const third = send(new Map([['b/a.yaml', shared]]));
    expect(third.packed.ends).toEqual([-1]);
    expect(third.packed.bytes.byteLength).toBe(0);
    expect(third.files.get('b/a.yaml')).toBe(second.files.get('a.yaml'));
    expect(third.files.get('b/a.yaml')!.equals(shared)).toBe(true);
  });

  it('the sender evicts the least recently sent beyond its limit, the receiver forgets it, and a restarted thread holds nothing', () => {
    const sender = new FileSender({ limitBytes: 10 });
    const receiver = new FileReceiver();
    const a = Buffer.from('aaaaaa');
    const b = Buffer.from('bbbbbb');
    const send = (thread: number, files: Map<string, Buffer>) => {
      const packed = sender.pack(thread, files);
      const forget = sender.evictions(thread);
      const out = receiver.unpack(packed);
      receiver.forget(forget);
      return { packed, forget, out };
    };
    for (const buffer of [a, a, b]) send(0, new Map([['f', buffer]]));
    // b is seen once; now held too: 12 bytes > 10, so a (the older) goes.
    const { forget } = send(0, new Map([['f', b]]));
    expect(forget).toHaveLength(1);
    expect(send(0, new Map([['f', a]])).packed.ends).toEqual([6]); // a is sent as bytes again
    expect(send(0, new Map([['f', a]])).packed.ends).toEqual([-1]);
    sender.reset(0);
    expect(send(0, new Map([['f', a]])).packed.ends).toEqual([6]);
    expect(() => receiver.unpack({ paths: ['f'], ends: [-1], ids: [999], bytes: new ArrayBuffer(0) })).toThrow(
      /not held/,
    );
  });
});
