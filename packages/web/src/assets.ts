/**
 * The pages' stylesheet and script, served from this origin (no CDN: the pages work offline
 * and under a CSP of 'self'). They are plain files in packages/web/assets, read once at start;
 * on Lambda the stack copies them beside the handler (WEB_ASSETS_FOLDER). URLs carry the
 * content's hash, so browsers may cache them for good.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Context } from "hono";

/** Where the Lambda's copy of the assets lands, relative to LAMBDA_TASK_ROOT. */
export const WEB_ASSETS_FOLDER = "web-assets";

/** The assets in the repository (local mode, tests). */
export const SOURCE_ASSETS_DIR = fileURLToPath(new URL("../assets/", import.meta.url));

const types: Readonly<Record<string, string>> = {
  "app.css": "text/css; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
};

interface Asset {
  readonly body: string;
  readonly type: string;
  readonly version: string;
}

export class Assets {
  private readonly files: ReadonlyMap<string, Asset>;

  constructor(dir: string) {
    this.files = new Map(
      Object.entries(types).map(([name, type]) => {
        const body = readFileSync(join(dir, name), "utf8");
        const version = createHash("sha256").update(body).digest("hex").slice(0, 16);
        return [name, { body, type, version }];
      }),
    );
  }

  /** The URL to put in a page: versioned by content. */
  url(name: keyof typeof types & string): string {
    return `/assets/${name}?v=${this.files.get(name)!.version}`;
  }

  /** Answers GET /assets/:name; undefined for a name that is not an asset. */
  serve(c: Context, name: string): Response | undefined {
    const asset = this.files.get(name);
    if (!asset) return undefined;
    const current = c.req.query("v") === asset.version;
    return c.body(asset.body, 200, {
      "Content-Type": asset.type,
      // Only the current version's URL is cached for good; anything else revalidates.
      "Cache-Control": current ? "public, max-age=31536000, immutable" : "no-cache",
      ETag: `"${asset.version}"`,
    });
  }
}
