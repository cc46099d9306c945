// The library's orders (acquisitions): place one, list them by state, receive an order's copies
// or cancel it — AcquisitionsService at the member, the calls `lrs-member order add|list|receive|
// cancel` make. An open order is published to the union catalogs as an on-order holding.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { AcquisitionsService, type Order } from "../../../shared/src/gen/lrs/v1/acquisitions_pb.js";
import { errorText } from "../api.js";
import { formatDate, formatDateTime, formatNumber, t } from "../i18n.js";
import { client } from "../rpc.js";
import { can, useSession } from "../session.js";
import { LoadState, Notice, useLoad } from "../ui.js";

type Note = { kind: "ok" | "error"; text: string } | undefined;

const FIELDS = ["isbn", "issn", "title", "author", "fund", "vendorRef"] as const;

function PlaceOrderForm(p: { onPlaced: () => void }) {
  const [note, setNote] = useState<Note>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const text = (k: string) => String(f.get(k) ?? "").trim();
    try {
      const res = await client(AcquisitionsService).placeOrder({
        isbn: text("isbn"),
        issn: text("issn"),
        title: text("title"),
        author: text("author"),
        copies: Number(text("copies") || "1"),
        expectedDate: text("expectedDate"),
        fund: text("fund"),
        vendorRef: text("vendorRef"),
      });
      setNote({
        kind: "ok",
        text: t(res.duplicate ? "orders.duplicate" : "orders.placed", { id: res.order?.id }),
      });
      form.reset();
      p.onPlaced();
    } catch (err) {
      setNote({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <form onSubmit={submit} class="grid-form" data-testid="order-form">
      <h2>{t("orders.place")}</h2>
      <p class="hint">{t("orders.placeHint")}</p>
      {FIELDS.map((k) => (
        <label key={k}>
          {t(`orders.${k}`)}
          <input name={k} />
        </label>
      ))}
      <label>
        {t("orders.copies")}
        <input name="copies" type="number" min={1} max={999} value="1" />
      </label>
      <label>
        {t("orders.expected")}
        <input name="expectedDate" type="date" />
      </label>
      <button type="submit" data-testid="place-order">
        {t("orders.placeButton")}
      </button>
      {note && <Notice kind={note.kind}>{note.text}</Notice>}
    </form>
  );
}

function OrderActions(p: { order: Order; onDone: (note: Note) => void }) {
  const receive = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    try {
      const res = await client(AcquisitionsService).receiveOrder({
        id: p.order.id,
        barcodes: String(f.get("barcodes") ?? "")
          .split(/[\s,]+/)
          .filter((b) => b !== ""),
        location: String(f.get("location") ?? ""),
        callNumber: String(f.get("callNumber") ?? ""),
      });
      p.onDone({ kind: "ok", text: t("orders.receivedDone", { id: res.order?.id }) });
    } catch (err) {
      p.onDone({ kind: "error", text: errorText(err) });
    }
  };
  const cancel = async () => {
    try {
      const res = await client(AcquisitionsService).cancelOrder({ id: p.order.id });
      p.onDone({ kind: "ok", text: t("orders.cancelledDone", { id: res.order?.id }) });
    } catch (err) {
      p.onDone({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <details>
      <summary>{t("orders.actions")}</summary>
      <form onSubmit={receive} data-testid={`receive-${p.order.id}`}>
        <label>
          {t("orders.barcodes")} <input name="barcodes" />
        </label>{" "}
        <label>
          {t("orders.location")} <input name="location" />
        </label>{" "}
        <label>
          {t("orders.callNumber")} <input name="callNumber" />
        </label>{" "}
        <button type="submit">{t("orders.receive")}</button>
      </form>
      <button type="button" onClick={cancel} data-testid={`cancel-${p.order.id}`}>
        {t("orders.cancel")}
      </button>
    </details>
  );
}

export function OrdersPage() {
  const session = useSession();
  const [state, setState] = useState("open");
  const [note, setNote] = useState<Note>();
  const loaded = useLoad(() => client(AcquisitionsService).listOrders({ state }), [state]);
  const done = (n: Note) => {
    setNote(n);
    loaded.reload();
  };
  return (
    <section>
      <h1>{t("orders.heading")}</h1>
      {can(session, "staff") && <PlaceOrderForm onPlaced={loaded.reload} />}
      <h2>{t("orders.list")}</h2>
      <label>
        {t("orders.state")}{" "}
        <select name="state" value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
          {["open", "received", "cancelled", ""].map((s) => (
            <option key={s} value={s}>
              {t(`orders.state_.${s || "all"}`)}
            </option>
          ))}
        </select>
      </label>
      {note && <Notice kind={note.kind}>{note.text}</Notice>}
      <LoadState loaded={loaded}>
        {(res) =>
          res.orders.length === 0 ? (
            <p>{t("orders.none")}</p>
          ) : (
            <table data-testid="orders">
              <caption>{t("orders.list")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("orders.id")}</th>
                  <th scope="col">{t("orders.what")}</th>
                  <th scope="col" class="num">
                    {t("orders.copies")}
                  </th>
                  <th scope="col">{t("orders.expected")}</th>
                  <th scope="col">{t("orders.fund")}</th>
                  <th scope="col">{t("orders.state")}</th>
                  <th scope="col">{t("orders.created")}</th>
                  {can(session, "staff") && <th scope="col">{t("orders.actions")}</th>}
                </tr>
              </thead>
              <tbody>
                {res.orders.map((o) => (
                  <tr key={o.id} data-order={o.id}>
                    <td>{o.id}</td>
                    <td>
                      {o.title || o.isbn || o.issn}
                      {o.author && ` / ${o.author}`}
                      {o.title && (o.isbn || o.issn) && <small> {o.isbn || o.issn}</small>}
                    </td>
                    <td class="num">{formatNumber(o.copies)}</td>
                    <td>{o.expectedDate ? formatDate(new Date(`${o.expectedDate}T00:00:00`)) : ""}</td>
                    <td>{o.fund}</td>
                    <td data-testid="order-state">
                      {t(`orders.state_.${o.state}`, { defaultValue: o.state })}
                    </td>
                    <td>{formatDateTime(o.createdAt ? timestampDate(o.createdAt) : undefined)}</td>
                    {can(session, "staff") && (
                      <td>{o.state === "open" && <OrderActions order={o} onDone={done} />}</td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </LoadState>
    </section>
  );
}
