import { describe, expect, it } from "vitest";
import {
  addPanel,
  drawnPanels,
  encodePanels,
  isShown,
  movePanel,
  parsePanels,
  removePanel,
  resolvePanels,
  toggleKey,
  writePanels,
  type Panel,
} from "./panels";
import { parseCompareView, serializeCompareView } from "./urlState";

/** Through a real URL: written, turned into text, read back as a browser would. */
function roundTrip(panels: Panel[] | null): Panel[] | null {
  const text = writePanels(new URLSearchParams("runs=a"), panels).toString();
  return parsePanels(new URL(`http://x/compare?${text}`).searchParams);
}

const AWKWARD = [
  "train/loss",
  "val.acc",
  "a,b",
  "c;d",
  "100%",
  "%2C",
  "%25",
  "sp ace",
  "plus+sign",
  "amp&eq=",
  "hash#frag?q",
  "ünïcödé/λ",
  "emoji 🚀",
  "%",
  "a%3Bb",
  " lead and trail ",
];

describe("chart panels in the URL", () => {
  it("is the default layout, one chart per key, when the parameter is absent", () => {
    expect(parsePanels(new URLSearchParams("runs=a"))).toBeNull();
    expect(resolvePanels(null, ["acc", "loss"])).toEqual([["acc"], ["loss"]]);
    expect(writePanels(new URLSearchParams("x=time"), null).toString()).toBe("x=time");
    expect(parseCompareView(new URLSearchParams("runs=a")).panels).toBeNull();
    expect(serializeCompareView(parseCompareView(new URLSearchParams("runs=a"))).has("panels")).toBe(false);
  });

  it("reads panels separated by ';' and keys by ','", () => {
    expect(parsePanels(new URLSearchParams("panels=loss,val_loss;acc"))).toEqual([["loss", "val_loss"], ["acc"]]);
  });

  it("keeps an empty list (every chart hidden) apart from the default", () => {
    expect(roundTrip([])).toEqual([]);
  });

  it("round-trips any key, one per panel and all in one panel", () => {
    const single = AWKWARD.map((k) => [k]);
    expect(roundTrip(single)).toEqual(single);
    expect(roundTrip([AWKWARD])).toEqual([AWKWARD]);
    expect(roundTrip([["a,b", "c;d"], ["%"], ["a%3Bb", "train/loss"]])).toEqual([
      ["a,b", "c;d"],
      ["%"],
      ["a%3Bb", "train/loss"],
    ]);
  });

  it("leaves '/' and '.' readable and escapes only the separators and '%'", () => {
    expect(encodePanels([["train/loss", "val.acc"], ["a,b;c%"]])).toBe("train/loss,val.acc;a%2Cb%3Bc%25");
  });

  it("round-trips through the compare view with the other settings", () => {
    const view = parseCompareView(new URLSearchParams("runs=a,b&x=time"));
    const withPanels = { ...view, panels: [["loss", "val/loss"], ["a,b"]] };
    const text = serializeCompareView(withPanels).toString();
    expect(parseCompareView(new URLSearchParams(text))).toEqual(withPanels);
  });

  it("drops empty panels, repeated keys and repeated panels, and never throws on odd input", () => {
    expect(parsePanels(new URLSearchParams("panels=;;a,,a;a;b"))).toEqual([["a"], ["b"]]);
    expect(parsePanels(new URLSearchParams("panels=%25ZZ%2"))).toEqual([["%ZZ%2"]]);
  });
});

describe("editing panels", () => {
  const panels: Panel[] = [["acc"], ["loss"], ["loss", "val_loss"]];

  it("hides and shows a key's own chart", () => {
    const hidden = toggleKey(panels, "loss");
    expect(hidden).toEqual([["acc"], ["loss", "val_loss"]]);
    expect(isShown(hidden, "loss")).toBe(false);
    expect(toggleKey(hidden, "loss")).toEqual([["acc"], ["loss", "val_loss"], ["loss"]]);
  });

  it("adds a multi-key chart once, removes and moves charts", () => {
    expect(addPanel(panels, ["acc", "loss"])).toEqual([...panels, ["acc", "loss"]]);
    expect(addPanel(panels, ["loss", "val_loss"])).toEqual(panels);
    expect(removePanel(panels, 1)).toEqual([["acc"], ["loss", "val_loss"]]);
    expect(movePanel(panels, 2, -1)).toEqual([["acc"], ["loss", "val_loss"], ["loss"]]);
    expect(movePanel(panels, 0, 1)).toEqual([["loss"], ["acc"], ["loss", "val_loss"]]);
    expect(movePanel(panels, 0, -1)).toEqual(panels);
    expect(movePanel(panels, 2, 1)).toEqual(panels);
  });

  it("draws only the keys the page has, leaving out panels with none", () => {
    expect(drawnPanels([["gone"], ["loss", "gone"], ["acc"]], ["acc", "loss"])).toEqual([["loss"], ["acc"]]);
    expect(drawnPanels([["loss"], ["loss", "gone"]], ["loss"])).toEqual([["loss"]]);
  });
});
