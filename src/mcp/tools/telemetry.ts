// telemetry (read-only): the node's telemetry handlers and their events; telemetry_watch
// (intrusive, asks consent): counts and p50/p95/p99 of duration-like measurements of chosen event
// prefixes over a window, through the temporary handler of src/core/runs/telemetry.ts (detached at
// the end, and by the probe's guardian if we vanish). Prefixes are resolved read-only first, so an
// unknown one is answered with what exists before anything is asked or set.
import { z } from 'zod';
import { listTelemetry, parseEventPrefixes, resolveEvents, watchTelemetry, TELEMETRY_LIMITS, type TelemetryWatchResult } from '../../core/runs/telemetry';
import { formatMicros } from '../../core/report/telemetry-section';
import { STRUCTURED_BUDGET, fitItems, toolResult, truncationNote } from '../bounds';
import { guarded, type McpContext } from '../context';
import { sessionUri } from '../resources';
import { runForTool } from '../runs';
import { intrusive, nodeArg, readOnly } from './common';

/** Server-side cap of one watch. */
export const TELEMETRY_CAP_S = 60;

export function registerTelemetryTools(ctx: McpContext): void {
  const { server, nodes } = ctx;

  server.registerTool(
    'telemetry',
    {
      title: 'Telemetry handlers',
      description:
        'Lists the :telemetry handlers attached on the node and the event names they listen to (telemetry:list_handlers/1; a handler\'s config never leaves the node). Read-only. Says so when the telemetry application is not running. Watch events with telemetry_watch.',
      inputSchema: { ...nodeArg, limit: z.number().int().min(1).max(TELEMETRY_LIMITS.listRows).default(200).describe(`handlers listed (1-${TELEMETRY_LIMITS.listRows}, default 200)`) },
      outputSchema: {
        running: z.boolean(),
        version: z.string().optional(),
        total: z.number().optional(),
        eventsTotal: z.number().optional(),
        events: z.array(z.string()).optional(),
        handlers: z.array(z.object({ id: z.string(), event: z.string(), function: z.string() })).optional(),
        truncated: z.object({ shown: z.number(), total: z.number(), next: z.string() }).optional(),
      },
      annotations: readOnly('Telemetry handlers'),
    },
    ({ node, limit }) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const l = await listTelemetry(s, limit);
        if (!l.running) return toolResult({ running: false }, `the telemetry application is not running on ${s.node}: no handlers, nothing to watch`);
        const fitted = fitItems(l.handlers, (handlers) => ({ ...l, handlers: [...handlers] }), STRUCTURED_BUDGET);
        const truncated = fitted.shown < l.total ? { shown: fitted.shown, total: l.total, next: `sorted by event name; raise limit (at most ${TELEMETRY_LIMITS.listRows}) or watch a prefix with telemetry_watch` } : undefined;
        const text = [
          `telemetry ${l.version} on ${s.node}: ${l.total} handlers on ${l.eventsTotal} events`,
          ...fitted.value.handlers.slice(0, 100).map((h) => `${h.event}  ${h.id}  ${h.function}`),
        ].join('\n');
        return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, text + truncationNote(truncated));
      }),
  );

  server.registerTool(
    'telemetry_watch',
    {
      title: 'Watch telemetry events',
      description:
        `Attaches a temporary telemetry handler (telemetry:attach_many/4, inside the beam_lens_probe module) to the events under the given prefixes for durationS seconds (1-${TELEMETRY_CAP_S}, default 10) and returns per event the count, the rate and p50/p95/p99/max of duration-like measurements in microseconds (converted from native units). A prefix expands to the events handlers listen to (see the telemetry tool); exact: true takes full event names as given. INTRUSIVE: asks consent; the handler is detached when the window ends and the probe released (unloaded unless another BEAM Lens on the node uses it). Saved as a session resource; cancellable.`,
      inputSchema: {
        ...nodeArg,
        events: z.string().min(1).max(2000).describe('event prefixes, dotted and comma-separated, e.g. "phoenix.router_dispatch,my_app.repo"'),
        exact: z.boolean().default(false).describe('take the names as full event names, also ones no handler listens to yet'),
        durationS: z.number().int('durationS must be whole seconds').min(1, 'durationS must be at least 1 second').max(TELEMETRY_CAP_S, `durationS is at most ${TELEMETRY_CAP_S} seconds`).default(10).describe(`seconds to watch (1-${TELEMETRY_CAP_S}, default 10)`),
      },
      outputSchema: {
        session: z.object({ id: z.string(), uri: z.string(), endReason: z.string(), file: z.string().nullable() }),
        durationMs: z.number(),
        dropped: z.number(),
        events: z.array(z.looseObject({ event: z.string(), count: z.number(), perSec: z.number(), measurements: z.array(z.looseObject({ key: z.string(), n: z.number(), duration: z.boolean() })) })),
        truncated: z.object({ shown: z.number(), total: z.number(), next: z.string() }).optional(),
      },
      annotations: intrusive('Watch telemetry events'),
    },
    ({ node, events, exact, durationS }, extra) =>
      guarded(async () => {
        const prefixes = parseEventPrefixes(events);
        const s = nodes.resolve(node);
        // Read-only first: an unknown prefix is answered (with what exists) before consent is asked.
        const names = resolveEvents(await listTelemetry(s), prefixes, s.node, exact);
        const { result } = await runForTool<TelemetryWatchResult>(ctx, extra, {
          tool: 'telemetry_watch', session: s, kind: 'telemetry', actions: ['probe', 'trace'],
          sets: `load the beam_lens_probe module and attach a temporary telemetry handler to ${names.length} event${names.length === 1 ? '' : 's'} (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}) for ${durationS} s`,
          undo: 'the handler is detached when the window ends (and by the probe\'s guardian if BEAM Lens disappears); the probe is released afterwards (unloaded, unless another BEAM Lens on the node still uses it).',
          fields: [{ key: 'durationS', title: 'Duration', requested: durationS, min: 1, unit: 's' }],
          limits: (v) => ({ durationMs: (v.durationS ?? durationS) * 1000, events: names }),
          durationMs: (v) => (v.durationS ?? durationS) * 1000,
          body: async (v, signal) => {
            const r = await watchTelemetry(s, { events: names, prefixes: prefixes.map((p) => p.join('.')), durationMs: (v.durationS ?? durationS) * 1000, signal });
            return { value: r, endReason: r.endReason, durationMs: r.durationMs };
          },
        });
        const r = result.value;
        const session = { id: result.id, uri: sessionUri(result.id), endReason: result.endReason, file: result.file };
        const fitted = fitItems(r.events, (evs) => ({ session, durationMs: r.durationMs, dropped: r.dropped, events: [...evs] }), STRUCTURED_BUDGET);
        const truncated = fitted.shown < r.events.length ? { shown: fitted.shown, total: r.events.length, next: 'sorted by event name; watch longer prefixes for the rest' } : undefined;
        const text = [
          `${r.events.length} telemetry events on ${s.node} over ${(r.durationMs / 1000).toFixed(1)} s (${r.endReason}); handler detached; saved as ${session.uri}`,
          ...fitted.value.events.flatMap((e) => [
            `${e.event}: ${e.count} events, ${e.perSec}/s`,
            ...e.measurements.filter((m) => m.duration).map((m) => `  ${m.key}: p50 ${formatMicros(m.p50Us)}, p95 ${formatMicros(m.p95Us)}, p99 ${formatMicros(m.p99Us)}, max ${formatMicros(m.maxUs)}`),
          ]),
        ].join('\n');
        return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, text + truncationNote(truncated));
      }),
  );
}
