// The telemetry command's choices, without vscode: the events offered for a watch (each with how
// many handlers listen to it, at most the watch's bound), the window typed by the user, and the
// consent wording. src/extension/telemetry-view.ts asks and shows; core lists and watches.
import { TELEMETRY_LIMITS, type TelemetryListing } from '../../core/runs/telemetry';

export interface EventPick {
  label: string;
  description: string;
  event: string;
}

/** The events to offer (sorted as listed), each with its handler count among the listed handlers. */
export function eventPicks(listing: TelemetryListing): EventPick[] {
  if (!listing.running) return [];
  const handlers = new Map<string, number>();
  for (const h of listing.handlers) handlers.set(h.event, (handlers.get(h.event) ?? 0) + 1);
  return listing.events.map((event) => {
    const n = handlers.get(event);
    return { label: event, description: n === undefined ? 'handled' : `${n} handler${n === 1 ? '' : 's'}`, event };
  });
}

/** The events picked, or why they cannot be watched together. */
export function checkPicked(events: readonly string[]): string | null {
  if (events.length === 0) return 'no event chosen';
  if (events.length > TELEMETRY_LIMITS.maxEvents) return `at most ${TELEMETRY_LIMITS.maxEvents} events can be watched at once; ${events.length} were chosen`;
  return null;
}

/** Seconds typed for the window: a whole number from 1 to 3600; null when valid, else what is wrong. */
export function watchSecondsError(text: string): string | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return 'whole seconds, e.g. 10';
  const n = Number(t);
  return n >= 1 && n <= TELEMETRY_LIMITS.maxDurationMs / 1000 ? null : `from 1 to ${TELEMETRY_LIMITS.maxDurationMs / 1000} seconds`;
}

/** What the consent dialog says the watch sets. */
export function watchPurpose(events: readonly string[], seconds: number): string {
  const shown = events.slice(0, 3).join(', ');
  return `attach a temporary telemetry handler to ${events.length} event${events.length === 1 ? '' : 's'} (${shown}${events.length > 3 ? ', …' : ''}) for ${seconds} s; it is detached when the window ends`;
}
