// Unit tests of src/api/zonetime.js: a node's zone found up the tree, times
// on a branch's clock across its changes of the clocks (Europe/Berlin's in
// 2025, Asia/Shanghai's summer time of 1991 and its none today), and the
// instant a branch's day begins, 23 or 25 hours before the next one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { knownZone, nodeZone, zoneDay, zoneMidnight, zoneOffset, zoneTime } from '../src/api/zonetime.js'

const TREE = {
  path: 'hq', time_zone: 'Asia/Shanghai',
  children: [
    { path: 'hq.eu', time_zone: 'Europe/Berlin',
      children: [{ path: 'hq.eu.b1', time_zone: 'Europe/Berlin', children: [] }] },
    { path: 'hq.x', time_zone: 'Asia/Urumqi', children: [] },
  ],
}

test('a node\'s zone is its own, else its nearest ancestor\'s in the tree', () => {
  assert.equal(nodeZone(TREE, 'hq.eu.b1'), 'Europe/Berlin')
  assert.equal(nodeZone(TREE, 'hq.x'), 'Asia/Urumqi')
  // a department the tree does not hold, a deleted branch: the ancestor's
  assert.equal(nodeZone(TREE, 'hq.eu.b1.d01'), 'Europe/Berlin')
  assert.equal(nodeZone(TREE, 'hq.gone'), 'Asia/Shanghai')
  // 'hq.x' is no ancestor of 'hq.xy'
  assert.equal(nodeZone(TREE, 'hq.xy.b9'), 'Asia/Shanghai')
  // nothing known: the browser's zone will do
  assert.equal(nodeZone(TREE, 'other'), undefined)
  assert.equal(nodeZone(null, 'hq'), undefined)
  assert.equal(nodeZone(TREE, null), undefined)
  assert.equal(nodeZone({ path: 'hq', children: [] }, 'hq'), undefined)
})

test('times in Berlin across the spring change of 2025 (02:00 -> 03:00)', () => {
  assert.equal(zoneTime('2025-03-30T00:59:59Z', 'Europe/Berlin', 'en-GB', true), '01:59:59')
  assert.equal(zoneTime('2025-03-30T01:00:00Z', 'Europe/Berlin', 'en-GB', true), '03:00:00')
  assert.equal(zoneTime('2025-03-30T01:00:00Z', 'Europe/Berlin', 'zh-CN'), '2025/3/30 03:00:00')
  // the same instant in Shanghai, which has no summer time today
  assert.equal(zoneTime('2025-03-30T01:00:00Z', 'Asia/Shanghai', 'zh-CN'), '2025/3/30 09:00:00')
  assert.equal(zoneTime('2025-03-30T00:59:59Z', 'Asia/Shanghai', 'zh-CN', true), '08:59:59')
})

test('times in Berlin across the autumn change of 2025 (03:00 -> 02:00 again)', () => {
  // 02:30 happens twice: at 00:30Z (summer time) and 01:30Z (winter time)
  assert.equal(zoneTime('2025-10-26T00:30:00Z', 'Europe/Berlin', 'zh-CN', true), '02:30:00')
  assert.equal(zoneTime('2025-10-26T01:30:00Z', 'Europe/Berlin', 'zh-CN', true), '02:30:00')
  assert.equal(zoneOffset(Date.parse('2025-10-26T00:30:00Z'), 'Europe/Berlin'), 2 * 3600000)
  assert.equal(zoneOffset(Date.parse('2025-10-26T01:30:00Z'), 'Europe/Berlin'), 3600000)
  assert.equal(zoneTime('2025-10-26T01:30:00Z', 'Asia/Shanghai', 'zh-CN', true), '09:30:00')
})

