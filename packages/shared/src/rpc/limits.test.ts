import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CatalogChangeSchema, PushChangesRequestSchema } from "../gen/lrs/v1/catalog_pb.js";
import { EnrollRequestSchema } from "../gen/lrs/v1/directory_pb.js";
import { GetTrafficRequestSchema } from "../gen/lrs/v1/traffic_pb.js";
import type { Logger } from "../log.js";
import { boundedError, MAX_ERROR_MESSAGE, ValidationError } from "./errors.js";
import { checkLimits, createLimitsInterceptor, DEFAULT_STRING_LIMIT, MAX_INT64 } from "./limits.js";
import { RefusalLog } from "./refusal-log.js";

describe("edge limits", () => {
  it("refuses a uint64 no SQLite column can hold, naming the field inside the list", () => {
    const req = create(PushChangesRequestSchema, {
      changes: [
        create(CatalogChangeSchema, { seq: 5n }),
        create(CatalogChangeSchema, { seq: MAX_INT64 + 1n }),
      ],
    });
    expect(checkLimits(PushChangesRequestSchema, req)).toBe(
      `changes[1].seq: ${MAX_INT64 + 1n} is above the largest allowed value (${MAX_INT64})`,
    );
    req.changes[1]!.seq = MAX_INT64;
    expect(checkLimits(PushChangesRequestSchema, req)).toBeUndefined();
  });

  it("refuses a string over its field's limit with the length and the limit, never the text", () => {
    const token = "x".repeat(100_000);
    const bad = checkLimits(EnrollRequestSchema, create(EnrollRequestSchema, { token }));
    expect(bad).toBe(`token: 100000 characters, more than the ${DEFAULT_STRING_LIMIT} allowed`);
    // Documents have room: a CSR of 20 KB is fine.
    expect(
      checkLimits(EnrollRequestSchema, create(EnrollRequestSchema, { csrPem: "y".repeat(20_000) })),
    ).toBeUndefined();
  });

  it("refuses a timestamp outside years 1 to 9999 (GetTraffic once answered INTERNAL to one)", () => {
    const bad = create(GetTrafficRequestSchema, {
      since: create(TimestampSchema, { seconds: 9_000_000_000_000n }),
    });
    expect(checkLimits(GetTrafficRequestSchema, bad)).toBe(
      "since: not a valid timestamp (years 1 to 9999, nanos 0 to 999999999)",
    );
    const ok = create(GetTrafficRequestSchema, {
      since: create(TimestampSchema, { seconds: 1_800_000_000n }),
    });
    expect(checkLimits(GetTrafficRequestSchema, ok)).toBeUndefined();
  });

  it("answers INVALID_ARGUMENT before the handler runs", async () => {
    let ran = false;
    const next = (async () => {
      ran = true;
      return {};
    }) as never;
    const call = createLimitsInterceptor()(next);
    const req = {
      stream: false,
      method: { input: EnrollRequestSchema },
      message: create(EnrollRequestSchema, { token: "x".repeat(DEFAULT_STRING_LIMIT + 1) }),
    } as never;
    const err = await call(req).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("token:");
    expect(ran).toBe(false);
  });
});

describe("errors on the wire", () => {
  it("cuts a message that quotes a long input, keeping its start and its code", () => {
    const err = boundedError(new ValidationError(`institution id "${"a".repeat(100_000)}" is not valid`));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE);
    expect(err.rawMessage).toMatch(/^institution id "a+… \(\d+ more characters cut\)$/);
  });

  it("never sends an unexpected error's own text", () => {
    const err = boundedError(new RangeError("The bound string, buffer, or bigint is too big"));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error");
  });
});

describe("refusal log", () => {
  it("logs once per method and code per window, then says how many it left out", () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = { warn: (o: Record<string, unknown>) => lines.push(o) } as unknown as Logger;
    const r = new RefusalLog(log, 1000);
    for (let i = 0; i < 500; i++) r.note("lrs.v1.X/Y", Code.InvalidArgument, "bad", 10 + i);
    r.note("lrs.v1.X/Z", Code.InvalidArgument, "bad", 20);
    r.note("lrs.v1.X/Y", Code.InvalidArgument, "bad", 2000);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ method: "lrs.v1.X/Y", code: "InvalidArgument", suppressed: 499 });
  });
});
