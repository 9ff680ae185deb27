// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { renderNoteHtml } from "./markdown";

describe("run notes Markdown", () => {
  it("renders Markdown", () => {
    const html = renderNoteHtml("# Title\n\n**bold** and `code`\n\n- a\n- b");
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<code>code</code>");
    expect(html).toContain("<li>a</li>");
  });

  it("shows raw HTML as text instead of interpreting it", () => {
    const html = renderNoteHtml('before <script>alert(1)</script> <img src=x onerror="alert(2)">');
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    const block = renderNoteHtml("<div onclick=\"alert(3)\">x</div>");
    expect(block).not.toContain("<div");
  });

  it("drops javascript: links and opens others in a new tab without an opener", () => {
    const bad = renderNoteHtml("[click](javascript:alert(1))");
    expect(bad).not.toContain("javascript:");
    const good = renderNoteHtml("[docs](https://example.org)");
    expect(good).toContain('href="https://example.org"');
    expect(good).toContain('rel="noopener noreferrer"');
  });
});
