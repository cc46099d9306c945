import { describe, expect, it } from "vitest";
import { ItemsCsvError, readItemsCsv } from "./items-csv.js";

async function* chunks(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe("readItemsCsv", () => {
  const text = [
    "barcode,record_id,call_number,extra",
    '"A""1",r1,"QA 76, v.2"',
    'A2,r1,"two',
    'lines"',
    "A3,r2,,ignored",
    "",
  ].join("\n");

  it("reads quoted fields, doubled quotes and line breaks inside quotes, columns in any order", async () => {
    const csv = await readItemsCsv(chunks(text, 1 << 16));
    expect(csv.rows).toBe(3);
    expect(csv.rejected).toEqual([]);
    expect(csv.byRecord.get("r1")).toEqual([
      { barcode: 'A"1', callNumber: "QA 76, v.2", location: "", status: "available", loanRule: "standard" },
      { barcode: "A2", callNumber: "two\nlines", location: "", status: "available", loanRule: "standard" },
    ]);
    expect(csv.byRecord.get("r2")!.map((h) => h.barcode)).toEqual(["A3"]);
    expect(csv.lines.get("r2")).toBe(5);
  });

  it("gives the same result whatever the chunk boundaries (a quote pair or a UTF-8 character split)", async () => {
    const whole = await readItemsCsv(chunks(text, 1 << 16));
    for (const size of [1, 2, 3, 5, 7]) {
      const split = await readItemsCsv(chunks(text, size));
      expect([...split.byRecord]).toEqual([...whole.byRecord]);
    }
    const cjk = await readItemsCsv(chunks("record_id,barcode,location\nr1,B1,東アジア図書館\n", 1));
    expect(cjk.byRecord.get("r1")![0]!.location).toBe("東アジア図書館");
  });

  it("refuses an oversized row with the limit and goes on after it", async () => {
    const csv = await readItemsCsv(chunks(`record_id,barcode\nr1,${"x".repeat(100)}\nr2,B2\n`, 16), 50);
    expect(csv.rejected).toEqual([{ line: 2, reason: "row is longer than 50 characters; refused" }]);
    expect([...csv.byRecord.keys()]).toEqual(["r2"]);
  });

  it("reads due dates; a row whose due_date is not a date is rejected with its line and why", async () => {
    const csv = await readItemsCsv(
      chunks(
        [
          "record_id,barcode,status,due_date",
          "r1,D1,on_loan,2026-12-14",
          "r1,D2,,2027-01-05",
          "r1,D3,available,",
          "r2,D4,on_loan,14/12/2026",
          "r2,D5,on_loan,2026-02-30",
          "r2,D6,on_loan, 2026-12-01 ",
          "",
        ].join("\n"),
        64,
      ),
    );
    expect(csv.byRecord.get("r1")).toEqual([
      {
        barcode: "D1",
        callNumber: "",
        location: "",
        status: "on_loan",
        loanRule: "standard",
        dueDate: "2026-12-14",
      },
      // A due date and no status: on loan.
      {
        barcode: "D2",
        callNumber: "",
        location: "",
        status: "on_loan",
        loanRule: "standard",
        dueDate: "2027-01-05",
      },
      { barcode: "D3", callNumber: "", location: "", status: "available", loanRule: "standard" },
    ]);
    expect("dueDate" in csv.byRecord.get("r1")![2]!).toBe(false);
    expect(csv.byRecord.get("r2")!.map((h) => [h.barcode, h.dueDate])).toEqual([["D6", "2026-12-01"]]);
    expect(csv.rejected).toEqual([
      { line: 5, reason: 'due_date "14/12/2026" is not a date (expected YYYY-MM-DD)' },
      { line: 6, reason: 'due_date "2026-02-30" is not a date (expected YYYY-MM-DD)' },
    ]);
  });

  it("is not an items file without record_id and barcode columns", async () => {
    await expect(readItemsCsv(chunks("id,code\n1,2\n", 64))).rejects.toThrow(ItemsCsvError);
    await expect(readItemsCsv(chunks("record_id,code\n1,2\n", 64))).rejects.toThrow(/no barcode column/);
    await expect(readItemsCsv(chunks("", 64))).rejects.toThrow(/empty/);
  });
});
