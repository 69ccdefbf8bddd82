import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { ProcessStartError } from './errors.js';

export interface ProcessSpec {
  /** Human name used in messages, e.g. `peer0.owner`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** stdout and stderr are appended here; error messages point at it. */
  readonly logFile: string;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

// Every live engine process of this Node process, so that an abrupt exit (Ctrl-C, a crashed
// test run) still takes them down: the devnet must never leave a process or port behind.
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.killGroup('SIGKILL');
  });
}

/** A long-running engine process in its own process group, logging to a file. */
export class ManagedProcess {
  readonly spec: ProcessSpec;
  private child: ChildProcess | undefined;
  private exitInfo: ExitInfo | undefined;
  private exitPromise: Promise<ExitInfo> | undefined;

  constructor(spec: ProcessSpec) {
    this.spec = spec;
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    installExitHook();
    const fd = openSync(this.spec.logFile, 'a');
    try {
      this.exitInfo = undefined;
      const child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true, // own process group: stop() reaches grandchildren too
      });
      this.child = child;
      live.add(this);
      this.exitPromise = new Promise((resolve) => {
        child.on('error', (err) => {
          this.exitInfo = { code: -1, signal: null };
          live.delete(this);
          resolve(this.exitInfo);
          void err;
        });
        child.on('exit', (code, signal) => {
          this.exitInfo = { code, signal };
          live.delete(this);
          resolve(this.exitInfo);
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  isRunning(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  exited(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** The last lines of the log, for error messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.exitInfo !== undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
  async stop(graceMs = 8_000): Promise<void> {
    if (!this.isRunning() || this.exitPromise === undefined) return;
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), graceMs);
    try {
      await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Freezes the process (SIGSTOP), for fault tests: its sockets stay open and nothing answers,
   * as with a hung node or a partition. Always `resume()` it (in a finally): a stopped process
   * ignores SIGTERM, so stop() would wait for the SIGKILL after its grace period.
   */
  pause(): void {
    this.killGroup('SIGSTOP');
  }

  /** Lets a paused process run again (SIGCONT). */
  resume(): void {
    this.killGroup('SIGCONT');
  }

  /** Abrupt death, for fault tests (broker crash, node loss). */
  async kill(): Promise<void> {
    if (!this.isRunning() || this.exitPromise === undefined) return;
    this.killGroup('SIGKILL');
    await this.exitPromise;
  }

  /** Fails with the process name, its log file and the log's tail. */
  startError(what: string, cause?: unknown): ProcessStartError {
    const exit = this.exitInfo ? ` (exited: ${this.exitInfo.signal ?? `code ${this.exitInfo.code}`})` : '';
    return new ProcessStartError(
      `${this.name} ${what}${exit}; log: ${this.spec.logFile}\n${this.logTail()}`,
      { cause, details: { process: this.name, logFile: this.spec.logFile } },
    );
  }
}
