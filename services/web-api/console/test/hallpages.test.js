// Unit tests of src/api/hallpages.js: the device's settings, the services
// served now, the spoken text and the announcer's queue.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Announcer, ClipCache, deviceSettings, profileServices, refusalCode, servedNow,
  spokenText }
  from '../src/api/hallpages.js'

function memory () {
  const m = new Map()
  return { getItem: k => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)),
           removeItem: k => m.delete(k) }
}

test('the token given once in the address is kept for the next loads', () => {
  const s = memory()
  const first = deviceSettings('kiosk', { branch: 'hq.r01.b0001', token: 'eqt_x', text: 'hi' }, s)
  assert.deepEqual(first, { branch: 'hq.r01.b0001', token: 'eqt_x', extra: { text: 'hi' },
                            fromAddress: true })
  const later = deviceSettings('kiosk', {}, s)
  assert.equal(later.token, 'eqt_x')
  assert.equal(later.branch, 'hq.r01.b0001')
  assert.equal(later.fromAddress, false)
  // another page of the same browser keeps its own
  assert.equal(deviceSettings('display', {}, s).token, null)
  // a new branch alone keeps the token
  assert.equal(deviceSettings('kiosk', { branch: 'hq.r01.b0002' }, s).token, 'eqt_x')
})

test('the services some open window serves', () => {
  assert.deepEqual(profileServices('strict;vip=2;ordinary=1;services=3,1,2'), [3, 1, 2])
  assert.deepEqual(profileServices(''), [])
  const served = servedNow([
    { state: 'open', profile: 'strict;vip=1;ordinary=1;services=1,2' },
    { state: 'paused', profile: 'strict;vip=1;ordinary=1;services=5' },
    { state: 'closed', profile: 'strict;vip=1;ordinary=1;services=6' },
  ])
  assert.deepEqual([...served].sort(), [1, 2])
})

test('the ticket number is read digit by digit', () => {
  assert.equal(spokenText('请A012号到3号窗口', 'A012'), '请A零一二号到3号窗口')
  assert.equal(spokenText('请到窗口', 'A012'), '请到窗口')
})

test('a refusal code of queue-manager', () => {
  assert.equal(refusalCode({ problem: { error: 'window_paused' } }), 'window_paused')
  assert.equal(refusalCode({ problem: {} }), null)
})

/** A fake speechSynthesis: what was said, and when each ended. */
function fakeSynth () {
  const log = []
  const synth = {
    speaking: false,
    current: null,
    getVoices: () => [{ lang: 'en-US', name: 'en' }, { lang: 'zh-CN', name: 'zh' }],
    speak (u) {
      assert.equal(this.current, null, 'two utterances at once')
      this.current = u
      this.speaking = true
      log.push(['start', u.text, u.voice && u.voice.name])
    },
    cancel () { this.end() },
    end () {
      const u = this.current
      this.current = null
      this.speaking = false
      log.push(['end', u.text])
      u.onend && u.onend()
    },
  }
  return { synth, log }
}

class Utterance { constructor (text) { this.text = text } }

function fakeTimers () {
  const pending = new Map()
  let n = 0
  return {
    set: (fn, ms) => { pending.set(++n, { fn, ms }); return n },
    clear: id => pending.delete(id),
    run: (upTo = Infinity) => {
      for (const [id, t] of [...pending]) {
        if (t.ms <= upTo) { pending.delete(id); t.fn() }
      }
    },
    pending,
  }
}

const NOW = Date.parse('2026-12-06T02:00:00.000Z')
const ann = (seq, number, windowNo, repeat = 1) => ({
  text: `请${number}号到${windowNo}号窗口`, number, window_no: windowNo, repeat, seq,
  duration_ms: 4000 * repeat, called: new Date(NOW - 1000).toISOString(),
})

test('announcements are said one at a time, in order, each as often as asked', () => {
  const { synth, log } = fakeSynth()
  const timers = fakeTimers()
  const a = new Announcer({ synth, Utterance, now: () => NOW, timers })
  a.push(ann(1, 'A001', 1, 2))
  a.push(ann(2, 'A002', 3))
  assert.deepEqual(log, [['start', '请A零零一号到1号窗口', 'zh']])
  synth.end()
  // nothing starts before the gap after the end
  assert.equal(log.length, 2)
  timers.run(1000)
  synth.end()
  timers.run(1000)
  synth.end()
  timers.run(1000)
  assert.deepEqual(log.map(x => x.slice(0, 2)), [
    ['start', '请A零零一号到1号窗口'], ['end', '请A零零一号到1号窗口'],
    ['start', '请A零零一号到1号窗口'], ['end', '请A零零一号到1号窗口'],
    ['start', '请A零零二号到3号窗口'], ['end', '请A零零二号到3号窗口']])
})

