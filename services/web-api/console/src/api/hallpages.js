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

/** The announcement as a browser's voice should read it: the ticket's
 *  digits one by one in Chinese ("请A012号到3号窗口" -> "请A零一二号到3号窗口");
 *  the window number stays a number ("3号" reads as 三号). */
export function spokenText (text, number) {
  if (!number || !text.includes(number)) return text
  const said = number.replace(/[0-9]/g, d => DIGITS[Number(d)])
  return text.replace(number, said)
}

/** The server's voice of a call (GET /branches/{branch}/announcements/audio,
 *  docs/voice.md): the WAV file as a Blob; rejects (ApiError, or an abort
 *  after `timeoutMs`) when it cannot be had. */
export async function announcementAudio (branch, number, windowNo, lang = 'zh-CN',
  { timeoutMs = 10000 } = {}) {
  const ctl = new AbortController()
  const timer = setTimeout(() => ctl.abort(), timeoutMs)
  try {
    const r = await get(`/branches/${branch}/announcements/audio`, {
      query: { ticket: number, window: windowNo, lang }, raw: true, signal: ctl.signal,
      headers: { Accept: 'audio/wav' } })
    return await r.blob()
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The audio of the last `max` announcements as object URLs, by key (a call
 * and a language): `get(key, load)` resolves the URL, calling `load()` (a
 * Promise of a Blob) only the first time; a load that failed resolves null
 * and is not kept (the next get tries again). The oldest URL is revoked when
 * a new one pushes it out.
 */
export class ClipCache {
  constructor ({ max = 16, toURL = b => URL.createObjectURL(b),
    revoke = u => URL.revokeObjectURL(u) } = {}) {
    this.max = max
    this.toURL = toURL
    this.revoke = revoke
    this.clips = new Map()
  }

  get (key, load) {
    let p = this.clips.get(key)
    if (p) {
      this.clips.delete(key) // the most recently used last
      this.clips.set(key, p)
      return p
    }
    p = Promise.resolve().then(load).then(blob => this.toURL(blob), () => {
      if (this.clips.get(key) === p) this.clips.delete(key)
      return null
    })
    this.clips.set(key, p)
    while (this.clips.size > this.max) {
      const [oldest, q] = this.clips.entries().next().value
      this.clips.delete(oldest)
      q.then(u => { if (u) this.revoke(u) })
    }
    return p
  }
}

const STALE_MS = 120000 // queue-manager never plays one older (docs/protocol.md)
const GAP_MS = 600 // between the repeats of one announcement
const LOAD_MS = 5000 // the server's audio waited for, then the browser's voice
const MARGIN_MS = 3000 // after a clip's own duration, before it counts as stuck

/**
 * Says the hall's announcements one at a time, in order, never two at once
 * nor one cut off by the next: `push(announce)` queues the `announce`
 * event's data; each is said `repeat` times. An event seen before (the same
 * `seq`, e.g. replayed after a reconnect) or older than 120 s is skipped; a
 * recall is a new event, said again.
 *
 * Each saying is the server's audio when `audio` is given and it can be
 * had: `audio.load(item)` resolves an object URL of the clip or null
 * (asked when the announcement is queued, so it is ready by its turn, and
 * given LOAD_MS at its turn), `audio.make()` an HTMLAudioElement; the next
 * starts after the element's `ended`. Otherwise (no clip, or one that
 * fails to play) it is the browser's: `synth` (window.speechSynthesis,
 * may be null) with `Utterance` (SpeechSynthesisUtterance). A clip or a
 * voice that never ends does not block the queue: a clip after its own
 * duration and a margin, a voice after the announcement's.
 *
 * `onState({speaking, blocked, queued})` follows it (`blocked`: the browser
 * refused to play or speak before the page was touched).
 */
export class Announcer {
  constructor ({ synth = null, Utterance = null, audio = null, lang = 'zh-CN', now = Date.now,
    onState = () => {},
    timers = { set: (fn, ms) => setTimeout(fn, ms), clear: id => clearTimeout(id) } } = {}) {
    this.synth = synth
    this.Utterance = Utterance
    this.audio = audio
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
                        number: a.number, windowNo: a.window_no, time: i,
                        durationMs: (a.duration_ms || 0) / times })
    }
    if (this.audio) this.s_load(this.queue[this.queue.length - 1])
    this.s_state()
    this.s_next()
    return true
  }

  /** The page was touched: what the browser refused may now be said. */
  unblock () {
    if (!this.blocked) return
    this.blocked = false
    this.s_state()
    this.s_next()
  }

  stop () {
    this.stopped = true
    this.queue = []
    if (this.current) {
      this.timers.clear(this.current.guard)
      if (this.current.el) this.current.el.pause()
    }
    this.current = null
    this.s_state()
  }

  s_state () {
    this.onState({ speaking: this.current ? this.current.item.shown : null,
                   blocked: this.blocked, queued: this.queue.length })
  }

  /** The clip's URL or null, never a rejection. */
  s_load (item) {
    if (item.number == null || item.windowNo == null) return Promise.resolve(null)
    return Promise.resolve().then(() => this.audio.load(item)).catch(() => null)
  }

  s_next () {
    if (this.current || this.blocked || this.stopped || (!this.synth && !this.audio)) return
    const item = this.queue.shift()
    if (!item) { this.s_state(); return }
    const mine = { item, guard: null, done: false, el: null, u: null }
    const finish = (again) => {
      if (mine.done) return
      mine.done = true
      this.timers.clear(mine.guard)
      if (mine.el) mine.el.onended = mine.el.onerror = mine.el.onloadedmetadata = null
      if (this.current === mine) this.current = null
      if (again) this.queue.unshift(item)
      this.s_state()
      // a short pause between two sayings, as a person would
      this.timers.set(() => this.s_next(), GAP_MS)
    }
    this.current = mine
    this.s_state()
    if (!this.audio) { this.s_speak(mine, finish); return }
    // the server's clip, waited for LOAD_MS at most
    mine.guard = this.timers.set(() => this.s_speak(mine, finish), LOAD_MS)
    this.s_load(item).then(url => {
      if (mine.done || mine.u || this.current !== mine) return
      this.timers.clear(mine.guard)
      if (url) this.s_play(mine, url, finish)
      else this.s_speak(mine, finish)
    })
  }

  /** Plays the clip at `url` through an audio element. */
  s_play (mine, url, finish) {
    const el = this.audio.make()
    mine.el = el
    const guard = (ms) => {
      this.timers.clear(mine.guard)
      // a clip that never ends: the next one after its expected time
      mine.guard = this.timers.set(() => { el.pause(); finish(false) }, ms + MARGIN_MS)
    }
    const fallback = () => {
      if (mine.done || mine.u) return
      el.onended = el.onerror = el.onloadedmetadata = null
      el.pause()
      this.s_speak(mine, finish) // a clip that cannot be played: the browser's voice
    }
    el.onended = () => finish(false)
    el.onerror = fallback
    el.onloadedmetadata = () => {
      if (Number.isFinite(el.duration) && el.duration > 0) guard(el.duration * 1000)
    }
    guard(this.s_expected(mine.item))
    el.src = url
    const played = el.play()
    if (played && played.catch) {
      played.catch(e => {
        if (mine.done) return
        if (e && e.name === 'NotAllowedError') {
          // no sound before the page is touched (the browser's rule)
          el.pause()
          this.blocked = true
          finish(true)
        } else {
          fallback()
        }
      })
    }
  }

  /** How long a saying of `item` should take (ms). */
  s_expected (item) {
    return Math.max(item.durationMs, item.text.length * 350 + 1000)
  }

  /** Says the item with the browser's voice (or skips it without one). */
  s_speak (mine, finish) {
    if (mine.done || mine.u) return
    this.timers.clear(mine.guard)
    if (!this.synth || !this.Utterance) { finish(false); return }
    const item = mine.item
    const u = new this.Utterance(item.text)
    mine.u = u
    u.lang = this.lang
    u.rate = 0.9
    const voice = this.s_voice()
    if (voice) u.voice = voice
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
    mine.guard = this.timers.set(() => {
      if (this.synth.speaking && this.synth.cancel) this.synth.cancel()
      finish(false)
    }, this.s_expected(item) + 8000)
    this.synth.speak(u)
  }
}
