import { useEffect, type FormEvent, type KeyboardEvent } from 'react';
import { confirmAction } from '../shared/sdk';

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

/**
 * The page's editing forms (an automation, the Twilio account): submit saves; Cancel and Escape close, asking in
 * Pipedrive's dialog before unsaved changes are thrown away. `unsaved` says what would be lost.
 */
export function useEditorForm(options: { dirty: boolean; unsaved: string; save: () => Promise<void>; onClose: () => void }) {
  useUnsavedChanges(options.dirty);
  const close = async () => {
    if (options.dirty) {
      const discard = await confirmAction({
        title: 'Discard your changes?',
        description: options.unsaved,
        okText: 'Discard changes',
        cancelText: 'Keep editing',
        danger: true,
      });
      if (!discard) return;
    }
    options.onClose();
  };
  const formProps = {
    onSubmit: (e: FormEvent) => {
      e.preventDefault();
      void options.save();
    },
    onKeyDown: (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        void close();
      }
    },
  };
  return { close, formProps };
}
