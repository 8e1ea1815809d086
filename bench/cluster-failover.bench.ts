/**
 * Cluster failover benchmark (issue 9): how long a partition cannot take `acks=all` writes
 * after its leader is SIGKILLed.
 *
 *   npm run bench -- cluster-failover [--kills=10] [--session-timeout-ms=3000] [--time-limit-s=900]
 *
 * One etcd and three broker processes (dist/broker/main.js with etcd.endpoints, 127.0.0.1, temp
 * dirs), `broker.session.timeout.ms` as given, `auto.leader.rebalance.enable=false` (so that a
 * returning broker does not take leadership back while the next kill is being measured). A
 * topic of 3 partitions with replication factor 3; partition 0 is measured. Per kill:
 *   1. wait until partition 0's ISR holds all three brokers (bounded);
 *   2. t0, SIGKILL its leader, and send one record to partition 0 with the SDK producer
 *      (acks=all, idempotent, short retry backoffs): the sample is t0 to the send's success,
 *      i.e. lease expiry + the controller's election + the client's metadata refresh + one
 *      acks=all produce in the shrunken ISR;
 *   3. restart the killed broker on its data dir and time until it is back in the ISR.
 * Every wait is bounded (a send that has not succeeded after 30 s counts as a failed kill);
 * the whole run stops at `--time-limit-s`. Prints every sample, the median and the max.
 */
import { performance } from 'node:perf_hooks';
import type { Admin } from '../client/index.js';
import { intOptions, machineLine, median, sleep, startBenchCluster } from './cluster-common.js';

const TOPIC = 'failover-bench';
const PARTITION = 0;
const SEND_BOUND_MS = 30_000;
const ISR_BOUND_MS = 60_000;
const TARGET_MS = 5_000;

/** Polls partition 0 until `check` accepts it; returns what check returned. Bounded by `boundMs`. */
async function waitForPartition<T>(admin: Admin, what: string, boundMs: number, check: (p: { leader: number; isr: number[] }) => T | undefined): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const [topic] = await admin.describeTopics({ topics: [TOPIC], includeOffsets: false }).catch(() => []);
    const p = topic?.partitions.find((x) => x.partition === PARTITION);
    const v = p === undefined ? undefined : check(p);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export default async function clusterFailoverBench(argv: string[]): Promise<void> {
  const o = intOptions(argv, { kills: [10, 1, 100], 'session-timeout-ms': [3_000, 1_000, 60_000], 'time-limit-s': [900, 30, 7_200] });
  const brokers = 3;
  const cluster = await startBenchCluster(brokers, { 'broker.session.timeout.ms': o['session-timeout-ms'], 'auto.leader.rebalance.enable': false }, 'failover-bench');
  const deadline = Date.now() + o['time-limit-s'] * 1000;
  try {
    const { processes, rill } = cluster;
    const admin = rill.admin();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: brokers }] });
    const producer = rill.producer({ acks: -1, lingerMs: 0 });
    await producer.send({ topic: TOPIC, messages: [{ value: 'warm-up', partition: PARTITION }] }, { signal: AbortSignal.timeout(SEND_BOUND_MS) });
    console.log(`${machineLine()}; 3 broker processes + etcd, broker.session.timeout.ms=${o['session-timeout-ms']}, RF 3, acks=all; ${o.kills} kills`);
    console.log('kill  leader  new leader  to first acks=all produce  back in ISR after restart');
    const samples: number[] = [];
    let failed = 0;
    for (let i = 1; i <= o.kills; i++) {
      if (Date.now() > deadline) {
        console.log(`time limit of ${o['time-limit-s']} s reached after ${i - 1} kills`);
        break;
      }
      const leader = await waitForPartition(admin, 'a full ISR', ISR_BOUND_MS, (p) => (p.leader >= 0 && p.isr.length === brokers ? p.leader : undefined));
      const t0 = performance.now();
      await processes.kill(leader);
      let failoverMs: number | null = null;
      try {
        await producer.send({ topic: TOPIC, messages: [{ value: `after-kill-${i}`, partition: PARTITION }] }, { signal: AbortSignal.timeout(SEND_BOUND_MS) });
        failoverMs = performance.now() - t0;
        samples.push(failoverMs);
      } catch (err) {
        failed++;
        console.log(`kill ${i}: no acks=all produce succeeded within ${SEND_BOUND_MS} ms (${(err as Error).message})`);
      }
      const newLeader = await waitForPartition(admin, 'a new leader', ISR_BOUND_MS, (p) => (p.leader >= 0 && p.leader !== leader ? p.leader : undefined));
      const t1 = performance.now();
      await processes.start(leader);
      await waitForPartition(admin, `broker ${leader} back in the ISR`, ISR_BOUND_MS, (p) => (p.isr.includes(leader) ? true : undefined));
      const rejoinMs = performance.now() - t1;
      console.log(
        `${String(i).padStart(4)}  ${String(leader).padStart(6)}  ${String(newLeader).padStart(10)}  ${(failoverMs === null ? 'failed' : `${(failoverMs / 1000).toFixed(2)} s`).padStart(25)}  ${`${(rejoinMs / 1000).toFixed(2)} s`.padStart(26)}`,
      );
    }
    await producer.close();
    if (samples.length === 0) throw new Error('no kill was followed by a successful acks=all produce');
    const med = median(samples);
    const max = Math.max(...samples);
    console.log(
      `\nleader SIGKILL -> first acks=all produce: median ${(med / 1000).toFixed(2)} s, max ${(max / 1000).toFixed(2)} s over ${samples.length} kills` +
        `${failed > 0 ? ` (${failed} failed)` : ''}; target <= ${TARGET_MS / 1000} s: ${max <= TARGET_MS && failed === 0 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await cluster.close();
  }
}
