// A rule's latest deliveries: when, what, to which channel, and how it went.
import { useQuery } from "@tanstack/react-query";
import { listDeliveries, type ChannelRead } from "../../api/notifications";
import { formatTime } from "../../components/format";
import { notificationKeys } from "./queries";

const SHOWN = 20;
// Deliveries are not live events; the panel polls only while it is open.
const REFRESH_MS = 2_000;

export function DeliveriesPanel({ ruleId, channels }: { ruleId: number; channels: ChannelRead[] }) {
  const deliveries = useQuery({
    queryKey: notificationKeys.deliveries(ruleId),
    queryFn: ({ signal }) => listDeliveries(ruleId, SHOWN, signal),
    refetchInterval: REFRESH_MS,
  });
  if (deliveries.error) return <div className="error-banner">{deliveries.error.message}</div>;
  if (!deliveries.data) return <p className="muted">Loading deliveries…</p>;
  if (deliveries.data.length === 0) {
    return <p className="muted">No deliveries yet: they appear when a trigger fires.</p>;
  }
  return (
    <table className="plain deliveries" data-testid="deliveries">
      <thead>
        <tr>
          <th>When</th>
          <th>Event</th>
          <th>Channel</th>
          <th>Status</th>
          <th>Attempts</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.data.map((d) => (
          <tr key={d.id} data-status={d.status}>
            <td>{formatTime(d.sent_at ?? d.created_at)}</td>
            <td className="mono">{d.kind}</td>
            <td>{channels[d.channel_index]?.type ?? `#${d.channel_index}`}</td>
            <td>
              <span className={`delivery-status ${d.status}`}>{d.status}</span>
            </td>
            <td className="mono">{d.attempts}</td>
            <td className="mono delivery-error">{d.last_error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
