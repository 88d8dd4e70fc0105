// Vite configuration of the console: builds into build/console (hashed assets
// under assets/); `vite preview` serves that folder and passes /api to web-api
// at EQMS_CONSOLE_API (default http://127.0.0.1:8080, `make run`'s web-api).
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const api = process.env.EQMS_CONSOLE_API || 'http://127.0.0.1:8080'
const proxy = {
  '/api': {
    target: api,
    changeOrigin: false,
    // live streams stay open: no proxy timeout
    timeout: 0,
    proxyTimeout: 0,
    // web-api going away mid-stream (a restart) ends the browser's stream
    // too, as a direct connection would, instead of leaving it open
    configure: (p) => p.on('proxyRes', (upstream, req, res) => {
      upstream.on('close', () => { if (!res.writableEnded) res.destroy() })
    }),
  },
}

// The pages' Content-Security-Policy of web-api's static files
// (common/httpstatic.c, S_CSP_PAGE), so that `vite preview` and the browser
// tests run the console under the policy it gets in production.
const CSP = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; object-src 'none'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

export default defineConfig({
  plugins: [vue()],
  base: './',
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir: fileURLToPath(new URL('../../../build/console', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
  },
  server: { proxy },
  preview: { proxy, headers: { 'Content-Security-Policy': CSP } },
})
