// The console's entry: Vue with Element Plus, the languages, the router.
import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import * as Icons from '@element-plus/icons-vue'
import App from './App.vue'
import { i18n } from './i18n.js'
import { router } from './router.js'
import './style.css'

const app = createApp(App)
for (const [name, icon] of Object.entries(Icons)) app.component(`Icon${name}`, icon)
app.use(ElementPlus).use(i18n).use(router).mount('#app')
document.documentElement.lang = i18n.global.locale.value
