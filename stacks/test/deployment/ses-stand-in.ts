/**
 * SES for the offline deployment: aws-ses-v2-local (which keeps every mail, readable at /store),
 * behind a small proxy that can make the sends to one recipient fail for a while, as SES does
 * when it is throttled or down: an HTTP 500 InternalFailure for each of the SDK's attempts.
 */
import { createServer, request as forward, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import sesLocal from "aws-ses-v2-local";
import { IDLE_CONNECTIONS_KEPT_MS } from "../../../packages/core/test/support/dynamo.ts";

export interface StoredMail {
  readonly destination: { readonly to: string[] };
  readonly subject: string;
  readonly body: { readonly text: string };
  readonly attachments: { readonly filename: string; readonly content: string }[];
}

/** The SDK's attempts per call (SESv2Client's default retry strategy). */
const SDK_ATTEMPTS = 3;

export class SesStandIn {
  private inner: Server | undefined;
  private proxy: Server | undefined;
  private readonly failing = new Map<string, number>();

  get endpoint(): string {
    return `http://127.0.0.1:${(this.proxy!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.inner = await sesLocal.default({ host: "127.0.0.1", port: 0 });
    const innerPort = (this.inner.address() as AddressInfo).port;
    this.proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const to = this.recipients(req.url ?? "", body);
        const left = to.map((a) => this.failing.get(a) ?? 0).find((n) => n > 0);
        if (left) {
          for (const a of to) this.failing.set(a, (this.failing.get(a) ?? 1) - 1);
          res.writeHead(500, {
            "content-type": "application/json",
            "x-amzn-errortype": "InternalFailure",
          });
          res.end(JSON.stringify({ message: "The stand-in's fault: SES is down." }));
          return;
        }
        const out = forward(
          {
            host: "127.0.0.1",
            port: innerPort,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.end(body);
      });
    });
    // Idle connections stay open (see json-service.ts): no reset of a reused one.
    this.inner.keepAliveTimeout = IDLE_CONNECTIONS_KEPT_MS;
    this.proxy.keepAliveTimeout = IDLE_CONNECTIONS_KEPT_MS;
    await new Promise<void>((resolve) => this.proxy!.listen(0, "127.0.0.1", resolve));
  }

  /** The next send to `address` fails (every SDK attempt of it). */
  failNextSendTo(address: string): void {
    this.failing.set(address, SDK_ATTEMPTS);
  }

  async mails(): Promise<StoredMail[]> {
    const store = (await (await fetch(`${this.endpoint}/store`)).json()) as {
      emails: StoredMail[];
    };
    return store.emails;
  }

  close(): void {
    for (const server of [this.proxy, this.inner]) {
      server?.closeAllConnections();
      server?.close();
    }
  }

  private recipients(url: string, body: Buffer): string[] {
    if (!url.startsWith("/v2/email/outbound-emails")) return [];
    try {
      const parsed = JSON.parse(body.toString("utf8")) as {
        Destination?: { ToAddresses?: string[] };
      };
      return parsed.Destination?.ToAddresses ?? [];
    } catch {
      return [];
    }
  }
}
