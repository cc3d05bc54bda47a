// Spawns processes without blocking a large process's event loop: once this process is bigger than
// `spawnHelperMinRssMiB`, its processes are started by a small, long-lived helper process
// (helper.ts), whose fork is cheap. Each stdio stream is a Unix socket pair made here: the near end
// is the returned process's stream, the far end is handed to the helper, which passes it to the
// child. Data never goes through the helper. Below the threshold (a CLI command, a test) processes
// are spawned directly and no helper is started.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HelperReply, HelperRequest } from './helper.ts';

/** What the callers of `spawnProcess` use of a child process; a ChildProcess is one. */
export interface SpawnedProcess extends EventEmitter {
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly stdin: Socket;
  readonly stdout: Socket;
  readonly stderr: Socket;
  /** stdin, stdout, stderr and the extra pipes, by file descriptor. */
  readonly stdio: readonly Socket[];
  kill(signal?: NodeJS.Signals): boolean;
  ref(): void;
  unref(): void;
}

export interface SpawnOptions {
  cwd?: string | undefined;
  env: Record<string, string>;
  /** Pipes after stdin, stdout and stderr (file descriptors 3, 4, ...). */
  extraPipes?: number;
}

/**
 * A process of at least this RSS spawns through the helper (measured: a direct spawn blocks 20–40 ms
 * at 500–700 MiB). PVCTL_SPAWN_HELPER_MIN_RSS_MIB sets it: 0 always uses the helper, a large number never.
 */
let minRssMiB = threshold(process.env.PVCTL_SPAWN_HELPER_MIN_RSS_MIB);

function threshold(value: string | undefined): number {
  const mib = Number(value);
  return value && Number.isFinite(mib) && mib >= 0 ? mib : 200;
}

/** Sets the RSS from which processes are spawned through the helper (0: always; tests). */
export function setSpawnHelperMinRssMiB(mib: number): void {
  minRssMiB = mib;
}

/** Starts `command` with piped stdio in its own process group. */
export function spawnProcess(command: string, args: readonly string[], options: SpawnOptions): SpawnedProcess {
  if (process.memoryUsage.rss() < minRssMiB * 2 ** 20) return spawnDirectly(command, args, options);
  return (helper ??= new SpawnHelper()).spawn(command, args, options);
}

function spawnDirectly(command: string, args: readonly string[], options: SpawnOptions): SpawnedProcess {
  return spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe', ...Array<'pipe'>(options.extraPipes ?? 0).fill('pipe')],
    windowsHide: true,
    detached: true,
  }) as unknown as SpawnedProcess;
}

let helper: SpawnHelper | undefined;

/** The spawn helper's pid, when it runs (tests). */
export function spawnHelperPid(): number | undefined {
  return helper?.pid;
}

/** Stops the helper; processes it started are killed. The next spawn above the threshold starts a new one. */
export function stopSpawnHelper(): void {
  helper?.stop();
  helper = undefined;
}

class HelperProcess extends EventEmitter implements SpawnedProcess {
  pid: number | undefined = undefined;
  exitCode: number | null = null;
  readonly stdio: Socket[];
  private refed = true;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private openStreams = 2; // stdout and stderr: 'close' follows their end and the exit

  readonly id: number;
  private readonly owner: SpawnHelper;

  constructor(id: number, stdio: Socket[], owner: SpawnHelper) {
    super();
    this.id = id;
    this.owner = owner;
    this.stdio = stdio;
    for (const stream of [this.stdout, this.stderr])
      stream.once('close', () => {
        this.openStreams--;
        this.maybeClose();
      });
  }

  get stdin(): Socket {
    return this.stdio[0]!;
  }
  get stdout(): Socket {
    return this.stdio[1]!;
  }
  get stderr(): Socket {
    return this.stdio[2]!;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exit) return false;
    if (this.pid) {
      try {
        process.kill(this.pid, signal);
        return true;
      } catch {
        return false;
      }
    }
    this.owner.send({ type: 'kill', id: this.id, signal });
    return true;
  }

  ref(): void {
    if (!this.refed && !this.exit) this.owner.hold(+1);
    this.refed = true;
  }

  unref(): void {
    if (this.refed && !this.exit) this.owner.hold(-1);
    this.refed = false;
  }

  onReply(message: HelperReply): void {
    if (message.type === 'spawned') {
      this.pid = message.pid;
      this.emit('spawn');
    } else if (message.type === 'exit') {
      this.ended(message.code, message.signal);
    } else {
      this.failed(Object.assign(new Error(message.message), message.code ? { code: message.code } : {}));
    }
  }

  /** The process could not be started, or the helper died: as a ChildProcess, 'error' then no 'exit'. */
  failed(error: Error): void {
    if (this.exit) return;
    this.release();
    this.exit = { code: null, signal: null };
    this.emit('error', error);
    for (const stream of this.stdio) stream.destroy();
  }

  private ended(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exit) return;
    this.release();
    this.exit = { code, signal };
    this.exitCode = code;
    this.emit('exit', code, signal);
    this.maybeClose();
  }

  private release(): void {
    if (this.refed) this.owner.hold(-1);
    this.owner.forget(this.id);
  }

  private maybeClose(): void {
    if (this.exit && this.openStreams === 0 && this.pid !== undefined) {
      this.emit('close', this.exit.code, this.exit.signal);
    }
  }
}

