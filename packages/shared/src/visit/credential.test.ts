import { describe, expect, it } from "vitest";
import {
  CredentialError,
  credentialToken,
  generateVisitKey,
  newCredentialId,
  parseShortCode,
  parseToken,
  publishedKey,
  shortCode,
  signCredential,
  verifyCredential,
} from "./credential.js";

const NOW = new Date("2026-12-05T10:00:00Z");
const key = generateVisitKey();
const keys = [publishedKey(key, NOW)];

function issue(over: { expiresAt?: Date } = {}) {
  return signCredential(
    {
      credentialId: newCredentialId(),
      homeAgencyId: "north-a",
      readerId: "r-abc",
      privileges: { maxLoans: 5, materialTypes: ["book"] },
      issuedAt: NOW,
      expiresAt: over.expiresAt ?? new Date(NOW.getTime() + 14 * 86_400_000),
    },
    key,
  );
}

function refusal(f: () => unknown): CredentialError {
  try {
    f();
  } catch (err) {
    if (err instanceof CredentialError) return err;
    throw err;
  }
  throw new Error("expected a CredentialError");
}

describe("visiting-reader credentials", () => {
  it("verifies a credential through its token with the published key", () => {
    const c = issue();
    const body = verifyCredential(parseToken(credentialToken(c)), { keys, now: NOW });
    expect(body.homeAgencyId).toBe("north-a");
    expect(body.readerId).toBe("r-abc");
    expect(body.privileges?.maxLoans).toBe(5);
    expect(body.keyId).toBe(key.keyId);
  });

  it("refuses a credential whose body was altered", () => {
    const c = issue();
    const body = Buffer.from(c.body);
    // Flip a byte of the reader id.
    const at = body.indexOf(Buffer.from("r-abc"));
    body[at + 2] = "x".charCodeAt(0);
    const e = refusal(() => verifyCredential({ ...c, body: new Uint8Array(body) }, { keys, now: NOW }));
    expect(e.part).toBe("signature");
  });

  it("refuses a credential signed by a key the directory does not publish", () => {
    const other = generateVisitKey();
    const e = refusal(() => verifyCredential(issue(), { keys: [publishedKey(other, NOW)], now: NOW }));
    expect(e.part).toBe("keyId");
    expect(e.message).toMatch(/not a key north-a publishes/);
  });

  it("refuses a forged credential that names the home key but was signed by another", () => {
    const forger = generateVisitKey();
    const forged = signCredential(
      {
        credentialId: newCredentialId(),
        homeAgencyId: "north-a",
        readerId: "r-evil",
        privileges: { maxLoans: 99, materialTypes: [] },
        issuedAt: NOW,
        expiresAt: new Date(NOW.getTime() + 86_400_000),
      },
      { ...forger, keyId: key.keyId },
    );
    expect(refusal(() => verifyCredential(forged, { keys, now: NOW })).part).toBe("signature");
  });

  it("refuses an expired credential", () => {
    const c = issue({ expiresAt: new Date(NOW.getTime() - 1000) });
    const e = refusal(() => verifyCredential(c, { keys, now: NOW }));
    expect(e.part).toBe("expiresAt");
  });

  it("names what is wrong with a malformed token", () => {
    expect(refusal(() => parseToken("hello")).part).toBe("token");
    expect(refusal(() => parseToken("LRSV1.a+b.cc")).part).toBe("token.body");
    expect(refusal(() => parseToken(`LRSV1.${"a".repeat(3000)}.b`)).message).toMatch(/2048/);
    expect(refusal(() => verifyCredential(parseToken("LRSV1.AAEC.AAEC"), { keys, now: NOW })).part).toMatch(
      /^body/,
    );
  });

  it("reads back a short code, typed loosely", () => {
    const id = "7K3F90QXM2";
    const code = shortCode("north-a", id);
    expect(code).toBe("NORTH-A-7K3F9-0QXM2");
    expect(parseShortCode(code)).toEqual({ homeAgencyId: "north-a", credentialId: id });
    expect(parseShortCode("north-a-7k3f9-oqxm2")).toEqual({ homeAgencyId: "north-a", credentialId: id });
    expect(refusal(() => parseShortCode("NORTH-A")).part).toBe("code");
  });
});
