// @vitest-environment jsdom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FilterBox } from "./FilterBox";

// React's act() warns unless the environment says it is a test.
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

function render(props: Parameters<typeof FilterBox>[0]) {
  act(() => root.render(<FilterBox {...props} />));
  const input = host.querySelector("input") as HTMLInputElement;
  return { input };
}

function type(input: HTMLInputElement, text: string) {
  // React tracks the value through the native setter; set it the way a browser would.
  const descriptor = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value");
  act(() => {
    // The prototype's setter, called on the element, bypasses React's value tracker.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    Reflect.apply(descriptor?.set ?? (() => undefined), input, [text]);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

function submit() {
  const form = host.querySelector("form") as HTMLFormElement;
  act(() => {
    form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
}

describe("FilterBox", () => {
  it("applies the typed filter on submit, trimmed", () => {
    const onApply = vi.fn();
    const { input } = render({ value: "", error: null, onApply });
    type(input, "  metrics.acc > 0.9  ");
    submit();
    expect(onApply).toHaveBeenCalledWith("metrics.acc > 0.9");
  });

  it("shows the server's message inline and marks the box invalid", () => {
    const message = "expected a number to compare metric 'acc' with at 13, found '>'";
    const { input } = render({ value: "metrics.acc >> 1", error: message, onApply: vi.fn() });
    const alert = host.querySelector('[role="alert"]');
    expect(alert?.textContent).toBe(message);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toBe(alert?.id);
  });

  it("has no error region when the filter is fine", () => {
    const { input } = render({ value: "params.lr = '0.1'", error: null, onApply: vi.fn() });
    expect(host.querySelector('[role="alert"]')).toBeNull();
    expect(input.getAttribute("aria-invalid")).toBe("false");
    expect(input.value).toBe("params.lr = '0.1'");
  });

  it("reverts the draft on Escape", () => {
    const { input } = render({ value: "a", error: null, onApply: vi.fn() });
    type(input, "abc");
    act(() => {
      input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    });
    expect(input.value).toBe("a");
  });

  it("clears an applied filter", () => {
    const onApply = vi.fn();
    render({ value: "metrics.acc > 1", error: null, onApply });
    const clear = [...host.querySelectorAll("button")].find((b) => b.textContent === "Clear");
    act(() => clear?.click());
    expect(onApply).toHaveBeenCalledWith("");
  });
});
