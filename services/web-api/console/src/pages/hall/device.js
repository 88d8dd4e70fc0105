// device: what every hall page does first: its device settings (branch and
// token from the address the first time, then from localStorage; the token
// taken out of the address at once), the device token for the API, and the
// branch's live hall kept up to date (src/api/live.js: reconnects by
// itself after a drop or a restart of web-api).
import { onBeforeUnmount, ref, shallowRef } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import { get, useDeviceToken } from '../../api/client.js'
import { LiveHall } from '../../api/live.js'
import { deviceSettings } from '../../api/hallpages.js'
import { nodeZone } from '../../api/zonetime.js'
import './hall.css'

/** `kind`: kiosk, display or teller; `onEvent(event, data)` sees every live
 *  event. Returns {branch, extra, hall, status, error, unauthorized, zone
 *  (the branch's IANA time zone once known)}. */
export function useHallDevice (kind, { onEvent } = {}) {
  const route = useRoute()
  const router = useRouter()
  const settings = deviceSettings(kind, route.query, localStorage)
  if (settings.fromAddress || route.query.branch) {
    // the token stays on the device, not in the address bar or its history
    router.replace({ path: route.path, query: {} })
  }
  const hall = shallowRef(null)
  const status = ref('connecting')
  const error = ref(null)
  const unauthorized = ref(false)
  const zone = ref(undefined)
  let live = null

  if (settings.branch && settings.token) {
    useDeviceToken(settings.token)
    live = new LiveHall(settings.branch, {
      onChange: h => {
        hall.value = { ...h, queues: h.queues.map(q => ({ ...q })),
                       windows: h.windows.map(w => ({ ...w })), display: h.display.slice(),
                       devices: { ...h.devices } }
      },
      onStatus: (s, e) => {
        status.value = s
        if (e) error.value = e
        if (s === 'live') error.value = null
        if (s === 'stopped' && e === undefined && live && !live.stoppedByPage) unauthorized.value = true
      },
      onEvent,
    }).start()
    // the branch's clock (its node in the token's tree), for its times
    get('/nodes/tree').then(tree => { zone.value = nodeZone(tree, settings.branch) }).catch(() => {})
  }

  onBeforeUnmount(() => {
    if (live) { live.stoppedByPage = true; live.stop() }
    useDeviceToken(null)
  })

  /** A 401 of any request: the token is no longer good. */
  function refused (e) {
    if (e && e.status === 401) unauthorized.value = true
  }

  return { branch: settings.branch, token: settings.token, extra: settings.extra, hall, status,
           error, unauthorized, refused, zone }
}
