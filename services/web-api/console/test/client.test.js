// Unit tests of src/api/client.js's pure parts and of request() against a
// stand-in fetch: Problem Details, field errors, the headers sent.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ApiError, PASSWORD_CHANGE, dispositionName, fieldErrors, onPasswordChange,
  onUnauthorized, queryString, request, session } from '../src/api/client.js'
import { backoff } from '../src/api/live.js'

function answer (status, body, type = 'application/problem+json') {
  return new Response(body === null ? null : JSON.stringify(body),
    { status, headers: { 'Content-Type': type } })
}

test('field errors by member', () => {
  assert.deepEqual(fieldErrors({ errors: [{ member: 'login', reason: 'too long' },
    { reason: 'the body' }, { member: 'login', reason: 'second' }] }), { login: 'too long' })
  assert.deepEqual(fieldErrors({}), {})
})

test('file names of Content-Disposition', () => {
  assert.equal(dispositionName("attachment; filename=\"eqms_hq_figures.xlsx\"; filename*=UTF-8''%E7%AC%AC%E4%B8%80.xlsx"), '第一.xlsx')
  assert.equal(dispositionName('attachment; filename="a.csv"'), 'a.csv')
  assert.equal(dispositionName(null), null)
})

test('query strings leave out what is not set', () => {
  assert.equal(queryString({ node: 'hq', from: '2026-12-01', group: null, x: undefined }),
    '?node=hq&from=2026-12-01')
  assert.equal(queryString({}), '')
})

test('request: headers, JSON, Problem Details, 401 and password change', async () => {
  const sent = []
  let next
  globalThis.fetch = async (url, init) => { sent.push({ url, init }); return next }
  session.token = 'eqs_x'
  next = answer(200, { ok: 1 }, 'application/json')
  assert.deepEqual(await request('GET', '/me', { query: { a: 1 } }), { ok: 1 })
  assert.equal(sent[0].url, '/api/v1/me?a=1')
  assert.equal(sent[0].init.headers.Authorization, 'Bearer eqs_x')
  assert.deepEqual(Object.keys(sent[0].init.headers).sort(), ['Accept', 'Authorization'])
  next = answer(201, { id: 1 }, 'application/json')
  await request('POST', '/x', { body: { a: 1 } })
  assert.equal(sent[1].init.headers['Content-Type'], 'application/json')
  assert.equal(sent[1].init.body, '{"a":1}')

  next = answer(400, { type: 'about:blank', title: 'Bad Request', status: 400,
    detail: '"name": too long', errors: [{ member: 'name', reason: 'too long' }] })
  const bad = await request('POST', '/x', { body: {} }).catch(e => e)
  assert.ok(bad instanceof ApiError)
  assert.equal(bad.message, '"name": too long')
  assert.deepEqual(bad.fieldErrors, { name: 'too long' })

  let forced = 0
  onPasswordChange(() => forced++)
  next = answer(403, { type: PASSWORD_CHANGE, title: 'Forbidden', status: 403 })
  await request('GET', '/x').catch(e => e)
  assert.equal(forced, 1)

  let out = 0
  onUnauthorized(() => out++)
  next = answer(401, { type: 'about:blank', title: 'Unauthorized', status: 401 })
  const e401 = await request('GET', '/x').catch(e => e)
  assert.equal(e401.status, 401)
  assert.equal(out, 1)
  assert.equal(session.token, null)

  globalThis.fetch = async () => { throw new TypeError('Failed to fetch') }
  const down = await request('GET', '/x').catch(e => e)
  assert.equal(down.status, 0)
})

test('the backoff grows to 10 s', () => {
  assert.equal(backoff(0, () => 0), 1000)
  assert.equal(backoff(3, () => 0), 8000)
  assert.equal(backoff(9, () => 0), 10000)
  assert.equal(backoff(9, () => 1), 12000)
})
