"""The built web dashboard (`static/`, made by `npm run build` in dashboard/) and its serving."""
