// `pvctl run`: the controller against a cluster (kubeconfig or in-cluster config), with JSON logs,
// Prometheus metrics, health probes, the git push webhook and graceful shutdown on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { pino } from 'pino';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { Manager, type ListenAddress } from '../../controllers/manager.ts';
import { UsageError } from '../output.ts';

export interface RunOptions {
  kubeconfig?: string;
  namespace?: string;
  concurrency: string;
  setConcurrency: string;
  pollInterval: string;
  cacheDir?: string;
  healthProbeBindAddress: string;
  metricsBindAddress: string;
  webhookBindAddress: string;
  webhookSecretFile?: string;
  logLevel: string;
}

/** `90s`, `1m`, `1h30m`, `500ms` → milliseconds. */
export function parseDuration(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value) {
    throw new UsageError(`invalid duration ${JSON.stringify(value)} (use e.g. 30s, 1m, 1h30m)`);
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}

/** `:8081`, `0.0.0.0:8081`, `[::1]:8081`, `127.0.0.1:0`; empty or `0` disables. */
export function parseBindAddress(value: string, flag: string): ListenAddress | undefined {
  if (value === '' || value === '0') return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`${flag}: invalid address ${JSON.stringify(value)}`);
  const host = match[1] ?? match[2];
  return { port, ...(host ? { host } : {}) };
}

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, not ${value}`);
  return n;
}

export function managerOptionsFrom(options: RunOptions) {
  const concurrency = positiveInteger(options.concurrency, '--concurrency');
  const setConcurrency = positiveInteger(options.setConcurrency, '--set-concurrency');
  const webhookAddress = parseBindAddress(options.webhookBindAddress, '--webhook-bind-address');
  const secret =
    (options.webhookSecretFile
      ? readFileSync(options.webhookSecretFile, 'utf8')
      : process.env.PVC_WEBHOOK_SECRET
    )?.trim() || undefined;
  const probeAddress = parseBindAddress(options.healthProbeBindAddress, '--health-probe-bind-address');
  const metricsAddress = parseBindAddress(options.metricsBindAddress, '--metrics-bind-address');
  return {
    concurrency,
    setConcurrency,
    pollIntervalMs: parseDuration(options.pollInterval),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(probeAddress ? { probeAddress } : {}),
    ...(metricsAddress ? { metricsAddress } : {}),
    ...(webhookAddress && secret ? { webhookAddress, webhookSecret: secret } : {}),
  };
}

export async function runController(options: RunOptions): Promise<void> {
  const logger = pino({ name: 'pvctl', level: options.logLevel });
  const managerOptions = managerOptionsFrom(options);
  const kubeConfig = loadKubeConfig(
    options.kubeconfig ? { kind: 'file', path: options.kubeconfig } : { kind: 'default' },
  );
  if (!managerOptions.webhookSecret) {
    logger.info('no webhook secret (--webhook-secret-file or PVC_WEBHOOK_SECRET): webhook endpoint disabled');
  }
  const manager = new Manager({ kubeConfig, logger, ...managerOptions });
  let signals = 0;
  const done = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      logger.info({ signal }, 'signal received');
      void manager.stop().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await manager.start();
  logger.info({ addresses: manager.addresses() }, 'listening');
  await done;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the controller against a cluster')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)')
    .option('-n, --namespace <ns>', 'watch only this namespace (default: all namespaces)')
    .option('--concurrency <n>', 'PackageVariant reconciles at once', '8')
    .option('--set-concurrency <n>', 'PackageVariantSet reconciles at once', '2')
    .option('--poll-interval <duration>', 'git poll interval for upstream and downstream repositories', '1m')
    .option('--cache-dir <dir>', 'where bare git caches are kept (default ~/.cache/packagevariant-controller/git)')
    .option('--health-probe-bind-address <addr>', '/healthz and /readyz ("0" disables)', ':8081')
    .option('--metrics-bind-address <addr>', 'Prometheus /metrics ("0" disables)', ':8080')
    .option('--webhook-bind-address <addr>', 'git push webhook ("0" disables)', ':8082')
    .option('--webhook-secret-file <path>', 'shared secret of the webhook (default: env PVC_WEBHOOK_SECRET)')
    .option('--log-level <level>', 'trace, debug, info, warn or error', 'info')
    .action(async (options: RunOptions) => {
      await runController(options);
    });
}
