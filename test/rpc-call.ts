import type { DescMethod, DescService, Message } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  acquisitionsPb,
  adminPb,
  catalogPb,
  copyPb,
  copyrightPb,
  directoryPb,
  gatewayPb,
  healthPb,
  illServicePb,
  ledgerPb,
  searchPb,
  trafficPb,
} from "@lrs/shared";

/** Every service an LRS node may serve. */
export const SERVICES: DescService[] = [
  healthPb.Health,
  acquisitionsPb.AcquisitionsService,
  adminPb.AdminService,
  catalogPb.CatalogService,
  catalogPb.CatalogSyncService,
  copyPb.CopyStaffService,
  copyPb.CopyTransferService,
  copyrightPb.CopyrightService,
  directoryPb.DirectoryService,
  gatewayPb.PartnerAdminService,
  illServicePb.IllService,
  illServicePb.IllStaffService,
  ledgerPb.LedgerService,
  searchPb.SearchService,
  trafficPb.TrafficService,
];

/** A method by its full name ("lrs.v1.DirectoryService/Enroll"). */
export function methodOf(name: string): DescMethod {
  const [svc, m] = name.split("/");
  const method = SERVICES.find((s) => s.typeName === svc)?.methods.find((x) => x.name === m);
  if (!method) throw new Error(`${name} is in no service this test knows`);
  return method;
}

/**
 * Makes one call of any kind with `req` and returns the error it ended with (undefined: it
 * succeeded). A server stream is read up to its first message.
 */
export async function callAny(
  transport: Transport,
  method: DescMethod,
  req: Message,
  timeoutMs: number,
): Promise<ConnectError | undefined> {
  const client = createClient(method.parent, transport) as unknown as Record<
    string,
    (...a: unknown[]) => unknown
  >;
  const fn = client[method.localName]!;
  const opts = { timeoutMs };
  try {
    switch (method.methodKind) {
      case "unary":
        await fn(req, opts);
        break;
      case "client_streaming":
        await fn(
          (async function* () {
            yield req;
          })(),
          opts,
        );
        break;
      default:
        for await (const _ of fn(req, opts) as AsyncIterable<unknown>) break;
    }
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}
