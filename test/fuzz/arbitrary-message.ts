import { create, type DescField, type DescMessage, type Message, ScalarType } from "@bufbuild/protobuf";
import fc from "fast-check";

/**
 * fast-check arbitraries for any protobuf message, from its descriptor: every field may be
 * set, with values weighted toward what breaks servers (huge strings, 64-bit extremes,
 * control characters, markup, negative numbers), nested messages a few levels deep.
 */

const HOSTILE_STRINGS = [
  "",
  " ",
  "\u0000",
  "x".repeat(100_000),
  "a".repeat(4097),
  "../../../../etc/passwd",
  "' OR 1=1 --",
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
  "((((((((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))))))))))))",
  "\u202e\ud800",
  "north-a",
  "lrs:node:member:north:north-a",
  "2026-13-45T99:99:99Z",
  "NaN",
  "-1",
];
const U64 = 2n ** 64n - 1n;
const I64 = 2n ** 63n - 1n;

const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
);

function scalar(t: ScalarType): fc.Arbitrary<unknown> {
  switch (t) {
    case ScalarType.STRING:
      return text;
    case ScalarType.BYTES:
      return fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new Uint8Array(70_000).fill(0xff)));
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(fc.bigInt({ min: 0n, max: U64 }), fc.constantFrom(0n, 1n, I64, I64 + 1n, U64));
    case ScalarType.INT64:
    case ScalarType.SFIXED64:
    case ScalarType.SINT64:
      return fc.oneof(fc.bigInt({ min: -I64 - 1n, max: I64 }), fc.constantFrom(-I64 - 1n, -1n, 0n, I64));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 32 - 1));
    default:
      return fc.oneof(fc.integer(), fc.constantFrom(-(2 ** 31), -1, 0, 2 ** 31 - 1));
  }
}

function value(f: DescField, kind: "scalar" | "enum" | "message", depth: number): fc.Arbitrary<unknown> {
  if (kind === "message") {
    const m = f.message;
    return m ? initOf(m, depth + 1) : fc.constant(undefined);
  }
  if (kind === "enum") {
    const values = f.enum?.values.map((v) => v.number) ?? [0];
    return fc.oneof(fc.constantFrom(...values), fc.integer({ min: -5, max: 1000 }));
  }
  return scalar(f.scalar ?? ScalarType.STRING);
}

function fieldArb(f: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (f.fieldKind) {
    case "list":
      return fc.array(value(f, f.listKind, depth), { maxLength: depth > 1 ? 1 : 3 });
    case "map":
      return fc
        .array(fc.tuple(scalar(f.mapKey), value(f, f.mapKind, depth)), { maxLength: 2 })
        .map((kv) => Object.fromEntries(kv.map(([k, v]) => [String(k), v])));
    case "message":
      return value(f, "message", depth);
    case "enum":
      return value(f, "enum", depth);
    default:
      return value(f, "scalar", depth);
  }
}

/** An init object for `create(desc, init)`; past depth 3 nested messages stay empty. */
export function initOf(desc: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 3) return fc.constant({});
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of desc.fields) if (!f.oneof) parts[f.localName] = fieldArb(f, depth);
  for (const o of desc.oneofs) {
    parts[o.localName] = fc.oneof(
      ...o.fields.map((f) => fieldArb(f, depth).map((v) => ({ case: f.localName, value: v }))),
    );
  }
  return fc.record(parts, { requiredKeys: [] });
}

/** Random messages of this type. */
export function messageOf<D extends DescMessage>(desc: D): fc.Arbitrary<Message> {
  return initOf(desc).map((init) => create(desc, init as never) as Message);
}

/**
 * A valid message with one field changed to a hostile value: the mutations that slip past a
 * random generator (one huge string in an otherwise sensible request).
 */
export function mutationsOf(desc: DescMessage, base: Record<string, unknown> = {}): fc.Arbitrary<Message> {
  const fields = desc.fields.filter((f) => !f.oneof);
  if (!fields.length) return fc.constant(create(desc, base as never) as Message);
  return fc
    .constantFrom(...fields)
    .chain((f) => fieldArb(f, 0).map((v) => create(desc, { ...base, [f.localName]: v } as never) as Message));
}
