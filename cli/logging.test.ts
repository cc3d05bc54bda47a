// pvctl run's log formats: JSON lines with string levels and ISO timestamps, the console format,
// and the default chosen by whether stdout is a terminal (a real one: tmux).
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { consoleLine, createLogger, logFormatFrom } from './logging.ts';
import { UsageError } from './output.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => lines.push(line) } };
}

describe('pvctl run logs', () => {
  it('JSON: one object a line, "level":"info" and an ISO UTC "time", fields and errors kept', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', format: 'json', destination });
    const before = Date.now();
    logger.child({ controller: 'packagevariant' }).info({ key: 'ns/a', reconcileID: 'r-1' }, 'reconciled');
    logger.warn({ err: new Error('push refused') }, 'reconcile failed; retrying');
    logger.debug('not at info');
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({
      level: 'info',
      name: 'pvctl',
      controller: 'packagevariant',
      key: 'ns/a',
      reconcileID: 'r-1',
      msg: 'reconciled',
    });
    expect(first!.time).toMatch(ISO);
    expect(Date.parse(first!.time as string)).toBeGreaterThanOrEqual(before - 1);
    expect(lines[0]).toMatch(/^\{"level":"info","time":"20\d\d-[^"]+Z",/);
    expect(second).toMatchObject({ level: 'warn', err: { type: 'Error', message: 'push refused' } });
    expect((second!.err as { stack: string }).stack).toContain('logging.test.ts');
  });

  it('console: time, level, message and key=value fields, an error with its stack below', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'debug', format: 'console', destination, color: false });
    logger.child({ controller: 'packagevariant' }).info({ key: 'ns/a', durationMs: 12 }, 'reconciled');
    logger.warn({ err: new Error('push refused'), retryInMs: 500 }, 'reconcile failed; retrying');
    logger.debug({ addresses: [{ port: 8080 }], note: 'two words' }, 'listening');
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}reconciled controller=packagevariant key=ns\/a durationMs=12\n$/,
    );
    const [warn, ...stack] = lines[1]!.trimEnd().split('\n');
    expect(warn).toMatch(/^\S+ WARN {2}reconcile failed; retrying err="push refused" retryInMs=500$/);
    expect(stack[0]).toBe('    Error: push refused');
    expect(stack[1]).toMatch(/^ {4}\s*at /);
    expect(lines[2]).toMatch(/ DEBUG listening addresses=\[\{"port":8080\}\] note="two words"\n$/);
    expect(lines.join('')).not.toMatch(/"level"|pid=|hostname=/);
  });

  it('console: colours the level only when asked', () => {
    const line = JSON.stringify({ level: 'error', time: '2026-12-02T06:11:43.123Z', msg: 'boom' });
    expect(consoleLine(line, false)).toBe('06:11:43.123 ERROR boom\n');
    expect(consoleLine(line, true)).toBe('06:11:43.123 \x1b[31mERROR\x1b[0m boom\n');
    expect(consoleLine('not json', true)).toBe('not json\n');
  });

  it('--log-format: json or console; by default console on a terminal, json otherwise', () => {
    expect(logFormatFrom(undefined, true)).toBe('console');
    expect(logFormatFrom(undefined, false)).toBe('json');
    expect(logFormatFrom('json', true)).toBe('json');
    expect(logFormatFrom('console', false)).toBe('console');
    expect(() => logFormatFrom('pretty', true)).toThrow(UsageError);
    expect(() => logFormatFrom('pretty', true)).toThrow('--log-format must be json or console, not "pretty"');
  });
});

describe('pvctl run logs on a terminal (tmux) and piped', () => {
  const root = tempDir('pvctl-logging-');
  const socket = `pvctl-logging-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    removeDir(root);
  });
  // What runController does: the format from --log-format (none given here) and stdout.
  const script = join(root, 'log.ts');
  writeFileSync(
    script,
    `import { createLogger, logFormatFrom } from ${JSON.stringify(join(import.meta.dirname, 'logging.ts'))};\n` +
      `createLogger({ level: 'info', format: logFormatFrom(process.argv[2]) }).info({ key: 'ns/a' }, 'listening');\n`,
  );
  const node = (...args: string[]) => [process.execPath, '--disable-warning=ExperimentalWarning', script, ...args];

  it('a terminal gets the console format, with the level coloured', () => {
    const out = join(root, 'screen.txt');
    const command = `${node().join(' ')}; tmux -L ${socket} wait-for -S done; sleep 60`;
    tmux('new-session', '-d', '-x', '160', '-y', '20', '-s', 'l', '-e', 'NO_COLOR=', command);
    tmux('wait-for', 'done');
    // -e keeps the escape sequences: the colour is on the screen.
    writeFileSync(out, tmux('capture-pane', '-p', '-e', '-t', 'l'));
    const screen = readFileSync(out, 'utf8');
    // (tmux redraws the padding after the level as it likes: one or two spaces around the reset)
    // eslint-disable-next-line no-control-regex -- the colour's escape sequences are what is checked
    expect(screen).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \x1b\[32mINFO {0,2}\x1b\[(?:0|39)m {1,2}listening key=ns\/a/m);
    expect(screen).not.toContain('"level"');
  });

  it('a pipe gets JSON; --log-format console overrides it', () => {
    const piped = spawnSync(node()[0]!, node().slice(1), { encoding: 'utf8' });
    expect(JSON.parse(piped.stdout)).toMatchObject({ level: 'info', msg: 'listening', key: 'ns/a' });
    const forced = spawnSync(node()[0]!, node('console').slice(1), { encoding: 'utf8' });
    expect(forced.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening key=ns\/a\n$/);
  });
});
