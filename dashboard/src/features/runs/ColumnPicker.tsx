// Chooses the runs table's columns: which params, metrics and tags show (one by one or a
// whole prefix at once), which built-in columns hide, their order and which are pinned.
import { useRef, useState } from "react";
import { useOutsideClick } from "../../components/useOutsideClick";
import { columnId, type ColumnKind, type ColumnRef } from "../../state/identifiers";
import type { AvailableKeys } from "./columns";
import { HIDEABLE, moveColumn, setPrefixShown, toggled, type ColumnLayout } from "./columnState";

interface Props {
  keys: AvailableKeys;
  chosen: ColumnRef[];
  onChange: (columns: ColumnRef[]) => void;
  layout: ColumnLayout;
  onLayoutChange: (layout: ColumnLayout) => void;
}

type DataKind = Exclude<ColumnKind, "attributes">;

const GROUPS: { kind: DataKind; title: string }[] = [
  { kind: "metrics", title: "Metrics" },
  { kind: "params", title: "Params" },
  { kind: "tags", title: "Tags" },
];

const BUILT_IN_NAMES: Record<(typeof HIDEABLE)[number], string> = {
  "attributes.status": "Status",
  "attributes.start_time": "Started",
  duration: "Duration",
  "attributes.user": "User",
};

function PinButton({ id, layout, onLayoutChange }: { id: string } & Pick<Props, "layout" | "onLayoutChange">) {
  const pinned = layout.pinned.includes(id);
  return (
    <button
      type="button"
      className="icon"
      aria-pressed={pinned}
      aria-label={`${pinned ? "Unpin" : "Pin"} ${id}`}
      title={pinned ? "Unpin" : "Pin to the left"}
      onClick={() => onLayoutChange({ ...layout, pinned: toggled(layout.pinned, id) })}
    >
      {pinned ? "📌" : "📍"}
    </button>
  );
}

export function ColumnPicker({ keys, chosen, onChange, layout, onLayoutChange }: Props) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const ref = useRef<HTMLDivElement>(null);
  const chosenIds = new Set(chosen.map(columnId));

  useOutsideClick(ref, open, setOpen);

  const toggle = (c: ColumnRef) => {
    const id = columnId(c);
    onChange(chosenIds.has(id) ? chosen.filter((x) => columnId(x) !== id) : [...chosen, c]);
  };
  const q = query.trim().toLowerCase();
  const pins = { layout, onLayoutChange };

  return (
    <div className="popover" ref={ref}>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        Columns ({chosen.length})
      </button>
      {open ? (
        <div className="popover-panel" role="dialog" aria-label="Choose columns">
          <input
            type="search"
            placeholder="Find a key"
            aria-label="Find a key"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
          <h3>Built-in</h3>
          {HIDEABLE.map((id) => (
            <div key={id} className="column-order-row">
              <label>
                <input
                  type="checkbox"
                  checked={!layout.hidden.includes(id)}
                  onChange={() => onLayoutChange({ ...layout, hidden: toggled(layout.hidden, id) })}
                />
                {BUILT_IN_NAMES[id]}
              </label>
              <PinButton id={id} {...pins} />
            </div>
          ))}
          {chosen.length > 0 ? (
            <div data-testid="column-order">
              <h3>Shown, in order</h3>
              {chosen.map((c, i) => {
                const id = columnId(c);
                return (
                  <div key={id} className="column-order-row">
                    <span title={id}>{id}</span>
                    <button
                      type="button"
                      className="icon"
                      aria-label={`Move ${id} left`}
                      disabled={i === 0}
                      onClick={() => onChange(moveColumn(chosen, id, -1))}
                    >
                      ↑
                    </button>
                    <button
                      type="button"
                      className="icon"
                      aria-label={`Move ${id} right`}
                      disabled={i === chosen.length - 1}
                      onClick={() => onChange(moveColumn(chosen, id, 1))}
                    >
                      ↓
                    </button>
                    <PinButton id={id} {...pins} />
                  </div>
                );
              })}
            </div>
          ) : null}
          {GROUPS.map((g) => {
            const names = keys[g.kind].filter((k) => !q || k.toLowerCase().includes(q));
            if (names.length === 0) return null;
            return (
              <div key={g.kind}>
                <h3>
                  {g.title}{" "}
                  <button type="button" onClick={() => onChange(setPrefixShown(chosen, keys, g.kind, true))}>
                    Show all {g.kind}
                  </button>{" "}
                  <button type="button" onClick={() => onChange(setPrefixShown(chosen, keys, g.kind, false))}>
                    Hide all {g.kind}
                  </button>
                </h3>
                {names.map((key) => {
                  const c = { kind: g.kind, key };
                  return (
                    <label key={key}>
                      <input
                        type="checkbox"
                        checked={chosenIds.has(columnId(c))}
                        onChange={() => toggle(c)}
                      />
                      {key}
                    </label>
                  );
                })}
              </div>
            );
          })}
          {chosen.length > 0 ? (
            <button type="button" onClick={() => onChange([])}>
              Hide all
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
