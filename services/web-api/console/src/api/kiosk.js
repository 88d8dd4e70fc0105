// kiosk: the ticket kiosk's logic: whether a service can be taken now (the
// branch's opening hours as GET /branches/{branch}/services says, and the
// live hall's open windows), the words for one that cannot ("暂停取号，13:30
// 恢复", "今日取号已停止"), in the branch's own time zone, and when to read
// the services again. No DOM: unit-tested.
import { servedNow } from './hallpages.js'
import { zoneClock, zoneDay } from './zonetime.js'

const HOURS_REASONS = ['closed', 'issuing_stopped']
const RELOAD_MAX_MS = 60000 // the list is read again at least this often

/**
 * Whether service `s` (an item of GET /branches/{branch}/services) can be
 * taken now: {available, reason, resumesAt}. The branch's hours come from
 * the list (`reason` closed / issuing_stopped, with `resumes_at`); the
 * windows from the live hall (`windows`: its window objects; null while
 * it is not read yet: the list's own `available` stands).
 */
export function serviceState (s, windows) {
  if (HOURS_REASONS.includes(s.reason)) {
    return { available: false, reason: s.reason, resumesAt: s.resumes_at || null }
  }
  const served = windows ? servedNow(windows).has(s.id) : s.available
  return served ? { available: true, reason: null, resumesAt: null }
    : { available: false, reason: 'no_window', resumesAt: null }
}

/**
 * The words for a service that cannot be taken (`state` from serviceState),
 * `now` the current time (a Date or ms), `timeZone` the branch's, `t` the
 * i18n translate function: the hall.kiosk.off.* texts.
 */
export function unavailableText (state, now, timeZone, t) {
  if (state.reason === 'no_window') return t('hall.kiosk.off.noWindow')
  if (!state.resumesAt) return t('hall.kiosk.off.paused')
  if (s_day(state.resumesAt, timeZone) === zoneDay(timeZone, 0, new Date(now).getTime())) {
    return t('hall.kiosk.off.resumesToday', { time: zoneClock(state.resumesAt, timeZone) })
  }
  return t('hall.kiosk.off.stoppedToday')
}

/** The second line under an unavailable service: when tickets are issued
 *  again if that is another day ("明天 08:30 恢复取号"), else ''. */
export function resumesLine (state, now, timeZone, t) {
  if (!state.resumesAt || state.reason === 'no_window') return ''
  const ms = new Date(now).getTime()
  const day = s_day(state.resumesAt, timeZone)
  const time = zoneClock(state.resumesAt, timeZone)
  if (day === zoneDay(timeZone, 0, ms)) return ''
  if (day === zoneDay(timeZone, 1, ms)) return t('hall.kiosk.off.resumesTomorrow', { time })
  const [, month, date] = day.split('-').map(Number)
  return t('hall.kiosk.off.resumesOn', { month, day: date, time })
}

/** The date (YYYY-MM-DD) of the time `iso` on the clock of `zone`. */
function s_day (iso, zone) {
  return zoneDay(zone, 0, Date.parse(iso))
}

/** Milliseconds until the services should be read again: a moment after
 *  the hours change state (`issuing.until` or `resumes_at`), at most a
 *  minute. */
export function reloadDelay (issuing, now) {
  const next = issuing && (issuing.until || issuing.resumes_at)
  const ms = next ? Date.parse(next) - new Date(now).getTime() + 1000 : RELOAD_MAX_MS
  return Math.max(1000, Math.min(RELOAD_MAX_MS, ms))
}