test('an announcement seen twice or too old is not said again', () => {
  const { synth, log } = fakeSynth()
  const timers = fakeTimers()
  const a = new Announcer({ synth, Utterance, now: () => NOW, timers })
  assert.equal(a.push(ann(1, 'A001', 1)), true)
  assert.equal(a.push(ann(1, 'A001', 1)), false)
  const old = { ...ann(2, 'A002', 1), called: new Date(NOW - 130000).toISOString() }
  assert.equal(a.push(old), false)
  // a recall is a new announcement (a new seq)
  assert.equal(a.push(ann(3, 'A001', 1)), true)
  synth.end(); timers.run(1000); synth.end(); timers.run(1000)
  assert.equal(log.filter(x => x[0] === 'start').length, 2)
})

test('a voice that never ends does not stop the queue', () => {
  const { synth, log } = fakeSynth()
  const timers = fakeTimers()
  const a = new Announcer({ synth, Utterance, now: () => NOW, timers })
  a.push(ann(1, 'A001', 1))
  a.push(ann(2, 'A002', 2))
  timers.run() // the guard: cancels the stuck one
  timers.run(1000)
  assert.deepEqual(log.filter(x => x[0] === 'start').map(x => x[1]),
                   ['请A零零一号到1号窗口', '请A零零二号到2号窗口'])
})

test('a refused speech waits for the page to be touched', () => {
  const { synth, log } = fakeSynth()
  const timers = fakeTimers()
  const states = []
  const a = new Announcer({ synth, Utterance, now: () => NOW, timers,
    onState: s => states.push(s) })
  a.push(ann(1, 'A001', 1))
  const u = synth.current
  synth.current = null
  u.onerror({ error: 'not-allowed' })
  timers.run(1000)
  assert.equal(states.at(-1).blocked, true)
  assert.equal(log.length, 1)
  a.unblock()
  assert.equal(log.length, 2)
  assert.equal(log[1][1], '请A零零一号到1号窗口')
})

/** Lets the promise chains run (loads, play()). */
const flush = () => new Promise(resolve => setImmediate(resolve))

/** A fake server voice: load() resolves a URL per call (or what `how`
 *  says), make() an audio element that logs what it plays; at most one
 *  element may play at a time. */
function fakeAudio (how = () => 'ok') {
  const log = []
  const loads = []
  const els = []
  let playing = 0
  const audio = {
    load (item) {
      loads.push(`${item.number}|${item.windowNo}`)
      const h = how(item)
      if (h === 'never') return new Promise(() => {})
      if (h === 'fail') return Promise.reject(new Error('503'))
      if (h === 'none') return Promise.resolve(null)
      return Promise.resolve(`blob:${item.number}-${item.windowNo}`)
    },
    make () {
      const el = {
        src: null, duration: NaN, paused: true, onended: null, onerror: null, onloadedmetadata: null,
        play () {
          const h = how({ number: this.src })
          if (h === 'unplayable') return Promise.reject(Object.assign(new Error('x'), { name: 'NotSupportedError' }))
          if (h === 'refused' && !audio.touched) return Promise.reject(Object.assign(new Error('x'), { name: 'NotAllowedError' }))
          assert.equal(playing, 0, 'two clips at once')
          playing++
          this.paused = false
          log.push(['play', this.src])
          return Promise.resolve()
        },
        pause () {
          if (!this.paused) { playing--; log.push(['pause', this.src]) }
          this.paused = true
        },
        end () { this.paused = true; playing--; log.push(['ended', this.src]); this.onended && this.onended() },
      }
      els.push(el)
      return el
    },
  }
  return { audio, log, loads, els, current: () => els.find(e => !e.paused) }
}

test('the server\'s clips are played one at a time, each after the last one ended', async () => {
  const { synth, log: said } = fakeSynth()
  const { audio, log, loads, current } = fakeAudio()
  const timers = fakeTimers()
  const a = new Announcer({ synth, Utterance, audio, now: () => NOW, timers })
  a.push(ann(1, 'A001', 1, 2))
  a.push(ann(2, 'A002', 3))
  await flush()
  // both asked for as soon as they were queued
  assert.deepEqual([...new Set(loads)], ['A001|1', 'A002|3'])
  assert.deepEqual(log, [['play', 'blob:A001-1']])
  current().end()
  await flush()
  assert.equal(log.length, 2) // nothing before the gap
  timers.run(1000)
  await flush()
  current().end()
  timers.run(1000)
  await flush()
  current().end()
  timers.run(1000)
  await flush()
  assert.deepEqual(log, [
    ['play', 'blob:A001-1'], ['ended', 'blob:A001-1'], ['play', 'blob:A001-1'],
    ['ended', 'blob:A001-1'], ['play', 'blob:A002-3'], ['ended', 'blob:A002-3']])
  assert.deepEqual(said, []) // the browser's voice was not needed
})

test('a clip that cannot be had or played is said by the browser\'s voice', async () => {
  for (const how of ['fail', 'none', 'unplayable']) {
    const { synth, log: said } = fakeSynth()
    const { audio, log } = fakeAudio(() => how)
    const timers = fakeTimers()
    const a = new Announcer({ synth, Utterance, audio, now: () => NOW, timers })
    a.push(ann(1, 'A001', 1))
    await flush()
    assert.deepEqual(said, [['start', '请A零零一号到1号窗口', 'zh']], how)
    assert.deepEqual(log, [], how)
    synth.end()
    assert.equal(a.current, null, how)
  }
})

