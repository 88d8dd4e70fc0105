// The live hall's rating devices as a branch's snapshot names them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hallFromSnapshot } from '../src/api/hall.js'

const B = 'hq.r01.b0001'
const win = (id, device) => ({ id, number: id, state: 'open', staff: null, current: null, device })
const snapshot = windows => ({ branch: B, day: '2026-12-06', live_event_id: '1', queues: [], windows, display: [] })

test('hallFromSnapshot: a window\'s device online or offline is known, unknown or none is not', () => {
  const h = hallFromSnapshot(snapshot([
    win(1, { serial: 'EQ-1', status: 'online', since: '2026-12-06T03:00:00Z' }),
    win(2, { serial: 'EQ-2', status: 'offline', since: null }),
    win(3, { serial: 'EQ-3', status: 'unknown', since: null }),
    win(4, null),
  ]))
  assert.deepEqual(h.devices, {
    1: { online: true, serial: 'EQ-1', at: '2026-12-06T03:00:00Z' },
    2: { online: false, serial: 'EQ-2', at: null },
  })
})

test('hallFromSnapshot: the snapshot\'s device replaces what an earlier event said', () => {
  const before = hallFromSnapshot(snapshot([win(1, null), win(2, null)]))
  before.devices = { 1: { online: true, serial: 'EQ-1', at: 'a' }, 2: { online: true, serial: 'EQ-2', at: 'b' } }
  const h = hallFromSnapshot(snapshot([win(1, { serial: 'EQ-1', status: 'offline', since: 'c' }), win(2, null)]),
                             before)
  assert.deepEqual(h.devices, { 1: { online: false, serial: 'EQ-1', at: 'c' },
                                2: { online: true, serial: 'EQ-2', at: 'b' } })
})
