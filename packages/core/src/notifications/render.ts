/**
 * One small layout language for every message, rendered twice: as plain text and as simple,
 * inline-styled HTML with no external resources. Every value reaches the HTML through
 * `escapeHtml`, so no message can inject markup, and every value is cleaned of control and
 * bidirectional-override characters first, so none can forge lines or reorder what is shown.
 */
import { UNSAFE_TEXT } from "../encoding/unsafe-text.ts";

export interface Field {
  readonly label: string;
  /** One line each; several values are shown one per line. */
  readonly value: string | readonly string[];
  /** Shown in a monospace font (serials, fingerprints, identifiers). */
  readonly mono?: boolean;
  /** The value is a URL we built: shown as a link in HTML. */
  readonly link?: boolean;
}

export type Block =
  | { readonly kind: "paragraph"; readonly text: string }
  | { readonly kind: "fields"; readonly rows: readonly Field[] }
  /** A link to follow, shown as a button in HTML and on its own line in text. */
  | { readonly kind: "action"; readonly label: string; readonly url: string }
  | { readonly kind: "list"; readonly title: string; readonly items: readonly string[] }
  /** Someone else's words (a comment, a reason), kept apart from ours. */
  | { readonly kind: "quote"; readonly title: string; readonly text: string };

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Longest value shown for one field line, and for a quoted text. */
const MAX_FIELD = 1_000;
const MAX_QUOTE = 4_000;
const MAX_SUBJECT = 150;

const UNSAFE = UNSAFE_TEXT;

/** A value fit for one line: every unsafe character becomes U+FFFD, visibly. */
export function oneLine(value: string, max = MAX_FIELD): string {
  return truncate(value.replace(UNSAFE, "\uFFFD"), max);
}

/** A multi-line value: line ends kept (as \n), every other unsafe character replaced. */
export function multiLine(value: string, max = MAX_QUOTE): string {
  const lines = value
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => line.replace(UNSAFE, "\uFFFD").trimEnd());
  return truncate(lines.join("\n").trim(), max);
}

function truncate(value: string, max: number): string {
  const chars = Array.from(value);
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join("")}…`;
}

const entities: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text safe in HTML element content and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => entities[c]!);
}

/** `2025-03-01 12:00:00 UTC`. */
export function formatTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid date");
  return date
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, " UTC");
}

function values(field: Field): string[] {
  const list = typeof field.value === "string" ? [field.value] : [...field.value];
  return list.length === 0 ? ["(none)"] : list.map((v) => oneLine(v));
}

// ---------------------------------------------------------------------------------------------
// Plain text

function textBlock(block: Block): string {
  switch (block.kind) {
    case "paragraph":
      return multiLine(block.text);
    case "fields": {
      const width = Math.max(...block.rows.map((r) => r.label.length)) + 2;
      const lines: string[] = [];
      for (const row of block.rows) {
        values(row).forEach((value, i) => {
          const label = i === 0 ? `${row.label}:` : "";
          lines.push(`${label.padEnd(width)}${value}`);
        });
      }
      return lines.join("\n");
    }
    case "action":
      return `${oneLine(block.label)}:\n${oneLine(block.url, 4_000)}`;
    case "list": {
      const items = block.items.length === 0 ? ["(none)"] : block.items;
      return [`${oneLine(block.title)}:`, ...items.map((i) => `  - ${oneLine(i)}`)].join("\n");
    }
    case "quote": {
      const text = multiLine(block.text);
      const lines = (text === "" ? "(empty)" : text).split("\n").map((l) => `  > ${l}`);
      return [`${oneLine(block.title)}:`, ...lines].join("\n");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// HTML

const FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";
const MONO = "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px";
const style = {
  body: `margin:0;padding:24px;background:#f4f5f7;color:#1f2328;${FONT};font-size:15px;line-height:1.5`,
  card: "max-width:640px;margin:0 auto;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;padding:24px",
  h1: "margin:0 0 16px;font-size:20px;font-weight:600",
  p: "margin:0 0 16px",
  table: "border-collapse:collapse;margin:0 0 16px;width:100%",
  th: "text-align:left;vertical-align:top;padding:4px 16px 4px 0;color:#57606a;font-weight:600;white-space:nowrap",
  td: "vertical-align:top;padding:4px 0;word-break:break-all",
  button:
    "display:inline-block;padding:10px 18px;background:#0969da;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600",
  small: "margin:0 0 16px;font-size:13px;color:#57606a;word-break:break-all",
  ul: "margin:0 0 16px;padding-left:20px",
  quote:
    "margin:0 0 16px;padding:8px 12px;border-left:4px solid #d0d7de;background:#f6f8fa;color:#1f2328;word-break:break-word",
};

function htmlLines(text: string): string {
  return text.split("\n").map(escapeHtml).join("<br>");
}

function htmlBlock(block: Block): string {
  switch (block.kind) {
    case "paragraph":
      return `<p style="${style.p}">${htmlLines(multiLine(block.text))}</p>`;
    case "fields": {
      const rows = block.rows.map((row) => {
        const cell = values(row)
          .map((v) => {
            const shown = escapeHtml(v);
            return row.link ? `<a href="${shown}" style="color:#0969da">${shown}</a>` : shown;
          })
          .join("<br>");
        const td = row.mono ? `${style.td};${MONO}` : style.td;
        return `<tr><th style="${style.th}">${escapeHtml(row.label)}</th><td style="${td}">${cell}</td></tr>`;
      });
      return `<table role="presentation" style="${style.table}">${rows.join("")}</table>`;
    }
    case "action": {
      const url = escapeHtml(oneLine(block.url, 4_000));
      return (
        `<p style="${style.p}"><a href="${url}" style="${style.button}">${escapeHtml(oneLine(block.label))}</a></p>` +
        `<p style="${style.small}">Or open this address: <a href="${url}" style="color:#0969da">${url}</a></p>`
      );
    }
    case "list": {
      const items = block.items.length === 0 ? ["(none)"] : block.items;
      const lis = items.map((i) => `<li>${escapeHtml(oneLine(i))}</li>`).join("");
      return `<p style="${style.p};margin-bottom:4px"><strong>${escapeHtml(oneLine(block.title))}</strong></p><ul style="${style.ul}">${lis}</ul>`;
    }
    case "quote": {
      const text = multiLine(block.text);
      return `<p style="${style.p};margin-bottom:4px"><strong>${escapeHtml(oneLine(block.title))}</strong></p><blockquote style="${style.quote}">${text === "" ? "<em>(empty)</em>" : htmlLines(text)}</blockquote>`;
    }
  }
}

/** Renders `blocks` under `heading` as text and HTML, with `subject` made one safe line. */
export function renderMail(
  subject: string,
  heading: string,
  blocks: readonly Block[],
): RenderedMail {
  const safeSubject = oneLine(subject, MAX_SUBJECT);
  const text = `${[oneLine(heading), ...blocks.map(textBlock)].join("\n\n")}\n`;
  const html =
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(safeSubject)}</title></head>` +
    `<body style="${style.body}"><div style="${style.card}">` +
    `<h1 style="${style.h1}">${escapeHtml(oneLine(heading))}</h1>` +
    blocks.map(htmlBlock).join("\n") +
    `</div></body></html>\n`;
  return { subject: safeSubject, text, html };
}
