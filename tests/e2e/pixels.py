"""Reading what a chart drew, from inside the page."""

from playwright.async_api import Locator

# Pixels whose channels differ a lot are series colour; axes, grid and text are grey.
COLOURED_PIXELS_JS = """
(canvas) => {
  const ctx = canvas.getContext('2d');
  const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    const r = d[i], g = d[i + 1], b = d[i + 2], a = d[i + 3];
    if (a > 100 && Math.max(r, g, b) - Math.min(r, g, b) > 80) n++;
  }
  return n;
}
"""


async def coloured_pixels(canvas: Locator) -> int:
    count: int = await canvas.evaluate(COLOURED_PIXELS_JS)
    return count
