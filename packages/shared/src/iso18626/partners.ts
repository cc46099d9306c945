// External ILL partners and ISO agency ids, as the directory holds them: the rules that say
// whether a partner entry is complete, and how LRS institutions are named in ISO 18626 messages.
import { createHash, timingSafeEqual } from "node:crypto";
import { clone } from "@bufbuild/protobuf";
import {
  type Directory,
  DirectorySchema,
  type ExternalPartner,
  type Institution,
  PartnerAuthMethod,
} from "../gen/lrs/v1/directory_pb.js";
import { ID_PATTERN } from "../tls/pki.js";
import { scryptHash, scryptVerify } from "../util/scrypt.js";
import { ISO18626_VERSIONS } from "./xsd.js";

/** SHA-256 of a secret, hex: what directories of release 0.1 kept of a partner's security code or password. */
export function sha256Hex(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

const FINGERPRINT = "fingerprint$";
const LEGACY = "sha256+";

/** What the directory keeps to recognise a partner's secret (see ExternalPartner.inbound_verifier). */
export async function partnerVerifier(method: PartnerAuthMethod, secret: string): Promise<string> {
  return method === PartnerAuthMethod.CLIENT_CERTIFICATE
    ? `${FINGERPRINT}${normalizeFingerprint(secret)}`
    : scryptHash(secret);
}

/**
 * The verifier of a partner entry of release 0.1, made from its unsalted SHA-256 digest (the
 * scrypt of the digest): the partner signs in with the same secret as before.
 */
export async function verifierOfLegacyDigest(p: ExternalPartner): Promise<string> {
  return p.inboundAuth === PartnerAuthMethod.CLIENT_CERTIFICATE
    ? `${FINGERPRINT}${normalizeFingerprint(p.inboundSecretSha256)}`
    : `${LEGACY}${await scryptHash(p.inboundSecretSha256)}`;
}

/**
 * Whether `given` (a security code or password; for CLIENT_CERTIFICATE the caller's certificate
 * fingerprint) is what the partner's verifier was made of. An entry not yet upgraded from an
 * SHA-256 digest is checked against the digest.
 */
export async function verifyPartnerSecret(p: ExternalPartner, given: string): Promise<boolean> {
  const v = p.inboundVerifier;
  if (v.startsWith(FINGERPRINT)) {
    const want = v.slice(FINGERPRINT.length);
    return want !== "" && normalizeFingerprint(given) === want;
  }
  if (v.startsWith(LEGACY)) return scryptVerify(sha256Hex(given), v.slice(LEGACY.length));
  if (v !== "") return scryptVerify(given, v);
  if (p.inboundSecretSha256 === "") return false;
  const want =
    p.inboundAuth === PartnerAuthMethod.CLIENT_CERTIFICATE
      ? normalizeFingerprint(p.inboundSecretSha256)
      : p.inboundSecretSha256;
  const got =
    p.inboundAuth === PartnerAuthMethod.CLIENT_CERTIFICATE ? normalizeFingerprint(given) : sha256Hex(given);
  return want.length === got.length && timingSafeEqual(Buffer.from(want), Buffer.from(got));
}

/** The directory as a node that is not a center sees it: partners without what verifies their secrets. */
export function withoutPartnerVerifiers(d: Directory): Directory {
  if (!d.externalPartners.some((p) => p.inboundVerifier !== "" || p.inboundSecretSha256 !== "")) return d;
  const copy = clone(DirectorySchema, d);
  for (const p of copy.externalPartners) {
    p.inboundVerifier = "";
    p.inboundSecretSha256 = "";
  }
  return copy;
}

/** "AB:CD:…" upper case: how certificate fingerprints are compared. */
export function normalizeFingerprint(fp: string): string {
  const hex = fp.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
  return hex.match(/.{2}/g)?.join(":") ?? "";
}

/** The ISO 18626 agency id of an LRS institution: the directory's type, its own value or its id. */
export function agencyIdOf(
  directory: Pick<Directory, "agencyIdType">,
  inst: Institution,
): { agencyIdType: string; agencyIdValue: string } {
  return { agencyIdType: directory.agencyIdType || "LRS", agencyIdValue: inst.isoAgencyId || inst.id };
}

/** The LRS institution an ISO agency id names, if any (the type must be the federation's). */
export function institutionByAgencyId(
  directory: Directory,
  type: string,
  value: string,
): Institution | undefined {
  if (type !== (directory.agencyIdType || "LRS")) return undefined;
  return directory.institutions.find((i) => !i.revoked && (i.isoAgencyId || i.id) === value);
}

/** The external partner an ISO agency id names, if any (type compared without case, as ISIL is). */
export function partnerByAgencyId(
  directory: Directory,
  type: string,
  value: string,
): ExternalPartner | undefined {
  return directory.externalPartners.find(
    (p) => p.agencyIdType.toLowerCase() === type.toLowerCase() && p.agencyIdValue === value,
  );
}

/**
 * What is wrong with a partner entry, or undefined: names the field.
 */
export function partnerProblem(p: ExternalPartner, directory: Directory): string | undefined {
  if (!ID_PATTERN.test(p.id))
    return `id "${p.id}" is not valid (lower-case letters, digits and dashes, 2–63)`;
  if (directory.institutions.some((i) => i.id === p.id)) return `id "${p.id}" is an LRS institution's`;
  if (p.name.trim() === "") return "name is required";
  if (p.agencyIdType.trim() === "" || p.agencyIdValue.trim() === "")
    return "agency id is required (type and value, e.g. ISIL US-NjP)";
  if (institutionByAgencyId(directory, p.agencyIdType, p.agencyIdValue))
    return `agency id ${p.agencyIdType}:${p.agencyIdValue} is an LRS institution's`;
  const other = partnerByAgencyId(directory, p.agencyIdType, p.agencyIdValue);
  if (other && other.id !== p.id)
    return `agency id ${p.agencyIdType}:${p.agencyIdValue} is partner ${other.id}'s`;
  let url: URL;
  try {
    url = new URL(p.endpointUrl);
  } catch {
    return `endpoint URL "${p.endpointUrl}" is not a URL`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return `endpoint URL "${p.endpointUrl}" is not http(s)`;
  if (!(ISO18626_VERSIONS as readonly string[]).includes(p.schemaVersion))
    return `schema version "${p.schemaVersion}" is not one of ${ISO18626_VERSIONS.join(", ")}`;
  if (p.inboundAuth === PartnerAuthMethod.UNSPECIFIED)
    return "inbound authentication is required (account, basic or certificate): an unauthenticated partner is refused";
  if (p.inboundVerifier === "" && p.inboundSecretSha256 === "")
    return "the partner's secret (or certificate fingerprint) is required";
  if (
    (p.inboundAuth === PartnerAuthMethod.ACCOUNT || p.inboundAuth === PartnerAuthMethod.HTTP_BASIC) &&
    p.inboundAccount === ""
  )
    return "the partner's account id (or user name) is required";
  if (!p.mayBorrow && !p.mayLend) return "a partner may borrow, lend or both";
  if (p.mayBorrow && !p.borrowsLoans && !p.borrowsCopies)
    return "a partner that may borrow takes loans, copies or both";
  if (p.mayLend && !p.lendsLoans && !p.suppliesCopies)
    return "a partner that may lend offers loans, copies or both";
  const fees = p.fees;
  if (fees && (fees.loanMinor > 0n || fees.copyMinor > 0n) && !/^[A-Z]{3}$/.test(fees.currency))
    return `fees need an ISO 4217 currency, not "${fees.currency}"`;
  return undefined;
}

/** "ISIL:US-NjP". */
export function agencyLabel(a: { agencyIdType: string; agencyIdValue: string } | undefined): string {
  return a ? `${a.agencyIdType}:${a.agencyIdValue}` : "-";
}
