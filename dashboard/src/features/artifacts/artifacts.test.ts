import { describe, expect, it } from "vitest";
import { parseCsv, prettyJson, previewKind } from "./preview";
import { binColumns, histogramRange, indexAtStep } from "./steps";
import { parseRunTab, tabSearch } from "./tabs";
import { ancestors, buildTree, formatBytes } from "./tree";

describe("artifact tree", () => {
  it("nests files under their folders, folders first, and makes missing parents", () => {
    const tree = buildTree([
      { path: "z.txt", is_dir: false, size: 3 },
      { path: "media", is_dir: true, size: null },
      { path: "media/images/a/0.png", is_dir: false, size: 10 },
      { path: "a.txt", is_dir: false, size: 1 },
    ]);
    expect(tree.map((n) => n.name)).toEqual(["media", "a.txt", "z.txt"]);
    const images = tree[0]?.children[0];
    expect(images?.path).toBe("media/images");
    expect(images?.children[0]?.children[0]).toMatchObject({
      name: "0.png",
      path: "media/images/a/0.png",
      isDir: false,
      size: 10,
    });
  });

  it("opens every ancestor of a file", () => {
    expect(ancestors("a/b/c.txt")).toEqual(["a", "a/b"]);
    expect(ancestors("c.txt")).toEqual([]);
  });

  it("formats sizes", () => {
    expect(formatBytes(null)).toBe("");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(50 * 1024 * 1024)).toBe("50 MiB");
  });
});

describe("previews", () => {
  it("choose a preview by extension, and download for the rest", () => {
    expect(previewKind("a/b.PNG")).toBe("image");
    expect(previewKind("README.md")).toBe("markdown");
    expect(previewKind("conf.yml")).toBe("yaml");
    expect(previewKind("t.csv")).toBe("csv");
    expect(previewKind("model.pt")).toBe("download");
    expect(previewKind("Makefile")).toBe("download");
  });

  it("parse quoted CSV fields, escaped quotes and newlines inside quotes", () => {
    expect(parseCsv('a,b\n1,"x, ""y"""\r\n2,"multi\nline"\n')).toEqual([
      ["a", "b"],
      ["1", 'x, "y"'],
      ["2", "multi\nline"],
    ]);
    expect(parseCsv("a\tb\n1\t2", "\t")).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
  });

  it("drop the last line of a CSV read only in part", () => {
    expect(parseCsv("a,b\n1,2\n3,", ",", true)).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
  });

  it("pretty-print JSON and leave other text alone", () => {
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson("{cut sho")).toBe("{cut sho");
  });
});

describe("media steps", () => {
  const frames = [{ step: 0 }, { step: 5 }, { step: 10 }];

  it("shows the last frame at or before a step", () => {
    expect(indexAtStep(frames, 7)).toBe(1);
    expect(indexAtStep(frames, 10)).toBe(2);
    expect(indexAtStep(frames, 99)).toBe(2);
    expect(indexAtStep(frames, -1)).toBe(0);
    expect(indexAtStep([], 3)).toBe(-1);
  });

  it("puts every histogram of a series on one range", () => {
    expect(
      histogramRange([
        { bins: [0, 1, 2] },
        { bins: [-1, 0.5] },
      ]),
    ).toEqual([-1, 2]);
    expect(histogramRange([])).toBeNull();
  });

  it("spreads bin counts over the pixel columns they cover, keeping the total", () => {
    const columns = binColumns([0, 1, 2], [4, 2], 0, 2, 4);
    expect(columns).toEqual([2, 2, 1, 1]);
    const narrow = binColumns([0, 0.1, 2], [3, 1], 0, 2, 4);
    expect(narrow.reduce((a, b) => a + b, 0)).toBeCloseTo(4);
  });
});

describe("run tabs in the URL", () => {
  it("read the tab, defaulting to the overview", () => {
    expect(parseRunTab(new URLSearchParams("tab=media"))).toBe("media");
    expect(parseRunTab(new URLSearchParams("tab=nonsense"))).toBe("overview");
    expect(parseRunTab(new URLSearchParams(""))).toBe("overview");
  });

  it("keep the chart view and drop the other tab's state when switching", () => {
    const search = new URLSearchParams("x=step&tab=artifacts&file=a.txt");
    expect(tabSearch(search, "media")).toBe("?x=step&tab=media");
    expect(tabSearch(search, "overview")).toBe("?x=step");
  });
});
