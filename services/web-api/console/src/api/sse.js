// sse: a parser of text/event-stream (the WHATWG "event stream" rules) fed in
// chunks, for the live streams read with fetch() (EventSource cannot send the
// Authorization header web-api needs). No DOM, no network: unit-tested.

/**
 * Parses an event stream chunk by chunk. `feed(text)` returns the events that
 * the text completed, each {id, event, data} (data the joined `data:` lines,
 * a string; id undefined when the event had none); comments (`: heartbeat`)
 * are skipped, `retry:` kept in `retry` (ms).
 */
export class SseParser {
  constructor () {
    this.buffer = ''
    this.retry = null
    this.lastId = undefined
    this.afterCr = false
    this.s_reset()
  }

  s_reset () {
    this.id = undefined
    this.event = ''
    this.data = []
  }

  feed (text) {
    const out = []
    // a \r that ended the last chunk may be the first half of a \r\n
    if (this.afterCr && text.startsWith('\n')) text = text.slice(1)
    this.afterCr = false
    this.buffer += text
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer)
      if (!m) break
      const line = this.buffer.slice(0, m.index)
      this.buffer = this.buffer.slice(m.index + m[0].length)
      if (m[0] === '\r' && this.buffer === '') this.afterCr = true
      this.s_line(line, out)
    }
    return out
  }

  s_line (line, out) {
    if (line === '') {
      if (this.data.length > 0 || this.event) {
        if (this.id !== undefined) this.lastId = this.id
        out.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') })
      }
      this.s_reset()
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const name = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (name === 'data') this.data.push(value)
    else if (name === 'event') this.event = value
    else if (name === 'id' && !value.includes('\0')) this.id = value
    else if (name === 'retry' && /^[0-9]+$/.test(value)) this.retry = Number(value)
  }
}
