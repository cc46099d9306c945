// State machines written as data: a table of rows { from, event, guard, to, effects }
// and one pure function that looks a move up in it. The requester and supplier
// machines (requester-machine.ts, supplier-machine.ts) are instances; services
// store the state, build the context from the request's data, call `transition`
// and carry out the named effects.
import type { Status } from "../gen/lrs/v1/ill_pb.js";

/** What every context carries: the time of the request's last transition. */
export interface MachineContext {
  /** `at` of the last transition record, so that timestamps never go back. */
  readonly lastTransitionAt?: Date;
}

export interface StateInfo {
  readonly describe: string;
  /** The ISO 18626 status this state corresponds to, where ISO has one. */
  readonly iso?: Status;
  /** A terminal state accepts nothing but status requests and notifications. */
  readonly terminal?: boolean;
}

export interface EventInfo {
  readonly describe: string;
  /** A message from the partner, a staff action, or the system (timers, validation). */
  readonly source: "message" | "staff" | "system";
  /** Changes nothing but the timeline: the only events a terminal state accepts. */
  readonly informational?: boolean;
}

/** A named pure predicate over the request's data and the time of the event. */
export interface Guard<C> {
  readonly describe: string;
  readonly test: (ctx: C, at: Date) => boolean;
}

/** One allowed move. Rows sharing `from` and `event` are told apart by mutually exclusive guards. */
export interface TransitionRow<S extends string, E extends string, G extends string, F extends string> {
  readonly from: S;
  readonly event: E;
  readonly guard?: G;
  readonly to: S;
  readonly effects: readonly F[];
}

export interface MachineSpec<S extends string, E extends string, G extends string, F extends string, C> {
  readonly name: string;
  readonly initial: S;
  readonly states: Readonly<Record<S, StateInfo>>;
  readonly events: Readonly<Record<E, EventInfo>>;
  readonly guards: Readonly<Record<G, Guard<C>>>;
  /** What each effect means for the service that carries it out. */
  readonly effects: Readonly<Record<F, string>>;
  readonly table: readonly TransitionRow<S, E, G, F>[];
}

export interface Machine<S extends string, E extends string, G extends string, F extends string, C>
  extends MachineSpec<S, E, G, F, C> {
  readonly stateList: readonly S[];
  readonly eventList: readonly E[];
  /** The rows of each (state, event) pair, in table order. */
  rowsFor(state: S, event: E): readonly TransitionRow<S, E, G, F>[];
}

/** What a transition leaves on the request's timeline. */
export interface TransitionRecord<S extends string, E extends string> {
  readonly from: S;
  readonly to: S;
  readonly event: E;
  readonly at: Date;
}

export type TransitionResult<S extends string, E extends string, F extends string> =
  | {
      readonly to: S;
      readonly effects: readonly F[];
      readonly record: TransitionRecord<S, E>;
    }
  | { readonly refused: string };

/** A machine whose table does not fit its own states, events, guards or effects. */
export class MachineDefinitionError extends Error {
  override readonly name = "MachineDefinitionError";
  constructor(
    readonly machine: string,
    readonly problems: readonly string[],
  ) {
    super(`${machine} machine: ${problems.join("; ")}`);
  }
}

/**
 * Checks a spec and freezes it. Throws MachineDefinitionError on a row naming an unknown
 * state, event, guard or effect, on two rows for one (state, event) where one is unguarded,
 * and on a repeated (state, event, guard).
 */
