// A real `ferroflux serve` for the browser tests: the debug binary the Rust tests build
// (FF_UI_TEST_BIN, else $CARGO_TARGET_DIR or ../target), on ephemeral ports, in a fresh data
// dir, stopped with SIGTERM when the worker ends.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test as base } from "@playwright/test";

export interface Server {
  base: string;
  mqttPort: number;
}

export function binary(): string {
  if (process.env.FF_UI_TEST_BIN) return resolve(process.env.FF_UI_TEST_BIN);
  const target = process.env.CARGO_TARGET_DIR ?? resolve(import.meta.dirname, "../../target");
  return join(target, "debug", "ferroflux");
}

export async function startServer(): Promise<{ server: Server; stop: () => Promise<void> }> {
  if (!existsSync(binary())) throw new Error(`no ${binary()}: build it with cargo build --bin ferroflux`);
  const dataDir = mkdtempSync(join(tmpdir(), "ferroflux-ui-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FF_DATA_DIR: dataDir,
    FF_HTTP_ADDR: "127.0.0.1:0",
    FF_MQTT_ADDR: "127.0.0.1:0",
    FF_COAP_ADDR: "off",
    RUST_LOG: "info",
  };
  // The data dir's own secrets, as the Rust tests use.
  delete env.FF_JWT_SECRET;
  delete env.FF_MASTER_KEY;
  const child = spawn(binary(), ["serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
  // Both lines are looked for in one buffer: they may arrive in a single chunk.
  const [http, mqtt] = await logLines(child, [
    /HTTP API listening on http:\/\/(\S+)/,
    /MQTT listening on mqtt:\/\/\S+:(\d+)/,
  ]);
  const stop = async () => {
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { server: { base: `http://${http}`, mqttPort: Number(mqtt) }, stop };
}

/** The first group of each pattern, once all have appeared in the server's output. */
function logLines(child: ChildProcess, patterns: RegExp[]): Promise<string[]> {
  return new Promise((found, failed) => {
    let seen = "";
    const timer = setTimeout(() => failed(new Error(`no ${patterns.join(", ")} in the server's log:\n${seen}`)), 30_000);
    const read = (chunk: Buffer) => {
      seen += chunk.toString();
      const matches = patterns.map((pattern) => pattern.exec(seen));
      if (matches.every((match) => match !== null)) {
        clearTimeout(timer);
        found(matches.map((match) => match![1]));
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.once("exit", (code) => failed(new Error(`ferroflux exited (${code}):\n${seen}`)));
  });
}

/** `test` with a `server` fixture: one server per worker, shared by its tests. */
export const test = base.extend<object, { server: Server }>({
  server: [
    async ({}, use) => {
      const { server, stop } = await startServer();
      await use(server);
      await stop();
    },
    { scope: "worker" },
  ],
  baseURL: async ({ server }, use) => use(server.base),
});

export { expect } from "@playwright/test";
