// routes/hall: the pages in the hall (full screen, no login: a device token
// given once in the address, src/api/hallpages.js): the ticket kiosk, the
// hall display, the teller console.
export default [
  { path: '/hall/kiosk', name: 'hall-kiosk', component: () => import('../pages/hall/KioskPage.vue'),
    meta: { public: true } },
  { path: '/hall/display', name: 'hall-display', component: () => import('../pages/hall/DisplayPage.vue'),
    meta: { public: true } },
  { path: '/hall/teller', name: 'hall-teller', component: () => import('../pages/hall/TellerPage.vue'),
    meta: { public: true } },
]
