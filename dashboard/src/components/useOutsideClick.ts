// Closes a popover when the user presses the mouse anywhere outside it.
import { useEffect, type RefObject } from "react";

/** While `open`, a mousedown outside `ref` calls `setOpen(false)` (a state setter: stable). */
export function useOutsideClick(
  ref: RefObject<HTMLElement | null>,
  open: boolean,
  setOpen: (open: boolean) => void,
): void {
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [ref, open, setOpen]);
}
