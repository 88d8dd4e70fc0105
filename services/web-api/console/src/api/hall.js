// hall: the live hall of one branch as the monitor shows it, kept from the
// snapshot (GET /branches/{branch}/state) and the live events applied to it
// (GET /live/branches/{branch}; docs/openapi.yaml, LiveEvent). Pure
// functions on plain objects, unit-tested; every event is safe to apply twice.

const RATINGS_KEPT = 20

/** A hall from a BranchState snapshot: its members plus `devices`
 *  ({window id: {online, serial, at}}) and `ratings` (newest first). */
export function hallFromSnapshot (state, before) {
  return {
    branch: state.branch,
    day: state.day,
    liveEventId: state.live_event_id,
    queues: state.queues.map(q => ({ ...q })),
    windows: state.windows.map(w => ({ ...w })),
    display: state.display.slice(),
    // what the snapshot does not carry stays from the hall it replaces
    devices: { ...(before && before.branch === state.branch ? before.devices : {}),
               ...s_snapshot_devices(state) },
    ratings: before && before.branch === state.branch && before.day === state.day
      ? before.ratings.slice() : [],
  }
}

/** The rating devices a snapshot names with their live state (each window's
 *  `device`, when web-api gives it): {window id: {online, serial, at}}. */
function s_snapshot_devices (state) {
  const out = {}
  for (const w of state.windows) {
    if (w.device && (w.device.status === 'online' || w.device.status === 'offline')) {
      out[w.id] = { online: w.device.status === 'online', serial: w.device.serial, at: w.device.since }
    }
  }
  return out
}

function s_window (hall, id) {
  return hall.windows.find(w => w.id === id)
}

function s_ticket (hall, kind, d) {
  const w = d.window != null ? s_window(hall, d.window) : null
  if (!w) return
  switch (kind) {
    case 'called': case 'recalled': case 'returned': case 'walk_in':
      if (d.number) { w.current = d.number; w.called = d.at; w.started = null }
      if (d.service != null) w.service = d.service
      if (d.staff != null) w.staff = d.staff
      break
    case 'started':
      if (w.current === d.number) w.started = d.at
      break
    case 'finished': case 'no_show': case 'transferred': case 'parked': case 'abandoned':
      if (w.current === d.number) { w.current = null; w.called = null; w.started = null; w.service = null }
      break
    case 'window_opened':
      w.state = 'open'; w.pause_reason = null
      break
    case 'window_closed':
      w.state = 'closed'; w.pause_reason = null; w.current = null
      break
    case 'window_paused':
      w.state = 'paused'; w.pause_reason = d.detail ?? null
      break
    case 'window_resumed':
      w.state = 'open'; w.pause_reason = null
      break
    case 'staff_login':
      w.staff = d.staff
      break
    case 'staff_logout':
      w.staff = null
      break
    case 'profile_set': // the services the window calls (not a change of `since`)
      if (d.detail) w.profile = d.detail
      return
    default:
      return
  }
  w.since = d.at
}

/** Applies one live event ({event, data}) to the hall in place; returns
 *  'reload' when the client must read the snapshot again, else 'ok'. */
export function applyEvent (hall, ev) {
  const d = ev.data
  if (ev.event === 'reload') return 'reload'
  if (d && d.branch && d.branch !== hall.branch) return 'ok'
  if (ev.event.startsWith('ticket.')) {
    s_ticket(hall, ev.event.slice(7), d)
  } else if (ev.event === 'queues') {
    for (const q of d.queues) {
      const mine = hall.queues.find(x => x.id === q.id)
      if (mine) {
        mine.waiting = q.waiting
        mine.next_number = q.next
        if (q.waiting === 0) mine.oldest = null
      } else {
        hall.queues.push({ id: q.id, prefix: q.prefix, waiting: q.waiting,
                           next_number: q.next, oldest: null })
      }
    }
  } else if (ev.event === 'display') {
    hall.display = d.called.slice()
  } else if (ev.event === 'device.online' || ev.event === 'device.offline') {
    if (d.window && d.window.id != null) {
      hall.devices[d.window.id] = { online: ev.event === 'device.online', serial: d.serial,
                                    at: d.event_time || null }
    }
  } else if (ev.event === 'rating.stored') {
    const key = d.bus_id
    if (!hall.ratings.some(r => r.bus_id === key)) {
      hall.ratings.unshift({ bus_id: key, window_id: d.window_id, staff_id: d.staff_id,
                             score: d.score, satisfied: d.satisfied,
                             unsatisfied: d.unsatisfied, at: d.event_time || null,
                             ticket: d.ticket || null })
      hall.ratings.length = Math.min(hall.ratings.length, RATINGS_KEPT)
    }
  }
  if (ev.id) hall.liveEventId = ev.id
  return 'ok'
}

/** Seconds the longest-waiting ticket of a queue has waited at `now` (ms), or null. */
export function longestWait (queue, now) {
  if (!queue.oldest || !queue.waiting) return null
  return Math.max(0, Math.round((now - Date.parse(queue.oldest)) / 1000))
}

/** An estimate of a new ticket's wait in seconds: the tickets waiting times
 *  the average service time, shared by the open windows; null when there is
 *  no average or no open window. */
export function estimatedWait (queue, openWindows, avgServiceS) {
  if (!avgServiceS || openWindows < 1) return null
  return Math.round(queue.waiting * avgServiceS / openWindows)
}
