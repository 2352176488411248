// Every screen: no serious or critical axe-core violation, no sideways scrolling on a 360 px
// phone, usable from the keyboard; API errors and invalid JSON said in words where they
// happen; an expired session goes back to sign-in with a reason.
import { spawn } from "node:child_process";
import { api, expectAccessible, expectNoSidewaysScroll, newUser, publish, shot, signedIn } from "./helpers";
import { expect, test } from "./server";

async function scene(base: string) {
  const user = await newUser(base);
  const things = await api<{ things: { id: string; key: string }[] }>(base, "POST", "/things/bulk", user.token, [
    { name: "pump", metadata: { site: "north", floor: 2 } },
    { name: "valve", metadata: { site: "south" } },
  ]);
  const channels = await api<{ channels: { id: string }[] }>(base, "POST", "/channels/bulk", user.token, [{ name: "pressure" }]);
  const [thing, channel] = [things.things[0].id, channels.channels[0].id];
  await api(base, "POST", "/connect", user.token, { thing_ids: [thing], channel_ids: [channel] });
  const key = things.things[0].key;
  publish(base, channel, key, [{ n: "bar", u: "bar", v: 1.5 }, { n: "bar", u: "bar", v: 1.6, t: 1e9 }]);
  return { user, thing, channel, key };
}

test("every screen is accessible and fits from 360 px to wide", async ({ page, server }) => {
  const { user, thing, channel } = await scene(server.base);
  const screens: [string, string, string][] = [
    ["overview", "", "Overview"],
    ["things", "things", "Things"],
    ["channels", "channels", "Channels"],
    ["thing", `things/${thing}`, "pump"],
    ["channel", `channels/${channel}`, "pressure"],
    ["history", `things/${thing}/history`, "History"],
    ["channel-history", `channels/${channel}/history`, "History"],
    ["bootstrap", "bootstrap", "Bootstrap configs"],
    ["certificates", "certs", "Certificates"],
  ];
  await signedIn(page, user.token);
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: 800 });
    for (const [name, hash, heading] of screens) {
      await page.goto(`/ui/#/${hash}`);
      await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
      await page.waitForLoadState("networkidle");
      await expectAccessible(page, `${name} at ${width} px`);
      await expectNoSidewaysScroll(page, `${name} at ${width} px`);
      await shot(page, `${name}-${width}`);
    }
  }
});

test("the overview counts what the user owns", async ({ page, server }) => {
  const { user, thing, channel, key } = await scene(server.base);
  // A device on MQTT, counted live.
  const device = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(server.mqttPort), "-u", thing, "-P", key, "-t", `channels/${channel}/messages`, "-W", "30"]);
  await signedIn(page, user.token);
  const card = (label: string) => page.locator(".card").filter({ hasText: label }).locator(".big");
  await expect(card("Things")).toHaveText("2");
  await expect(card("Channels")).toHaveText("1");
  await expect(card("Connections")).toHaveText("1");
  // The record sent with t = 1e9 (2001) is not today's.
  await expect(async () => {
    await page.reload();
    await expect(card("Messages stored today")).toHaveText("1", { timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  const mqtt = page.getByRole("row").filter({ has: page.getByRole("cell", { name: "MQTT" }) });
  await expect(async () => {
    await page.reload();
    await expect(mqtt.getByRole("cell").nth(1)).toHaveText("1", { timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  device.kill();
});

test("the keyboard alone signs in and reaches a thing", async ({ page, server }) => {
  const user = await newUser(server.base);
  await api(server.base, "POST", "/things", user.token, { name: "keyboard-thing" });
  await page.goto("/ui/");
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Email")).toBeFocused();
  await page.keyboard.type(user.email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(user.password);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  // Tab from the top of the page to the Things link, and follow it.
  await page.locator("body").focus();
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement?.textContent);
    if (focused === "Things") break;
  }
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
  expect(outline, "focus is visible").not.toBe("none");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Things" })).toBeVisible();
  const link = page.getByRole("link", { name: "keyboard-thing" });
  await link.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "keyboard-thing" })).toBeVisible();
});

test("invalid JSON is refused and API errors are shown where they happen", async ({ page, server }) => {
  const { user } = await scene(server.base);
  await signedIn(page, user.token, "things");
  await page.getByText("New thing").click();
  const form = page.getByRole("form", { name: "New thing" });
  await form.getByLabel("Name").fill("broken");
  await form.getByLabel(/Metadata/).fill('{"room": ');
  await expect(form.getByRole("alert")).toContainText("Not valid JSON");
  await expect(form.getByRole("button", { name: "Create thing" })).toBeDisabled();
  await form.getByLabel(/Metadata/).fill("[1, 2]");
  await expect(form.getByRole("alert")).toContainText("must be a JSON object");

  // The metadata filter narrows the list server-side.
  await page.getByLabel("Metadata contains (JSON)").fill('{"site": "north"}');
  await expect(page.getByRole("link", { name: "pump" })).toBeVisible();
  await expect(page.getByRole("link", { name: "valve" })).toHaveCount(0);

  // The server's refusal, in its words, inside the form that caused it.
  await page.goto("/ui/#/bootstrap");
  await page.getByText("New config").click();
  const config = page.getByRole("form", { name: "New bootstrap config" });
  await config.getByLabel("External id").fill("serial-1");
  await config.getByLabel("External key").fill("factory-secret");
  await config.getByLabel("Channel ids (comma separated)").fill("not-a-uuid");
  await config.getByRole("button", { name: "Create config" }).click();
  await expect(config.getByRole("alert")).not.toBeEmpty();

  // A wrong password, on the sign-in form.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
});

test("a refused token goes back to sign-in with the reason", async ({ page }) => {
  await page.goto("/ui/");
  await page.evaluate(() => sessionStorage.setItem("ferroflux.token", "expired.or.forged"));
  await page.reload();
  await expect(page.getByRole("status")).toContainText("Sign in again");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("bulk connections from a list, and disconnecting them", async ({ page, server }) => {
  const { user, channel } = await scene(server.base);
  await signedIn(page, user.token, "things");
  await page.getByLabel("Select pump").check();
  await page.getByLabel("Select valve").check();
  const panel = page.getByRole("region", { name: /Connections of the 2 selected things/ });
  await panel.getByLabel(/pressure/).check();
  await panel.getByRole("button", { name: "Disconnect" }).click();
  // pump was connected, valve was not: one pair disconnected, the other's refusal named.
  await expect(panel.getByText("Disconnected 1 of 2 pairs.")).toBeVisible();
  await expect(panel.getByRole("alert")).not.toBeEmpty();
  await page.getByLabel("Select pump").check();
  await page.getByLabel("Select valve").check();
  await panel.getByLabel(/pressure/).check();
  await panel.getByRole("button", { name: "Connect", exact: true }).click();
  await expect(panel.getByText("Connected 2 pairs.")).toBeVisible();
  const connected = await api<{ total: number }>(server.base, "GET", `/channels/${channel}/things?limit=1`, user.token);
  expect(connected.total).toBe(2);
});