export function defineMachine<S extends string, E extends string, G extends string, F extends string, C>(
  spec: MachineSpec<S, E, G, F, C>,
): Machine<S, E, G, F, C> {
  const problems: string[] = [];
  const stateList = Object.keys(spec.states) as S[];
  const eventList = Object.keys(spec.events) as E[];
  if (!Object.hasOwn(spec.states, spec.initial)) problems.push(`initial state ${spec.initial} is unknown`);
  const index = new Map<string, TransitionRow<S, E, G, F>[]>();
  const table: TransitionRow<S, E, G, F>[] = [];
  for (const [i, row] of spec.table.entries()) {
    const where = `row ${i} (${row.from} --${row.event}-->)`;
    if (!Object.hasOwn(spec.states, row.from)) problems.push(`${where}: unknown state ${row.from}`);
    if (!Object.hasOwn(spec.states, row.to)) problems.push(`${where}: unknown state ${row.to}`);
    if (!Object.hasOwn(spec.events, row.event)) problems.push(`${where}: unknown event ${row.event}`);
    if (row.guard !== undefined && !Object.hasOwn(spec.guards, row.guard))
      problems.push(`${where}: unknown guard ${row.guard}`);
    for (const effect of row.effects)
      if (!Object.hasOwn(spec.effects, effect)) problems.push(`${where}: unknown effect ${effect}`);
    const key = pairKey(row.from, row.event);
    const rows = index.get(key) ?? [];
    if (rows.some((r) => r.guard === row.guard))
      problems.push(`${where}: repeats guard ${row.guard ?? "(none)"}`);
    else if (rows.length > 0 && (row.guard === undefined || rows.some((r) => r.guard === undefined)))
      problems.push(`${where}: rows for one state and event must all have guards`);
    const frozen = Object.freeze({ ...row, effects: Object.freeze([...row.effects]) });
    table.push(frozen);
    rows.push(frozen);
    index.set(key, rows);
  }
  if (problems.length > 0) throw new MachineDefinitionError(spec.name, problems);
  const none: readonly TransitionRow<S, E, G, F>[] = Object.freeze([]);
  for (const rows of index.values()) Object.freeze(rows);
  return Object.freeze({
    ...spec,
    table: Object.freeze(table),
    stateList: Object.freeze(stateList),
    eventList: Object.freeze(eventList),
    rowsFor: (state: S, event: E) => index.get(pairKey(state, event)) ?? none,
  });
}

function pairKey(state: string, event: string): string {
  return `${state}\u0000${event}`;
}

/**
 * The move `event` makes from `state`, or why it is refused. Pure: reads the table and the
 * context, changes neither. `at` is the caller's clock; the record's time is never before
 * `ctx.lastTransitionAt` (a wall clock that steps back does not reorder a timeline).
 */
export function transition<
  S extends string,
  E extends string,
  G extends string,
  F extends string,
  C extends MachineContext,
>(machine: Machine<S, E, G, F, C>, state: S, event: E, ctx: C, at: Date): TransitionResult<S, E, F> {
  if (!Object.hasOwn(machine.states, state)) return { refused: `unknown ${machine.name} state ${state}` };
  if (!Object.hasOwn(machine.events, event)) return { refused: `unknown ${machine.name} event ${event}` };
  if (Number.isNaN(at.getTime())) return { refused: "the transition has no valid timestamp" };
  const rows = machine.rowsFor(state, event);
  if (rows.length === 0) return { refused: `event ${event} is not allowed in state ${state}` };
  const row = rows.find((r) => r.guard === undefined || machine.guards[r.guard].test(ctx, at));
  if (!row) {
    const needs = rows.map((r) => (r.guard === undefined ? "" : machine.guards[r.guard].describe));
    return { refused: `event ${event} is not allowed in state ${state} unless ${needs.join(", or ")}` };
  }
  const last = ctx.lastTransitionAt;
  const stamped =
    last !== undefined && at.getTime() < last.getTime() ? new Date(last.getTime()) : new Date(at.getTime());
  return { to: row.to, effects: row.effects, record: { from: state, to: row.to, event, at: stamped } };
}

/** Narrows a result to a refusal. */
export function isRefused<S extends string, E extends string, F extends string>(
  result: TransitionResult<S, E, F>,
): result is { readonly refused: string } {
  return "refused" in result;
}
