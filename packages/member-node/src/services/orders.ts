// The library's orders through AcquisitionsService at the member, for its own staff (the web
// application): the same OrderBook calls as `lrs-member order add|list|receive|cancel`.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { acquisitionsPb, type Database, mapErrors, ValidationError } from "@lrs/shared";
import { AcquisitionsError, type Order, OrderBook, type OrderState } from "../acquisitions/orders.js";
import type { MemberCatalog } from "../store/catalog.js";

const STATES = ["open", "received", "cancelled"];

function orderPb(o: Order): acquisitionsPb.Order {
  const { createdAt, closedAt, ...rest } = o;
  return create(acquisitionsPb.OrderSchema, {
    ...rest,
    createdAt: timestampFromDate(new Date(createdAt)),
    ...(closedAt ? { closedAt: timestampFromDate(new Date(closedAt)) } : {}),
  });
}

/** An order that cannot be made or changed, as the caller should read it. */
function refusal(err: unknown): unknown {
  if (!(err instanceof AcquisitionsError)) return err;
  if (err.field !== "order") return new ValidationError(err.message);
  return new ConnectError(
    err.message,
    err.message.startsWith("no order") ? Code.NotFound : Code.FailedPrecondition,
  );
}

function withBook<T>(book: OrderBook, fn: (b: OrderBook) => T): T {
  try {
    return fn(book);
  } catch (err) {
    throw refusal(err);
  }
}

export function orderService(o: {
  db: Database;
  catalog: MemberCatalog;
}): Pick<
  ServiceImpl<typeof acquisitionsPb.AcquisitionsService>,
  "placeOrder" | "listOrders" | "receiveOrder" | "cancelOrder"
> {
  const book = new OrderBook(o.db, o.catalog);
  return {
    placeOrder: mapErrors((req: acquisitionsPb.PlaceOrderRequest) =>
      withBook(book, (b) => {
        const { order, duplicate } = b.add({
          ...(req.isbn ? { isbn: req.isbn } : {}),
          ...(req.issn ? { issn: req.issn } : {}),
          ...(req.title ? { title: req.title } : {}),
          ...(req.author ? { author: req.author } : {}),
          copies: req.copies || 1,
          ...(req.expectedDate ? { expectedDate: req.expectedDate } : {}),
          ...(req.fund ? { fund: req.fund } : {}),
          ...(req.vendorRef ? { vendorRef: req.vendorRef } : {}),
          source: "web",
        });
        return create(acquisitionsPb.PlaceOrderResponseSchema, { order: orderPb(order), duplicate });
      }),
    ),
    listOrders: mapErrors((req: acquisitionsPb.ListOrdersRequest) => {
      if (req.state && !STATES.includes(req.state))
        throw new ValidationError(
          `state must be open, received or cancelled, not "${req.state.slice(0, 20)}"`,
        );
      return create(acquisitionsPb.ListOrdersResponseSchema, {
        orders: book.list((req.state || undefined) as OrderState | undefined).map(orderPb),
      });
    }),
    receiveOrder: mapErrors((req: acquisitionsPb.ReceiveOrderRequest) =>
      withBook(book, (b) =>
        create(acquisitionsPb.ReceiveOrderResponseSchema, {
          order: orderPb(
            b.receive(req.id, {
              barcodes: req.barcodes,
              ...(req.location ? { location: req.location } : {}),
              ...(req.callNumber ? { callNumber: req.callNumber } : {}),
            }),
          ),
        }),
      ),
    ),
    cancelOrder: mapErrors((req: acquisitionsPb.CancelOrderRequest) =>
      withBook(book, (b) =>
        create(acquisitionsPb.CancelOrderResponseSchema, { order: orderPb(b.cancel(req.id)) }),
      ),
    ),
  };
}
