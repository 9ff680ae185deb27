// A table of any length in a fixed-height box: only the rows in view are in the DOM
// (TanStack Virtual), so a CSV of 100k rows scrolls like one of ten.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef } from "react";

const ROW_HEIGHT = 28;

function cellText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return value === null || value === undefined ? "" : JSON.stringify(value);
}

export function VirtualTable({
  columns,
  rows,
  testId,
}: {
  columns: string[];
  rows: unknown[][];
  testId?: string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is used as documented
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const template = `repeat(${Math.max(columns.length, 1)}, minmax(8rem, 1fr))`;
  return (
    <div className="vtable" data-testid={testId} data-rows={rows.length}>
      <div className="vtable-scroll" ref={scroller}>
        <div className="vtable-head" style={{ gridTemplateColumns: template }}>
          {columns.map((name, i) => (
            <div key={i} className="vtable-cell" title={name}>
              {name}
            </div>
          ))}
        </div>
        <div className="vtable-body" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => (
            <div
              key={item.key}
              className="vtable-row"
              data-testid="vtable-row"
              style={{
                gridTemplateColumns: template,
                transform: `translateY(${item.start}px)`,
                height: ROW_HEIGHT,
              }}
            >
              {columns.map((_, c) => (
                <div key={c} className="vtable-cell">
                  {cellText(rows[item.index]?.[c])}
                </div>
              ))}
            </div>
          ))}
        </div>
      </div>
      <div className="muted vtable-foot">{rows.length} rows</div>
    </div>
  );
}
