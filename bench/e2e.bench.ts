/**
 * End-to-end benchmark (issue 3): a broker process, one producer process and one consumer
 * process on 127.0.0.1, all real (dist/broker/main.js and the SDK in bench/e2e/*.ts).
 *
 *   npm run bench -- e2e [--messages=N] [--rate=N] [--duration-s=N] [--value-bytes=N] ...
 *   (options take the `--name=value` form: bench/run.ts reads bare words as benchmark names)
 *
 * Phases, each after a short warm-up (run in the order latency, produce, consume; see phases.ts):
 *   1. produce   `--messages` values of `--value-bytes` (acks=1, no compression, null keys),
 *                `--messages-per-send` per send(); msgs/s and MB/s (value bytes, 10^6) from the
 *                first send() to the last ack, bounded by `--produce-time-limit-s`
 *   2. consume   a fresh consumer reads what phase 1 wrote, from the earliest offset, once per
 *                `--consume-modes` (eachBatch, eachMessage); msgs/s and MB/s from assign() to
 *                the last message
 *   3. latency   `--rate` msgs/s for `--duration-s`, one send() per message, paced by a 1 ms
 *                timer, once per `--latency-linger-ms`; per message, the consumer's eachMessage
 *                time minus the send() time stamped in the value (clock: performance.timeOrigin
 *                + performance.now() in each process, their offset measured over IPC and
 *                subtracted); p50/p99/p99.9/max
 *   For each phase: the broker's CPU seconds (utime + stime from /proc/<pid>/stat, all
 *   threads) per million messages, the producer's and consumer's own CPU seconds, and the CPU
 *   the rest of the machine used meanwhile (/proc/stat minus ours: the noise the phase ran in).
 *   For latency also every process's GC pauses and event-loop stalls (bench/e2e/pauses.ts).
 *
 * Layout: options.ts (flags), processes.ts (starting and stopping processes, /proc readers),
 * phases.ts (what each phase does and measures), report.ts (tables), producer.ts and
 * consumer.ts (the child processes), common.ts (their IPC messages and clock).
 *
 * Every loop is bounded in count and time; every process is stopped at the end, also on error
 * or interruption. `--profile-dir=DIR` runs all three processes with `--cpu-prof` into DIR;
 * `--node-flags='--trace-gc ...'` passes node options to all three (investigation),
 * `--broker-node-flags=...` to the broker only;
 * `--json=FILE` writes the results as JSON too.
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rill } from '../client/index.js';
import { LATENCY_TOPIC, THROUGHPUT_TOPIC } from './e2e/common.js';
import { parseE2eOptions, type E2eOptions } from './e2e/options.js';
import { WARMUP_TOPIC, runPhases, type CpuSnapshot, type E2eResults, type PhaseContext } from './e2e/phases.js';
import { ChildClient, ProcessGroup, machineCpu, procCpuSeconds, startBrokerProcess } from './e2e/processes.js';
import { formatReport } from './e2e/report.js';

export { formatReport, parseE2eOptions };
export type { E2eOptions, E2eResults };

/**
 * Starts the broker, producer and consumer processes, runs the phases, and stops everything
 * (also when a phase fails or the broker dies).
 */
export async function runE2e(options: E2eOptions, onPhase?: PhaseContext['onPhase']): Promise<E2eResults> {
  const started = Date.now();
  const here = dirname(fileURLToPath(import.meta.url));
  const brokerMain = join(here, '..', 'broker', 'main.js');
  const producerScript = join(here, 'e2e', 'producer.js');
  const consumerScript = join(here, 'e2e', 'consumer.js');
  const execArgv: string[] = [...options.nodeFlags];
  if (options.profileDir !== null) {
    const dir = resolve(options.profileDir);
    await mkdir(dir, { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  const loadAverageStart = loadavg();
  const dataDir = await mkdtemp(join(tmpdir(), 'rill-e2e-'));
  // Interrupted (Ctrl-C) or crashed: the processes are SIGKILLed by the group, the data goes here.
  const removeDataDir = (): void => rmSync(dataDir, { recursive: true, force: true });
  process.on('exit', removeDataDir);
  const group = new ProcessGroup();
  let producer: ChildClient | null = null;
  let consumer: ChildClient | null = null;
  let completed = false;
  try {
    const broker = await startBrokerProcess(group, brokerMain, dataDir, { execArgv: [...execArgv, ...options.brokerNodeFlags], args: ['--metrics-port', '0'] });
    const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
    producer = new ChildClient(group, 'producer', producerScript, brokers, execArgv);
    consumer = new ChildClient(group, 'consumer', consumerScript, brokers, execArgv);
    const brokerCpu = (): number | null => procCpuSeconds(broker.pid);
    const pids = [broker.pid, producer.proc.pid!, consumer.proc.pid!];
    const cpuSnapshot = (): CpuSnapshot | null => {
      const machine = machineCpu();
      let ours = 0;
      for (const pid of pids) {
        const s = procCpuSeconds(pid);
        if (s === null) return null;
        ours += s;
      }
      return machine === null ? null : { machine, ours };
    };

    const admin = new Rill({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'e2e-bench' });
    try {
      await admin.admin().createTopics({
        topics: [THROUGHPUT_TOPIC, LATENCY_TOPIC, WARMUP_TOPIC].map((topic) => ({ topic, numPartitions: options.partitions })),
      });
    } finally {
      await admin.close();
    }

    const ctx: PhaseContext = { options, producer, consumer, brokerCpu, brokerPid: broker.pid, cpuSnapshot, brokerMetricsPort: broker.metricsPort, onPhase };
    // A broker that dies mid-run fails the run at once instead of after a phase's time limit.
    let brokerExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | null = null;
    const brokerDied = new Promise<never>((_, reject) => {
      brokerExit = (code, signal) => reject(new Error(`the broker process exited (${code ?? signal}) during the run`));
      broker.proc.once('exit', brokerExit);
    });
    const running = runPhases(ctx);
    // Whichever loses the race must not surface later as an unhandled rejection.
    running.catch(() => undefined);
    brokerDied.catch(() => undefined);
    let phases: Awaited<typeof running>;
    try {
      phases = await Promise.race([running, brokerDied]);
    } finally {
      broker.proc.off('exit', brokerExit!);
    }
    const { produce, consume, latency } = phases;

    const cpuInfo = cpus();
    completed = true;
    return {
      machine: {
        cpus: cpuInfo.length,
        cpuModel: cpuInfo[0]?.model ?? 'unknown',
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
        loadAverageStart,
        loadAverageEnd: loadavg(),
      },
      options,
      produce,
      consume,
      latency,
      pids: { broker: broker.pid, producer: producer.proc.pid!, consumer: consumer.proc.pid! },
      totalSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    // After a good run: children first (they close their clients), then the broker (SIGTERM:
    // graceful, so that a --cpu-prof profile is written). After a failure: SIGTERM to all at
    // once (children exit on it without finishing their work). SIGKILL whatever lingers.
    if (completed) await Promise.all([producer?.exit(), consumer?.exit()]);
    await group.stopAll('SIGTERM');
    group.dispose();
    process.off('exit', removeDataDir);
    await rm(dataDir, { recursive: true, force: true });
  }
}

export default async function run(argv: string[], onPhase?: PhaseContext['onPhase']): Promise<void> {
  const options = parseE2eOptions(argv);
  const results = await runE2e(options, onPhase);
  console.log(formatReport(results));
  if (options.jsonFile !== null) await writeFile(options.jsonFile, JSON.stringify(results, null, 2) + '\n');
}
