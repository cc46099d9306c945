// Both ILL machines, proved from their tables: every row works, every (state, event) pair
// outside the table is refused, guards never compete, and random event sequences keep the
// invariants (known states, closed terminal states, monotonic timestamps).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ServiceType, type Status, StatusSchema } from "../gen/lrs/v1/ill_pb.js";
import { isRefused, type Machine, type MachineContext, type TransitionRow, transition } from "./machine.js";
import {
  REQUESTER_EVENTS,
  REQUESTER_STATES,
  type RequesterContext,
  type RequesterEvent,
  type RequesterState,
  requesterMachine,
} from "./requester-machine.js";
import {
  SUPPLIER_EVENTS,
  SUPPLIER_STATES,
  type SupplierContext,
  type SupplierState,
  supplierMachine,
} from "./supplier-machine.js";

const AT = new Date("2025-03-10T12:00:00Z");
const DAY = 86_400_000;
const SERVICE_TYPES = [ServiceType.UNSPECIFIED, ServiceType.LOAN, ServiceType.COPY, ServiceType.COPY_OR_LOAN];
const DUE_DATES = [undefined, new Date(AT.getTime() - DAY), new Date(AT.getTime() + DAY)];
const STATUSES = StatusSchema.values.map((v) => v.number as Status);

function product<T extends Record<string, readonly unknown[]>>(dims: T): { [K in keyof T]: T[K][number] }[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(dims))
    out = out.flatMap((acc) => values.map((v) => ({ ...acc, [key]: v })));
  return out as { [K in keyof T]: T[K][number] }[];
}

/** Every combination of the values the requester guards read. */
const requesterContexts: RequesterContext[] = product({
  lendersLeft: [0, 1, 2],
  duplicateOf: [undefined, "ill-1"],
  overCopyrightLimit: [undefined, "a sixth copy from 0028-0836 in 2026, over 5"],
  serviceType: SERVICE_TYPES,
  supplierId: [undefined, "south-lib"],
  supplierStatus: [undefined, ...STATUSES],
});

/** Every combination of the values the supplier guards read. */
const supplierContexts: SupplierContext[] = product({
  serviceType: SERVICE_TYPES,
  dueDate: DUE_DATES,
  renewalsUsed: [0, 1, 2],
  maxRenewals: [0, 1],
  stateBeforeCancel: [undefined, ...SUPPLIER_STATES] as (SupplierState | undefined)[],
});

// The two machines' types differ; the checks below only need their common shape.
// biome-ignore lint/suspicious/noExplicitAny: a machine of any states, events, guards and effects
type AnyMachine = Machine<string, string, string, string, any>;
type AnyRow = TransitionRow<string, string, string, string>;

const cases: {
  machine: AnyMachine;
  states: readonly string[];
  events: readonly string[];
  contexts: object[];
}[] = [
  {
    machine: requesterMachine as unknown as AnyMachine,
    states: REQUESTER_STATES,
    events: REQUESTER_EVENTS,
    contexts: requesterContexts,
  },
  {
    machine: supplierMachine as unknown as AnyMachine,
    states: SUPPLIER_STATES,
    events: SUPPLIER_EVENTS,
    contexts: supplierContexts,
  },
];

function guardHolds(machine: AnyMachine, row: AnyRow, ctx: object, at: Date): boolean {
  return row.guard === undefined || machine.guards[row.guard]?.test(ctx, at) === true;
}

