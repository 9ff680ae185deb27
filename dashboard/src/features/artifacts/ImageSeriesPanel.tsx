// One image series with a step slider. Every frame is fetched and decoded up front, so
// scrubbing only swaps an already decoded image (well over 30 steps a second).
import { useEffect, useMemo, useState } from "react";
import { artifactUrl, type ImageSeries } from "./api";

function usePreloaded(urls: string[]): number {
  const [loaded, setLoaded] = useState(0);
  useEffect(() => {
    let cancelled = false;
    const images = urls.map((url) => {
      const image = new Image();
      image.src = url;
      image
        .decode()
        .catch(() => undefined) // a broken frame shows as broken when reached
        .finally(() => {
          if (!cancelled) setLoaded((n) => n + 1);
        });
      return image;
    });
    return () => {
      cancelled = true;
      for (const image of images) image.src = "";
      setLoaded(0);
    };
  }, [urls]);
  return loaded;
}

export function ImageSeriesPanel({ runId, series }: { runId: string; series: ImageSeries }) {
  const frames = series.frames;
  const [index, setIndex] = useState(frames.length - 1);
  // New frames of a live run: stay on the last one when it was shown.
  const [known, setKnown] = useState(frames.length);
  if (known !== frames.length) {
    setKnown(frames.length);
    if (index === known - 1 || index >= frames.length) setIndex(frames.length - 1);
  }
  const urls = useMemo(() => frames.map((f) => artifactUrl(runId, f.path)), [runId, frames]);
  const loaded = usePreloaded(urls);
  const frame = frames[Math.min(Math.max(index, 0), frames.length - 1)];
  if (!frame) return null;
  return (
    <figure className="media-card" data-testid="image-series" data-key={series.key}>
      <figcaption className="media-title">
        <strong>{series.key}</strong>
        <span className="muted" data-testid="image-step">
          step {frame.step}
        </span>
        <span className="muted">
          {index + 1}/{frames.length}
          {loaded < frames.length ? ` · loading ${loaded}/${frames.length}` : ""}
        </span>
      </figcaption>
      <img
        className="media-image"
        src={artifactUrl(runId, frame.path)}
        alt={frame.caption ?? `${series.key} at step ${frame.step}`}
        data-testid="series-image"
        data-step={frame.step}
      />
      {frame.caption ? (
        <p className="media-caption" data-testid="image-caption">
          {frame.caption}
        </p>
      ) : null}
      <input
        type="range"
        min={0}
        max={frames.length - 1}
        value={index}
        step={1}
        aria-label={`${series.key} step`}
        data-testid="image-slider"
        onChange={(e) => setIndex(Number(e.currentTarget.value))}
      />
    </figure>
  );
}
