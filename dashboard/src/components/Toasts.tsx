// Renders the toast store: message, an optional action (Undo) and a close button.
import { dismissToast, useToasts } from "./toastStore";

export function Toasts() {
  const toasts = useToasts();
  if (toasts.length === 0) return null;
  return (
    <div className="toasts">
      {toasts.map((t) => (
        <div
          key={t.id}
          className={`toast${t.error ? " error" : ""}`}
          role={t.error ? "alert" : "status"}
          data-testid="toast"
        >
          <span>{t.message}</span>
          {t.action ? (
            <button
              type="button"
              onClick={() => {
                dismissToast(t.id);
                t.action?.run();
              }}
            >
              {t.action.label}
            </button>
          ) : null}
          <button type="button" aria-label="Close" onClick={() => dismissToast(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
