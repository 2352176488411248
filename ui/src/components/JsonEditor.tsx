// Metadata as editable JSON text. Invalid JSON, or JSON that is not an object, is refused
// here with the parser's reason, before any request is sent.

import { useId } from "preact/hooks";

export type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

export function parseObject(text: string): Parsed {
  if (text.trim() === "") return { ok: true, value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { ok: false, error: "Metadata must be a JSON object, like {\"room\": \"lab\"}." };
    }
    return { ok: true, value: value as Record<string, unknown> };
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${(e as Error).message}` };
  }
}

interface Props {
  label: string;
  text: string;
  onInput: (text: string) => void;
  error?: string | null;
  rows?: number;
}

export function JsonEditor({ label, text, onInput, error, rows = 5 }: Props) {
  const id = useId();
  const parsed = parseObject(text);
  const shown = parsed.ok ? error : parsed.error;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea
        id={id}
        class="mono"
        rows={rows}
        spellcheck={false}
        value={text}
        onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)}
        aria-invalid={shown ? true : undefined}
        aria-describedby={shown ? `${id}-error` : undefined}
      />
      {shown && (
        <small id={`${id}-error`} class="error" role="alert">
          {shown}
        </small>
      )}
    </div>
  );
}
