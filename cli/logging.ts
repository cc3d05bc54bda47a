// `pvctl run`'s logger: pino, in one of two formats.
//
// * `json` (the default when stdout is not a terminal: a pod, a pipe, a file): one JSON object a
//   line with a string level and an ISO 8601 UTC timestamp, `{"level":"info","time":"2026-…Z",…}`,
//   what zap/klog users grep for and what log collectors parse without a pino-specific mapping.
// * `console` (the default on a terminal): one human line per entry, `06:11:43.123 INFO  message
//   key=value …`, the level coloured unless NO_COLOR is set, an error's stack indented below.
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { UsageError } from './output.ts';

export const LOG_FORMATS = ['json', 'console'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `--log-format`, or its default: console on a terminal, JSON otherwise. */
export function logFormatFrom(value: string | undefined, isTTY = Boolean(process.stdout.isTTY)): LogFormat {
  if (value === undefined || value === '') return isTTY ? 'console' : 'json';
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw new UsageError(`--log-format must be json or console, not ${JSON.stringify(value)}`);
}

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Where lines go (default stdout). */
  destination?: { write(line: string): unknown };
  /** Colour the console format's levels (default: the destination is a terminal and NO_COLOR is unset). */
  color?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const json = {
    name: 'pvctl',
    level: options.level,
    formatters: { level: (label: string) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.format === 'json') {
    return options.destination ? pino(json, destination as DestinationStream) : pino(json);
  }
  const color =
    options.color ??
    (Boolean((destination as { isTTY?: boolean }).isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb');
  // pino writes each entry as a JSON line to a synchronous stream: reformat it there.
  return pino(json, { write: (line: string) => destination.write(consoleLine(line, color)) });
}

const LEVEL_COLORS: Record<string, string> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[35m',
};
/** Keys every line carries, printed in the line's own places (or not at all: pid, hostname). */
const FIXED = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname']);

/** One JSON log line (as pino writes it) → a human line: `time LEVEL message key=value …`. */
export function consoleLine(line: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = String(entry.level ?? '') as Level;
  const time = typeof entry.time === 'string' ? entry.time.replace(/^.*T/, '').replace(/Z$/, '') : '';
  const label = level.toUpperCase().padEnd(5);
  const parts = [time, color && LEVEL_COLORS[level] ? `${LEVEL_COLORS[level]}${label}\x1b[0m` : label];
  if (entry.msg !== undefined) parts.push(String(entry.msg));
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (FIXED.has(key)) continue;
    if (isError(value)) {
      parts.push(`${key}=${quote(value.message)}`);
      if (value.stack) stacks.push(indent(value.stack));
    } else {
      parts.push(`${key}=${quote(value)}`);
    }
  }
  return `${[parts.join(' '), ...stacks].join('\n')}\n`;
}

function isError(value: unknown): value is { message: string; stack?: string } {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/** A value as the console shows it: bare when it has no spaces or quotes, else JSON. */
function quote(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

function indent(stack: string): string {
  return stack
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
