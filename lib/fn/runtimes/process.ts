// Runs one function process: ResourceList on stdin, ResourceList on stdout, bounded in time and output.
import { spawn } from 'node:child_process';

export interface Limits {
  /** Wall-clock limit of one function run, in milliseconds. */
  timeoutMs: number;
  /** Limit of a function's stdout (and, separately, stderr), in bytes. */
  maxOutputBytes: number;
}

export interface ProcessOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Why the run was cut short (timeout, output limit, could not start); the output is then not used. */
  failure?: string;
}

export function runProcess(
  command: string,
  args: string[],
  stdin: string,
  limits: Limits,
  options: { cwd: string; env: NodeJS.ProcessEnv; onTimeout?: () => void },
): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    // its own process group, so a timeout ends the program's children too (they would keep the pipes open)
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let failure: string | undefined;
    const stop = (why: string) => {
      if (failure) return;
      failure = why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      options.onTimeout?.();
      stop(`timed out after ${limits.timeoutMs} ms`);
    }, limits.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > limits.maxOutputBytes) stop(`output exceeds ${limits.maxOutputBytes} bytes`);
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errBytes += chunk.length;
      if (errBytes <= limits.maxOutputBytes) err.push(chunk);
    });
    child.on('error', (e) => {
      stop(`cannot be started: ${e.message}`);
    });
    child.stdin.on('error', () => {}); // a function that exits without reading its input
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode: code ?? (signal ? 128 + 9 : 1),
        ...(failure ? { failure } : {}),
      });
    });
    child.stdin.end(stdin);
  });
}
