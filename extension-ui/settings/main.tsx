import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

// The app-settings iframe. Automations and templates are edited here once the settings issue lands.
function Settings() {
  return <main>SMS for Pipedrive settings</main>;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Settings />
  </StrictMode>,
);
