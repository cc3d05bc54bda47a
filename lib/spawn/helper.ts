// The spawn helper process (started by spawner.ts): it starts processes for its parent. Forking is
// what a spawn costs, and a fork copies the page tables of the process that forks, so a spawn from
// a controller of 500–700 MiB blocks its event loop for 20–40 ms; from this small process, ~1 ms.
// The parent sends each process's stdio as the far ends of socket pairs it made (raw handles, never
// read here), then the command; this process passes them to the child, closes its copies, and
// reports the pid and the exit. Only node:child_process is loaded, to keep the process small.
import { spawn, type ChildProcess } from 'node:child_process';

/** Parent → helper. */
export type HelperRequest =
  | { type: 'stdio'; id: number; index: number }
  | {
      type: 'spawn';
      id: number;
      command: string;
      args: string[];
      cwd?: string;
      env: Record<string, string>;
      stdio: number;
    }
  | { type: 'kill'; id: number; signal: NodeJS.Signals };

/** Helper → parent. */
export type HelperReply =
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'error'; id: number; message: string; code?: string };

interface StreamHandle {
  close(): void;
  setBlocking(blocking: boolean): number;
}

const stdio = new Map<number, StreamHandle[]>();
const children = new Map<number, ChildProcess>();
/** Kills asked for before the spawn request arrived. */
const killed = new Map<number, NodeJS.Signals>();

const reply = (message: HelperReply) => process.send?.(message);

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function start(request: Extract<HelperRequest, { type: 'spawn' }>): void {
  const handles = stdio.get(request.id) ?? [];
  stdio.delete(request.id);
  if (handles.length !== request.stdio || handles.includes(undefined as never)) {
    for (const handle of handles) handle?.close();
    reply({
      type: 'error',
      id: request.id,
      message: `the spawn helper got ${handles.filter(Boolean).length} of ${request.stdio} stdio streams`,
    });
    return;
  }
  // The sockets are non-blocking, as this process and its parent use them; a child expects blocking
  // descriptors (libuv makes 0–2 blocking itself, not 3 and on: a shell's `read <&3` would fail).
  for (const handle of handles) handle.setBlocking(true);
  let child: ChildProcess;
  try {
    child = spawn(request.command, request.args, {
      ...(request.cwd ? { cwd: request.cwd } : {}),
      env: request.env,
      stdio: handles as never,
      // Its own process group, so that a kill also ends what the process started.
      detached: true,
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    reply({ type: 'error', id: request.id, message: e.message, ...(e.code ? { code: e.code } : {}) });
    return;
  } finally {
    for (const handle of handles) handle.close();
  }
  child.on('error', (e: NodeJS.ErrnoException) =>
    reply({ type: 'error', id: request.id, message: e.message, ...(e.code ? { code: e.code } : {}) }),
  );
  if (child.pid === undefined) return; // 'error' follows
  children.set(request.id, child);
  reply({ type: 'spawned', id: request.id, pid: child.pid });
  child.on('exit', (code, signal) => {
    children.delete(request.id);
    reply({ type: 'exit', id: request.id, code, signal });
  });
  const signal = killed.get(request.id);
  killed.delete(request.id);
  if (signal) killGroup(child, signal);
}

process.on('message', (request: HelperRequest, handle?: StreamHandle) => {
  if (request.type === 'stdio') {
    const handles = stdio.get(request.id) ?? [];
    if (handle) handles[request.index] = handle;
    stdio.set(request.id, handles);
  } else if (request.type === 'spawn') {
    start(request);
  } else {
    const child = children.get(request.id);
    if (child) killGroup(child, request.signal);
    else killed.set(request.id, request.signal);
  }
});

// The parent is gone (it exited or died): nothing it started may outlive it.
process.on('disconnect', () => {
  for (const child of children.values()) killGroup(child, 'SIGKILL');
  process.exit(0);
});
