// One thing or channel: its details, edit, key, delete, connections; a channel also shows
// its live messages and the plot of its SenML series.

import { useState } from "preact/hooks";
import { type Entity, type Kind, call, errorText } from "../api";
import { useLoad } from "../usePage";
import { Failure } from "../components/Failure";
import { ConfirmButton } from "../components/Confirm";
import { ConnectPanel } from "../components/ConnectPanel";
import { Connected } from "../components/Connected";
import { EditForm } from "../components/EditForm";
import { ThingKey } from "../components/ThingKey";
import { LiveTail } from "../components/LiveTail";
import { Plot } from "../components/Plot";
import { go } from "../router";
import { singular, title } from "../words";

export function EntityPage({ kind, id }: { kind: Kind; id: string }) {
  const entity = useLoad(() => call<Entity>("GET", `/${kind}/${id}`), [kind, id]);
  const [connections, setConnections] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const data = entity.data;

  async function remove() {
    setError(null);
    try {
      await call("DELETE", `/${kind}/${id}`);
      go(kind);
    } catch (e) {
      setError(errorText(e));
    }
  }

  return (
    <section>
      <p class="crumbs">
        <a href={`#/${kind}`}>{title(kind)}</a> /
      </p>
      <h1>{data ? data.name || "(no name)" : `Loading ${singular(kind)}…`}</h1>
      <Failure error={entity.error} />
      {entity.error && (
        <p>
          Removed? Its past is kept: <a href={`#/${kind}/${id}/history`}>see its history</a>.
        </p>
      )}
      {data && (
        <>
          <dl class="facts">
            <dt>Id</dt>
            <dd class="mono">{data.id}</dd>
            <dt>Metadata</dt>
            <dd>
              <pre class="mono">{JSON.stringify(data.metadata ?? {}, null, 2)}</pre>
            </dd>
          </dl>
          <p class="row">
            <a class="button secondary" href={`#/${kind}/${id}/history`}>
              History
            </a>
            <ConfirmButton
              label={`Delete ${singular(kind)}`}
              question={`Delete ${singular(kind)} “${data.name || data.id}”? Its connections go with it.`}
              confirm="Delete"
              onConfirm={remove}
            />
          </p>
          <Failure error={error} />
          {kind === "things" && data.key !== undefined && <ThingKey id={id} value={data.key} onRotated={entity.reload} />}
          {kind === "channels" && (
            <div class="pair">
              <LiveTail channel={id} />
              <Plot channel={id} />
            </div>
          )}
          <Connected kind={kind} id={id} version={connections} onChange={() => setConnections((n) => n + 1)} />
          <ConnectPanel kind={kind} ids={[id]} notConnectedTo={id} onDone={() => setConnections((n) => n + 1)} />
          <EditForm kind={kind} entity={data} onSaved={entity.reload} />
        </>
      )}
    </section>
  );
}
