/**
 * `rill groups list|describe|delete|reset-offsets`: consumer-group administration through the
 * SDK's Admin, shaped like Kafka's `kafka-consumer-groups` tool. Tables go to stdout; notes
 * that are not the command's output (dry run, live members) go to stderr, so `--export > plan.csv`
 * captures the plan alone; errors are one line on stderr with a non-zero exit.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { GroupDescription, GroupState, ResetOffsetsResult } from '../../client/admin/admin.js';
import {
  formatResetPlanCsv,
  parseIsoDatetime,
  parseIsoDuration,
  parseResetPlanCsv,
  parseTopicScope,
  type ResetStrategy,
  type TopicScope,
} from '../../client/admin/offset-reset.js';
import { rillError } from '../../protocol/errors.js';
import { action, createClient, table, writeOut, type BrokersOption } from '../common.js';

// KIP-848 states, then the classic (JoinGroup/SyncGroup) groups' rebalance states.
const STATES: readonly GroupState[] = ['empty', 'assigning', 'reconciling', 'stable', 'preparing_rebalance', 'completing_rebalance'];

interface ListOptions extends BrokersOption {
  /** true: show states; a list: show only groups in those states. */
  state?: true | string[];
}

interface ResetOptions extends BrokersOption {
  group: string;
  topic: TopicScope[];
  allTopics?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toCurrent?: boolean;
  toOffset?: number;
  shiftBy?: number;
  toDatetime?: number;
  byDuration?: string;
  fromFile?: string;
  dryRun?: boolean;
  execute?: boolean;
  export?: boolean;
}