test('a clip that takes too long to come is said by the browser\'s voice', async () => {
  const { synth, log: said } = fakeSynth()
  const { audio } = fakeAudio(() => 'never')
  const timers = fakeTimers()
  const a = new Announcer({ synth, Utterance, audio, now: () => NOW, timers })
  a.push(ann(1, 'A001', 1))
  await flush()
  assert.deepEqual(said, [])
  timers.run(5000) // LOAD_MS
  assert.deepEqual(said, [['start', '请A零零一号到1号窗口', 'zh']])
})

test('a clip that never ends does not stop the queue', async () => {
  const { synth } = fakeSynth()
  const { audio, log, els } = fakeAudio()
  const timers = fakeTimers()
  const a = new Announcer({ synth, Utterance, audio, now: () => NOW, timers })
  a.push(ann(1, 'A001', 1))
  a.push(ann(2, 'A002', 2))
  await flush()
  // its duration known: the guard is the clip's 3 s and a margin
  els[0].duration = 3
  els[0].onloadedmetadata()
  const guard = [...timers.pending.values()].find(t => t.ms === 6000)
  assert.ok(guard, [...timers.pending.values()].map(t => t.ms))
  timers.run(6000)
  timers.run(1000)
  await flush()
  assert.deepEqual(log, [['play', 'blob:A001-1'], ['pause', 'blob:A001-1'], ['play', 'blob:A002-2']])
})

test('a clip refused before the page is touched waits for it', async () => {
  const { synth, log: said } = fakeSynth()
  const { audio, log } = fakeAudio(() => 'refused')
  const states = []
  const timers = fakeTimers()
  const a = new Announcer({ synth, Utterance, audio, now: () => NOW, timers,
    onState: s => states.push(s) })
  a.push(ann(1, 'A001', 1))
  await flush()
  timers.run(1000)
  await flush()
  assert.equal(states.at(-1).blocked, true)
  assert.deepEqual(log, [])
  audio.touched = true
  a.unblock()
  await flush()
  assert.deepEqual(log, [['play', 'blob:A001-1']])
  assert.deepEqual(said, [])
})

test('a recall plays the clip again without fetching it again', async () => {
  const { synth } = fakeSynth()
  const fetched = []
  const cache = new ClipCache({ toURL: b => `blob:${b}`, revoke: () => {} })
  const { audio, log, current } = fakeAudio()
  audio.load = item => cache.get(`zh-CN|${item.number}|${item.windowNo}`, async () => {
    fetched.push(item.number)
    return `${item.number}-${item.windowNo}`
  })
  const timers = fakeTimers()
  const a = new Announcer({ synth, Utterance, audio, now: () => NOW, timers })
  a.push(ann(1, 'A001', 1))
  await flush()
  current().end()
  timers.run(1000)
  a.push(ann(2, 'A001', 1)) // recalled: a new seq
  await flush()
  current().end()
  assert.deepEqual(log.filter(x => x[0] === 'play'), [['play', 'blob:A001-1'], ['play', 'blob:A001-1']])
  assert.deepEqual(fetched, ['A001'])
})

test('the clip cache keeps the last ones and tries a failed one again', async () => {
  const revoked = []
  const cache = new ClipCache({ max: 2, toURL: b => `blob:${b}`, revoke: u => revoked.push(u) })
  let calls = 0
  assert.equal(await cache.get('a', async () => { calls++; return 'a' }), 'blob:a')
  assert.equal(await cache.get('a', async () => { calls++; return 'a' }), 'blob:a')
  assert.equal(calls, 1)
  assert.equal(await cache.get('b', async () => { throw new Error('503') }), null)
  assert.equal(await cache.get('b', async () => 'b'), 'blob:b')
  assert.equal(await cache.get('c', async () => 'c'), 'blob:c')
  await flush()
  // a was the least recently used: out, its URL revoked
  assert.deepEqual(revoked, ['blob:a'])
  assert.deepEqual([...cache.clips.keys()], ['b', 'c'])
})

test('a new work profile of a window changes what it serves', async () => {
  const { applyEvent, hallFromSnapshot } = await import('../src/api/hall.js')
  const h = hallFromSnapshot({ branch: 'b', day: 'd', live_event_id: '1', queues: [], display: [],
    windows: [{ id: 7, state: 'open', profile: 'strict;vip=1;ordinary=1;services=1,2', since: 't0' }] })
  applyEvent(h, { event: 'ticket.profile_set', id: '2',
                  data: { branch: 'b', window: 7, detail: 'strict;vip=1;ordinary=1;services=2', at: 't1' } })
  assert.deepEqual([...servedNow(h.windows)], [2])
  assert.equal(h.windows[0].since, 't0')
})
