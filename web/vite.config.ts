import process from 'node:process';
import adapter from '@sveltejs/adapter-static';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// The Prism server (PORT 3000 by default) serves the API and Socket.IO; in `vite dev` we proxy to it.
const apiOrigin = process.env.PRISM_API_ORIGIN ?? 'http://localhost:3000';

export default defineConfig({
  plugins: [
    sveltekit({
      // A single-page app: every route renders in the browser (ssr = false in the root layout). The server
      // serves web/build and answers unknown non-/api paths with build/index.html.
      adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
      csp: {
        mode: 'hash',
        directives: {
          'default-src': ['self'],
          'script-src': ['self'],
          'style-src': ['self', 'unsafe-inline'],
          'img-src': ['self', 'data:'],
          'connect-src': ['self'],
          'object-src': ['none'],
          'base-uri': ['self'],
          'form-action': ['self'],
        },
      },
    }),
  ],
  ssr: {
    // Kit's server build (used at build time to analyse routes and write the SPA fallback) imports `cookie`
    // from web/.svelte-kit/output, which resolves to the root node_modules/cookie 0.7 that express hoists,
    // not Kit's own nested cookie 2. Bundling it makes the build use the version Kit depends on.
    noExternal: ['cookie'],
  },
  server: {
    proxy: {
      '/api': { target: apiOrigin, changeOrigin: false },
      '/auth': { target: apiOrigin, changeOrigin: false },
      '/socket.io': { target: apiOrigin, ws: true, changeOrigin: false },
    },
  },
});
