// live: one branch's live hall kept up to date: the snapshot, then the live
// stream read with fetch() (EventSource cannot send the bearer token) from
// the snapshot's live_event_id; `reload` and any failure (network drop, a
// restart of web-api, a stalled stream) read the snapshot again, with a
// backoff between failed tries. The hall itself is src/api/hall.js.

import { API, ApiError, get, headers } from './client.js'
import { SseParser } from './sse.js'
import { applyEvent, hallFromSnapshot } from './hall.js'

const STALL_MS = 40000 // web-api sends a heartbeat every 15 s
const OLDEST_REFRESH_MS = 1500

/** The delay before try `attempt` (0, 1, ...) after a failure: 1, 2, 4, 8 s
 *  then 10 s, with up to 20% jitter. */
export function backoff (attempt, random = Math.random) {
  const base = Math.min(10000, 1000 * 2 ** attempt)
  return Math.round(base * (1 + 0.2 * random()))
}

export class LiveHall {
  /** `onChange(hall)` after every change; `onStatus(status, error)` with
   *  'connecting', 'live', 'reconnecting' or 'stopped'; `onEvent(event,
   *  data)` (optional) with every event, before it is applied. */
  constructor (branch, { onChange, onStatus, onEvent }) {
    this.branch = branch
    this.onChange = onChange
    this.onEvent = onEvent || (() => {})
    this.onStatus = onStatus
    this.hall = null
    this.stopped = false
    this.abort = new AbortController()
    this.refreshTimer = null
  }

  start () {
    this.s_run()
    return this
  }

  /** Ends the stream; `error`, when given, is why (onStatus's second argument). */
  stop (error) {
    this.stopped = true
    this.abort.abort()
    clearTimeout(this.refreshTimer)
    this.onStatus('stopped', error)
  }

  async s_snapshot () {
    const state = await get(`/branches/${this.branch}/state`, { signal: this.abort.signal })
    this.hall = hallFromSnapshot(state, this.hall)
    this.onChange(this.hall)
  }

  async s_run () {
    let attempt = 0
    this.onStatus('connecting')
    while (!this.stopped) {
      let error = null
      try {
        await this.s_snapshot()
        if (this.hall.liveEventId === null) throw new Error('web-api runs without live streams')
        const end = await this.s_stream(() => { attempt = 0; this.onStatus('live') })
        if (end === 'reload') continue
      } catch (e) {
        if (this.stopped || e.name === 'AbortError') return
        if (e instanceof ApiError && e.status === 401) { this.stop(); return }
        // no such branch, or one outside the caller's subtree: asking again changes nothing
        if (e instanceof ApiError && e.status === 404) { this.stop(e); return }
        error = e
      }
      this.onStatus('reconnecting', error)
      await this.s_sleep(backoff(attempt++))
    }
  }

  s_sleep (ms) {
    return new Promise(resolve => {
      const t = setTimeout(resolve, ms)
      this.abort.signal.addEventListener('abort', () => { clearTimeout(t); resolve() },
        { once: true })
    })
  }

  /** Reads the stream until it ends: 'reload', or 'ended'; throws on errors. */
  async s_stream (opened) {
    const mine = new AbortController()
    const stop = () => mine.abort()
    this.abort.signal.addEventListener('abort', stop, { once: true })
    let watchdog = setTimeout(stop, STALL_MS)
    try {
      const r = await fetch(`${API}/live/branches/${this.branch}`, {
        headers: headers({ Accept: 'text/event-stream', 'Last-Event-ID': this.hall.liveEventId }),
        signal: mine.signal,
        cache: 'no-store',
      })
      if (!r.ok) {
        let problem = { status: r.status, title: r.statusText }
        try { problem = await r.json() } catch { /* not JSON */ }
        throw new ApiError(r.status, problem)
      }
      opened()
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader()
      const parser = new SseParser()
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return 'ended'
        clearTimeout(watchdog)
        watchdog = setTimeout(stop, STALL_MS)
        let changed = false
        for (const ev of parser.feed(value)) {
          let data
          try { data = JSON.parse(ev.data) } catch { continue }
          try { this.onEvent(ev.event, data) } catch (e) { console.error(e) } // the page's, not the stream's
          const what = applyEvent(this.hall, { id: ev.id, event: ev.event, data })
          if (what === 'reload') { mine.abort(); return 'reload' }
          if (ev.event === 'queues') this.s_refreshOldest()
          changed = true
        }
        if (changed) this.onChange(this.hall)
      }
    } catch (e) {
      if (mine.signal.aborted && !this.abort.signal.aborted) throw new Error('the live stream stalled')
      throw e
    } finally {
      clearTimeout(watchdog)
      this.abort.signal.removeEventListener('abort', stop)
    }
  }

  /** The waiting counts come in events, the longest waits only with a
   *  snapshot: read one shortly after counts changed (once for a burst). */
  s_refreshOldest () {
    if (this.refreshTimer) return
    this.refreshTimer = setTimeout(async () => {
      this.refreshTimer = null
      try {
        const state = await get(`/branches/${this.branch}/state`, { signal: this.abort.signal })
        for (const q of state.queues) {
          const mine = this.hall.queues.find(x => x.id === q.id)
          if (mine) mine.oldest = q.oldest
        }
        this.onChange(this.hall)
      } catch { /* the next change tries again */ }
    }, OLDEST_REFRESH_MS)
  }
}
