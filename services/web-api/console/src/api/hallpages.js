// hallpages: what the pages in the hall (ticket kiosk, hall display, teller
// console) share: the device's own token (given once in the address, then
// kept in localStorage), the services a branch offers and which of them an
// open window serves, the teller's window actions and their refusals, and
// the announcer that speaks the hall's calls one at a time. No DOM but what
// is handed in: unit-tested.
import { get, post } from './client.js'

const KEY = 'eqms.hall.'

/**
 * The device settings of page `kind` (kiosk, display, teller): `query` (the
 * route's query) holds `branch` and `token` the first time; they are saved
 * in `storage` and the caller removes them from the address. Returns
 * {branch, token, extra, fromAddress} ({} members when nothing is known);
 * `extra` keeps the other query members (e.g. the display's text).
 */
export function deviceSettings (kind, query, storage) {
  const key = KEY + kind
  let saved = {}
  try { saved = JSON.parse(storage.getItem(key) || '{}') || {} } catch { saved = {} }
  const fromAddress = typeof query.token === 'string' && query.token !== ''
  if (fromAddress || (typeof query.branch === 'string' && query.branch !== '')) {
    const { branch, token, ...extra } = query
    saved = { branch: branch || saved.branch, token: fromAddress ? token : saved.token,
              extra: { ...(saved.extra || {}), ...extra } }
    storage.setItem(key, JSON.stringify(saved))
  }
  return { branch: saved.branch || null, token: saved.token || null,
           extra: saved.extra || {}, fromAddress }
}

/** Forgets the device settings of page `kind`. */
export function forgetDevice (kind, storage) {
  storage.removeItem(KEY + kind)
}

/** The service ids a work profile lists ('strict;vip=1;ordinary=1;services=3,1'). */
export function profileServices (profile) {
  const m = /(?:^|;)services=([0-9,]+)/.exec(profile || '')
  return m ? m[1].split(',').filter(Boolean).map(Number) : []
}

/** The set of service ids some open window of the hall serves now. */
export function servedNow (windows) {
  const ids = new Set()
  for (const w of windows || []) {
    if (w.state === 'open') profileServices(w.profile).forEach(id => ids.add(id))
  }
  return ids
}

/** The services of a branch (GET /branches/{branch}/services), by id. */
export async function branchServices (branch) {
  return (await get(`/branches/${branch}/services`)).services
}

/** The window actions of a teller: path and whether it takes a body. */
export const ACTIONS = ['open', 'close', 'pause', 'resume', 'login', 'logout', 'call-next',
  'call-ticket', 'recall', 'start', 'finish', 'no-show', 'transfer', 'park', 'call-back',
  'walk-in']

/** POSTs window action `action` with `body` (or none): the WindowAnswer. */
export function windowAction (windowId, action, body) {
  if (!ACTIONS.includes(action)) throw new Error(`no window action ${action}`)
  return post(`/windows/${windowId}/${action}`, body)
}

/** queue-manager's refusal code of an ApiError (409/422/404 `error`), or null. */
export function refusalCode (e) {
  return (e && e.problem && typeof e.problem.error === 'string') ? e.problem.error : null
}

/** The devices' live state of a branch (GET /branches/{branch}/devices):
 *  {window id: {online, serial, at}} of the devices at its windows. */
export async function windowDevices (branch) {
  const r = await get(`/branches/${branch}/devices`)
  const out = {}
  for (const d of r.devices || []) {
    if (d.window && d.window.id != null) {
      if (d.live) out[d.window.id] = { online: d.live.status === 'online', serial: d.serial,
                                       at: d.live.since }
    }
  }
  return out
}

const DIGITS = '零一二三四五六七八九'

/** The announcement as a voice should read it: the ticket's digits one by
 *  one in Chinese ("请A012号到3号窗口" -> "请A零一二号到3号窗口"); the
 *  window number stays a number ("3号" reads as 三号). */
export function spokenText (text, number) {
  if (!number || !text.includes(number)) return text
  const said = number.replace(/[0-9]/g, d => DIGITS[Number(d)])
  return text.replace(number, said)
}

