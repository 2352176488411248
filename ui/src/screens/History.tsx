// An entity's events, newest first (`GET /{kind}/{id}/events`), and the entity as it was
// after any one of them (`GET /{kind}/{id}?as_of=<position>`): step back and forth in time.

import { useEffect, useState } from "preact/hooks";
import { type Entity, type Kind, ApiError, call, errorText, url } from "../api";
import { useLoad } from "../usePage";
import { Failure } from "../components/Failure";
import { singular, title } from "../words";

export interface StoredEvent {
  position: number;
  version: number;
  type: string;
  occurred_at: string;
  actor?: string | null;
  data: unknown;
}

interface EventsPage {
  total: number;
  offset: number;
  limit: number;
  events: StoredEvent[];
}

const PAGE = 20;

export function History({ kind, id }: { kind: Kind; id: string }) {
  // `at`: the selected event's index among all of them, 0 being the newest.
  const [at, setAt] = useState(0);
  const offset = Math.floor(at / PAGE) * PAGE;
  const page = useLoad(() => call<EventsPage>("GET", url(`/${kind}/${id}/events`, { offset, limit: PAGE })), [kind, id, offset]);
  const unavailable = page.error !== null && isMissingRoute(page.error);
  const events = page.data?.events ?? [];
  const selected = events[at - offset];
  const total = page.data?.total ?? 0;

  return (
    <section>
      <p class="crumbs">
        <a href={`#/${kind}`}>{title(kind)}</a> / <a href={`#/${kind}/${id}`}>{singular(kind)}</a> /
      </p>
      <h1>History</h1>
      {unavailable ? (
        <p role="status">History is not available on this server (no /{kind}/{"{id}"}/events route).</p>
      ) : (
        <Failure error={page.error} />
      )}
      {page.data && (
        <div class="split">
          <div>
            <div class="row">
              <button type="button" class="secondary" disabled={at + 1 >= total} onClick={() => setAt(at + 1)}>
                ◀ Older
              </button>
              <span aria-live="polite">{total ? `event ${total - at} of ${total}` : "no events"}</span>
              <button type="button" class="secondary" disabled={at === 0} onClick={() => setAt(at - 1)}>
                Newer ▶
              </button>
            </div>
            <ol class="timeline" aria-label="Events, newest first">
              {events.map((event, i) => (
                <li key={event.position}>
                  <button
                    type="button"
                    class="event"
                    aria-current={offset + i === at ? "step" : undefined}
                    onClick={() => setAt(offset + i)}
                  >
                    <strong>{event.type}</strong> <span class="small">v{event.version} · #{event.position}</span>
                    <br />
                    <time class="small" dateTime={event.occurred_at}>
                      {new Date(event.occurred_at).toLocaleString("en-GB")}
                    </time>
                  </button>
                </li>
              ))}
            </ol>
          </div>
          {selected && <AsOf kind={kind} id={id} event={selected} />}
        </div>
      )}
      {page.data && <AtTime kind={kind} id={id} />}
    </section>
  );
}

function isMissingRoute(error: string): boolean {
  return error === "no such route";
}

function AsOf({ kind, id, event }: { kind: Kind; id: string; event: StoredEvent }) {
  const [entity, setEntity] = useState<Entity | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    setError(null);
    call<Entity>("GET", url(`/${kind}/${id}`, { as_of: event.position })).then(
      (value) => current && setEntity(value),
      (e) => {
        if (!current) return;
        setEntity(null);
        setError(e instanceof ApiError && e.status === 404 ? "The entity did not exist at this point." : errorText(e));
      },
    );
    return () => {
      current = false;
    };
  }, [kind, id, event.position]);
  return (
    <div class="panel" aria-live="polite">
      <h2>As of event #{event.position}</h2>
      <p class="small">
        {event.type}
        {event.actor ? ` by ${event.actor}` : ""}, {new Date(event.occurred_at).toLocaleString("en-GB")}
      </p>
      <Failure error={error} />
      {entity && (
        <pre class="mono" data-testid="as-of">
          {JSON.stringify(entity, null, 2)}
        </pre>
      )}
      <h3>Event data</h3>
      <pre class="mono">{JSON.stringify(event.data, null, 2)}</pre>
    </div>
  );
}

/** The entity as it was at a moment the operator picks (`as_of=<RFC 3339>`). */
function AtTime({ kind, id }: { kind: Kind; id: string }) {
  const [when, setWhen] = useState("");
  const [entity, setEntity] = useState<Entity | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function show(event: Event) {
    event.preventDefault();
    setError(null);
    setEntity(null);
    const moment = new Date(when);
    if (Number.isNaN(moment.getTime())) return setError("Pick a date and time.");
    try {
      setEntity(await call<Entity>("GET", url(`/${kind}/${id}`, { as_of: moment.toISOString() })));
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? "The entity did not exist at that time." : errorText(e));
    }
  }
  return (
    <form class="panel" onSubmit={show} aria-labelledby="at-time-title">
      <h2 id="at-time-title">As of a moment</h2>
      <div class="row">
        <label for="at-time">Date and time (your time zone)</label>
        <input id="at-time" type="datetime-local" step="1" value={when} onInput={(e) => setWhen((e.target as HTMLInputElement).value)} />
        <button type="submit">Show</button>
      </div>
      <Failure error={error} />
      {entity && <pre class="mono">{JSON.stringify(entity, null, 2)}</pre>}
    </form>
  );
}