test('Shanghai\'s summer time of 1991 (14 April, 02:00 -> 03:00)', () => {
  assert.equal(zoneTime('1991-04-13T17:30:00Z', 'Asia/Shanghai', 'zh-CN'), '1991/4/14 01:30:00')
  assert.equal(zoneTime('1991-04-13T18:30:00Z', 'Asia/Shanghai', 'zh-CN'), '1991/4/14 03:30:00')
  assert.equal(zoneOffset(Date.parse('1991-07-01T00:00:00Z'), 'Asia/Shanghai'), 9 * 3600000)
  assert.equal(zoneOffset(Date.parse('2025-07-01T00:00:00Z'), 'Asia/Shanghai'), 8 * 3600000)
})

test('a branch\'s day begins at its own midnight; a day of change is 23 or 25 hours', () => {
  const hours = (a, b) => (Date.parse(b) - Date.parse(a)) / 3600000
  assert.equal(zoneMidnight('2025-03-30', 'Europe/Berlin'), '2025-03-29T23:00:00.000Z')
  assert.equal(zoneMidnight('2025-03-31', 'Europe/Berlin'), '2025-03-30T22:00:00.000Z')
  assert.equal(hours(zoneMidnight('2025-03-30', 'Europe/Berlin'), zoneMidnight('2025-03-31', 'Europe/Berlin')), 23)
  assert.equal(hours(zoneMidnight('2025-10-26', 'Europe/Berlin'), zoneMidnight('2025-10-27', 'Europe/Berlin')), 25)
  assert.equal(zoneMidnight('2025-03-30', 'Asia/Shanghai'), '2025-03-29T16:00:00.000Z')
  assert.equal(hours(zoneMidnight('2025-03-30', 'Asia/Shanghai'), zoneMidnight('2025-03-31', 'Asia/Shanghai')), 24)
  assert.equal(hours(zoneMidnight('1991-04-14', 'Asia/Shanghai'), zoneMidnight('1991-04-15', 'Asia/Shanghai')), 23)
  assert.equal(hours(zoneMidnight('1991-09-15', 'Asia/Shanghai'), zoneMidnight('1991-09-16', 'Asia/Shanghai')), 25)
  // Santiago skips its midnight (00:00 -> 01:00): the day begins at 01:00
  assert.equal(zoneMidnight('2024-09-08', 'America/Santiago'), '2024-09-08T04:00:00.000Z')
  assert.equal(zoneTime('2024-09-08T04:00:00Z', 'America/Santiago', 'zh-CN'), '2024/9/8 01:00:00')
})

test('no zone, or one the browser does not know: the browser\'s; no time: nothing', () => {
  const iso = '2025-03-30T01:00:00Z'
  const local = new Date(iso).toLocaleString('zh-CN')
  assert.equal(zoneTime(iso, undefined, 'zh-CN'), local)
  assert.equal(zoneTime(iso, 'Mars/Olympus', 'zh-CN'), local)
  assert.equal(knownZone('Mars/Olympus'), false)
  assert.equal(knownZone('Asia/Urumqi'), true)
  assert.equal(zoneMidnight('2025-03-30', 'Mars/Olympus'), '2025-03-30')
  assert.equal(zoneTime(null, 'Europe/Berlin', 'zh-CN'), '')
  assert.equal(zoneTime('not a time', 'Europe/Berlin', 'zh-CN'), '')
})

test('a branch\'s today is the date on its own clock, whatever the browser\'s', () => {
  // 2025-03-29 23:30 UTC: already the 30th in Shanghai, still the 29th in New York,
  // the 30th in Berlin (00:30 CET)
  const ms = Date.UTC(2025, 2, 29, 23, 30)
  assert.equal(zoneDay('Asia/Shanghai', 0, ms), '2025-03-30')
  assert.equal(zoneDay('America/New_York', 0, ms), '2025-03-29')
  assert.equal(zoneDay('Europe/Berlin', 0, ms), '2025-03-30')
  // days counted across a month's and a year's end
  assert.equal(zoneDay('Asia/Shanghai', -6, ms), '2025-03-24')
  assert.equal(zoneDay('Asia/Shanghai', 2, ms), '2025-04-01')
  assert.equal(zoneDay('Asia/Shanghai', 1, Date.UTC(2025, 11, 31, 16, 0)), '2026-01-02')
})
