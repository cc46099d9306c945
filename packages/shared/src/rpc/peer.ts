import type { TLSSocket } from "node:tls";
import { createContextKey } from "@connectrpc/connect";
import { identityFromSubjectAltName, type NodeIdentity } from "../tls/pki.js";

/** Who is calling, as the TLS handshake proved it. */
export interface Peer {
  /** The caller presented a certificate at all. */
  presented: boolean;
  /** The certificate chains to the federation CA and is within its validity. */
  authorized: boolean;
  /** Why not, when not authorized (OpenSSL's code, e.g. CERT_HAS_EXPIRED). */
  authorizationError?: string;
  identity?: NodeIdentity;
  fingerprint256?: string;
  remoteAddress?: string;
}

export const peerKey = createContextKey<Peer>(
  { presented: false, authorized: false },
  { description: "lrs peer" },
);

/** Reads the caller's certificate from the TLS socket under an HTTP/2 request. */
export function peerFromSocket(socket: TLSSocket): Peer {
  const cert = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
  const presented = !!cert && Object.keys(cert).length > 0;
  const peer: Peer = { presented, authorized: presented && socket.authorized === true };
  if (socket.remoteAddress) peer.remoteAddress = socket.remoteAddress;
  if (!presented || !cert) return peer;
  const err = socket.authorizationError;
  if (err) peer.authorizationError = typeof err === "string" ? err : String((err as Error).message ?? err);
  peer.fingerprint256 = cert.fingerprint256;
  const identity = identityFromSubjectAltName(cert.subjectaltname);
  if (identity) peer.identity = identity;
  return peer;
}
