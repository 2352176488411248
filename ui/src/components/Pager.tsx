// Previous / next over a server-side page (`offset`, `limit`, `total`).

interface Props {
  offset: number;
  limit: number;
  total: number;
  onOffset: (offset: number) => void;
  label: string;
}

export function Pager({ offset, limit, total, onOffset, label }: Props) {
  const last = Math.min(offset + limit, total);
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" class="secondary" disabled={offset === 0} onClick={() => onOffset(Math.max(offset - limit, 0))}>
        Previous
      </button>
      <span aria-live="polite">
        {total === 0 ? "none" : `${offset + 1}–${last} of ${total.toLocaleString("en")}`}
      </span>
      <button type="button" class="secondary" disabled={last >= total} onClick={() => onOffset(offset + limit)}>
        Next
      </button>
    </nav>
  );
}
