// A channel's messages as they arrive (`GET /channels/{id}/messages/live`, Server-Sent
// Events), newest first. Pausing holds new messages aside; only the newest MAX are kept, so
// a busy channel never grows the page without bound.

import { useEffect, useRef, useState } from "preact/hooks";
import { authHeaders, parse } from "../api";
import { readSse } from "../sse";
import { Failure } from "./Failure";

const MAX = 200;

export interface LiveMessage {
  channel: string;
  subtopic?: string | null;
  publisher: string;
  protocol: string;
  created: number;
  payload: string;
  payload_encoding: "utf8" | "base64";
}

type State = "connecting" | "live" | "closed" | "unavailable";

export function LiveTail({ channel }: { channel: string }) {
  const [messages, setMessages] = useState<LiveMessage[]>([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState<LiveMessage[]>([]);
  const [state, setState] = useState<State>("connecting");
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const abort = new AbortController();
    const add = (message: LiveMessage) => {
      const into = pausedRef.current ? setHeld : setMessages;
      into((list) => [message, ...list].slice(0, MAX));
    };
    setState("connecting");
    setError(null);
    (async () => {
      const response = await fetch(`/channels/${channel}/messages/live`, { headers: authHeaders(), signal: abort.signal });
      if (response.status === 404 || response.status === 405) {
        setState("unavailable");
        return;
      }
      if (!response.ok) await parse(response);
      setState("live");
      await readSse(
        response,
        ({ event, data }) => {
          if (event === "lagged") setNotice("Some messages were skipped: they arrived faster than the page could take them.");
          else if (event === "message") add(JSON.parse(data) as LiveMessage);
        },
        abort.signal,
      );
      setState("closed");
    })().catch((e: Error) => {
      if (abort.signal.aborted) return;
      setError(e.message);
      setState("closed");
    });
    return () => abort.abort();
  }, [channel, attempt]);

  function togglePause() {
    if (paused) {
      setMessages((list) => [...held, ...list].slice(0, MAX));
      setHeld([]);
    }
    setPaused(!paused);
  }

  return (
    <section class="panel" aria-labelledby="live-title">
      <h2 id="live-title">Live messages</h2>
      {state === "unavailable" ? (
        <p role="status">Live messages are not available on this server (no /channels/{"{id}"}/messages/live route).</p>
      ) : (
        <>
          <div class="row">
            <span role="status" class="badge" data-state={state}>
              {state === "live" ? (paused ? `paused, ${held.length} held` : "live") : state}
            </span>
            <button type="button" class="secondary" aria-pressed={paused} onClick={togglePause} disabled={state !== "live"}>
              {paused ? "Resume" : "Pause"}
            </button>
            <button type="button" class="secondary" onClick={() => setMessages([])}>
              Clear
            </button>
            {state === "closed" && (
              <button type="button" onClick={() => setAttempt((n) => n + 1)}>
                Reconnect
              </button>
            )}
          </div>
          {notice && <p class="notice">{notice}</p>}
          <Failure error={error} />
          {messages.length === 0 && state === "live" && <p>Waiting for messages…</p>}
          <ol class="tail" aria-label="Messages, newest first">
            {messages.map((m, i) => (
              <MessageItem key={`${m.created}-${messages.length - i}`} message={m} />
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

function MessageItem({ message }: { message: LiveMessage }) {
  const when = new Date(message.created * 1000).toLocaleTimeString("en-GB", { hour12: false });
  return (
    <li>
      <div class="small">
        <time dateTime={new Date(message.created * 1000).toISOString()}>{when}</time> · {message.protocol}
        {message.subtopic ? ` · ${message.subtopic}` : ""} · from <span class="mono">{message.publisher}</span>
      </div>
      <pre class="mono">{pretty(message)}</pre>
    </li>
  );
}

/**
 * JSON pretty-printed, a SenML pack (an array of records) one record per line; other text
 * as is; binary as its base64.
 */
export function pretty(message: LiveMessage): string {
  if (message.payload_encoding === "base64") return `(binary, base64) ${message.payload}`;
  let value: unknown;
  try {
    value = JSON.parse(message.payload);
  } catch {
    return message.payload;
  }
  if (Array.isArray(value) && value.every((r) => r !== null && typeof r === "object" && !Array.isArray(r))) {
    return `[\n${value.map((r) => `  ${JSON.stringify(r).replace(/,"/g, ', "').replace(/":/g, '": ')}`).join(",\n")}\n]`;
  }
  return JSON.stringify(value, null, 2);
}