class SpawnHelper {
  private readonly child: ChildProcess;
  private readonly addressPrefix = `\0packagevariant-spawn-${process.pid}-${Math.random().toString(36).slice(2)}`;
  private readonly processes = new Map<number, HelperProcess>();
  private nextId = 0;
  private held = 0;

  constructor() {
    const script = fileURLToPath(new URL(`./helper${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    this.child = fork(script, [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // Its own session: a terminal's Ctrl-C is for pvctl, which drains its work before it exits;
      // the helper ends when pvctl's channel closes.
      detached: true,
      execArgv: process.execArgv.filter((a) => a.startsWith('--disable-warning')),
    });
    this.child.on('message', (message: HelperReply) => this.processes.get(message.id)?.onReply(message));
    this.child.on('exit', () => this.died(new Error('the spawn helper process exited')));
    this.child.on('error', (error) => this.died(error));
    this.hold(0);
  }

  spawn(command: string, args: readonly string[], options: SpawnOptions): SpawnedProcess {
    const id = this.nextId++;
    const { near, far } = socketPairs(`${this.addressPrefix}-${id}`, 3 + (options.extraPipes ?? 0));
    const proc = new HelperProcess(id, near, this);
    this.processes.set(id, proc);
    this.hold(+1);
    far
      .then(async (ends) => {
        for (const [index, socket] of ends.entries()) {
          const handle = (socket as unknown as { _handle: unknown })._handle;
          await new Promise<void>((resolve, reject) =>
            this.child.send({ type: 'stdio', id, index } satisfies HelperRequest, handle as never, (e) =>
              e ? reject(e) : resolve(),
            ),
          );
          socket.destroy(); // the helper (and then the child) holds its own copy
        }
        this.send({
          type: 'spawn',
          id,
          command,
          args: [...args],
          ...(options.cwd ? { cwd: options.cwd } : {}),
          env: options.env,
          stdio: ends.length,
        });
      })
      .catch((error: unknown) => proc.failed(error instanceof Error ? error : new Error(String(error))));
    return proc;
  }

  send(request: HelperRequest): void {
    if (this.child.connected) this.child.send(request);
  }

  /** Keeps this process alive while a process it started is running and referenced. */
  hold(delta: number): void {
    this.held += delta;
    if (this.held > 0) {
      this.child.ref();
      this.child.channel?.ref();
    } else {
      this.child.unref();
      this.child.channel?.unref();
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  forget(id: number): void {
    this.processes.delete(id);
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }

  private died(error: Error): void {
    if (helper === this) helper = undefined;
    for (const proc of [...this.processes.values()]) proc.failed(error);
  }
}

/**
 * `count` connected Unix socket pairs: the near ends at once (usable before they connect), the far
 * ends when accepted. One listening socket per process, closed when its pairs are made, so that the
 * order of connects (made here, synchronously) is the order of accepts, and nothing else connects.
 */
function socketPairs(address: string, count: number): { near: Socket[]; far: Promise<Socket[]> } {
  const server = createServer({ pauseOnConnect: true });
  server.listen(address); // a Unix socket listens at once
  const near = Array.from({ length: count }, () => connect(address));
  const far = new Promise<Socket[]>((resolve, reject) => {
    const accepted: Socket[] = [];
    const fail = (error: Error) => {
      server.close();
      for (const socket of accepted) socket.destroy();
      reject(error);
    };
    server.on('error', fail);
    for (const socket of near) socket.on('error', (e) => (accepted.length < count ? fail(e) : undefined));
    server.on('connection', (socket) => {
      accepted.push(socket);
      if (accepted.length === count) {
        server.close();
        resolve(accepted);
      }
    });
  });
  return { near, far };
}
