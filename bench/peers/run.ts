/**
 * The peers benchmark's driver: starts the chosen systems (each in its own temp dir, every
 * process in one ProcessGroup that kills them on exit or interruption), runs a warm-up round and
 * then `rounds` rounds, the systems interleaved round-robin with the order rotating each round so
 * that the shared machine's noise falls on all of them, and stops everything, also on error.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineLine } from '../cluster-common.js';
import { ProcessGroup } from '../processes.js';
import { natsJetStream } from './nats.js';
import { redisStreams } from './redis.js';
import { roundLine, summarize, type PeersReport } from './report.js';
import { rillCluster, rillSingle } from './rill.js';
import type { PeerSystem, RunningPeer } from './system.js';
import { runRound, type RoundResult, type WorkloadOptions } from './workload.js';

export const SYSTEMS: PeerSystem[] = [rillCluster, rillSingle, natsJetStream, redisStreams];

export interface PeersOptions extends WorkloadOptions {
  rounds: number;
  systems: PeerSystem[];
  /** Messages of the unmeasured warm-up round (connections, JIT, leaders); 0 for none. */
  warmupMessages: number;
}

/** The systems named in a comma-separated list, in the list's order; throws on an unknown name. */
export function pickSystems(list: string): PeerSystem[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new RangeError('--systems names no system');
  return names.map((name) => {
    const s = SYSTEMS.find((x) => x.id === name);
    if (s === undefined) throw new RangeError(`--systems: unknown system '${name}'; known: ${SYSTEMS.map((x) => x.id).join(', ')}`);
    return s;
  });
}

export async function runPeers(opts: PeersOptions, log: (line: string) => void): Promise<PeersReport> {
  const loadStart = loadavg();
  const startedAt = new Date().toISOString();
  const base = await mkdtemp(join(tmpdir(), 'rill-peers-'));
  // Interrupted: the group SIGKILLs the servers, this removes their files.
  const removeBase = (): void => rmSync(base, { recursive: true, force: true });
  process.on('exit', removeBase);
  const group = new ProcessGroup();
  const running: { system: PeerSystem; peer: RunningPeer; rounds: RoundResult[] }[] = [];
  try {
    for (const system of opts.systems) {
      const dir = join(base, system.id);
      await mkdir(dir, { recursive: true });
      log(`starting ${system.label}`);
      running.push({ system, peer: await system.start({ group, dir }), rounds: [] });
    }
    if (opts.warmupMessages > 0) {
      const warm = { ...opts, messages: opts.warmupMessages, latencySeconds: Math.min(1, opts.latencySeconds) };
      for (const r of running) await runRound(r.peer, 'warmup', 1, warm);
    }
    for (let round = 0; round < opts.rounds; round++) {
      for (let i = 0; i < running.length; i++) {
        const r = running[(i + round) % running.length]!;
        const result = await runRound(r.peer, `r${round + 1}`, 10 + round * 2, opts);
        r.rounds.push(result);
        log(roundLine(round + 1, r.system.label, result));
      }
    }
  } finally {
    for (const r of running) await r.peer.stop().catch(() => undefined);
    await group.stopAll();
    group.dispose();
    await rm(base, { recursive: true, force: true });
    process.off('exit', removeBase);
  }
  return {
    machine: machineLine(),
    loadAverage: { start: loadStart, end: loadavg() },
    options: { messages: opts.messages, rounds: opts.rounds, 'in-flight': opts.inFlight, rate: opts.rate, 'latency-s': opts.latencySeconds, 'warmup-messages': opts.warmupMessages },
    startedAt,
    systems: running.map((r) => ({ id: r.system.id, label: r.system.label, guarantee: r.system.guarantee, rounds: r.rounds, medians: summarize(r.rounds) })),
  };
}
