// Stored SenML records from the reader API (`GET /channels/{id}/messages`), gathered page by
// page up to a cap, and grouped into one series per measurement name.

import { call, url } from "./api";

export interface TelemetryRecord {
  name?: string | null;
  unit?: string | null;
  value?: number | null;
  time: number;
}

export interface Series {
  name: string;
  unit: string;
  points: [number, number][];
}

export interface Telemetry {
  series: Series[];
  /** Every record in the range, beyond those read (`read` until the count has come). */
  total: number;
  read: number;
  counted: boolean;
}

const PAGE = 100;
const PARALLEL = 4;
/** Enough for a readable plot; the rest is offered by narrowing the range, not by waiting. */
export const MAX_RECORDS = 2000;

/**
 * Reads the newest records of the range and calls `progress` after each step, so the plot
 * draws at once and fills in. Pages are read without the time filter, newest first, until
 * they pass `from`: the reader answers an unfiltered page from its per-channel count at once,
 * while a filtered one counts the whole range (seconds on a busy channel). That count is
 * asked for once, beside the pages, only to say how many records the range holds.
 */
export async function readTelemetry(
  channel: string,
  range: { from?: number; to?: number },
  progress: (telemetry: Telemetry) => void,
  cancelled: () => boolean,
): Promise<void> {
  const records: TelemetryRecord[] = [];
  let total: number | null = null;
  const report = () => !cancelled() && progress({ series: group(records), total: total ?? records.length, read: records.length, counted: total !== null });
  const page = (offset: number) =>
    call<{ total: number; messages: TelemetryRecord[] }>("GET", url(`/channels/${channel}/messages`, { offset, limit: PAGE }));
  const inRange = (r: TelemetryRecord) => (range.from === undefined || r.time >= range.from) && (range.to === undefined || r.time < range.to);
  const counting = call<{ total: number }>("GET", url(`/channels/${channel}/messages`, { limit: 1, ...range })).then((p) => {
    total = p.total;
    report();
  });
  let width = 1;
  for (let offset = 0; offset < MAX_RECORDS && !cancelled(); ) {
    const offsets = Array.from({ length: width }, (_, i) => offset + i * PAGE).filter((o) => o < MAX_RECORDS);
    const pages = await Promise.all(offsets.map(page));
    const all = pages.flatMap((p) => p.messages);
    records.push(...all.filter(inRange));
    report();
    const passedRange = range.from !== undefined && all.some((r) => r.time < range.from!);
    if (passedRange || pages.some((p) => p.messages.length < PAGE)) break;
    offset += offsets.length * PAGE;
    width = PARALLEL;
  }
  await counting;
}

export function group(records: TelemetryRecord[]): Series[] {
  const byName = new Map<string, Series>();
  for (const record of records) {
    if (typeof record.value !== "number") continue;
    const name = record.name ?? "(unnamed)";
    let series = byName.get(name);
    if (!series) byName.set(name, (series = { name, unit: record.unit ?? "", points: [] }));
    series.points.push([record.time, record.value]);
  }
  const all = [...byName.values()];
  // The reader answers newest first; a plot reads left to right.
  for (const series of all) series.points.sort((a, b) => a[0] - b[0]);
  return all.sort((a, b) => a.name.localeCompare(b.name));
}

/** uPlot's shape: one x array shared by every series, nulls where a series has no point. */
export function align(series: Series[]): (number | null)[][] {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column: (number | null)[] = new Array(times.length).fill(null);
    for (const [t, v] of s.points) column[index.get(t)!] = v;
    return column;
  });
  return [times, ...columns];
}
