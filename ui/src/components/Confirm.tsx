// A destructive action behind a confirmation dialog (the native <dialog>: focus is trapped
// and Escape cancels, as a keyboard user expects).

import type { ComponentChildren } from "preact";
import { useRef } from "preact/hooks";

interface Props {
  label: string;
  question: ComponentChildren;
  confirm: string;
  onConfirm: () => void;
}

export function ConfirmButton({ label, question, confirm, onConfirm }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  return (
    <>
      <button type="button" class="danger" onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} aria-label={label}>
        <form method="dialog">
          <p>{question}</p>
          <div class="row">
            <button type="submit" class="secondary" value="cancel" autoFocus>
              Cancel
            </button>
            <button type="button" class="danger" onClick={() => (dialog.current?.close(), onConfirm())}>
              {confirm}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
