import { Tier } from "../gen/lrs/v1/common_pb.js";
import type { Directory, Institution } from "../gen/lrs/v1/directory_pb.js";
import type { DirectorySource } from "./source.js";

const byId = new WeakMap<Directory, ReadonlyMap<string, Institution>>();

/** The directory's institutions by id, built once per directory version (lookups happen per message). */
export function institutionsOf(source: DirectorySource): ReadonlyMap<string, Institution> {
  const dir = source.current();
  let m = byId.get(dir);
  if (!m) {
    m = new Map(dir.institutions.map((i) => [i.id, i]));
    byId.set(dir, m);
  }
  return m;
}

/** The regional center serving a region (not revoked), from the directory. */
export function regionalCenterOf(source: DirectorySource, region: string): string | undefined {
  return source
    .current()
    .institutions.find((i) => i.tier === Tier.REGIONAL && i.region === region && !i.revoked)?.id;
}
