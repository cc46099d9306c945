import type { DescEnum, DescMessage, Message } from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Limits every request field must keep, checked at the edge before any handler sees the
 * message: a string longer than its field's limit, or a 64-bit unsigned number that no
 * SQLite column (signed 64-bit) can hold, is refused with INVALID_ARGUMENT naming the field
 * ("changes[2].seq", "institution_id") and the limit. Handlers still check meaning (ids,
 * formats); this is the size and range floor under all of them.
 */

/** Characters a string field may hold unless listed below: ids, names, codes, short notes. */
export const DEFAULT_STRING_LIMIT = 4096;

/** Fields that carry documents, not names: by field name (proto spelling). */
export const STRING_LIMITS: Record<string, number> = {
  // MARCXML records and PEM certificates and requests.
  marcxml: 4 * 1024 * 1024,
  csr_pem: 64 * 1024,
  certificate_pem: 64 * 1024,
  ca_certificate_pem: 64 * 1024,
  // CQL queries (the SRU listener has its own, larger limit for its HTTP callers).
  query: 64 * 1024,
  // Staff notes and ISO 18626 free text.
  note: 64 * 1024,
  notes: 64 * 1024,
  detail: 64 * 1024,
  summary_holdings: 64 * 1024,
  // Opaque search cursors this server wrote.
  cursor: 16 * 1024,
};

/** The largest value of a signed 64-bit integer: what SQLite stores, and so what a uint64 may carry. */
export const MAX_INT64 = 2n ** 63n - 1n;

/** The first field of `message` (and of the messages it holds) over its limit, or undefined. */
export function checkLimits(desc: DescMessage, message: Message): string | undefined {
  return walk(reflect(desc, message), "", 0);
}

const MAX_DEPTH = 64;

/** google.protobuf.Timestamp's own valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
const TIMESTAMP_MIN_SECONDS = -62_135_596_800n;
const TIMESTAMP_MAX_SECONDS = 253_402_300_799n;

function checkTimestamp(r: ReflectMessage, path: string): string | undefined {
  const m = r.message as unknown as { seconds: bigint; nanos: number };
  if (
    m.seconds < TIMESTAMP_MIN_SECONDS ||
    m.seconds > TIMESTAMP_MAX_SECONDS ||
    m.nanos < 0 ||
    m.nanos > 999_999_999
  )
    return `${path || "timestamp"}: not a valid timestamp (years 1 to 9999, nanos 0 to 999999999)`;
  return undefined;
}

function walk(r: ReflectMessage, prefix: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `${prefix || "message"}: nested more than ${MAX_DEPTH} levels deep`;
  if (r.desc.typeName === "google.protobuf.Timestamp") return checkTimestamp(r, prefix.replace(/\.$/, ""));
  for (const f of r.fields) {
    if (!r.isSet(f)) continue;
    const path = `${prefix}${f.name}`;
    switch (f.fieldKind) {
      case "scalar": {
        const bad = checkScalar(f.name, path, r.get(f));
        if (bad) return bad;
        break;
      }
      case "enum": {
        const bad = checkEnum(f.enum, path, r.get(f));
        if (bad) return bad;
        break;
      }
      case "message": {
        const bad = walk(r.get(f), `${path}.`, depth + 1);
        if (bad) return bad;
        break;
      }
      case "list": {
        let i = 0;
        for (const v of r.get(f)) {
          const bad =
            f.listKind === "message"
              ? walk(v as ReflectMessage, `${path}[${i}].`, depth + 1)
              : f.listKind === "enum"
                ? checkEnum(f.enum, `${path}[${i}]`, v as number)
                : checkScalar(f.name, `${path}[${i}]`, v);
          if (bad) return bad;
          i++;
        }
        break;
      }
      case "map":
        for (const [k, v] of r.get(f)) {
          const key = String(k);
          const keyBad = checkScalar(f.name, `${path} key`, key);
          if (keyBad) return keyBad;
          const bad =
            f.mapKind === "message"
              ? walk(v as ReflectMessage, `${path}[${cut(key, 40)}].`, depth + 1)
              : checkScalar(f.name, `${path}[${cut(key, 40)}]`, v);
          if (bad) return bad;
        }
        break;
      default:
        break;
    }
  }
  return undefined;
}

/** Proto3 lets an unknown enum number through; no handler here knows what it would mean. */
function checkEnum(e: DescEnum, path: string, v: number): string | undefined {
  if (e.values.some((x) => x.number === v)) return undefined;
  return `${path}: ${v} is not a known ${e.name} value`;
}

function checkScalar(name: string, path: string, v: unknown): string | undefined {
  if (typeof v === "string") {
    const limit = STRING_LIMITS[name] ?? DEFAULT_STRING_LIMIT;
    if (v.length > limit) return `${path}: ${v.length} characters, more than the ${limit} allowed`;
  } else if (typeof v === "bigint" && v > MAX_INT64) {
    return `${path}: ${v} is above the largest allowed value (${MAX_INT64})`;
  }
  return undefined;
}

/** At most `max` characters of `text`, saying how much was left out. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** Refuses requests over the limits (see above); streamed requests message by message. */
export function createLimitsInterceptor(): Interceptor {
  const check = (desc: DescMessage, m: Message) => {
    const bad = checkLimits(desc, m);
    if (bad) throw new ConnectError(bad, Code.InvalidArgument);
  };
  return (next) => async (req) => {
    const desc = req.method.input;
    if (!req.stream) {
      check(desc, req.message);
      return next(req);
    }
    const source = req.message;
    return next({
      ...req,
      message: (async function* () {
        for await (const m of source) {
          check(desc, m);
          yield m;
        }
      })(),
    });
  };
}
