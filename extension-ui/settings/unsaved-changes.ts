import { useEffect } from 'react';

/**
 * While a form has unsaved changes, leaving the page (Pipedrive navigating away, a reload) asks first. Inside the page,
 * closing a form asks through Pipedrive's confirmation dialog instead (see confirmAction).
 */
export function useUnsavedChanges(dirty: boolean): void {
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      // Older browsers show the prompt only when returnValue is set.
      event.returnValue = '';
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);
}
