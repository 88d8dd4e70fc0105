// i18n: the console's languages (Chinese by default, English), the choice
// remembered in localStorage, and Element Plus's own texts to match.
import { createI18n } from 'vue-i18n'
import { computed } from 'vue'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import enEl from 'element-plus/es/locale/lang/en'
import zh from './locales/zh-CN.js'
import en from './locales/en.js'
import hallZh from './locales/hall.zh-CN.js'
import hallEn from './locales/hall.en.js'
import adminZh from './locales/admin.zh-CN.js'
import adminEn from './locales/admin.en.js'
import journeyZh from './locales/journey.zh-CN.js'
import journeyEn from './locales/journey.en.js'
import { zoneTime } from './api/zonetime.js'

const KEY = 'eqms.locale'
export const LOCALES = [{ code: 'zh-CN', name: '中文' }, { code: 'en', name: 'English' }]

function s_saved () {
  const v = localStorage.getItem(KEY)
  return LOCALES.some(l => l.code === v) ? v : 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: s_saved(),
  fallbackLocale: 'zh-CN',
  messages: {
    'zh-CN': { ...zh, ...hallZh, ...adminZh, ...journeyZh, menu: { ...zh.menu, ...adminZh.menu } },
    en: { ...en, ...hallEn, ...adminEn, ...journeyEn, menu: { ...en.menu, ...adminEn.menu } },
  },
})

/** Element Plus's locale of the current language. */
export const elementLocale = computed(() => (i18n.global.locale.value === 'en' ? enEl : zhCn))

export function setLocale (code) {
  i18n.global.locale.value = code
  localStorage.setItem(KEY, code)
  document.documentElement.lang = code
}

/** A time (RFC 3339) in the current language's form: date and time, or
 *  the time alone with `timeOnly`, on the clock of the IANA zone `zone`
 *  (a branch's: store.js zoneOf; undefined: the browser's). '' for none. */
export function localTime (iso, timeOnly = false, zone = undefined) {
  return zoneTime(iso, zone, i18n.global.locale.value, timeOnly)
}
