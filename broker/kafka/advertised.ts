/**
 * Where Kafka clients are told to connect: this broker's Kafka listener
 * (`kafka.advertised.host/port`, else the bound address), and on a cluster every live broker's
 * Kafka listener from the cluster seam (ctx.cluster.liveBrokers(): its registered `kafkaHost`
 * (its kafka.advertised.host, else kafka.host, else host) and `kafkaPort`; brokers without a Kafka listener are left out). Metadata uses it, and the group
 * handlers' FindCoordinator must too, so a Kafka client is never sent to a rill port.
 *
 * The address is known only once the listener is bound, after the context exists, so it is
 * attached to the context here rather than copied into it.
 */
import type { BrokerContext } from '../context.js';

export interface KafkaBrokerAddress {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

const advertised = new WeakMap<BrokerContext, { host: string; port: number }>();

/** Called by startBroker once the Kafka listener is bound. */
export function setKafkaAdvertised(ctx: BrokerContext, host: string, port: number): void {
  advertised.set(ctx, { host, port });
}

/** This broker's advertised Kafka address; null when its Kafka listener is off. */
export function kafkaAdvertised(ctx: BrokerContext): { host: string; port: number } | null {
  return advertised.get(ctx) ?? null;
}

/** Every broker a Kafka client may be sent to, sorted by node id. */
export function kafkaBrokers(ctx: BrokerContext): KafkaBrokerAddress[] {
  if (ctx.cluster !== null) {
    const out: KafkaBrokerAddress[] = [];
    for (const b of ctx.cluster.liveBrokers()) {
      if (b.nodeId === ctx.nodeId) {
        const self = kafkaAdvertised(ctx);
        if (self !== null) out.push({ nodeId: b.nodeId, host: self.host, port: self.port, rack: b.rack });
      } else if (b.kafkaPort !== null) {
        out.push({ nodeId: b.nodeId, host: b.kafkaHost, port: b.kafkaPort, rack: b.rack });
      }
    }
    return out;
  }
  const self = kafkaAdvertised(ctx);
  return self === null ? [] : [{ nodeId: ctx.nodeId, host: self.host, port: self.port, rack: null }];
}

/** The Kafka address of one node (FindCoordinator), or undefined when it has none or is not live. */
export function kafkaBrokerAddress(ctx: BrokerContext, nodeId: number): KafkaBrokerAddress | undefined {
  return kafkaBrokers(ctx).find((b) => b.nodeId === nodeId);
}
