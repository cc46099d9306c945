import { mkdirSync, readFileSync, statSync, utimesSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// A federation's ports are chosen when its configs are written and bound seconds later, when the
// nodes start. A port the kernel hands out for `listen(0)` comes from the ephemeral range, which
// every outgoing connection on the machine also draws from: in between, a client socket (of this
// federation or of another test running beside it) could take it, and a node then failed with
// EADDRINUSE. So ports are picked below the ephemeral range, where no outgoing connection lands,
// and reserved across processes with a directory per port (mkdir is atomic), so two federations
// being set up at the same time never pick the same one.

const RESERVATIONS = join(tmpdir(), "lrs-port-reservations");
/** A reservation older than this is stale (its federation has long bound the port, or is gone). */
const HOLD_MS = 15 * 60_000;
const LOWEST = 20_000;

/** The first port of the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function reserve(port: number): boolean {
  const path = join(RESERVATIONS, String(port));
  try {
    mkdirSync(path);
    return true;
  } catch {
    try {
      if (Date.now() - statSync(path).mtimeMs < HOLD_MS) return false;
      const now = new Date();
      utimesSync(path, now, now);
      return true;
    } catch {
      return false;
    }
  }
}

/** Asks the kernel for a free loopback port (from the ephemeral range). */
function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * A free loopback port for a node to bind later: below the ephemeral range, reserved for this
 * process for a quarter of an hour. Falls back to the kernel's choice when no such port is free
 * (or the ephemeral range starts too low to leave room).
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const high = Math.min(ephemeralLow(), 32_768);
  if (high - LOWEST >= 1000) {
    mkdirSync(RESERVATIONS, { recursive: true });
    for (let attempt = 0; attempt < 200; attempt++) {
      const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
      if (reserve(port) && (await portIsFree(port, host))) return port;
    }
  }
  return kernelPort(host);
}

/** True when nothing listens on the port. */
export function portIsFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