const STALE_MS = 120000 // queue-manager never plays one older (docs/protocol.md)
const GAP_MS = 600 // between the repeats of one announcement

/**
 * Speaks the hall's announcements one at a time, in order, never two at
 * once nor one cut off by the next: `push(announce)` queues the `announce`
 * event's data; each is said `repeat` times. An event seen before (the same
 * `seq`, e.g. replayed after a reconnect) or older than 120 s is skipped. A
 * voice that never says it ended does not block the queue: after the
 * announcement's own duration and a margin the next one goes.
 *
 * `synth` is window.speechSynthesis, `Utterance` the SpeechSynthesisUtterance
 * class; `onState({speaking, blocked, queued})` follows it (`blocked`: the
 * browser refused to speak before the page was touched).
 */
export class Announcer {
  constructor (synth, Utterance, { lang = 'zh-CN', now = Date.now, onState = () => {},
    timers = { set: (fn, ms) => setTimeout(fn, ms), clear: id => clearTimeout(id) } } = {}) {
    this.synth = synth
    this.Utterance = Utterance
    this.lang = lang
    this.now = now
    this.onState = onState
    this.timers = timers
    this.queue = []
    this.seen = new Set()
    this.current = null
    this.blocked = false
    this.stopped = false
  }

  /** The voice for `lang` (a zh-CN one first), or null for the default. */
  s_voice () {
    const voices = (this.synth && this.synth.getVoices && this.synth.getVoices()) || []
    const want = this.lang.toLowerCase()
    return voices.find(v => (v.lang || '').toLowerCase() === want) ||
      voices.find(v => (v.lang || '').toLowerCase().startsWith(want.slice(0, 2))) || null
  }

  push (a) {
    if (this.stopped || !a || !a.text) return false
    const key = `${a.seq}|${a.called}`
    if (this.seen.has(key)) return false
    if (a.called && this.now() - Date.parse(a.called) > STALE_MS) return false
    this.seen.add(key)
    if (this.seen.size > 500) this.seen.delete(this.seen.values().next().value)
    const times = Math.max(1, Math.min(10, a.repeat || 1))
    for (let i = 0; i < times; i++) {
      this.queue.push({ text: spokenText(a.text, a.number), shown: a.text, seq: a.seq,
                        time: i, durationMs: (a.duration_ms || 0) / times })
    }
    this.s_state()
    this.s_next()
    return true
  }

  /** The page was touched: a speech the browser refused may now be said. */
  unblock () {
    if (!this.blocked) return
    this.blocked = false
    this.s_state()
    this.s_next()
  }

  stop () {
    this.stopped = true
    this.queue = []
    if (this.current) this.timers.clear(this.current.guard)
    this.current = null
    this.s_state()
  }

  s_state () {
    this.onState({ speaking: this.current ? this.current.item.shown : null,
                   blocked: this.blocked, queued: this.queue.length })
  }

  s_next () {
    if (this.current || this.blocked || this.stopped || !this.synth) return
    const item = this.queue.shift()
    if (!item) { this.s_state(); return }
    const u = new this.Utterance(item.text)
    u.lang = this.lang
    u.rate = 0.9
    const voice = this.s_voice()
    if (voice) u.voice = voice
    const mine = { item, u, guard: null, done: false }
    const finish = (again) => {
      if (mine.done) return
      mine.done = true
      this.timers.clear(mine.guard)
      if (this.current === mine) this.current = null
      if (again) this.queue.unshift(item)
      this.s_state()
      // a short pause between two sayings, as a person would
      this.timers.set(() => this.s_next(), GAP_MS)
    }
    u.onend = () => finish(false)
    u.onerror = (ev) => {
      if (ev && ev.error === 'not-allowed') {
        // no speech before the page is touched (the browser's rule)
        this.blocked = true
        finish(true)
      } else {
        finish(false)
      }
    }
    // a voice that never ends: the next one after the expected time
    const expect = Math.max(item.durationMs, item.text.length * 350 + 1000)
    mine.guard = this.timers.set(() => {
      if (this.synth.speaking && this.synth.cancel) this.synth.cancel()
      finish(false)
    }, expect + 8000)
    this.current = mine
    this.s_state()
    this.synth.speak(u)
  }
}
