// The rest of the operator's work, by clicks: edit and delete, bootstrap configs,
// certificates. Each result is checked through the REST API, not only on screen.
import { api, expectAccessible, newUser, signedIn } from "./helpers";
import { expect, test } from "./server";

test("edit a thing's name and metadata, then delete it after confirming", async ({ page, server }) => {
  const user = await newUser(server.base);
  const made = await api<{ things: { id: string }[] }>(server.base, "POST", "/things/bulk", user.token, [{ name: "old-name" }]);
  const id = made.things[0].id;
  await signedIn(page, user.token, `things/${id}`);
  const edit = page.getByRole("form", { name: "Edit" });
  await edit.getByLabel("Name").fill("new-name");
  await edit.getByLabel(/Metadata/).fill('{"floor": 3');
  await expect(edit.getByRole("button", { name: "Save" })).toBeDisabled();
  await edit.getByLabel(/Metadata/).fill('{"floor": 3}');
  await edit.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "new-name" })).toBeVisible();
  const thing = await api<{ name: string; metadata: unknown }>(server.base, "GET", `/things/${id}`, user.token);
  expect(thing).toMatchObject({ name: "new-name", metadata: { floor: 3 } });

  // Cancel keeps it; confirming deletes it.
  await page.getByRole("button", { name: "Delete thing" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
  await api(server.base, "GET", `/things/${id}`, user.token);
  await page.getByRole("button", { name: "Delete thing" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await expectAccessible(page, "delete dialog");
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Things" })).toBeVisible();
  await expect(api(server.base, "GET", `/things/${id}`, user.token)).rejects.toThrow(/404/);
});

test("a bootstrap config is created and activated", async ({ page, server }) => {
  const user = await newUser(server.base);
  const channels = await api<{ channels: { id: string }[] }>(server.base, "POST", "/channels/bulk", user.token, [{ name: "cfg" }]);
  await signedIn(page, user.token, "bootstrap");
  await page.getByText("New config").click();
  const form = page.getByRole("form", { name: "New bootstrap config" });
  await form.getByLabel("External id").fill("serial-0042");
  await form.getByLabel("External key").fill("factory-secret");
  await form.getByLabel("Name").fill("gateway");
  await form.getByLabel("Channel ids (comma separated)").fill(channels.channels[0].id);
  await form.getByLabel("Content").fill('{"interval":60}');
  await form.getByRole("button", { name: "Create config" }).click();
  const item = page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "gateway" }) });
  await expect(item).toContainText("inactive");
  await item.getByRole("button", { name: "Activate" }).click();
  await expect(item).toContainText("active");
  await expect(item.getByRole("button", { name: "Deactivate" })).toBeVisible();
  const configs = await api<{ configs: { state: number; external_id: string }[] }>(server.base, "GET", "/things/configs", user.token);
  expect(configs.configs).toMatchObject([{ external_id: "serial-0042", state: 1 }]);
});

test("a certificate is issued for a thing and revoked", async ({ page, server }) => {
  const user = await newUser(server.base);
  const made = await api<{ things: { id: string }[] }>(server.base, "POST", "/things/bulk", user.token, [{ name: "sensor-cert" }]);
  await signedIn(page, user.token, "certs");
  await page.getByLabel("Find a thing by name").fill("sensor-cert");
  await page.getByRole("button", { name: "sensor-cert" }).click();
  await page.getByRole("button", { name: "Issue certificate" }).click();
  await expect(page.getByText(/Certificate [0-9a-f]+ issued/)).toBeVisible();
  await page.getByRole("button", { name: "Copy private key" }).click();
  const pem = await page.evaluate(() => navigator.clipboard.readText());
  expect(pem).toContain("PRIVATE KEY");
  await page.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByText("revoked", { exact: true })).toBeVisible();
  const certs = await api<{ certs: { revoked: boolean }[] }>(server.base, "GET", `/certs/${made.things[0].id}`, user.token);
  expect(certs.certs).toMatchObject([{ revoked: true }]);
});
