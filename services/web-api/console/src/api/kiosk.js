// kiosk: the ticket kiosk's logic: whether a service can be taken now (the
// branch's opening hours as GET /branches/{branch}/services says, and the
// live hall's open windows), the words for one that cannot ("暂停取号，13:30
// 恢复", "今日取号已停止"), in the branch's own time zone, and when to read
// the services again. No DOM: unit-tested.
import { servedNow } from './hallpages.js'

const HOURS_REASONS = ['closed', 'issuing_stopped']
const RELOAD_MAX_MS = 60000 // the list is read again at least this often

/** The local date (YYYY-MM-DD) and time (HH:MM) of `iso` in `timeZone`. */
export function zonedParts (iso, timeZone) {
  const parts = {}
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
  for (const p of fmt.formatToParts(new Date(iso))) parts[p.type] = p.value
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}`,
           month: Number(parts.month), day: Number(parts.day) }
}

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
  const at = zonedParts(state.resumesAt, timeZone)
  const today = zonedParts(new Date(now).toISOString(), timeZone)
  if (at.date === today.date) return t('hall.kiosk.off.resumesToday', { time: at.time })
  return t('hall.kiosk.off.stoppedToday')
}

/** The second line under an unavailable service: when tickets are issued
 *  again if that is another day ("明天 08:30 恢复取号"), else ''. */
export function resumesLine (state, now, timeZone, t) {
  if (!state.resumesAt || state.reason === 'no_window') return ''
  const at = zonedParts(state.resumesAt, timeZone)
  const today = zonedParts(new Date(now).toISOString(), timeZone)
  if (at.date === today.date) return ''
  const tomorrow = zonedParts(new Date(new Date(now).getTime() + 86400000).toISOString(), timeZone)
  if (at.date === tomorrow.date) return t('hall.kiosk.off.resumesTomorrow', { time: at.time })
  return t('hall.kiosk.off.resumesOn', { month: at.month, day: at.day, time: at.time })
}

/** Milliseconds until the services should be read again: a moment after
 *  the hours change state (`issuing.until` or `resumes_at`), at most a
 *  minute. */
export function reloadDelay (issuing, now) {
  const next = issuing && (issuing.until || issuing.resumes_at)
  const ms = next ? Date.parse(next) - new Date(now).getTime() + 1000 : RELOAD_MAX_MS
  return Math.max(1000, Math.min(RELOAD_MAX_MS, ms))
}
