// Chooses which params, metrics and tags are table columns.
import { useEffect, useRef, useState } from "react";
import { columnId, type ColumnKind, type ColumnRef } from "../../state/identifiers";
import type { AvailableKeys } from "./columns";

interface Props {
  keys: AvailableKeys;
  chosen: ColumnRef[];
  onChange: (columns: ColumnRef[]) => void;
}

const GROUPS: { kind: ColumnKind; title: string; pick: (k: AvailableKeys) => string[] }[] = [
  { kind: "metrics", title: "Metrics", pick: (k) => k.metrics },
  { kind: "params", title: "Params", pick: (k) => k.params },
  { kind: "tags", title: "Tags", pick: (k) => k.tags },
];

export function ColumnPicker({ keys, chosen, onChange }: Props) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const ref = useRef<HTMLDivElement>(null);
  const chosenIds = new Set(chosen.map(columnId));

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);

  const toggle = (c: ColumnRef) => {
    const id = columnId(c);
    onChange(chosenIds.has(id) ? chosen.filter((x) => columnId(x) !== id) : [...chosen, c]);
  };
  const q = query.trim().toLowerCase();

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
          {GROUPS.map((g) => {
            const names = g.pick(keys).filter((k) => !q || k.toLowerCase().includes(q));
            if (names.length === 0) return null;
            return (
              <div key={g.kind}>
                <h3>{g.title}</h3>
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
