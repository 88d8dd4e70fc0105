// page: what the management pages share: the texts, the node picked in the
// layout's tree, the tab shown, and times in the console's language on the
// clock of the node they belong to.
import { computed, ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { useRoute } from 'vue-router'
import { localTime } from '../../i18n.js'
import { pickedNode } from '../../api/admin.js'
import { findNode, store, zoneOf } from '../../store.js'

/** An RFC 3339 time as the current language writes it, on the clock of the
 *  node at `path` (a branch's alert in the branch's zone; no path: the
 *  caller's own node's); '' for null. */
export const when = (iso, path) => localTime(iso, false, zoneOf(path || store.me?.node))

/** {t, route, node (the picked one), tab (the `tab` query argument, else
 *  `firstTab`)} of a management page. */
export function useAdminPage (firstTab = '') {
  const { t } = useI18n()
  const route = useRoute()
  const node = computed(() => pickedNode(route, store, findNode))
  const tab = ref(route.query.tab || firstTab)
  return { t, route, node, tab }
}
