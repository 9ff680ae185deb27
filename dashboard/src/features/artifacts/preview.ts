// Which preview a file gets, by its extension, and the CSV parser of the table preview.

export type PreviewKind = "image" | "markdown" | "json" | "yaml" | "csv" | "text" | "download";

const KINDS: Record<string, PreviewKind> = {
  png: "image",
  jpg: "image",
  jpeg: "image",
  gif: "image",
  webp: "image",
  md: "markdown",
  markdown: "markdown",
  json: "json",
  yaml: "yaml",
  yml: "yaml",
  csv: "csv",
  tsv: "csv",
  txt: "text",
  log: "text",
  jsonl: "text",
  py: "text",
  cfg: "text",
  ini: "text",
  toml: "text",
};

export function previewKind(path: string): PreviewKind {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot < 0) return "download";
  return KINDS[name.slice(dot + 1).toLowerCase()] ?? "download";
}

/** JSON pretty-printed; text that is not valid JSON (or was cut short) as it is. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** RFC 4180 CSV (quoted fields, "" escapes, newlines inside quotes); `\t` for TSV. A last
 * line cut short by a partial read is dropped when `truncated`. */
export function parseCsv(text: string, delimiter = ",", truncated = false): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (!truncated && (field !== "" || row.length > 0)) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
