// zonetime: the times of the organisation in the IANA zone of the node
// they belong to (a node's time_zone, GET /nodes/tree), not the browser's:
// a branch's clock and day as the people of that branch live them, whoever
// reads them from wherever. Pure functions (Intl only).

const DAY_MS = 86400000

/** The time zone of the node at `path` in `tree` (a NodeTree), else of its
 *  nearest ancestor in it (a node the tree does not hold: deleted, or a
 *  department of a branch); undefined when none is known (the browser's
 *  zone is then used). */
export function nodeZone (tree, path) {
  if (!tree || !path) return undefined
  const parts = String(path).split('.')
  for (let n = parts.length; n > 0; n--) {
    const zone = s_find(tree, parts.slice(0, n).join('.'))?.time_zone
    if (zone) return zone
  }
  return undefined
}

function s_find (tree, path) {
  if (tree.path === path) return tree
  if (!path.startsWith(`${tree.path}.`)) return null
  for (const c of tree.children || []) {
    const n = s_find(c, path)
    if (n) return n
  }
  return null
}

/** Whether `zone` is a zone this browser knows (an IANA name). */
export function knownZone (zone) {
  if (!zone) return false
  try {
    Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** `iso` (an RFC 3339 time) as `locale` writes a date and time, or the time
 *  alone with `timeOnly`, on the clock of `zone` (undefined or a zone the
 *  browser does not know: the browser's own). '' for no time or one that
 *  does not parse. */
export function zoneTime (iso, zone, locale, timeOnly = false) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const opts = knownZone(zone) ? { timeZone: zone } : {}
  return timeOnly ? d.toLocaleTimeString(locale, opts) : d.toLocaleString(locale, opts)
}

/** The offset of `zone` from UTC at the instant `ms` (epoch milliseconds),
 *  in milliseconds (Berlin in summer: +7200000). */
export function zoneOffset (ms, zone) {
  const parts = {}
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric',
    month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
  for (const p of fmt.formatToParts(new Date(ms))) parts[p.type] = Number(p.value)
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second)
  return wall - Math.floor(ms / 1000) * 1000
}

/** The instant the day `day` (YYYY-MM-DD) begins in `zone`, as an RFC 3339
 *  time in UTC ("2025-03-29T23:00:00.000Z" for Berlin's 30 March 2025);
 *  `day` itself (the API then takes UTC midnight) when the zone is unknown.
 *  On a day whose midnight the clocks skip, the first instant of the day. */
export function zoneMidnight (day, zone) {
  if (!knownZone(zone)) return day
  const [y, m, d] = day.split('-').map(Number)
  const wall = Date.UTC(y, m - 1, d)
  // midnight under the offset in force a day before and a day after (they
  // differ around a change of the clocks): the earlier one that is
  // midnight on the zone's clock, else (midnight skipped) the later one,
  // where the skip lands
  const found = [wall - zoneOffset(wall - DAY_MS, zone), wall - zoneOffset(wall + DAY_MS, zone)]
    .sort((a, b) => a - b)
  const real = found.find(t => t + zoneOffset(t, zone) === wall)
  return new Date(real ?? found[1]).toISOString()
}

/** The date (YYYY-MM-DD) on the clock of `zone`, `offset` days from the one
 *  of the instant `ms` (default: now); the browser's own date when the
 *  zone is unknown. A branch's "today" as its people live it. */
export function zoneDay (zone, offset = 0, ms = Date.now()) {
  const opts = { year: 'numeric', month: '2-digit', day: '2-digit' }
  if (knownZone(zone)) opts.timeZone = zone
  const parts = {}
  for (const p of new Intl.DateTimeFormat('en-US', opts).formatToParts(new Date(ms))) parts[p.type] = p.value
  const d = new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day) + offset))
  return d.toISOString().slice(0, 10)
}

/** `iso` as the wall-clock time HH:MM (24-hour) on the clock of `zone`
 *  ("13:30"); the browser's own clock when the zone is unknown. */
export function zoneClock (iso, zone) {
  const opts = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
  if (knownZone(zone)) opts.timeZone = zone
  return new Intl.DateTimeFormat('en-GB', opts).format(new Date(iso))
}
