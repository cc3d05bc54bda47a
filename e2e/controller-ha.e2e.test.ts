// `pvctl run --leader-elect` as child processes against the real API server: of two replicas only
// the leader reconciles and a SIGKILLed leader is replaced within the lease duration; SIGTERM in the
// middle of a (slow) git push waits for it, leaves no partial state, releases the lease and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { blueprint } from '../controllers/testing/fixtures.ts';
import { adminClients, eventually } from './helpers.ts';
import { condition, useControllerEnv } from './packagevariant-env.ts';

const TIMEOUT_MS = 90_000;
const PVCTL = join(import.meta.dirname, '..', 'cli', 'pvctl.ts');
const LEASE = 'packagevariant-controller';
const LEASE_DURATION_MS = 3_000;
const RETRY_PERIOD_MS = 300;

interface Controller {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  logged(msg: string): boolean;
  identity(): Promise<string>;
  probeUrl(): Promise<string>;
  metricsUrl(): Promise<string>;
}

describe('pvctl run with leader election (child processes)', () => {
  const env = useControllerEnv();
  const children: ChildProcess[] = [];
  const cleanup = () => children.splice(0).forEach((c) => c.kill('SIGKILL'));

  function startController(name: string, extra: string[] = []): Controller {
    const child = spawn(
      process.execPath,
      [
        PVCTL,
        'run',
        '--kubeconfig',
        process.env.TESTENV_KUBECONFIG!,
        '--namespace',
        env.namespace(),
        '--poll-interval',
        '1h',
        '--cache-dir',
        join(env.root(), `cache-${name}`),
        '--health-probe-bind-address',
        '127.0.0.1:0',
        '--metrics-bind-address',
        '127.0.0.1:0',
        '--webhook-bind-address',
        '0',
        '--leader-elect',
        '--leader-election-namespace',
        env.namespace(),
        '--leader-election-lease-duration',
        `${LEASE_DURATION_MS / 1000}s`,
        '--leader-election-renew-deadline',
        '2s',
        '--leader-election-retry-period',
        `${RETRY_PERIOD_MS}ms`,
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const line = (msg: string) =>
      eventually(() => {
        const found = lines.find((l) => l.msg === msg);
        if (!found) throw new Error(`${name}: no "${msg}" yet`);
        return found;
      }, 20_000);
    return {
      child,
      lines,
      exited,
      logged: (msg) => lines.some((l) => l.msg === msg),
      identity: async () => (await line('waiting for leadership')).identity as string,
      // `addresses` lists the probe server, then the metrics server.
      probeUrl: async () => {
        const { addresses } = (await line('listening')) as { addresses: { port: number }[] };
        return `http://127.0.0.1:${addresses[0]!.port}`;
      },
      metricsUrl: async () => {
        const { addresses } = (await line('listening')) as { addresses: { port: number }[] };
        return `http://127.0.0.1:${addresses[1]!.port}/metrics`;
      },
    };
  }
  const holder = async () =>
    (await adminClients().coordination.readNamespacedLease({ namespace: env.namespace(), name: LEASE })).spec
      ?.holderIdentity;

  async function repositories() {
    const upstream = await env.repo('blueprints');
    const deploy = await env.repo('deploy');
    const v1 = await upstream.publish('nginx', blueprint('nginx'), 1);
    await env.createRepository('blueprints', upstream.url);
    await env.createRepository('deploy', deploy.url, true);
    return { upstream, deploy, v1 };
  }
  const variant = (name: string) =>
    env.createVariant(name, {
      upstream: { repo: 'blueprints', package: 'nginx' },
      downstream: { repo: 'deploy', package: name },
    });
  const ready = (name: string, timeoutMs = 30_000) =>
    env.waitFor(name, (pv) => condition(pv, 'Ready')?.status === 'True', timeoutMs);

  it(
    'reconciles on exactly one of two replicas; a SIGKILLed leader is replaced within the lease duration',
    async () => {
      try {
        const { deploy } = await repositories();
        const a = startController('a');
        const b = startController('b');
        const identities = new Map([
          [await a.identity(), a],
          [await b.identity(), b],
        ]);
        const leaderId = await eventually(async () => {
          const id = await holder();
          if (!id || !identities.has(id)) throw new Error(`lease holder ${id}`);
          return id;
        }, 20_000);
        const leader = identities.get(leaderId)!;
        const standby = leader === a ? b : a;
        // Both serve probes and are ready; only the leader started its controllers.
        for (const c of [a, b]) {
          const probe = await c.probeUrl();
          await eventually(async () => expect((await fetch(`${probe}/readyz`)).status).toBe(200));
        }
        await variant('east');
        await ready('east');
        expect(await deploy.refs('refs/heads/drafts')).toEqual(['refs/heads/drafts/east/packagevariant-1']);
        await eventually(() => expect(leader.logged('controller started')).toBe(true));
        expect(standby.logged('controller started')).toBe(false);
        // Every replica serves metrics; only the leader reports itself master.
        const masterStatus = async (c: Controller) =>
          /^leader_election_master_status\{name="([^"]+)"\} (\d+)$/m.exec(
            await (await fetch(await c.metricsUrl())).text(),
          );
        expect((await masterStatus(leader))?.slice(1)).toEqual([LEASE, '1']);
        expect((await masterStatus(standby))?.slice(1)).toEqual([LEASE, '0']);

        // The leader dies without releasing; the standby waits out the lease (our clock) and takes over.
        const killedAt = performance.now();
        leader.child.kill('SIGKILL');
        await leader.exited;
        const successor = await eventually(
          async () => {
            const id = await holder();
            if (id === leaderId) throw new Error('still the old holder');
            return id;
          },
          20_000,
          50,
        );
        const takeoverMs = performance.now() - killedAt;
        console.log(`leader SIGKILLed; standby took the lease after ${Math.round(takeoverMs)} ms`);
        expect(identities.get(successor!)).toBe(standby);
        // Not before the lease ran out on the standby's clock, and within it plus a few jittered retries.
        expect(takeoverMs).toBeGreaterThanOrEqual(LEASE_DURATION_MS - 2 * RETRY_PERIOD_MS);
        expect(takeoverMs).toBeLessThan(LEASE_DURATION_MS + 10 * RETRY_PERIOD_MS + 5_000);
        await eventually(() => expect(standby.logged('controller started')).toBe(true));
        await variant('west');
        await ready('west');
        // The new leader took the existing variant over without a second draft.
        expect(await deploy.refs('refs/heads/drafts')).toEqual([
          'refs/heads/drafts/east/packagevariant-1',
          'refs/heads/drafts/west/packagevariant-1',
        ]);

        standby.child.kill('SIGTERM');
        expect(await standby.exited).toBe(0);
        expect(await holder()).toBe('');
      } finally {
        cleanup();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'SIGTERM during a slow git push waits for it, leaves whole drafts, releases the lease and exits 0',
    async () => {
      try {
        const { deploy, v1 } = await repositories();
        // A slow remote: the deployment repository's pre-receive hook signals that a push has
        // started, then takes a few seconds before git updates the refs.
        const started = join(env.root(), 'push-started');
        const hook = join(deploy.bare, 'hooks', 'pre-receive');
        writeFileSync(hook, `#!/bin/sh\ncat >/dev/null\ntouch '${started}'\nsleep 3\n`);
        chmodSync(hook, 0o755);
        const controller = startController('slow', ['--graceful-shutdown-timeout', '20s']);
        await eventually(async () => expect(await holder()).toBe(await controller.identity()), 20_000);
        await Promise.all(['east', 'west', 'north'].map(variant));
        await eventually(() => expect(existsSync(started)).toBe(true), 30_000, 20);

        const termAt = performance.now();
        controller.child.kill('SIGTERM');
        expect(await controller.exited).toBe(0);
        console.log(`SIGTERM during a push: exited 0 after ${Math.round(performance.now() - termAt)} ms`);
        // The push in flight finished before the exit; whatever it carried is whole.
        const drafts = await deploy.refs('refs/heads/drafts');
        expect(drafts.length).toBeGreaterThan(0);
        for (const ref of drafts) {
          const pkg = ref.split('/')[3]!;
          expect(await deploy.show(ref, `${pkg}/Kptfile`)).toContain(`name: ${pkg}`);
          expect(await deploy.show(ref, `${pkg}/deployment.yaml`)).toContain('kind: Deployment');
        }
        expect(controller.logged('stopped')).toBe(true);
        expect(controller.logged('released the lease')).toBe(true);
        expect(await holder()).toBe('');

        // The next run (a fast remote) converges: every variant Ready, one draft each, none twice.
        rmSync(hook);
        const next = startController('next', ['--log-level', 'debug']);
        await eventually(
          () => {
            const done = new Set(next.lines.filter((l) => l.msg === 'reconcile finished').map((l) => l.key));
            expect([...done].sort()).toEqual(['east', 'north', 'west'].map((n) => `${env.namespace()}/${n}`));
          },
          30_000,
          50,
        );
        for (const name of ['east', 'west', 'north']) {
          const pv = await ready(name);
          expect(pv.status?.downstreamTargets).toEqual([
            expect.objectContaining({ lifecycle: 'Draft', ref: `drafts/${name}/packagevariant-1`, upstreamCommit: v1 }),
          ]);
        }
        expect(await deploy.refs('refs/heads/drafts')).toEqual([
          'refs/heads/drafts/east/packagevariant-1',
          'refs/heads/drafts/north/packagevariant-1',
          'refs/heads/drafts/west/packagevariant-1',
        ]);
        next.child.kill('SIGTERM');
        expect(await next.exited).toBe(0);
      } finally {
        cleanup();
      }
    },
    TIMEOUT_MS,
  );
});
