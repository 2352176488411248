// Things or channels: server-side pages, name search, metadata filter, create, and bulk
// connections for the rows selected.

import { useState } from "preact/hooks";
import { type Entity, type Kind, create, errorText, list } from "../api";
import { Field } from "../components/Field";
import { JsonEditor, parseObject } from "../components/JsonEditor";
import { Pager } from "../components/Pager";
import { Failure } from "../components/Failure";
import { ConnectPanel } from "../components/ConnectPanel";
import { useDebounced, useLoad } from "../usePage";
import { go } from "../router";
import { singular, title } from "../words";

export function EntityList({ kind }: { kind: Kind }) {
  const [name, setName] = useState("");
  const [metadata, setMetadata] = useState("");
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(25);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const query = useDebounced({ name, metadata, offset, limit });
  const filter = parseObject(query.metadata);
  const page = useLoad(async () => {
    if (!filter.ok) return null;
    const metadataFilter = query.metadata.trim() ? JSON.stringify(filter.value) : undefined;
    return list(kind, { offset: query.offset, limit: query.limit, name: query.name, metadata: metadataFilter });
  }, [kind, query.name, query.metadata, query.offset, query.limit]);

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const rows = page.data?.items ?? [];
  return (
    <section>
      <h1>{title(kind)}</h1>
      <CreateForm kind={kind} />
      <form class="filters" role="search" aria-label={`Filter ${kind}`} onSubmit={(e) => e.preventDefault()}>
        <Field label="Name contains" value={name} onInput={(v) => (setName(v), setOffset(0))} />
        <JsonEditor label="Metadata contains (JSON)" rows={1} text={metadata} onInput={(v) => (setMetadata(v), setOffset(0))} />
        <div class="field">
          <label for="page-size">Rows per page</label>
          <select id="page-size" value={limit} onChange={(e) => (setLimit(Number((e.target as HTMLSelectElement).value)), setOffset(0))}>
            {[10, 25, 50, 100].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </form>
      <Failure error={page.error} />
      <div class="table-wrap">
        <table aria-busy={page.loading}>
          <caption class="visually-hidden">{title(kind)}, one page</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Selected</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Metadata</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <Row key={row.id} row={row} kind={kind} checked={selected.has(row.id)} onToggle={() => toggle(row.id)} />
            ))}
          </tbody>
        </table>
      </div>
      {page.data && rows.length === 0 && <p>No {kind} match.</p>}
      {page.data && <Pager label={title(kind)} offset={page.data.offset} limit={query.limit} total={page.data.total} onOffset={setOffset} />}
      {selected.size > 0 && (
        <ConnectPanel kind={kind} ids={[...selected]} />
      )}
    </section>
  );
}

function Row({ row, kind, checked, onToggle }: { row: Entity; kind: Kind; checked: boolean; onToggle: () => void }) {
  const label = row.name || "(no name)";
  return (
    <tr>
      <td>
        <input type="checkbox" checked={checked} onChange={onToggle} aria-label={`Select ${label}`} />
      </td>
      <td>
        <a href={`#/${kind}/${row.id}`}>{label}</a>
      </td>
      <td class="mono small">{row.id}</td>
      <td class="mono small clip">{row.metadata ? JSON.stringify(row.metadata) : ""}</td>
    </tr>
  );
}

function CreateForm({ kind }: { kind: Kind }) {
  const [name, setName] = useState("");
  const [metadata, setMetadata] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const parsed = parseObject(metadata);

  async function submit(event: Event) {
    event.preventDefault();
    if (!parsed.ok) return;
    setBusy(true);
    setError(null);
    try {
      const body = { name, metadata: metadata.trim() ? parsed.value : undefined };
      const id = await create(`/${kind}`, body);
      go(`${kind}/${id}`);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  }
  return (
    <details class="create">
      <summary>New {singular(kind)}</summary>
      <form onSubmit={submit} aria-label={`New ${singular(kind)}`}>
        <Field label="Name" value={name} onInput={setName} required />
        <JsonEditor label="Metadata (JSON object, optional)" text={metadata} onInput={setMetadata} rows={3} />
        <Failure error={error} />
        <button type="submit" disabled={busy || !parsed.ok}>
          Create {singular(kind)}
        </button>
      </form>
    </details>
  );
}
