import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExternalPartnerSchema } from "../../gen/lrs/v1/directory_pb.js";
import {
  MAX_CONCURRENT_CHECKS,
  MAX_FAILED_CHECKS_PER_MINUTE,
  PartnerSecretChecks,
  TooManyFailedChecks,
} from "./partner-auth.js";

const partner = create(ExternalPartnerSchema, { id: "njp", inboundVerifier: "scrypt$…" });
const other = create(ExternalPartnerSchema, { id: "mdu", inboundVerifier: "scrypt$…" });

/** A check standing in for scrypt: "right" is the secret; counts calls and how many run at once. */
function fakeVerify() {
  const s = { calls: 0, running: 0, most: 0 };
  const verify = async (_p: unknown, given: string) => {
    s.calls++;
    s.running++;
    s.most = Math.max(s.most, s.running);
    await new Promise((r) => setTimeout(r, 5));
    s.running--;
    return given === "right";
  };
  return { s, verify };
}

describe("checking partners' secrets", () => {
  it("remembers a secret that checked out, so later messages do not pay for scrypt", async () => {
    const { s, verify } = fakeVerify();
    const checks = new PartnerSecretChecks({ verify });
    expect(await checks.check(partner, "right")).toBe(true);
    expect(await checks.check(partner, "right")).toBe(true);
    expect(s.calls).toBe(1);
  });

  it("refuses a partner unchecked after too many failures in a minute, naming the limit, and lets it try again later", async () => {
    let now = 1_000_000;
    const { s, verify } = fakeVerify();
    const checks = new PartnerSecretChecks({ verify, now: () => now });
    for (let i = 0; i < MAX_FAILED_CHECKS_PER_MINUTE; i++)
      expect(await checks.check(partner, "wrong")).toBe(false);
    const refused = await checks.check(partner, "right").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyFailedChecks);
    expect((refused as Error).message).toBe(
      `too many failed authentications for njp (at most ${MAX_FAILED_CHECKS_PER_MINUTE} a minute): try again in 60 s`,
    );
    expect(s.calls).toBe(MAX_FAILED_CHECKS_PER_MINUTE);
    // Another partner is not held up by this one's failures.
    expect(await checks.check(other, "right")).toBe(true);
    now += 61_000;
    expect(await checks.check(partner, "right")).toBe(true);
  });

  it("runs only a few checks at once however many arrive", async () => {
    const { s, verify } = fakeVerify();
    const checks = new PartnerSecretChecks({ verify });
    await Promise.all(Array.from({ length: 8 }, (_, i) => checks.check(i % 2 ? partner : other, `w${i}`)));
    expect(s.most).toBe(MAX_CONCURRENT_CHECKS);
  });
});
