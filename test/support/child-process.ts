/**
 * The one way tests start a real Node process: spawn a script, collect what it prints, wait for a line,
 * stop it (SIGKILL, SIGSTOP/SIGCONT, SIGTERM), and kill whatever is still running when a test ends, even
 * when it failed. Worker processes (worker-process.ts) and the sample tests build on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  args?: string[];
  /** Added to the test process's environment. */
  env?: NodeJS.ProcessEnv;
  /**
   * 'pipe' (default): the child gets a stdin that closes when the test process goes away, so a child
   * that exits on the end of its stdin never outlives a crashed test run.
   */
  stdin?: 'pipe' | 'ignore';
  /** Shown in error messages. */
  label?: string;
  /** A program that runs node for the test (e.g. strace with its arguments): node and the script follow them. */
  wrapper?: string[];
}

const live = new Set<TestProcess>();

export class TestProcess {
  readonly pid: number;
  readonly label: string;
  /** Everything printed on stdout so far. */
  stdout = '';
  private stderrTail = '';
  /** The JSON objects printed one a line on stdout so far. */
  readonly jsonLines: Array<Record<string, unknown>> = [];
  exitInfo: ProcessExit | undefined;
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private pendingLine = '';
  private readonly listeners = new Set<() => void>();

  constructor(script: string, options: StartOptions = {}) {
    this.label = options.label ?? script.slice(script.lastIndexOf('/') + 1);
    const [command, ...before] = [...(options.wrapper ?? []), process.execPath];
    this.child = spawn(command!, [...before, script, ...(options.args ?? [])], {
      env: { ...process.env, ...options.env },
      stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`could not start ${this.label}`);
    this.pid = this.child.pid;
    live.add(this);
    this.child.stdin?.on('error', () => undefined);
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.pendingLine += chunk;
      let newline: number;
      while ((newline = this.pendingLine.indexOf('\n')) >= 0) {
        const line = this.pendingLine.slice(0, newline).trim();
        this.pendingLine = this.pendingLine.slice(newline + 1);
        if (line.startsWith('{')) {
          try {
            this.jsonLines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not a JSON line after all
          }
        }
      }
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      // A worker can log a lot over a long test; the tail is what explains a failure.
      this.stderrTail = (this.stderrTail + chunk).slice(-20_000);
    });
    this.exited = new Promise((resolve) => {
      // 'close' (not 'exit'): every byte the process printed has been read by then.
      this.child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        this.notify();
        resolve(this.exitInfo);
      });
    });
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  get output(): string {
    return `${this.stdout}\n${this.stderrTail}`;
  }

  /** The first JSON line matching `predicate`; fails at once if the process exits without printing one. */
  waitForJson(predicate: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return this.waitFor(() => this.jsonLines.find(predicate), what, timeoutMs);
  }

  /** Waits until stdout matches `pattern`; fails at once if the process exits first. */
  waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    return this.waitFor(() => pattern.exec(this.stdout) ?? undefined, String(pattern), timeoutMs);
  }

  /** The `{"ready":true,...}` line a worker prints once it takes work. */
  waitForReady(timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return this.waitForJson((line) => line.ready === true, 'its "ready" line', timeoutMs);
  }

  private waitFor<T>(found: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = found();
        if (value !== undefined) finish(() => resolve(value));
        else if (this.exitInfo) finish(() => reject(new Error(`${this.label} (pid ${this.pid}) exited ${JSON.stringify(this.exitInfo)} before printing ${what}:\n${this.output.slice(-3000)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.label} (pid ${this.pid}) did not print ${what} within ${timeoutMs} ms:\n${this.output.slice(-3000)}`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGKILL (a stopped process is continued first, so it dies at once) and wait until it is gone. */
  async kill(): Promise<ProcessExit> {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    return this.exited;
  }

  /** Graceful stop: SIGTERM and wait for the exit. */
  async terminate(timeoutMs = 20_000): Promise<ProcessExit> {
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.label} (pid ${this.pid}) did not exit within ${timeoutMs} ms of SIGTERM: ${this.stderr.slice(-2000)}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Kills every process a test started and has not stopped (afterEach, also when the test failed). */
export async function killAllProcesses(): Promise<void> {
  await Promise.all([...live].map((child) => Promise.race([child.kill(), new Promise((resolve) => setTimeout(resolve, 5_000))])));
}

process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});
