// Single sign-on with the library's OpenID Connect provider ([web.oidc]), through openid-client:
// the authorization code flow with PKCE, state and nonce; the person's groups (ID token, else
// userinfo) give the role, the highest of those mapped; a person in no mapped group is refused.
// Signing out ends the provider's session too (RP-initiated logout) when the provider offers it.
import { isLoopback, type OidcConfig } from "@lrs/shared";
import * as client from "openid-client";
import type { Role } from "../store/accounts.js";

/** How long a sign-in may take at the provider. */
export const PENDING_MS = 10 * 60_000;
const MAX_PENDING = 1000;

export class SsoRefused extends Error {}

/** The role `groups` give under `roles` (admin over staff over viewer), or undefined. */
export function roleOfGroups(roles: OidcConfig["roles"], groups: readonly string[]): Role | undefined {
  for (const role of ["admin", "staff", "viewer"] as const)
    if (roles[role].some((g) => groups.includes(g))) return role;
  return undefined;
}

function groupsOf(claims: Record<string, unknown> | undefined, claim: string): string[] | undefined {
  const v = claims?.[claim];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "string") return v.split(/[\s,]+/).filter(Boolean);
  return undefined;
}

export interface SsoPerson {
  name: string;
  /** issuer + subject: the account's tie to the provider. */
  subject: string;
  role: Role;
  groups: string[];
  /** The ID token, the hint for ending the provider's session at sign-out. */
  idToken: string;
}

export class OidcLogin {
  #config: Promise<client.Configuration> | undefined;
  /** state → what the callback checks, for sign-ins under way. */
  readonly #pending = new Map<string, { verifier: string; nonce: string; at: number }>();

  constructor(
    readonly cfg: OidcConfig,
    private readonly redirectUri: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  get label(): string {
    return this.cfg.label ?? `Sign in with ${new URL(this.cfg.issuer).host}`;
  }

  /** The provider's metadata, discovered once (again after a failure). */
  #discover(): Promise<client.Configuration> {
    this.#config ??= client
      .discovery(
        new URL(this.cfg.issuer),
        this.cfg.client_id,
        undefined,
        this.cfg.client_secret ? client.ClientSecretBasic(this.cfg.client_secret) : client.None(),
        isLoopback(new URL(this.cfg.issuer).hostname) ? { execute: [client.allowInsecureRequests] } : {},
      )
      .catch((err: unknown) => {
        this.#config = undefined;
        throw new Error(
          `the identity provider ${this.cfg.issuer} cannot be reached: ${(err as Error).message}`,
        );
      });
    return this.#config;
  }

  /** Where to send the browser, and the state it must bring back (kept in a cookie too). */
  async begin(): Promise<{ url: string; state: string }> {
    const config = await this.#discover();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const t = this.now();
    for (const [k, v] of this.#pending) if (v.at < t - PENDING_MS) this.#pending.delete(k);
    if (this.#pending.size >= MAX_PENDING)
      throw new SsoRefused(`too many sign-ins under way (${MAX_PENDING}): try again in a few minutes`);
    this.#pending.set(state, { verifier, nonce, at: t });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(),
      scope: ["openid", ...this.cfg.scopes].join(" "),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url: url.href, state };
  }

  /**
   * Where to send the browser to end the person's session at the provider too (its
   * end_session_endpoint, with the ID token as the hint and this application's front page to come
   * back to), or undefined when the provider offers no such endpoint: the sign-out is local only.
   */
  async endSessionUrl(idToken: string): Promise<string | undefined> {
    const config = await this.#discover();
    if (!idToken || !config.serverMetadata().end_session_endpoint) return undefined;
    return client.buildEndSessionUrl(config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: new URL("/", this.redirectUri()).href,
    }).href;
  }

  /** The person the provider sent back (`query`: the callback's query string), or SsoRefused why not. */
  async finish(query: string, cookieState: string | undefined): Promise<SsoPerson> {
    const callback = new URL(this.redirectUri());
    callback.search = query;
    const state = callback.searchParams.get("state") ?? "";
    const pending = this.#pending.get(state);
    this.#pending.delete(state);
    if (!pending || pending.at < this.now() - PENDING_MS || state !== cookieState)
      throw new SsoRefused("this sign-in was not started here, or took too long: start again");
    const error = callback.searchParams.get("error");
    if (error)
      throw new SsoRefused(
        `the identity provider refused: ${error}${callback.searchParams.get("error_description") ? ` (${callback.searchParams.get("error_description")})` : ""}`,
      );
    const config = await this.#discover();
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    let groups = groupsOf(claims, this.cfg.group_claim);
    let userinfo: Record<string, unknown> | undefined;
    if (!groups || claims[this.cfg.user_claim] === undefined) {
      userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      groups ??= groupsOf(userinfo, this.cfg.group_claim);
    }
    const name = String(claims[this.cfg.user_claim] ?? userinfo?.[this.cfg.user_claim] ?? claims.sub);
    const role = roleOfGroups(this.cfg.roles, groups ?? []);
    if (!role)
      throw new SsoRefused(
        `${name} is in no group that gives a role here (${this.cfg.group_claim}: ${(groups ?? []).join(", ") || "none"})`,
      );
    return {
      name,
      subject: `${claims.iss} ${claims.sub}`,
      role,
      groups: groups ?? [],
      idToken: tokens.id_token ?? "",
    };
  }
}
