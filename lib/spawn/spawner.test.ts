// Processes spawned through the helper behave as directly spawned ones: their own stdio, exit
// codes and signals, spawn errors, kills, fd 3, and git's reads and writes; a helper that dies fails
// only the processes in flight, and the next spawn starts a new one.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { CatFileBatch } from '../git/cat-file.ts';
import { runGit } from '../git/exec.ts';
import { removeDir, tempDir } from '../git/testing/repos.ts';
import { writeCommits } from '../git/writer.ts';
import {
  setSpawnHelperMinRssMiB,
  spawnHelperPid,
  spawnProcess,
  stopSpawnHelper,
  type SpawnedProcess,
} from './spawner.ts';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

async function outcome(child: SpawnedProcess, input?: Buffer | string) {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.on('error', () => {});
  child.stdin.end(input ?? '');
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
}

describe('spawnProcess through the helper', () => {
  beforeAll(() => setSpawnHelperMinRssMiB(0));
  afterAll(() => {
    stopSpawnHelper();
    setSpawnHelperMinRssMiB(200);
  });

  it('gives the process its stdin, stdout and stderr, and reports its exit code', async () => {
    const input = Buffer.alloc(5 * 2 ** 20);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7) & 255;
    const cat = await outcome(spawnProcess('cat', [], { env }), input);
    expect(cat.code).toBe(0);
    expect(cat.stdout.equals(input)).toBe(true);
    expect(spawnHelperPid()).toBeGreaterThan(0);
    expect(spawnHelperPid()).not.toBe(process.pid);

    const failing = await outcome(spawnProcess('sh', ['-c', 'echo out; echo err >&2; exit 3'], { env }));
    expect(failing).toEqual({ code: 3, signal: null, stdout: Buffer.from('out\n'), stderr: 'err\n' });
  });

  it('keeps the streams of processes started at once apart', async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        outcome(spawnProcess('sh', ['-c', 'cat; echo "$0" >&2', `p${i}`], { env }), `in${i}`),
      ),
    );
    results.forEach((r, i) => {
      expect(r.stdout.toString()).toBe(`in${i}`);
      expect(r.stderr).toBe(`p${i}\n`);
    });
  });

  it('runs in the given directory with only the given environment', async () => {
    const dir = tempDir('pv-spawn-');
    try {
      const r = await outcome(
        spawnProcess('sh', ['-c', 'pwd; echo "${ONLY:-} ${HOME:-none}"'], { cwd: dir, env: { ...env, ONLY: 'x' } }),
      );
      expect(r.stdout.toString()).toBe(`${dir}\nx none\n`);
    } finally {
      removeDir(dir);
    }
  });

  it('reports a command that cannot start as an error, as spawn does', async () => {
    const child = spawnProcess('pv-no-such-command', [], { env });
    const [error] = (await once(child, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ENOENT');
  });

  it('kills a process, before and after its pid is known', async () => {
    const early = spawnProcess('sleep', ['30'], { env });
    early.kill('SIGKILL');
    expect((await outcome(early)).signal).toBe('SIGKILL');
    const late = spawnProcess('sleep', ['30'], { env });
    await once(late, 'spawn');
    expect(late.pid).toBeGreaterThan(0);
    late.kill('SIGTERM');
    expect((await outcome(late)).signal).toBe('SIGTERM');
  });

  it('gives extra pipes as file descriptors 3 and on, blocking as a pipe; closing ours is end of file there', async () => {
    const child = spawnProcess(
      'sh',
      ['-c', 'read -r a <&3; echo "got $a"; read -r b <&3; echo "got $b"; cat <&3; echo eof'],
      {
        env,
        extraPipes: 1,
      },
    );
    const fd3 = child.stdio[3]!;
    fd3.write('a\n');
    // The second line is sent only once the first was read: the child's read must wait for it.
    child.stdout.once('data', () => setTimeout(() => fd3.end('b\n'), 50));
    const r = await outcome(child);
    expect(r.stdout.toString()).toBe('got a\ngot b\neof\n');
  });

  it('runs git: commands, a fast-import and a cat-file batch', async () => {
    const dir = tempDir('pv-spawn-git-');
    try {
      await runGit(['init', '--bare', '-q', dir]);
      const identity = { name: 'T', email: 't@example.com' };
      const [commit] = await writeCommits(dir, [
        {
          parents: [],
          changes: [{ kind: 'file', path: 'a.txt', content: Buffer.from('bytes\n') }],
          message: 'one',
          author: identity,
          committer: identity,
        },
      ]);
      const reader = new CatFileBatch(dir);
      try {
        const object = await reader.read(`${commit}:a.txt`);
        expect(object?.content.toString()).toBe('bytes\n');
      } finally {
        reader.close();
      }
      const log = await runGit(['--git-dir', dir, 'log', '--format=%s', commit!]);
      expect(log.stdout.toString()).toBe('one\n');
    } finally {
      removeDir(dir);
    }
  });

  it('fails the processes in flight when the helper dies; the next spawn starts a new helper', async () => {
    const child = spawnProcess('sleep', ['30'], { env });
    await once(child, 'spawn');
    const first = spawnHelperPid()!;
    const failed = once(child, 'error');
    process.kill(first, 'SIGKILL');
    const [error] = (await failed) as [Error];
    expect(error.message).toMatch(/spawn helper/);
    process.kill(-child.pid!, 'SIGKILL'); // the orphan of the killed helper
    const r = await outcome(spawnProcess('echo', ['again'], { env }));
    expect(r.stdout.toString()).toBe('again\n');
    expect(spawnHelperPid()).not.toBe(first);
  });
});

describe('spawnProcess below the threshold', () => {
  it('spawns directly and starts no helper', async () => {
    stopSpawnHelper();
    setSpawnHelperMinRssMiB(1e9);
    try {
      const r = await outcome(spawnProcess('echo', ['direct'], { env }));
      expect(r.stdout.toString()).toBe('direct\n');
      expect(spawnHelperPid()).toBeUndefined();
    } finally {
      setSpawnHelperMinRssMiB(200);
    }
  });
});
