import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Database } from "../db.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { type Directory, DirectorySchema, type DirectoryService } from "../gen/lrs/v1/directory_pb.js";
import { withoutPartnerVerifiers } from "../iso18626/partners.js";
import { peerKey } from "../rpc/peer.js";
import { AsyncQueue } from "../util/async-queue.js";

/** What every node knows of the directory: the current view and its changes. */
export interface DirectorySource {
  current(): Directory;
  onChange(fn: (d: Directory) => void): () => void;
  isRevoked(fingerprint256: string): boolean;
}

/**
 * A node's copy of the directory (regional centers and members), kept in
 * SQLite so that a restarted node knows the federation before it reconnects.
 */
export class DirectoryReplica implements DirectorySource {
  readonly #db: Database;
  readonly #listeners = new Set<(d: Directory) => void>();
  #dir: Directory;
  #revoked = new Set<string>();

  constructor(db: Database) {
    this.#db = db;
    const row = db.sqlite.prepare("SELECT data FROM directory_replica WHERE id = 1").get() as
      | { data: Buffer }
      | undefined;
    this.#dir = row
      ? fromBinary(DirectorySchema, new Uint8Array(row.data))
      : create(DirectorySchema, { version: 0n });
    this.#revoked = new Set(this.#dir.revokedFingerprints);
  }

  current(): Directory {
    return this.#dir;
  }

  /** Takes a newer directory; an older or equal version is ignored (messages may cross). Returns true if applied. */
  apply(dir: Directory): boolean {
    if (dir.version <= this.#dir.version) return false;
    this.#db.sqlite
      .prepare(
        `INSERT INTO directory_replica (id, version, data, received_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data, received_at = excluded.received_at`,
      )
      .run(dir.version, Buffer.from(toBinary(DirectorySchema, dir)), new Date().toISOString());
    this.#dir = dir;
    this.#revoked = new Set(dir.revokedFingerprints);
    for (const l of this.#listeners) l(dir);
    return true;
  }

  onChange(fn: (d: Directory) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  isRevoked(fp: string): boolean {
    return this.#revoked.has(fp);
  }
}

/**
 * The directory as `ctx`'s caller may have it: centers (regional and national) get what
 * verifies external partners' secrets, for their ISO 18626 gateways; every other caller gets the
 * directory without it.
 */
function forCaller(d: Directory, ctx: HandlerContext): Directory {
  const tier = ctx.values.get(peerKey)?.identity?.tier;
  return tier === Tier.REGIONAL || tier === Tier.NATIONAL ? d : withoutPartnerVerifiers(d);
}

/** GetDirectory and WatchDirectory answered from any source; shared by all tiers. */
export function directoryReadHandlers(
  source: DirectorySource,
  streams: AbortSignal,
): Pick<ServiceImpl<typeof DirectoryService>, "getDirectory" | "watchDirectory"> {
  return {
    getDirectory(_req, ctx: HandlerContext) {
      return { directory: forCaller(source.current(), ctx) };
    },
    async *watchDirectory(req, ctx: HandlerContext) {
      const signal = AbortSignal.any([ctx.signal, streams]);
      const queue = new AsyncQueue<Directory>(signal);
      const off = source.onChange((d) => queue.push(d));
      try {
        // The current view always comes first, also when the caller has it: it
        // tells the caller the stream is up (and costs one small message).
        const now = source.current();
        yield { directory: forCaller(now, ctx) };
        // biome-ignore lint/complexity/useMathMinMax: the versions are bigints, which Math.max does not take
        let sent = now.version > req.knownVersion ? now.version : req.knownVersion;
        for await (const d of queue) {
          // Several changes may queue up while the client is slow: send only the newest.
          if (d.version > sent && d.version === source.current().version) {
            sent = d.version;
            yield { directory: forCaller(d, ctx) };
          }
        }
      } finally {
        off();
      }
    },
  };
}
