// Bootstrap configs (`/things/configs`): what a device fetches with its external id and key.
// List, create, activate or deactivate, edit content, delete.

import { useState } from "preact/hooks";
import { call, create, errorText, url } from "../api";
import { useLoad } from "../usePage";
import { Field } from "../components/Field";
import { Pager } from "../components/Pager";
import { Failure } from "../components/Failure";
import { ConfirmButton } from "../components/Confirm";

interface Config {
  mainflux_id: string;
  external_id: string;
  name?: string | null;
  content?: string | null;
  state: number;
  mainflux_channels: { id: string }[];
}

export function Bootstrap() {
  const [offset, setOffset] = useState(0);
  const page = useLoad(
    () => call<{ total: number; configs: Config[] }>("GET", url("/things/configs", { offset, limit: 10 })),
    [offset],
  );
  return (
    <section>
      <h1>Bootstrap configs</h1>
      <NewConfig onCreated={page.reload} />
      <Failure error={page.error} />
      {page.data && page.data.configs.length === 0 && <p>No configs yet.</p>}
      <ul class="cardlist">
        {page.data?.configs.map((config) => <ConfigItem key={config.mainflux_id} config={config} onChange={page.reload} />)}
      </ul>
      {page.data && <Pager label="Configs" offset={offset} limit={10} total={page.data.total} onOffset={setOffset} />}
    </section>
  );
}

function NewConfig({ onCreated }: { onCreated: () => void }) {
  const [externalId, setExternalId] = useState("");
  const [externalKey, setExternalKey] = useState("");
  const [name, setName] = useState("");
  const [thing, setThing] = useState("");
  const [channels, setChannels] = useState("");
  const [content, setContent] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await create("/things/configs", {
        external_id: externalId,
        external_key: externalKey,
        name: name || undefined,
        thing_id: thing || undefined,
        channels: channels.split(/[\s,]+/).filter(Boolean),
        content: content || undefined,
      });
      setExternalId("");
      setExternalKey("");
      onCreated();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <details class="create">
      <summary>New config</summary>
      <form onSubmit={submit} aria-label="New bootstrap config">
        <Field label="External id" value={externalId} onInput={setExternalId} required />
        <Field label="External key" value={externalKey} onInput={setExternalKey} required hint="The secret the device fetches its config with." />
        <Field label="Name" value={name} onInput={setName} />
        <Field label="Thing id (empty: create a thing)" value={thing} onInput={setThing} />
        <Field label="Channel ids (comma separated)" value={channels} onInput={setChannels} />
        <Field label="Content" value={content} onInput={setContent} hint="Handed to the device as is, e.g. JSON settings." />
        <Failure error={error} />
        <button type="submit">Create config</button>
      </form>
    </details>
  );
}

function ConfigItem({ config, onChange }: { config: Config; onChange: () => void }) {
  const [content, setContent] = useState(config.content ?? "");
  const [error, setError] = useState<string | null>(null);
  const act = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      onChange();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const active = config.state === 1;
  return (
    <li class="panel">
      <h2>{config.name || config.external_id}</h2>
      <p class="small">
        external id <span class="mono">{config.external_id}</span> · thing{" "}
        <a class="mono" href={`#/things/${config.mainflux_id}`}>
          {config.mainflux_id}
        </a>{" "}
        · {config.mainflux_channels.length} channel(s) · <strong>{active ? "active" : "inactive"}</strong>
      </p>
      <Field label="Content" value={content} onInput={setContent} />
      <div class="row">
        <button type="button" class="secondary" onClick={() => act(() => call("PUT", `/things/configs/${config.mainflux_id}`, { name: config.name, content }))}>
          Save content
        </button>
        <button type="button" class="secondary" onClick={() => act(() => call("PUT", `/things/state/${config.mainflux_id}`, { state: active ? 0 : 1 }))}>
          {active ? "Deactivate" : "Activate"}
        </button>
        <ConfirmButton
          label="Delete config"
          question={`Delete the config of ${config.external_id}? The thing stays.`}
          confirm="Delete"
          onConfirm={() => act(() => call("DELETE", `/things/configs/${config.mainflux_id}`))}
        />
      </div>
      <Failure error={error} />
    </li>
  );
}
