// `pvctl run`'s limits on what others send it: the cost and time of a PackageVariantSet template
// expression, and the webhook server's body size, connection cap and request timeout (see
// docs/limits.md). Unset flags keep the defaults.
import { DEFAULT_CEL_LIMITS, type CelLimits } from '../api/v1alpha1/cel-cost.ts';
import { DEFAULT_WEBHOOK_LIMITS, type WebhookLimits } from '../controllers/repositories/webhook.ts';
import { parseDuration } from './commands/run.ts';
import { UsageError } from './output.ts';

export interface RunLimitOptions {
  celCostLimit?: string;
  celTimeLimit?: string;
  webhookMaxBodyBytes?: string;
  webhookMaxConnections?: string;
  webhookRequestTimeout?: string;
}

export const RUN_LIMIT_OPTIONS = {
  celCostLimit: [
    '--cel-cost-limit <n>',
    `comprehension iterations one set template expression may take, estimated and counted (default ${DEFAULT_CEL_LIMITS.costLimit})`,
  ],
  celTimeLimit: [
    '--cel-time-limit <duration>',
    `CPU time one evaluation of a set template expression may take (default ${DEFAULT_CEL_LIMITS.timeLimitMs}ms)`,
  ],
  webhookMaxBodyBytes: [
    '--webhook-max-body-bytes <n>',
    `largest webhook body; a bigger one gets 413 and is not read on (default ${DEFAULT_WEBHOOK_LIMITS.maxBodyBytes})`,
  ],
  webhookMaxConnections: [
    '--webhook-max-connections <n>',
    `webhook connections open at once (default ${DEFAULT_WEBHOOK_LIMITS.maxConnections})`,
  ],
  webhookRequestTimeout: [
    '--webhook-request-timeout <duration>',
    `time a webhook request may take to arrive; its headers get at most ${DEFAULT_WEBHOOK_LIMITS.headersTimeoutMs / 1000}s (default ${DEFAULT_WEBHOOK_LIMITS.requestTimeoutMs / 1000}s)`,
  ],
} as const;

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag} must be a positive integer, not ${value}`);
  }
  return n;
}

function duration(value: string, flag: string): number {
  const ms = parseDuration(value);
  if (ms <= 0) throw new UsageError(`${flag} must be longer than 0, not ${value}`);
  return ms;
}

/** The Manager's `celLimits` and `webhookLimits`, present only when a flag was given. */
export function runLimitsFrom(options: RunLimitOptions): {
  celLimits?: CelLimits;
  webhookLimits?: Partial<WebhookLimits>;
} {
  const cel: Partial<CelLimits> = {};
  if (options.celCostLimit !== undefined) cel.costLimit = positive(options.celCostLimit, '--cel-cost-limit');
  if (options.celTimeLimit !== undefined) cel.timeLimitMs = duration(options.celTimeLimit, '--cel-time-limit');
  const webhook: Partial<WebhookLimits> = {};
  if (options.webhookMaxBodyBytes !== undefined) {
    webhook.maxBodyBytes = positive(options.webhookMaxBodyBytes, '--webhook-max-body-bytes');
  }
  if (options.webhookMaxConnections !== undefined) {
    webhook.maxConnections = positive(options.webhookMaxConnections, '--webhook-max-connections');
  }
  if (options.webhookRequestTimeout !== undefined) {
    webhook.requestTimeoutMs = duration(options.webhookRequestTimeout, '--webhook-request-timeout');
    webhook.headersTimeoutMs = Math.min(webhook.requestTimeoutMs, DEFAULT_WEBHOOK_LIMITS.headersTimeoutMs);
  }
  return {
    ...(Object.keys(cel).length ? { celLimits: { ...DEFAULT_CEL_LIMITS, ...cel } } : {}),
    ...(Object.keys(webhook).length ? { webhookLimits: webhook } : {}),
  };
}
