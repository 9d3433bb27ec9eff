import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// The iframe UIs Pipedrive embeds: /panel (deal sidebar) and /settings (app settings). Served by the app from dist/ui.
export default defineConfig({
  root,
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: resolve(root, '../dist/ui'),
    emptyOutDir: true,
    rollupOptions: { input: { panel: resolve(root, 'panel/index.html'), settings: resolve(root, 'settings/index.html') } },
  },
});
