// admin: what the management pages share: paging with the API's cursors,
// the members a form changed, a field's reason among a Problem's errors,
// work profiles in queue-manager's text form, and the lists a form picks
// from (permissions, roles, queues, services, windows).
import { reactive } from 'vue'
import { get } from './client.js'

/** The pages of a list as a stack of cursors: `current` the cursor of the
 *  page shown (null: the first), `back` whether there is one before. */
export class CursorStack {
  constructor () { this.stack = [null]; this.next = null }
  get current () { return this.stack[this.stack.length - 1] }
  get back () { return this.stack.length > 1 }
  get page () { return this.stack.length }
  /** Records the next_cursor of the page just read. */
  seen (next) { this.next = next ?? null }
  forward () { if (this.next) this.stack.push(this.next) }
  backward () { if (this.back) this.stack.pop() }
  reset () { this.stack = [null]; this.next = null }
}

/** A list read one page at a time from `path` (GET, `query()` its
 *  arguments): items, busy, error, and next/prev/reload. */
export function usePagedList (path, query = () => ({}), limit = 20) {
  const pages = new CursorStack()
  const state = reactive({ items: [], busy: false, error: null, hasNext: false,
                           hasPrev: false, page: 1 })
  async function load () {
    state.busy = true
    try {
      const p = typeof path === 'function' ? path() : path
      const body = await get(p, { query: { ...query(), limit, cursor: pages.current } })
      state.items = body.items
      pages.seen(body.next_cursor)
      state.error = null
    } catch (e) {
      state.error = e
      state.items = []
      pages.seen(null)
    } finally {
      state.hasNext = !!pages.next
      state.hasPrev = pages.back
      state.page = pages.page
      state.busy = false
    }
  }
  return {
    state,
    reload: () => { pages.reset(); return load() },
    refresh: load,
    next: () => { pages.forward(); return load() },
    prev: () => { pages.backward(); return load() },
  }
}

function s_same (a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

/** The members of `form` that differ from `before` (a PATCH body). */
export function changed (before, form) {
  const out = {}
  for (const [k, v] of Object.entries(form)) {
    if (!s_same(before[k], v)) out[k] = v
  }
  return out
}

/** Whether a Problem's reasons ({member: reason}) name one of `keys` or a
 *  member inside one: then the fields say it and the form need not. */
export function namesAny (fields, keys) {
  return keys.some(k => !!memberError(fields, k))
}

/** The reason a Problem gives for `key` ({member: reason} of fieldErrors),
 *  the member itself or one inside it ("options[2].label", "kinds[0]"). */
export function memberError (fields, key) {
  if (!fields) return ''
  if (fields[key]) return fields[key]
  const inside = Object.keys(fields).find(m => m.startsWith(`${key}[`) || m.startsWith(`${key}.`))
  return inside ? fields[inside] : ''
}

/** A form's text as the API wants it: numbers for number fields (a text
 *  that is no number is sent as it is, for the API to name), null for an
 *  empty optional field, the non-blank lines of a lines field. */
export function fieldValue (type, v) {
  if (type === 'number') {
    if (v === '' || v === null || v === undefined) return null
    const n = Number(v)
    return Number.isFinite(n) && String(v).trim() !== '' ? n : v
  }
  if ((type === 'text' || type === 'phone' || type === 'time') && v === '') return null
  if (type === 'lines') return String(v ?? '').split('\n').map(l => l.trim()).filter(Boolean)
  return v
}

/** A work profile's text form parsed: {strategy, vip, ordinary, services}
 *  or null for an empty one. */
export function parseProfile (text) {
  if (!text) return null
  const [strategy, ...rest] = text.split(';')
  const out = { strategy, vip: 1, ordinary: 1, services: [] }
  for (const part of rest) {
    const [k, v] = part.split('=')
    if (k === 'services') out.services = v ? v.split(',').map(Number) : []
    else if (k === 'vip' || k === 'ordinary') out[k] = Number(v)
  }
  return out
}

/** A work profile in queue-manager's text form. */
export function profileText ({ strategy, vip, ordinary, services }) {
  return `${strategy};vip=${vip};ordinary=${ordinary};services=${services.join(',')}`
}

/** Every item of a paged list (for the choices of a select). */
export async function allItems (path, query = {}) {
  const out = []
  let cursor = null
  do {
    const body = await get(path, { query: { ...query, limit: 200, cursor } })
    out.push(...body.items)
    cursor = body.next_cursor
  } while (cursor)
  return out
}

/** A size in bytes as people read it. */
export function bytes (n) {
  if (n === null || n === undefined) return ''
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${i ? n.toFixed(1) : n} ${units[i]}`
}

/** A job's progress in percent (null while the total is unknown). */
export function percent (done, total) {
  if (!total) return null
  return Math.min(100, Math.round((done * 100) / total))
}

/** The node picked in the layout's tree (the `node` query argument, else
 *  the caller's own): the tree's node, or a stand-in with its path. */
export function pickedNode (route, store, findNode) {
  const path = route.query.node || store.me?.node
  return findNode(path) || { path, name: path, kind: null, children: [] }
}
