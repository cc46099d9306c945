import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { type NodeIdentity, tierName } from "../tls/pki.js";
import { type Peer, peerKey } from "./peer.js";

/**
 * A rule says whether a caller may make a call. It returns `true`, or the
 * reason for refusing it (sent to the caller, so it names no secrets).
 */
export type Rule = (peer: AuthenticatedPeer, self: NodeIdentity) => true | string;

export interface AuthenticatedPeer extends Peer {
  identity: NodeIdentity;
  fingerprint256: string;
}

/** Rules by fully-qualified method ("lrs.v1.DirectoryService/Enroll"). */
export interface Policy {
  rules: Record<string, Rule>;
  /** Methods that need no certificate at all (enrollment). */
  open: Set<string>;
}

function describe(id: NodeIdentity): string {
  return `${tierName(id.tier)} ${id.id}${id.region ? ` (region ${id.region})` : ""}`;
}

/** The node's own certificate: its CLI on the same machine. */
export const self: Rule = (peer, me) =>
  peer.identity.id === me.id || `only ${me.id} itself may make this call`;

/** Any holder of a valid federation certificate. */
export const federation: Rule = () => true;

/** The tier directly above: the national center for a regional center, the own regional center for a member. */
export const parent: Rule = (peer, me) => {
  if (me.tier === Tier.REGIONAL && peer.identity.tier === Tier.NATIONAL) return true;
  if (me.tier === Tier.MEMBER && peer.identity.tier === Tier.REGIONAL && peer.identity.region === me.region)
    return true;
  return `${describe(peer.identity)} is not the parent of ${me.id}`;
};

/** The tier directly below: regional centers for the national center, own members for a regional center. */
export const children: Rule = (peer, me) => {
  if (me.tier === Tier.NATIONAL && peer.identity.tier === Tier.REGIONAL) return true;
  if (me.tier === Tier.REGIONAL && peer.identity.tier === Tier.MEMBER && peer.identity.region === me.region)
    return true;
  return `${describe(peer.identity)} is not a member of ${me.id}`;
};

/**
 * Another regional center: peers talk directly only as a fallback when the
 * national center is unreachable (DESIGN.md), so only searches use this rule.
 */
export const peerRegional: Rule = (peer, me) =>
  (me.tier === Tier.REGIONAL && peer.identity.tier === Tier.REGIONAL && peer.identity.id !== me.id) ||
  `${describe(peer.identity)} is not a peer regional center`;

/** The first rule that allows wins; otherwise the first rule's refusal (the main audience's) is given. */
export function anyOf(first: Rule, ...rest: Rule[]): Rule {
  return (peer, me) => {
    const reason = first(peer, me);
    if (reason === true) return true;
    return rest.some((r) => r(peer, me) === true) || reason;
  };
}

export interface AuthzOptions {
  self: NodeIdentity;
  policy: Policy;
  /** True when the certificate with this fingerprint has been revoked. */
  isRevoked: (fingerprint256: string) => boolean;
}

/**
 * Default-deny authorization. Every call is checked against the caller's
 * certificate: a method without a rule is refused, whoever calls it.
 */
export function createAuthzInterceptor(opts: AuthzOptions): Interceptor {
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    if (opts.policy.open.has(method)) return next(req);
    const peer = req.contextValues.get(peerKey);
    const why = checkPeer(peer, opts.isRevoked);
    if (why) throw new ConnectError(why, Code.Unauthenticated);
    const rule = opts.policy.rules[method];
    if (!rule) throw new ConnectError(`${method} is not open to any caller`, Code.PermissionDenied);
    const res = rule(peer as AuthenticatedPeer, opts.self);
    if (res !== true) throw new ConnectError(`${method} refused: ${res}`, Code.PermissionDenied);
    return next(req);
  };
}

function checkPeer(peer: Peer, isRevoked: (fp: string) => boolean): string | undefined {
  if (!peer.presented) return "a federation client certificate is required";
  if (!peer.authorized)
    return `client certificate refused: ${peer.authorizationError ?? "not issued by the federation CA"}`;
  if (!peer.identity || !peer.fingerprint256) return "client certificate carries no LRS identity";
  if (isRevoked(peer.fingerprint256)) return `client certificate of ${peer.identity.id} has been revoked`;
  return undefined;
}
