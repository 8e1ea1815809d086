/** Runs kcat as a child process for the Kafka listener's tests. */
import { spawn } from 'node:child_process';

export interface KcatRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kcat with `args`, `input` on stdin; killed after `timeoutMs`. */
export function kcat(args: string[], input = '', timeoutMs = 30_000): Promise<KcatRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}
