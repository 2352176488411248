// A labelled input, its hint and its error, tied together for screen readers.

import { useId } from "preact/hooks";

interface Props {
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: "text" | "email" | "password";
  hint?: string;
  error?: string | null;
  required?: boolean;
  minLength?: number;
  autoComplete?: string;
  placeholder?: string;
}

export function Field(props: Props) {
  const id = useId();
  const described = [props.hint && `${id}-hint`, props.error && `${id}-error`].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        // Preact 11 types <input> per `type`; these three take the same attributes.
        type={(props.type ?? "text") as "text"}
        value={props.value}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
        required={props.required}
        minLength={props.minLength}
        autoComplete={props.autoComplete}
        placeholder={props.placeholder}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={described || undefined}
      />
      {props.hint && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      {props.error && (
        <small id={`${id}-error`} class="error" role="alert">
          {props.error}
        </small>
      )}
    </div>
  );
}