export function registerGroupsCommands(program: Command): void {
  // One line per error, also for commander's usage errors: no help hint after them (the
  // subcommands inherit this setting when they are created below).
  const groups = program.command('groups').description('list, describe, delete consumer groups and reset their offsets').showHelpAfterError(false);

  groups
    .command('list')
    .description('list consumer groups, one per line')
    .option('--state [states...]', `show each group's state; with states (${STATES.join(', ')}), only groups in them`)
    .action(
      action(async (opts: ListOptions) => {
        const states = Array.isArray(opts.state) ? parseStates(opts.state) : undefined;
        const rill = createClient(opts, 'rill-cli-groups');
        try {
          const list = await rill.admin().listGroups(states !== undefined ? { states } : {});
          if (opts.state === undefined) {
            if (list.length > 0) await writeOut(list.map((g) => g.groupId).join('\n') + '\n');
          } else {
            await writeOut(table(['GROUP', 'STATE'], list.map((g) => [g.groupId, g.state])));
          }
        } finally {
          await rill.close();
        }
      }),
    );

  groups.command('describe <group>').description('show members, committed offsets, log end offsets and lag per partition').action(
    action(async (groupId: string, opts: BrokersOption) => {
      const rill = createClient(opts, 'rill-cli-groups');
      try {
        await writeOut(describeText(await rill.admin().describeGroup(groupId)));
      } finally {
        await rill.close();
      }
    }),
  );

  groups.command('delete <group>').description('delete a group and its committed offsets (only a group without live members)').action(
    action(async (groupId: string, opts: BrokersOption) => {
      const rill = createClient(opts, 'rill-cli-groups');
      try {
        await rill.admin().deleteGroup(groupId);
        await writeOut(`deleted group '${groupId}'\n`);
      } finally {
        await rill.close();
      }
    }),
  );

  groups
    .command('reset-offsets')
    .description('plan (default) or --execute a reset of a group\'s committed offsets, e.g. to replay history')
    .requiredOption('--group <group>', 'the consumer group')
    .option('--topic <topic[:p,p...]>', 'a topic to reset, all its partitions or the listed ones (repeatable)', collectScope, [])
    .option('--all-topics', 'every partition the group has committed offsets for')
    .option('--to-earliest', 'to the log start offset')
    .option('--to-latest', 'to the log end offset')
    .option('--to-current', 'to the committed offset (the log end where none): a no-op plan to --export')
    .option('--to-offset <n>', 'to offset n (clamped into each partition\'s log)', offsetArg('--to-offset'))
    .option('--shift-by <n>', 'move the committed offset by n (negative: back)', shiftArg)
    .option('--to-datetime <iso>', 'to the first offset at or after this time, e.g. 2026-01-15T12:00:00.000 (UTC unless a zone is given)', datetimeArg)
    .option('--by-duration <duration>', 'to the first offset at or after now minus this ISO-8601 duration, e.g. PT1H, P1DT12H', durationArg)
    .option('--from-file <plan.csv>', 'to the offsets of a CSV plan (topic,partition,offset; what --export prints)')
    .option('--dry-run', 'print the plan without changing anything (the default)')
    .option('--execute', 'apply the plan (refused while the group has live members)')
    .option('--export', 'print the plan as CSV topic,partition,offset instead of a table')
    .addHelpText(
      'after',
      `
Exactly one scope (--topic ... or --all-topics; optional with --from-file, where it filters the
file) and one strategy. Every target is clamped into [log start, log end].
Examples:
  rill groups reset-offsets --group billing --topic orders --to-earliest --execute
  rill groups reset-offsets --group billing --topic orders:0,1 --shift-by -100
  rill groups reset-offsets --group billing --all-topics --by-duration PT1H --export > plan.csv
  rill groups reset-offsets --group billing --from-file plan.csv --execute`,
    )
    .action(
      action(async (opts: ResetOptions) => {
        const { strategy, dryRun } = await resetRequest(opts);
        const rill = createClient(opts, 'rill-cli-groups');
        try {
          const result = await rill.admin().resetOffsets({
            groupId: opts.group,
            ...(opts.allTopics === true ? { allTopics: true } : {}),
            ...(opts.topic.length > 0 ? { topics: opts.topic } : {}),
            strategy,
            execute: !dryRun,
          });
          // An empty plan for --all-topics is a group with nothing committed (or no such group):
          // say so instead of printing an empty table and succeeding.
          if (opts.allTopics === true && result.plan.length === 0) {
            throw rillError('GROUP_ID_NOT_FOUND', `group '${opts.group}' has no committed offsets (in topics that still exist); nothing to reset`);
          }
          await writeOut(opts.export === true ? formatResetPlanCsv(result.plan) : planTable(result));
          if (dryRun) process.stderr.write(dryRunNote(opts.group, result));
        } finally {
          await rill.close();
        }
      }),
    );
}

/**
 * Checks the option combination (exactly one scope, one strategy, not both --dry-run and
 * --execute) and builds the SDK's strategy; every mistake is one Error with one line.
 */
async function resetRequest(opts: ResetOptions): Promise<{ strategy: ResetStrategy; dryRun: boolean }> {
  if (opts.dryRun === true && opts.execute === true) throw new Error('give --dry-run or --execute, not both');
  const strategies: string[] = [];
  if (opts.toEarliest === true) strategies.push('--to-earliest');
  if (opts.toLatest === true) strategies.push('--to-latest');
  if (opts.toCurrent === true) strategies.push('--to-current');
  if (opts.toOffset !== undefined) strategies.push('--to-offset');
  if (opts.shiftBy !== undefined) strategies.push('--shift-by');
  if (opts.toDatetime !== undefined) strategies.push('--to-datetime');
  if (opts.byDuration !== undefined) strategies.push('--by-duration');
  if (opts.fromFile !== undefined) strategies.push('--from-file');
  if (strategies.length !== 1) {
    throw new Error(
      `give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime, --by-duration, --from-file; got ${strategies.length === 0 ? 'none' : strategies.join(', ')}`,
    );
  }
  const hasTopics = opts.topic.length > 0;
  if (hasTopics && opts.allTopics === true) throw new Error('give either --topic or --all-topics, not both');
  if (!hasTopics && opts.allTopics !== true && opts.fromFile === undefined) throw new Error('give the scope: --topic T[:P,P...] (repeatable) or --all-topics');
  let strategy: ResetStrategy;
  if (opts.toEarliest === true) strategy = { toEarliest: true };
  else if (opts.toLatest === true) strategy = { toLatest: true };
  else if (opts.toCurrent === true) strategy = { toCurrent: true };
  else if (opts.toOffset !== undefined) strategy = { toOffset: opts.toOffset };
  else if (opts.shiftBy !== undefined) strategy = { shiftBy: opts.shiftBy };
  else if (opts.toDatetime !== undefined) strategy = { toDatetime: opts.toDatetime };
  else if (opts.byDuration !== undefined) strategy = { byDuration: opts.byDuration };
  else strategy = { fromPlan: parseResetPlanCsv(await readPlan(opts.fromFile!), opts.group) };
  return { strategy, dryRun: opts.execute !== true };
}

