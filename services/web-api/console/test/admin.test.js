// Unit tests of src/api/admin.js: the cursor stack and a paged list read
// against a stand-in fetch, the PATCH members, the field reasons, numbers
// of a form, work profiles, sizes and percentages.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CursorStack, bytes, changed, fieldValue, memberError, namesAny, parseProfile,
  percent, profileText, usePagedList } from '../src/api/admin.js'

test('the cursor stack goes forward and back over the pages', () => {
  const s = new CursorStack()
  assert.equal(s.current, null)
  assert.equal(s.back, false)
  s.seen('c2')
  s.forward()
  assert.equal(s.current, 'c2')
  assert.equal(s.page, 2)
  s.seen(null)
  s.forward() // the last page: nowhere further
  assert.equal(s.page, 2)
  s.backward()
  assert.equal(s.current, null)
  s.backward()
  assert.equal(s.page, 1)
})

test('a paged list sends the cursor of the page it reads', async () => {
  const pages = { '': { items: [1, 2], next_cursor: 'b' }, b: { items: [3], next_cursor: null } }
  const asked = []
  globalThis.fetch = async url => {
    const u = new URL(url, 'http://x')
    asked.push(u.search)
    const body = pages[u.searchParams.get('cursor') || '']
    return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })
  }
  const list = usePagedList('/users', () => ({ node: 'hq', empty: '' }), 2)
  await list.reload()
  assert.deepEqual(list.state.items, [1, 2])
  assert.equal(list.state.hasNext, true)
  assert.equal(list.state.hasPrev, false)
  await list.next()
  assert.deepEqual(list.state.items, [3])
  assert.equal(list.state.hasNext, false)
  assert.equal(list.state.hasPrev, true)
  await list.prev()
  assert.deepEqual(list.state.items, [1, 2])
  assert.deepEqual(asked, ['?node=hq&limit=2', '?node=hq&limit=2&cursor=b', '?node=hq&limit=2'])
})

test('a failed page shows the error and no items', async () => {
  globalThis.fetch = async () => new Response(JSON.stringify({ title: 'Forbidden', status: 403, detail: 'no' }),
    { status: 403, headers: { 'Content-Type': 'application/problem+json' } })
  const list = usePagedList('/users')
  await list.reload()
  assert.equal(list.state.error.status, 403)
  assert.deepEqual(list.state.items, [])
  assert.equal(list.state.hasNext, false)
})

test('a PATCH carries only the members changed', () => {
  const before = { name: 'a', roles: [1, 2], phone: null, active: true }
  assert.deepEqual(changed(before, { name: 'a', roles: [1, 2], phone: null, active: true }), {})
  assert.deepEqual(changed(before, { name: 'b', roles: [2], phone: '+861', active: true }),
    { name: 'b', roles: [2], phone: '+861' })
  assert.deepEqual(changed({ phone: '+861' }, { phone: null }), { phone: null })
})

test('a field shows the reason for its member or one inside it', () => {
  const f = { 'options[2].label': 'too long', roles: 'unknown', 'kinds[0]': 'bad' }
  assert.equal(memberError(f, 'options'), 'too long')
  assert.equal(memberError(f, 'roles'), 'unknown')
  assert.equal(memberError(f, 'kinds'), 'bad')
  assert.equal(memberError(f, 'kind'), '')
  assert.equal(memberError(null, 'x'), '')
  assert.equal(namesAny(f, ['name', 'options']), true)
  assert.equal(namesAny(f, ['name']), false)
})

test('numbers of a form are sent as numbers, anything else as typed', () => {
  assert.equal(fieldValue('number', '45'), 45)
  assert.equal(fieldValue('number', '0.9'), 0.9)
  assert.equal(fieldValue('number', ''), null)
  assert.equal(fieldValue('number', ' '), ' ')
  assert.equal(fieldValue('number', '4x'), '4x')
  assert.equal(fieldValue('text', ''), null)
  assert.equal(fieldValue('textarea', ''), '')
  assert.deepEqual(fieldValue('multi', [1]), [1])
})

test('work profiles read and written in queue-manager\'s text form', () => {
  const p = parseProfile('weighted;vip=2;ordinary=1;services=1,2')
  assert.deepEqual(p, { strategy: 'weighted', vip: 2, ordinary: 1, services: [1, 2] })
  assert.equal(profileText(p), 'weighted;vip=2;ordinary=1;services=1,2')
  assert.equal(parseProfile(null), null)
  assert.deepEqual(parseProfile('strict;vip=1;ordinary=1;services=').services, [])
})

test('sizes and percentages', () => {
  assert.equal(bytes(null), '')
  assert.equal(bytes(512), '512 B')
  assert.equal(bytes(12595), '12.3 KiB')
  assert.equal(percent(5, null), null)
  assert.equal(percent(1, 3), 33)
  assert.equal(percent(7, 5), 100)
})
