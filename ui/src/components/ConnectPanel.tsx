// Connect or disconnect a set of things (or channels) to entities of the other kind, picked
// from a searchable page. `POST /connect` takes every pair at once, all or nothing;
// disconnects go pair by pair and report the pairs that failed.

import { useState } from "preact/hooks";
import { type Kind, call, errorText, list } from "../api";
import { Field } from "./Field";
import { Pager } from "./Pager";
import { Failure } from "./Failure";
import { useDebounced, useLoad } from "../usePage";
import { other, singular } from "../words";

interface Props {
  kind: Kind;
  ids: string[];
  /** Offer only the entities not connected to this one (an entity page). */
  notConnectedTo?: string;
  onDone?: () => void;
}

export function ConnectPanel({ kind, ids, notConnectedTo, onDone }: Props) {
  const target = other(kind);
  const [name, setName] = useState("");
  const [offset, setOffset] = useState(0);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = useDebounced(name);
  const page = useLoad(
    () =>
      list(
        target,
        { offset, limit: 10, name: search },
        notConnectedTo ? { of: kind, id: notConnectedTo, connected: false } : undefined,
      ),
    [target, search, offset, notConnectedTo],
  );
  const pairs = () =>
    [...picked].flatMap((p) => ids.map((id) => (kind === "things" ? { thing: id, channel: p } : { thing: p, channel: id })));

  async function connect() {
    setError(null);
    setStatus(null);
    const all = pairs();
    try {
      await call("POST", "/connect", {
        thing_ids: [...new Set(all.map((p) => p.thing))],
        channel_ids: [...new Set(all.map((p) => p.channel))],
      });
      setStatus(`Connected ${all.length} pair${all.length === 1 ? "" : "s"}.`);
      setPicked(new Set());
      page.reload();
      onDone?.();
    } catch (e) {
      setError(errorText(e));
    }
  }

  async function disconnect() {
    setError(null);
    setStatus(null);
    const all = pairs();
    const failed: string[] = [];
    for (const pair of all) {
      try {
        await call("DELETE", `/channels/${pair.channel}/things/${pair.thing}`);
      } catch (e) {
        failed.push(`${pair.thing} ↔ ${pair.channel}: ${errorText(e)}`);
      }
    }
    setStatus(`Disconnected ${all.length - failed.length} of ${all.length} pairs.`);
    if (failed.length) setError(failed.join("; "));
    page.reload();
    onDone?.();
  }

  const rows = page.data?.items ?? [];
  const heading = notConnectedTo ? `Connect to ${target}` : `Connections of the ${ids.length} selected ${ids.length === 1 ? singular(kind) : kind}`;
  return (
    <section class="panel" aria-label={heading}>
      <h2>{heading}</h2>
      <Field label={`Find ${target} by name`} value={name} onInput={(v) => (setName(v), setOffset(0))} />
      <Failure error={page.error} />
      <ul class="picklist">
        {rows.map((row) => (
          <li key={row.id}>
            <label>
              <input
                type="checkbox"
                checked={picked.has(row.id)}
                onChange={() => {
                  const next = new Set(picked);
                  if (next.has(row.id)) next.delete(row.id);
                  else next.add(row.id);
                  setPicked(next);
                }}
              />{" "}
              {row.name || "(no name)"} <span class="mono small">{row.id}</span>
            </label>
          </li>
        ))}
      </ul>
      {page.data && <Pager label={target} offset={offset} limit={10} total={page.data.total} onOffset={setOffset} />}
      <div class="row">
        <button type="button" disabled={picked.size === 0} onClick={connect}>
          Connect
        </button>
        {!notConnectedTo && (
          <button type="button" class="secondary" disabled={picked.size === 0} onClick={disconnect}>
            Disconnect
          </button>
        )}
      </div>
      {status && <p role="status">{status}</p>}
      <Failure error={error} />
    </section>
  );
}
