// The node's own Connect services under /rpc (connect-web and the generated descriptors), every
// call with the session's CSRF token. Loaded with the pages that call them, not the first page.
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { csrfToken } from "./api.js";

const withCsrf: Interceptor = (next) => (req) => {
  req.header.set("x-csrf-token", csrfToken());
  return next(req);
};

const transport = createConnectTransport({
  baseUrl: `${location.origin}/rpc`,
  useBinaryFormat: false,
  interceptors: [withCsrf],
  fetch: (input, init) => fetch(input, { ...init, credentials: "same-origin" }),
});

const clients = new Map<string, Client<DescService>>();

/** A typed client of one of the node's services. */
export function client<T extends DescService>(service: T): Client<T> {
  let c = clients.get(service.typeName);
  if (!c) {
    c = createClient(service, transport) as Client<DescService>;
    clients.set(service.typeName, c);
  }
  return c as unknown as Client<T>;
}
