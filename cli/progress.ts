// Progress of a long command on stderr: on a terminal one line rewritten in place (at most 10
// times a second, left showing the final count); otherwise a plain line every 10 seconds, so
// that CI logs show the run is alive without filling up. Structured output (-o json|yaml) gets none.

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** When to write (pure; times in ms since the start): a terminal every 100 ms, a log every 10 s. */
export function shouldWrite(tty: boolean, elapsed: number, last: number | undefined, final: boolean): boolean {
  if (final) return tty || last !== undefined;
  return elapsed - (last ?? (tty ? -Infinity : 0)) >= (tty ? 100 : 10_000);
}

export interface Progress {
  update(done: number, total: number): void;
  /** The final count (a terminal keeps it on its line; a log gets it if it got any line). */
  finish(): void;
}

export function progressLine(what: string, done: number, total: number, seconds: number): string {
  return `${what} ${done}/${total} (${seconds.toFixed(1)}s)`;
}

export function createProgress(
  stream: ProgressStream,
  what: string,
  options: { quiet?: boolean; now?: () => number } = {},
): Progress {
  const now = options.now ?? (() => performance.now());
  const start = now();
  const tty = stream.isTTY === true;
  let last: number | undefined;
  let state = { done: 0, total: 0 };
  const write = (final: boolean) => {
    const elapsed = now() - start;
    if (options.quiet || state.total === 0 || !shouldWrite(tty, elapsed, last, final)) return;
    last = elapsed;
    const line = progressLine(what, state.done, state.total, elapsed / 1000);
    stream.write(tty ? `\r\x1b[K${line}${final ? '\n' : ''}` : `${line}\n`);
  };
  return {
    update(done, total) {
      state = { done, total };
      write(false);
    },
    finish() {
      write(true);
    },
  };
}
