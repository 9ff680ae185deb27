// Short-lived messages at the bottom of the screen ("Deleted 3 runs · Undo"). A tiny
// external store so any page (or a mutation callback outside React) can show one.
import { useSyncExternalStore } from "react";

export interface Toast {
  id: number;
  message: string;
  /** An error toast stays until closed and is announced assertively. */
  error: boolean;
  action: { label: string; run: () => void } | null;
}

/** How long an undo stays offered. */
export const UNDO_MS = 6000;

let toasts: readonly Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
const timers = new Map<number, ReturnType<typeof setTimeout>>();

function emit(): void {
  for (const l of listeners) l();
}

export function dismissToast(id: number): void {
  const timer = timers.get(id);
  if (timer) clearTimeout(timer);
  timers.delete(id);
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

export function showToast(
  message: string,
  options: { action?: Toast["action"]; error?: boolean; durationMs?: number } = {},
): number {
  const id = nextId++;
  const error = options.error ?? false;
  toasts = [...toasts, { id, message, error, action: options.action ?? null }];
  if (!error) timers.set(id, setTimeout(() => dismissToast(id), options.durationMs ?? UNDO_MS));
  emit();
  return id;
}

export function showError(error: unknown, what: string): void {
  const message = error instanceof Error ? error.message : String(error);
  showToast(`${what} failed: ${message}`, { error: true });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useToasts(): readonly Toast[] {
  return useSyncExternalStore(
    subscribe,
    () => toasts,
    () => toasts,
  );
}
