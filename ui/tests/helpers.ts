// What the browser tests share: the accessibility check, screenshots, and the REST calls a
// test makes outside the browser (as a device or to set the scene).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { type Page, expect } from "@playwright/test";

export const ARTIFACTS = resolve(import.meta.dirname, "../../target/ui-artifacts");

/** No serious or critical axe-core violation on the page as it is now. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(bad, `accessibility of ${screen}`).toEqual([]);
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

/** A page as wide as a phone: nothing may stick out sideways. */
export async function expectNoSidewaysScroll(page: Page, screen: string): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${screen} scrolls sideways by ${overflow}px`).toBeLessThanOrEqual(0);
}

/** Publishes as a device would, with curl over HTTP (not the browser). */
export function publish(base: string, channel: string, key: string, senml: unknown): void {
  execFileSync("curl", [
    "-sS",
    "--fail-with-body",
    "-X",
    "POST",
    `${base}/http/channels/${channel}/messages`,
    "-H",
    `Authorization: Thing ${key}`,
    "-H",
    "Content-Type: application/senml+json",
    "-d",
    JSON.stringify(senml),
  ], { stdio: ["ignore", "pipe", "pipe"] });
}

export async function api<T>(base: string, method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** A new user with a token, made through the API. */
export async function newUser(base: string): Promise<{ email: string; password: string; token: string }> {
  const email = `u${Date.now()}${Math.floor(Math.random() * 1e6)}@example.com`;
  const password = "correct-horse";
  await api(base, "POST", "/users", undefined, { email, password });
  const { token } = await api<{ token: string }>(base, "POST", "/tokens", undefined, { email, password });
  return { email, password, token };
}

/** Signs the browser in with a token, as the sign-in screen would. */
export async function signedIn(page: Page, token: string, hash = ""): Promise<void> {
  await page.goto("/ui/");
  await page.evaluate((t) => sessionStorage.setItem("ferroflux.token", t), token);
  await page.goto(`/ui/#/${hash}`);
  // Only the hash changed: reload so the app starts with the token.
  await page.reload();
}
