// Opens a salesops report in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core) and prints one JSON line: the console errors and
// failed loads, every request the page made, and the size of each chart's
// SVG as laid out. Writes a full-page screenshot. Exits non-zero when the
// browser cannot start, so the test fails rather than skips.
//
// usage: node check_report.cjs REPORT.html SCREENSHOT.png
const path = require("path");
const { chromium } = require("playwright-core");

async function main() {
  const [report, screenshot] = process.argv.slice(2);
  if (!report || !screenshot) {
    throw new Error("usage: node check_report.cjs REPORT.html SCREENSHOT.png");
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // As root in a container, with this machine's closed network: no
    // sandbox, and none of Chromium's own background connections.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors = [];
    const requests = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page error: ${e}`));
    page.on("requestfailed", (r) => errors.push(`failed to load: ${r.url()}`));
    page.on("request", (r) => requests.push(r.url()));
    const url = "file://" + path.resolve(report);
    const response = await page.goto(url, { waitUntil: "load" });
    if (!response || !response.ok()) errors.push(`the page did not load: ${url}`);
    const charts = await page.$$eval("figure.chart", (figures) =>
      figures.map((f) => {
        const svg = f.querySelector("svg");
        const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
        return { id: f.id, width: box.width, height: box.height };
      }),
    );
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(JSON.stringify({ url, errors, requests, charts }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`check_report: ${e.stack || e}`);
  process.exit(1);
});
