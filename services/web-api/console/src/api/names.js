// names: the names of the members of a statistics grouping (windows,
// tellers, services by id), read from the configuration lists when the
// caller may read them; without the permission the ids are shown.
import { get } from './client.js'

const SOURCES = {
  window: { path: '/windows', permission: 'manage_configuration',
            name: w => `${w.name}` },
  teller: { path: '/staff', permission: 'manage_configuration',
            name: s => `${s.name} (${s.employee_no})` },
  service: { path: '/services', permission: 'manage_queues', name: s => s.name },
}
const cache = new Map()

/** {id: name} of the members of `group` ({} when there is no list for it or
 *  the caller lacks its permission); `can(permission)` tells. Read once per
 *  page load, every page of the list (at most 20 pages of 200). */
export async function memberNames (group, can) {
  const src = SOURCES[group]
  if (!src || !can(src.permission)) return {}
  if (!cache.has(group)) {
    cache.set(group, (async () => {
      const names = {}
      let cursor = null
      for (let page = 0; page < 20; page++) {
        const r = await get(src.path, { query: { limit: 200, cursor } })
        for (const item of r.items) names[item.id] = src.name(item)
        cursor = r.next_cursor
        if (!cursor) break
      }
      return names
    })().catch(() => { cache.delete(group); return {} }))
  }
  return cache.get(group)
}
