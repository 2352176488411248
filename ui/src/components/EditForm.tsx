// Edit an entity's name and metadata (`PUT /{kind}/{id}`).

import { useState } from "preact/hooks";
import { type Entity, type Kind, call, errorText } from "../api";
import { Field } from "./Field";
import { JsonEditor, parseObject } from "./JsonEditor";
import { Failure } from "./Failure";

interface Props {
  kind: Kind;
  entity: Entity;
  onSaved: () => void;
}

export function EditForm({ kind, entity, onSaved }: Props) {
  const [name, setName] = useState(entity.name ?? "");
  const [metadata, setMetadata] = useState(JSON.stringify(entity.metadata ?? {}, null, 2));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const parsed = parseObject(metadata);

  async function submit(event: Event) {
    event.preventDefault();
    if (!parsed.ok) return;
    setError(null);
    setSaved(false);
    try {
      await call("PUT", `/${kind}/${entity.id}`, { name, metadata: parsed.value });
      setSaved(true);
      onSaved();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="edit-title">
      <h2 id="edit-title">Edit</h2>
      <Field label="Name" value={name} onInput={(v) => (setName(v), setSaved(false))} />
      <JsonEditor label="Metadata (JSON object)" text={metadata} onInput={(v) => (setMetadata(v), setSaved(false))} />
      <Failure error={error} />
      <div class="row">
        <button type="submit" disabled={!parsed.ok}>
          Save
        </button>
        {saved && <span role="status">Saved.</span>}
      </div>
    </form>
  );
}
