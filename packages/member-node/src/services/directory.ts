import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type directoryPb, directoryReadHandlers } from "@lrs/shared";
import type { MemberContext } from "../context.js";

const notHere = (what: string) => () => {
  throw new ConnectError(`${what} is done at the regional center, not at a member`, Code.Unimplemented);
};

/** A member serves its copy of the directory to its own CLI only. */
export function directoryService(
  ctx: MemberContext,
  streams: AbortSignal,
): ServiceImpl<typeof directoryPb.DirectoryService> {
  return {
    ...directoryReadHandlers(ctx.directory, streams),
    getCaCertificate: notHere("enrollment"),
    enroll: notHere("enrollment"),
    signCertificate: notHere("certificate signing"),
    renewCertificate: notHere("certificate renewal"),
    register: notHere("registration"),
  };
}
