// Live connections by protocol, read off `GET /metrics` (Prometheus text, no token).

export interface Live {
  protocol: string;
  count: number;
  how: string;
}

export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const [name, value] = line.split(" ");
    values.set(name.replace(/^ferroflux_/, ""), Number(value));
  }
  return values;
}

export function liveByProtocol(metrics: Map<string, number>): Live[] {
  const get = (name: string) => metrics.get(name);
  const rows: Live[] = [];
  const connects = get("mqtt_connects_total");
  const ends = get("mqtt_disconnects_total");
  if (connects !== undefined && ends !== undefined) {
    rows.push({ protocol: "MQTT", count: Math.max(connects - ends, 0), how: "sessions accepted minus ended" });
  }
  const ws = get("ws_sessions");
  if (ws !== undefined) rows.push({ protocol: "WebSocket", count: ws, how: "sessions open" });
  const coap = get("coap_observers");
  if (coap !== undefined) rows.push({ protocol: "CoAP", count: coap, how: "observers" });
  return rows;
}

export async function readMetrics(): Promise<Map<string, number>> {
  const response = await fetch("/metrics");
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}
