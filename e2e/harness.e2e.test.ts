// The test harness itself: the version it built, cleanup after stop(), and that its child processes
// die with their owner even when the owner is SIGKILLed.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VersionApi } from '@kubernetes/client-node';
import { startTestEnv } from './testenv/testenv.ts';
import { adminKubeConfig, eventually } from './helpers.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test harness', () => {
  it('runs the kube-apiserver version pinned in e2e/testenv/go.mod', async () => {
    const gomod = readFileSync(join(import.meta.dirname, 'testenv', 'go.mod'), 'utf8');
    const pinned = /^\s*k8s\.io\/kubernetes (v\S+)$/m.exec(gomod)?.[1];
    expect(pinned).toMatch(/^v1\.\d+\.\d+$/);
    const info = await adminKubeConfig().makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toBe(pinned);
  });

  it('stop() ends both processes and removes the temp dir', async () => {
    const env = await startTestEnv({ binDir: process.env.TESTENV_BIN_DIR });
    const owner = JSON.parse(readFileSync(join(env.dir, 'owner.json'), 'utf8')) as { pids: number[] };
    expect(owner.pids).toHaveLength(2);
    expect(owner.pids.every(alive)).toBe(true);
    await env.stop();
    expect(existsSync(env.dir)).toBe(false);
    expect(owner.pids.some(alive)).toBe(false);
    await env.stop(); // idempotent
  });

  it('kills a supervised process and removes its dir when the owner is SIGKILLed', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'pvc-harness-'));
    try {
      const owned = join(scratch, 'owned');
      const script = join(scratch, 'owner.ts');
      writeFileSync(
        script,
        [
          `import { mkdirSync, writeFileSync } from 'node:fs';`,
          `import { ManagedProcess } from ${JSON.stringify(join(import.meta.dirname, 'testenv', 'processes.ts'))};`,
          `mkdirSync(${JSON.stringify(owned)});`,
          `const p = new ManagedProcess('sleep', 'sleep', ['600'], ${JSON.stringify(join(scratch, 'sleep.log'))}, ${JSON.stringify(owned)});`,
          `p.start();`,
          `setTimeout(() => writeFileSync(${JSON.stringify(join(scratch, 'ready'))}, ''), 300);`,
          `setInterval(() => {}, 1000);`,
        ].join('\n'),
      );
      const owner = spawn(process.execPath, [script], { stdio: 'ignore' });
      await eventually(() => expect(existsSync(join(scratch, 'ready'))).toBe(true), 10_000);
      const sleeper = await eventually(() => {
        const pids = readFileSync(`/proc/${owner.pid}/task/${owner.pid}/children`, 'utf8').trim().split(/\s+/);
        const supervisor = Number(pids[0]);
        const children = readFileSync(`/proc/${supervisor}/task/${supervisor}/children`, 'utf8').trim().split(/\s+/);
        const pid = children.map(Number).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep'));
        expect(pid).toBeDefined();
        return pid as number;
      });
      owner.kill('SIGKILL');
      await eventually(() => expect(alive(sleeper)).toBe(false), 5000);
      await eventually(() => expect(existsSync(owned)).toBe(false), 5000);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
