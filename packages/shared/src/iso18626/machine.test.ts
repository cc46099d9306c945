import { describe, expect, it } from "vitest";
import { defineMachine, isRefused, MachineDefinitionError, type MachineSpec, transition } from "./machine.js";

// A toy machine: a door with a lock that needs a key.
type State = "open" | "closed" | "locked";
type Event = "close" | "open" | "lock";
type Ctx = { readonly hasKey: boolean; readonly lastTransitionAt?: Date };

const spec: MachineSpec<State, Event, "has_key", "log", Ctx> = {
  name: "door",
  initial: "open",
  states: {
    open: { describe: "open" },
    closed: { describe: "closed" },
    locked: { describe: "locked", terminal: true },
  },
  events: {
    close: { describe: "close", source: "staff" },
    open: { describe: "open", source: "staff" },
    lock: { describe: "lock", source: "staff" },
  },
  guards: { has_key: { describe: "the key is at hand", test: (ctx) => ctx.hasKey } },
  effects: { log: "write it down" },
  table: [
    { from: "open", event: "close", to: "closed", effects: ["log"] },
    { from: "closed", event: "open", to: "open", effects: [] },
    { from: "closed", event: "lock", guard: "has_key", to: "locked", effects: ["log"] },
  ],
};
const door = defineMachine(spec);
const T0 = new Date("2025-01-01T00:00:00Z");

describe("transition", () => {
  it("moves by the table and returns the record the caller timestamps", () => {
    expect(transition(door, "open", "close", { hasKey: false }, T0)).toEqual({
      to: "closed",
      effects: ["log"],
      record: { from: "open", to: "closed", event: "close", at: T0 },
    });
  });

  it("refuses a move not in the table, and a guarded one whose guard fails, saying why", () => {
    expect(transition(door, "open", "lock", { hasKey: true }, T0)).toEqual({
      refused: "event lock is not allowed in state open",
    });
    expect(transition(door, "closed", "lock", { hasKey: false }, T0)).toEqual({
      refused: "event lock is not allowed in state closed unless the key is at hand",
    });
    expect(isRefused(transition(door, "closed", "lock", { hasKey: true }, T0))).toBe(false);
  });

  it("never stamps a record before the last one, even when the clock steps back", () => {
    const later = new Date(T0.getTime() + 60_000);
    const result = transition(door, "open", "close", { hasKey: false, lastTransitionAt: later }, T0);
    expect(!isRefused(result) && result.record.at).toEqual(later);
    // The caller's Date is copied, not kept.
    const at = new Date(later.getTime() + 1);
    const again = transition(door, "open", "close", { hasKey: false, lastTransitionAt: later }, at);
    expect(!isRefused(again) && again.record.at).not.toBe(at);
  });
});

describe("defineMachine", () => {
  it("rejects rows naming unknown states, events, guards or effects", () => {
    const bad = {
      ...spec,
      table: [{ from: "ajar", event: "slam", guard: "strong", to: "gone", effects: ["shout"] }],
    } as unknown as typeof spec;
    expect(() => defineMachine(bad)).toThrow(MachineDefinitionError);
    try {
      defineMachine(bad);
    } catch (err) {
      expect((err as MachineDefinitionError).problems).toEqual([
        "row 0 (ajar --slam-->): unknown state ajar",
        "row 0 (ajar --slam-->): unknown state gone",
        "row 0 (ajar --slam-->): unknown event slam",
        "row 0 (ajar --slam-->): unknown guard strong",
        "row 0 (ajar --slam-->): unknown effect shout",
      ]);
    }
  });

  it("rejects two rows for one pair unless all are guarded, and repeated guards", () => {
    const twice = {
      ...spec,
      table: [...spec.table, { from: "open", event: "close", to: "locked", effects: [] }],
    } as typeof spec;
    expect(() => defineMachine(twice)).toThrow(/repeats guard \(none\)/);
    const mixed = {
      ...spec,
      table: [...spec.table, { from: "open", event: "close", guard: "has_key", to: "locked", effects: [] }],
    } as typeof spec;
    expect(() => defineMachine(mixed)).toThrow(/must all have guards/);
    expect(() => defineMachine({ ...spec, initial: "ajar" as State })).toThrow(/initial state ajar/);
  });
});
