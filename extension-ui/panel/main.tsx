import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

// The deal-sidebar panel. The conversation view, consent badge and send box arrive with the panel issue.
function Panel() {
  return <main>SMS for Pipedrive</main>;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Panel />
  </StrictMode>,
);
