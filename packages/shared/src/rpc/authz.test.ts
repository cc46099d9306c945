import { Code, type ConnectError, createContextValues } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import type { NodeIdentity } from "../tls/pki.js";
import { anyOf, children, createAuthzInterceptor, type Policy, parent, self } from "./authz.js";
import { type Peer, peerKey } from "./peer.js";

const regional: NodeIdentity = { id: "north-rc", tier: Tier.REGIONAL, region: "north" };
const national: NodeIdentity = { id: "nat", tier: Tier.NATIONAL, region: "" };
const member: NodeIdentity = { id: "north-a", tier: Tier.MEMBER, region: "north" };
const southMember: NodeIdentity = { id: "south-a", tier: Tier.MEMBER, region: "south" };

const policy: Policy = {
  open: new Set(["t.S/Open"]),
  rules: { "t.S/Down": children, "t.S/Up": parent, "t.S/Admin": self, "t.S/Either": anyOf(children, self) },
};

function peer(identity: NodeIdentity | undefined, extra: Partial<Peer> = {}): Peer {
  return {
    presented: true,
    authorized: true,
    ...(identity ? { identity } : {}),
    fingerprint256: `FP-${identity?.id}`,
    ...extra,
  };
}

async function call(
  me: NodeIdentity,
  method: string,
  p: Peer,
  revoked: string[] = [],
): Promise<true | ConnectError> {
  const interceptor = createAuthzInterceptor({ self: me, policy, isRevoked: (fp) => revoked.includes(fp) });
  const [service, name] = method.split("/") as [string, string];
  const req = {
    service: { typeName: service },
    method: { name },
    contextValues: createContextValues().set(peerKey, p),
  };
  try {
    await interceptor(async () => ({}) as never)(req as never);
    return true;
  } catch (err) {
    return err as ConnectError;
  }
}

describe("authorization", () => {
  it("lets a regional center's own members call down-rules, and no one else", async () => {
    expect(await call(regional, "t.S/Down", peer(member))).toBe(true);
    const other = (await call(regional, "t.S/Down", peer(southMember))) as ConnectError;
    expect(other.code).toBe(Code.PermissionDenied);
    expect(other.rawMessage).toContain("member south-a (region south) is not a member of north-rc");
    expect(await call(national, "t.S/Down", peer(regional))).toBe(true);
    expect(((await call(national, "t.S/Down", peer(member))) as ConnectError).code).toBe(
      Code.PermissionDenied,
    );
  });

  it("lets only the parent call up-rules and only the node itself call admin", async () => {
    expect(await call(member, "t.S/Up", peer(regional))).toBe(true);
    expect(
      ((await call(member, "t.S/Up", peer({ ...regional, region: "south" }))) as ConnectError).code,
    ).toBe(Code.PermissionDenied);
    expect(await call(regional, "t.S/Up", peer(national))).toBe(true);
    expect(await call(member, "t.S/Admin", peer(member))).toBe(true);
    expect(((await call(member, "t.S/Admin", peer(regional))) as ConnectError).code).toBe(
      Code.PermissionDenied,
    );
    expect(await call(regional, "t.S/Either", peer(regional))).toBe(true);
  });

  it("refuses methods without a rule, and unauthenticated, foreign, expired or revoked callers", async () => {
    expect(((await call(regional, "t.S/Unknown", peer(member))) as ConnectError).rawMessage).toContain(
      "not open to any caller",
    );
    const none = (await call(regional, "t.S/Down", { presented: false, authorized: false })) as ConnectError;
    expect(none.code).toBe(Code.Unauthenticated);
    const expired = (await call(
      regional,
      "t.S/Down",
      peer(member, { authorized: false, authorizationError: "CERT_HAS_EXPIRED" }),
    )) as ConnectError;
    expect(expired.rawMessage).toBe("client certificate refused: CERT_HAS_EXPIRED");
    const revoked = (await call(regional, "t.S/Down", peer(member), ["FP-north-a"])) as ConnectError;
    expect(revoked.code).toBe(Code.Unauthenticated);
    expect(revoked.rawMessage).toContain("revoked");
    const anonymous = (await call(regional, "t.S/Down", peer(undefined))) as ConnectError;
    expect(anonymous.rawMessage).toContain("no LRS identity");
    expect(await call(regional, "t.S/Open", { presented: false, authorized: false })).toBe(true);
  });
});
