/**
 * Debian's Chromium driven by Playwright (playwright-core: no browser download), with the
 * checks every page visit makes: nothing loaded from another origin (the pages must work
 * offline), no Content-Security-Policy violation, no script error, no horizontal scrolling on
 * a phone-sized screen, no serious axe-core accessibility finding. Screenshots go to
 * test-output/screenshots (gitignored).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

const root = new URL("../../../../", import.meta.url).pathname;
export const SCREENSHOTS = join(root, "test-output", "screenshots");

/** The machine's Chromium (`.ci/run` installs Debian's); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
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
}

export interface Watched {
  readonly context: BrowserContext;
  /** Requests that left the origin, console errors and CSP reports, as they happened. */
  readonly problems: string[];
}

/**
 * A fresh browser context (its own cookies) that blocks and records any request to another
 * origin, and records console errors (CSP violations among them) and uncaught page errors.
 */
export async function watchedContext(
  browser: Browser,
  origin: string,
  options: {
    javaScriptEnabled?: boolean;
    viewport?: { width: number; height: number };
    /** Other origins the test means to visit: the OpenID provider's sign-in. */
    alsoAllowed?: readonly string[];
  } = {},
): Promise<Watched> {
  const context = await browser.newContext({
    acceptDownloads: true,
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  const problems: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    const to = new URL(url).origin;
    if (to === origin || options.alsoAllowed?.includes(to)) return route.continue();
    problems.push(`request to another origin: ${url}`);
    return route.abort();
  });
  context.on("page", (page) => watchPage(page, problems));
  return { context, problems };
}

function watchPage(page: Page, problems: string[]): void {
  page.on("console", (message) => {
    // A page answered 4xx on purpose (an expired link is a 410) is not a problem of the page.
    if (
      message.type() === "error" &&
      !message.text().startsWith("Failed to load resource: the server responded with a status of 4")
    )
      problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown }[] }[];
}

/**
 * Runs axe-core (WCAG 2.x A and AA rules, contrast included) in the page. It is evaluated over
 * the DevTools protocol, which the page's CSP does not govern, so the CSP stays on.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const result = (await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })`,
  )) as AxeResult;
  return result.violations.map(
    (v) =>
      `${v.impact}: ${v.id} (${v.help}) at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`,
  );
}

/** The innermost unclipped elements whose right edge is beyond the screen, as tag.class#id. */
const WIDER_THAN_SCREEN = `(() => {
  const limit = document.documentElement.clientWidth + 1;
  const clipped = (e) => { for (let p = e.parentElement; p; p = p.parentElement) if (getComputedStyle(p).overflowX !== "visible") return true; return false; };
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > limit && !clipped(e))
    .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > limit && !clipped(c)))
    .slice(0, 5)
    .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "") + (e.id ? "#" + e.id : ""))
    .join(", ");
})()`;

/**
 * The checks every page gets: saved as `<name>.png` (full page) and `<name>-narrow.png` at a
 * phone's width, which must not scroll sideways; no accessibility violation.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  assert.deepEqual(await accessibilityViolations(page), [], `accessibility of ${name}`);
  const wide = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = (await page.evaluate(
    "document.documentElement.scrollWidth - document.documentElement.clientWidth",
  )) as number;
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-narrow.png`), fullPage: true });
  // What sticks out, to name it when the page is too wide.
  const wider = overflow > 0 ? await page.evaluate(WIDER_THAN_SCREEN) : [];
  if (wide) await page.setViewportSize(wide);
  assert.ok(overflow <= 0, `${name} scrolls sideways by ${overflow}px on a 375px screen: ${wider}`);
}
