// Unit tests of src/api/hours.js (the opening hours editor's form, body and
// reasons) and of the documents' lines field (src/api/admin.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DAYS, dateError, dayError, hoursBody, hoursForm, sessionError, sourceOf, weekCopy }
  from '../src/api/hours.js'
import { fieldValue } from '../src/api/admin.js'

const HALL = { mon: [{ opens: '08:30', closes: '12:00' }, { opens: '13:30', closes: '17:00' }],
               tue: [], wed: [], thu: [], fri: [], sat: [{ opens: '09:00', closes: '12:00' }], sun: [] }

function answer (own, cutoff = null) {
  return { node: 'hq.r01.b0001', time_zone: 'Asia/Shanghai',
           week: { value: own ? HALL : null, effective: HALL, from: own ? 'hq.r01.b0001' : 'hq.r01' },
           issue_cutoff_min: { value: cutoff, effective: cutoff ?? 30, from: cutoff === null ? null : 'hq.r01.b0001' },
           dates: [{ date: '2026-10-01', hours_of: null, note: '国庆节' }], dates_in_force: [],
           updated_at: null, issuing: { state: 'open', until: null, closes_at: null, resumes_at: null } }
}

test('a week is copied day by day, every day present', () => {
  const w = weekCopy(HALL)
  assert.deepEqual(Object.keys(w), DAYS)
  w.mon[0].opens = '09:00'
  assert.equal(HALL.mon[0].opens, '08:30')        // a copy
  assert.deepEqual(weekCopy(null).sun, [])
})

test('the form starts from the week in force; the body sends what is shown', () => {
  const inherited = hoursForm(answer(false))
  assert.equal(inherited.own, false)
  assert.deepEqual(inherited.week.mon, HALL.mon)  // a start for a week of its own
  assert.equal(inherited.ownCutoff, false)
  assert.equal(inherited.cutoff, '30')
  assert.deepEqual(inherited.dates, [{ date: '2026-10-01', hours_of: 'closed', note: '国庆节' }])
  assert.deepEqual(hoursBody(inherited), { week: null, issue_cutoff_min: null,
                                           dates: [{ date: '2026-10-01', hours_of: null, note: '国庆节' }] })
  const own = hoursForm(answer(true, 15))
  own.week.tue.push({ opens: '08:30', closes: '17:00' })
  own.dates.push({ date: ' 2026-10-11 ', hours_of: 'fri', note: '' })
  const body = hoursBody(own)
  assert.deepEqual(body.week.tue, [{ opens: '08:30', closes: '17:00' }])
  assert.equal(body.issue_cutoff_min, 15)
  assert.deepEqual(body.dates[1], { date: '2026-10-11', hours_of: 'fri' })
  // a cut-off that is no whole number goes as it is, for the API to name
  own.cutoff = '15.5'
  assert.equal(hoursBody(own).issue_cutoff_min, '15.5')
  own.cutoff = ''
  assert.equal(hoursBody(own).issue_cutoff_min, '')
})

test('a refusal is shown beside the session, day or date it names', () => {
  const fields = { 'week.wed[1].opens': '11:00-14:00 overlaps 08:00-12:00', 'week.sun': 'must be an array',
                   'dates[2].date': '2026-10-01 is given twice', 'dates[0].hours_of': 'must be one of' }
  assert.equal(sessionError(fields, 'wed', 1, 'opens'), '11:00-14:00 overlaps 08:00-12:00')
  assert.equal(sessionError(fields, 'wed', 1, 'closes'), '')
  assert.equal(sessionError({ 'week.mon[0]': 'must be an object' }, 'mon', 0, 'closes'), 'must be an object')
  assert.equal(dayError(fields, 'sun'), 'must be an array')
  assert.equal(dayError(fields, 'mon'), '')
  assert.equal(dateError(fields, 2), '2026-10-01 is given twice')
  assert.equal(dateError(fields, 0), 'must be one of')
  assert.equal(dateError(fields, 1), '')
  assert.equal(sessionError(null, 'mon', 0, 'opens'), '')
})

test('where a setting comes from', () => {
  assert.deepEqual(sourceOf({ from: null }, 'hq.r01.b0001'), { kind: 'none', from: null })
  assert.deepEqual(sourceOf({ from: 'hq.r01.b0001' }, 'hq.r01.b0001'), { kind: 'own', from: 'hq.r01.b0001' })
  assert.deepEqual(sourceOf({ from: 'hq' }, 'hq.r01.b0001'), { kind: 'inherited', from: 'hq' })
})

test('documents: one a line, blank lines dropped', () => {
  assert.deepEqual(fieldValue('lines', '居民身份证原件\n\n  户口簿 \n'), ['居民身份证原件', '户口簿'])
  assert.deepEqual(fieldValue('lines', ''), [])
  assert.deepEqual(fieldValue('lines', null), [])
})
