// Unit tests of src/api/sse.js: events split anywhere across chunks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SseParser } from '../src/api/sse.js'

const STREAM = 'retry: 2000\n\n: heartbeat\n\nid: 17\nevent: ticket.called\ndata: {"number":"A012"}\n\n' +
  'event: reload\ndata: {"reason":"too_old"}\n\n'

test('events, ids, retry and comments of a whole stream', () => {
  const p = new SseParser()
  const got = p.feed(STREAM)
  assert.deepEqual(got, [
    { id: '17', event: 'ticket.called', data: '{"number":"A012"}' },
    { id: undefined, event: 'reload', data: '{"reason":"too_old"}' },
  ])
  assert.equal(p.retry, 2000)
  assert.equal(p.lastId, '17')
})

test('the same events whatever the chunks, with CRLF and CR line ends', () => {
  for (const text of [STREAM, STREAM.replace(/\n/g, '\r\n'), STREAM.replace(/\n/g, '\r')]) {
    const whole = new SseParser().feed(text)
    for (let size = 1; size <= 7; size++) {
      const p = new SseParser()
      const got = []
      for (let i = 0; i < text.length; i += size) got.push(...p.feed(text.slice(i, i + size)))
      assert.deepEqual(got, whole, `chunks of ${size}`)
    }
    assert.equal(whole.length, 2)
  }
})

test('an event is only complete at its blank line; data lines are joined', () => {
  const p = new SseParser()
  assert.deepEqual(p.feed('event: queues\ndata: a\ndata: b\n'), [])
  assert.deepEqual(p.feed('\n'), [{ id: undefined, event: 'queues', data: 'a\nb' }])
  assert.deepEqual(p.feed('data:x\n\n'), [{ id: undefined, event: 'message', data: 'x' }])
})
