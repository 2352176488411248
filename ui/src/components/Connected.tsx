// The entities of the other kind connected to this one, paged, each with a disconnect.

import { useState } from "preact/hooks";
import { type Kind, call, errorText, list } from "../api";
import { useLoad } from "../usePage";
import { Pager } from "./Pager";
import { Failure } from "./Failure";
import { other } from "../words";

interface Props {
  kind: Kind;
  id: string;
  /** Bumped by the parent when connections change elsewhere on the page. */
  version: number;
  onChange: () => void;
}

export function Connected({ kind, id, version, onChange }: Props) {
  const target = other(kind);
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const page = useLoad(() => list(target, { offset, limit: 10 }, { of: kind, id }), [target, id, offset, version]);

  async function disconnect(peer: string) {
    setError(null);
    const [thing, channel] = kind === "things" ? [id, peer] : [peer, id];
    try {
      await call("DELETE", `/channels/${channel}/things/${thing}`);
      onChange();
    } catch (e) {
      setError(errorText(e));
    }
  }
  const rows = page.data?.items ?? [];
  return (
    <section class="panel" aria-labelledby="connected-title">
      <h2 id="connected-title">Connected {target}</h2>
      <Failure error={page.error ?? error} />
      {page.data && rows.length === 0 && <p>None yet.</p>}
      <ul class="picklist">
        {rows.map((row) => (
          <li key={row.id}>
            <a href={`#/${target}/${row.id}`}>{row.name || "(no name)"}</a> <span class="mono small">{row.id}</span>{" "}
            <button type="button" class="secondary small" onClick={() => disconnect(row.id)}>
              Disconnect<span class="visually-hidden"> {row.name || row.id}</span>
            </button>
          </li>
        ))}
      </ul>
      {page.data && page.data.total > 10 && <Pager label={`Connected ${target}`} offset={offset} limit={10} total={page.data.total} onOffset={setOffset} />}
    </section>
  );
}