describe.each(cases)("$machine.name machine", ({ machine, states, events, contexts }) => {
  const terminal = states.filter((s) => machine.states[s]?.terminal);
  const informational = events.filter((e) => machine.events[e]?.informational);

  it("lists its states and events, and names them all in its descriptions", () => {
    expect(machine.stateList).toEqual(states);
    expect(machine.eventList).toEqual(events);
    expect(states).toContain(machine.initial);
    expect(new Set(informational)).toEqual(new Set(["status_request", "notification"]));
  });

  it("uses every guard and every effect it describes, and describes every one it uses", () => {
    const guards = new Set(machine.table.flatMap((r) => (r.guard === undefined ? [] : [r.guard])));
    const effects = new Set(machine.table.flatMap((r) => r.effects));
    expect(guards).toEqual(new Set(Object.keys(machine.guards)));
    expect(effects).toEqual(new Set(Object.keys(machine.effects)));
  });

  it("walks every row of its table", () => {
    for (const row of machine.table) {
      const ctx = contexts.find((c) => guardHolds(machine, row, c, AT));
      expect(ctx, `no context satisfies ${row.guard} (${row.from} --${row.event}-->)`).toBeDefined();
      const result = transition(machine, row.from, row.event, ctx as MachineContext, AT);
      expect(result).toEqual({
        to: row.to,
        effects: row.effects,
        record: { from: row.from, to: row.to, event: row.event, at: AT },
      });
    }
  });

  it("allows exactly the moves of its table, over every (state × event) pair and context", () => {
    const mismatches: string[] = [];
    const possible = new Set<string>();
    for (const state of states) {
      for (const event of events) {
        const rows = machine.table.filter((r) => r.from === state && r.event === event);
        for (const ctx of contexts) {
          const holding = rows.filter((r) => guardHolds(machine, r, ctx, AT));
          if (holding.length > 1)
            mismatches.push(`${state}/${event}: guards ${holding.map((r) => r.guard)} all hold`);
          const result = transition(machine, state, event, ctx as MachineContext, AT);
          const row = holding[0];
          if (!row) {
            if (!isRefused(result))
              mismatches.push(`${state}/${event}: moved to ${result.to}, not in the table`);
            else if (
              rows.length === 0 &&
              result.refused !== `event ${event} is not allowed in state ${state}`
            )
              mismatches.push(`${state}/${event}: reason "${result.refused}"`);
          } else if (isRefused(result)) {
            mismatches.push(`${state}/${event}: refused (${result.refused}) though ${row.guard} holds`);
          } else {
            possible.add(`${state} --${event}--> ${result.to}`);
            if (result.to !== row.to || result.effects !== row.effects)
              mismatches.push(`${state}/${event}: wrong row`);
          }
        }
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(possible).toEqual(new Set(machine.table.map((r) => `${r.from} --${r.event}--> ${r.to}`)));
  });

  it("names the guards it needs when none holds", () => {
    let checked = 0;
    for (const state of states) {
      for (const event of events) {
        const rows = machine.table.filter((r) => r.from === state && r.event === event);
        if (rows.length === 0 || rows.some((r) => r.guard === undefined)) continue;
        const ctx = contexts.find((c) => !rows.some((r) => guardHolds(machine, r, c, AT)));
        if (!ctx) continue; // complementary guards: one always holds
        const result = transition(machine, state, event, ctx as MachineContext, AT);
        expect(isRefused(result)).toBe(true);
        if (!isRefused(result)) continue;
        expect(result.refused).toMatch(`event ${event} is not allowed in state ${state} unless `);
        for (const r of rows) expect(result.refused).toContain(machine.guards[r.guard as string]?.describe);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("refuses unknown states, unknown events and invalid timestamps", () => {
    const ctx = contexts[0] as MachineContext;
    expect(transition(machine, "limbo", events[0] as string, ctx, AT)).toEqual({
      refused: `unknown ${machine.name} state limbo`,
    });
    expect(transition(machine, machine.initial, "teleport", ctx, AT)).toEqual({
      refused: `unknown ${machine.name} event teleport`,
    });
    expect(isRefused(transition(machine, machine.initial, "notification", ctx, new Date(Number.NaN)))).toBe(
      true,
    );
  });

  it("lets terminal states accept nothing but status requests and notifications, and never leave", () => {
    expect(terminal.length).toBeGreaterThan(0);
    for (const row of machine.table.filter((r) => terminal.includes(r.from))) {
      expect(informational, `${row.from} --${row.event}-->`).toContain(row.event);
      expect(row.to).toBe(row.from);
    }
    for (const row of machine.table.filter((r) => informational.includes(r.event)))
      expect(row.to).toBe(row.from);
  });

  it("reaches every state from the initial one, and a terminal state from every state", () => {
    const next = new Map<string, Set<string>>();
    for (const r of machine.table) next.set(r.from, (next.get(r.from) ?? new Set()).add(r.to));
    const reachable = new Set([machine.initial]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const s of [...reachable])
        for (const t of next.get(s) ?? [])
          if (!reachable.has(t)) {
            reachable.add(t);
            grew = true;
          }
    }
    expect(reachable).toEqual(new Set(states));
    for (const s of states) {
      const seen = new Set([s]);
      const queue = [s];
      while (queue.length > 0)
        for (const t of next.get(queue.shift() as string) ?? [])
          if (!seen.has(t)) queue.push(t) && seen.add(t);
      expect(
        terminal.some((t) => seen.has(t)),
        `${s} cannot end`,
      ).toBe(true);
    }
  });

  it("never changes its table or the context it is given", () => {
    const before = JSON.stringify(machine.table);
    const ctx = Object.freeze({ ...(contexts[5] as object) }) as MachineContext;
    for (const state of states) for (const event of events) transition(machine, state, event, ctx, AT);
    expect(JSON.stringify(machine.table)).toBe(before);
    expect(Object.isFrozen(machine.table)).toBe(true);
    expect(machine.table.every((r) => Object.isFrozen(r) && Object.isFrozen(r.effects))).toBe(true);
  });
});

describe("random event sequences", () => {
  // A step is a choice: usually one of the events the table has for the current state (so that
  // walks get deep), sometimes any event at all; and a clock step that may go backwards.
  const steps = fc.array(
    fc.record({
      any: fc.boolean(),
      pick: fc.nat(),
      dt: fc.integer({ min: -3_600_000, max: 20 * DAY }),
      status: fc.constantFrom(undefined, ...STATUSES),
    }),
    { maxLength: 80, size: "max" },
  );

  function choose(
    machine: AnyMachine,
    events: readonly string[],
    state: string,
    step: { any: boolean; pick: number },
  ) {
    const listed = [...new Set(machine.table.filter((r) => r.from === state).map((r) => r.event))];
    const pool = step.any || listed.length === 0 ? events : listed;
    return pool[step.pick % pool.length] as string;
  }

  it("requester: known states, closed terminal states, monotonic time, a rota never overdrawn", () => {
    fc.assert(
      fc.property(
        fc.nat(3),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(...SERVICE_TYPES),
        steps,
        (lenders, duplicate, overCopyright, serviceType, walk) => {
          let state: RequesterState = requesterMachine.initial;
          let ctx: RequesterContext = {
            lendersLeft: lenders,
            duplicateOf: duplicate ? "ill-0" : undefined,
            overCopyrightLimit: overCopyright ? "over the copyright rule" : undefined,
            serviceType,
          };
          let clock = AT.getTime();
          let last = -Infinity;
          for (const step of walk) {
            clock += step.dt;
            const event = choose(requesterMachine as unknown as AnyMachine, REQUESTER_EVENTS, state, step);
            // A lender's message brings the lender's status with it.
            if (requesterMachine.events[event as RequesterEvent]?.source === "message")
              ctx = { ...ctx, supplierStatus: step.status };
            const result = transition(requesterMachine, state, event as never, ctx, new Date(clock));
            if (isRefused(result)) {
              expect(result.refused).toMatch(/not allowed|unless/);
              continue;
            }
            const { record } = result;
            expect(REQUESTER_STATES).toContain(result.to);
            expect(record.from).toBe(state);
            expect(record.at.getTime()).toBeGreaterThanOrEqual(last);
            if (requesterMachine.states[state].terminal) {
              expect(requesterMachine.events[record.event].informational).toBe(true);
              expect(result.to).toBe(state);
            }
            last = record.at.getTime();
            ctx = { ...ctx, lastTransitionAt: record.at };
            for (const effect of result.effects) {
              if (effect === "send_request_to_next_lender")
                ctx = { ...ctx, lendersLeft: ctx.lendersLeft - 1, supplierId: `lender-${ctx.lendersLeft}` };
            }
            expect(ctx.lendersLeft).toBeGreaterThanOrEqual(0);
            state = result.to;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("supplier: known states, closed terminal states, monotonic time, renewals within policy", () => {
    fc.assert(
      fc.property(fc.constantFrom(...SERVICE_TYPES), fc.nat(2), steps, (serviceType, maxRenewals, walk) => {
        let state: SupplierState = supplierMachine.initial;
        let ctx: SupplierContext = { serviceType, renewalsUsed: 0, maxRenewals };
        let clock = AT.getTime();
        let last = -Infinity;
        for (const step of walk) {
          clock += step.dt;
          const event = choose(supplierMachine as unknown as AnyMachine, SUPPLIER_EVENTS, state, step);
          const result = transition(supplierMachine, state, event as never, ctx, new Date(clock));
          if (isRefused(result)) continue;
          const { record } = result;
          expect(SUPPLIER_STATES).toContain(result.to);
          expect(record.at.getTime()).toBeGreaterThanOrEqual(last);
          if (supplierMachine.states[state].terminal) {
            expect(supplierMachine.events[record.event].informational).toBe(true);
            expect(result.to).toBe(state);
          }
          last = record.at.getTime();
          ctx = { ...ctx, lastTransitionAt: record.at };
          for (const effect of result.effects) {
            if (effect === "check_out_item")
              ctx = { ...ctx, dueDate: new Date(record.at.getTime() + 28 * DAY) };
            if (effect === "update_due_date")
              ctx = {
                ...ctx,
                renewalsUsed: ctx.renewalsUsed + 1,
                dueDate: new Date(record.at.getTime() + 28 * DAY),
              };
          }
          if (result.to === "cancel_requested" && state !== "cancel_requested")
            ctx = { ...ctx, stateBeforeCancel: state };
          expect(ctx.renewalsUsed).toBeLessThanOrEqual(maxRenewals);
          state = result.to;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
