// Counts at a glance. Connections and today's messages are summed over channels one request
// each, so only the first SAMPLE channels are counted and the page says so when there are
// more.

import { type Kind, call, list, url } from "../api";
import { useLoad } from "../usePage";
import { Failure } from "../components/Failure";
import { type Live, liveByProtocol, readMetrics } from "../metrics";

const SAMPLE = 100;

interface Sums {
  connections: number;
  messagesToday: number;
  sampled: number;
}

async function total(kind: Kind): Promise<number> {
  return (await list(kind, { offset: 0, limit: 1 })).total;
}

/** Connections and today's messages, summed over the first SAMPLE channels. */
async function sums(): Promise<Sums> {
  const page = await list("channels", { offset: 0, limit: SAMPLE });
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const from = midnight.getTime() / 1000;
  const per = await inBatches(page.items.map((c) => c.id), 6, async (channel) => {
    const [connected, stored] = await Promise.all([
      list("things", { offset: 0, limit: 1 }, { of: "channels", id: channel }),
      call<{ total: number }>("GET", url(`/channels/${channel}/messages`, { limit: 1, from })),
    ]);
    return [connected.total, stored.total];
  });
  return {
    connections: per.reduce((n, [c]) => n + c, 0),
    messagesToday: per.reduce((n, [, m]) => n + m, 0),
    sampled: page.items.length,
  };
}

async function inBatches<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    results.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  }
  return results;
}

export function Overview() {
  // Two loads: the totals come at once, the per-channel sums (a request or two per channel)
  // fill in after.
  const totals = useLoad(() => Promise.all([total("things"), total("channels")]), []);
  const summed = useLoad(sums, []);
  const live = useLoad(async () => liveByProtocol(await readMetrics()), []);
  const [things, channels] = totals.data ?? [];
  const s = summed.data;
  const partial = s && channels !== undefined && s.sampled < channels ? ` (first ${s.sampled} channels)` : "";
  return (
    <section>
      <h1>Overview</h1>
      <Failure error={totals.error ?? summed.error} />
      <div class="cards">
        <Card label="Things" value={things} href="#/things" />
        <Card label="Channels" value={channels} href="#/channels" />
        <Card label={`Connections${partial}`} value={s?.connections} />
        <Card label={`Messages stored today${partial}`} value={s?.messagesToday} />
      </div>
      <h2>Live connections by protocol</h2>
      <Failure error={live.error} />
      {live.data && <LiveTable rows={live.data} />}
    </section>
  );
}

function Card({ label, value, href }: { label: string; value?: number; href?: string }) {
  const shown = value === undefined ? "…" : value.toLocaleString("en");
  return (
    <div class="card">
      <div class="big">{shown}</div>
      <div>{href ? <a href={href}>{label}</a> : label}</div>
    </div>
  );
}

function LiveTable({ rows }: { rows: Live[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Protocol</th>
          <th scope="col">Live</th>
          <th scope="col">Counted as</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.protocol}>
            <td>{row.protocol}</td>
            <td>{row.count}</td>
            <td class="small">{row.how}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
