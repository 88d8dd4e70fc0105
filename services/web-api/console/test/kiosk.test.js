// Unit tests of src/api/kiosk.js: whether a service can be taken, the
// words for one that cannot in the branch's time zone, and when the kiosk
// reads its services again.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { reloadDelay, resumesLine, serviceState, unavailableText } from '../src/api/kiosk.js'
import { zoneClock } from '../src/api/zonetime.js'

// a t() that shows the key and its values, as vue-i18n would fill them in
const t = (key, values = {}) => `${key}${Object.keys(values).length ? JSON.stringify(values) : ''}`
const OPEN = { profile: 'strict;vip=1;ordinary=1;services=3,1' }
const SH = 'Asia/Shanghai'

test('a wall-clock time on the branch\'s clock, whatever the device\'s', () => {
  assert.equal(zoneClock('2026-11-30T05:30:00.000Z', SH), '13:30')
  assert.equal(zoneClock('2026-11-30T16:30:00.000Z', SH), '00:30')
  assert.equal(zoneClock('2026-03-29T01:00:00.000Z', 'Europe/Berlin'), '03:00')
})

test('the hours win; else an open window that serves it', () => {
  const windows = [{ state: 'open', profile: OPEN.profile },
                   { state: 'paused', profile: 'strict;vip=1;ordinary=1;services=7' }]
  assert.deepEqual(serviceState({ id: 3, reason: 'issuing_stopped',
                                  resumes_at: '2026-12-01T00:30:00.000Z' }, windows),
                   { available: false, reason: 'issuing_stopped', resumesAt: '2026-12-01T00:30:00.000Z' })
  assert.deepEqual(serviceState({ id: 3, reason: null, available: true }, windows),
                   { available: true, reason: null, resumesAt: null })
  // a paused window does not serve; the live hall overrides the list
  assert.deepEqual(serviceState({ id: 7, reason: null, available: true }, windows),
                   { available: false, reason: 'no_window', resumesAt: null })
  assert.equal(serviceState({ id: 7, reason: 'no_window', available: false },
                            [{ state: 'open', profile: 'longest_wait;vip=1;ordinary=1;services=7' }]).available,
               true)
  // before the live hall is read, the list's own word stands
  assert.equal(serviceState({ id: 7, reason: null, available: true }, null).available, true)
  assert.equal(serviceState({ id: 7, reason: 'no_window', available: false }, null).available, false)
})

test('the words for a service that cannot be taken', () => {
  const now = Date.parse('2026-11-30T03:45:00.000Z') // 11:45 in Shanghai
  const lunch = { reason: 'issuing_stopped', resumesAt: '2026-11-30T05:30:00.000Z' }
  assert.equal(unavailableText(lunch, now, SH, t), 'hall.kiosk.off.resumesToday{"time":"13:30"}')
  assert.equal(resumesLine(lunch, now, SH, t), '')
  const tomorrow = { reason: 'issuing_stopped', resumesAt: '2026-12-01T00:30:00.000Z' }
  assert.equal(unavailableText(tomorrow, now, SH, t), 'hall.kiosk.off.stoppedToday')
  assert.equal(resumesLine(tomorrow, now, SH, t), 'hall.kiosk.off.resumesTomorrow{"time":"08:30"}')
  const holiday = { reason: 'closed', resumesAt: '2026-12-08T00:30:00.000Z' }
  assert.equal(unavailableText(holiday, now, SH, t), 'hall.kiosk.off.stoppedToday')
  assert.equal(resumesLine(holiday, now, SH, t),
               'hall.kiosk.off.resumesOn{"month":12,"day":8,"time":"08:30"}')
  assert.equal(unavailableText({ reason: 'closed', resumesAt: null }, now, SH, t), 'hall.kiosk.off.paused')
  assert.equal(unavailableText({ reason: 'no_window', resumesAt: null }, now, SH, t),
               'hall.kiosk.off.noWindow')
  assert.equal(resumesLine({ reason: 'no_window', resumesAt: null }, now, SH, t), '')
  // "tomorrow" on the clock: the day after a 23-hour day in Berlin
  const berlin = Date.parse('2026-03-28T22:30:00.000Z') // 23:30 on 03-28 (CET)
  assert.equal(resumesLine({ reason: 'closed', resumesAt: '2026-03-29T06:00:00.000Z' }, berlin,
                           'Europe/Berlin', t), 'hall.kiosk.off.resumesTomorrow{"time":"08:00"}')
  // "today" is the branch's: 23:50 UTC is already tomorrow morning in Shanghai
  const late = Date.parse('2026-11-30T23:50:00.000Z') // 07:50 on 12-01 in Shanghai
  assert.equal(unavailableText({ reason: 'closed', resumesAt: '2026-12-01T00:30:00.000Z' }, late, SH, t),
               'hall.kiosk.off.resumesToday{"time":"08:30"}')
})

test('the services are read again when the hours change, at least every minute', () => {
  const now = Date.parse('2026-11-30T03:00:00.000Z')
  assert.equal(reloadDelay({ state: 'open', until: '2026-11-30T03:30:00.000Z' }, now), 60000)
  assert.equal(reloadDelay({ state: 'open', until: '2026-11-30T03:00:20.000Z' }, now), 21000)
  assert.equal(reloadDelay({ state: 'closed', until: null, resumes_at: '2026-11-30T03:00:05.000Z' }, now),
               6000)
  assert.equal(reloadDelay({ state: 'open', until: null, resumes_at: null }, now), 60000)
  assert.equal(reloadDelay({ state: 'open', until: '2026-11-30T02:00:00.000Z' }, now), 1000)
  assert.equal(reloadDelay(null, now), 60000)
})
