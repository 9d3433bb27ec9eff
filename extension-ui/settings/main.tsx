import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/theme.css';
import './settings.css';
import { connect } from '../shared/sdk';
import { SettingsApp } from './settings-app';

// Before the first render: the page's first API calls wait for this handshake, and a module-level call happens once
// even when StrictMode runs effects twice. Pipedrive's settings surface is a page, not a 750 px panel; 600 px is the
// least its example app asks for.
connect(600, { min: 600, max: 5000 });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SettingsApp />
  </StrictMode>,
);
