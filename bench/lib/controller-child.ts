// The controller process of the controller-mode fleet benchmark (bench/fleet-controller.ts): the
// Manager exactly as `pvctl run` starts it (same flags, parsed by the same `managerOptionsFrom`),
// plus an IPC channel on which the benchmark asks for counters (API requests by verb, status
// writes, pushes, reconciles, git processes by command, CPU, peak RSS, event-loop delay). Started
// with `fork`, so its RSS and git processes are its own.
//
//   node bench/lib/controller-child.ts --kubeconfig F --namespace NS --poll-interval 2s
//     --concurrency 8 --cache-dir D --webhook-secret-file F [--log-level warn]
//     [--metrics-bind-address 127.0.0.1:0]   (default 0: no metrics server; the port is reported)
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { managerOptionsFrom } from '../../cli/commands/run.ts';
import { Manager } from '../../controllers/manager.ts';
import { gitProcessStats } from '../../lib/git/exec.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { childCpuSeconds, spawnHelperPeakRssMiB, statusKiB } from './stats.ts';

/** Counters of the controller process; the benchmark subtracts two of them. */
export interface ControllerStats {
  at: number;
  requests: Record<string, number>;
  statusWrites: number;
  pushes: number;
  reconciles: number;
  queueLength: number;
  inProgress: number;
  gitProcesses: number;
  byCommand: Record<string, { count: number; ms: number }>;
  /** CPU seconds of this process and of its ended git children. */
  cpu: { node: number; git: number };
  rssMiB: number;
  /** Peak RSS since the last `resetPeak` (VmHWM), and over the whole process life. */
  peakRssMiB: number;
  maxRssMiB: number;
  spawnHelperRssMiB: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

export type ChildRequest =
  | { type: 'stats' }
  | { type: 'resetPeak' }
  | { type: 'profileStart' }
  | { type: 'profileStop'; path: string }
  | { type: 'stop' };
export type ChildMessage =
  /** `metrics`: the port of `/metrics` when --metrics-bind-address serves it. */
  | { type: 'listening'; webhook: number; metrics?: number }
  | { type: 'stats'; stats: ControllerStats }
  | { type: 'profiled' }
  | { type: 'stopped' };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      'set-concurrency': { type: 'string', default: '2' },
      'poll-interval': { type: 'string', default: '1m' },
      'cache-dir': { type: 'string' },
      'webhook-secret-file': { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      'metrics-bind-address': { type: 'string', default: '0' },
    },
  });
  const logger = pino({ name: 'pvctl', level: values['log-level'] }, pino.destination(2));
  const options = managerOptionsFrom({
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.namespace ? { namespace: values.namespace } : {}),
    concurrency: values.concurrency,
    setConcurrency: values['set-concurrency'],
    pollInterval: values['poll-interval'],
    ...(values['cache-dir'] ? { cacheDir: values['cache-dir'] } : {}),
    healthProbeBindAddress: '0',
    metricsBindAddress: values['metrics-bind-address'],
    webhookBindAddress: '127.0.0.1:0',
    ...(values['webhook-secret-file'] ? { webhookSecretFile: values['webhook-secret-file'] } : {}),
    logLevel: values['log-level'],
  });
  const kubeConfig = loadKubeConfig({ kind: 'file', path: values.kubeconfig! });
  const manager = new Manager({ kubeConfig, logger, ...options });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let reconciles = 0;
  const countReconciles = () => {
    reconciles = 0;
    for (const n of manager.reconciles.values()) reconciles += n;
    return reconciles;
  };
  const stats = (): ControllerStats => {
    const cpu = process.cpuUsage();
    return {
      at: Date.now(),
      requests: { ...manager.store.requests },
      statusWrites: manager.store.statusWrites,
      pushes: manager.pushes.pushes,
      reconciles: countReconciles(),
      queueLength: manager.queue.length,
      inProgress: manager.queue.inProgress,
      gitProcesses: gitProcessStats.spawned,
      byCommand: structuredClone(gitProcessStats.byCommand),
      cpu: { node: (cpu.user + cpu.system) / 1e6, git: childCpuSeconds() },
      rssMiB: statusKiB('VmRSS') / 1024,
      peakRssMiB: statusKiB('VmHWM') / 1024,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      spawnHelperRssMiB: spawnHelperPeakRssMiB(),
      eventLoopDelayMs: {
        p50: delay.percentile(50) / 1e6,
        p99: delay.percentile(99) / 1e6,
        max: delay.max / 1e6,
      },
    };
  };
  const session = new Session();
  const send = (message: ChildMessage) => process.send!(message);
  process.on('message', (request: ChildRequest) => {
    if (request.type === 'stats') send({ type: 'stats', stats: stats() });
    else if (request.type === 'resetPeak') {
      // "5" resets the peak RSS (VmHWM) of this process (Linux ≥ 4.0); the event-loop histogram too.
      try {
        writeFileSync('/proc/self/clear_refs', '5');
      } catch {
        // not allowed here: the peak stays the process-life peak
      }
      delay.reset();
      send({ type: 'stats', stats: stats() });
    } else if (request.type === 'profileStart') {
      // A CPU profile of just the measured part (--cpu-prof would cover the whole process life).
      void (async () => {
        session.connect();
        await session.post('Profiler.setSamplingInterval', { interval: 500 });
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
        send({ type: 'profiled' });
      })();
    } else if (request.type === 'profileStop') {
      void (async () => {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(request.path, JSON.stringify(profile));
        session.disconnect();
        send({ type: 'profiled' });
      })();
    } else if (request.type === 'stop') {
      void manager.stop().then(() => process.send!({ type: 'stopped' }, () => process.exit(0)));
    }
  });
  process.on('SIGTERM', () => void manager.stop().then(() => process.exit(0)));
  await manager.start();
  const webhook = manager.addressOf('webhook')!.port;
  const metrics = manager.addressOf('metrics')?.port;
  send({ type: 'listening', webhook, ...(metrics ? { metrics } : {}) });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
