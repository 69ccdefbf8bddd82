import { spawn } from 'node:child_process';
import { CommandFailedError } from './errors.js';

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the command after this long. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; a non-zero exit throws with the command line and its output. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 10 * 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) =>
      reject(new CommandFailedError(`${cmd} could not be started: ${err.message}`, { cause: err, details: { command: [cmd, ...args].join(' ') } })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) return resolve({ stdout, stderr });
      const output = (stderr + stdout).trim().split('\n').slice(-25).join('\n');
      reject(
        new CommandFailedError(`${[cmd, ...args].join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`, {
          details: { command: [cmd, ...args].join(' '), exitCode: code, output },
        }),
      );
    });
  });
}
