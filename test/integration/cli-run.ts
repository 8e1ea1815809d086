/**
 * Runs the compiled `rill` command (dist/cli/main.js, built by `npm test`'s pretest) as a user
 * does: a child process with its own stdin, stdout and stderr, bounded in time.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A child of `node <script> ...args` with RILL_BROKERS unset and client logs silent, unless env says otherwise. */
export function spawnNode(script: string, args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [script, ...args], { env: { ...process.env, RILL_BROKERS: '', RILL_LOG_LEVEL: 'silent', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Collects a child's output until it exits; SIGKILLs it and rejects after timeoutMs. */
export function collect(child: ChildProcessWithoutNullStreams, what: string, input = '', timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not exit within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

export function rill(args: string[], input?: string, timeoutMs = 20_000, env: Record<string, string> = {}): Promise<CliResult> {
  return collect(spawnNode(CLI, args, env), `rill ${args.join(' ')}`, input, timeoutMs);
}

/** A failure as the CLI must report it: one line on stderr, no stack trace, a non-zero exit. */
export function isOneLineError(r: CliResult): boolean {
  return r.code !== 0 && r.code !== null && r.stdout === '' && /^error: [^\n]+\n$/.test(r.stderr) && !/\bat .*\.js:\d+/.test(r.stderr);
}
