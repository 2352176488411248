// Copies a secret or an id to the clipboard and says so.

import { useState } from "preact/hooks";

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<"idle" | "done" | "failed">("idle");
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setState("done");
    } catch {
      setState("failed");
    }
  }
  return (
    <>
      <button type="button" class="secondary" onClick={copy}>
        {label}
      </button>
      <span role="status" class="hint">
        {state === "done" ? "Copied." : state === "failed" ? "The browser refused the clipboard: select the text and copy it." : ""}
      </span>
    </>
  );
}
