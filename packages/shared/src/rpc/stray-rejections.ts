// What a serving node does with a promise rejection nobody awaited. connect-node 2.1's HTTP/2
// session manager rejects the promise of a connection attempt that no call waits for any more when
// the peer refuses it (ECONNREFUSED while a peer restarts): found by the chaos harness, where it
// ended a process. Such a connection failure is the peer's state, which every call already sees
// through its own stream, so the node logs it and keeps serving. Any other unawaited rejection is
// a bug: logged and the process ends, as Node's default would (its supervisor restarts it).
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../log.js";

/** Codes of a connection that failed or was given up (the peer's state, not ours). */
const CONNECTION_CODES = new Set([Code.Unavailable, Code.Canceled, Code.DeadlineExceeded, Code.Aborted]);

/** True when `reason` is a failed connection attempt that the node may outlive. */
export function isStrayConnectionFailure(reason: unknown): boolean {
  return reason instanceof ConnectError && CONNECTION_CODES.has(reason.code);
}

/** Installs the handler on `proc` (the process of a node's `serve`). */
export function handleStrayRejections(log: Logger, proc: NodeJS.Process = process): void {
  proc.on("unhandledRejection", (reason) => {
    if (isStrayConnectionFailure(reason)) {
      log.warn(
        { err: reason },
        "a connection attempt nobody waited for failed (the peer is down or restarting)",
      );
      return;
    }
    log.fatal({ err: reason }, "unhandled promise rejection: stopping");
    proc.exit(1);
  });
}