/** The `describe` output: a summary line, then one row per partition and per member holding none. */
function describeText(g: GroupDescription): string {
  const byId = new Map(g.members.map((m) => [m.memberId, m]));
  const dash = (v: string | number | null | undefined): string | number => (v === null || v === undefined ? '-' : v);
  const rows: Array<Array<string | number>> = g.partitions.map((p) => {
    const m = p.memberId === null ? undefined : byId.get(p.memberId);
    return [g.groupId, p.topic, p.partition, dash(p.committedOffset), dash(p.logEndOffset), dash(p.lag), dash(m?.memberId), dash(m?.clientHost), dash(m?.clientId)];
  });
  for (const m of g.members) {
    if (m.assignment.some((t) => t.partitions.length > 0)) continue;
    rows.push([g.groupId, '-', '-', '-', '-', '-', m.memberId, m.clientHost, m.clientId]);
  }
  const summary = `Group: ${g.groupId}  State: ${g.state}  Members: ${g.members.length}\n`;
  return summary + table(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'], rows);
}

function planTable(result: ResetOffsetsResult): string {
  return table(
    ['TOPIC', 'PARTITION', 'OLD-OFFSET', 'NEW-OFFSET'],
    result.plan.map((p) => [p.topic, p.partition, p.oldOffset ?? '-', p.newOffset]),
  );
}

function dryRunNote(groupId: string, result: ResetOffsetsResult): string {
  let note = 'dry run: nothing was changed; add --execute to apply this plan\n';
  if (result.liveMembers > 0) {
    const n = result.liveMembers;
    note += `note: group '${groupId}' has ${n} live member${n === 1 ? '' : 's'}; --execute would be refused until ${n === 1 ? 'it stops' : 'they stop'}\n`;
  }
  return note;
}

async function readPlan(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read plan file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function parseStates(list: string[]): GroupState[] {
  const out: GroupState[] = [];
  for (const item of list.flatMap((s) => s.split(','))) {
    const s = item.trim().toLowerCase();
    if (s.length === 0) continue;
    // Kafka's spellings too: PreparingRebalance, preparing-rebalance.
    const state = STATES.find((known) => known.replace('_', '') === s.replace(/[-_]/g, ''));
    if (state === undefined) throw new InvalidArgumentError(`unknown group state '${item}'; states are ${STATES.join(', ')}`);
    out.push(state);
  }
  return out;
}

function collectScope(value: string, previous: TopicScope[]): TopicScope[] {
  return [...previous, parsing(() => parseTopicScope(value))];
}

function offsetArg(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`${name} must be an integer >= 0, got '${value}'`);
    return Number(value);
  };
}

function shiftArg(value: string): number {
  if (!/^[-+]?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`--shift-by must be an integer (negative moves back), got '${value}'`);
  return Number(value);
}

function datetimeArg(value: string): number {
  return parsing(() => parseIsoDatetime(value));
}

function durationArg(value: string): string {
  parsing(() => parseIsoDuration(value));
  return value;
}

/** Option parsers must throw commander's InvalidArgumentError for a one-line usage error. */
function parsing<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}
