/** The shapes of classic-group requests, results and settings (group.ts is the state machine). */
import type { ClassicProtocol } from './member.js';

export type ClassicState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface ClassicGroupConfig {
  /** `group.initial.rebalance.delay.ms` */
  initialRebalanceDelayMs: number;
  /** `group.min.session.timeout.ms` / `group.max.session.timeout.ms` */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** `group.max.size` */
  maxSize: number;
}

export interface JoinRequest {
  sessionTimeoutMs: number;
  /** -1 (JoinGroup v0) means: the session timeout. */
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: ClassicProtocol[];
  /** JoinGroup v4+: a new member is first given its id with MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
  clientId: string;
  clientHost: string;
}

export interface SyncRequest {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface MemberRef {
  memberId: string;
  groupInstanceId: string | null;
}

export interface ClassicGroupSummary {
  state: ClassicState;
  protocolType: string;
  /** The chosen protocol while Stable, else ''. */
  protocolName: string;
  generationId: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer }>;
}
