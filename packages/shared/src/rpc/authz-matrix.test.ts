import { describe, expect, it } from "vitest";
import {
  anyOf,
  checkPolicyCoverage,
  children,
  federation,
  nobody,
  type Policy,
  parent,
  self,
} from "./authz.js";
import {
  authzMatrix,
  MATRIX_BEGIN,
  MATRIX_END,
  matrixMarkdown,
  matrixSection,
  parseMatrixMarkdown,
} from "./authz-matrix.js";

const policy: Policy = {
  open: new Set(["t.S/Enroll"]),
  rules: {
    "t.S/Admin": self,
    "t.S/Down": parent,
    "t.S/Up": anyOf(children, self),
    "t.S/Health": federation,
    "t.S/Never": nobody,
  },
};

describe("the authorization matrix", () => {
  it("computes each cell with the server's own decision", () => {
    const rows = authzMatrix("regional", policy);
    const by = (m: string) => rows.find((r) => r.method === m)!.cells;
    expect(rows.map((r) => r.method)).toEqual([
      "t.S/Admin",
      "t.S/Down",
      "t.S/Enroll",
      "t.S/Health",
      "t.S/Never",
      "t.S/Up",
    ]);
    expect(by("t.S/Admin")).toMatchObject({ self: "allow", "own member": "deny", "national center": "deny" });
    expect(by("t.S/Down")).toMatchObject({ "national center": "allow", "peer regional center": "deny" });
    expect(by("t.S/Up")).toMatchObject({ "own member": "allow", "member, other region": "deny" });
    // A regional center has no "member of the same region" besides its own members.
    expect(by("t.S/Up")["member, same region"]).toBeUndefined();
    expect(by("t.S/Health")).toMatchObject({
      revoked: "unauth",
      "expired cert": "unauth",
      "no cert": "unauth",
    });
    expect(by("t.S/Enroll")).toMatchObject({ "no cert": "allow", "foreign CA": "allow", revoked: "allow" });
    expect(Object.values(by("t.S/Never")).every((v) => v !== "allow")).toBe(true);
  });

  it("reads back what it writes, between its markers", () => {
    const rows = [...authzMatrix("member", policy), ...authzMatrix("national", policy)];
    const doc = `# x\n${MATRIX_BEGIN}\n${matrixMarkdown(rows)}\n${MATRIX_END}\nrest`;
    expect(parseMatrixMarkdown(matrixSection(doc)!)).toEqual(rows);
    expect(matrixSection("no table here")).toBeUndefined();
  });

  it("refuses a policy that misses a served method or names one that is not served", () => {
    expect(() => checkPolicyCoverage(policy, Object.keys(policy.rules).concat("t.S/Enroll"))).not.toThrow();
    expect(() => checkPolicyCoverage(policy, ["t.S/Admin", "t.S/New"])).toThrow(
      /t\.S\/New is served but has no authorization rule.*t\.S\/Down has a rule but is not served/,
    );
  });
});
