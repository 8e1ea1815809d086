/**
 * Protocol negotiation of a classic group (Kafka's GroupMetadata.supportsProtocols and
 * selectProtocol): which protocols (assignors, for the "consumer" type) every member offers,
 * and the one chosen for a generation.
 */
import type { ClassicMember, ClassicProtocol } from './member.js';

/** Kafka's supportsProtocols: an empty group takes any non-empty type and list; otherwise same type and a protocol every member offers. */
export function supportsProtocols(members: Iterable<ClassicMember>, groupProtocolType: string | null, protocolType: string, protocols: readonly ClassicProtocol[]): boolean {
  if (protocolType === '' || protocols.length === 0) return false;
  const all = [...members];
  if (all.length === 0) return true;
  if (protocolType !== groupProtocolType) return false;
  return protocols.some((offered) => all.every((m) => m.protocols.some((p) => p.name === offered.name)));
}

/** Kafka's selectProtocol: among the protocols all members offer, the one most members prefer most. */
export function selectProtocol(members: readonly ClassicMember[]): string {
  let candidates = new Set(members[0]!.protocols.map((p) => p.name));
  for (const m of members.slice(1)) candidates = new Set(m.protocols.map((p) => p.name).filter((n) => candidates.has(n)));
  const votes = new Map<string, number>();
  for (const m of members) {
    const choice = m.vote(candidates);
    if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
  }
  let best = [...candidates][0]!;
  for (const [name, n] of votes) if (n > (votes.get(best) ?? 0)) best = name;
  return best;
}
