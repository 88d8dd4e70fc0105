// store: who is logged in (GET /me), the organisation tree they see, the
// node picked in it. One reactive object shared by the pages.
import { reactive } from 'vue'
import { get, request, session } from './api/client.js'
import { nodeZone } from './api/zonetime.js'

export const store = reactive({ me: null, tree: null, treeError: null })

/** Whether the caller holds `permission` (an array: any of them). */
export function can (permission) {
  if (Array.isArray(permission)) return permission.some(can)
  return !!store.me && store.me.permissions.includes(permission)
}

/** Reads the caller and their tree (GET /nodes/tree, any principal's own
 *  subtree with each node's time zone; refused (403) by a web-api older
 *  than that: the tree is then the caller's node alone, without a zone). */
export async function loadMe () {
  store.me = await get('/me')
  try {
    store.tree = await get('/nodes/tree')
    store.treeError = null
  } catch (e) {
    if (e.status !== 403) throw e
    store.treeError = e
    const path = store.me.node
    store.tree = { path, name: path, code: path.split('.').pop(), children: [],
                   kind: null } // unknown: the pages try it
  }
  return store.me
}

/** The node of the tree with `path`, or null. */
export function findNode (path, tree = store.tree) {
  if (!tree) return null
  if (tree.path === path) return tree
  for (const c of tree.children || []) {
    const n = findNode(path, c)
    if (n) return n
  }
  return null
}

/** The IANA time zone of the node at `path` (or of its nearest ancestor in
 *  the caller's tree); undefined when the tree does not tell. */
export function zoneOf (path) {
  return nodeZone(store.tree, path)
}

/** Every branch at or below `node`, in tree order. */
export function branchesUnder (node) {
  if (!node) return []
  if (node.kind === 'branch') return [node]
  return (node.children || []).flatMap(branchesUnder)
}

export async function logout () {
  try { await request('DELETE', '/sessions/current') } catch { /* gone already */ }
  session.token = null
  store.me = null
  store.tree = null
}
