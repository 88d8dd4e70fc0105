// Unit tests of src/api/hall.js: a snapshot and the live events applied to it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { applyEvent, estimatedWait, hallFromSnapshot, longestWait } from '../src/api/hall.js'

const B = 'hq.r01.b0001'
function snapshot () {
  return {
    branch: B, day: '2026-12-06', live_event_id: '100',
    queues: [{ id: 1, prefix: 'A', waiting: 2, next_number: 3, oldest: '2026-12-06T01:00:00.000Z' }],
    windows: [{ id: 7, number: 1, name: '1号窗口', state: 'closed', pause_reason: null, staff: null,
                current: null, parked: 0, transferred: 0, profile: '', since: null, waiting: 0,
                service: null, called: null, started: null }],
    display: [],
  }
}
const ev = (event, data, id) => ({ event, id, data: { branch: B, bus_id: `b${id}`, ...data } })

test('a window opened, a teller logged in, a call, a finish', () => {
  const h = hallFromSnapshot(snapshot())
  applyEvent(h, ev('ticket.window_opened', { window: 7, at: 't1' }, '101'))
  applyEvent(h, ev('ticket.staff_login', { window: 7, staff: 3, at: 't2' }, '102'))
  applyEvent(h, ev('ticket.called', { window: 7, number: 'A001', staff: 3, at: 't3' }, '103'))
  assert.equal(h.windows[0].state, 'open')
  assert.equal(h.windows[0].staff, 3)
  assert.equal(h.windows[0].current, 'A001')
  assert.equal(h.liveEventId, '103')
  // twice is the same
  applyEvent(h, ev('ticket.called', { window: 7, number: 'A001', staff: 3, at: 't3' }, '103'))
  assert.equal(h.windows[0].current, 'A001')
  applyEvent(h, ev('ticket.finished', { window: 7, number: 'A001', at: 't4' }, '104'))
  assert.equal(h.windows[0].current, null)
  applyEvent(h, ev('ticket.window_paused', { window: 7, detail: '午休', at: 't5' }, '105'))
  assert.equal(h.windows[0].state, 'paused')
  assert.equal(h.windows[0].pause_reason, '午休')
})

test('queues, display, devices and ratings; another branch and reload', () => {
  const h = hallFromSnapshot(snapshot())
  applyEvent(h, { event: 'queues', id: '101', data: { branch: B, queues: [{ id: 1, prefix: 'A', waiting: 0, next: 4 }] } })
  assert.equal(h.queues[0].waiting, 0)
  assert.equal(h.queues[0].oldest, null)
  applyEvent(h, ev('display', { called: [{ number: 'A003', window_no: 1, at: 't' }], windows: [] }, '102'))
  assert.equal(h.display[0].number, 'A003')
  applyEvent(h, ev('device.offline', { serial: 'S1', window: { id: 7, number: 1, code: 'w1' } }, '103'))
  assert.equal(h.devices[7].online, false)
  const rating = ev('rating.stored', { window_id: 7, staff_id: 3, option_code: 1, score: 100,
                                       satisfied: true, unsatisfied: false }, '104')
  applyEvent(h, rating)
  applyEvent(h, rating)
  assert.equal(h.ratings.length, 1)
  applyEvent(h, { event: 'queues', id: '105', data: { branch: 'hq.r02.b0003', queues: [{ id: 1, waiting: 9 }] } })
  assert.equal(h.queues[0].waiting, 0)
  assert.equal(applyEvent(h, { event: 'reload', data: { reason: 'too_old' } }), 'reload')
  // a new snapshot keeps what only events tell
  const again = hallFromSnapshot(snapshot(), h)
  assert.equal(again.devices[7].online, false)
  assert.equal(again.ratings.length, 1)
})

test('longest and estimated waits', () => {
  const q = snapshot().queues[0]
  assert.equal(longestWait(q, Date.parse('2026-12-06T01:02:05.000Z')), 125)
  assert.equal(longestWait({ ...q, waiting: 0 }, Date.now()), null)
  assert.equal(estimatedWait(q, 2, 300), 300)
  assert.equal(estimatedWait(q, 0, 300), null)
  assert.equal(estimatedWait(q, 2, null), null)
})
