// Renders children once the placeholder scrolls near the viewport, so pages with
// many charts fetch only what is looked at.
import { useEffect, useRef, useState, type ReactNode } from "react";

export function WhenVisible({ children, minHeight }: { children: ReactNode; minHeight: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(typeof IntersectionObserver === "undefined");
  useEffect(() => {
    const el = ref.current;
    if (visible || !el) return;
    // The page scrolls inside <main> (styles.css). With the viewport as the root, main's
    // clipping hides a chart until it is on screen and the margin never counts: the
    // scrolling <main> is the root, so a chart within 400 px of its view starts loading.
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setVisible(true);
      },
      { root: el.closest("main"), rootMargin: "400px" },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [visible]);
  return (
    <div ref={ref} style={visible ? undefined : { minHeight }}>
      {visible ? children : null}
    </div>
  );
}
