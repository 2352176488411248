// A thing's key: hidden until asked for, copied, or rotated to a fresh random one (the old
// key stops working at once).

import { useState } from "preact/hooks";
import { call, errorText } from "../api";
import { CopyButton } from "./CopyButton";
import { ConfirmButton } from "./Confirm";
import { Failure } from "./Failure";

export function ThingKey({ id, value, onRotated }: { id: string; value: string; onRotated: () => void }) {
  const [shown, setShown] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  async function rotate() {
    setError(null);
    try {
      await call("PATCH", `/things/${id}/key`, { key: crypto.randomUUID() });
      setStatus("Key rotated: the old key no longer works.");
      onRotated();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <section class="panel" aria-labelledby="key-title">
      <h2 id="key-title">Key</h2>
      <p class="mono" data-testid="thing-key">
        {shown ? value : "•".repeat(12)}
      </p>
      <div class="row">
        <button type="button" class="secondary" aria-pressed={shown} onClick={() => setShown(!shown)}>
          {shown ? "Hide key" : "Show key"}
        </button>
        <CopyButton text={value} label="Copy key" />
        <ConfirmButton
          label="Rotate key"
          question="Give this thing a new random key? Devices using the current key are refused from now on."
          confirm="Rotate"
          onConfirm={rotate}
        />
      </div>
      {status && <p role="status">{status}</p>}
      <Failure error={error} />
    </section>
  );
}
