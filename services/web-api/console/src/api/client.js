// client: the console's only way to web-api's REST API (docs/openapi.yaml).
// A fetch() wrapper that sends the session's bearer token (kept in
// sessionStorage, so it ends with the tab) and JSON bodies as
// application/json (with the Authorization header, what web-api's CSRF rule
// asks of a state-changing request: docs/security.md, "Browsers"), decodes
// Problem Details (RFC 9457) into ApiError, sends the user to the login on
// 401 and to the password change on password-change-required.

export const API = '/api/v1'
export const PASSWORD_CHANGE = 'urn:eqms:problem:password-change-required'
export const ACCOUNT_LOCKED = 'urn:eqms:problem:account-locked'
const TOKEN_KEY = 'eqms.token'

/** A refused or failed request: `status` (0 when the network failed) and
 *  `problem` (the Problem Details body, or one made up for a network error). */
export class ApiError extends Error {
  constructor (status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`)
    this.status = status
    this.problem = problem
  }

  /** {member: reason} of the Problem's `errors` that name a member. */
  get fieldErrors () {
    return fieldErrors(this.problem)
  }
}

/** {member: reason} from a Problem's `errors` ("roles[0]" stays as it is;
 *  an error without a member is left out: the detail says it). */
export function fieldErrors (problem) {
  const out = {}
  for (const e of (problem && problem.errors) || []) {
    if (e.member && !(e.member in out)) out[e.member] = e.reason
  }
  return out
}

/** The file name of a Content-Disposition header: the RFC 6266 filename*
 *  (UTF-8) when there is one, else filename, else null. */
export function dispositionName (header) {
  if (!header) return null
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header)
  if (star) {
    try { return decodeURIComponent(star[1].trim()) } catch { /* fall through */ }
  }
  const plain = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)/i.exec(header)
  return plain ? (plain[1] ?? plain[2]).trim() : null
}

/** "?a=1&b=2" of the members of `query` that are not null or undefined. */
export function queryString (query) {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== null && v !== undefined && v !== '') p.append(k, String(v))
  }
  const s = p.toString()
  return s ? `?${s}` : ''
}

const hooks = { unauthorized: () => {}, passwordChange: () => {} }
// a hall device's own API token (src/api/hallpages.js), used instead of the
// session's while set; its 401 is the page's to show, not a login's
let deviceToken = null

/** Sends `token` (an API token, or null to stop) instead of the session's. */
export function useDeviceToken (token) { deviceToken = token || null }
const store = typeof sessionStorage !== 'undefined' ? sessionStorage : new Map()

export const session = {
  get token () { return (store.getItem ? store.getItem(TOKEN_KEY) : store.get(TOKEN_KEY)) ?? null },
  set token (t) {
    if (store.setItem) {
      if (t) store.setItem(TOKEN_KEY, t); else store.removeItem(TOKEN_KEY)
    } else if (t) store.set(TOKEN_KEY, t); else store.delete(TOKEN_KEY)
  },
}

/** What to do on 401 (after the token is dropped) and on a forced password
 *  change: the router's redirects. */
export function onUnauthorized (fn) { hooks.unauthorized = fn }
export function onPasswordChange (fn) { hooks.passwordChange = fn }

/** The headers of every request: Accept and the bearer token (no other
 *  header: a cross-origin console's preflight allows only Authorization,
 *  Content-Type, If-None-Match and Last-Event-ID). */
export function headers (extra) {
  const h = { Accept: 'application/json', ...extra }
  const token = deviceToken || session.token
  if (token) h.Authorization = `Bearer ${token}`
  return h
}

async function s_problem (r) {
  const type = r.headers.get('Content-Type') || ''
  if (type.includes('json')) {
    try { return await r.json() } catch { /* not JSON after all */ }
  }
  return { type: 'about:blank', title: r.statusText || `HTTP ${r.status}`, status: r.status }
}

/** Sends a request; resolves the decoded JSON body (null for 204), rejects
 *  with ApiError. `opts`: body (JSON), query, signal, headers, raw (resolve
 *  the Response itself when it is 2xx), auth (false: no 401 redirect, for
 *  the login). */
export async function request (method, path, opts = {}) {
  const init = { method, headers: headers(opts.headers), signal: opts.signal }
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(opts.body)
  }
  let r
  try {
    r = await fetch(API + path + queryString(opts.query), init)
  } catch (e) {
    if (e.name === 'AbortError') throw e
    throw new ApiError(0, { type: 'about:blank', title: 'Network error', status: 0,
                            detail: e.message })
  }
  if (r.ok) {
    if (opts.raw) return r
    if (r.status === 204) return null
    return r.json()
  }
  const problem = await s_problem(r)
  const err = new ApiError(r.status, problem)
  if (r.status === 401 && opts.auth !== false && !deviceToken) {
    session.token = null
    hooks.unauthorized(err)
  } else if (r.status === 403 && problem.type === PASSWORD_CHANGE) {
    hooks.passwordChange(err)
  }
  throw err
}

export const get = (path, opts) => request('GET', path, opts)
export const post = (path, body, opts) => request('POST', path, { ...opts, body })

/** Downloads an export route (.xlsx, .csv) as the server names it, through
 *  the browser's save: resolves the file name. */
export async function download (path, query) {
  const r = await request('GET', path, { query, raw: true,
    headers: { Accept: '*/*' } })
  const name = dispositionName(r.headers.get('Content-Disposition')) ||
    path.split('/').pop()
  const blob = await r.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
  return name
}
