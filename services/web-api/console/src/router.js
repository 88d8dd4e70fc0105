// router: the console's pages (hash history: any static server serves it)
// and the guards: no token -> login; a forced password change -> its form.
import { createRouter, createWebHashHistory } from 'vue-router'
import { onPasswordChange, onUnauthorized, session } from './api/client.js'
import { can, loadMe, store } from './store.js'
import LoginPage from './pages/LoginPage.vue'
import PasswordPage from './pages/PasswordPage.vue'
import LayoutPage from './pages/LayoutPage.vue'
import hallRoutes from './routes/hall.js'
import { ADMIN_MENU, ADMIN_ROUTES } from './routes/admin.js'

/** The pages of the menu, each with the permission that shows it. */
export const MENU = [
  { name: 'live', path: '/live', permission: 'view_live_hall', icon: 'Monitor' },
  { name: 'stats', path: '/stats', permission: 'view_statistics', icon: 'TrendCharts' },
  ...ADMIN_MENU,
]

const routes = [
  ...hallRoutes,
  { path: '/login', name: 'login', component: LoginPage, meta: { public: true } },
  { path: '/password', name: 'password', component: PasswordPage },
  {
    path: '/',
    component: LayoutPage,
    children: [
      { path: '', name: 'home', component: { render: () => null } },
      { path: 'live', name: 'live', component: () => import('./pages/LivePage.vue') },
      { path: 'stats', name: 'stats', component: () => import('./pages/StatsPage.vue') },
      ...ADMIN_ROUTES,
    ],
  },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!session.token) return { name: 'login', query: { next: to.fullPath } }
  if (!store.me) {
    try {
      await loadMe()
    } catch (e) {
      return e.status === 401 ? { name: 'login' } : true
    }
  }
  if (store.me.must_change_password && to.name !== 'password') {
    return { name: 'password', query: { forced: '1' } }
  }
  if (to.name === 'home') {
    const first = MENU.find(m => can(m.permission))
    return first ? { path: first.path, query: to.query } : true
  }
  return true
})

onUnauthorized(() => {
  store.me = null
  if (router.currentRoute.value.name !== 'login') {
    router.push({ name: 'login', query: { next: router.currentRoute.value.fullPath } })
  }
})
onPasswordChange(() => {
  if (store.me) store.me.must_change_password = true
  router.push({ name: 'password', query: { forced: '1' } })
})
