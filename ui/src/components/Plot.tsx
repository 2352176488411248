// A channel's SenML series on one time axis: one line per name, one y axis per unit, a range
// picker, drag-to-zoom (uPlot's own) and zoom buttons for the keyboard.

import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { type Telemetry, MAX_RECORDS, align, readTelemetry } from "../telemetry";
import { errorText } from "../api";
import { Failure } from "./Failure";

const RANGES: [string, number | null][] = [
  ["Last 15 minutes", 15 * 60],
  ["Last hour", 3600],
  ["Last 24 hours", 86400],
  ["Last 7 days", 7 * 86400],
  ["All time", null],
];
const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d8c"];

export function Plot({ channel }: { channel: string }) {
  const [span, setRange] = useState(3600);
  const [tick, setTick] = useState(0);
  const [telemetry, setTelemetry] = useState<Telemetry | null>(null);
  const [shownRange, setWindow] = useState<[number, number] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    const to = Date.now() / 1000 + 1;
    const range = span === -1 ? {} : { from: to - span - 1, to };
    setWindow(span === -1 ? null : [to - span, to]);
    setError(null);
    readTelemetry(channel, range, (t) => setTelemetry(t), () => cancelled).catch(
      (e) => !cancelled && setError(errorText(e)),
    );
    return () => {
      cancelled = true;
    };
  }, [channel, span, tick]);
  const points = telemetry?.series.reduce((n, s) => n + s.points.length, 0) ?? 0;

  return (
    <section class="panel" aria-labelledby="plot-title">
      <h2 id="plot-title">Telemetry</h2>
      <div class="row">
        <label for="plot-range">Time range</label>
        <select id="plot-range" value={span} onChange={(e) => setRange(Number((e.target as HTMLSelectElement).value))}>
          {RANGES.map(([label, span]) => (
            <option key={label} value={span ?? -1}>
              {label}
            </option>
          ))}
        </select>
        <button type="button" class="secondary" onClick={() => setTick((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <Failure error={error} />
      {telemetry && <Chart telemetry={telemetry} shown={shownRange} />}
      {telemetry && (
        <p class="small" role="status" data-testid="plot-summary" data-points={points}>
          {summary(telemetry, points)}
        </p>
      )}
    </section>
  );
}

function summary(t: Telemetry, points: number): string {
  if (t.series.length === 0) return "No numeric SenML values in this range.";
  const names = t.series.map((s) => `${s.name}${s.unit ? ` (${s.unit})` : ""}: ${s.points.length}`).join(", ");
  const loading = !t.counted || t.read < Math.min(t.total, MAX_RECORDS) ? " Loading more…" : "";
  const capped = t.total > MAX_RECORDS ? ` Showing the newest ${MAX_RECORDS.toLocaleString("en")} of ${t.total.toLocaleString("en")} records: narrow the range to see older ones.` : "";
  return `${points} point${points === 1 ? "" : "s"}: ${names}.${capped}${loading}`;
}

/** `shown`: the chosen time range, shown whole; without one, the data's own span. */
function Chart({ telemetry, shown }: { telemetry: Telemetry; shown: [number, number] | null }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (!box.current || telemetry.series.length === 0) return;
    const units = [...new Set(telemetry.series.map((s) => s.unit))];
    const options: uPlot.Options = {
      width: box.current.clientWidth || 600,
      height: 280,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      series: [
        {},
        ...telemetry.series.map((s, i) => ({
          label: s.unit ? `${s.name} (${s.unit})` : s.name,
          scale: s.unit || "value",
          stroke: COLORS[i % COLORS.length],
          width: 2,
          spanGaps: true,
          points: { show: true, size: 6 },
        })),
      ],
      axes: [
        {},
        ...units.map((unit, i) => ({
          scale: unit || "value",
          label: unit || "value",
          side: i % 2 === 0 ? 3 : 1,
          grid: { show: i === 0 },
        })),
      ],
    };
    const data = align(telemetry.series) as uPlot.AlignedData;
    plot.current = new uPlot(options, data, box.current);
    // Set once, not as the scale's range function: uPlot calls that on every zoom too.
    const xs = data[0];
    const [min, max] = shown ?? padded(xs[0], xs[xs.length - 1]);
    plot.current.setScale("x", { min, max });
    const resize = new ResizeObserver(() => {
      if (box.current) plot.current?.setSize({ width: box.current.clientWidth, height: 280 });
    });
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [telemetry, shown]);

  const zoom = (factor: number) => {
    const u = plot.current;
    if (!u) return;
    const { min, max } = u.scales.x;
    if (min === undefined || max === undefined) return;
    const middle = (min + max) / 2;
    const half = ((max - min) / 2) * factor || 30;
    u.setScale("x", { min: middle - half, max: middle + half });
  };
  const reset = () => {
    const u = plot.current;
    const xs = u?.data[0];
    if (!u || !xs || !xs.length) return;
    const [min, max] = shown ?? padded(xs[0], xs[xs.length - 1]);
    u.setScale("x", { min, max });
  };
  if (telemetry.series.length === 0) return null;
  return (
    <figure class="plot">
      <div ref={box} role="img" aria-label={`Plot of ${telemetry.series.map((s) => s.name).join(", ")} over time`} />
      <figcaption class="row">
        <span class="small">Drag across the plot to zoom in.</span>
        <button type="button" class="secondary small" onClick={() => zoom(0.5)}>
          Zoom in
        </button>
        <button type="button" class="secondary small" onClick={() => zoom(2)}>
          Zoom out
        </button>
        <button type="button" class="secondary small" onClick={reset}>
          Reset zoom
        </button>
      </figcaption>
    </figure>
  );
}

/** A span around the data; a single point gets a minute either side, not uPlot's years. */
function padded(min: number, max: number): [number, number] {
  const pad = Math.max((max - min) * 0.02, 30);
  return [min - pad, max + pad];
}
