// The UI's browser tests: Debian's Chromium (Playwright's own builds cannot be downloaded
// here), one worker (the server under test shares two cores with it), artefacts kept in
// target/ui-artifacts.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests",
  testMatch: /.*\.spec\.ts/,
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  outputDir: "../target/ui-artifacts/test-results",
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: process.env.FF_UI_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    permissions: ["clipboard-read", "clipboard-write"],
    screenshot: "only-on-failure",
    trace: "off",
  },
});
