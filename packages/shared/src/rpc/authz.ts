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

/** No caller: a method every node serves (shared code) that means nothing at this one. */
export const nobody: Rule = (_peer, me) => `no caller may make this call at ${me.id}`;

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
 * The authorization decision for one call: undefined when it may go ahead, else the error
 * to answer with. The interceptor and the generated matrix in DESIGN.md (authz-matrix.ts)
 * both come from here, so the table cannot say one thing while the server does another.
 */
export function authorize(method: string, peer: Peer, opts: AuthzOptions): ConnectError | undefined {
  if (opts.policy.open.has(method)) return undefined;
  const why = checkPeer(peer, opts.isRevoked);
  if (why) return new ConnectError(why, Code.Unauthenticated);
  const rule = opts.policy.rules[method];
  if (!rule) return new ConnectError(`${method} is not open to any caller`, Code.PermissionDenied);
  const res = rule(peer as AuthenticatedPeer, opts.self);
  if (res !== true) return new ConnectError(`${method} refused: ${res}`, Code.PermissionDenied);
  return undefined;
}

/**
 * Default-deny authorization. Every call is checked against the caller's
 * certificate: a method without a rule is refused, whoever calls it.
 */
export function createAuthzInterceptor(opts: AuthzOptions): Interceptor {
  return (next) => async (req) => {
    const refused = authorize(
      `${req.service.typeName}/${req.method.name}`,
      req.contextValues.get(peerKey),
      opts,
    );
    if (refused) throw refused;
    return next(req);
  };
}

/** The methods a policy speaks of: its rules and its open methods. */
export function policyMethods(policy: Policy): string[] {
  return [...new Set([...Object.keys(policy.rules), ...policy.open])].sort();
}

/**
 * A policy must name exactly the methods a node serves: a served method without a rule
 * would be refused to everyone by accident, a rule without a method is a stale promise
 * (and the authorization table in DESIGN.md would list it). Throws naming each.
 */
export function checkPolicyCoverage(policy: Policy, served: string[]): void {
  const named = new Set(policyMethods(policy));
  const servedSet = new Set(served);
  const problems = [
    ...served.filter((m) => !named.has(m)).map((m) => `${m} is served but has no authorization rule`),
    ...[...named].filter((m) => !servedSet.has(m)).map((m) => `${m} has a rule but is not served`),
  ];
  if (Object.keys(policy.rules).some((m) => policy.open.has(m)))
    problems.push("a method is both open and ruled");
  if (problems.length)
    throw new Error(`authorization policy does not match the services: ${problems.join("; ")}`);
}

function checkPeer(peer: Peer, isRevoked: (fp: string) => boolean): string | undefined {
  if (!peer.presented) return "a federation client certificate is required";
  if (!peer.authorized)
    return `client certificate refused: ${peer.authorizationError ?? "not issued by the federation CA"}`;
  if (!peer.identity || !peer.fingerprint256) return "client certificate carries no LRS identity";
  if (isRevoked(peer.fingerprint256)) return `client certificate of ${peer.identity.id} has been revoked`;
  return undefined;
}
