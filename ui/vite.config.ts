import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run dev` serves the UI from Vite and forwards the API and the demos to a running
// `sscope serve` (SSCOPE_URL, e.g. http://127.0.0.1:41234). The server refuses foreign
// Origins, so the proxy drops the dev server's Origin header; open the dev page with the
// same `#token=` the server printed.
const target = process.env.SSCOPE_URL ?? 'http://127.0.0.1:7878';

import type { ProxyOptions } from 'vite';

const dropOrigin: ProxyOptions['configure'] = (proxy) => {
  proxy.on('proxyReq', (req) => req.removeHeader('origin'));
  proxy.on('proxyReqWs', (req) => req.removeHeader('origin'));
};

export default defineConfig({
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': { target, changeOrigin: true, ws: true, configure: dropOrigin },
      '/demo': { target, changeOrigin: true, ws: true, configure: dropOrigin },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
