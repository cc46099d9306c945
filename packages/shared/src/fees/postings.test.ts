import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { LedgerPostingSchema } from "../gen/lrs/v1/ledger_pb.js";
import {
  entryIdOf,
  LedgerInputError,
  MAX_POSTINGS_PER_CALL,
  postingMessage,
  postingOfRow,
  reversalIdOf,
  validatePosting,
  validatePostings,
} from "./postings.js";

type Over = MessageInitShape<typeof LedgerPostingSchema>;

function posting(over: Over = {}) {
  return create(LedgerPostingSchema, {
    entryId: "north-a:r1/charge",
    transactionId: "r1",
    kind: "loan",
    payerId: "north-a",
    payeeId: "south-a",
    currency: "EUR",
    amountMinor: 850n,
    postedAt: timestampFromDate(new Date("2026-11-30T23:59:59.500Z")),
    period: "2026-11",
    note: "loan of Moby Dick",
    ...over,
  });
}

describe("validatePosting", () => {
  it("takes a well-formed posting, with its time as UTC ISO text", () => {
    expect(validatePosting(posting(), 0)).toEqual({
      entryId: "north-a:r1/charge",
      transactionId: "r1",
      kind: "loan",
      payerId: "north-a",
      payeeId: "south-a",
      currency: "EUR",
      amountMinor: 850n,
      postedAt: "2026-11-30T23:59:59.500Z",
      period: "2026-11",
      reversesEntryId: "",
      note: "loan of Moby Dick",
    });
    expect(
      validatePosting(
        posting({ kind: "reversal", entryId: "x/reversal", reversesEntryId: "north-a:r1/charge" }),
        0,
      ).reversesEntryId,
    ).toBe("north-a:r1/charge");
  });

  const bad: Array<[string, Over, RegExp]> = [
    ["no entry id", { entryId: "" }, /^posting 3: entry_id is required$/],
    ["a long entry id", { entryId: "x".repeat(201) }, /entry_id is 201 characters long; the limit is 200/],
    ["a space in the entry id", { entryId: "a b" }, /entry_id may hold printable ASCII characters only/],
    [
      "no transaction id",
      { transactionId: "" },
      /posting 3 \(entry "north-a:r1\/charge"\): transaction_id is required/,
    ],
    [
      "a long transaction id",
      { transactionId: "t".repeat(201) },
      /transaction_id is 201 characters long; the limit is 200/,
    ],
    ["an unknown kind", { kind: "gift" }, /kind "gift" is not one of loan, copy, copyright, reversal/],
    ["a bad payer", { payerId: "North A" }, /payer_id "North A" is not an institution id/],
    ["no payee", { payeeId: "" }, /payee_id is required/],
    ["payer = payee", { payeeId: "north-a" }, /payer and payee are both north-a/],
    ["a lower-case currency", { currency: "eur" }, /currency "eur" is not an ISO 4217 code/],
    ["an unknown currency", { currency: "ABC" }, /currency "ABC" is not an ISO 4217 code/],
    ["a zero amount", { amountMinor: 0n }, /amount_minor must be positive, not 0/],
    ["a negative amount", { amountMinor: -5n }, /amount_minor must be positive, not -5/],
    [
      "a huge amount",
      { amountMinor: 10n ** 12n + 1n },
      /amount_minor 1000000000001 is over the largest amount taken \(1000000000000\)/,
    ],
    ["no time", { postedAt: undefined }, /posted_at is required/],
    [
      "a time before 1970",
      { postedAt: timestampFromDate(new Date("1969-12-31T00:00:00Z")), period: "1969-12" },
      /posted_at is not a usable time/,
    ],
    [
      "a period that is not posted_at's month",
      { period: "2026-12" },
      /period "2026-12" is not the month of posted_at 2026-11-30T23:59:59.500Z \(UTC\): expected "2026-11"/,
    ],
    ["a malformed period", { period: "11/2026" }, /expected "2026-11"/],
    ["a reversal naming nothing", { kind: "reversal" }, /reverses_entry_id is required/],
    [
      "a reversal of itself",
      { kind: "reversal", reversesEntryId: "north-a:r1/charge" },
      /cannot reverse itself/,
    ],
    [
      "a charge naming an entry",
      { reversesEntryId: "e0" },
      /reverses_entry_id is set, but kind is "loan", not "reversal"/,
    ],
    ["a long note", { note: "n".repeat(501) }, /note is 501 characters long; the limit is 500/],
  ];
  for (const [what, over, message] of bad)
    it(`refuses ${what}, naming the posting and the field`, () => {
      expect(() => validatePosting(posting(over), 2)).toThrow(LedgerInputError);
      expect(() => validatePosting(posting(over), 2)).toThrow(message);
    });
});

describe("validatePostings", () => {
  it("takes a charge and its reversal", () => {
    expect(entryIdOf("north-a", "r1", "charge")).toBe("north-a:r1/charge");
    const reversal = posting({
      entryId: reversalIdOf("north-a:r1/charge"),
      kind: "reversal",
      reversesEntryId: "north-a:r1/charge",
    });
    expect(validatePostings([posting(), reversal]).map((p) => p.entryId)).toEqual([
      "north-a:r1/charge",
      "north-a:r1/charge/reversal",
    ]);
  });

  it("refuses an empty call, a repeated entry and more postings than the limit, saying the limit", () => {
    expect(() => validatePostings([])).toThrow(/at least one posting is required/);
    expect(() => validatePostings([posting(), posting()])).toThrow(
      /^posting 2 \(entry "north-a:r1\/charge"\): entry_id appears twice in the call$/,
    );
    const many = Array.from({ length: MAX_POSTINGS_PER_CALL + 1 }, (_, i) =>
      posting({ entryId: `north-a:r${i}/charge` }),
    );
    expect(() => validatePostings(many)).toThrow(
      `1001 postings in one call; the limit is ${MAX_POSTINGS_PER_CALL}`,
    );
  });

  it("names the first bad posting of a call", () => {
    expect(() => validatePostings([posting(), posting({ entryId: "e2", currency: "" })])).toThrow(
      /^posting 2 \(entry "e2"\): currency "" is not/,
    );
  });
});

describe("a posting between its forms", () => {
  it("comes back the same from the wire and from a stored row", () => {
    const wire = posting({ kind: "reversal", reversesEntryId: "north-a:r0/charge" });
    const valid = validatePosting(wire, 0);
    expect(postingMessage(valid)).toEqual(wire);
    const row = {
      entry_id: valid.entryId,
      transaction_id: valid.transactionId,
      kind: valid.kind,
      payer_id: valid.payerId,
      payee_id: valid.payeeId,
      currency: valid.currency,
      amount_minor: 850,
      posted_at: valid.postedAt,
      period: valid.period,
      reverses_entry_id: valid.reversesEntryId,
      note: valid.note,
    };
    expect(postingOfRow(row)).toEqual(valid);
    expect(postingOfRow({ ...row, kind: "loan", reverses_entry_id: null }).reversesEntryId).toBe("");
  });
});
