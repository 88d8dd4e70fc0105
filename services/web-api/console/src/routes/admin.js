// The management pages: their menu entries (each shown with any of its
// permissions) and their routes, added to router.js's.
export const ADMIN_MENU = [
  { name: 'config', path: '/admin/config', permission: 'manage_configuration', icon: 'OfficeBuilding' },
  { name: 'queues', path: '/admin/queues', permission: 'manage_queues', icon: 'Tickets' },
  { name: 'devices', path: '/admin/devices', permission: 'manage_devices', icon: 'Cpu' },
  { name: 'alerts', path: '/admin/alerts', permission: 'manage_alerts', icon: 'Bell' },
  { name: 'users', path: '/admin/users', permission: 'manage_users', icon: 'UserFilled' },
  { name: 'tokens', path: '/admin/tokens', permission: 'manage_api_tokens', icon: 'Key' },
  { name: 'data', path: '/admin/data', permission: ['backup', 'purge_data'], icon: 'Coin' },
  { name: 'audit', path: '/admin/audit', permission: 'read_audit_log', icon: 'Document' },
]

const PAGES = {
  config: () => import('../pages/admin/ConfigPage.vue'),
  queues: () => import('../pages/admin/QueuesPage.vue'),
  devices: () => import('../pages/admin/DevicesPage.vue'),
  alerts: () => import('../pages/admin/AlertsPage.vue'),
  users: () => import('../pages/admin/UsersPage.vue'),
  tokens: () => import('../pages/admin/TokensPage.vue'),
  data: () => import('../pages/admin/DataPage.vue'),
  audit: () => import('../pages/admin/AuditPage.vue'),
}

/** Children of the layout's route. */
export const ADMIN_ROUTES = ADMIN_MENU.map(m => ({
  path: m.path.slice(1), name: m.name, component: PAGES[m.name], meta: { permission: m.permission },
}))
