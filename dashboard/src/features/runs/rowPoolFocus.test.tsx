// @vitest-environment jsdom
import { act, useRef } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, expect, it } from "vitest";
import { useBlurOnReassign } from "./rowPool";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;

beforeEach(() => {
  host = document.createElement("div");
  document.body.appendChild(host);
  root = createRoot(host);
});

afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

/** A pooled row: the same element (same key) shows whichever run it is given. */
function Row({ runId }: { runId: string }) {
  const element = useRef<HTMLDivElement>(null);
  useBlurOnReassign(element, runId);
  return (
    <div ref={element}>
      <input type="checkbox" aria-label={`Select run ${runId}`} />
    </div>
  );
}

it("a focused checkbox loses focus when its pooled row is given another run", () => {
  act(() => root.render(<Row key="slot:0" runId="a" />));
  const checkbox = host.querySelector("input") as HTMLInputElement;
  checkbox.focus();
  expect(document.activeElement).toBe(checkbox);
  act(() => root.render(<Row key="slot:0" runId="a" />));
  expect(document.activeElement).toBe(checkbox); // same run: focus stays
  act(() => root.render(<Row key="slot:0" runId="b" />));
  expect(host.querySelector("input")).toBe(checkbox); // the element was reused...
  expect(document.activeElement).not.toBe(checkbox); // ...without the focus
});
