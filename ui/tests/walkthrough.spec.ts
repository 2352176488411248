// The click-through, in a real Chromium against a real server: sign up, create a
// thing and a channel, connect them, copy the key, publish SenML with curl, see it live and
// on the plot, rotate the key, step back in the thing's history to before the rotation.
// Every screen on the way is checked with axe-core and photographed.
import { ARTIFACTS, expectAccessible, publish, shot } from "./helpers";
import { expect, test } from "./server";

test("a new user provisions a device and follows its data and history", async ({ page, server }) => {
  await page.goto("/ui/");
  await expectAccessible(page, "sign-in");
  await shot(page, "sign-in");

  // Sign up.
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Email").fill("walker@example.com");
  await page.getByLabel("Password").fill("correct-horse");
  await page.getByRole("button", { name: "Create an account" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  // A thing.
  await page.getByRole("link", { name: "Things" }).first().click();
  await page.getByText("New thing").click();
  await page.getByRole("form", { name: "New thing" }).getByLabel("Name").fill("thermometer");
  await page.getByRole("form", { name: "New thing" }).getByLabel(/Metadata/).fill('{"room": "lab"}');
  await page.getByRole("button", { name: "Create thing" }).click();
  await expect(page.getByRole("heading", { name: "thermometer" })).toBeVisible();
  const thingUrl = page.url();
  const thingId = thingUrl.split("/").pop()!;

  // A channel, connected to the thing from the channel's side.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Channels" }).click();
  await page.getByText("New channel").click();
  await page.getByRole("form", { name: "New channel" }).getByLabel("Name").fill("lab-readings");
  await page.getByRole("button", { name: "Create channel" }).click();
  await expect(page.getByRole("heading", { name: "lab-readings" })).toBeVisible();
  const channelId = page.url().split("/").pop()!;
  const connect = page.getByRole("region", { name: "Connect to things" });
  await connect.getByLabel(/thermometer/).check();
  await connect.getByRole("button", { name: "Connect", exact: true }).click();
  await expect(page.getByRole("region", { name: "Connected things" }).getByRole("link", { name: "thermometer" })).toBeVisible();

  // The thing's key, through the clipboard.
  await page.goto(thingUrl);
  await expect(page.getByRole("region", { name: "Connected channels" }).getByRole("link", { name: "lab-readings" })).toBeVisible();
  await page.getByRole("button", { name: "Copy key" }).click();
  await expect(page.getByText("Copied.")).toBeVisible();
  const key = await page.evaluate(() => navigator.clipboard.readText());
  expect(key).toMatch(/^\S{8,}$/);
  await expectAccessible(page, "thing");
  await shot(page, "thing");

  // Publish as the device, with curl; the channel page shows it live and plots it.
  await page.goto(`/ui/#/channels/${channelId}`);
  await expect(page.getByRole("status").filter({ hasText: /^live$/ })).toBeVisible();
  publish(server.base, channelId, key, [{ bn: "thermometer:", bu: "Cel", n: "temp", v: 21.5 }]);
  const tail = page.getByRole("list", { name: "Messages, newest first" });
  await expect(tail.getByText('"v": 21.5')).toBeVisible();
  await expect(tail.getByText("http", { exact: false })).toBeVisible();
  const summary = page.getByTestId("plot-summary");
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect(summary).toHaveAttribute("data-points", "1", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(summary).toContainText("thermometer:temp (Cel): 1");
  await expect(page.locator(".uplot canvas")).toBeVisible();
  await expectAccessible(page, "channel");
  await shot(page, "channel");

  // Paused, the tail holds new messages aside; resumed, it shows them. These readings (SenML
  // times relative to now) also make the README's picture.
  await page.getByRole("button", { name: "Pause" }).click();
  publish(server.base, channelId, key, [
    { bn: "thermometer:", bu: "Cel", n: "temp", v: 20.4, t: -1500 },
    { n: "temp", v: 20.9, t: -900 },
    { n: "humidity", u: "%RH", v: 44, t: -1200 },
    { n: "humidity", u: "%RH", v: 41, t: -300 },
  ]);
  await expect(page.getByRole("status").filter({ hasText: "paused, 1 held" })).toBeVisible();
  await expect(tail.getByText('"t": -1500')).toHaveCount(0);
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(tail.getByText('"t": -1500')).toBeVisible();
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect(summary).toHaveAttribute("data-points", "5", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${ARTIFACTS}/readme.png` });

  // Rotate the key: the old one is refused from now on.
  await page.goto(thingUrl);
  await page.getByRole("button", { name: "Rotate key" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Rotate" }).click();
  await expect(page.getByText("Key rotated")).toBeVisible();
  await page.getByRole("button", { name: "Show key" }).click();
  await expect(page.getByTestId("thing-key")).not.toHaveText(key);
  expect(() => publish(server.base, channelId, key, [{ n: "temp", v: 1 }])).toThrow();

  // History: the newest event is the rotation; one step back, the thing has its old key.
  await page.getByRole("link", { name: "History" }).click();
  await expect(page.getByRole("heading", { name: "History" })).toBeVisible();
  const newest = page.getByRole("list", { name: "Events, newest first" }).getByRole("button").first();
  await expect(newest).toContainText("update_key");
  await expect(page.getByTestId("as-of")).not.toContainText(key);
  await page.getByRole("button", { name: "◀ Older" }).click();
  await expect(page.getByTestId("as-of")).toContainText(key);
  await expect(page.getByTestId("as-of")).toContainText(thingId);
  await expectAccessible(page, "history");
  await shot(page, "history");
});
