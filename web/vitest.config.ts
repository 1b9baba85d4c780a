import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// Unit tests for the web app's state modules (`*.svelte.ts` use runes, so the Svelte plugin compiles them).
// The root vitest.config.ts does not include web; `npm test -w web` runs these.
export default defineConfig({
  plugins: [svelte({ configFile: false })],
  test: {
    name: 'web',
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
